/*
 * util.c — small helpers every layer uses: a text argument that must not be
 * null, a float8 as a JSON number in its shortest exact form, a text[] of C
 * strings, and a one-row, one-column SPI query.
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "common/shortest_dec.h"
#include "executor/spi.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"

#include "common/common.h"

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

/*
 * A relation's name as messages show it, inside double quotes:
 * schema.relation, unquoted (as PostgreSQL's own messages name a qualified
 * relation).
 */
char *
mlsys_relation_name(Oid relid)
{
	char	   *nsp = get_namespace_name(get_rel_namespace(relid));
	char	   *rel = get_rel_name(relid);

	if (nsp == NULL || rel == NULL)
		return psprintf("%u", relid);
	return psprintf("%s.%s", nsp, rel);
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

PG_FUNCTION_INFO_V1(relation_name);
/* mlsys._relation_name(regclass) → text: schema.relation, for messages */
Datum
relation_name(PG_FUNCTION_ARGS)
{
	PG_RETURN_TEXT_P(cstring_to_text(mlsys_relation_name(PG_GETARG_OID(0))));
}
