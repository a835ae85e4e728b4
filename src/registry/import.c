/*
 * import.c — mlsys.import_model(): a model document (see registry.h, written
 * by export.c) validated and registered as a new model version.
 *
 * Import checks the whole document before anything is written: required
 * keys, JSON types, integers, lengths consistent with the feature and class
 * counts, and then the rebuilt blob and feature spec go through the same
 * checks as a stored version (the blob parsers, features.c), their failures reported
 * as errors in the document. Every problem is a class-22 error
 * (invalid_parameter_value, or numeric_value_out_of_range for a number no
 * float8 can hold), raised before the version is registered, so a rejected
 * document leaves nothing behind. Numbers are read back exactly: numeric →
 * float8 (float4 for a recommender's factors) of the shortest decimal
 * export.c wrote gives the identical value, so the parameter blob is rebuilt
 * byte for byte.
 *
 * An XGBoost JSON model (Booster.save_model) is imported too: the trees
 * family reads it (models/trees/xgboost_import.c) and the version is
 * registered as algorithm boosted_trees with what the model says — task,
 * features (scalar float8 columns named by feature_names, else f0, f1, ...),
 * classes 0 .. K − 1 of target type integer — and preprocessing
 * {"impute": "missing"} (a NULL feature is a missing value, routed as
 * XGBoost routes it). What it cannot say is empty: relation, target, data
 * fingerprint, metrics ({}), no profile, zero rows; the hyperparams record
 * the XGBoost version and objective.
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"
#include "utils/numeric.h"

#include "registry/registry.h"
#include "models/trees/trees.h"

/* ------------------------------------------------------------------------
 * Reading
 * ------------------------------------------------------------------------ */

/* obj.key as a jsonb object; *isnull when it is absent or null (and not required) */
static Datum
key_jsonb(JsonbContainer *obj, const char *path, const char *key, bool required, bool *isnull)
{
	JsonbValue *v = doc_get_key(obj, path, key, required);

	*isnull = v == NULL;
	if (v == NULL)
		return (Datum) 0;
	doc_as_container(v, true, doc_key_path(path, key), -1);
	return JsonbPGetDatum(JsonbValueToJsonb(v));
}

/* a text[] datum from a JSON array of strings */
static Datum
string_array(JsonbValue *v, const char *path, int *n, char ***items)
{
	JsonbContainer *c = doc_as_array(v, -1, path);
	int			i;

	*n = JsonContainerSize(c);
	*items = palloc(sizeof(char *) * Max(*n, 1));
	for (i = 0; i < *n; i++)
		(*items)[i] = doc_as_string(doc_elem(c, i), path, i);
	return mlsys_cstring_array(*items, *n);
}

/* what an import carries to the registry */
typedef struct ImportDoc
{
	char	   *task;
	char	   *algorithm;
	Datum		hyperparams;
	char	   *relation;
	char	   *target;
	Datum		feature_columns;
	Datum		feature_lengths;
	Datum		features;
	double		test_size;
	int32		seed;
	Datum		metrics;
	Datum		profile;
	bool		profile_null;
	Datum		preprocessing;
	bool		preprocessing_null;
	Datum		classes;
	bool		classes_null;
	char	   *target_type;
	int64		train_rows;
	int64		test_rows;
	double		training_seconds;
	char	   *fingerprint;
	char	   *extension_version;
	char	   *server_version;
	bytea	   *params;
	/* for the checks */
	int			ncolumns;
	char	  **column_names;
	int32	   *lengths;
	int			nfeat;
	char	  **names;
	int			nclasses;
	char	  **class_labels;
	JsonbContainer *prm;		/* the document's "parameters" */
	const ModelFamily *family;	/* the family of the algorithm */
	/* an XGBoost model */
	Jsonb	   *xgb_doc;
	XGBoostModel *xgb;
} ImportDoc;

/* run a check from the blob parsers or features.c; its corruption errors become document errors */
typedef void (*DocCheck) (ImportDoc *d);

static void
check_as_document(DocCheck fn, ImportDoc *d, const char *what)
{
	MemoryContext cxt = CurrentMemoryContext;

	PG_TRY();
	{
		fn(d);
	}
	PG_CATCH();
	{
		ErrorData  *ed;

		MemoryContextSwitchTo(cxt);
		ed = CopyErrorData();
		if (ed->sqlerrcode != ERRCODE_DATA_CORRUPTED)
			PG_RE_THROW();
		FlushErrorState();
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid model document: %s", what),
				 errdetail("%s", ed->detail ? ed->detail : ed->message)));
	}
	PG_END_TRY();
}

/* the feature spec the registry will rebuild from the columns, lengths and preprocessing */
static void
check_feature_spec(ImportDoc *d)
{
	FeatureSpec *spec = features_from_arrays(DatumGetArrayTypeP(d->feature_columns),
											 DatumGetArrayTypeP(d->feature_lengths),
											 d->preprocessing_null ? NULL : DatumGetJsonbP(d->preprocessing));
	int			j;

	if (spec->nfeat != d->nfeat)
		doc_invalid("spec.features", psprintf("must have %d elements (the expansion of the feature columns), not %d",
										  spec->nfeat, d->nfeat));
	for (j = 0; j < d->nfeat; j++)
		if (strcmp(spec->names[j], d->names[j]) != 0)
			doc_invalid(psprintf("spec.features[%d]", j),
					psprintf("must be \"%s\" (the expansion of the feature columns)", spec->names[j]));
}

/* the rebuilt blob passes the checks of a stored version: its family loads it */
static void
check_blob(ImportDoc *d)
{
	LoadedModel loaded;

	memset(&loaded, 0, sizeof(loaded));
	d->family->load(d->params, &loaded);
}

/* the import's parameters → blob (import_params, which runs the blob's checks) */
static void
import_parameters(ImportDoc *d)
{
	ParamsSpec	ps;

	ps.algorithm = d->algorithm;
	ps.task = d->task;
	ps.nfeat = d->nfeat;
	ps.names = d->names;
	ps.nclasses = d->nclasses;
	ps.classes = d->class_labels;
	d->params = d->family->import_params(d->prm, &ps);
}

/* the document → everything the registry needs, checked */
static void
read_document(Jsonb *doc, ImportDoc *d)
{
	JsonbContainer *root = &doc->root;
	JsonbContainer *spec;
	JsonbValue *v;
	char	   *format;
	int64		fv;
	bool		is_als,
				isnull;
	int			i;
	Datum	   *lens;
	JsonbContainer *lc;
	const char *problem;

	if (!JB_ROOT_IS_OBJECT(doc))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid model document: it must be a JSON object"),
				 errhint("Pass the output of mlsys.export_model.")));
	format = doc_key_string(root, "", "format");
	if (strcmp(format, EXPORT_FORMAT) != 0)
		doc_invalid("format", psprintf("must be \"%s\"", EXPORT_FORMAT));
	v = doc_get_key(root, "", "format_version", true);
	if (v->type != jbvNumeric)
		doc_invalid("format_version", "must be a JSON number");
	fv = doc_as_int(v, PG_INT32_MIN, PG_INT32_MAX, "format_version", -1);
	if (fv != EXPORT_FORMAT_VERSION)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("model document format version " INT64_FORMAT " is not supported", fv),
				 errdetail("This build of mlsys reads format version %d.", EXPORT_FORMAT_VERSION),
				 errhint("Import it with the mlsys release that exported it, or a newer one.")));

	/* algorithm and task agree: the family of the algorithm says */
	d->algorithm = doc_key_string(root, "", "algorithm");
	d->task = doc_key_string(root, "", "task");
	d->family = mlsys_family_by_algorithm(d->algorithm);
	if (d->family == NULL || d->family->import_params == NULL)
		doc_invalid("algorithm", psprintf("must be one of %s", mlsys_algorithm_names()));
	problem = d->family->task_problem(d->algorithm, d->task);
	if (problem != NULL)
		doc_invalid("task", problem);
	is_als = d->family->supports(MLSYS_TASK_RECOMMENDER);

	/* the spec */
	spec = doc_key_object(root, "", "spec");
	d->relation = doc_key_string(spec, "spec", "relation");
	d->target = doc_key_string(spec, "spec", "target");
	d->feature_columns = string_array(doc_get_key(spec, "spec", "feature_columns", true),
									  "spec.feature_columns", &d->ncolumns, &d->column_names);
	if (d->ncolumns < 1)
		doc_invalid("spec.feature_columns", "must not be empty");
	lc = doc_as_array(doc_get_key(spec, "spec", "feature_lengths", true), d->ncolumns, "spec.feature_lengths");
	lens = palloc(sizeof(Datum) * d->ncolumns);
	d->lengths = palloc(sizeof(int32) * d->ncolumns);
	for (i = 0; i < d->ncolumns; i++)
	{
		d->lengths[i] = (int32) doc_as_int(doc_elem(lc, i), 0, MLSYS_MAX_FEATURES, "spec.feature_lengths", i);
		lens[i] = Int32GetDatum(d->lengths[i]);
	}
	d->feature_lengths = PointerGetDatum(construct_array(lens, d->ncolumns, INT4OID, 4, true, TYPALIGN_INT));
	d->features = string_array(doc_get_key(spec, "spec", "features", true), "spec.features",
							   &d->nfeat, &d->names);
	if (d->nfeat < 1 || d->nfeat > MLSYS_MAX_FEATURES)
		doc_invalid("spec.features", psprintf("must have between 1 and %d elements", MLSYS_MAX_FEATURES));
	d->hyperparams = key_jsonb(spec, "spec", "hyperparams", true, &isnull);
	d->test_size = doc_key_float8(spec, "spec", "test_size");
	if (!(d->test_size >= 0 && d->test_size < 1))
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("invalid model document: \"spec.test_size\" is out of range"),
				 errdetail("It must be at least 0 and less than 1.")));
	d->seed = (int32) doc_key_int(spec, "spec", "seed", PG_INT32_MIN, PG_INT32_MAX);

	/* preprocessing, classes and target type */
	d->preprocessing = key_jsonb(root, "", "preprocessing", false, &d->preprocessing_null);
	v = doc_get_key(root, "", "classes", false);
	d->classes_null = v == NULL;
	d->nclasses = 0;
	if (v != NULL)
		d->classes = string_array(v, "classes", &d->nclasses, &d->class_labels);
	if (strcmp(d->task, "binary") == 0 && d->nclasses != 2)
		doc_invalid("classes", psprintf("must list 2 classes for a binary classifier, not %d", d->nclasses));
	if (strcmp(d->task, "multiclass") == 0 && (d->nclasses < 3 || d->nclasses > 100))
		doc_invalid("classes", psprintf("must list 3 to 100 classes for a multiclass classifier, not %d", d->nclasses));
	if (!d->classes_null && strcmp(d->task, "binary") != 0 && strcmp(d->task, "multiclass") != 0)
		doc_invalid("classes", "must be null for a model that is not a classifier");
	v = doc_get_key(root, "", "target_type", false);
	d->target_type = v ? doc_as_string(v, "target_type", -1) : NULL;

	/* what describes the version */
	d->metrics = key_jsonb(root, "", "metrics", true, &isnull);
	d->profile = key_jsonb(root, "", "profile", false, &d->profile_null);
	d->train_rows = doc_key_int(root, "", "train_rows", 0, PG_INT64_MAX);
	d->test_rows = doc_key_int(root, "", "test_rows", 0, PG_INT64_MAX);
	d->training_seconds = doc_key_float8(root, "", "training_seconds");
	if (d->training_seconds < 0)
		doc_invalid("training_seconds", "must not be negative");
	d->fingerprint = doc_key_string(root, "", "data_fingerprint");
	d->extension_version = doc_key_string(root, "", "extension_version");
	d->server_version = doc_key_string(root, "", "server_version");

	/* the feature spec the registry will rebuild must name the same features */
	if (!is_als)
	{
		int64		expanded = 0;

		for (i = 0; i < d->ncolumns; i++)
			expanded += d->lengths[i] > 0 ? d->lengths[i] : 1;
		if (expanded != d->nfeat)
			doc_invalid("spec.features", psprintf("must have " INT64_FORMAT " elements (the expansion of the feature lengths), not %d",
											  expanded, d->nfeat));
		check_as_document(check_feature_spec, d, "the feature columns, lengths and preprocessing do not agree");
	}

	/* the parameters → blob, which must pass the checks of a stored version */
	d->prm = doc_key_object(root, "", "parameters");
	check_as_document(import_parameters, d, "the parameters are not valid");
	check_as_document(check_blob, d, "the parameters are not valid");
}

/* the XGBoost model → ensemble (its checks' corruption errors are document errors) */
static void
import_xgboost_trees(ImportDoc *d)
{
	d->xgb = trees_import_xgboost(d->xgb_doc);
}

/* the hyperparams of an XGBoost import: where it came from (the XGBoost version, the objective) */
static void
put_xgboost_source(StringInfo buf, JsonbContainer *root)
{
	JsonbValue *v = getKeyJsonValueFromContainer(root, "version", 7, NULL);
	JsonbValue *learner = getKeyJsonValueFromContainer(root, "learner", 7, NULL);
	JsonbValue *obj,
			   *name;
	int			i;

	/* both were read and checked by trees_import_xgboost */
	appendStringInfoString(buf, "{\"imported_from\": \"xgboost\", \"xgboost_version\": \"");
	for (i = 0; i < 3; i++)
		appendStringInfo(buf, i > 0 ? ".%s" : "%s",
						 DatumGetCString(DirectFunctionCall1(numeric_out,
															 NumericGetDatum(doc_elem(doc_as_array(v, 3, "version"), i)->val.numeric))));
	appendStringInfoString(buf, "\", \"objective\": ");
	obj = doc_get_key(doc_as_container(learner, true, "learner", -1), "learner", "objective", true);
	name = doc_get_key(doc_as_container(obj, true, "learner.objective", -1), "learner.objective", "name", true);
	escape_json(buf, doc_as_string(name, "learner.objective.name", -1));
	appendStringInfoChar(buf, '}');
}

/*
 * An XGBoost JSON model → what the registry needs: the ensemble and what the
 * model says about its features, task and classes; the rest empty.
 */
static void
read_xgboost(Jsonb *doc, ImportDoc *d)
{
	XGBoostModel *x;
	StringInfoData buf;
	int32	   *zeros;
	Datum	   *lens;
	int			j;

	d->algorithm = "boosted_trees";
	d->family = mlsys_family_by_algorithm(d->algorithm);
	if (d->family == NULL || d->family->load == NULL)
		elog(ERROR, "this build of mlsys has no boosted_trees family");
	d->xgb_doc = doc;
	check_as_document(import_xgboost_trees, d, "the XGBoost trees are not valid");
	x = d->xgb;
	d->task = pstrdup(x->task);

	initStringInfo(&buf);
	put_xgboost_source(&buf, &doc->root);
	d->hyperparams = DirectFunctionCall1(jsonb_in, CStringGetDatum(buf.data));
	d->relation = "";
	d->target = "";

	/* one scalar float8 column per feature */
	d->ncolumns = d->nfeat = x->nfeat;
	d->column_names = d->names = x->names;
	zeros = palloc0(sizeof(int32) * x->nfeat);
	lens = palloc(sizeof(Datum) * x->nfeat);
	for (j = 0; j < x->nfeat; j++)
		lens[j] = Int32GetDatum(0);
	d->lengths = zeros;
	d->feature_columns = mlsys_cstring_array(x->names, x->nfeat);
	d->feature_lengths = PointerGetDatum(construct_array(lens, x->nfeat, INT4OID, 4, true, TYPALIGN_INT));
	d->features = d->feature_columns;
	d->preprocessing = DirectFunctionCall1(jsonb_in, CStringGetDatum("{\"impute\": \"missing\"}"));
	d->preprocessing_null = false;

	/* classifiers: the classes 0 .. K − 1, integers */
	d->nclasses = x->nclasses;
	d->classes_null = x->nclasses == 0;
	if (x->nclasses > 0)
	{
		d->class_labels = palloc(sizeof(char *) * x->nclasses);
		for (j = 0; j < x->nclasses; j++)
			d->class_labels[j] = psprintf("%d", j);
		d->classes = mlsys_cstring_array(d->class_labels, x->nclasses);
	}
	d->target_type = x->nclasses > 0 ? "integer" : "double precision";

	/* nothing describes a training mlsys did not run */
	d->test_size = 0;
	d->seed = 0;
	d->metrics = DirectFunctionCall1(jsonb_in, CStringGetDatum("{}"));
	d->profile_null = true;
	d->train_rows = 0;
	d->test_rows = 0;
	d->training_seconds = 0;
	d->fingerprint = "";
	d->extension_version = NULL;	/* this server's, read when registering */
	d->server_version = NULL;

	check_as_document(check_feature_spec, d, "the feature names and preprocessing do not agree");
	d->params = trees_serialize(x->ensemble);
	check_as_document(check_blob, d, "the XGBoost trees are not valid");
}

PG_FUNCTION_INFO_V1(import_model);
/*
 * mlsys.import_model(model text, doc jsonb) → int: registers the document as
 * a new version of model (created when needed) and deploys it (reason
 * 'import') when the model has no live version; returns the version.
 */
Datum
import_model(PG_FUNCTION_ARGS)
{
	char	   *name = mlsys_text_arg(fcinfo, 0, "model");
	ImportDoc	d;
	Oid			types[23] = {TEXTOID, TEXTOID, TEXTOID, JSONBOID, TEXTOID, TEXTOID,
		TEXTARRAYOID, INT4ARRAYOID, TEXTARRAYOID, FLOAT8OID, INT4OID, JSONBOID,
		INT8OID, INT8OID, FLOAT8OID, TEXTOID, BYTEAOID, JSONBOID, JSONBOID,
	TEXTARRAYOID, TEXTOID, TEXTOID, TEXTOID};
	Datum		v[23];
	char		nulls[23];
	bool		isnull;
	Datum		version;

	if (PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("doc must not be null")));
	memset(&d, 0, sizeof(d));
	{
		Jsonb	   *doc = PG_GETARG_JSONB_P(1);

		if (trees_is_xgboost_document(doc))
			read_xgboost(doc, &d);
		else
			read_document(doc, &d);
	}

	memset(nulls, ' ', sizeof(nulls));
	v[0] = CStringGetTextDatum(name);
	v[1] = CStringGetTextDatum(d.task);
	v[2] = CStringGetTextDatum(d.algorithm);
	v[3] = d.hyperparams;
	v[4] = CStringGetTextDatum(d.relation);
	v[5] = CStringGetTextDatum(d.target);
	v[6] = d.feature_columns;
	v[7] = d.feature_lengths;
	v[8] = d.features;
	v[9] = Float8GetDatum(d.test_size);
	v[10] = Int32GetDatum(d.seed);
	v[11] = d.metrics;
	v[12] = Int64GetDatum(d.train_rows);
	v[13] = Int64GetDatum(d.test_rows);
	v[14] = Float8GetDatum(d.training_seconds);
	v[15] = CStringGetTextDatum(d.fingerprint);
	v[16] = PointerGetDatum(d.params);
	v[17] = d.profile;
	if (d.profile_null)
		nulls[17] = 'n';
	v[18] = d.preprocessing;
	if (d.preprocessing_null)
		nulls[18] = 'n';
	v[19] = d.classes;
	if (d.classes_null)
		nulls[19] = 'n';
	if (d.target_type)
		v[20] = CStringGetTextDatum(d.target_type);
	else
		nulls[20] = 'n';

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (d.extension_version == NULL)
	{
		/* an XGBoost model: registered with this server's versions */
		if (SPI_execute("SELECT e.extversion, pg_catalog.current_setting('server_version') "
						"FROM pg_catalog.pg_extension e WHERE e.extname = 'mlsys'",
						true, 1) != SPI_OK_SELECT || SPI_processed != 1)
			elog(ERROR, "could not read the version of mlsys");
		d.extension_version = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
		d.server_version = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2);
	}
	v[21] = CStringGetTextDatum(d.extension_version);
	v[22] = CStringGetTextDatum(d.server_version);

	/* an existing model must be of the document's task (checked again under lock) */
	if (SPI_execute_with_args("SELECT m.task FROM mlsys.models m WHERE m.model = $1",
							  1, types, v, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read mlsys.models");
	if (SPI_processed == 1)
	{
		char	   *task = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);

		if (strcmp(task, d.task) != 0)
			ereport(ERROR,
					(errcode(ERRCODE_WRONG_OBJECT_TYPE),
					 errmsg("model \"%s\" is a %s model, the document holds a %s model",
							name, task, d.task),
					 errhint("Import it under another model name.")));
	}
	if (SPI_execute_with_args("SELECT mlsys._import_version($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, "
							  "$11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23)",
							  23, types, v, nulls, false, 1) != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "could not register the imported version");
	version = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	SPI_finish();
	PG_RETURN_DATUM(version);
}
