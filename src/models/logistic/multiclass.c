/*
 * multiclass.c — mlsys.train and mlsys.cross_validate for logistic regression
 * with more than two classes (the multinomial model of softmax.c).
 *
 *   y is the class index (0 .. K − 1, classes in mlsys.classes order);
 *   pass 1 (classify.c): split counts, fingerprint, standardization;
 *   class counts of the training rows: one GROUP BY pass (a class without
 *   training rows is an error; "balanced" weights are n / (K n_k));
 *   Newton passes: mlsys._softmax_step_agg from the fit of the sample of
 *   training rows that pass 1 keeps (sample.c), computed in memory, or from
 *   θ = 0 (every class equally likely) when that fit is not usable;
 *   evaluation: one pass over the holdout gives accuracy, macro-averaged F1
 *   (mlsys.classification_report's "macro avg") and log loss (the mean of
 *   −log P(true class), probabilities floored at 1e-15 as scikit-learn does).
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/tuplestore.h"

#include "models/logistic/logistic.h"

/* one Newton pass: the query, and the expanded Hessian buffer */
typedef struct SoftmaxPassContext
{
	PassQuery	q;
	int			nprm;			/* length of the parameter vector */
	double	   *hess;			/* D × D */
	SoftmaxState *last;
} SoftmaxPassContext;

static bool
run_softmax_pass(const double *prm, void *arg, NewtonPass *out)
{
	SoftmaxPassContext *pc = (SoftmaxPassContext *) arg;
	Datum		result;

	if (pc->last != NULL)
		pfree(pc->last);
	pc->last = NULL;
	pc->q.args[pc->q.nargs - 1] = PointerGetDatum(mlsys_float8_array(prm, pc->nprm));
	if (!mlsys_spi_single_value(pc->q.sql, pc->q.nargs, pc->q.types, pc->q.args, &result))
		return false;
	MemoryContextSwitchTo(pc->q.cxt);
	pc->last = softmax_state_from_datum(result);
	SPI_freetuptable(SPI_tuptable);
	softmax_newton_pass(pc->last, pc->hess, out);
	return true;
}

/* a Newton pass over the rows of a sample held in memory */
typedef struct SoftmaxSampleContext
{
	const double *rows;
	int			nrows;
	int			p;
	int			K;
	double	   *hess;			/* D × D */
	SoftmaxState *last;
} SoftmaxSampleContext;

static bool
run_softmax_sample_pass(const double *prm, void *arg, NewtonPass *out)
{
	SoftmaxSampleContext *sc = (SoftmaxSampleContext *) arg;

	if (sc->last != NULL)
		pfree(sc->last);
	sc->last = softmax_sample_pass(prm, sc->p, sc->K, sc->rows, sc->nrows);
	softmax_newton_pass(sc->last, sc->hess, out);
	return true;
}

/* the last step's third-order term over the sample (newton.c) */
typedef struct SoftmaxThird
{
	const double *prm;			/* center, scale and class weights after θ */
	const TrainSample *sample;
	int			p;
	int			K;
} SoftmaxThird;

static bool
softmax_third(const double *theta, const double *step, void *arg, double *out)
{
	SoftmaxThird *t = (SoftmaxThird *) arg;
	int			D = t->K * (t->p + 1);
	double	   *prm = palloc(sizeof(double) * (D + 2 * t->p + t->K));
	bool		ok;

	memcpy(prm, t->prm, sizeof(double) * (D + 2 * t->p + t->K));
	memcpy(prm, theta, sizeof(double) * D);
	ok = softmax_sample_third(prm, step, t->p, t->K, t->sample->rows, t->sample->nrows, out);
	pfree(prm);
	return ok;
}

/*
 * Damped Newton over θ (the first K (p + 1) values of prm; center, scale and
 * class weights after it already set), by run_pass; strict as newton.c; with
 * a sample, the last step gets its third-order term.
 */
static int
softmax_newton(double *prm, int p, int K, double alpha, int max_iter, double tol, bool strict,
			   NewtonPassFn run_pass, void *arg, bool *converged, double *objective,
			   const TrainSample *sample)
{
	SoftmaxThird third;

	int			m = p + 1,
				D = K * m,
				k,
				j,
				passes;
	bool	   *penalized = palloc(sizeof(bool) * D);
	double	   *null_dir = palloc0(sizeof(double) * D);

	for (k = 0; k < K; k++)
		for (j = 0; j < m; j++)
		{
			penalized[k * m + j] = j > 0;
			/* the shift of every intercept by the same amount */
			null_dir[k * m + j] = j == 0 ? 1.0 / sqrt((double) K) : 0.0;
		}
	third.prm = prm;
	third.sample = sample;
	third.p = p;
	third.K = K;
	passes = mlsys_newton_fit(prm, D, penalized, null_dir, alpha, max_iter, tol, strict,
							  run_pass, arg, converged, objective,
							  sample != NULL && sample->nrows > 0 ? softmax_third : NULL, &third);
	pfree(penalized);
	pfree(null_dir);
	return passes;
}

/*
 * The starting point of the Newton passes from a sample of the training rows
 * (as logreg_sample_start does for two classes): the sample's own optimum of
 * the same objective, fitted in memory from θ = 0. prm is replaced only when
 * every class is in the sample and it passes sample.c's tests (enough rows;
 * the fit converged and does not separate it). Returns whether it was.
 */
static bool
softmax_sample_start(double *prm, int p, int K, double alpha, double tol, const TrainSample *sample)
{
	int			m = p + 1,
				D = K * m,
				i,
				k;
	int		   *count = palloc0(sizeof(int) * K);
	double	   *trial;
	double		objective = 0,
				penalty = 0,
				wsum = 0;
	bool		converged;
	SoftmaxSampleContext sc;

	if (!mlsys_sample_can_start(sample->nrows, sample->seen == sample->nrows, D))
		return false;
	for (i = 0; i < sample->nrows; i++)
		count[mlsys_class_index(sample->rows[(Size) i * m], K)]++;
	for (k = 0; k < K; k++)
		if (count[k] == 0)
			return false;
	trial = palloc(sizeof(double) * (D + 2 * p + K));
	memcpy(trial, prm, sizeof(double) * (D + 2 * p + K));
	sc.rows = sample->rows;
	sc.nrows = sample->nrows;
	sc.p = p;
	sc.K = K;
	sc.hess = palloc0(sizeof(double) * (Size) D * D);
	sc.last = NULL;
	/* a subsample (a prefix: the rows come in key order) first, as logreg_sample_start does */
	sc.nrows = mlsys_sample_prefix_rows(sample->nrows, D);
	if (sc.nrows < sample->nrows)
		softmax_newton(trial, p, K, alpha, 50, Max(tol, 1e-4), false, run_softmax_sample_pass, &sc,
					   &converged, &objective, NULL);
	sc.nrows = sample->nrows;
	softmax_newton(trial, p, K, alpha, 50, tol, false, run_softmax_sample_pass, &sc, &converged, &objective,
				   NULL);
	if (sc.last != NULL)
		pfree(sc.last);
	pfree(sc.hess);
	for (i = 0; i < D; i++)
		if (i % m != 0)
			penalty += 0.5 * alpha * trial[i] * trial[i];
	for (k = 0; k < K; k++)
		wsum += count[k] * trial[D + 2 * p + k];
	if (!mlsys_sample_fit_usable(converged, objective, penalty, wsum, sample->nrows))
	{
		pfree(trial);
		return false;
	}
	memcpy(prm, trial, sizeof(double) * D);
	pfree(trial);
	return true;
}

/*
 * Fit θ (the first K (p + 1) values of prm; center, scale and class weights
 * after it already set) by damped Newton. Returns the number of passes.
 */
static int
softmax_fit(double *prm, int p, int K, double alpha, const TrainArgs *a,
			SoftmaxPassContext *pc, bool *converged, double *objective, const TrainSample *sample)
{
	int			D = K * (p + 1),
				passes;

	pc->nprm = D + 2 * p + K;
	pc->hess = palloc0(sizeof(double) * (Size) D * D);
	pc->last = NULL;
	passes = softmax_newton(prm, p, K, alpha, a->max_iter, a->tol, true, run_softmax_pass, pc,
							converged, objective, sample);
	if (pc->last != NULL)
		pfree(pc->last);
	pfree(pc->hess);
	return passes;
}

/*
 * Class weights into cw[K]: 1, or "balanced" n / (K n_k) over the rows the
 * model learns from (the training split, or every fold but `fold`). They are
 * counted from the split's exact counts (strata.c: rows[k] rows of class k,
 * below[k·L + l] of them below its cut l) when given; otherwise (no holdout,
 * hence no split pass) by one GROUP BY pass. A class with no such rows is an
 * error (its intercept, unpenalized, would run off to minus infinity).
 */
static void
class_weights(const TrainArgs *a, const char *xsql, const char *ysql, char **classes, int K,
			  int folds, int fold, const double *cuts, const int64 *rows, const int64 *below,
			  double *cw)
{
	double	   *count = palloc0(sizeof(double) * K);
	double		n = 0;
	int			k;

	if (rows != NULL && below != NULL)
	{
		int			L = folds > 0 ? folds - 1 : 1;

		for (k = 0; k < K; k++)
		{
			int64		left_out;

			if (folds > 0)
			{
				/* fold `fold` is stratum fold − 1: between cuts fold − 2 and fold − 1 */
				int			st = fold - 1;
				int64		lo = st == 0 ? 0 : below[k * L + st - 1],
							hi = st == L ? rows[k] : below[k * L + st];

				left_out = hi - lo;
			}
			else
				left_out = below[k];
			count[k] = (double) (rows[k] - left_out);
			n += count[k];
		}
	}
	else
	{
		char	   *sql;
		Oid			types[4] = {INT8OID, INT4OID, INT4OID, FLOAT8ARRAYOID};
		Datum		args[4];
		uint64		i;

		if (folds > 0)
			sql = psprintf("SELECT s.y, count(*) FROM (SELECT %s AS y, %s AS x FROM %s WHERE %s IS NOT NULL) s "
						   "WHERE mlsys._fold(s.y, s.x, $1, $3, $4) <> $2 GROUP BY s.y",
						   ysql, xsql, a->relsql, quote_identifier(a->target));
		else
			sql = psprintf("SELECT s.y, count(*) FROM (SELECT %s AS y, %s AS x FROM %s WHERE %s IS NOT NULL) s "
						   "WHERE $2 = 0 OR NOT mlsys._in_holdout(s.y, s.x, $1, $4) GROUP BY s.y",
						   ysql, xsql, a->relsql, quote_identifier(a->target));
		args[0] = Int64GetDatum((int64) a->seed);
		args[1] = Int32GetDatum(folds > 0 ? fold : (a->test_size > 0 ? 1 : 0));
		args[2] = Int32GetDatum(Max(folds, 2));
		args[3] = PointerGetDatum(mlsys_float8_array(cuts, K * (folds > 0 ? folds - 1 : 1)));
		if (SPI_execute_with_args(sql, 4, types, args, NULL, true, 0) != SPI_OK_SELECT)
			elog(ERROR, "SPI_execute failed: %s", sql);
		for (i = 0; i < SPI_processed; i++)
		{
			bool		isnull;
			double		y = DatumGetFloat8(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull));
			double		c = (double) DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 2, &isnull));

			if (y >= 0 && y < K)
			{
				count[(int) y] = c;
				n += c;
			}
		}
	}
	for (k = 0; k < K; k++)
	{
		if (count[k] == 0)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_EXCEPTION),
					 errmsg("class \"%s\" has no rows in the training split", classes[k]),
					 folds > 0 ? errdetail("Every row of that class is in fold %d.", fold)
					 : errdetail("Every row of that class fell into the holdout."),
					 errhint("Use more rows, a smaller test_size, fewer folds or another seed.")));
		cw[k] = a->balanced ? n / (K * count[k]) : 1.0;
	}
	pfree(count);
}

/* the metrics object of a multinomial evaluation: accuracy, macro F1, log loss */
static void
append_multiclass_metrics_values(StringInfo buf, double n, double accuracy, double macro_f1, double logloss)
{
	appendStringInfoString(buf, "{\"accuracy\": ");
	mlsys_append_json_number(buf, n > 0 ? accuracy : 0.0);
	appendStringInfoString(buf, ", \"macro_f1\": ");
	mlsys_append_json_number(buf, macro_f1);
	appendStringInfoString(buf, ", \"log_loss\": ");
	mlsys_append_json_number(buf, logloss);
}

/* the same, from an evaluation row of MULTICLASS_METRICS_SQL (columns first .. first + 3) */
static void
append_multiclass_metrics(StringInfo buf, HeapTuple t, TupleDesc d, int first)
{
	bool		isnull;
	double		n = (double) DatumGetInt64(SPI_getbinval(t, d, first, &isnull));
	double		correct = (double) DatumGetInt64(SPI_getbinval(t, d, first + 1, &isnull));
	double		logloss = DatumGetFloat8(SPI_getbinval(t, d, first + 2, &isnull));
	double		macro_f1 = DatumGetFloat8(SPI_getbinval(t, d, first + 3, &isnull));

	append_multiclass_metrics_values(buf, n, n > 0 ? correct / n : 0.0, macro_f1, logloss);
}

/* the SQL of the evaluation aggregates over (s.r = {predicted, log p}, s.y) */
#define MULTICLASS_METRICS_SQL \
	"count(*), count(*) FILTER (WHERE s.r[1] = s.y), -avg(s.r[2]), " \
	"(mlsys.classification_report(s.r[1]::int::text, s.y::int::text) -> 'macro avg' ->> 'f1-score')::float8"

/* the normalized hyperparameters of a multinomial model */
static char *
multiclass_hyperparams(const TrainArgs *a, double alpha)
{
	StringInfoData buf;

	initStringInfo(&buf);
	appendStringInfoString(&buf, "{\"alpha\": ");
	mlsys_append_json_number(&buf, alpha);
	appendStringInfo(&buf, ", \"max_iter\": %d, \"tol\": ", a->max_iter);
	mlsys_append_json_number(&buf, a->tol);
	appendStringInfo(&buf, ", \"class_weight\": %s", a->balanced ? "\"balanced\"" : "null");
	mlsys_append_preprocessing_params(a, &buf);
	appendStringInfoChar(&buf, '}');
	return buf.data;
}

/* the labels in class order as an SQL text[] (for the baseline's prediction) */
static char *
label_array_sql(char **classes, int K)
{
	StringInfoData buf;
	int			k;

	initStringInfo(&buf);
	appendStringInfoString(&buf, "ARRAY[");
	for (k = 0; k < K; k++)
		appendStringInfo(&buf, "%s%s", k > 0 ? ", " : "", quote_literal_cstr(classes[k]));
	appendStringInfoString(&buf, "]::pg_catalog.text[]");
	return buf.data;
}

/* mlsys.train for K > 2 classes: fills r (classes already set) */
void
train_multiclass(TrainArgs *a, TrainResult *r, FeatureSpec *spec, char *xsql, const char *ysql)
{
	MemoryContext cxt = CurrentMemoryContext;
	int			K = r->nclasses,
				p = spec->nfeat,
				D = K * (p + 1),
				passes;
	LinregState *stats;
	double	   *prm,
				alpha,
				objective;
	bool		converged;
	SoftmaxPassContext pc;
	TrainSample sample;
	StringInfoData buf;

	r->task = "multiclass";
	if ((Size) D > 2048)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("a multinomial model with %d classes and %d features has too many parameters", K, p),
				 errdetail("The limit is 2048 (classes × (features + 1))."),
				 errhint("Use fewer features or group classes.")));
	/* the expanded Hessian and the solver's copy (2 D² doubles), and a pass state with its row buffer */
	mlsys_check_training_memory(2.0 * D * (double) D * sizeof(double) + (double) softmax_state_bytes(p, K),
								"multinomial training");
	memset(&sample, 0, sizeof(sample));
	sample.size = classifier_sample_size(p, D);
	stats = classifier_first_pass(a, spec, &xsql, ysql, r, sample.size > 0 ? &sample : NULL);
	prm = palloc0(sizeof(double) * (D + 2 * p + K));
	classifier_standardization(a, spec, stats, prm + D, prm + D + p);
	class_weights(a, xsql, ysql, r->classes, K, 0, 0, r->cuts,
				  a->test_size > 0 ? r->class_rows : NULL, a->test_size > 0 ? r->class_holdout : NULL,
				  prm + D + 2 * p);
	alpha = a->alpha > 0 ? a->alpha : 1.0 / (double) r->train_rows;
	if (sample.size > 0)
	{
		bool		started = softmax_sample_start(prm, p, K, alpha, a->tol, &sample);

		elog(DEBUG1, "multinomial logistic regression starts from %s (sample of %d of " INT64_FORMAT " training rows)",
			 started ? "the sample's fit" : "zero", sample.nrows, sample.seen);
	}

	memset(&pc, 0, sizeof(pc));
	mlsys_pass_query(&pc.q, a, "_softmax_step_agg", xsql, ysql, 0, r->cuts, K);
	pc.q.cxt = cxt;
	passes = softmax_fit(prm, p, K, alpha, a, &pc, &converged, &objective, &sample);
	MemoryContextSwitchTo(cxt);
	if (!converged)
		mlsys_warn_not_converged(passes, a->tol);

	/* evaluation pass over the holdout (every row when test_size is 0): one aggregate */
	{
		Datum		eargs[4];
		Datum		state;
		bool		isnull;
		MulticlassMetrics mm;

		eargs[0] = pc.q.args[0];
		eargs[1] = pc.q.args[1];
		eargs[2] = PointerGetDatum(mlsys_float8_array(prm, D + 2 * p + K));
		eargs[3] = BoolGetDatum(a->test_size == 0);
		/* the baseline's prediction is the label of the most probable class */
		state = mlsys_classifier_eval_pass(a, spec, "mlsys._softmax_holdout_agg", xsql, ysql, eargs,
										   psprintf("(%s)[((mlsys._softmax_eval($3, %s, 0))[1])::pg_catalog.int4 OPERATOR(pg_catalog.+) 1]",
													label_array_sql(r->classes, K), xsql),
										   true, cxt, r, &isnull);
		mlsys_multiclass_holdout_metrics(state, isnull, &mm);
		SPI_freetuptable(SPI_tuptable);
		initStringInfo(&buf);
		append_multiclass_metrics_values(&buf, mm.n, mm.accuracy, mm.macro_f1, mm.log_loss);
		appendStringInfo(&buf, ", \"iterations\": %d, \"converged\": %s, \"objective\": ",
						 passes, converged ? "true" : "false");
		mlsys_append_json_number(&buf, objective);
		mlsys_append_split_metrics(&buf, a, r);
		appendStringInfoChar(&buf, '}');
		r->metrics = buf.data;
	}
	a->hyperparams = multiclass_hyperparams(a, alpha);
	r->params = model_serialize_softmax(prm, prm + D, prm + D + p, p, K);
}

/*
 * Cross-validation for K > 2 classes: fold states in one pass, the Newton
 * passes of each fold's model, then one pass scoring every row with the model
 * of its fold. Emits (fold, metrics) rows. SPI connected.
 */
void
cv_multiclass(TrainArgs *a, int folds, FeatureSpec *spec, char *xsql, const char *ysql,
			  char **classes, int nclasses, Tuplestorestate *store, TupleDesc tupdesc)
{
	MemoryContext cxt = CurrentMemoryContext;
	int			K = nclasses,
				p = spec->nfeat,
				D = K * (p + 1),
				L = D + 2 * p + K,
				k;
	LinregState **states;
	double	   *all,
			   *cuts;
	SoftmaxPassContext pc;
	TrainSample *samples = NULL;
	int			sample_size;
	int64	   *class_rows,
			   *below;
	uint64		i;
	char	   *sql;

	class_rows = palloc0(sizeof(int64) * K);
	below = palloc0(sizeof(int64) * K * (folds - 1));
	cuts = mlsys_strata_split(a, spec, &xsql, ysql, K, folds, class_rows, below);
	MemoryContextSwitchTo(cxt);
	/* each fold's model starts from the fit of the other folds' samples, as mlsys.train's does */
	sample_size = classifier_sample_size(p, D);
	if (sample_size > 0)
	{
		samples = palloc0(sizeof(TrainSample) * folds);
		samples[0].size = (sample_size + folds - 2) / (folds - 1);
	}
	states = mlsys_fold_states(a, spec, &xsql, ysql, folds, true, cuts, K * (folds - 1), K, samples);
	MemoryContextSwitchTo(cxt);
	all = palloc0(sizeof(double) * (Size) folds * L);
	memset(&pc, 0, sizeof(pc));
	mlsys_pass_query(&pc.q, a, "_softmax_fold_step_agg", xsql, ysql, folds, cuts, K * (folds - 1));
	pc.q.cxt = cxt;
	for (k = 0; k < folds; k++)
	{
		LinregState *merged = mlsys_merge_other_folds(states, folds, k);
		double	   *prm = all + (Size) k * L;
		double		alpha,
					objective;
		bool		converged;
		TrainSample other;

		CHECK_FOR_INTERRUPTS();
		linreg_state_finish(merged);
		classifier_standardization(a, spec, merged, prm + D, prm + D + p);
		class_weights(a, xsql, ysql, classes, K, folds, k + 1, cuts, class_rows, below, prm + D + 2 * p);
		alpha = a->alpha > 0 ? a->alpha : 1.0 / (double) linreg_state_rows(merged);
		memset(&other, 0, sizeof(other));
		if (samples != NULL)
		{
			mlsys_other_folds_sample(samples, folds, k, p, &other);
			softmax_sample_start(prm, p, K, alpha, a->tol, &other);
		}
		pc.q.args[2] = Int32GetDatum(k + 1);
		softmax_fit(prm, p, K, alpha, a, &pc, &converged, &objective, &other);
		MemoryContextSwitchTo(cxt);
		if (!converged)
			ereport(WARNING,
					(errmsg("logistic regression did not converge for fold %d", k + 1),
					 errhint("Raise max_iter or tol, or use a larger alpha.")));
		pfree(merged);
	}

	{
		Oid			types[4] = {INT8OID, INT4OID, FLOAT8ARRAYOID, FLOAT8ARRAYOID};
		Datum		eargs[4];
		int			grouping;

		sql = psprintf("SELECT mlsys._fold(s.y, s.x, $1, $2, $4), " MULTICLASS_METRICS_SQL
					   " FROM (SELECT mlsys._softmax_eval_fold($3, $1, $2, $4, %s, %s) AS r, %s AS y, %s AS x "
					   "FROM %s WHERE %s IS NOT NULL OFFSET 0) s GROUP BY 1 ORDER BY 1",
					   ysql, xsql, ysql, xsql, a->relsql, quote_identifier(a->target));
		eargs[0] = pc.q.args[0];
		eargs[1] = Int32GetDatum(folds);
		eargs[2] = PointerGetDatum(mlsys_float8_array(all, folds * L));
		eargs[3] = pc.q.args[1];
		grouping = mlsys_fold_grouping_begin();
		if (SPI_execute_with_args(sql, 4, types, eargs, NULL, true, 0) != SPI_OK_SELECT)
			elog(ERROR, "SPI_execute failed: %s", sql);
		mlsys_fold_grouping_end(grouping);
	}
	MemoryContextSwitchTo(cxt);
	for (i = 0; i < SPI_processed; i++)
	{
		StringInfoData buf;
		Datum		out[2];
		bool		outnull[2] = {false, false};
		bool		isnull;

		initStringInfo(&buf);
		append_multiclass_metrics(&buf, SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 2);
		appendStringInfoChar(&buf, '}');
		out[0] = SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull);
		out[1] = DirectFunctionCall1(jsonb_in, CStringGetDatum(buf.data));
		tuplestore_putvalues(store, tupdesc, out, outnull);
	}
}
