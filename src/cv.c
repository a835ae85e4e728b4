/*
 * cv.c — mlsys.cross_validate for linear models.
 *
 * Folds are content-based like the holdout split: a row's fold is
 * floor(u · folds) + 1 with u the uniform number its content hash and the
 * seed give (split.c), so fold 1 of 4 is exactly the holdout of test_size
 * 0.25, and the same data in another order gets the same folds.
 *
 * Two passes over the relation whatever the number of folds: pass 1 groups
 * the rows by fold and accumulates one linear regression state per fold
 * (parallel query may split it); the model of fold k is solved from the
 * merge of every other fold's state (sufficient statistics add up). Pass 2
 * scores each row with the model of its fold and aggregates rmse, mae and r2
 * per fold.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/float.h"
#include "utils/guc.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"
#include "utils/tuplestore.h"

#include "mlsys.h"

/* the most folds cross_validate accepts */
#define MLSYS_MAX_FOLDS 1000


PG_FUNCTION_INFO_V1(fold_of_row);
/* mlsys._fold(y float8, x float8[], seed int8, folds int) → int: a row's fold */
Datum
fold_of_row(PG_FUNCTION_ARGS)
{
	Float8ArrayView v;
	int			folds;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_ARGISNULL(2) || PG_ARGISNULL(3))
		PG_RETURN_NULL();
	folds = PG_GETARG_INT32(3);
	if (folds < 1 || folds > MLSYS_MAX_FOLDS)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("folds must be between 1 and %d", MLSYS_MAX_FOLDS)));
	mlsys_array_view(PG_GETARG_DATUM(1), &v);
	if (v.hasnull)
		PG_RETURN_NULL();
	PG_RETURN_INT32(mlsys_fold_of(mlsys_row_hash_unchecked(v.data, v.n, PG_GETARG_FLOAT8(0)),
								  mlsys_split_key(PG_GETARG_INT64(2)), folds));
}

PG_FUNCTION_INFO_V1(predict_fold);
/*
 * mlsys._predict_fold(coefs float8[], seed int8, folds int, y float8,
 * x float8[]) → float8: the prediction for a row by the model of its fold;
 * coefs holds folds vectors of p + 1 values (intercept first), one after the other.
 */
Datum
predict_fold(PG_FUNCTION_ARGS)
{
	ArrayType  *coefs;
	Float8ArrayView v;
	const double *c;
	double	   *x;
	int			folds,
				p,
				k;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_ARGISNULL(2) || PG_ARGISNULL(3) || PG_ARGISNULL(4))
		PG_RETURN_NULL();
	coefs = PG_GETARG_ARRAYTYPE_P(0);
	folds = PG_GETARG_INT32(2);
	mlsys_array_view(PG_GETARG_DATUM(4), &v);
	p = v.n;
	if (folds < 1 || folds > MLSYS_MAX_FOLDS || v.hasnull || ARR_NDIM(coefs) != 1 ||
		ARR_HASNULL(coefs) || ARR_ELEMTYPE(coefs) != FLOAT8OID ||
		(int64) ARR_DIMS(coefs)[0] != (int64) folds * (p + 1))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("coefficients must hold %d vectors of %d values", Max(folds, 1), p + 1)));
	x = fcinfo->flinfo->fn_extra;
	if (x == NULL || GetMemoryChunkSpace(x) < sizeof(double) * (Size) Max(p, 1))
	{
		x = MemoryContextAlloc(fcinfo->flinfo->fn_mcxt, sizeof(double) * (Size) Max(p, 1));
		fcinfo->flinfo->fn_extra = x;
	}
	memcpy(x, v.data, sizeof(double) * (Size) p);
	k = mlsys_fold_of(mlsys_row_hash_unchecked(v.data, p, PG_GETARG_FLOAT8(3)),
					  mlsys_split_key(PG_GETARG_INT64(1)), folds) - 1;
	c = (const double *) ARR_DATA_PTR(coefs) + (Size) k * (p + 1);
	PG_RETURN_FLOAT8(c[0] + mlsys_dot(c + 1, x, p));
}

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
				 errdetail("There are %d folds and " INT64_FORMAT " rows with a non-null target.",
						   folds, rows)));
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
			linreg_state_merge(merged, states[j]);
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

/* error context: what was being cross-validated */
static void
cv_error_context(void *arg)
{
	TrainArgs  *a = (TrainArgs *) arg;

	errcontext("cross-validating on relation %s", a->relsql ? a->relsql : "?");
}

PG_FUNCTION_INFO_V1(cross_validate);
/*
 * mlsys.cross_validate(relation, target, features, algorithm, hyperparams,
 *                      folds, seed) RETURNS TABLE (fold int, metrics jsonb)
 */
Datum
cross_validate(PG_FUNCTION_ARGS)
{
	TrainArgs	a;
	ErrorContextCallback errcb;
	int32		folds;
	FeatureSpec *spec;
	char	   *xsql,
			   *ysql,
			   *tsql,
			   *sql;
	Oid			types2[3] = {INT8OID, INT4OID, FLOAT8ARRAYOID};
	Datum		args[3];
	LinregState **states;
	double	   *coefs;
	int			nfeat,
				k,
				j,
				grouping;
	uint64		i;
	MemoryContext cvcxt,
				oldcxt;
	Tuplestorestate *store;
	TupleDesc	tupdesc;

	memset(&a, 0, sizeof(a));
	mlsys_training_source_args(fcinfo, &a, 0);
	if (PG_ARGISNULL(5) || PG_ARGISNULL(6))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("folds and seed must not be null")));
	folds = PG_GETARG_INT32(5);
	a.seed = PG_GETARG_INT32(6);
	if (folds < 2 || folds > MLSYS_MAX_FOLDS)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("folds must be between 2 and %d, not %d", MLSYS_MAX_FOLDS, folds)));
	errcb.callback = cv_error_context;
	errcb.arg = &a;
	errcb.previous = error_context_stack;
	error_context_stack = &errcb;

	cvcxt = AllocSetContextCreate(CurrentMemoryContext, "mlsys cross_validate", ALLOCSET_DEFAULT_SIZES);
	oldcxt = MemoryContextSwitchTo(cvcxt);
	SPI_connect();
	MemoryContextSwitchTo(cvcxt);
	mlsys_resolve_algorithm(&a);
	if (a.classification)
	{
		MemoryContextSwitchTo(oldcxt);
		store = mlsys_begin_rows(fcinfo, &tupdesc);
		MemoryContextSwitchTo(cvcxt);
		cv_classifier(&a, folds, store, tupdesc);
		SPI_finish();
		MemoryContextSwitchTo(oldcxt);
		error_context_stack = errcb.previous;
		MemoryContextDelete(cvcxt);
		return (Datum) 0;
	}
	spec = mlsys_training_spec(&a, &xsql, &ysql);
	nfeat = spec->nfeat;
	tsql = psprintf("%s IS NOT NULL", quote_identifier(a.target));

	/* pass 1: one state per fold */
	states = mlsys_fold_states(&a, spec, &xsql, ysql, folds, false, NULL, 0, 0, NULL);
	MemoryContextSwitchTo(cvcxt);

	/* the model of fold k learns from every other fold */
	coefs = palloc(sizeof(double) * (Size) folds * (nfeat + 1));
	for (k = 0; k < folds; k++)
	{
		LinregState *merged = mlsys_merge_other_folds(states, folds, k);

		CHECK_FOR_INTERRUPTS();
		if (mlsys_spec_has_categorical(spec))
			linreg_solve_min_norm(merged, a.alpha, coefs + (Size) k * (nfeat + 1),
					 (const char *const *) spec->names);
		else
			linreg_solve(merged, a.alpha, coefs + (Size) k * (nfeat + 1),
					 (const char *const *) spec->names);
		pfree(merged);
	}

	/* pass 2: each row scored by the model of its fold */
	sql = psprintf("SELECT mlsys._fold(s.y, s.x, $1, $2), "
				   "mlsys.rmse(mlsys._predict_fold($3, $1, $2, s.y, s.x), s.y), "
				   "mlsys.mae(mlsys._predict_fold($3, $1, $2, s.y, s.x), s.y), "
				   "mlsys.r2(mlsys._predict_fold($3, $1, $2, s.y, s.x), s.y) "
				   "FROM (SELECT %s AS y, %s AS x FROM %s WHERE %s) s GROUP BY 1 ORDER BY 1",
				   ysql, xsql, a.relsql, tsql);
	args[0] = Int64GetDatum((int64) a.seed);
	args[1] = Int32GetDatum(folds);
	args[2] = PointerGetDatum(mlsys_float8_array(coefs, folds * (nfeat + 1)));
	grouping = mlsys_fold_grouping_begin();
	if (SPI_execute_with_args(sql, 3, types2, args, NULL, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "SPI_execute failed: %s", sql);
	mlsys_fold_grouping_end(grouping);

	MemoryContextSwitchTo(oldcxt);
	store = mlsys_begin_rows(fcinfo, &tupdesc);
	for (i = 0; i < SPI_processed; i++)
	{
		HeapTuple	t = SPI_tuptable->vals[i];
		Datum		out[2];
		bool		outnull[2] = {false, false};
		bool		isnull;
		StringInfoData buf;
		const char *keys[3] = {"rmse", "mae", "r2"};

		initStringInfo(&buf);
		appendStringInfoChar(&buf, '{');
		for (j = 0; j < 3; j++)
		{
			Datum		m = SPI_getbinval(t, SPI_tuptable->tupdesc, j + 2, &isnull);

			appendStringInfo(&buf, "%s\"%s\": ", j > 0 ? ", " : "", keys[j]);
			mlsys_append_json_number(&buf, isnull ? get_float8_nan() : DatumGetFloat8(m));
		}
		appendStringInfoChar(&buf, '}');
		out[0] = SPI_getbinval(t, SPI_tuptable->tupdesc, 1, &isnull);
		out[1] = DirectFunctionCall1(jsonb_in, CStringGetDatum(buf.data));
		tuplestore_putvalues(store, tupdesc, out, outnull);
	}
	SPI_finish();
	error_context_stack = errcb.previous;
	MemoryContextDelete(cvcxt);
	return (Datum) 0;
}
