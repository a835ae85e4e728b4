/*
 * linear_family.c — the linear family: least squares ("linear") and ridge
 * ("ridge") regression.
 *
 * Training: resolve the relation (as the caller, with the caller's
 * privileges) → feature spec from the catalog → pass 1:
 * mlsys._linreg_split_agg over the relation (training split accumulated,
 * holdout counted, data fingerprint summed; parallel query may split it) →
 * solve → pass 2: mlsys._regression_holdout scores the holdout → serialize.
 * Both passes are plain SPI queries with no row limit, so the planner may run
 * them with parallel workers.
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/float.h"
#include "utils/tuplestore.h"

#include "models/linear/linear.h"

/* train a linear or ridge model: two passes (see the file comment) */
static void
train_linear(TrainArgs *a, TrainResult *r)
{
	FeatureSpec *spec;
	char	   *xsql,
			   *ysql,
			   *sql;
	Oid			types1[3] = {INT8OID, FLOAT8OID, TEXTARRAYOID};
	Oid			types2[3] = {INT8OID, FLOAT8OID, FLOAT8ARRAYOID};
	Datum		args[3];
	Datum		result;
	LinregState *state;
	int64		seen,
				holdout;
	bool		isnull;
	double	   *coef;
	double		m[4];
	char	   *pred_json,
			   *target_json;
	int64		rows;
	StringInfoData buf;
	MemoryContext cxt = CurrentMemoryContext;
	int			nfeat;
	BaselinePlan baseline;

	spec = mlsys_training_spec(a, &xsql, &ysql);
	nfeat = spec->nfeat;
	r->spec = spec;
	r->task = "regression";

	/* pass 1: sufficient statistics of the training split */
	args[0] = Int64GetDatum((int64) a->seed);
	args[1] = Float8GetDatum(a->test_size);
	args[2] = mlsys_cstring_array(spec->names, nfeat);
	for (;;)
	{
		sql = psprintf("SELECT mlsys._linreg_split_agg(%s, %s, $1, $2, $3) FROM %s",
					   ysql, xsql, a->relsql);
		if (mlsys_try_first_pass(spec, sql, 3, types1, args))
			break;
		mlsys_impute_and_rebuild(a, spec, &xsql);
	}
	if (SPI_processed != 1)
		elog(ERROR, "training query returned %d rows, expected 1", (int) SPI_processed);
	result = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	if (isnull)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("relation \"%s\" has no rows with a non-null target to train on", a->relname)));
	MemoryContextSwitchTo(cxt);
	state = linreg_state_from_datum(result, true);
	if (linreg_state_nfeat(state) != nfeat)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("feature vector has %d elements, expected %d",
						linreg_state_nfeat(state), nfeat),
				 errdetail("A float8[] feature column must have the same length in every row.")));
	linreg_state_split_counts(state, &seen, &holdout, &r->fingerprint);
	r->train_rows = linreg_state_rows(state);
	r->test_rows = holdout;
	mlsys_check_split(a, seen, r->train_rows, holdout);

	coef = palloc(sizeof(double) * (nfeat + 1));
	if (mlsys_spec_has_categorical(spec))
		linreg_solve_min_norm(state, a->alpha, coef, (const char *const *) spec->names);
	else
		linreg_solve(state, a->alpha, coef, (const char *const *) spec->names);
	r->profile = mlsys_build_profile(state, spec);
	mlsys_impute_for_scoring(a, spec, state);
	CHECK_FOR_INTERRUPTS();

	/*
	 * pass 2: metrics on the holdout (on the training rows when test_size is
	 * 0), and the drift baseline: the aggregate profiles the prediction and
	 * the target, the items mlsys_baseline_sql adds the feature columns
	 */
	sql = mlsys_baseline_sql(a, spec, NULL, false, &baseline);
	if (baseline.active)
		sql = psprintf("SELECT mlsys._regression_eval(%s, %s, $1, $2, $3, %s, %s)%s FROM %s AS r",
					   ysql, xsql, mlsys_baseline_complete_sql(spec), quote_literal_cstr(a->target),
					   sql, a->relsql);
	else
		sql = psprintf("SELECT mlsys._regression_holdout(%s, %s, $1, $2, $3) FROM %s",
					   ysql, xsql, a->relsql);
	args[2] = PointerGetDatum(mlsys_float8_array(coef, nfeat + 1));
	if (SPI_execute_with_args(sql, 3, types2, args, NULL, true, 0) != SPI_OK_SELECT ||
		SPI_processed != 1)
		elog(ERROR, "holdout evaluation failed");
	result = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	MemoryContextSwitchTo(cxt);
	if (isnull)
		elog(ERROR, "holdout evaluation returned no rows");
	if (!baseline.active)
		memcpy(m, ARR_DATA_PTR(DatumGetArrayTypeP(result)), sizeof(m));
	else if (regression_eval_result(result, a->target, m, &rows, &pred_json, &target_json))
		mlsys_baseline_result(a, &baseline, 2, rows, pred_json, target_json, r);
	else
		elog(ERROR, "holdout evaluation returned no rows");
	initStringInfo(&buf);
	appendStringInfoString(&buf, "{\"rmse\": ");
	mlsys_append_json_number(&buf, m[1]);
	appendStringInfoString(&buf, ", \"mae\": ");
	mlsys_append_json_number(&buf, m[2]);
	appendStringInfoString(&buf, ", \"r2\": ");
	mlsys_append_json_number(&buf, m[3]);
	appendStringInfoChar(&buf, '}');
	r->metrics = buf.data;
	r->params = model_serialize_linear(coef, nfeat);
}

/*
 * Cross-validate: one GROUP BY pass gives every fold's statistics, the model
 * of fold k is solved from every other fold, and a second pass scores each
 * row by the model of its fold (SPI connected; rows go to store).
 */
static void
linear_cross_validate(TrainArgs *a, int folds, Tuplestorestate *store, TupleDesc tupdesc)
{
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
	MemoryContext cxt = CurrentMemoryContext;

	spec = mlsys_training_spec(a, &xsql, &ysql);
	nfeat = spec->nfeat;
	tsql = psprintf("%s IS NOT NULL", quote_identifier(a->target));

	/* pass 1: one state per fold */
	states = mlsys_fold_states(a, spec, &xsql, ysql, folds, false, NULL, 0, 0, NULL);
	MemoryContextSwitchTo(cxt);

	/* the model of fold k learns from every other fold */
	coefs = palloc(sizeof(double) * (Size) folds * (nfeat + 1));
	for (k = 0; k < folds; k++)
	{
		LinregState *merged = mlsys_merge_other_folds(states, folds, k);

		CHECK_FOR_INTERRUPTS();
		if (mlsys_spec_has_categorical(spec))
			linreg_solve_min_norm(merged, a->alpha, coefs + (Size) k * (nfeat + 1),
					 (const char *const *) spec->names);
		else
			linreg_solve(merged, a->alpha, coefs + (Size) k * (nfeat + 1),
					 (const char *const *) spec->names);
		pfree(merged);
	}

	/* pass 2: each row scored by the model of its fold */
	sql = psprintf("SELECT mlsys._fold(s.y, s.x, $1, $2), "
				   "mlsys.rmse(mlsys._predict_fold($3, $1, $2, s.y, s.x), s.y), "
				   "mlsys.mae(mlsys._predict_fold($3, $1, $2, s.y, s.x), s.y), "
				   "mlsys.r2(mlsys._predict_fold($3, $1, $2, s.y, s.x), s.y) "
				   "FROM (SELECT %s AS y, %s AS x FROM %s WHERE %s) s GROUP BY 1 ORDER BY 1",
				   ysql, xsql, a->relsql, tsql);
	args[0] = Int64GetDatum((int64) a->seed);
	args[1] = Int32GetDatum(folds);
	args[2] = PointerGetDatum(mlsys_float8_array(coefs, folds * (nfeat + 1)));
	grouping = mlsys_fold_grouping_begin();
	if (SPI_execute_with_args(sql, 3, types2, args, NULL, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "SPI_execute failed: %s", sql);
	mlsys_fold_grouping_end(grouping);

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
}

/* "alpha" for ridge; the preprocessing keys are the toolkit's */
static bool
linear_hyperparam(TrainArgs *a, const char *key, JsonbValue *v)
{
	if (strcmp(a->algorithm, "ridge") != 0 || strcmp(key, "alpha") != 0)
		return false;
	a->alpha = mlsys_hyperparam_number(v, key);
	if (!(a->alpha >= 0.0) || isinf(a->alpha))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("hyperparameter \"alpha\" must be a finite number greater than or equal to 0")));
	return true;
}

/* defaults (ridge: alpha 1), the keys, and the normalized JSON */
static void
linear_parse_hyperparams(TrainArgs *a)
{
	bool		is_ridge = strcmp(a->algorithm, "ridge") == 0;
	StringInfoData buf;

	a->alpha = is_ridge ? 1.0 : 0.0;
	mlsys_parse_hyperparams(a, linear_hyperparam, false,
							is_ridge ? "Algorithm \"ridge\" takes \"alpha\", \"impute\" and \"scale\"."
							: "Algorithm \"linear\" takes \"impute\" and \"scale\".");
	initStringInfo(&buf);
	appendStringInfoChar(&buf, '{');
	if (is_ridge)
	{
		appendStringInfoString(&buf, "\"alpha\": ");
		mlsys_append_json_number(&buf, a->alpha);
	}
	mlsys_append_preprocessing_params(a, &buf);
	appendStringInfoChar(&buf, '}');
	a->hyperparams = buf.data;
}

/* linear and ridge versions are regressions */
static const char *
linear_task_problem(const char *algorithm, const char *task)
{
	if (strcmp(task, "regression") != 0)
		return psprintf("must be \"regression\" for algorithm \"%s\"", algorithm);
	return NULL;
}

static bool
linear_supports(MlTask task)
{
	return task == MLSYS_TASK_REGRESSION;
}

/* verify and parse a linear-predictor blob (the cache checks its kind) */
static void
linear_load(bytea *blob, LoadedModel *out)
{
	LinearModel *lm = model_deserialize_linear(blob);

	out->kind = lm->kind;
	out->nfeat = lm->nfeat;
	out->model = lm;
}

/* intercept + coef · x */
static double
linear_predict(const LoadedModel *m, const double *x)
{
	const LinearModel *lm = (const LinearModel *) m->model;

	return lm->intercept + mlsys_dot(lm->coef, x, lm->nfeat);
}

/*
 * mlsys.explain: coef_j (x_j − mean_j) per feature, and the bias that holds
 * the prediction at the training mean (0 without a profile): the terms add
 * up to the prediction.
 */
static void
linear_explain(const LoadedModel *m, const double *x, const double *mean, double *contrib)
{
	const LinearModel *lm = (const LinearModel *) m->model;
	double		bias = lm->intercept;
	int			j;

	for (j = 0; j < lm->nfeat; j++)
	{
		double		mu = mean != NULL ? mean[j] : 0.0;

		contrib[j] = lm->coef[j] * (x[j] - mu);
		bias += lm->coef[j] * mu;
	}
	contrib[lm->nfeat] = bias;
}

/* the intercept (j = -1) or the weight of feature j */
static bool
linear_feature_weight(const LoadedModel *m, int k, int j, double *value)
{
	const LinearModel *lm = (const LinearModel *) m->model;

	if (k != 0)
		return false;
	*value = j < 0 ? lm->intercept : lm->coef[j];
	return true;
}

static const char *const linear_algorithms[] = {"linear", "ridge", NULL};

const ModelFamily linear_family = {
	.name = "linear",
	.algorithms = linear_algorithms,
	.kinds = (const int[]) {MODEL_LINEAR, 0},
	.supports = linear_supports,
	.task_problem = linear_task_problem,
	.parse_hyperparams = linear_parse_hyperparams,
	.memory_estimate = mlsys_stats_memory_estimate,
	.train = train_linear,
	.cross_validate = linear_cross_validate,
	.load = linear_load,
	.predict = linear_predict,
	.explain = linear_explain,
	.feature_weight = linear_feature_weight,
	.export_params = linear_export_params,
	.import_params = linear_import_params,
};
