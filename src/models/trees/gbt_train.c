/*
 * gbt_train.c — the boosted-trees family's training and cross-validation:
 *
 *   task: a classifier when the target holds classes (mlsys_target_has_classes,
 *   or the "task" hyperparameter), with the classes and label SQL every
 *   classifier uses (labels.c); missing feature values stay missing (NaN);
 *   pass 1 (mlsys._gbt_sample_agg): a sample of the training rows, from
 *   which each feature's cut points are chosen (gbt_bins.c);
 *   memory: the binned rows must fit in maintenance_work_mem (54000);
 *   pass 2 (mlsys._gbt_rows_agg): every labelled row binned, one byte per
 *   feature, with its content hash and target, and the profile's moments;
 *   split, in memory, rows sorted by content hash: a regression holds out
 *   the rows with u < test_size (split.c), a classifier exactly
 *   round(test_size · n_c) rows of each class c, those of smallest u, as
 *   strata.c's cuts do (the cuts are stored in metrics.split, so retraining's
 *   holdout predicate finds the same rows); early stopping carves its
 *   validation rows from the training split by a second draw from the hash;
 *   boosting: gbt_grow.c; metrics on the holdout (the training rows when
 *   test_size is 0), from the rows' margins.
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "optimizer/cost.h"
#include "portability/instr_time.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/float.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/tuplestore.h"

#include "models/trees/trees.h"

#define GBT_SAMPLE_ROWS 100000
#define GBT_SAMPLE_BYTES (32 * 1024 * 1024)
#define GBT_EXPLAIN_ROWS 256
#define VALID_SALT UINT64CONST(0x7F4A7C159E3779B9)

/* a phase's time at DEBUG1, from t0 (then the next phase's start) */
#define PHASE_DONE(what) do { INSTR_TIME_SET_CURRENT(t1); INSTR_TIME_SUBTRACT(t1, t0); \
		elog(DEBUG1, "boosted trees: %s %.0f ms", what, INSTR_TIME_GET_MILLISEC(t1)); \
		INSTR_TIME_SET_CURRENT(t0); } while (0)

/* what the two passes read, binned and sorted, with the split */
typedef struct GbtPrepared
{
	FeatureSpec *spec;
	int			task;
	int			K;				/* margins per row */
	char	  **classes;
	int			nclasses;
	GbtData		d;
	GbtRows		rows;
	double	   *label;
	uint8	   *role;
	double	   *u;				/* split number per row */
	double	   *cuts;			/* the feature cut points */
	int32	   *ncuts;
	double	   *sample;			/* pass 1's rows, priority order */
	int			nsample;
	uint64		fingerprint;
	/* the drift baseline's items of pass 2 (not for multiclass: see gbt_baseline) */
	bool		baseline;
	int			bl_ncols;
	char	  **bl_names;
	bool	   *bl_categorical;
	char	  **bl_given;
	bool		bl_target_categorical;
	SPITupleTable *pass2;		/* pass 2's result row, kept until SPI_finish */
} GbtPrepared;

static int
record_cmp(const void *a, const void *b, void *arg)
{
	uint64		x,
				y;

	memcpy(&x, a, 8);
	memcpy(&y, b, 8);
	if (x != y)
		return x < y ? -1 : 1;
	return memcmp(a, b, *(const int *) arg);
}

/*
 * The drift baseline's select-list items for pass 2, which reads every row
 * of the relation (named r): count(*), each feature column's profile (those
 * the vocabulary pass gathered are given) and the target's. The
 * prediction's profile comes from the rows' margins after boosting. A
 * multiclass model's prediction is a label (a categorical profile): its
 * baseline is left to mlsys.capture_baseline.
 */
static char *
gbt_baseline_items(const TrainArgs *a, GbtPrepared *g)
{
	StringInfoData buf;
	int			i;

	g->baseline = a->model != NULL && mlsys_capture_baseline_on_train &&
		g->task != TREES_TASK_MULTICLASS;
	if (!g->baseline)
		return "";
	g->bl_names = palloc(sizeof(char *) * Max(g->spec->ncolumns, 1));
	g->bl_categorical = palloc(sizeof(bool) * Max(g->spec->ncolumns, 1));
	g->bl_given = palloc(sizeof(char *) * Max(g->spec->ncolumns, 1));
	for (i = 0; i < g->spec->ncolumns; i++)
	{
		const FeatureColumn *c = &g->spec->columns[i];

		if (OidIsValid(get_element_type(c->typid)))
			continue;			/* float8[] columns are not profiled */
		g->bl_names[g->bl_ncols] = c->name;
		g->bl_categorical[g->bl_ncols] = profile_type_is_categorical(c->typid);
		g->bl_given[g->bl_ncols] = c->baseline_profile;
		g->bl_ncols++;
	}
	g->bl_target_categorical = a->classification || profile_type_is_categorical(a->target_type);
	initStringInfo(&buf);
	profile_baseline_sql(&buf, g->bl_ncols, g->bl_names, g->bl_categorical, g->bl_given, NULL, false,
						 a->target, g->bl_target_categorical);
	return buf.data;
}

/* the baseline document, with the prediction profiled from every labelled row's margin */
static char *
gbt_baseline(const TrainArgs *a, const GbtPrepared *g, const double *margins)
{
	ProfileGrid *grid = palloc(sizeof(ProfileGrid));
	StringInfoData pred;
	int64		i;

	profile_grid_init(grid);
	for (i = 0; i < g->rows.nrows; i++)
	{
		double		m = margins[i];
		double		v = g->task == TREES_TASK_BINARY ?
			trees_sigmoid(m) : m;

		if (!profile_grid_add(grid, v))
			profile_reject_infinite("<prediction>");
	}
	initStringInfo(&pred);
	profile_grid_json(&pred, grid, "<prediction>");
	return profile_baseline_json(g->pass2->vals[0], g->pass2->tupdesc, 2, g->bl_ncols, g->bl_names,
								 g->bl_categorical, g->bl_given, true, false, a->target,
								 g->bl_target_categorical, a->relsql, -1, pred.data, NULL);
}

/* the two passes, sorted rows, labels, split numbers and cut points */
static void
gbt_prepare(TrainArgs *a, GbtPrepared *g, TrainResult *r)
{
	MemoryContext cxt = CurrentMemoryContext;
	char	   *xsql,
			   *ysql,
			   *sql;
	int			positive = 1,
				p,
				size;
	Oid			types1[3] = {INT8OID, FLOAT8OID, INT4OID};
	Oid			types2[5] = {INT8OID, FLOAT8OID, FLOAT8ARRAYOID, INT4ARRAYOID, INT8OID};
	Datum		args[5];
	Datum		result;
	bool		isnull;
	int64		seen,
				i;
	double		estimate,
				limit;
	Size		total_cuts = 0;
	int			j;

	instr_time	t0,
				t1;

	INSTR_TIME_SET_CURRENT(t0);
	memset(g, 0, sizeof(*g));
	a->classification = mlsys_target_has_classes(a);
	if (a->classification)
	{
		g->spec = mlsys_classifier_setup(a, &g->classes, &g->nclasses, &positive, &xsql, &ysql);
		mlsys_check_task_classes(a, g->nclasses);
		g->task = g->nclasses > 2 ? TREES_TASK_MULTICLASS : TREES_TASK_BINARY;
		g->K = g->nclasses > 2 ? g->nclasses : 1;
	}
	else
	{
		g->spec = mlsys_training_spec(a, &xsql, &ysql);
		g->task = TREES_TASK_REGRESSION;
		g->K = 1;
	}
	/* missing values stay missing: the trees learn where they go */
	preprocess_keep_missing(g->spec);
	xsql = features_sql_vector(g->spec);
	p = g->spec->nfeat;

	/* pass 1: the sample the cut points come from */
	size = (int) Min((Size) GBT_SAMPLE_ROWS, Max((Size) 1000, GBT_SAMPLE_BYTES / (8 * ((Size) p + 1))));
	args[0] = Int64GetDatum((int64) a->seed);
	args[1] = Float8GetDatum(a->test_size);
	args[2] = Int32GetDatum(size);
	sql = psprintf("SELECT mlsys._gbt_sample_agg(%s, %s, $1, $2, $3) FROM %s", ysql, xsql, a->relsql);
	if (!mlsys_spi_single_value(sql, 3, types1, args, &result))
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("relation \"%s\" has no rows with a non-null target to train on", a->relname)));
	MemoryContextSwitchTo(cxt);
	g->nsample = gbt_sample_rows(result, p, &g->sample, &seen);
	SPI_freetuptable(SPI_tuptable);

	/* the binned rows, their labels and roles must fit in maintenance_work_mem */
	estimate = (double) seen * (2.0 * GBT_RECORD_SIZE(p) + p + 8 + 8 + 1 + 8 + 24.0 * g->K + 12) +
		(double) g->nsample * 8 * p;
	{
		/*
		 * the histograms alive while a level grows (two levels' worth of
		 * nodes, at most one per two rows), and the shared copy of the rows
		 * that parallel workers read
		 */
		double		hist = (16.0 + (a->gbt->min_samples_leaf > 1 ? 8 : 0)) * 256 * p;
		double		nodes = Min(ldexp(1.0, a->gbt->max_depth),
								Max(1.0, (double) seen / (2.0 * a->gbt->min_samples_leaf)));

		estimate += 2 * nodes * hist;
		if (max_parallel_workers_per_gather > 0)
			estimate += (double) seen * (GBT_RECORD_SIZE(p) + 24.0 * g->K + 12) +
				Min(64.0 * 1024 * 1024, ((double) seen / GBT_BLOCK_ROWS + 64) * hist);
	}
	limit = (double) maintenance_work_mem * 1024.0;
	if (estimate > limit)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("boosted trees on relation \"%s\" need about %.0f MB of memory", a->relname,
						estimate / (1024.0 * 1024.0)),
				 errdetail("maintenance_work_mem is %.0f MB; the training holds " INT64_FORMAT " rows of %d features in memory.",
						   limit / (1024.0 * 1024.0), seen, p),
				 errhint("Raise maintenance_work_mem, lower max_depth, or train on a sample of the rows.")));

	g->cuts = palloc(sizeof(double) * (Size) p * (GBT_MAX_BINS - 1));
	g->ncuts = palloc(sizeof(int32) * p);
	gbt_cut_points(g->sample, g->nsample, p, a->gbt->max_bins, g->cuts, g->ncuts);
	{
		/* the cut points as the pass's arguments: concatenated, with their counts */
		double	   *flat = palloc(sizeof(double) * (Size) p * (GBT_MAX_BINS - 1) + 8);
		Datum	   *nc = palloc(sizeof(Datum) * p);

		for (j = 0; j < p; j++)
		{
			memcpy(flat + total_cuts, g->cuts + (Size) j * (GBT_MAX_BINS - 1), sizeof(double) * g->ncuts[j]);
			total_cuts += g->ncuts[j];
			nc[j] = Int32GetDatum(g->ncuts[j]);
		}
		args[2] = PointerGetDatum(mlsys_float8_array(flat, (int) total_cuts));
		args[3] = PointerGetDatum(construct_array(nc, p, INT4OID, 4, true, TYPALIGN_INT));
	}

	PHASE_DONE("sample pass and cut points");
	/* pass 2: every labelled row, binned */
	sql = psprintf("SELECT mlsys._gbt_rows_agg(%s, %s, $1, $2, $3, $4, $5)%s FROM %s AS r", ysql, xsql,
				   r != NULL ? gbt_baseline_items(a, g) : "", a->relsql);
	args[4] = Int64GetDatum(seen);
	if (SPI_execute_with_args(sql, 5, types2, args, NULL, true, 0) != SPI_OK_SELECT ||
		SPI_processed != 1)
		elog(ERROR, "boosted-trees rows pass failed");
	g->pass2 = SPI_tuptable;
	result = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	MemoryContextSwitchTo(cxt);
	if (isnull)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("relation \"%s\" has no rows with a non-null target to train on", a->relname)));
	/* the records stay in the pass's result (SPI's memory, until SPI_finish) */
	gbt_rows_view(result, p, &g->rows);
	if (a->classification && g->rows.unlabelled > 0)
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("label column \"%s\" contains nulls", a->target),
				 errdetail_plural(INT64_FORMAT " row has no label.", INT64_FORMAT " rows have no label.",
								  (unsigned long) g->rows.unlabelled, g->rows.unlabelled),
				 errhint("Train on a view that leaves out unlabelled rows.")));
	if (g->rows.nrows == 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("relation \"%s\" has no rows with a non-null target to train on", a->relname)));
	if (g->rows.nrows > PG_INT32_MAX / 2)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("too many rows for boosted trees"),
				 errhint("Train on a sample of the rows.")));

	PHASE_DONE("rows pass");
	/* rows in content-hash order: the same model whatever the scan order */
	{
		int			cmplen = g->rows.rec;

		qsort_arg(g->rows.records, g->rows.nrows, g->rows.rec, record_cmp, &cmplen);
	}
	g->label = palloc(sizeof(double) * g->rows.nrows);
	g->u = palloc(sizeof(double) * g->rows.nrows);
	g->role = palloc(g->rows.nrows);
	{
		uint64		key = mlsys_split_key((int64) a->seed);

		g->fingerprint = 0;
		for (i = 0; i < g->rows.nrows; i++)
		{
			const char *rec = g->rows.records + (Size) i * g->rows.rec;
			uint64		h;

			memcpy(&h, rec, 8);
			memcpy(&g->label[i], rec + 8, 8);
			g->u[i] = mlsys_split_u(h, key);
			g->fingerprint += h;
			if (a->classification &&
				!(g->label[i] >= 0 && g->label[i] < Max(2, g->nclasses) && g->label[i] == floor(g->label[i])))
				elog(ERROR, "label index %g out of range", g->label[i]);
		}
	}
	if (r != NULL)
	{
		r->spec = g->spec;
		r->classes = g->classes;
		r->nclasses = g->nclasses;
		r->fingerprint = g->fingerprint;
	}
	PHASE_DONE("sort and split");
	g->d.task = g->task;
	g->d.nfeat = p;
	g->d.ngroup = g->K;
	g->d.nrows = g->rows.nrows;
	g->d.rec = g->rows.rec;
	g->d.records = g->rows.records;
	{
		uint8	   *cols = palloc((Size) p * g->rows.nrows);

		for (i = 0; i < g->rows.nrows; i++)
		{
			const uint8 *b = (const uint8 *) g->rows.records + (Size) i * g->rows.rec + 16;

			for (j = 0; j < p; j++)
				cols[(Size) j * g->rows.nrows + i] = b[j];
		}
		g->d.cols = cols;
	}
	g->d.role = g->role;
	g->d.label = g->label;
	g->d.ncuts = g->ncuts;
	g->d.cuts = g->cuts;
	g->d.seed_key = mlsys_mix64(mlsys_split_key((int64) a->seed) ^ UINT64CONST(0x6774726565730001));
}

static int
double_cmp(const void *a, const void *b)
{
	double		x = *(const double *) a,
				y = *(const double *) b;

	return x < y ? -1 : x > y;
}

/*
 * Per class, the cut on u below which round(fraction · n_c) of its rows lie
 * (strata.c's rule); cuts[c] = 0: none held out
 */
static void
class_cuts(const GbtPrepared *g, double fraction, double *cuts, int64 *class_rows)
{
	int			C = Max(2, g->nclasses);
	int			c;
	int64		i;
	double	   *us = palloc(sizeof(double) * g->rows.nrows);

	for (c = 0; c < C; c++)
	{
		int64		n = 0,
					h;

		for (i = 0; i < g->rows.nrows; i++)
			if ((int) g->label[i] == c)
				us[n++] = g->u[i];
		class_rows[c] = n;
		h = (int64) floor(fraction * (double) n + 0.5);
		if (h <= 0 || n == 0)
			cuts[c] = 0.0;
		else if (h >= n)
			cuts[c] = 1.0;
		else
		{
			qsort(us, n, sizeof(double), double_cmp);
			cuts[c] = us[h];
		}
	}
	pfree(us);
}

/* the margin-space prior of the training rows: mean, log-odds, or log class shares */
static void
base_margins(const GbtPrepared *g, double *base)
{
	double		n = 0,
				sum = 0;
	double		counts[MLSYS_MAX_CLASSES];
	int64		i;
	int			c;

	memset(counts, 0, sizeof(counts));
	for (i = 0; i < g->rows.nrows; i++)
		if (g->role[i] == GBT_ROLE_TRAIN)
		{
			n += 1;
			sum += g->label[i];
			if (g->task == TREES_TASK_MULTICLASS)
				counts[(int) g->label[i]] += 1;
		}
	if (g->task == TREES_TASK_REGRESSION)
		base[0] = n > 0 ? sum / n : 0;
	else if (g->task == TREES_TASK_BINARY)
	{
		double		q = n > 0 ? Min(Max(sum / n, 1e-6), 1 - 1e-6) : 0.5;

		base[0] = log(q / (1 - q));
	}
	else
		for (c = 0; c < g->K; c++)
			base[c] = log(Max(counts[c], 0.5) / Max(n, 1.0));
}

/*
 * The metrics over the rows whose role is `which` (JSON object keys, left
 * open): regression rmse, mae, r2; binary as every binary classifier;
 * multiclass accuracy, macro_f1 and log_loss
 */
static void
append_metrics(StringInfo buf, const GbtPrepared *g, const double *margins, uint8 which,
			   bool all_but_holdout)
{
	int64		i;
	int			K = g->K;

	if (g->task == TREES_TASK_REGRESSION)
	{
		double		st[5] = {0, 0, 0, 0, 0},
					m[4];

		for (i = 0; i < g->rows.nrows; i++)
			if (all_but_holdout ? g->role[i] != GBT_ROLE_HOLDOUT : g->role[i] == which)
				regmetrics_add(st, margins[i], g->label[i]);
		if (!regmetrics_result(st, m))
			elog(ERROR, "no rows to evaluate");
		appendStringInfoString(buf, "{\"rmse\": ");
		mlsys_append_json_number(buf, m[1]);
		appendStringInfoString(buf, ", \"mae\": ");
		mlsys_append_json_number(buf, m[2]);
		appendStringInfoString(buf, ", \"r2\": ");
		mlsys_append_json_number(buf, m[3]);
	}
	else if (g->task == TREES_TASK_BINARY)
	{
		void	   *auc = NULL;
		BinaryHoldout bh;
		double		prob[2];

		for (i = 0; i < g->rows.nrows; i++)
			if (all_but_holdout ? g->role[i] != GBT_ROLE_HOLDOUT : g->role[i] == which)
			{
				trees_margin_proba(g->task, 1, margins + i, prob);
				auc = mlsys_auc_add(auc, true, prob[1], g->label[i] > 0.5);
			}
		mlsys_binary_holdout_metrics(PointerGetDatum(auc), auc == NULL, 0.5, &bh);
		mlsys_append_binary_metrics(buf, bh.auc, bh.log_loss, bh.tp, bh.fp, bh.fn, bh.n);
	}
	else
	{
		double	   *tp = palloc0(sizeof(double) * K),
				   *fp = palloc0(sizeof(double) * K),
				   *fn = palloc0(sizeof(double) * K),
				   *prob = palloc(sizeof(double) * K);
		double		n = 0,
					correct = 0,
					loss = 0,
					f1 = 0;
		int			c,
					present = 0;

		for (i = 0; i < g->rows.nrows; i++)
			if (all_but_holdout ? g->role[i] != GBT_ROLE_HOLDOUT : g->role[i] == which)
			{
				int			y = (int) g->label[i],
							best = 0;

				trees_margin_proba(g->task, K, margins + (Size) i * K, prob);
				for (c = 1; c < K; c++)
					if (prob[c] > prob[best])
						best = c;
				n += 1;
				loss -= log(Max(prob[y], 1e-15));
				if (best == y)
				{
					correct += 1;
					tp[y] += 1;
				}
				else
				{
					fp[best] += 1;
					fn[y] += 1;
				}
			}
		for (c = 0; c < K; c++)
			if (tp[c] + fp[c] + fn[c] > 0)
			{
				present++;
				f1 += 2 * tp[c] / (2 * tp[c] + fp[c] + fn[c]);
			}
		appendStringInfoString(buf, "{\"accuracy\": ");
		mlsys_append_json_number(buf, n > 0 ? correct / n : get_float8_nan());
		appendStringInfoString(buf, ", \"macro_f1\": ");
		mlsys_append_json_number(buf, present > 0 ? f1 / present : get_float8_nan());
		appendStringInfoString(buf, ", \"log_loss\": ");
		mlsys_append_json_number(buf, n > 0 ? loss / n : get_float8_nan());
	}
}

/* the version's profile: each feature's moments over the training rows, and the target's */
static char *
gbt_profile(const GbtPrepared *g, int64 train_rows)
{
	StringInfoData buf;
	int			j;

	initStringInfo(&buf);
	appendStringInfo(&buf, "{\"rows\": " INT64_FORMAT ", \"features\": [", train_rows);
	for (j = 0; j <= g->spec->nfeat; j++)
	{
		const double *m = g->rows.moments + 5 * (Size) j;
		double		n = m[0],
					mean = n > 0 ? m[1] / n : get_float8_nan(),
					var = n > 0 ? Max(0.0, m[2] / n - mean * mean) : get_float8_nan();

		if (j == g->spec->nfeat)
			appendStringInfoString(&buf, "], \"target\": {");
		else
		{
			if (j > 0)
				appendStringInfoString(&buf, ", ");
			appendStringInfoString(&buf, "{\"name\": ");
			escape_json(&buf, g->spec->names[j]);
			appendStringInfoString(&buf, ", ");
		}
		appendStringInfoString(&buf, "\"mean\": ");
		mlsys_append_json_number(&buf, mean);
		appendStringInfoString(&buf, ", \"std\": ");
		mlsys_append_json_number(&buf, sqrt(var));
		appendStringInfoString(&buf, ", \"min\": ");
		mlsys_append_json_number(&buf, n > 0 ? m[3] : get_float8_nan());
		appendStringInfoString(&buf, ", \"max\": ");
		mlsys_append_json_number(&buf, n > 0 ? m[4] : get_float8_nan());
		appendStringInfoChar(&buf, '}');
	}
	appendStringInfoChar(&buf, '}');
	return buf.data;
}

/* the normalized hyperparameters */
static char *
gbt_hyperparams_json(const TrainArgs *a)
{
	const GbtParams *p = a->gbt;
	StringInfoData buf;

	initStringInfo(&buf);
	appendStringInfo(&buf, "{\"n_trees\": %d, \"learning_rate\": ", p->n_trees);
	mlsys_append_json_number(&buf, p->learning_rate);
	appendStringInfo(&buf, ", \"max_depth\": %d, \"max_bins\": %d, \"min_samples_leaf\": %d, \"l2\": ",
					 p->max_depth, p->max_bins, p->min_samples_leaf);
	mlsys_append_json_number(&buf, p->l2);
	appendStringInfoString(&buf, ", \"subsample\": ");
	mlsys_append_json_number(&buf, p->subsample);
	appendStringInfoString(&buf, ", \"colsample\": ");
	mlsys_append_json_number(&buf, p->colsample);
	if (p->early_stopping_rounds > 0)
	{
		appendStringInfo(&buf, ", \"early_stopping_rounds\": %d, \"validation_fraction\": ",
						 p->early_stopping_rounds);
		mlsys_append_json_number(&buf, p->validation_fraction);
	}
	mlsys_append_preprocessing_params(a, &buf);
	appendStringInfoChar(&buf, '}');
	return buf.data;
}

/* early stopping's validation rows, carved from the training rows by a second draw */
static void
carve_validation(const TrainArgs *a, GbtPrepared *g)
{
	uint64		key = mlsys_split_key((int64) a->seed) ^ VALID_SALT;
	int64		i;

	if (a->gbt->early_stopping_rounds <= 0)
		return;
	for (i = 0; i < g->rows.nrows; i++)
		if (g->role[i] == GBT_ROLE_TRAIN)
		{
			uint64		h;

			memcpy(&h, g->rows.records + (Size) i * g->rows.rec, 8);
			if (mlsys_split_u(h, key) < a->gbt->validation_fraction)
				g->role[i] = GBT_ROLE_VALID;
		}
}

/* mlsys.train for boosted trees: fills r */
void
gbt_train(TrainArgs *a, TrainResult *r)
{
	GbtPrepared g;
	double	   *margins;
	int64		i,
				holdout = 0,
				ntrain = 0;
	int			rounds,
				best_round,
				c;
	TreeEnsemble *e;
	StringInfoData buf;

	gbt_prepare(a, &g, r);
	r->task = g.task == TREES_TASK_REGRESSION ? "regression" :
		g.task == TREES_TASK_BINARY ? "binary" : "multiclass";

	/* the holdout */
	if (g.task == TREES_TASK_REGRESSION)
	{
		for (i = 0; i < g.rows.nrows; i++)
			g.role[i] = a->test_size > 0 && g.u[i] < a->test_size ? GBT_ROLE_HOLDOUT : GBT_ROLE_TRAIN;
	}
	else
	{
		int			C = g.nclasses;

		r->cuts = palloc(sizeof(double) * C);
		r->class_rows = palloc0(sizeof(int64) * C);
		r->class_holdout = palloc0(sizeof(int64) * C);
		class_cuts(&g, a->test_size, r->cuts, r->class_rows);
		for (i = 0; i < g.rows.nrows; i++)
		{
			c = (int) g.label[i];
			g.role[i] = g.u[i] < r->cuts[c] ? GBT_ROLE_HOLDOUT : GBT_ROLE_TRAIN;
			if (g.role[i] == GBT_ROLE_HOLDOUT)
				r->class_holdout[c]++;
		}
	}
	for (i = 0; i < g.rows.nrows; i++)
		holdout += g.role[i] == GBT_ROLE_HOLDOUT;
	ntrain = g.rows.nrows - holdout;
	r->train_rows = ntrain;
	r->test_rows = holdout;
	mlsys_check_split(a, g.rows.nrows, ntrain, holdout);
	if (g.task != TREES_TASK_REGRESSION)
		for (c = 0; c < g.nclasses; c++)
			if (r->class_rows[c] - r->class_holdout[c] == 0)
				ereport(ERROR,
						(errcode(ERRCODE_DATA_EXCEPTION),
						 errmsg("class \"%s\" has no rows in the training split", g.classes[c]),
						 errhint("Use more rows or a smaller test_size.")));
	carve_validation(a, &g);

	/* boost */
	margins = palloc(sizeof(double) * (Size) g.rows.nrows * g.K);
	base_margins(&g, margins);
	for (i = 1; i < g.rows.nrows; i++)
		memcpy(margins + (Size) i * g.K, margins, sizeof(double) * g.K);
	e = gbt_boost(&g.d, a->gbt, margins, &rounds, &best_round);
	trees_verify(e);
	r->params = trees_serialize(e);

	/* metrics: the holdout, or the training rows when test_size is 0 */
	initStringInfo(&buf);
	append_metrics(&buf, &g, margins, GBT_ROLE_HOLDOUT, holdout == 0);
	appendStringInfo(&buf, ", \"trees\": %d, \"rounds\": %d", e->ntrees, rounds);
	if (best_round > 0)
		appendStringInfo(&buf, ", \"best_round\": %d", best_round);
	if (g.task != TREES_TASK_REGRESSION)
		mlsys_append_split_metrics(&buf, a, r);
	appendStringInfoChar(&buf, '}');
	r->metrics = buf.data;
	r->profile = gbt_profile(&g, ntrain);
	if (g.baseline)
		r->baseline = gbt_baseline(a, &g, margins);
	a->hyperparams = gbt_hyperparams_json(a);

	/* the explanation sample: the first rows of pass 1's (training rows, random order) */
	r->explain_rows = Min(g.nsample, GBT_EXPLAIN_ROWS);
	r->explain_sample = r->explain_rows > 0 ? g.sample : NULL;
}

/*
 * Cross-validate: the same passes (cut points from a sample of every row),
 * the folds in memory (a classifier's stratified as its holdout is), one
 * boosting per fold on the other folds, metrics on the fold.
 */
void
gbt_cross_validate(TrainArgs *a, int folds, Tuplestorestate *store, TupleDesc tupdesc)
{
	GbtPrepared g;
	double	   *margins,
			   *fold_of_u;
	uint8	   *fold;
	int64		i;
	int			k,
				rounds,
				best_round;
	double		saved_test_size = a->test_size;

	a->test_size = 0;			/* pass 1 samples every row */
	gbt_prepare(a, &g, NULL);
	a->test_size = saved_test_size;
	fold = palloc(g.rows.nrows);
	if (g.task == TREES_TASK_REGRESSION)
	{
		for (i = 0; i < g.rows.nrows; i++)
			fold[i] = (uint8) (Min((int) (g.u[i] * folds), folds - 1));
	}
	else
	{
		/* per class, fold f holds the rows of rank round(f n_c / folds) .. by u */
		int			C = g.nclasses,
					f;
		double	   *cuts = palloc(sizeof(double) * C * (folds + 1));
		int64	   *rows = palloc(sizeof(int64) * C);

		fold_of_u = palloc(sizeof(double) * C);
		for (f = 1; f < folds; f++)
		{
			class_cuts(&g, (double) f / folds, fold_of_u, rows);
			for (k = 0; k < C; k++)
				cuts[k * (folds + 1) + f] = fold_of_u[k];
		}
		for (i = 0; i < g.rows.nrows; i++)
		{
			int			c = (int) g.label[i],
						s = 0;

			for (f = 1; f < folds; f++)
				s += g.u[i] >= cuts[c * (folds + 1) + f] && cuts[c * (folds + 1) + f] > 0;
			fold[i] = (uint8) s;
		}
	}
	margins = palloc(sizeof(double) * (Size) g.rows.nrows * g.K);
	for (k = 0; k < folds; k++)
	{
		StringInfoData buf;
		Datum		out[2];
		bool		outnull[2] = {false, false};
		int64		nfold = 0;

		CHECK_FOR_INTERRUPTS();
		for (i = 0; i < g.rows.nrows; i++)
		{
			g.role[i] = fold[i] == k ? GBT_ROLE_HOLDOUT : GBT_ROLE_TRAIN;
			nfold += fold[i] == k;
		}
		if (nfold == 0 || nfold == g.rows.nrows)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_EXCEPTION),
					 errmsg("fold %d of %d has no rows", k + 1, folds),
					 errhint("Use more rows or fewer folds.")));
		carve_validation(a, &g);
		base_margins(&g, margins);
		for (i = 1; i < g.rows.nrows; i++)
			memcpy(margins + (Size) i * g.K, margins, sizeof(double) * g.K);
		(void) gbt_boost(&g.d, a->gbt, margins, &rounds, &best_round);
		initStringInfo(&buf);
		append_metrics(&buf, &g, margins, GBT_ROLE_HOLDOUT, false);
		appendStringInfoChar(&buf, '}');
		out[0] = Int32GetDatum(k + 1);
		out[1] = DirectFunctionCall1(jsonb_in, CStringGetDatum(buf.data));
		tuplestore_putvalues(store, tupdesc, out, outnull);
	}
	a->hyperparams = gbt_hyperparams_json(a);
}
