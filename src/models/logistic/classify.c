/*
 * classify.c — mlsys.train for classifiers (binary logistic regression).
 *
 *   classes: one GROUP BY over the target gives the labels in class order
 *   (false then true for booleans, ascending for integers, byte order for
 *   text and enums) and rejects NULL labels; y = 1 for the positive class
 *   (the second class unless hyperparams name another);
 *   split: one pass of mlsys._strata_agg finds each class's cut on the
 *   content-hash number, so that the holdout (or each fold) takes exactly its
 *   share of every class (strata.c); the cuts go to every later pass and are
 *   stored in the version's metrics.split;
 *   pass 1: mlsys._linreg_strata_agg over (y, x) gives the split counts, the
 *   data fingerprint and each feature's training mean and standard deviation
 *   (the stored standardization, StandardScaler's population std, 1 for a
 *   constant feature) and the share of positives (for class_weight);
 *   Newton passes: logreg.c;
 *   evaluation: one pass over the holdout (every row when test_size is 0)
 *   computing accuracy, precision, recall, F1 (at the threshold), exact ROC
 *   AUC and log loss with the metric aggregates.
 * Multinomial models: multiclass.c.
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/syscache.h"
#include "utils/tuplestore.h"

#include "models/logistic/logistic.h"

/*
 * The sample of training rows that logistic regression starts from
 * (logreg_sample_start): at most this many rows, and this many bytes
 */
#define START_SAMPLE_ROWS 16384
#define START_SAMPLE_BYTES (8 * 1024 * 1024)

/* pg_class.reltuples of a table or materialized view (0 when unknown, as for a view) */
static double
relation_row_estimate(Oid relid)
{
	HeapTuple	tup = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
	double		n = 0;

	if (HeapTupleIsValid(tup))
	{
		n = Max(0.0, (double) ((Form_pg_class) GETSTRUCT(tup))->reltuples);
		ReleaseSysCache(tup);
	}
	return n;
}

/*
 * The rows of the sample that a model of p features and `params` parameters
 * starts from: at most START_SAMPLE_ROWS, and START_SAMPLE_BYTES of rows (a
 * row keeps p + 3 values: its key, label and features); none (0) when that
 * leaves fewer than 10 rows per parameter.
 */
int
classifier_sample_size(int p, int params)
{
	int			size = Min(START_SAMPLE_ROWS, START_SAMPLE_BYTES / ((p + 3) * (int) sizeof(double)));

	return size >= 10 * params ? size : 0;
}

/* a binary Newton pass: the query and the feature count */
typedef struct PassContext
{
	PassQuery	q;
	int			p;
} PassContext;

/* run one Newton pass at the parameters prm (w, center, scale, cw) */
static LogregState *
run_newton_pass(const double *prm, void *arg)
{
	PassContext *pc = (PassContext *) arg;
	Datum		result;
	LogregState *s;

	pc->q.args[pc->q.nargs - 1] = PointerGetDatum(mlsys_float8_array(prm, 3 * pc->p + 3));
	if (!mlsys_spi_single_value(pc->q.sql, pc->q.nargs, pc->q.types, pc->q.args, &result))
		return NULL;
	MemoryContextSwitchTo(pc->q.cxt);
	s = logreg_state_from_datum(result);
	SPI_freetuptable(SPI_tuptable);		/* a pass's result is large: do not keep it */
	return s;
}

/*
 * Standardization, class weights, alpha and the Newton start for the rows
 * summarized by stats (finished); fills prm (3p + 3 values) and returns alpha.
 */
/*
 * The stored standardization: each feature's training mean and population
 * standard deviation (StandardScaler; 1 for a constant feature). One-hot
 * features, and every feature under {"scale": "none"}, stay as they are.
 */
void
classifier_standardization(const TrainArgs *a, const FeatureSpec *spec, LinregState *stats,
						   double *center, double *scale)
{
	bool	   *onehot = features_onehot_mask(spec);
	double		mean,
				sd,
				mn,
				mx;
	int			j;

	for (j = 0; j < spec->nfeat; j++)
	{
		linreg_state_column_stats(stats, j, &mean, &sd, &mn, &mx);
		center[j] = a->scale && !onehot[j] ? mean : 0.0;
		scale[j] = a->scale && !onehot[j] && sd > 0 ? sd : 1.0;
	}
}

static double
classifier_start(TrainArgs *a, const FeatureSpec *spec, LinregState *stats, int p,
				 int64 train_rows, double *prm)
{
	double		sd,
				mn,
				mx,
				share_pos;
	double	   *ols = palloc(sizeof(double) * (p + 1));
	int			j;

	memset(prm, 0, sizeof(double) * (3 * p + 3));
	classifier_standardization(a, spec, stats, prm + p + 1, prm + 2 * p + 1);
	linreg_state_column_stats(stats, p, &share_pos, &sd, &mn, &mx);
	if (share_pos <= 0 || share_pos >= 1)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("the training rows have only one class"),
				 errhint("Use more rows or another seed.")));
	prm[3 * p + 1] = a->balanced ? 0.5 / (1.0 - share_pos) : 1.0;
	prm[3 * p + 2] = a->balanced ? 0.5 / share_pos : 1.0;

	/*
	 * Start Newton from the discriminant direction, which the moments already
	 * give: the least-squares fit of y on the standardized features, scaled by
	 * 1 / (p̄ (1 − p̄)), with the intercept at logit(p̄) (Haggstrom, 1983). Any
	 * start converges (the objective is convex and the steps are damped); a
	 * good one saves passes. A degenerate design, or a first pass that kept
	 * variances alone (with a sample, whose fit gives the start), leaves the
	 * slopes at zero.
	 */
	prm[0] = log(share_pos / (1.0 - share_pos));
	if (linreg_try_solve(stats, 1e-8 * train_rows, ols))
	{
		for (j = 0; j < p; j++)
			prm[j + 1] = ols[j + 1] * prm[2 * p + 1 + j] / (share_pos * (1.0 - share_pos));
	}
	return a->alpha > 0 ? a->alpha : 1.0 / (double) train_rows;
}

/*
 * Pass 1 of a classifier: the stratified split (strata.c: one pass finds
 * each class's cut, into r->cuts), then split counts, data fingerprint, each
 * feature's training mean and standard deviation (standardization), the
 * mean label (class share, binary) and the count of NULL labels (an error).
 * Imputes missing values when the data has them (*xsql is then rebuilt).
 * Fills the counts, fingerprint and profile of r. SPI connected.
 */
LinregState *
classifier_first_pass(TrainArgs *a, FeatureSpec *spec, char **xsql, const char *ysql, TrainResult *r,
					  TrainSample *sample)
{
	MemoryContext cxt = CurrentMemoryContext;
	Oid			types1[5] = {INT8OID, FLOAT8ARRAYOID, TEXTARRAYOID, INT4OID, FLOAT8OID};
	Datum		args[5];
	Datum		result;
	LinregState *stats;
	int64		seen,
				holdout;
	int			p = spec->nfeat;
	char	   *sql;

	r->class_rows = palloc0(sizeof(int64) * r->nclasses);
	r->class_holdout = palloc0(sizeof(int64) * r->nclasses);
	r->cuts = mlsys_strata_split(a, spec, xsql, ysql, r->nclasses, 0, r->class_rows, r->class_holdout);
	MemoryContextSwitchTo(cxt);
	args[0] = Int64GetDatum((int64) a->seed);
	args[1] = PointerGetDatum(mlsys_float8_array(r->cuts, r->nclasses));
	args[2] = mlsys_cstring_array(spec->names, p);
	args[3] = Int32GetDatum(0);
	if (sample != NULL)
	{
		/*
		 * The threshold on the sample's key that size training rows pass on
		 * average (they are about (1 − test_size) of the rows the split
		 * counted), and room for 8 standard deviations more: most rows then
		 * cost the sample one comparison, and the heap is for the improbable.
		 */
		double		rows = 0;
		int			k;

		for (k = 0; k < r->nclasses; k++)
			rows += (double) r->class_rows[k];
		/* no split pass (test_size 0): the planner's row estimate, if the relation has one */
		if (rows <= 0)
			rows = relation_row_estimate(a->relid);
		rows *= 1.0 - a->test_size;
		args[3] = Int32GetDatum(sample->size + (int) (8 * sqrt((double) sample->size)) + 64);
		args[4] = Float8GetDatum(rows > 0 ? Max(0.0, 1.0 - sample->size / rows) : 0.0);
	}
	for (;;)
	{
		sql = psprintf("SELECT mlsys._linreg_strata_agg(%s, %s, $1, $2, $3%s), count(*) FILTER (WHERE %s IS NULL) FROM %s",
					   ysql, *xsql, sample != NULL ? ", $4, $5" : "", quote_identifier(a->target), a->relsql);
		if (mlsys_try_first_pass(spec, sql, sample != NULL ? 5 : 3, types1, args))
			break;
		mlsys_impute_and_rebuild(a, spec, xsql);
	}
	if (SPI_processed != 1)
		elog(ERROR, "SPI_execute failed: %s", sql);
	{
		bool		isnull;
		int64		nulls = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));

		if (nulls > 0)
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("label column \"%s\" contains nulls", a->target),
					 errdetail_plural(INT64_FORMAT " row has no label.", INT64_FORMAT " rows have no label.",
									  (unsigned long) nulls, nulls),
					 errhint("Train on a view that leaves out unlabelled rows.")));
		result = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
		if (isnull)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_EXCEPTION),
					 errmsg("relation \"%s\" has no rows to train on", a->relname)));
	}
	MemoryContextSwitchTo(cxt);
	stats = linreg_state_from_datum(result, true);
	if (sample != NULL)
	{
		Datum		d = linreg_state_sample(stats);

		sample->nrows = mlsys_sample_rows(d, d == (Datum) 0, p, &sample->rows, &sample->seen);
	}
	if (linreg_state_nfeat(stats) != p)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg_plural("feature vector has %d element, expected %d",
							   "feature vector has %d elements, expected %d",
							   (unsigned long) (linreg_state_nfeat(stats)), linreg_state_nfeat(stats), p)));
	linreg_state_split_counts(stats, &seen, &holdout, &r->fingerprint);
	r->train_rows = linreg_state_rows(stats);
	r->test_rows = holdout;
	mlsys_check_split(a, seen, r->train_rows, holdout);
	linreg_state_finish(stats);
	r->profile = mlsys_build_profile(stats, spec);
	mlsys_impute_for_scoring(a, spec, stats);

	return stats;
}

/* mlsys.train for a binary logistic model: fills r */
void
train_classifier(TrainArgs *a, TrainResult *r)
{
	MemoryContext cxt = CurrentMemoryContext;
	FeatureSpec *spec;
	char	   *xsql,
			   *ysql;
	char	  **classes;
	int			nclasses,
				positive = 1,
				p,
				passes;
	LinregState *stats;
	double	   *prm,
				alpha,
				objective;
	bool		converged,
				sample_start = false;
	PassContext pc;
	TrainSample sample;
	StringInfoData buf;

	r->task = "binary";
	spec = mlsys_classifier_setup(a, &classes, &nclasses, &positive, &xsql, &ysql);
	p = spec->nfeat;
	r->spec = spec;
	r->classes = classes;
	r->nclasses = nclasses;
	mlsys_check_task_classes(a, nclasses);
	if (nclasses > 2)
	{
		train_multiclass(a, r, spec, xsql, ysql);
		return;
	}

	/* a sample of the training rows for the starting point, if large enough to say something */
	memset(&sample, 0, sizeof(sample));
	sample.size = classifier_sample_size(p, p + 1);
	stats = classifier_first_pass(a, spec, &xsql, ysql, r, sample.size > 0 ? &sample : NULL);

	prm = palloc(sizeof(double) * (3 * p + 3));
	alpha = classifier_start(a, spec, stats, p, r->train_rows, prm);
	if (sample.size > 0)
	{
		sample_start = logreg_sample_start(prm, p, alpha, a->tol, sample.rows, sample.nrows,
										   sample.seen == sample.nrows);
		elog(DEBUG1, "logistic regression starts from %s (sample of %d of " INT64_FORMAT " training rows)",
			 sample_start ? "the sample's fit" : "the moments", sample.nrows, sample.seen);
	}

	/* Newton passes */
	mlsys_pass_query(&pc.q, a, "_logreg_step_agg", xsql, ysql, 0, r->cuts, 2);
	pc.q.cxt = cxt;
	pc.p = p;
	passes = logreg_fit(prm, p, alpha, a->max_iter, a->tol, sample.rows, sample.nrows, run_newton_pass, &pc,
						&converged, &objective);
	MemoryContextSwitchTo(cxt);
	if (!converged)
		mlsys_warn_not_converged(passes, a->tol);

	/* evaluation pass: the (probability, label) pairs of the holdout, then the metrics */
	{
		Datum		eargs[4];
		Datum		pairs;
		bool		isnull;
		BinaryHoldout bh;

		eargs[0] = pc.q.args[0];
		eargs[1] = pc.q.args[1];
		eargs[2] = PointerGetDatum(mlsys_float8_array(prm, 3 * p + 3));
		eargs[3] = BoolGetDatum(a->test_size == 0);
		pairs = mlsys_classifier_eval_pass(a, spec, "mlsys._logreg_holdout_agg", xsql, ysql, eargs,
										   psprintf("mlsys._logreg_proba($3, %s)", xsql), false,
										   cxt, r, &isnull);
		/* a single-class holdout has no AUC: this raises the error mlsys.auc raises */
		mlsys_binary_holdout_metrics(pairs, isnull, a->threshold, &bh);
		SPI_freetuptable(SPI_tuptable);
		initStringInfo(&buf);
		mlsys_append_binary_metrics(&buf, bh.auc, bh.log_loss, bh.tp, bh.fp, bh.fn, bh.n);
		appendStringInfo(&buf, ", \"iterations\": %d, \"converged\": %s, \"objective\": ",
						 passes, converged ? "true" : "false");
		mlsys_append_json_number(&buf, objective);
		mlsys_append_split_metrics(&buf, a, r);
		appendStringInfoChar(&buf, '}');
		r->metrics = buf.data;
	}

	/* the normalized hyperparameters, with the alpha actually used */
	initStringInfo(&buf);
	appendStringInfoString(&buf, "{\"alpha\": ");
	mlsys_append_json_number(&buf, alpha);
	appendStringInfo(&buf, ", \"max_iter\": %d, \"tol\": ", a->max_iter);
	mlsys_append_json_number(&buf, a->tol);
	appendStringInfo(&buf, ", \"class_weight\": %s, \"threshold\": ", a->balanced ? "\"balanced\"" : "null");
	mlsys_append_json_number(&buf, a->threshold);
	appendStringInfoString(&buf, ", \"positive_class\": ");
	escape_json(&buf, classes[positive]);
	mlsys_append_preprocessing_params(a, &buf);
	appendStringInfoChar(&buf, '}');
	a->hyperparams = buf.data;

	r->params = model_serialize_logistic(prm, prm + p + 1, prm + 2 * p + 1, p, a->threshold);
}

/* the WARNING of a cross-validation fold whose fit ran out of passes */
static void
cv_warn_fold_not_converged(int fold)
{
	ereport(WARNING,
			(errmsg("logistic regression did not converge for fold %d", fold),
			 errhint("Raise max_iter or tol, or use a larger alpha.")));
}

/*
 * A fold's fit replayed over the passes run so far: the results of the
 * passes the fit asked for, by their parameters, and the one it asks for
 * next (a pass not run yet defers the fit: newton.c).
 */
typedef struct FoldReplay
{
	int			len;			/* parameters of a pass: 3p + 3 */
	int			npass;
	int			cap;
	double	   *points;			/* npass × len */
	LogregState **states;		/* each pass's state (flushed) */
	bool		wants;
	double	   *wanted;			/* len */
} FoldReplay;

static LogregState *
replay_fold_pass(const double *prm, void *arg)
{
	FoldReplay *fr = (FoldReplay *) arg;
	int			i;

	for (i = 0; i < fr->npass; i++)
		if (memcmp(fr->points + (Size) i * fr->len, prm, sizeof(double) * fr->len) == 0)
		{
			Size		size = VARSIZE(fr->states[i]);
			LogregState *copy = palloc(size);

			memcpy(copy, fr->states[i], size);	/* the fit frees the state it is given */
			return copy;
		}
	fr->wants = true;
	memcpy(fr->wanted, prm, sizeof(double) * fr->len);
	return logreg_deferred_pass;
}

/*
 * The Newton fits of every fold of a binary cross-validation, all folds'
 * passes in one scan each (mlsys._logreg_folds_step_agg): every fold's fit
 * runs from its start in all (3p + 3 values a fold) until it asks for a pass
 * not run yet; one scan then runs the pass each such fold asked for, and the
 * fits run again from their starts over the passes so far (replaying them
 * costs no pass), until every fit has finished. Each fold's passes and fit
 * are those of a fit of its own (the joint pass's state of a fold is the
 * single-fold pass's), with one scan where there were as many as folds.
 * all receives the fitted parameters. SPI connected.
 */
static void
cv_fit_folds_jointly(const TrainArgs *a, const char *xsql, const char *ysql, int folds,
					 const double *cuts, int p, double *all, const double *alphas,
					 const TrainSample *others)
{
	MemoryContext cxt = CurrentMemoryContext;
	int			len = 3 * p + 3,
				round,
				k;
	double	   *start = palloc(sizeof(double) * (Size) folds * len);
	double	   *params = palloc(sizeof(double) * (Size) folds * len);
	bool	   *done = palloc0(sizeof(bool) * folds);
	bool	   *active = palloc(sizeof(bool) * folds);
	Datum	   *active_datums = palloc(sizeof(Datum) * folds);
	FoldReplay *fr = palloc0(sizeof(FoldReplay) * folds);
	Oid			types[4] = {INT8OID, FLOAT8ARRAYOID, FLOAT8ARRAYOID, BOOLARRAYOID};
	Datum		args[4];
	char	   *sql;

	memcpy(start, all, sizeof(double) * (Size) folds * len);
	for (k = 0; k < folds; k++)
	{
		fr[k].len = len;
		fr[k].wanted = palloc(sizeof(double) * len);
	}
	sql = psprintf("SELECT mlsys._logreg_folds_step_agg(%s, %s, $1, $2, $3, $4) FROM %s WHERE %s IS NOT NULL",
				   ysql, xsql, a->relsql, quote_identifier(a->target));
	args[0] = Int64GetDatum((int64) a->seed);
	args[1] = PointerGetDatum(mlsys_float8_array(cuts, 2 * (folds - 1)));
	for (round = 0;; round++)
	{
		int			pending = 0;
		Datum		d;
		bool		isnull;

		CHECK_FOR_INTERRUPTS();
		for (k = 0; k < folds; k++)
		{
			double	   *prm = all + (Size) k * len;
			double		objective;
			bool		converged;

			if (done[k])
				continue;
			memcpy(prm, start + (Size) k * len, sizeof(double) * len);
			fr[k].wants = false;
			if (logreg_fit(prm, p, alphas[k], a->max_iter, a->tol, others[k].rows, others[k].nrows,
						   replay_fold_pass, &fr[k], &converged, &objective) >= 0)
			{
				done[k] = true;
				if (!converged)
					cv_warn_fold_not_converged(k + 1);
			}
			else
				pending++;
		}
		if (pending == 0)
			break;
		if (round > a->max_iter + 1)
			elog(ERROR, "cross-validation's Newton fits did not finish");	/* cannot happen */

		/* one scan: the pass each unfinished fold asked for (the others are not accumulated) */
		for (k = 0; k < folds; k++)
		{
			active[k] = !done[k] && fr[k].wants;
			memcpy(params + (Size) k * len, active[k] ? fr[k].wanted : start + (Size) k * len,
				   sizeof(double) * len);
		}
		args[2] = PointerGetDatum(mlsys_float8_array(params, folds * len));
		for (k = 0; k < folds; k++)
			active_datums[k] = BoolGetDatum(active[k]);
		args[3] = PointerGetDatum(construct_array(active_datums, folds, BOOLOID, 1, true, TYPALIGN_CHAR));
		if (SPI_execute_with_args(sql, 4, types, args, NULL, true, 0) != SPI_OK_SELECT ||
			SPI_processed != 1)
			elog(ERROR, "SPI_execute failed: %s", sql);
		d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
		MemoryContextSwitchTo(cxt);
		if (isnull)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_EXCEPTION),
					 errmsg("the training split is empty")));
		for (k = 0; k < folds; k++)
		{
			if (!active[k])
				continue;
			if (fr[k].npass == fr[k].cap)
			{
				fr[k].cap = Max(4, 2 * fr[k].cap);
				fr[k].points = fr[k].points == NULL ? palloc(sizeof(double) * fr[k].cap * len) :
					repalloc(fr[k].points, sizeof(double) * fr[k].cap * len);
				fr[k].states = fr[k].states == NULL ? palloc(sizeof(LogregState *) * fr[k].cap) :
					repalloc(fr[k].states, sizeof(LogregState *) * fr[k].cap);
			}
			memcpy(fr[k].points + (Size) fr[k].npass * len, fr[k].wanted, sizeof(double) * len);
			fr[k].states[fr[k].npass++] = logreg_folds_state_fold(d, folds, k);
		}
		SPI_freetuptable(SPI_tuptable);
	}
}

/*
 * Cross-validation of a binary logistic model: per fold, the holdout metrics
 * of a model trained on the other folds. One pass gives every fold's moments
 * (standardization and Newton start of fold k merge the others), then the
 * Newton passes of each fold, then one pass scores every row with its fold's
 * model. Emits rows (fold, metrics) into store. SPI connected.
 */
void
cv_classifier(TrainArgs *a, int folds, Tuplestorestate *store, TupleDesc tupdesc)
{
	MemoryContext cxt = CurrentMemoryContext;
	FeatureSpec *spec;
	char	  **classes;
	char	   *xsql,
			   *ysql,
			   *sql;
	int			nclasses,
				positive,
				p,
				k;
	uint64		i;
	LinregState **states;
	double	   *all,
			   *cuts,
			   *alphas;
	PassContext pc;
	TrainSample *samples = NULL,
			   *others;
	int			sample_size;

	spec = mlsys_classifier_setup(a, &classes, &nclasses, &positive, &xsql, &ysql);
	p = spec->nfeat;
	if (nclasses > 2)
	{
		cv_multiclass(a, folds, spec, xsql, ysql, classes, nclasses, store, tupdesc);
		return;
	}

	/*
	 * The stratified folds, then one state per fold and a sample of each fold
	 * (the folds' models start from the fit of the others' samples, as
	 * mlsys.train's model does); a NULL label has no fold and is an error
	 */
	cuts = mlsys_strata_split(a, spec, &xsql, ysql, 2, folds, NULL, NULL);
	MemoryContextSwitchTo(cxt);
	sample_size = classifier_sample_size(p, p + 1);
	if (sample_size > 0)
	{
		samples = palloc0(sizeof(TrainSample) * folds);
		samples[0].size = (sample_size + folds - 2) / (folds - 1);
	}
	states = mlsys_fold_states(a, spec, &xsql, ysql, folds, true, cuts, 2 * (folds - 1), 2, samples);
	MemoryContextSwitchTo(cxt);

	/* each fold's start: the moments of the other folds, then the fit of their samples */
	all = palloc(sizeof(double) * (Size) folds * (3 * p + 3));
	alphas = palloc(sizeof(double) * folds);
	others = palloc0(sizeof(TrainSample) * folds);
	for (k = 0; k < folds; k++)
	{
		LinregState *merged = mlsys_merge_other_folds(states, folds, k);
		double	   *prm = all + (Size) k * (3 * p + 3);

		alphas[k] = classifier_start(a, spec, merged, p, linreg_state_rows(merged), prm);
		if (samples != NULL)
		{
			mlsys_other_folds_sample(samples, folds, k, p, &others[k]);
			logreg_sample_start(prm, p, alphas[k], a->tol, others[k].rows, others[k].nrows,
								others[k].seen == others[k].nrows);
		}
	}

	/*
	 * The model of each fold: all folds' Newton passes in one scan each, or
	 * one fold at a time (the scoring pass below takes the seed and cuts of
	 * the single-fold pass's arguments too)
	 */
	mlsys_pass_query(&pc.q, a, "_logreg_fold_step_agg", xsql, ysql, folds, cuts, 2 * (folds - 1));
	pc.q.cxt = cxt;
	pc.p = p;
	if (folds <= LOGREG_MAX_JOINT_FOLDS)
		cv_fit_folds_jointly(a, xsql, ysql, folds, cuts, p, all, alphas, others);
	else
	{
		for (k = 0; k < folds; k++)
		{
			double		objective;
			bool		converged;

			pc.q.args[2] = Int32GetDatum(k + 1);
			logreg_fit(all + (Size) k * (3 * p + 3), p, alphas[k], a->max_iter, a->tol,
					   others[k].rows, others[k].nrows, run_newton_pass, &pc, &converged, &objective);
			MemoryContextSwitchTo(cxt);
			if (!converged)
				cv_warn_fold_not_converged(k + 1);
		}
	}

	/* one pass: every row scored by the model of its fold */
	{
		Oid			types2[5] = {INT8OID, INT4OID, FLOAT8ARRAYOID, FLOAT8OID, FLOAT8ARRAYOID};
		Datum		eargs[5];
		int			grouping;

		sql = psprintf("SELECT mlsys._fold(s.y, s.x, $1, $2, $5), mlsys.auc(s.p, s.y = 1), mlsys.log_loss(s.p, s.y = 1), "
					   "count(*) FILTER (WHERE s.p >= $4 AND s.y = 1), count(*) FILTER (WHERE s.p >= $4 AND s.y = 0), "
					   "count(*) FILTER (WHERE s.p < $4 AND s.y = 1), count(*) "
					   "FROM (SELECT mlsys._logreg_proba_fold($3, $1, $2, $5, %s, %s) AS p, %s AS y, %s AS x "
					   "FROM %s WHERE %s IS NOT NULL OFFSET 0) s GROUP BY 1 ORDER BY 1",
					   ysql, xsql, ysql, xsql, a->relsql, quote_identifier(a->target));
		eargs[0] = pc.q.args[0];
		eargs[1] = Int32GetDatum(folds);
		eargs[2] = PointerGetDatum(mlsys_float8_array(all, folds * (3 * p + 3)));
		eargs[3] = Float8GetDatum(a->threshold);
		eargs[4] = pc.q.args[1];
		grouping = mlsys_fold_grouping_begin();
		if (SPI_execute_with_args(sql, 5, types2, eargs, NULL, true, 0) != SPI_OK_SELECT)
			elog(ERROR, "SPI_execute failed: %s", sql);
		mlsys_fold_grouping_end(grouping);
	}
	MemoryContextSwitchTo(cxt);
	for (i = 0; i < SPI_processed; i++)
	{
		HeapTuple	t = SPI_tuptable->vals[i];
		TupleDesc	d = SPI_tuptable->tupdesc;
		bool		isnull;
		double		tp = DatumGetInt64(SPI_getbinval(t, d, 4, &isnull)),
					fp = DatumGetInt64(SPI_getbinval(t, d, 5, &isnull)),
					fn = DatumGetInt64(SPI_getbinval(t, d, 6, &isnull)),
					n = DatumGetInt64(SPI_getbinval(t, d, 7, &isnull));
		StringInfoData buf;
		Datum		out[2];
		bool		outnull[2] = {false, false};

		initStringInfo(&buf);
		mlsys_append_binary_metrics(&buf, DatumGetFloat8(SPI_getbinval(t, d, 2, &isnull)),
							  DatumGetFloat8(SPI_getbinval(t, d, 3, &isnull)), tp, fp, fn, n);
		appendStringInfoChar(&buf, '}');
		out[0] = SPI_getbinval(t, d, 1, &isnull);
		out[1] = DirectFunctionCall1(jsonb_in, CStringGetDatum(buf.data));
		tuplestore_putvalues(store, tupdesc, out, outnull);
	}
}
