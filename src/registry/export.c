/*
 * export.c — mlsys.export_model(): a model version as a self-contained,
 * human-readable jsonb document (the model document, see registry.h; import.c
 * reads it back).
 *
 * Exactness: every float8 is written in its shortest exact decimal form
 * (Ryu, double_to_shortest_decimal_buf — independent of extra_float_digits),
 * which jsonb keeps as an exact numeric; numeric → float8 (strtod of that
 * decimal) gives back the identical double. The float4 factors of a
 * recommender are written in their shortest float4 form and read back with
 * numeric → float4, which again is exact. So export → import rebuilds the
 * parameter blob byte for byte (the families' serialize functions) and scores
 * identically. The one value JSON cannot carry is a negative zero, which
 * comes back as zero (it scores the same).
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "common/shortest_dec.h"
#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"

#include "registry/registry.h"

/* ------------------------------------------------------------------------
 * Writing
 * ------------------------------------------------------------------------ */

/* a text datum as a JSON string, or null */
static void
put_text_datum(StringInfo buf, Datum d, bool isnull)
{
	if (isnull)
		appendStringInfoString(buf, "null");
	else
		escape_json(buf, TextDatumGetCString(d));
}

/* a jsonb datum as JSON text, or null */
static void
put_jsonb_datum(StringInfo buf, Datum d, bool isnull)
{
	Jsonb	   *j;

	if (isnull)
	{
		appendStringInfoString(buf, "null");
		return;
	}
	j = DatumGetJsonbP(d);
	appendStringInfoString(buf, JsonbToCString(NULL, &j->root, VARSIZE(j)));
}

/* a text[] or int4[] datum as a JSON array, or null */
static void
put_array_datum(StringInfo buf, Datum d, bool isnull, Oid elemtype)
{
	Datum	   *elems;
	bool	   *nulls;
	int			n,
				i;

	if (isnull)
	{
		appendStringInfoString(buf, "null");
		return;
	}
	if (elemtype == TEXTOID)
		deconstruct_array(DatumGetArrayTypeP(d), TEXTOID, -1, false, TYPALIGN_INT,
						  &elems, &nulls, &n);
	else
		deconstruct_array(DatumGetArrayTypeP(d), INT4OID, 4, true, TYPALIGN_INT,
						  &elems, &nulls, &n);
	appendStringInfoChar(buf, '[');
	for (i = 0; i < n; i++)
	{
		if (i > 0)
			appendStringInfoChar(buf, ',');
		if (nulls[i])
			appendStringInfoString(buf, "null");
		else if (elemtype == TEXTOID)
			escape_json(buf, TextDatumGetCString(elems[i]));
		else
			appendStringInfo(buf, "%d", DatumGetInt32(elems[i]));
	}
	appendStringInfoChar(buf, ']');
}

static int
cstring_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *) a, *(char *const *) b);
}

/* the expanded feature names of a text[] datum; they must be distinct to be keys */
static char **
feature_names(Datum d, int *n)
{
	Datum	   *elems;
	bool	   *nulls;
	char	  **names,
			  **sorted;
	int			i;

	deconstruct_array(DatumGetArrayTypeP(d), TEXTOID, -1, false, TYPALIGN_INT,
					  &elems, &nulls, n);
	names = palloc(sizeof(char *) * Max(*n, 1));
	for (i = 0; i < *n; i++)
	{
		if (nulls[i])
			elog(ERROR, "model version has a null feature name");
		names[i] = TextDatumGetCString(elems[i]);
	}
	sorted = palloc(sizeof(char *) * Max(*n, 1));
	memcpy(sorted, names, sizeof(char *) * *n);
	qsort(sorted, *n, sizeof(char *), cstring_cmp);
	for (i = 1; i < *n; i++)
		if (strcmp(sorted[i - 1], sorted[i]) == 0)
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("cannot export a model with two features named \"%s\"", sorted[i]),
					 errdetail("The document names each coefficient by its feature.")));
	return names;
}

/* the elements of a text[] datum as C strings (NULL for a null element) */
static char **
text_array_items(Datum d, int *n)
{
	Datum	   *elems;
	bool	   *nulls;
	char	  **items;
	int			i;

	deconstruct_array(DatumGetArrayTypeP(d), TEXTOID, -1, false, TYPALIGN_INT, &elems, &nulls, n);
	items = palloc(sizeof(char *) * Max(*n, 1));
	for (i = 0; i < *n; i++)
		items[i] = nulls[i] ? NULL : TextDatumGetCString(elems[i]);
	return items;
}

/* a column of the version row by name */
static Datum
col(HeapTuple tup, TupleDesc desc, const char *name, bool *isnull)
{
	int			fno = SPI_fnumber(desc, name);

	if (fno <= 0)
		elog(ERROR, "column \"%s\" not found in mlsys.model_versions", name);
	return SPI_getbinval(tup, desc, fno, isnull);
}

/* "key": <text column> */
static void
put_text_col(StringInfo buf, HeapTuple tup, TupleDesc desc, const char *key, const char *name)
{
	bool		isnull;
	Datum		d = col(tup, desc, name, &isnull);

	doc_put_key(buf, key, false);
	put_text_datum(buf, d, isnull);
}

/* <text[] or int4[] column> */
static void
put_array_col(StringInfo buf, HeapTuple tup, TupleDesc desc, const char *name, Oid elemtype)
{
	bool		isnull;
	Datum		d = col(tup, desc, name, &isnull);

	put_array_datum(buf, d, isnull, elemtype);
}

/* "key": <jsonb column> */
static void
put_jsonb_col(StringInfo buf, HeapTuple tup, TupleDesc desc, const char *key, const char *name)
{
	bool		isnull;
	Datum		d = col(tup, desc, name, &isnull);

	doc_put_key(buf, key, false);
	put_jsonb_datum(buf, d, isnull);
}

/* "key": <any column in its text form, as a JSON number> */
static void
put_number_col(StringInfo buf, HeapTuple tup, TupleDesc desc, const char *key, const char *name)
{
	bool		isnull;
	Datum		d = col(tup, desc, name, &isnull);
	Oid			typ = SPI_gettypeid(desc, SPI_fnumber(desc, name));

	doc_put_key(buf, key, false);
	if (isnull)
		appendStringInfoString(buf, "null");
	else if (typ == FLOAT8OID)
		doc_put_float8(buf, DatumGetFloat8(d));
	else
		appendStringInfoString(buf, SPI_getvalue(tup, desc, SPI_fnumber(desc, name)));
}

PG_FUNCTION_INFO_V1(export_model);
/*
 * mlsys.export_model(model text, version int DEFAULT NULL) → jsonb: the model
 * document of a version (NULL: the live one).
 */
Datum
export_model(PG_FUNCTION_ARGS)
{
	char	   *name = mlsys_text_arg(fcinfo, 0, "model");
	MemoryContext callercxt = CurrentMemoryContext;
	Oid			argtypes[2] = {TEXTOID, INT4OID};
	Datum		args[2];
	HeapTuple	tup;
	TupleDesc	desc;
	bool		isnull;
	int32		version;
	char	   *algorithm;
	StringInfoData buf;
	Datum		result;

	args[0] = CStringGetTextDatum(name);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (SPI_execute_with_args("SELECT 1 FROM mlsys.models WHERE model = $1", 1, argtypes, args,
							  NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read mlsys.models");
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("model \"%s\" does not exist", name)));
	/* a private model's rows are hidden: say why rather than "does not exist" */
	mlsys_check_model_access(args[0]);
	if (PG_ARGISNULL(1))
	{
		/* the live version: the model's newest deployment (recommenders included) */
		if (SPI_execute_with_args("SELECT d.version FROM mlsys.deployments d WHERE d.model = $1 "
								  "ORDER BY d.id DESC LIMIT 1", 1, argtypes, args,
								  NULL, true, 1) != SPI_OK_SELECT)
			elog(ERROR, "could not read mlsys.deployments");
		if (SPI_processed == 0)
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("model \"%s\" has no deployed version", name),
					 errhint("Export a given version with mlsys.export_model('%s', version).", name)));
		version = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	}
	else
		version = PG_GETARG_INT32(1);
	args[1] = Int32GetDatum(version);
	if (SPI_execute_with_args("SELECT v.*, m.task FROM mlsys.model_versions v "
							  "JOIN mlsys.models m ON m.model = v.model "
							  "WHERE v.model = $1 AND v.version = $2",
							  2, argtypes, args, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read mlsys.model_versions");
	if (SPI_processed != 1)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("version %d of model \"%s\" does not exist", version, name)));
	tup = SPI_tuptable->vals[0];
	desc = SPI_tuptable->tupdesc;

	/* the document is built in the caller's context; SPI's goes away */
	MemoryContextSwitchTo(callercxt);
	algorithm = TextDatumGetCString(col(tup, desc, "algorithm", &isnull));
	initStringInfo(&buf);
	appendStringInfoChar(&buf, '{');
	doc_put_key(&buf, "format", true);
	escape_json(&buf, EXPORT_FORMAT);
	doc_put_key(&buf, "format_version", false);
	appendStringInfo(&buf, "%d", EXPORT_FORMAT_VERSION);
	doc_put_key(&buf, "algorithm", false);
	escape_json(&buf, algorithm);
	put_text_col(&buf, tup, desc, "task", "task");

	doc_put_key(&buf, "spec", false);
	appendStringInfoChar(&buf, '{');
	doc_put_key(&buf, "relation", true);
	escape_json(&buf, TextDatumGetCString(col(tup, desc, "relation", &isnull)));
	put_text_col(&buf, tup, desc, "target", "target");
	doc_put_key(&buf, "feature_columns", false);
	put_array_col(&buf, tup, desc, "feature_columns", TEXTOID);
	doc_put_key(&buf, "feature_lengths", false);
	put_array_col(&buf, tup, desc, "feature_lengths", INT4OID);
	doc_put_key(&buf, "features", false);
	put_array_col(&buf, tup, desc, "features", TEXTOID);
	put_jsonb_col(&buf, tup, desc, "hyperparams", "hyperparams");
	put_number_col(&buf, tup, desc, "test_size", "test_size");
	put_number_col(&buf, tup, desc, "seed", "seed");
	appendStringInfoChar(&buf, '}');

	put_jsonb_col(&buf, tup, desc, "preprocessing", "preprocessing");
	doc_put_key(&buf, "classes", false);
	put_array_col(&buf, tup, desc, "classes", TEXTOID);
	put_text_col(&buf, tup, desc, "target_type", "target_type");

	doc_put_key(&buf, "parameters", false);
	{
		bytea	   *blob = DatumGetByteaPP(col(tup, desc, "params", &isnull));
		const ModelFamily *family = mlsys_family_by_algorithm(algorithm);
		ParamsSpec	ps;
		bool		cnull;
		Datum		classes = col(tup, desc, "classes", &cnull);

		if (family == NULL || family->export_params == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("cannot export a model of algorithm \"%s\"", algorithm)));
		memset(&ps, 0, sizeof(ps));
		ps.algorithm = algorithm;
		if (!family->supports(MLSYS_TASK_RECOMMENDER))
			ps.names = feature_names(col(tup, desc, "features", &isnull), &ps.nfeat);
		if (!cnull)
			ps.classes = text_array_items(classes, &ps.nclasses);
		family->export_params(&buf, blob, &ps);
	}

	put_jsonb_col(&buf, tup, desc, "metrics", "metrics");
	put_jsonb_col(&buf, tup, desc, "profile", "profile");
	put_number_col(&buf, tup, desc, "train_rows", "train_rows");
	put_number_col(&buf, tup, desc, "test_rows", "test_rows");
	put_number_col(&buf, tup, desc, "training_seconds", "training_seconds");
	put_text_col(&buf, tup, desc, "data_fingerprint", "data_fingerprint");
	put_text_col(&buf, tup, desc, "extension_version", "extension_version");
	put_text_col(&buf, tup, desc, "server_version", "server_version");

	/* where it came from: informational, not read by import */
	doc_put_key(&buf, "source", false);
	appendStringInfoChar(&buf, '{');
	doc_put_key(&buf, "model", true);
	escape_json(&buf, name);
	doc_put_key(&buf, "version", false);
	appendStringInfo(&buf, "%d", version);
	doc_put_key(&buf, "created_at", false);
	escape_json(&buf, SPI_getvalue(tup, desc, SPI_fnumber(desc, "created_at")));
	doc_put_key(&buf, "created_by", false);
	escape_json(&buf, SPI_getvalue(tup, desc, SPI_fnumber(desc, "created_by")));
	appendStringInfoString(&buf, "}}");

	result = DirectFunctionCall1(jsonb_in, CStringGetDatum(buf.data));
	SPI_finish();
	PG_RETURN_DATUM(result);
}
