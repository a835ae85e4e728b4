/*
 * train.c — mlsys.train(): arguments and hyperparameters, the training flow
 * for linear models, and the registration of every trained version (the
 * classifier flow is in classify.c). Also the helpers cv.c shares.
 *
 * Linear models:
 *   resolve the relation (as the caller, with the caller's privileges)
 *   → feature spec from the catalog → pass 1: mlsys._linreg_split_agg over the
 *   relation (training split accumulated, holdout counted, data fingerprint
 *   summed; parallel query may split it) → solve → pass 2:
 *   mlsys._regression_holdout scores the holdout → serialize → register the
 *   version and, per the deploy policy, a deployment.
 *
 * Everything runs in the caller's transaction: an error or a cancel
 * (statement_timeout, pg_cancel_backend) leaves nothing behind. Both passes
 * are plain SPI queries with no row limit, so the planner may run them with
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
#include "utils/builtins.h"
#include "utils/float.h"
#include "common/shortest_dec.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/resowner.h"
#include "utils/timestamp.h"

#include "mlsys.h"

/* error context: which model and relation were being trained */
static void
train_error_context(void *arg)
{
	TrainArgs  *a = (TrainArgs *) arg;

	errcontext("training model \"%s\" on relation %s", a->model,
			   a->relsql ? a->relsql : "?");
}

/* a text argument that must not be null */
char *
mlsys_text_arg(FunctionCallInfo fcinfo, int argno, const char *what)
{
	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s must not be null", what)));
	return text_to_cstring(PG_GETARG_TEXT_PP(argno));
}

/* shortest exact text form of a finite float8, as JSON wants it (null otherwise) */
void
mlsys_append_json_number(StringInfo buf, double v)
{
	if (isfinite(v))
	{
		/* the shortest text that reads back as v, whatever extra_float_digits says */
		char		text[DOUBLE_SHORTEST_DECIMAL_LEN];

		double_to_shortest_decimal_buf(v, text);
		appendStringInfoString(buf, text);
	}
	else
		appendStringInfoString(buf, "null");
}

/* a JSON number hyperparameter as float8 */
static double
hyperparam_number(JsonbValue *v, const char *key)
{
	if (v->type != jbvNumeric)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("hyperparameter \"%s\" must be a number", key)));
	return DatumGetFloat8(DirectFunctionCall1(numeric_float8, NumericGetDatum(v->val.numeric)));
}

/*
 * Validate the hyperparameters for the algorithm (unknown names are errors)
 * and set them in a, with defaults; the normalized JSON is built for the
 * linear models here, and after fitting for logistic (whose default alpha
 * depends on the training rows).
 */
static void
parse_hyperparams(TrainArgs *a)
{
	JsonbIterator *it;
	JsonbValue	v;
	JsonbIteratorToken tok;
	bool		is_ridge = strcmp(a->algorithm, "ridge") == 0;
	bool		is_logistic = strcmp(a->algorithm, "logistic") == 0;
	StringInfoData buf;

	a->alpha = is_ridge ? 1.0 : is_logistic ? -1.0 : 0.0;	/* logistic: 1 / n_train */
	a->max_iter = 100;
	a->tol = 1e-6;
	a->balanced = false;
	a->threshold = 0.5;
	a->positive_class = NULL;
	a->impute = "mean";
	a->impute_given = false;
	a->scale = true;
	a->scale_given = false;
	if (!JB_ROOT_IS_OBJECT(a->hp))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("hyperparams must be a JSON object")));
	it = JsonbIteratorInit(&a->hp->root);
	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		char	   *key;

		if (tok != WJB_KEY)
			continue;
		key = pnstrdup(v.val.string.val, v.val.string.len);
		tok = JsonbIteratorNext(&it, &v, true);
		if (strcmp(key, "impute") == 0)
		{
			char	   *m = v.type == jbvString ? pnstrdup(v.val.string.val, v.val.string.len) : "";

			if (strcmp(m, "mean") != 0 && strcmp(m, "median") != 0 &&
				strcmp(m, "zero") != 0 && strcmp(m, "error") != 0)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("hyperparameter \"impute\" must be \"mean\", \"median\", \"zero\" or \"error\"")));
			a->impute = m;
			a->impute_given = true;
		}
		else if (strcmp(key, "scale") == 0)
		{
			char	   *m = v.type == jbvString ? pnstrdup(v.val.string.val, v.val.string.len) : "";

			if (strcmp(m, "standard") != 0 && strcmp(m, "none") != 0)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("hyperparameter \"scale\" must be \"standard\" or \"none\"")));
			if (!is_logistic && strcmp(m, "standard") == 0)
				ereport(ERROR,
						(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
						 errmsg("\"scale\": \"standard\" is available for algorithm \"logistic\" only"),
						 errdetail("Least squares without a penalty gives the same predictions either way.")));
			a->scale = strcmp(m, "standard") == 0;
			a->scale_given = true;
		}
		else if ((is_ridge || is_logistic) && strcmp(key, "alpha") == 0)
		{
			a->alpha = hyperparam_number(&v, key);
			if (!(is_logistic ? a->alpha > 0.0 : a->alpha >= 0.0) || isinf(a->alpha))
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("hyperparameter \"alpha\" must be a finite number greater than %s0",
								is_logistic ? "" : "or equal to ")));
		}
		else if (is_logistic && strcmp(key, "max_iter") == 0)
		{
			double		n = hyperparam_number(&v, key);

			if (!(n >= 1 && n <= 10000) || n != floor(n))
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("hyperparameter \"max_iter\" must be a whole number from 1 to 10000")));
			a->max_iter = (int) n;
		}
		else if (is_logistic && strcmp(key, "tol") == 0)
		{
			a->tol = hyperparam_number(&v, key);
			if (!(a->tol > 0) || isinf(a->tol))
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("hyperparameter \"tol\" must be a positive number")));
		}
		else if (is_logistic && strcmp(key, "threshold") == 0)
		{
			a->threshold = hyperparam_number(&v, key);
			if (!(a->threshold > 0 && a->threshold < 1))
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("hyperparameter \"threshold\" must be between 0 and 1")));
		}
		else if (is_logistic && strcmp(key, "class_weight") == 0)
		{
			if (v.type == jbvNull)
				a->balanced = false;
			else if (v.type == jbvString && v.val.string.len == 8 &&
					 strncmp(v.val.string.val, "balanced", 8) == 0)
				a->balanced = true;
			else
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("hyperparameter \"class_weight\" must be \"balanced\" or null")));
		}
		else if (is_logistic && strcmp(key, "positive_class") == 0)
		{
			if (v.type == jbvString)
				a->positive_class = pnstrdup(v.val.string.val, v.val.string.len);
			else if (v.type == jbvNumeric)
				a->positive_class = DatumGetCString(DirectFunctionCall1(numeric_out,
																		NumericGetDatum(v.val.numeric)));
			else if (v.type == jbvBool)
				a->positive_class = v.val.boolean ? "true" : "false";
			else
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("hyperparameter \"positive_class\" must be a class label")));
		}
		else
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("unrecognized hyperparameter \"%s\" for algorithm \"%s\"",
							key, a->algorithm),
					 is_ridge ? errhint("Algorithm \"ridge\" takes \"alpha\", \"impute\" and \"scale\".")
					 : is_logistic ? errhint("Algorithm \"logistic\" takes \"alpha\", \"max_iter\", \"tol\", \"class_weight\", \"threshold\", \"positive_class\", \"impute\" and \"scale\".")
					 : errhint("Algorithm \"linear\" takes \"impute\" and \"scale\".")));
	}
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

/* the preprocessing hyperparameters given, for the stored hyperparams object */
void
mlsys_append_preprocessing_params(const TrainArgs *a, StringInfo buf)
{
	if (a->impute_given)
		appendStringInfo(buf, "%s\"impute\": \"%s\"", buf->len > 1 ? ", " : "", a->impute);
	if (a->scale_given)
		appendStringInfo(buf, "%s\"scale\": \"%s\"", buf->len > 1 ? ", " : "",
						 a->scale ? "standard" : "none");
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
	a->classification = strcmp(a->algorithm, "logistic") == 0;
	parse_hyperparams(a);
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
	if (a->algorithm != NULL && strcmp(a->algorithm, "linear") != 0 &&
		strcmp(a->algorithm, "ridge") != 0 && strcmp(a->algorithm, "logistic") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("unrecognized algorithm \"%s\"", a->algorithm),
				 errhint("Supported algorithms are \"linear\", \"ridge\" and \"logistic\".")));
	if (a->algorithm == NULL && is_label_type(ttype))
		a->algorithm = "logistic";
	else if (a->algorithm == NULL && !is_integer_type(ttype))
		a->algorithm = "linear";
	/* an integer target with algorithm NULL is settled by mlsys_resolve_algorithm */
	if (a->algorithm != NULL && strcmp(a->algorithm, "logistic") == 0)
	{
		if (!is_label_type(ttype) && !is_integer_type(ttype))
			ereport(ERROR,
					(errcode(ERRCODE_DATATYPE_MISMATCH),
					 errmsg("target column \"%s\" has type %s, but classification needs labels",
							a->target, format_type_be(ttype)),
					 errhint("Algorithm \"logistic\" needs a boolean, text, enum or integer target.")));
	}
	else if (a->algorithm != NULL &&
			 ttype != INT2OID && ttype != INT4OID && ttype != INT8OID &&
			 ttype != FLOAT4OID && ttype != FLOAT8OID && ttype != NUMERICOID)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("target column \"%s\" has type %s, but regression needs a numeric target",
						a->target, format_type_be(ttype)),
				 errhint("Algorithms \"linear\" and \"ridge\" need an int2, int4, int8, float4, float8 or numeric target.")));
	a->hp = PG_ARGISNULL(first + 4) ? DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum("{}")))
		: PG_GETARG_JSONB_P(first + 4);
	/* validate what can be validated before touching the data */
	if (a->algorithm != NULL)
		parse_hyperparams(a);
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
 * The feature spec of a training relation, with the SQL expressions of a
 * row's feature vector and target (SPI connected).
 */
FeatureSpec *
mlsys_training_spec(const TrainArgs *a, char **xsql, char **ysql)
{
	FeatureSpec *spec = features_from_catalog(a->relid, a->target, a->features);

	spec->impute = a->impute;
	features_resolve_lengths(spec, a->relsql, a->target);
	/* a pass's state, a merged copy and the solver's matrix: (p + 1)² doubles each */
	mlsys_check_training_memory(3.0 * (spec->nfeat + 1.0) * (spec->nfeat + 1.0) * sizeof(double) *
								(a->model == NULL ? 2.0 : 1.0), "training");
	*xsql = features_sql_vector(spec);
	*ysql = psprintf("(%s)::pg_catalog.float8", quote_identifier(a->target));
	return spec;
}

/* does the spec one-hot encode a column? (then least squares is rank-deficient) */
bool
mlsys_spec_has_categorical(const FeatureSpec *spec)
{
	int			i;

	for (i = 0; i < spec->ncolumns; i++)
		if (spec->columns[i].categorical)
			return true;
	return false;
}

/* could a missing value in the training data still be imputed? */
static bool
spec_can_impute(const FeatureSpec *spec)
{
	int			i;

	if (strcmp(spec->impute, "error") == 0)
		return false;
	for (i = 0; i < spec->ncolumns; i++)
		if (!spec->columns[i].categorical && spec->columns[i].length == 0 &&
			!spec->columns[i].has_impute)
			return true;
	return false;
}

/*
 * Run the first pass of a training (SPI connected; the result stays in
 * SPI_tuptable). The feature vector expression imputes nothing until the data
 * shows a missing value: a NULL or NaN in a scalar numeric feature then stops
 * the pass with ERRCODE_NULL_VALUE_NOT_ALLOWED, which is caught here (the
 * pass runs in a subtransaction) unless the spec cannot impute. Returns false
 * when it was caught: the caller computes the imputed values with
 * mlsys_impute_and_rebuild and runs the pass again. Clean data (the common
 * case) thus costs no extra pass.
 */
bool
mlsys_try_first_pass(const FeatureSpec *spec, const char *sql, int nargs, Oid *types, Datum *values)
{
	MemoryContext cxt = CurrentMemoryContext;
	ResourceOwner owner = CurrentResourceOwner;
	volatile bool ok = true;

	if (!spec_can_impute(spec))
	{
		if (SPI_execute_with_args(sql, nargs, types, values, NULL, true, 0) != SPI_OK_SELECT)
			elog(ERROR, "SPI_execute failed: %s", sql);
		return true;
	}
	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(cxt);
	PG_TRY();
	{
		if (SPI_execute_with_args(sql, nargs, types, values, NULL, true, 0) != SPI_OK_SELECT)
			elog(ERROR, "SPI_execute failed: %s", sql);
		ReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(cxt);
		CurrentResourceOwner = owner;
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(cxt);
		edata = CopyErrorData();
		FlushErrorState();
		/* an internal subtransaction must be closed before anything else */
		RollbackAndReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(cxt);
		CurrentResourceOwner = owner;
		if (edata->sqlerrcode != ERRCODE_NULL_VALUE_NOT_ALLOWED)
			ReThrowError(edata);
		FreeErrorData(edata);
		ok = false;
	}
	PG_END_TRY();
	return ok;
}

/* the data has missing values: compute the imputed values, rebuild the vector expression */
void
mlsys_impute_and_rebuild(const TrainArgs *a, FeatureSpec *spec, char **xsql)
{
	preprocess_impute_from_data(spec, a->relsql, a->target);
	*xsql = features_sql_vector(spec);
}

/* after a first pass over clean data: imputed values for scoring from its means */
void
mlsys_impute_for_scoring(const TrainArgs *a, FeatureSpec *spec, LinregState *s)
{
	double	   *means = palloc(sizeof(double) * spec->nfeat);
	double		sd,
				mn,
				mx;
	int			j;

	for (j = 0; j < spec->nfeat; j++)
		linreg_state_column_stats(s, j, &means[j], &sd, &mn, &mx);
	preprocess_impute_from_means(spec, means, a->relsql, a->target);
}

/* a text[] datum of C strings */
Datum
mlsys_cstring_array(char **items, int n)
{
	Datum	   *d = palloc(sizeof(Datum) * Max(n, 1));
	int			i;

	for (i = 0; i < n; i++)
		d[i] = CStringGetTextDatum(items[i]);
	return PointerGetDatum(construct_array(d, n, TEXTOID, -1, false, TYPALIGN_INT));
}

/* the training-split profile: per-feature and target summary statistics */
char *
mlsys_build_profile(LinregState *s, const FeatureSpec *spec)
{
	StringInfoData buf;
	int			j;

	initStringInfo(&buf);
	appendStringInfo(&buf, "{\"rows\": " INT64_FORMAT ", \"features\": [", linreg_state_rows(s));
	for (j = 0; j <= spec->nfeat; j++)
	{
		double		mean,
					sd,
					mn,
					mx;

		linreg_state_column_stats(s, j, &mean, &sd, &mn, &mx);
		if (j == spec->nfeat)
			appendStringInfoString(&buf, "], \"target\": {");
		else
		{
			if (j > 0)
				appendStringInfoString(&buf, ", ");
			appendStringInfoString(&buf, "{\"name\": ");
			escape_json(&buf, spec->names[j]);
			appendStringInfoString(&buf, ", ");
		}
		appendStringInfoString(&buf, "\"mean\": ");
		mlsys_append_json_number(&buf, mean);
		appendStringInfoString(&buf, ", \"std\": ");
		mlsys_append_json_number(&buf, sd);
		appendStringInfoString(&buf, ", \"min\": ");
		mlsys_append_json_number(&buf, mn);
		appendStringInfoString(&buf, ", \"max\": ");
		mlsys_append_json_number(&buf, mx);
		appendStringInfoChar(&buf, '}');
	}
	appendStringInfoChar(&buf, '}');
	return buf.data;
}

/* run a one-row, one-column read-only query (SPI connected) */
bool
mlsys_spi_single_value(const char *sql, int nargs, Oid *types, Datum *values, Datum *result)
{
	bool		isnull;
	int			rc;

	rc = SPI_execute_with_args(sql, nargs, types, values, NULL, true, 0);
	if (rc != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "training query returned %d rows, expected 1", (int) SPI_processed);
	*result = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	return !isnull;
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
	rv[15] = CStringGetTextDatum(psprintf("%016" INT64_MODIFIER "x",
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
	 * The drift baseline of feature-based models (src/baseline.c): one more
	 * pass over the relation. Recommenders have no feature columns to watch.
	 */
	rtypes[1] = INT4OID;
	rv[1] = r->version;
	if (mlsys_capture_baseline_on_train && strncmp(r->task, "recommender", 11) != 0 &&
		SPI_execute_with_args("SELECT mlsys.capture_baseline($1, $2)", 2, rtypes, rv, NULL,
							  false, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not capture the drift baseline");
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
	double	   *m;
	StringInfoData buf;
	MemoryContext cxt = CurrentMemoryContext;
	int			nfeat;

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
				 errmsg("relation %s has no rows with a non-null target to train on", a->relsql)));
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

	/* pass 2: metrics on the holdout (on the training rows when test_size is 0) */
	sql = psprintf("SELECT mlsys._regression_holdout(%s, %s, $1, $2, $3) FROM %s",
				   ysql, xsql, a->relsql);
	args[2] = PointerGetDatum(mlsys_float8_array(coef, nfeat + 1));
	if (!mlsys_spi_single_value(sql, 3, types2, args, &result))
		elog(ERROR, "holdout evaluation returned no rows");
	MemoryContextSwitchTo(cxt);
	m = (double *) ARR_DATA_PTR(DatumGetArrayTypeP(result));
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

/* errors for an empty training or holdout split */
void
mlsys_check_split(const TrainArgs *a, int64 seen, int64 train_rows, int64 holdout)
{
	if (train_rows == 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("the training split is empty"),
				 errdetail("All " INT64_FORMAT " rows fell into the holdout.", seen),
				 errhint("Use more rows or a smaller test_size.")));
	if (a->test_size > 0 && holdout == 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("the holdout split is empty"),
				 errdetail("None of the " INT64_FORMAT " rows fell into the holdout for test_size %g.",
						   seen, a->test_size),
				 errhint("Use more rows, a larger test_size, or test_size 0 to report training metrics.")));
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
	if (a.classification)
		train_classifier(&a, &r);
	else
		train_linear(&a, &r);
	mlsys_finish_training(fcinfo, &a, &r, oldcxt);
	error_context_stack = errcb.previous;
	MemoryContextDelete(fitcxt);
	return (Datum) 0;
}
