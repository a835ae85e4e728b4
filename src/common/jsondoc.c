/*
 * jsondoc.c — reading and writing the JSON of the model document (export
 * and import): numbers in their shortest exact decimal form (float8, or
 * float4 for a recommender's factors) and read back exactly; named vectors;
 * arrays of ids and factors; every reading error names its path in the
 * document ("parameters.users.ids[3]") and is a class-22 error.
 */
#include "postgres.h"

#include <math.h>

#include "common/shortest_dec.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/numeric.h"

#include "common/common.h"

/* a finite float8 in its shortest exact decimal form */
void
doc_put_float8(StringInfo buf, double v)
{
	char		s[DOUBLE_SHORTEST_DECIMAL_LEN];

	if (!isfinite(v))
		elog(ERROR, "cannot export a non-finite parameter");
	double_to_shortest_decimal_buf(v, s);
	appendStringInfoString(buf, s);
}

/* a finite float4 in its shortest exact float4 decimal form */
void
doc_put_float4(StringInfo buf, float v)
{
	char		s[FLOAT_SHORTEST_DECIMAL_LEN];

	if (!isfinite(v))
		elog(ERROR, "cannot export a non-finite parameter");
	float_to_shortest_decimal_buf(v, s);
	appendStringInfoString(buf, s);
}

/* "key": (a JSON string), preceded by a comma unless first */
void
doc_put_key(StringInfo buf, const char *key, bool first)
{
	if (!first)
		appendStringInfoChar(buf, ',');
	escape_json(buf, key);
	appendStringInfoChar(buf, ':');
}

/* {"name": value, ...} over the expanded feature names */
void
doc_put_named(StringInfo buf, char **names, const double *v, int n)
{
	int			j;

	appendStringInfoChar(buf, '{');
	for (j = 0; j < n; j++)
	{
		doc_put_key(buf, names[j], j == 0);
		doc_put_float8(buf, v[j]);
	}
	appendStringInfoChar(buf, '}');
}

/* a float8 vector as a JSON array */
void
doc_put_float8_array(StringInfo buf, const double *v, int n)
{
	int			j;

	appendStringInfoChar(buf, '[');
	for (j = 0; j < n; j++)
	{
		if (j > 0)
			appendStringInfoChar(buf, ',');
		doc_put_float8(buf, v[j]);
	}
	appendStringInfoChar(buf, ']');
}

/* rows × f float4 factors as an array of arrays */
void
doc_put_factors(StringInfo buf, const float *x, int rows, int f)
{
	int			r,
				k;

	appendStringInfoChar(buf, '[');
	for (r = 0; r < rows; r++)
	{
		CHECK_FOR_INTERRUPTS();
		appendStringInfoString(buf, r > 0 ? ",[" : "[");
		for (k = 0; k < f; k++)
		{
			if (k > 0)
				appendStringInfoChar(buf, ',');
			doc_put_float4(buf, x[(Size) r * f + k]);
		}
		appendStringInfoChar(buf, ']');
	}
	appendStringInfoChar(buf, ']');
}

/* int64 ids as a JSON array */
void
doc_put_ids(StringInfo buf, const int64 *ids, int n)
{
	int			j;

	appendStringInfoChar(buf, '[');
	for (j = 0; j < n; j++)
		appendStringInfo(buf, j > 0 ? ",%" PRId64 : "%" PRId64, ids[j]);
	appendStringInfoChar(buf, ']');
}

/* a document that is not what it should be */
void
doc_invalid(const char *path, const char *problem)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("invalid model document: \"%s\" %s", path, problem)));
}

/* path[index] or path */
char *
doc_elem_path(const char *path, int index)
{
	return index < 0 ? pstrdup(path) : psprintf("%s[%d]", path, index);
}

/* path.key */
char *
doc_key_path(const char *path, const char *key)
{
	return path[0] ? psprintf("%s.%s", path, key) : pstrdup(key);
}

/* obj.key, or NULL (also for a JSON null) unless required */
JsonbValue *
doc_get_key(JsonbContainer *obj, const char *path, const char *key, bool required)
{
	JsonbValue *v = getKeyJsonValueFromContainer(obj, key, strlen(key), NULL);

	if (v == NULL || v->type == jbvNull)
	{
		if (required)
			doc_invalid(doc_key_path(path, key), v == NULL ? "is missing" : "must not be null");
		return NULL;
	}
	return v;
}

/* a JSON object or array value's container */
JsonbContainer *
doc_as_container(JsonbValue *v, bool object, const char *path, int index)
{
	if (v->type != jbvBinary ||
		(object ? !JsonContainerIsObject(v->val.binary.data) : !JsonContainerIsArray(v->val.binary.data)))
		doc_invalid(doc_elem_path(path, index), object ? "must be a JSON object" : "must be a JSON array");
	return v->val.binary.data;
}

/* an array of exactly n elements (n < 0: any length) */
JsonbContainer *
doc_as_array(JsonbValue *v, int n, const char *path)
{
	JsonbContainer *c = doc_as_container(v, false, path, -1);

	if (n >= 0 && (int) JsonContainerSize(c) != n)
		doc_invalid(path, psprintf("must have %d elements, not %d", n, (int) JsonContainerSize(c)));
	return c;
}

/* element i of an array container */
JsonbValue *
doc_elem(JsonbContainer *c, int i)
{
	JsonbValue *v = getIthJsonbValueFromContainer(c, i);

	if (v == NULL)
		elog(ERROR, "array element %d not found", i);
	return v;
}

char *
doc_as_string(JsonbValue *v, const char *path, int index)
{
	if (v->type != jbvString)
		doc_invalid(doc_elem_path(path, index), "must be a JSON string");
	return pnstrdup(v->val.string.val, v->val.string.len);
}

/*
 * The decimal text of a JSON number parsed as float8 (or float4): strtod and
 * strtof round correctly, so the shortest decimal form of a value gives it
 * back exactly. Out of range (overflow, or underflow to zero of a non-zero
 * value) is an error, as in float8in.
 */
static double
doc_as_float(JsonbValue *v, const char *path, int index, bool single)
{
	char	   *text,
			   *end;
	double		d;

	if (v->type != jbvNumeric)
		doc_invalid(doc_elem_path(path, index), "must be a JSON number");
	text = DatumGetCString(DirectFunctionCall1(numeric_out, NumericGetDatum(v->val.numeric)));
	errno = 0;
	d = single ? (double) strtof(text, &end) : strtod(text, &end);
	if (*end != '\0' || end == text)
		doc_invalid(doc_elem_path(path, index), "must be a JSON number");
	if ((errno == ERANGE && (d == 0.0 || isinf(d))) || !isfinite(d))
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("invalid model document: \"%s\" is out of range for type %s",
						doc_elem_path(path, index), single ? "real" : "double precision")));
	return d;
}

double
doc_as_float8(JsonbValue *v, const char *path, int index)
{
	return doc_as_float(v, path, index, false);
}

/* recommender factors are float4 */
float
doc_as_float4(JsonbValue *v, const char *path, int index)
{
	return (float) doc_as_float(v, path, index, true);
}

/* a JSON number that is an integer in [lo, hi] */
int64
doc_as_int(JsonbValue *v, int64 lo, int64 hi, const char *path, int index)
{
	Datum		n;
	int64		i;

	if (v->type != jbvNumeric)
		doc_invalid(doc_elem_path(path, index), "must be a JSON number");
	n = NumericGetDatum(v->val.numeric);
	if (DatumGetBool(DirectFunctionCall2(numeric_ne, n,
										 DirectFunctionCall2(numeric_trunc, n, Int32GetDatum(0)))))
		doc_invalid(doc_elem_path(path, index), "must be an integer");
	i = DatumGetInt64(DirectFunctionCall1(numeric_int8, n));
	if (i < lo || i > hi)
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("invalid model document: \"%s\" is out of range", doc_elem_path(path, index)),
				 errdetail("It must be between " INT64_FORMAT " and " INT64_FORMAT ".", lo, hi)));
	return i;
}

/* required obj.key of a type */
JsonbContainer *
doc_key_object(JsonbContainer *obj, const char *path, const char *key)
{
	return doc_as_container(doc_get_key(obj, path, key, true), true, doc_key_path(path, key), -1);
}

char *
doc_key_string(JsonbContainer *obj, const char *path, const char *key)
{
	return doc_as_string(doc_get_key(obj, path, key, true), doc_key_path(path, key), -1);
}

double
doc_key_float8(JsonbContainer *obj, const char *path, const char *key)
{
	return doc_as_float8(doc_get_key(obj, path, key, true), doc_key_path(path, key), -1);
}

int64
doc_key_int(JsonbContainer *obj, const char *path, const char *key, int64 lo, int64 hi)
{
	return doc_as_int(doc_get_key(obj, path, key, true), lo, hi, doc_key_path(path, key), -1);
}

/* {"name": number, ...} with exactly the feature names as keys, in model order */
void
doc_named_vector(JsonbContainer *obj, const char *path, const char *key, char **names, int n,
			 double *out)
{
	char	   *p = doc_key_path(path, key);
	JsonbContainer *c = doc_key_object(obj, path, key);
	int			j;

	if ((int) JsonContainerSize(c) != n)
		doc_invalid(p, psprintf("must have one entry per feature (%d), not %d", n, (int) JsonContainerSize(c)));
	for (j = 0; j < n; j++)
		out[j] = doc_as_float8(doc_get_key(c, p, names[j], true), doc_key_path(p, names[j]), -1);
}

/* an array of n int64 ids, strictly increasing */
int64 *
doc_read_ids(JsonbContainer *obj, const char *path, int *n)
{
	char	   *p = doc_key_path(path, "ids");
	JsonbContainer *c = doc_as_array(doc_get_key(obj, path, "ids", true), -1, p);
	int64	   *ids;
	int			j;

	*n = JsonContainerSize(c);
	if (*n < 1)
		doc_invalid(p, "must not be empty");
	ids = palloc(sizeof(int64) * *n);
	for (j = 0; j < *n; j++)
	{
		ids[j] = doc_as_int(doc_elem(c, j), PG_INT64_MIN, PG_INT64_MAX, p, j);
		if (j > 0 && ids[j] <= ids[j - 1])
			doc_invalid(doc_elem_path(p, j), "must be greater than the id before it (ids are strictly increasing)");
	}
	return ids;
}

/* n float8 values */
double *
doc_read_float8s(JsonbContainer *obj, const char *path, const char *key, int n)
{
	char	   *p = doc_key_path(path, key);
	JsonbContainer *c = doc_as_array(doc_get_key(obj, path, key, true), n, p);
	double	   *out = palloc(sizeof(double) * n);
	int			j;

	for (j = 0; j < n; j++)
		out[j] = doc_as_float8(doc_elem(c, j), p, j);
	return out;
}

/* rows × f float4 factors (as float8 for AlsFit, which rounds them back exactly) */
double *
doc_read_factors(JsonbContainer *obj, const char *path, int rows, int f)
{
	char	   *p = doc_key_path(path, "factors");
	JsonbContainer *c = doc_as_array(doc_get_key(obj, path, "factors", true), rows, p);
	double	   *out = palloc(sizeof(double) * (Size) rows * f);
	int			r,
				k;

	for (r = 0; r < rows; r++)
	{
		char	   *rp = doc_elem_path(p, r);
		JsonbContainer *row = doc_as_array(doc_elem(c, r), f, rp);

		CHECK_FOR_INTERRUPTS();
		for (k = 0; k < f; k++)
			out[(Size) r * f + k] = (double) doc_as_float4(doc_elem(row, k), rp, k);
	}
	return out;
}
