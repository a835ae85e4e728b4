/*
 * train.c — the training driver of mlsys.train(): read and check the
 * arguments (as the caller, with the caller's privileges), settle the
 * algorithm, hand the training to its family (family->train runs the
 * family's passes, fit and evaluation), then register the version and, per
 * the deploy policy, a deployment. Also the argument helpers cv.c shares.
 *
 * Everything runs in the caller's transaction: an error or a cancel
 * (statement_timeout, pg_cancel_backend) leaves nothing behind. Passes are
 * plain SPI queries with no row limit, so the planner may run them with
 * parallel workers.
 */
#include "postgres.h"

#include <math.h>

#include "access/htup_details.h"
#include "access/xact.h"
#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "nodes/value.h"
#include "parser/parse_func.h"
#include "utils/builtins.h"
#include "utils/float.h"
#include "common/shortest_dec.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/resowner.h"
#include "utils/timestamp.h"

#include "train/train.h"

/* error context: which model and relation were being trained */
static void
train_error_context(void *arg)
{
	TrainArgs  *a = (TrainArgs *) arg;

	errcontext("training model \"%s\" on relation \"%s\"", a->model,
			   a->relname ? a->relname : "?");
}


static bool
is_integer_type(Oid t)
{
	return t == INT2OID || t == INT4OID || t == INT8OID;
}

static bool
is_label_type(Oid t)
{
	return t == BOOLOID || t == TEXTOID || t == VARCHAROID || t == BPCHAROID ||
		get_typtype(t) == TYPTYPE_ENUM;
}

/* the family of a's algorithm; its hyperparameters parsed */
static void
mlsys_set_family(TrainArgs *a)
{
	a->family = mlsys_family_by_algorithm(a->algorithm);
	Assert(a->family != NULL);
	/* boosted trees settle it when training starts (mlsys_target_has_classes) */
	a->classification = a->task != NULL ? strcmp(a->task, "regression") != 0
		: !a->family->supports(MLSYS_TASK_REGRESSION);
	a->family->parse_hyperparams(a);
}

/*
 * Settle the algorithm when it was left NULL on an integer target (at most 20
 * distinct values in the relation: logistic, else linear), then parse the
 * hyperparameters. SPI must be connected.
 */
void
mlsys_resolve_algorithm(TrainArgs *a)
{
	if (a->algorithm == NULL)
	{
		Datum		d;
		char	   *sql = psprintf("SELECT count(*) FROM (SELECT DISTINCT %s FROM %s WHERE %s IS NOT NULL LIMIT 21) s",
								   quote_identifier(a->target), a->relsql, quote_identifier(a->target));

		if (!mlsys_spi_single_value(sql, 0, NULL, NULL, &d))
			elog(ERROR, "could not count the distinct target values");
		a->algorithm = DatumGetInt64(d) <= 20 ? "logistic" : "linear";
	}
	mlsys_set_family(a);
}

/*
 * Read and validate the arguments that say what to learn from, shared by
 * mlsys.train and mlsys.cross_validate: relation, target, features,
 * algorithm and hyperparams, at argument numbers first .. first + 4.
 */
void
mlsys_training_source_args(FunctionCallInfo fcinfo, TrainArgs *a, int first)
{
	char		relkind;
	AttrNumber	attnum;
	Oid			ttype;
	const ModelFamily *family;

	if (PG_ARGISNULL(first))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("relation must not be null")));
	a->relid = PG_GETARG_OID(first);
	relkind = get_rel_relkind(a->relid);
	if (relkind == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("relation with OID %u does not exist", a->relid)));
	if (relkind != RELKIND_RELATION && relkind != RELKIND_VIEW &&
		relkind != RELKIND_MATVIEW && relkind != RELKIND_FOREIGN_TABLE &&
		relkind != RELKIND_PARTITIONED_TABLE)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("\"%s\" is not a table, view or materialized view",
						get_rel_name(a->relid))));
	a->relsql = quote_qualified_identifier(get_namespace_name(get_rel_namespace(a->relid)),
										   get_rel_name(a->relid));
	a->relname = mlsys_relation_name(a->relid);
	a->target = mlsys_text_arg(fcinfo, first + 1, "target");
	attnum = get_attnum(a->relid, a->target);
	if (attnum == InvalidAttrNumber || attnum < 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_COLUMN),
				 errmsg("column \"%s\" of relation \"%s\" does not exist",
						a->target, get_rel_name(a->relid))));
	ttype = getBaseType(get_atttype(a->relid, attnum));
	a->target_type = ttype;
	a->features = PG_ARGISNULL(first + 2) ? NULL : PG_GETARG_ARRAYTYPE_P(first + 2);

	a->algorithm = PG_ARGISNULL(first + 3) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(first + 3));
	family = a->algorithm ? mlsys_family_by_algorithm(a->algorithm) : NULL;
	if (a->algorithm != NULL && (family == NULL || family->train == NULL))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("unrecognized algorithm \"%s\"", a->algorithm),
				 errhint("Supported algorithms are %s.", mlsys_algorithm_list())));
	a->hp = PG_ARGISNULL(first + 4) ? DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum("{}")))
		: PG_GETARG_JSONB_P(first + 4);
	a->task = mlsys_task_hyperparam(a->hp);
	if (a->task != NULL && family != NULL && family->task_problem(a->algorithm, a->task) != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("hyperparameter \"task\" %s", family->task_problem(a->algorithm, a->task))));
	if (a->algorithm == NULL && a->task != NULL)
		a->algorithm = strcmp(a->task, "regression") == 0 ? "linear" : "logistic";
	else if (a->algorithm == NULL && is_label_type(ttype))
		a->algorithm = "logistic";
	else if (a->algorithm == NULL && !is_integer_type(ttype))
		a->algorithm = "linear";
	/* an integer target with algorithm NULL is settled by mlsys_resolve_algorithm */
	family = a->algorithm ? mlsys_family_by_algorithm(a->algorithm) : NULL;
	if (family != NULL && (a->task != NULL ? strcmp(a->task, "regression") != 0
						   : !family->supports(MLSYS_TASK_REGRESSION) ||
						   (family->supports(MLSYS_TASK_BINARY) && is_label_type(ttype))))
	{
		if (!is_label_type(ttype) && !is_integer_type(ttype))
			ereport(ERROR,
					(errcode(ERRCODE_DATATYPE_MISMATCH),
					 errmsg("target column \"%s\" has type %s, but classification needs labels",
							a->target, format_type_be(ttype)),
					 a->task != NULL ? errhint("Task \"%s\" needs a boolean, text, enum or integer target.", a->task)
					 : errhint("Algorithm \"%s\" needs a boolean, text, enum or integer target.", a->algorithm)));
	}
	else if (family != NULL &&
			 ttype != INT2OID && ttype != INT4OID && ttype != INT8OID &&
			 ttype != FLOAT4OID && ttype != FLOAT8OID && ttype != NUMERICOID)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("target column \"%s\" has type %s, but regression needs a numeric target",
						a->target, format_type_be(ttype)),
				 strcmp(family->name, "linear") == 0 ? errhint("Algorithms \"linear\" and \"ridge\" need an int2, int4, int8, float4, float8 or numeric target.")
				 : errhint("Regression needs an int2, int4, int8, float4, float8 or numeric target.")));
	/* validate what can be validated before touching the data */
	if (a->algorithm != NULL)
		mlsys_set_family(a);
}

/* read and validate every argument of mlsys.train */
static void
train_args(FunctionCallInfo fcinfo, TrainArgs *a)
{
	memset(a, 0, sizeof(*a));
	a->model = mlsys_text_arg(fcinfo, 0, "model name");
	if (a->model[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("model name must not be empty")));
	if (strlen(a->model) >= NAMEDATALEN)
		ereport(ERROR,
				(errcode(ERRCODE_NAME_TOO_LONG),
				 errmsg("model name \"%s\" is too long", a->model),
				 errdetail("Model names are limited to %d bytes.", NAMEDATALEN - 1)));
	mlsys_training_source_args(fcinfo, a, 1);
	if (PG_ARGISNULL(6))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("test_size must not be null")));
	a->test_size = PG_GETARG_FLOAT8(6);
	if (!(a->test_size >= 0.0 && a->test_size < 1.0))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("test_size must be at least 0 and less than 1, not %g", a->test_size)));
	if (PG_ARGISNULL(7))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("seed must not be null")));
	a->seed = PG_GETARG_INT32(7);
	a->deploy = mlsys_text_arg(fcinfo, 8, "deploy");
	if (strcmp(a->deploy, "best_score") != 0 && strcmp(a->deploy, "most_recent") != 0 &&
		strcmp(a->deploy, "never") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("unrecognized deploy policy \"%s\"", a->deploy),
				 errhint("Use \"best_score\", \"most_recent\" or \"never\".")));
}

/*
 * Register a trained version (and, per the deploy policy, a deployment) and
 * set r->version and r->deployed. SPI must be connected.
 */
void
mlsys_register_version(TrainArgs *a, TrainResult *r)
{
	Oid			rtypes[21] = {TEXTOID, TEXTOID, TEXTOID, JSONBOID, TEXTOID, TEXTOID,
		TEXTARRAYOID, INT4ARRAYOID, TEXTARRAYOID, FLOAT8OID, INT4OID, JSONBOID,
		INT8OID, INT8OID, FLOAT8OID, TEXTOID, BYTEAOID, JSONBOID, TEXTOID,
	TEXTARRAYOID, TEXTOID};
	Datum		rv[21];
	char		rnulls[21];
	const FeatureSpec *spec = r->spec;
	char	  **colnames = palloc(sizeof(char *) * spec->ncolumns);
	Datum	   *lens = palloc(sizeof(Datum) * spec->ncolumns);
	bool		isnull;
	long		secs;
	int			usecs;
	int			i;

	if (a->test_size == 0 && strcmp(a->deploy, "best_score") == 0)
		ereport(NOTICE,
				(errmsg("test_size is 0, so there is no holdout to compare with the live version"),
				 errdetail("deploy => 'best_score' deploys the new version as 'most_recent' would.")));
	for (i = 0; i < spec->ncolumns; i++)
	{
		colnames[i] = spec->columns[i].name;
		lens[i] = Int32GetDatum(spec->columns[i].length);
	}
	memset(rnulls, ' ', sizeof(rnulls));
	TimestampDifference(r->started, GetCurrentTimestamp(), &secs, &usecs);
	rv[0] = CStringGetTextDatum(a->model);
	rv[1] = CStringGetTextDatum(r->task);
	rv[2] = CStringGetTextDatum(a->algorithm);
	rv[3] = DirectFunctionCall1(jsonb_in, CStringGetDatum(a->hyperparams));
	rv[4] = CStringGetTextDatum(a->relsql);
	rv[5] = CStringGetTextDatum(a->target);
	rv[6] = mlsys_cstring_array(colnames, spec->ncolumns);
	rv[7] = PointerGetDatum(construct_array(lens, spec->ncolumns, INT4OID, 4, true, TYPALIGN_INT));
	rv[8] = mlsys_cstring_array(spec->names, spec->nfeat);
	rv[9] = Float8GetDatum(a->test_size);
	rv[10] = Int32GetDatum(a->seed);
	rv[11] = DirectFunctionCall1(jsonb_in, CStringGetDatum(r->metrics));
	rv[12] = Int64GetDatum(r->train_rows);
	rv[13] = Int64GetDatum(r->test_rows);
	rv[14] = Float8GetDatum(secs + usecs / 1e6);
	rv[15] = CStringGetTextDatum(psprintf("%016" PRIx64,
										  mlsys_mix64(r->fingerprint ^ (uint64) (r->train_rows + r->test_rows))));
	rv[16] = PointerGetDatum(r->params);
	rv[17] = DirectFunctionCall1(jsonb_in, CStringGetDatum(r->profile));
	rv[18] = CStringGetTextDatum(a->deploy);
	if (r->classes != NULL)
		rv[19] = mlsys_cstring_array(r->classes, r->nclasses);
	else
	{
		rv[19] = (Datum) 0;
		rnulls[19] = 'n';
	}
	rv[20] = CStringGetTextDatum(format_type_be(a->target_type));
	if (SPI_execute_with_args("SELECT r.o_version, r.o_deployed FROM mlsys._register_version("
							  "$1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, "
							  "$16, $17, $18, $19, $20, $21) r",
							  21, rtypes, rv, rnulls, false, 0) != SPI_OK_SELECT ||
		SPI_processed != 1)
		elog(ERROR, "could not register the model version");
	r->version = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	r->deployed = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull);
	if (spec->impute != NULL)
	{
		Oid			ptypes[3] = {TEXTOID, INT4OID, JSONBOID};
		Datum		pv[3];

		pv[0] = rv[0];
		pv[1] = r->version;
		pv[2] = DirectFunctionCall1(jsonb_in, CStringGetDatum(preprocess_json(spec)));
		if (SPI_execute_with_args("UPDATE mlsys.model_versions SET preprocessing = $3 "
								  "WHERE model = $1 AND version = $2",
								  3, ptypes, pv, NULL, false, 0) != SPI_OK_UPDATE ||
			SPI_processed != 1)
			elog(ERROR, "could not store the preprocessing of the model version");
	}
	/*
	 * The drift baseline: gathered by the family's evaluation pass when it
	 * could (r->baseline), else one more pass of mlsys.capture_baseline.
	 * Recommenders have no feature columns to watch.
	 */
	rtypes[1] = INT4OID;
	rv[1] = r->version;
	if (r->baseline != NULL)
	{
		rtypes[2] = JSONBOID;
		rv[2] = DirectFunctionCall1(jsonb_in, CStringGetDatum(r->baseline));
		if (SPI_execute_with_args("INSERT INTO mlsys.baselines AS b (model, version, profile) "
								  "VALUES ($1, $2, $3) ON CONFLICT ON CONSTRAINT baselines_pkey "
								  "DO UPDATE SET profile = EXCLUDED.profile, captured_at = pg_catalog.now()",
								  3, rtypes, rv, NULL, false, 0) != SPI_OK_INSERT)
			elog(ERROR, "could not store the drift baseline");
	}
	else if (mlsys_capture_baseline_on_train && strncmp(r->task, "recommender", 11) != 0 &&
			 SPI_execute_with_args("SELECT mlsys.capture_baseline($1, $2)", 2, rtypes, rv, NULL,
								   false, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not capture the drift baseline");
	mlsys_store_explain_sample(a, r);
	/* the holdout sample mlsys.report draws, when the installed SQL has it */
	if (strncmp(r->task, "recommender", 11) != 0 &&
		OidIsValid(LookupFuncName(list_make2(makeString("mlsys"), makeString("_capture_holdout_sample")),
								  2, rtypes, true)) &&
		SPI_execute_with_args("SELECT mlsys._capture_holdout_sample($1, $2)", 2, rtypes, rv, NULL,
							  false, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not keep the holdout sample");
	/* a recommender serving precomputed lists gets the new version's in this transaction */
	if (DatumGetBool(r->deployed) && strncmp(r->task, "recommender", 11) == 0 &&
		SPI_execute_with_args("SELECT mlsys._refresh_recommendations($1)", 1, rtypes, rv, NULL,
							  false, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not refresh the precomputed recommendations");
}

/*
 * The end of every training function (mlsys.train, mlsys.train_recommender):
 * register the version, leave SPI, switch back to the caller's context and
 * return the row (model, version, algorithm, metrics, deployed).
 */
void
mlsys_finish_training(FunctionCallInfo fcinfo, TrainArgs *a, TrainResult *r, MemoryContext caller)
{
	Datum		out[5];
	bool		outnull[5] = {false, false, false, false, false};

	mlsys_register_version(a, r);
	out[1] = r->version;
	out[4] = r->deployed;
	SPI_finish();
	MemoryContextSwitchTo(caller);
	out[0] = CStringGetTextDatum(a->model);
	out[2] = CStringGetTextDatum(a->algorithm);
	out[3] = DirectFunctionCall1(jsonb_in, CStringGetDatum(r->metrics));
	mlsys_return_one_row(fcinfo, out, outnull);
}

PG_FUNCTION_INFO_V1(train);
/*
 * mlsys.train(model, relation, target, features, algorithm, hyperparams,
 *             test_size, seed, deploy)
 *   RETURNS TABLE (model text, version int, algorithm text, metrics jsonb, deployed bool)
 */
Datum
train(PG_FUNCTION_ARGS)
{
	TrainArgs	a;
	TrainResult r;
	ErrorContextCallback errcb;
	MemoryContext fitcxt,
				oldcxt;

	memset(&r, 0, sizeof(r));
	r.started = GetCurrentTimestamp();
	train_args(fcinfo, &a);
	errcb.callback = train_error_context;
	errcb.arg = &a;
	errcb.previous = error_context_stack;
	error_context_stack = &errcb;

	fitcxt = AllocSetContextCreate(CurrentMemoryContext, "mlsys train", ALLOCSET_DEFAULT_SIZES);
	oldcxt = MemoryContextSwitchTo(fitcxt);
	SPI_connect();
	MemoryContextSwitchTo(fitcxt);
	mlsys_resolve_algorithm(&a);
	a.family->train(&a, &r);
	mlsys_finish_training(fcinfo, &a, &r, oldcxt);
	error_context_stack = errcb.previous;
	MemoryContextDelete(fitcxt);
	return (Datum) 0;
}
