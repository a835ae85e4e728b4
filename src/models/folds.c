/*
 * folds.c — cross-validation folds and the stratified split, as passes over
 * the training relation (SPI connected): one GROUP BY pass gives every fold's
 * sufficient statistics (and sample), and one pass of mlsys._strata_agg gives
 * each class's cuts on the content hash.
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"

#include "models/toolkit.h"

/*
 * Plan the queries that group rows by fold (GROUP BY mlsys._fold(...)) as
 * hash aggregates: the planner cannot know that a fold expression takes a
 * handful of values (it assumes one group per row), so it sorted every row
 * to group them, spilling to disk past work_mem (166 MB for the fold states
 * of 1M rows × 16 features: 0.5 s of a 5-fold cross-validation). enable_sort
 * is off from mlsys_fold_grouping_begin to mlsys_fold_grouping_end (a GUC
 * nest level, as a function's SET clause uses; an error restores it with
 * the transaction's abort).
 */
int
mlsys_fold_grouping_begin(void)
{
	int			level = NewGUCNestLevel();

	(void) set_config_option("enable_sort", "off", PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
	return level;
}

void
mlsys_fold_grouping_end(int level)
{
	AtEOXact_GUC(true, level);
}

/*
 * Pass 1 of cross-validation: the linear regression state of every fold, in
 * one GROUP BY. A row whose target is NULL has no fold: it is skipped, or an
 * error when reject_null_labels. Errors for fewer rows than folds and for an
 * empty fold. With samples (an array of folds, samples[0].size set), the same
 * pass also keeps a sample of at most that many rows of each fold
 * (mlsys._train_sample_agg over all nclass classes, no holdout), from which a
 * classifier's folds start (mlsys_other_folds_sample). SPI connected; the
 * states and samples are copied into the current context.
 */
LinregState **
mlsys_fold_states(const TrainArgs *a, FeatureSpec *spec, char **xsql,
				  const char *ysql, int folds, bool reject_null_labels,
				  const double *cuts, int ncuts, int nclass, TrainSample *samples)
{
	MemoryContext cxt = CurrentMemoryContext;
	Oid			types[6] = {INT8OID, INT4OID, TEXTARRAYOID, FLOAT8ARRAYOID, FLOAT8ARRAYOID, INT4OID};
	Datum		args[6];
	LinregState **states;
	int64		rows = 0;
	uint64		i;
	int			k,
				grouping;
	char	   *sql;

	args[0] = Int64GetDatum((int64) a->seed);
	args[1] = Int32GetDatum(folds);
	args[2] = mlsys_cstring_array(spec->names, spec->nfeat);
	if (cuts != NULL)
		args[3] = PointerGetDatum(mlsys_float8_array(cuts, ncuts));
	Assert(samples == NULL || cuts != NULL);
	if (samples != NULL)
	{
		/* every row is a training row of the sample: cuts of zero, one per class */
		double	   *none = palloc0(sizeof(double) * nclass);

		args[4] = PointerGetDatum(mlsys_float8_array(none, nclass));
		args[5] = Int32GetDatum(samples[0].size);
	}
	grouping = mlsys_fold_grouping_begin();
	for (;;)
	{
		/* classifiers: the stratified folds of the cuts (strata.c) */
		char	   *sample_sql = "";

		if (samples != NULL)
			sample_sql = psprintf(", mlsys._train_sample_agg(%s, %s, $1, $5, $6)", ysql, *xsql);
		sql = psprintf("SELECT mlsys._fold(%s, %s, $1, $2%s), mlsys._linreg_split_agg(%s, %s, $1, 0, $3)%s "
					   "FROM %s GROUP BY 1", ysql, *xsql, cuts != NULL ? ", $4" : "", ysql, *xsql,
					   sample_sql, a->relsql);
		if (mlsys_try_first_pass(spec, sql, samples != NULL ? 6 : cuts != NULL ? 4 : 3, types, args))
			break;
		mlsys_impute_and_rebuild(a, spec, xsql);
	}
	mlsys_fold_grouping_end(grouping);
	MemoryContextSwitchTo(cxt);
	states = palloc0(sizeof(LinregState *) * folds);
	for (i = 0; i < SPI_processed; i++)
	{
		bool		fnull,
					snull;
		Datum		f = SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &fnull);
		Datum		st = SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 2, &snull);

		if (fnull && reject_null_labels)
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("label column \"%s\" contains nulls", a->target),
					 errhint("Cross-validate on a view that leaves out unlabelled rows.")));
		if (fnull || snull || DatumGetInt32(f) < 1 || DatumGetInt32(f) > folds)
			continue;
		states[DatumGetInt32(f) - 1] = linreg_state_from_datum(st, true);
		rows += linreg_state_rows(states[DatumGetInt32(f) - 1]);
		if (samples != NULL)
		{
			TrainSample *fs = &samples[DatumGetInt32(f) - 1];
			Datum		sd = SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 3, &snull);

			fs->nrows = mlsys_sample_rows(sd, snull, spec->nfeat, &fs->rows, &fs->seen);
		}
	}
	if (rows < folds)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("folds must not exceed the number of rows"),
				 errdetail_plural("There are %d folds and " INT64_FORMAT " row with a non-null target.",
								  "There are %d folds and " INT64_FORMAT " rows with a non-null target.",
								  (unsigned long) rows, folds, rows)));
	for (k = 0; k < folds; k++)
		if (states[k] == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_EXCEPTION),
					 errmsg("fold %d of %d is empty", k + 1, folds),
					 errhint("Use fewer folds or more rows.")));
	return states;
}

/* a new state merging every fold's state but fold k (0-based), buffered rows folded in */
LinregState *
mlsys_merge_other_folds(LinregState **states, int folds, int k)
{
	LinregState *merged = NULL;
	int			j;

	for (j = 0; j < folds; j++)
	{
		if (j == k)
			continue;
		if (merged == NULL)
			merged = linreg_state_from_datum(PointerGetDatum(states[j]), true);
		else
			merged = linreg_state_merge(merged, states[j]);
	}
	linreg_state_finish(merged);
	return merged;
}

/*
 * The sample of every fold but k (samples from mlsys_fold_states): the
 * training rows of fold k's model, from which it starts. out->rows is
 * palloc'd in the current context; out->seen counts the rows offered, so the
 * sample is complete when it equals out->nrows.
 */
void
mlsys_other_folds_sample(const TrainSample *samples, int folds, int k, int p, TrainSample *out)
{
	int			j,
				n = 0;

	memset(out, 0, sizeof(*out));
	for (j = 0; j < folds; j++)
		if (j != k)
		{
			out->nrows += samples[j].nrows;
			out->seen += samples[j].seen;
		}
	out->size = out->nrows;
	out->rows = palloc(sizeof(double) * (p + 1) * (Size) Max(out->nrows, 1));
	for (j = 0; j < folds; j++)
		if (j != k && samples[j].nrows > 0)
		{
			memcpy(out->rows + (Size) n * (p + 1), samples[j].rows,
				   sizeof(double) * (p + 1) * (Size) samples[j].nrows);
			n += samples[j].nrows;
		}
}

/*
 * The cuts of a classifier's split: K × L values (L = 1 for a holdout of
 * test_size, folds − 1 for folds), row-major by class, for rows whose class
 * index ysql gives (0 .. K − 1) and whose feature vector xsql gives. Passes
 * until every cut is placed (one, but for a vanishingly rare window miss).
 * class_rows (K values), if not NULL, gets the rows of each class, and below
 * (K × L), if not NULL, the exact number of rows of the class below each cut.
 * Returns NULL when the first pass met a missing value that imputation can
 * fill (mlsys_try_first_pass). SPI connected.
 */
static double *
strata_cuts(const TrainArgs *a, const FeatureSpec *spec, const char *xsql, const char *ysql,
			int K, int folds, int64 *class_rows, int64 *below)
{
	MemoryContext cxt = CurrentMemoryContext;
	int			L = folds > 0 ? folds - 1 : 1,
				W = K * L,
				pass,
				i;
	double	   *cuts = palloc0(sizeof(double) * W);
	double	   *windows = palloc(sizeof(double) * 3 * W);
	char	   *sql;
	Oid			types[6] = {INT8OID, INT4OID, FLOAT8OID, INT4OID, FLOAT8ARRAYOID, TEXTARRAYOID};
	Datum		args[6];

	if (W > 4096)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("too many classes and folds for a stratified split"),
				 errdetail("%d classes and %d folds need %d cuts; the limit is 4096.", K, folds, W),
				 errhint("Use fewer folds.")));
	for (i = 0; i < W; i++)
	{
		windows[3 * i] = WIN_ADAPTIVE;
		windows[3 * i + 1] = 0.0;
		windows[3 * i + 2] = 1.0;
	}
	sql = psprintf("SELECT mlsys._strata_agg(%s, %s, $1, $2, $3, $4, $5, $6) FROM %s WHERE %s IS NOT NULL",
				   ysql, xsql, a->relsql, quote_identifier(a->target));
	args[0] = Int64GetDatum((int64) a->seed);
	args[1] = Int32GetDatum(K);
	args[2] = Float8GetDatum(folds > 0 ? 0.5 : a->test_size);
	args[3] = Int32GetDatum(folds);
	args[5] = mlsys_cstring_array(spec->names, spec->nfeat);
	for (pass = 0; pass < STRATA_MAX_PASSES; pass++)
	{
		bool		isnull,
					open = false;
		ArrayType  *res;
		const double *r;

		CHECK_FOR_INTERRUPTS();
		args[4] = PointerGetDatum(mlsys_float8_array(windows, 3 * W));
		if (pass == 0)
		{
			if (!mlsys_try_first_pass(spec, sql, 6, types, args))
				return NULL;
		}
		else if (SPI_execute_with_args(sql, 6, types, args, NULL, true, 0) != SPI_OK_SELECT)
			elog(ERROR, "SPI_execute failed: %s", sql);
		if (SPI_processed != 1)
			elog(ERROR, "SPI_execute failed: %s", sql);
		MemoryContextSwitchTo(cxt);
		res = DatumGetArrayTypePCopy(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
		if (isnull)
			return cuts;		/* no rows: the first pass reports it */
		SPI_freetuptable(SPI_tuptable);
		if (ARR_NDIM(res) != 1 || ARR_DIMS(res)[0] != K + 4 * W)
			elog(ERROR, "unexpected stratified split result");
		r = (const double *) ARR_DATA_PTR(res);
		if (class_rows != NULL)
			for (i = 0; i < K; i++)
				class_rows[i] = (int64) r[i];
		for (i = 0; i < W; i++)
		{
			const double *o = r + K + 3 * i;

			if (windows[3 * i] == WIN_DONE)
				continue;
			if (!isnan(o[0]))
			{
				cuts[i] = o[0];
				if (below != NULL)
					below[i] = (int64) r[K + 3 * W + i];
				windows[3 * i] = WIN_DONE;
				windows[3 * i + 1] = 0.0;
				windows[3 * i + 2] = 1.0;
			}
			else
			{
				windows[3 * i] = WIN_FIXED;
				windows[3 * i + 1] = o[1];
				windows[3 * i + 2] = o[2];
				open = true;
			}
		}
		if (!open)
			return cuts;
	}
	elog(ERROR, "the stratified split did not converge in %d passes", STRATA_MAX_PASSES);
	return NULL;				/* keep the compiler quiet */
}

/*
 * The stratified split of a classifier (see strata_cuts), filling in missing
 * values first when the data has them (*xsql is then rebuilt). A holdout of
 * test_size 0 needs no pass: every cut is 0.
 */
double *
mlsys_strata_split(const TrainArgs *a, FeatureSpec *spec, char **xsql, const char *ysql,
				   int K, int folds, int64 *class_rows, int64 *below)
{
	double	   *cuts;

	if (folds == 0 && a->test_size <= 0)
	{
		if (below != NULL)
			memset(below, 0, sizeof(int64) * K);
		return palloc0(sizeof(double) * K);
	}
	for (;;)
	{
		cuts = strata_cuts(a, spec, *xsql, ysql, K, folds, class_rows, below);
		if (cuts != NULL)
			return cuts;
		mlsys_impute_and_rebuild(a, spec, xsql);
	}
}
