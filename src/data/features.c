/*
 * features.c — the feature spec: which columns a model reads and how a row,
 * a float8[] or a jsonb object becomes the model's feature vector.
 *
 * A feature column is a numeric column (int2, int4, int8, float4, float8,
 * numeric), a fixed-length float8[] column that expands to one feature per
 * element, named "col[1]", "col[2]", ..., or a categorical column (text,
 * varchar, char, enum, boolean) that expands to one-hot features (see
 * preprocess.c, which also owns the imputation of missing numeric values).
 * Domains over these types are accepted. The spec stored with a model version
 * is the list of source columns and their lengths (0 for a scalar); scoring
 * looks columns up by name, so other columns of a row are ignored.
 */
#include "postgres.h"

#include <math.h>

#include "access/htup_details.h"
#include "catalog/pg_attribute.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/float.h"
#include "common/shortest_dec.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/syscache.h"

#include "data/data.h"

/*
 * Ask the CPU for the bytes where the next rows of a scan most likely lie. A
 * heap page fills from its end down and a sequential scan returns its tuples
 * in line-pointer order, so in a table filled by inserts the next row lies
 * just below the current one; a training pass would otherwise wait on memory
 * at each row's first touch of its features (perf put 40 % of the content
 * hash's time on its first load). About two rows' worth below the feature
 * array (its size, plus room for a row's other columns) are prefetched, at
 * most 1 KB. It is only a hint: where the guess is wrong (an array built by
 * an expression, a page of updated rows) a prefetch costs a cache line and
 * never faults. On the benchmark's 1M rows it takes 25 ms off each pass.
 */
static inline void
prefetch_next_rows(const char *body, Size array_size)
{
#if defined(__GNUC__) || defined(__clang__)
	uintptr_t	at = (uintptr_t) body;
	Size		span = Min(2 * (array_size + 64), 1024);
	Size		off;

	for (off = 64; off <= span && off < at; off += 64)
		__builtin_prefetch((const void *) (at - off));
#endif
}

/* read a float8[] datum in place (no copy unless it is toasted) */
void
mlsys_array_view(Datum d, Float8ArrayView *view)
{
	struct varlena *ptr = (struct varlena *) DatumGetPointer(d);
	const char *body;
	const char *start;			/* where the ArrayType struct would start */
	int32		ndim,
				dataoffset,
				dim0;
	Oid			elemtype;

	if (VARATT_IS_EXTERNAL(ptr) || VARATT_IS_COMPRESSED(ptr))
		ptr = pg_detoast_datum(ptr);
	body = VARDATA_ANY(ptr);
	start = body - VARHDRSZ;
	prefetch_next_rows(body, VARSIZE_ANY(ptr));
	memcpy(&ndim, start + offsetof(ArrayType, ndim), sizeof(int32));
	memcpy(&dataoffset, start + offsetof(ArrayType, dataoffset), sizeof(int32));
	memcpy(&elemtype, start + offsetof(ArrayType, elemtype), sizeof(Oid));
	if (elemtype != FLOAT8OID)
		elog(ERROR, "expected a float8 array, got element type %u", elemtype);
	view->ndim = ndim;
	view->hasnull = false;
	if (ndim == 0)
	{
		view->n = 0;
		view->data = NULL;
		return;
	}
	if (ndim != 1)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("feature vector must be a one-dimensional array, not %d-dimensional", ndim)));
	memcpy(&dim0, start + sizeof(ArrayType), sizeof(int32));
	view->n = dim0;
	if (dataoffset != 0)
	{
		/* a null bitmap (e.g. a slice of an array with nulls): any null really set? */
		const bits8 *bitmap = (const bits8 *) (start + sizeof(ArrayType) + 2 * sizeof(int));
		int			i;

		for (i = 0; i < dim0; i++)
			if (!(bitmap[i / 8] & (1 << (i % 8))))
				view->hasnull = true;
		view->data = start + dataoffset;
	}
	else
		view->data = start + ARR_OVERHEAD_NONULLS(1);
}

/* copy a float8[] of exactly `expected` finite, non-null values into out */
void
mlsys_array_copy(Datum d, double *out, int expected, const char *what)
{
	Float8ArrayView v;

	mlsys_array_view(d, &v);
	if (v.hasnull)
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s must not contain nulls", what)));
	if (v.n != expected)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("%s has %d elements, expected %d", what, v.n, expected)));
	memcpy(out, v.data, sizeof(double) * (Size) expected);
}

/* can a column of this type be a feature? (float8[] sets *is_array) */
bool
features_type_supported(Oid typid, bool *is_array)
{
	typid = getBaseType(typid);
	*is_array = (typid == FLOAT8ARRAYOID);
	switch (typid)
	{
		case INT2OID:
		case INT4OID:
		case INT8OID:
		case FLOAT4OID:
		case FLOAT8OID:
		case NUMERICOID:
		case BOOLOID:
		case FLOAT8ARRAYOID:
			return true;
		default:
			return false;
	}
}

/* a scalar feature value as float8 (basetypid: a supported scalar base type) */
double
features_coerce(Datum value, Oid basetypid, const char *colname)
{
	switch (basetypid)
	{
		case INT2OID:
			return (double) DatumGetInt16(value);
		case INT4OID:
			return (double) DatumGetInt32(value);
		case INT8OID:
			return (double) DatumGetInt64(value);
		case FLOAT4OID:
			return (double) DatumGetFloat4(value);
		case FLOAT8OID:
			return DatumGetFloat8(value);
		case NUMERICOID:
			return DatumGetFloat8(DirectFunctionCall1(numeric_float8, value));
		case BOOLOID:
			return DatumGetBool(value) ? 1.0 : 0.0;
		default:
			ereport(ERROR,
					(errcode(ERRCODE_DATATYPE_MISMATCH),
					 errmsg("column \"%s\" has type %s, which cannot be a feature",
							colname, format_type_be(basetypid))));
	}
	return 0.0;					/* keep the compiler quiet */
}

/* fill in the expanded feature names of a spec whose columns are known */
void
features_expand_names(FeatureSpec *spec)
{
	int			i,
				k,
				n = 0;

	for (i = 0; i < spec->ncolumns; i++)
		n += spec->columns[i].length > 0 ? spec->columns[i].length : 1;
	if (n > MLSYS_MAX_FEATURES)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("a model can have at most %d features, these columns give %d",
						MLSYS_MAX_FEATURES, n)));
	spec->nfeat = n;
	spec->names = palloc(sizeof(char *) * n);
	n = 0;
	for (i = 0; i < spec->ncolumns; i++)
	{
		FeatureColumn *c = &spec->columns[i];

		if (c->categorical)
			for (k = 0; k < c->length; k++)
				spec->names[n++] = preprocess_category_name(c, k);
		else if (c->length == 0)
			spec->names[n++] = c->name;
		else
			for (k = 1; k <= c->length; k++)
				spec->names[n++] = psprintf("%s[%d]", c->name, k);
	}
}

/* look up one column of relid for use as a feature */
static void
feature_column_lookup(Oid relid, const char *name, FeatureColumn *col)
{
	AttrNumber	attnum = get_attnum(relid, name);
	bool		is_array;

	if (attnum == InvalidAttrNumber || attnum < 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_COLUMN),
				 errmsg("column \"%s\" of relation \"%s\" does not exist",
						name, get_rel_name(relid))));
	col->name = pstrdup(name);
	col->typid = get_atttype(relid, attnum);
	if (preprocess_is_categorical_type(col->typid))
	{
		col->categorical = true;
		col->length = -1;		/* the vocabulary comes from the data */
		return;
	}
	if (!features_type_supported(col->typid, &is_array))
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("column \"%s\" has type %s, which cannot be a feature",
						name, format_type_be(col->typid)),
				 errdetail("Features must be numeric, boolean, text, enum or float8[] columns."),
				 errhint("Pass the features argument to choose the feature columns.")));
	col->length = is_array ? -1 : 0;	/* array lengths come from the data */
}

/*
 * The training spec from the catalog: the named feature columns, or every
 * column but the target when features is NULL. Array lengths are left at -1
 * for features_resolve_lengths.
 */
FeatureSpec *
features_from_catalog(Oid relid, const char *target, ArrayType *features)
{
	FeatureSpec *spec = palloc0(sizeof(FeatureSpec));
	int			i,
				j;

	if (features != NULL)
	{
		Datum	   *elems;
		bool	   *nulls;
		int			n;

		if (ARR_NDIM(features) > 1)
			ereport(ERROR,
					(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
					 errmsg("features must be a one-dimensional array of column names")));
		deconstruct_array(features, TEXTOID, -1, false, TYPALIGN_INT, &elems, &nulls, &n);
		if (n == 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("features must name at least one column")));
		spec->columns = palloc0(sizeof(FeatureColumn) * n);
		for (i = 0; i < n; i++)
		{
			char	   *name;

			if (nulls[i])
				ereport(ERROR,
						(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
						 errmsg("features must not contain nulls")));
			name = text_to_cstring(DatumGetTextPP(elems[i]));
			if (strcmp(name, target) == 0)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("column \"%s\" cannot be both the target and a feature", name)));
			for (j = 0; j < i; j++)
				if (strcmp(spec->columns[j].name, name) == 0)
					ereport(ERROR,
							(errcode(ERRCODE_DUPLICATE_COLUMN),
							 errmsg("feature column \"%s\" is listed more than once", name)));
			feature_column_lookup(relid, name, &spec->columns[i]);
		}
		spec->ncolumns = n;
	}
	else
	{
		HeapTuple	reltup = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
		int			natts;

		if (!HeapTupleIsValid(reltup))
			elog(ERROR, "cache lookup failed for relation %u", relid);
		natts = ((Form_pg_class) GETSTRUCT(reltup))->relnatts;
		ReleaseSysCache(reltup);
		spec->columns = palloc0(sizeof(FeatureColumn) * Max(natts, 1));
		for (i = 1; i <= natts; i++)
		{
			HeapTuple	atttup = SearchSysCache2(ATTNUM, ObjectIdGetDatum(relid),
												 Int16GetDatum(i));
			Form_pg_attribute att;
			char	   *name;

			if (!HeapTupleIsValid(atttup))
				continue;
			att = (Form_pg_attribute) GETSTRUCT(atttup);
			name = pstrdup(NameStr(att->attname));
			if (att->attisdropped || strcmp(name, target) == 0)
			{
				ReleaseSysCache(atttup);
				continue;
			}
			ReleaseSysCache(atttup);
			feature_column_lookup(relid, name, &spec->columns[spec->ncolumns++]);
		}
		if (spec->ncolumns == 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("relation \"%s\" has no columns besides the target", get_rel_name(relid))));
	}
	return spec;
}

/*
 * Find the length of each float8[] feature column from its first non-null
 * value in a row with a target (SPI must be connected; relsql is the quoted
 * relation name), then expand the feature names. Every training row is
 * checked against these lengths.
 */
void
features_resolve_lengths(FeatureSpec *spec, const char *relsql, const char *target)
{
	int			i;

	for (i = 0; i < spec->ncolumns; i++)
	{
		FeatureColumn *c = &spec->columns[i];
		char	   *sql;
		bool		isnull;
		Datum		d;

		if (c->length >= 0 || c->categorical)
			continue;
		sql = psprintf("SELECT pg_catalog.array_length(%s, 1) FROM %s WHERE %s IS NOT NULL AND %s IS NOT NULL LIMIT 1",
					   quote_identifier(c->name), relsql, quote_identifier(c->name),
					   quote_identifier(target));
		if (SPI_execute(sql, true, 1) != SPI_OK_SELECT)
			elog(ERROR, "SPI_execute failed: %s", sql);
		if (SPI_processed == 0)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_EXCEPTION),
					 errmsg("feature column \"%s\" has no non-null values", c->name)));
		d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
		if (isnull || DatumGetInt32(d) < 1)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_EXCEPTION),
					 errmsg("feature column \"%s\" holds empty arrays", c->name)));
		c->length = DatumGetInt32(d);
		if (c->length > MLSYS_MAX_FEATURES)
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("feature column \"%s\" has %d elements, the limit is %d",
							c->name, c->length, MLSYS_MAX_FEATURES)));
	}
}

/* per expanded feature: is it one of a categorical column's one-hot features? */
bool *
features_onehot_mask(const FeatureSpec *spec)
{
	bool	   *mask = palloc0(sizeof(bool) * Max(spec->nfeat, 1));
	int			i,
				k = 0,
				j;

	for (i = 0; i < spec->ncolumns; i++)
	{
		int			len = spec->columns[i].length > 0 ? spec->columns[i].length : 1;

		for (j = 0; j < len; j++)
			mask[k++] = spec->columns[i].categorical;
	}
	return mask;
}

/* an array's text form */
static char *
array_literal(Datum array)
{
	/* array_out caches in fn_extra: it needs a real FmgrInfo */
	return OidOutputFunctionCall(F_ARRAY_OUT, array);
}

/*
 * The SQL expression that yields a row's feature vector as float8[]: a single
 * float8[] column as it is, else one call of the encoder, mlsys._encode
 * (encode.c), given the spec as constants and the feature columns.
 */
char *
features_sql_vector(const FeatureSpec *spec)
{
	StringInfoData buf;
	char	  **names = palloc(sizeof(char *) * spec->ncolumns);
	Datum	   *lengths = palloc(sizeof(Datum) * spec->ncolumns);
	ArrayType  *lens;
	int			i;

	if (spec->ncolumns == 1 && spec->columns[0].length > 0 && !spec->columns[0].categorical &&
		getBaseType(spec->columns[0].typid) == FLOAT8ARRAYOID)
		return pstrdup(quote_identifier(spec->columns[0].name));

	for (i = 0; i < spec->ncolumns; i++)
	{
		names[i] = spec->columns[i].name;
		lengths[i] = Int32GetDatum(spec->columns[i].length);
	}
	initStringInfo(&buf);
	lens = construct_array(lengths, spec->ncolumns, INT4OID, 4, true, TYPALIGN_INT);
	appendStringInfo(&buf, "mlsys._encode(%s::pg_catalog.text[], %s::pg_catalog.int4[], "
					 "%s::pg_catalog.jsonb",
					 quote_literal_cstr(array_literal(mlsys_cstring_array(names, spec->ncolumns))),
					 quote_literal_cstr(array_literal(PointerGetDatum(lens))),
					 quote_literal_cstr(preprocess_json(spec)));
	for (i = 0; i < spec->ncolumns; i++)
		appendStringInfo(&buf, ", %s", quote_identifier(spec->columns[i].name));
	appendStringInfoChar(&buf, ')');
	return buf.data;
}

/* the spec stored with a model version: column names and lengths (0 = scalar) */
FeatureSpec *
features_from_arrays(ArrayType *columns, ArrayType *lengths, Jsonb *preprocessing)
{
	FeatureSpec *spec = palloc0(sizeof(FeatureSpec));
	Datum	   *names,
			   *lens;
	bool	   *nn,
			   *nl;
	int			n,
				nlen,
				i;

	deconstruct_array(columns, TEXTOID, -1, false, TYPALIGN_INT, &names, &nn, &n);
	deconstruct_array(lengths, INT4OID, 4, true, TYPALIGN_INT, &lens, &nl, &nlen);
	if (n != nlen || n == 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("model version has an invalid feature spec")));
	spec->ncolumns = n;
	spec->columns = palloc0(sizeof(FeatureColumn) * n);
	for (i = 0; i < n; i++)
	{
		if (nn[i] || nl[i] || DatumGetInt32(lens[i]) < 0 ||
			DatumGetInt32(lens[i]) > MLSYS_MAX_FEATURES)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("model version has an invalid feature spec")));
		spec->columns[i].name = text_to_cstring(DatumGetTextPP(names[i]));
		spec->columns[i].length = DatumGetInt32(lens[i]);
		spec->columns[i].typid = InvalidOid;
	}
	preprocess_apply_json(spec, preprocessing);
	features_expand_names(spec);
	return spec;
}

/* a float8[] already in model order: length, nulls and finiteness checked */
void
features_from_float8_array(const FeatureSpec *spec, Datum arr, double *out)
{
	features_array_into(spec, arr, out, spec->nfeat, "feature vector");
	features_check_vector(spec, out);
}

/*
 * A float8[] value into out (n elements, else an error naming it as what);
 * NULL elements are missing values (NaN) for a spec that keeps them
 */
void
features_array_into(const FeatureSpec *spec, Datum arr, double *out, int n, const char *what)
{
	Float8ArrayView v;

	mlsys_array_view(arr, &v);
	if (spec->keep_missing && v.hasnull && v.ndim == 1 && v.n == n)
	{
		Datum	   *elems;
		bool	   *nulls;
		int			m,
					j;

		deconstruct_array(DatumGetArrayTypeP(arr), FLOAT8OID, 8, FLOAT8PASSBYVAL,
						  TYPALIGN_DOUBLE, &elems, &nulls, &m);
		for (j = 0; j < m; j++)
			out[j] = nulls[j] ? get_float8_nan() : DatumGetFloat8(elems[j]);
	}
	else
		mlsys_array_copy(arr, out, n, what);
}

/*
 * A feature vector's values must be finite, except NaN (missing) for a
 * model that learns missing values ({"impute": "missing"})
 */
void
features_check_vector(const FeatureSpec *spec, const double *x)
{
	int			j;

	if (!spec->keep_missing)
	{
		mlsys_check_finite_vector(x, spec->nfeat, (const char *const *) spec->names);
		return;
	}
	for (j = 0; j < spec->nfeat; j++)
		if (isinf(x[j]))
			mlsys_check_finite_vector(x + j, 1, (const char *const *) spec->names + j);
}

/* one jsonb value as a float8 feature value (NaN for a JSON null) */
static double
jsonb_feature_value(JsonbValue *v, const char *name)
{
	switch (v->type)
	{
		case jbvNumeric:
			return DatumGetFloat8(DirectFunctionCall1(numeric_float8,
													  NumericGetDatum(v->val.numeric)));
		case jbvBool:
			return v->val.boolean ? 1.0 : 0.0;
		case jbvNull:
			return get_float8_nan();
		default:
			ereport(ERROR,
					(errcode(ERRCODE_DATATYPE_MISMATCH),
					 errmsg("feature \"%s\" must be a JSON number or boolean", name)));
	}
	return 0.0;
}

/* a jsonb value as a category's text form (NULL for a JSON null) */
static char *
jsonb_category_value(JsonbValue *v, const char *name)
{
	switch (v->type)
	{
		case jbvString:
			return pnstrdup(v->val.string.val, v->val.string.len);
		case jbvBool:
			return v->val.boolean ? "true" : "false";
		case jbvNumeric:
			return DatumGetCString(DirectFunctionCall1(numeric_out, NumericGetDatum(v->val.numeric)));
		case jbvNull:
			return NULL;
		default:
			ereport(ERROR,
					(errcode(ERRCODE_DATATYPE_MISMATCH),
					 errmsg("feature \"%s\" must be a JSON string, number, boolean or null", name)));
	}
	return NULL;
}

/*
 * A missing scalar numeric value (NULL or NaN): the stored imputed value, or
 * an error when the model has none (impute "error").
 */
double
features_missing_value(const FeatureColumn *c)
{
	if (!c->has_impute)
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("feature \"%s\" must not be null", c->name),
				 errdetail("The model was trained with {\"impute\": \"error\"}.")));
	return c->impute;
}

/* a jsonb object keyed by source column name (arrays for float8[] columns) */
void
features_from_jsonb(const FeatureSpec *spec, Datum jsonb, double *out)
{
	Jsonb	   *jb = DatumGetJsonbP(jsonb);
	int			i,
				k = 0;

	if (!JB_ROOT_IS_OBJECT(jb))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("features must be a JSON object keyed by column name")));
	for (i = 0; i < spec->ncolumns; i++)
	{
		const FeatureColumn *c = &spec->columns[i];
		JsonbValue	key;
		JsonbValue *v;

		key.type = jbvString;
		key.val.string.val = c->name;
		key.val.string.len = strlen(c->name);
		v = findJsonbValueFromContainer(&jb->root, JB_FOBJECT, &key);
		if (v == NULL && !c->categorical && !(c->length == 0 && c->has_impute))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("feature \"%s\" is missing from the JSON object", c->name)));
		if (c->categorical)
		{
			/* an absent key is a NULL */
			preprocess_encode_category(c, v == NULL ? NULL : jsonb_category_value(v, c->name),
									   out + k);
			k += c->length;
		}
		else if (c->length == 0)
		{
			double		x = v == NULL ? get_float8_nan() : jsonb_feature_value(v, c->name);

			out[k++] = isnan(x) ? features_missing_value(c) : x;
		}
		else
		{
			int			j,
						n;

			if (v->type != jbvBinary || !JsonContainerIsArray(v->val.binary.data))
				ereport(ERROR,
						(errcode(ERRCODE_DATATYPE_MISMATCH),
						 errmsg("feature \"%s\" must be a JSON array of %d numbers",
								c->name, c->length)));
			n = JsonContainerSize(v->val.binary.data);
			if (n != c->length)
				ereport(ERROR,
						(errcode(ERRCODE_DATA_EXCEPTION),
						 errmsg("feature \"%s\" has %d elements, expected %d",
								c->name, n, c->length)));
			for (j = 0; j < n; j++)
			{
				JsonbValue *e = getIthJsonbValueFromContainer(v->val.binary.data, j);

				if (e->type == jbvNull && !spec->keep_missing)
					ereport(ERROR,
							(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
							 errmsg("feature \"%s\" must not be null", spec->names[k])));
				out[k] = jsonb_feature_value(e, spec->names[k]);
				k++;
			}
		}
	}
	features_check_vector(spec, out);
}

PG_FUNCTION_INFO_V1(feature_array_checked);
/*
 * mlsys._feature_array(a float8[], n int, name text) → float8[]: a float8[]
 * feature column's value, checked to be non-null with exactly n elements.
 */
Datum
feature_array_checked(PG_FUNCTION_ARGS)
{
	Float8ArrayView v;
	char	   *name = PG_ARGISNULL(2) ? "?" : text_to_cstring(PG_GETARG_TEXT_PP(2));

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("feature \"%s\" must not be null", name),
				 errhint("Filter out rows with null features before training.")));
	mlsys_array_view(PG_GETARG_DATUM(0), &v);
	if (v.n != PG_GETARG_INT32(1))
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("feature \"%s\" has %d elements, expected %d",
						name, v.n, PG_GETARG_INT32(1)),
				 errdetail("A float8[] feature column must have the same length in every row.")));
	PG_RETURN_DATUM(PG_GETARG_DATUM(0));
}
