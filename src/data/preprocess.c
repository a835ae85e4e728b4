/*
 * preprocess.c — the preprocessing a model carries with it: one-hot encoding
 * of categorical columns and imputation of missing numeric values.
 *
 * Vocabulary:
 *   categorical column  a text, varchar, char(n), enum or boolean feature
 *                       column. It expands to one 0/1 feature per category
 *                       seen in training ("col=value"), in byte order (C
 *                       collation) of the values' text forms, plus "col IS
 *                       NULL" when training saw NULLs. At scoring time a
 *                       value never seen in training encodes as all zeros.
 *   missing value       a NULL or NaN in a scalar numeric feature column (as
 *                       scikit-learn's SimpleImputer, NaN counts as missing).
 *   impute method       "mean" (default), "median", "zero" or "error"; the
 *                       imputed value of each scalar numeric column is part
 *                       of the model version and used by every predict path.
 *
 * What is stored: mlsys.model_versions.preprocessing, a jsonb object
 *   {"impute": method, "impute_values": {"col": v, ...},
 *    "categories": {"col": ["a", "b", null], ...}}
 * where null in a category list is the NULL category (always last). Numbers
 * are written in their shortest exact text form, so they round-trip.
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/float.h"
#include "utils/lsyscache.h"

#include "data/data.h"


/* is a column of this (base) type one-hot encoded? */
bool
preprocess_is_categorical_type(Oid typid)
{
	typid = getBaseType(typid);
	return typid == TEXTOID || typid == VARCHAROID || typid == BPCHAROID ||
		typid == BOOLOID || type_is_enum(typid);
}

static int
cstring_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *) a, *(char *const *) b);
}

/*
 * Set a categorical column's vocabulary from the distinct text forms seen
 * among rows with a target (has_null: one of them was NULL): sorted in byte
 * order and indexed. Past MLSYS_MAX_CATEGORIES the column is refused (an
 * identifier or free text is no category).
 */
void
preprocess_set_categories(FeatureColumn *c, char **values, int n, bool has_null,
						  const char *relsql)
{
	if (n > MLSYS_MAX_CATEGORIES)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("categorical feature \"%s\" has more than %d distinct values",
						c->name, MLSYS_MAX_CATEGORIES),
				 errhint("Leave identifiers and free text out of the features, or group rare values first.")));
	if (n + (has_null ? 1 : 0) == 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("relation \"%s\" has no rows with a non-null target to train on",
						mlsys_relation_name(DatumGetObjectId(DirectFunctionCall1(regclassin,
																				 CStringGetDatum(relsql)))))));
	c->cats = values;
	c->ncat = n;
	c->null_cat = has_null;
	qsort(c->cats, c->ncat, sizeof(char *), cstring_cmp);
	c->length = c->ncat + (c->null_cat ? 1 : 0);
	preprocess_index_categories(c);
}

/*
 * The vocabulary of a categorical column by a query of its own (SPI
 * connected): the distinct text forms among rows with a target. Training
 * reads vocabularies from one pass over all columns (models/passes.c) and
 * comes here only for a column with too many distinct values for that pass
 * to be sure of its labelled ones.
 */
void
preprocess_resolve_categories(FeatureColumn *c, const char *relsql, const char *target)
{
	char	   *sql;
	char	  **values;
	bool		has_null = false;
	int			n = 0;
	uint64		r;

	sql = psprintf("SELECT DISTINCT (%s)::pg_catalog.text FROM %s WHERE %s IS NOT NULL LIMIT %d",
				   quote_identifier(c->name), relsql, quote_identifier(target),
				   MLSYS_MAX_CATEGORIES + 2);
	if (SPI_execute(sql, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "SPI_execute failed: %s", sql);
	values = palloc(sizeof(char *) * Max(SPI_processed, 1));
	for (r = 0; r < SPI_processed; r++)
	{
		char	   *v = SPI_getvalue(SPI_tuptable->vals[r], SPI_tuptable->tupdesc, 1);

		if (v == NULL)
			has_null = true;
		else
			values[n++] = v;
	}
	SPI_freetuptable(SPI_tuptable);
	preprocess_set_categories(c, values, n, has_null, relsql);
}

/* the expanded feature name of category k of a column */
char *
preprocess_category_name(const FeatureColumn *c, int k)
{
	if (k == c->ncat)
		return psprintf("%s IS NULL", c->name);
	return psprintf("%s=%s", c->name, c->cats[k]);
}

/* does a training spec have any scalar numeric column that can be imputed? */
static bool
has_scalar_numeric(const FeatureSpec *spec)
{
	int			i;

	for (i = 0; i < spec->ncolumns; i++)
		if (!spec->columns[i].categorical && spec->columns[i].length == 0)
			return true;
	return false;
}

/*
 * Imputed values of every scalar numeric column when the training data has
 * missing values: the mean or median of the non-missing values among rows
 * with a target (both splits; the split of a row depends on its imputed
 * vector, so it cannot decide the statistics), or zero. SPI connected.
 */
void
preprocess_impute_from_data(FeatureSpec *spec, const char *relsql, const char *target)
{
	StringInfoData sql;
	int			i,
				k = 0;

	if (!has_scalar_numeric(spec))
		return;
	if (strcmp(spec->impute, "zero") == 0)
	{
		for (i = 0; i < spec->ncolumns; i++)
			if (!spec->columns[i].categorical && spec->columns[i].length == 0)
			{
				spec->columns[i].has_impute = true;
				spec->columns[i].impute = 0.0;
			}
		return;
	}
	initStringInfo(&sql);
	appendStringInfoString(&sql, "SELECT ");
	for (i = 0; i < spec->ncolumns; i++)
	{
		FeatureColumn *c = &spec->columns[i];
		const char *v;

		if (c->categorical || c->length != 0)
			continue;
		v = psprintf("mlsys._impute((%s)::pg_catalog.float8, NULL)", quote_identifier(c->name));
		if (k++ > 0)
			appendStringInfoString(&sql, ", ");
		if (strcmp(spec->impute, "median") == 0)
			appendStringInfo(&sql, "pg_catalog.percentile_cont(0.5) WITHIN GROUP (ORDER BY %s)", v);
		else
			appendStringInfo(&sql, "pg_catalog.avg(%s)", v);
	}
	appendStringInfo(&sql, " FROM %s WHERE %s IS NOT NULL", relsql, quote_identifier(target));
	if (SPI_execute(sql.data, true, 0) != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "SPI_execute failed: %s", sql.data);
	k = 0;
	for (i = 0; i < spec->ncolumns; i++)
	{
		FeatureColumn *c = &spec->columns[i];
		bool		isnull;
		Datum		d;

		if (c->categorical || c->length != 0)
			continue;
		d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, ++k, &isnull);
		if (isnull)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_EXCEPTION),
					 errmsg("feature \"%s\" has no non-missing values to impute from", c->name)));
		c->has_impute = true;
		c->impute = DatumGetFloat8(d);
	}
	SPI_freetuptable(SPI_tuptable);
}

/*
 * Imputed values when the training data had no missing values: the training
 * split's means from the first pass (means), zero, or the median (one query).
 */
void
preprocess_impute_from_means(FeatureSpec *spec, const double *means, const char *relsql,
							 const char *target)
{
	int			i,
				k = 0;

	if (strcmp(spec->impute, "median") == 0)
	{
		for (i = 0; i < spec->ncolumns; i++)
			if (!spec->columns[i].categorical && spec->columns[i].length == 0 &&
				!spec->columns[i].has_impute)
			{
				preprocess_impute_from_data(spec, relsql, target);
				break;
			}
		return;
	}
	for (i = 0; i < spec->ncolumns; i++)
	{
		FeatureColumn *c = &spec->columns[i];

		if (!c->categorical && c->length == 0 && !c->has_impute &&
			strcmp(spec->impute, "error") != 0)
		{
			c->has_impute = true;
			c->impute = strcmp(spec->impute, "zero") == 0 ? 0.0 : means[k];
		}
		k += c->length > 0 ? c->length : 1;
	}
}

/*
 * {"impute": "missing"}: a missing value stays missing (NaN) for a model
 * that routes it itself (boosted trees): every scalar numeric column
 * "imputes" NaN, and the encoder and scoring let NaN and NULL array
 * elements through
 */
void
preprocess_keep_missing(FeatureSpec *spec)
{
	int			i;

	spec->impute = "missing";
	spec->keep_missing = true;
	for (i = 0; i < spec->ncolumns; i++)
	{
		FeatureColumn *c = &spec->columns[i];

		if (!c->categorical && c->length == 0)
		{
			c->has_impute = true;
			c->impute = get_float8_nan();
		}
	}
}

/* the stored preprocessing object (JSON text) of a trained spec */
char *
preprocess_json(const FeatureSpec *spec)
{
	StringInfoData buf;
	int			i,
				k;
	bool		first = true;

	initStringInfo(&buf);
	appendStringInfoString(&buf, "{\"impute\": ");
	escape_json(&buf, spec->impute);
	appendStringInfoString(&buf, ", \"impute_values\": {");
	for (i = 0; i < spec->ncolumns; i++)
	{
		const FeatureColumn *c = &spec->columns[i];

		if (!c->has_impute || isnan(c->impute))
			continue;			/* NaN: kept missing ("missing") */
		if (!first)
			appendStringInfoString(&buf, ", ");
		first = false;
		escape_json(&buf, c->name);
		appendStringInfoString(&buf, ": ");
		mlsys_append_json_number(&buf, c->impute);
	}
	appendStringInfoString(&buf, "}, \"categories\": {");
	first = true;
	for (i = 0; i < spec->ncolumns; i++)
	{
		const FeatureColumn *c = &spec->columns[i];

		if (!c->categorical)
			continue;
		if (!first)
			appendStringInfoString(&buf, ", ");
		first = false;
		escape_json(&buf, c->name);
		appendStringInfoString(&buf, ": [");
		for (k = 0; k < c->ncat; k++)
		{
			if (k > 0)
				appendStringInfoString(&buf, ", ");
			escape_json(&buf, c->cats[k]);
		}
		if (c->null_cat)
			appendStringInfoString(&buf, c->ncat > 0 ? ", null" : "null");
		appendStringInfoChar(&buf, ']');
	}
	appendStringInfoString(&buf, "}}");
	return buf.data;
}

static void
corrupted(const char *what)
{
	ereport(ERROR,
			(errcode(ERRCODE_DATA_CORRUPTED),
			 errmsg("model version has an invalid preprocessing object"),
			 errdetail("%s", what)));
}

/* look up key in a jsonb object container, or NULL */
static JsonbValue *
object_field(JsonbContainer *obj, const char *key)
{
	JsonbValue	k;

	k.type = jbvString;
	k.val.string.val = (char *) key;
	k.val.string.len = strlen(key);
	return findJsonbValueFromContainer(obj, JB_FOBJECT, &k);
}

/*
 * Apply a stored preprocessing object to a spec read from the registry
 * (columns and lengths known): mark categorical columns with their
 * vocabularies and set imputed values. Checks everything it reads.
 */
void
preprocess_apply_json(FeatureSpec *spec, Jsonb *pp)
{
	JsonbValue *v,
			   *vals,
			   *cats;
	int			i;

	spec->impute = "error";
	if (pp == NULL)
		return;
	if (!JB_ROOT_IS_OBJECT(pp))
		corrupted("It is not a JSON object.");
	v = object_field(&pp->root, "impute");
	if (v != NULL && v->type == jbvString)
		spec->impute = pnstrdup(v->val.string.val, v->val.string.len);
	vals = object_field(&pp->root, "impute_values");
	cats = object_field(&pp->root, "categories");
	if ((vals != NULL && (vals->type != jbvBinary || !JsonContainerIsObject(vals->val.binary.data))) ||
		(cats != NULL && (cats->type != jbvBinary || !JsonContainerIsObject(cats->val.binary.data))))
		corrupted("\"impute_values\" and \"categories\" must be objects.");
	for (i = 0; i < spec->ncolumns; i++)
	{
		FeatureColumn *c = &spec->columns[i];
		JsonbValue *cv;

		if (vals != NULL && (cv = object_field(vals->val.binary.data, c->name)) != NULL)
		{
			if (cv->type != jbvNumeric)
				corrupted("An imputed value is not a number.");
			c->has_impute = true;
			c->impute = DatumGetFloat8(DirectFunctionCall1(numeric_float8,
														   NumericGetDatum(cv->val.numeric)));
		}
		if (cats != NULL && (cv = object_field(cats->val.binary.data, c->name)) != NULL)
		{
			int			n,
						k;

			if (cv->type != jbvBinary || !JsonContainerIsArray(cv->val.binary.data))
				corrupted("A category list is not an array.");
			n = JsonContainerSize(cv->val.binary.data);
			c->categorical = true;
			c->cats = palloc(sizeof(char *) * Max(n, 1));
			c->ncat = 0;
			c->null_cat = false;
			for (k = 0; k < n; k++)
			{
				JsonbValue *e = getIthJsonbValueFromContainer(cv->val.binary.data, k);

				if (e->type == jbvNull && k == n - 1)
					c->null_cat = true;
				else if (e->type == jbvString)
				{
					c->cats[c->ncat] = pnstrdup(e->val.string.val, e->val.string.len);
					if (c->ncat > 0 && strcmp(c->cats[c->ncat - 1], c->cats[c->ncat]) >= 0)
						corrupted("A category list is not in byte order.");
					c->ncat++;
				}
				else
					corrupted("A category is not a string.");
			}
			if (c->length != c->ncat + (c->null_cat ? 1 : 0))
				corrupted("A category list does not match the feature lengths.");
			preprocess_index_categories(c);
		}
	}
	if (strcmp(spec->impute, "missing") == 0)
		preprocess_keep_missing(spec);
}

PG_FUNCTION_INFO_V1(onehot_encode);
/*
 * mlsys._onehot(value text, categories text[], null_category bool) → float8[]:
 * the one-hot encoding of a categorical value during training. The sorted
 * vocabulary is kept in fn_extra for the whole query.
 */
Datum
onehot_encode(PG_FUNCTION_ARGS)
{
	FeatureColumn *c = (FeatureColumn *) fcinfo->flinfo->fn_extra;
	double	   *out;
	char	   *value;

	if (c == NULL)
	{
		MemoryContext old = MemoryContextSwitchTo(fcinfo->flinfo->fn_mcxt);
		Datum	   *elems;
		bool	   *nulls;
		int			n,
					k;

		if (PG_ARGISNULL(1) || PG_ARGISNULL(2))
			elog(ERROR, "mlsys._onehot needs categories");
		c = palloc0(sizeof(FeatureColumn));
		c->name = "?";
		deconstruct_array(PG_GETARG_ARRAYTYPE_P(1), TEXTOID, -1, false, TYPALIGN_INT,
						  &elems, &nulls, &n);
		c->cats = palloc(sizeof(char *) * Max(n, 1));
		for (k = 0; k < n; k++)
		{
			if (nulls[k])
				elog(ERROR, "mlsys._onehot categories must not contain nulls");
			c->cats[k] = TextDatumGetCString(elems[k]);
			if (k > 0 && strcmp(c->cats[k - 1], c->cats[k]) >= 0)
				elog(ERROR, "mlsys._onehot categories must be in byte order");
		}
		c->ncat = n;
		c->null_cat = PG_GETARG_BOOL(2);
		c->length = n + (c->null_cat ? 1 : 0);
		c->categorical = true;
		preprocess_index_categories(c);
		MemoryContextSwitchTo(old);
		fcinfo->flinfo->fn_extra = c;
	}
	out = palloc(sizeof(double) * Max(c->length, 1));
	value = PG_ARGISNULL(0) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(0));
	preprocess_encode_category(c, value, out);
	PG_RETURN_ARRAYTYPE_P(mlsys_float8_array(out, c->length));
}

PG_FUNCTION_INFO_V1(impute_value);
/* mlsys._impute(value float8, fill float8) → float8: fill when value is NULL or NaN */
Datum
impute_value(PG_FUNCTION_ARGS)
{
	if (PG_ARGISNULL(0) || isnan(PG_GETARG_FLOAT8(0)))
	{
		if (PG_ARGISNULL(1))
			PG_RETURN_NULL();
		PG_RETURN_FLOAT8(PG_GETARG_FLOAT8(1));
	}
	PG_RETURN_FLOAT8(PG_GETARG_FLOAT8(0));
}
