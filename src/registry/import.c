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
#include "models/als/als.h"

/* ------------------------------------------------------------------------
 * Reading
 * ------------------------------------------------------------------------ */

/* a document that is not what it should be */
static void pg_attribute_noreturn()
invalid(const char *path, const char *problem)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("invalid model document: \"%s\" %s", path, problem)));
}

/* path[index] or path */
static char *
elem_path(const char *path, int index)
{
	return index < 0 ? pstrdup(path) : psprintf("%s[%d]", path, index);
}

/* path.key */
static char *
key_path(const char *path, const char *key)
{
	return path[0] ? psprintf("%s.%s", path, key) : pstrdup(key);
}

/* obj.key, or NULL (also for a JSON null) unless required */
static JsonbValue *
get_key(JsonbContainer *obj, const char *path, const char *key, bool required)
{
	JsonbValue *v = getKeyJsonValueFromContainer(obj, key, strlen(key), NULL);

	if (v == NULL || v->type == jbvNull)
	{
		if (required)
			invalid(key_path(path, key), v == NULL ? "is missing" : "must not be null");
		return NULL;
	}
	return v;
}

/* a JSON object or array value's container */
static JsonbContainer *
as_container(JsonbValue *v, bool object, const char *path, int index)
{
	if (v->type != jbvBinary ||
		(object ? !JsonContainerIsObject(v->val.binary.data) : !JsonContainerIsArray(v->val.binary.data)))
		invalid(elem_path(path, index), object ? "must be a JSON object" : "must be a JSON array");
	return v->val.binary.data;
}

/* an array of exactly n elements (n < 0: any length) */
static JsonbContainer *
as_array(JsonbValue *v, int n, const char *path)
{
	JsonbContainer *c = as_container(v, false, path, -1);

	if (n >= 0 && (int) JsonContainerSize(c) != n)
		invalid(path, psprintf("must have %d elements, not %d", n, (int) JsonContainerSize(c)));
	return c;
}

/* element i of an array container */
static JsonbValue *
elem(JsonbContainer *c, int i)
{
	JsonbValue *v = getIthJsonbValueFromContainer(c, i);

	if (v == NULL)
		elog(ERROR, "array element %d not found", i);
	return v;
}

static char *
as_string(JsonbValue *v, const char *path, int index)
{
	if (v->type != jbvString)
		invalid(elem_path(path, index), "must be a JSON string");
	return pnstrdup(v->val.string.val, v->val.string.len);
}

/*
 * The decimal text of a JSON number parsed as float8 (or float4): strtod and
 * strtof round correctly, so the shortest decimal form of a value gives it
 * back exactly. Out of range (overflow, or underflow to zero of a non-zero
 * value) is an error, as in float8in.
 */
static double
as_float(JsonbValue *v, const char *path, int index, bool single)
{
	char	   *text,
			   *end;
	double		d;

	if (v->type != jbvNumeric)
		invalid(elem_path(path, index), "must be a JSON number");
	text = DatumGetCString(DirectFunctionCall1(numeric_out, NumericGetDatum(v->val.numeric)));
	errno = 0;
	d = single ? (double) strtof(text, &end) : strtod(text, &end);
	if (*end != '\0' || end == text)
		invalid(elem_path(path, index), "must be a JSON number");
	if ((errno == ERANGE && (d == 0.0 || isinf(d))) || !isfinite(d))
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("invalid model document: \"%s\" is out of range for type %s",
						elem_path(path, index), single ? "real" : "double precision")));
	return d;
}

static double
as_float8(JsonbValue *v, const char *path, int index)
{
	return as_float(v, path, index, false);
}

/* recommender factors are float4 */
static float
as_float4(JsonbValue *v, const char *path, int index)
{
	return (float) as_float(v, path, index, true);
}

/* a JSON number that is an integer in [lo, hi] */
static int64
as_int(JsonbValue *v, int64 lo, int64 hi, const char *path, int index)
{
	Datum		n;
	int64		i;

	if (v->type != jbvNumeric)
		invalid(elem_path(path, index), "must be a JSON number");
	n = NumericGetDatum(v->val.numeric);
	if (DatumGetBool(DirectFunctionCall2(numeric_ne, n,
										 DirectFunctionCall2(numeric_trunc, n, Int32GetDatum(0)))))
		invalid(elem_path(path, index), "must be an integer");
	i = DatumGetInt64(DirectFunctionCall1(numeric_int8, n));
	if (i < lo || i > hi)
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("invalid model document: \"%s\" is out of range", elem_path(path, index)),
				 errdetail("It must be between " INT64_FORMAT " and " INT64_FORMAT ".", lo, hi)));
	return i;
}

/* required obj.key of a type */
static JsonbContainer *
key_object(JsonbContainer *obj, const char *path, const char *key)
{
	return as_container(get_key(obj, path, key, true), true, key_path(path, key), -1);
}

static char *
key_string(JsonbContainer *obj, const char *path, const char *key)
{
	return as_string(get_key(obj, path, key, true), key_path(path, key), -1);
}

static double
key_float8(JsonbContainer *obj, const char *path, const char *key)
{
	return as_float8(get_key(obj, path, key, true), key_path(path, key), -1);
}

static int64
key_int(JsonbContainer *obj, const char *path, const char *key, int64 lo, int64 hi)
{
	return as_int(get_key(obj, path, key, true), lo, hi, key_path(path, key), -1);
}

/* obj.key as a jsonb object; *isnull when it is absent or null (and not required) */
static Datum
key_jsonb(JsonbContainer *obj, const char *path, const char *key, bool required, bool *isnull)
{
	JsonbValue *v = get_key(obj, path, key, required);

	*isnull = v == NULL;
	if (v == NULL)
		return (Datum) 0;
	as_container(v, true, key_path(path, key), -1);
	return JsonbPGetDatum(JsonbValueToJsonb(v));
}

/* {"name": number, ...} with exactly the feature names as keys, in model order */
static void
named_vector(JsonbContainer *obj, const char *path, const char *key, char **names, int n,
			 double *out)
{
	char	   *p = key_path(path, key);
	JsonbContainer *c = key_object(obj, path, key);
	int			j;

	if ((int) JsonContainerSize(c) != n)
		invalid(p, psprintf("must have one entry per feature (%d), not %d", n, (int) JsonContainerSize(c)));
	for (j = 0; j < n; j++)
		out[j] = as_float8(get_key(c, p, names[j], true), key_path(p, names[j]), -1);
}

/* a text[] datum from a JSON array of strings */
static Datum
string_array(JsonbValue *v, const char *path, int *n, char ***items)
{
	JsonbContainer *c = as_array(v, -1, path);
	int			i;

	*n = JsonContainerSize(c);
	*items = palloc(sizeof(char *) * Max(*n, 1));
	for (i = 0; i < *n; i++)
		(*items)[i] = as_string(elem(c, i), path, i);
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
		invalid("spec.features", psprintf("must have %d elements (the expansion of the feature columns), not %d",
										  spec->nfeat, d->nfeat));
	for (j = 0; j < d->nfeat; j++)
		if (strcmp(spec->names[j], d->names[j]) != 0)
			invalid(psprintf("spec.features[%d]", j),
					psprintf("must be \"%s\" (the expansion of the feature columns)", spec->names[j]));
}

/* the rebuilt blob passes the checks of a stored version */
static void
check_blob(ImportDoc *d)
{
	if (strncmp(d->algorithm, "als_", 4) == 0)
		(void) model_deserialize_als(d->params);
	else
		(void) model_deserialize_linear(d->params);
}

/* "parameters" of a linear, logistic or multinomial model → blob */
static void
read_linear_parameters(ImportDoc *d, JsonbContainer *prm)
{
	const char *path = "parameters";
	int			n = d->nfeat;
	double	   *center = palloc(sizeof(double) * n);
	double	   *scale = palloc(sizeof(double) * n);

	if (strcmp(d->task, "multiclass") == 0)
	{
		JsonbContainer *blocks;
		double	   *theta = palloc(sizeof(double) * (Size) d->nclasses * (n + 1));
		int			k;

		named_vector(prm, path, "center", d->names, n, center);
		named_vector(prm, path, "scale", d->names, n, scale);
		blocks = as_array(get_key(prm, path, "classes", true), d->nclasses, "parameters.classes");
		for (k = 0; k < d->nclasses; k++)
		{
			char	   *bp = psprintf("parameters.classes[%d]", k);
			JsonbContainer *b = as_container(elem(blocks, k), true, bp, -1);
			char	   *label = key_string(b, bp, "class");

			if (strcmp(label, d->class_labels[k]) != 0)
				invalid(key_path(bp, "class"), psprintf("must be \"%s\" (classes[%d])", d->class_labels[k], k));
			theta[(Size) k * (n + 1)] = key_float8(b, bp, "intercept");
			named_vector(b, bp, "coefficients", d->names, n, theta + (Size) k * (n + 1) + 1);
		}
		d->params = model_serialize_softmax(theta, center, scale, n, d->nclasses);
	}
	else
	{
		double	   *w = palloc(sizeof(double) * (n + 1));

		w[0] = key_float8(prm, path, "intercept");
		named_vector(prm, path, "coefficients", d->names, n, w + 1);
		if (strcmp(d->task, "binary") == 0)
		{
			double		threshold = key_float8(prm, path, "threshold");

			named_vector(prm, path, "center", d->names, n, center);
			named_vector(prm, path, "scale", d->names, n, scale);
			d->params = model_serialize_logistic(w, center, scale, n, threshold);
		}
		else
			d->params = model_serialize_linear(w, n);
	}
}

/* an array of n int64 ids, strictly increasing */
static int64 *
read_ids(JsonbContainer *obj, const char *path, int *n)
{
	char	   *p = key_path(path, "ids");
	JsonbContainer *c = as_array(get_key(obj, path, "ids", true), -1, p);
	int64	   *ids;
	int			j;

	*n = JsonContainerSize(c);
	if (*n < 1)
		invalid(p, "must not be empty");
	ids = palloc(sizeof(int64) * *n);
	for (j = 0; j < *n; j++)
	{
		ids[j] = as_int(elem(c, j), PG_INT64_MIN, PG_INT64_MAX, p, j);
		if (j > 0 && ids[j] <= ids[j - 1])
			invalid(elem_path(p, j), "must be greater than the id before it (ids are strictly increasing)");
	}
	return ids;
}

/* n float8 values */
static double *
read_float8s(JsonbContainer *obj, const char *path, const char *key, int n)
{
	char	   *p = key_path(path, key);
	JsonbContainer *c = as_array(get_key(obj, path, key, true), n, p);
	double	   *out = palloc(sizeof(double) * n);
	int			j;

	for (j = 0; j < n; j++)
		out[j] = as_float8(elem(c, j), p, j);
	return out;
}

/* rows × f float4 factors (as float8 for AlsFit, which rounds them back exactly) */
static double *
read_factors(JsonbContainer *obj, const char *path, int rows, int f)
{
	char	   *p = key_path(path, "factors");
	JsonbContainer *c = as_array(get_key(obj, path, "factors", true), rows, p);
	double	   *out = palloc(sizeof(double) * (Size) rows * f);
	int			r,
				k;

	for (r = 0; r < rows; r++)
	{
		char	   *rp = elem_path(p, r);
		JsonbContainer *row = as_array(elem(c, r), f, rp);

		CHECK_FOR_INTERRUPTS();
		for (k = 0; k < f; k++)
			out[(Size) r * f + k] = (double) as_float4(elem(row, k), rp, k);
	}
	return out;
}

/* "parameters" of a recommender → blob */
static void
read_als_parameters(ImportDoc *d, JsonbContainer *prm)
{
	const char *path = "parameters";
	AlsFit		fit;
	JsonbContainer *users,
			   *items,
			   *seen,
			   *counts;
	int64		ns = 0;
	int			u,
				j;
	bool		implicit;
	JsonbValue *iv = get_key(prm, path, "implicit", true);

	memset(&fit, 0, sizeof(fit));
	if (iv->type != jbvBool)
		invalid("parameters.implicit", "must be a JSON boolean");
	implicit = iv->val.boolean;
	if (implicit != (strcmp(d->algorithm, "als_implicit") == 0))
		invalid("parameters.implicit", psprintf("does not match the algorithm \"%s\"", d->algorithm));
	fit.implicit = implicit;
	fit.f = (int) key_int(prm, path, "factors", 1, ALS_MAX_FACTORS);
	fit.mu = key_float8(prm, path, "mu");
	fit.lambda = key_float8(prm, path, "lambda");
	fit.alpha = key_float8(prm, path, "alpha");
	users = key_object(prm, path, "users");
	items = key_object(prm, path, "items");
	fit.user_ids = read_ids(users, "parameters.users", &fit.nusers);
	fit.item_ids = read_ids(items, "parameters.items", &fit.nitems);
	fit.user_bias = read_float8s(users, "parameters.users", "biases", fit.nusers);
	fit.item_bias = read_float8s(items, "parameters.items", "biases", fit.nitems);
	fit.U = read_factors(users, "parameters.users", fit.nusers, fit.f);
	fit.V = read_factors(items, "parameters.items", fit.nitems, fit.f);

	counts = as_array(get_key(items, "parameters.items", "counts", true), fit.nitems,
					  "parameters.items.counts");
	fit.counts = palloc(sizeof(int32) * fit.nitems);
	for (j = 0; j < fit.nitems; j++)
		fit.counts[j] = (int32) as_int(elem(counts, j), 0, PG_INT32_MAX, "parameters.items.counts", j);

	/* seen items: per user, item ids in increasing order → item indices (CSR) */
	seen = as_array(get_key(users, "parameters.users", "seen", true), fit.nusers,
					"parameters.users.seen");
	for (u = 0; u < fit.nusers; u++)
	{
		ns += JsonContainerSize(as_array(elem(seen, u), -1, elem_path("parameters.users.seen", u)));
		if (ns > PG_INT32_MAX)
			invalid("parameters.users.seen", "has too many items");
	}
	fit.seen_off = palloc(sizeof(int32) * (fit.nusers + 1));
	fit.seen_items = palloc(sizeof(int32) * Max(ns, 1));
	fit.seen_off[0] = 0;
	for (u = 0; u < fit.nusers; u++)
	{
		char	   *sp = elem_path("parameters.users.seen", u);
		JsonbContainer *s = as_array(elem(seen, u), -1, sp);
		int			n = JsonContainerSize(s),
					off = fit.seen_off[u];

		CHECK_FOR_INTERRUPTS();
		for (j = 0; j < n; j++)
		{
			int64		id = as_int(elem(s, j), PG_INT64_MIN, PG_INT64_MAX, sp, j);
			int			idx = als_find(fit.item_ids, fit.nitems, id);

			if (idx < 0)
				invalid(elem_path(sp, j), "is not in parameters.items.ids");
			if (j > 0 && idx <= fit.seen_items[off + j - 1])
				invalid(elem_path(sp, j), "must be greater than the item before it");
			fit.seen_items[off + j] = idx;
		}
		fit.seen_off[u + 1] = off + n;
	}
	d->params = model_serialize_als(&fit);
}

/* the document → everything the registry needs, checked */
static void
read_document(Jsonb *doc, ImportDoc *d)
{
	JsonbContainer *root = &doc->root;
	JsonbContainer *spec,
			   *prm;
	JsonbValue *v;
	char	   *format;
	int64		fv;
	bool		is_als,
				isnull;
	int			i;
	Datum	   *lens;
	JsonbContainer *lc;

	if (!JB_ROOT_IS_OBJECT(doc))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid model document: it must be a JSON object"),
				 errhint("Pass the output of mlsys.export_model.")));
	format = key_string(root, "", "format");
	if (strcmp(format, EXPORT_FORMAT) != 0)
		invalid("format", psprintf("must be \"%s\"", EXPORT_FORMAT));
	v = get_key(root, "", "format_version", true);
	if (v->type != jbvNumeric)
		invalid("format_version", "must be a JSON number");
	fv = as_int(v, PG_INT32_MIN, PG_INT32_MAX, "format_version", -1);
	if (fv != EXPORT_FORMAT_VERSION)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("model document format version " INT64_FORMAT " is not supported", fv),
				 errdetail("This build of mlsys reads format version %d.", EXPORT_FORMAT_VERSION),
				 errhint("Import it with the mlsys release that exported it, or a newer one.")));

	/* algorithm and task agree */
	d->algorithm = key_string(root, "", "algorithm");
	d->task = key_string(root, "", "task");
	if (strcmp(d->algorithm, "linear") == 0 || strcmp(d->algorithm, "ridge") == 0)
	{
		if (strcmp(d->task, "regression") != 0)
			invalid("task", psprintf("must be \"regression\" for algorithm \"%s\"", d->algorithm));
	}
	else if (strcmp(d->algorithm, "logistic") == 0)
	{
		if (strcmp(d->task, "binary") != 0 && strcmp(d->task, "multiclass") != 0)
			invalid("task", "must be \"binary\" or \"multiclass\" for algorithm \"logistic\"");
	}
	else if (strcmp(d->algorithm, "als_explicit") == 0 || strcmp(d->algorithm, "als_implicit") == 0)
	{
		if (strcmp(d->task, strcmp(d->algorithm, "als_explicit") == 0 ?
				   "recommender_explicit" : "recommender_implicit") != 0)
			invalid("task", psprintf("does not match the algorithm \"%s\"", d->algorithm));
	}
	else
		invalid("algorithm", "must be one of linear, ridge, logistic, als_explicit, als_implicit");
	is_als = strncmp(d->algorithm, "als_", 4) == 0;

	/* the spec */
	spec = key_object(root, "", "spec");
	d->relation = key_string(spec, "spec", "relation");
	d->target = key_string(spec, "spec", "target");
	d->feature_columns = string_array(get_key(spec, "spec", "feature_columns", true),
									  "spec.feature_columns", &d->ncolumns, &d->column_names);
	if (d->ncolumns < 1)
		invalid("spec.feature_columns", "must not be empty");
	lc = as_array(get_key(spec, "spec", "feature_lengths", true), d->ncolumns, "spec.feature_lengths");
	lens = palloc(sizeof(Datum) * d->ncolumns);
	d->lengths = palloc(sizeof(int32) * d->ncolumns);
	for (i = 0; i < d->ncolumns; i++)
	{
		d->lengths[i] = (int32) as_int(elem(lc, i), 0, MLSYS_MAX_FEATURES, "spec.feature_lengths", i);
		lens[i] = Int32GetDatum(d->lengths[i]);
	}
	d->feature_lengths = PointerGetDatum(construct_array(lens, d->ncolumns, INT4OID, 4, true, TYPALIGN_INT));
	d->features = string_array(get_key(spec, "spec", "features", true), "spec.features",
							   &d->nfeat, &d->names);
	if (d->nfeat < 1 || d->nfeat > MLSYS_MAX_FEATURES)
		invalid("spec.features", psprintf("must have between 1 and %d elements", MLSYS_MAX_FEATURES));
	d->hyperparams = key_jsonb(spec, "spec", "hyperparams", true, &isnull);
	d->test_size = key_float8(spec, "spec", "test_size");
	if (!(d->test_size >= 0 && d->test_size < 1))
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("invalid model document: \"spec.test_size\" is out of range"),
				 errdetail("It must be at least 0 and less than 1.")));
	d->seed = (int32) key_int(spec, "spec", "seed", PG_INT32_MIN, PG_INT32_MAX);

	/* preprocessing, classes and target type */
	d->preprocessing = key_jsonb(root, "", "preprocessing", false, &d->preprocessing_null);
	v = get_key(root, "", "classes", false);
	d->classes_null = v == NULL;
	d->nclasses = 0;
	if (v != NULL)
		d->classes = string_array(v, "classes", &d->nclasses, &d->class_labels);
	if (strcmp(d->task, "binary") == 0 && d->nclasses != 2)
		invalid("classes", psprintf("must list 2 classes for a binary classifier, not %d", d->nclasses));
	if (strcmp(d->task, "multiclass") == 0 && (d->nclasses < 3 || d->nclasses > 100))
		invalid("classes", psprintf("must list 3 to 100 classes for a multiclass classifier, not %d", d->nclasses));
	if (!d->classes_null && strcmp(d->task, "binary") != 0 && strcmp(d->task, "multiclass") != 0)
		invalid("classes", "must be null for a model that is not a classifier");
	v = get_key(root, "", "target_type", false);
	d->target_type = v ? as_string(v, "target_type", -1) : NULL;

	/* what describes the version */
	d->metrics = key_jsonb(root, "", "metrics", true, &isnull);
	d->profile = key_jsonb(root, "", "profile", false, &d->profile_null);
	d->train_rows = key_int(root, "", "train_rows", 0, PG_INT64_MAX);
	d->test_rows = key_int(root, "", "test_rows", 0, PG_INT64_MAX);
	d->training_seconds = key_float8(root, "", "training_seconds");
	if (d->training_seconds < 0)
		invalid("training_seconds", "must not be negative");
	d->fingerprint = key_string(root, "", "data_fingerprint");
	d->extension_version = key_string(root, "", "extension_version");
	d->server_version = key_string(root, "", "server_version");

	/* the feature spec the registry will rebuild must name the same features */
	if (!is_als)
	{
		int64		expanded = 0;

		for (i = 0; i < d->ncolumns; i++)
			expanded += d->lengths[i] > 0 ? d->lengths[i] : 1;
		if (expanded != d->nfeat)
			invalid("spec.features", psprintf("must have " INT64_FORMAT " elements (the expansion of the feature lengths), not %d",
											  expanded, d->nfeat));
		check_as_document(check_feature_spec, d, "the feature columns, lengths and preprocessing do not agree");
	}

	/* the parameters → blob, which must pass the checks of a stored version */
	prm = key_object(root, "", "parameters");
	if (is_als)
		read_als_parameters(d, prm);
	else
		read_linear_parameters(d, prm);
	check_as_document(check_blob, d, "the parameters are not valid");
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
	read_document(PG_GETARG_JSONB_P(1), &d);

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
	v[21] = CStringGetTextDatum(d.extension_version);
	v[22] = CStringGetTextDatum(d.server_version);

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
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
