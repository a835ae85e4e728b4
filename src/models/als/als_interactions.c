/*
 * als_interactions.c — reading an interactions table (user, item, optional
 * rating) for training and evaluating a recommender: the columns' checks and
 * one read of the rows through a cursor, duplicates summed.
 */
#include "postgres.h"

#include <math.h>

#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"

#include "models/als/als.h"

/* a column's base type; errors for a missing column */
static Oid
column_type(Oid relid, const char *col)
{
	AttrNumber	att = get_attnum(relid, col);

	if (att == InvalidAttrNumber)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_COLUMN),
				 errmsg("column \"%s\" of relation \"%s\" does not exist", col,
						mlsys_relation_name(relid))));
	return getBaseType(get_atttype(relid, att));
}

/* ids must be int2, int4 or int8 */
void
als_check_id_column(Oid relid, const char *col, const char *what)
{
	Oid			t = column_type(relid, col);

	if (t != INT2OID && t != INT4OID && t != INT8OID)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("%s column \"%s\" must be an integer, not %s", what, col, format_type_be(t)),
				 errhint("Map the ids to integers (smallint, integer or bigint) first.")));
}

/* the rating column must be numeric; returns its type */
Oid
als_check_rating_column(Oid relid, const char *col)
{
	Oid			t = column_type(relid, col);

	if (t != INT2OID && t != INT4OID && t != INT8OID && t != FLOAT4OID &&
		t != FLOAT8OID && t != NUMERICOID)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("rating column \"%s\" must be numeric, not %s", col, format_type_be(t))));
	return t;
}

/* order interactions by (user, item, strength) */
static int
interaction_cmp(const void *a, const void *b)
{
	const Interaction *x = a,
			   *y = b;

	if (x->u != y->u)
		return x->u < y->u ? -1 : 1;
	if (x->i != y->i)
		return x->i < y->i ? -1 : 1;
	if (x->r != y->r)
		return x->r < y->r ? -1 : 1;
	return 0;
}

/* an array sized by the number of interactions (may pass 1 GB) */
void *
als_alloc_n(Size elem, int64 n, bool zero)
{
	return MemoryContextAllocExtended(CurrentMemoryContext, elem * (Size) Max(n, 1),
									  MCXT_ALLOC_HUGE | (zero ? MCXT_ALLOC_ZERO : 0));
}

int
als_int64_cmp(const void *a, const void *b)
{
	int64		x = *(const int64 *) a,
				y = *(const int64 *) b;

	return x < y ? -1 : x > y ? 1 : 0;
}

/*
 * Read (user, item, strength) from the relation (SPI connected), sorted by
 * (user, item) with duplicates summed. rcol NULL: strength 1.
 */
Interaction *
als_read_interactions(const char *relsql, const char *ucol, const char *icol, const char *rcol,
				  int64 *nout)
{
	char	   *sql;
	Portal		portal;
	Interaction *rows;
	int64		n = 0,
				cap = 16384,
				w;

	sql = psprintf("SELECT r.%s::pg_catalog.int8, r.%s::pg_catalog.int8, %s%s%s FROM %s AS r",
				   quote_identifier(ucol), quote_identifier(icol),
				   rcol ? "r." : "", rcol ? quote_identifier(rcol) : "1",
				   "::pg_catalog.float8", relsql);
	portal = SPI_cursor_open_with_args(NULL, sql, 0, NULL, NULL, NULL, true, 0);
	rows = palloc(sizeof(Interaction) * cap);
	for (;;)
	{
		SPI_cursor_fetch(portal, true, 10000);
		if (SPI_processed == 0)
			break;
		if (n + (int64) SPI_processed > PG_INT32_MAX - 1)
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("a recommender can be trained on at most %d interactions", PG_INT32_MAX - 1)));
		if (n + (int64) SPI_processed > cap)
		{
			cap = Max(cap * 2, n + (int64) SPI_processed);
			/* the interactions and the per-interaction arrays built from them */
			mlsys_check_training_memory((double) cap * (sizeof(Interaction) + 40), "recommender training");
			rows = repalloc_huge(rows, sizeof(Interaction) * cap);
		}
		for (uint64 j = 0; j < SPI_processed; j++)
		{
			HeapTuple	tup = SPI_tuptable->vals[j];
			TupleDesc	desc = SPI_tuptable->tupdesc;
			bool		nu,
						ni,
						nr;
			Interaction *x = &rows[n++];

			x->u = DatumGetInt64(SPI_getbinval(tup, desc, 1, &nu));
			x->i = DatumGetInt64(SPI_getbinval(tup, desc, 2, &ni));
			x->r = DatumGetFloat8(SPI_getbinval(tup, desc, 3, &nr));
			if (nu || ni)
				ereport(ERROR,
						(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
						 errmsg("%s column \"%s\" contains a null", nu ? "user" : "item",
								nu ? ucol : icol)));
			if (nr)
				ereport(ERROR,
						(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
						 errmsg("rating column \"%s\" contains a null", rcol),
						 errhint("Filter the rows with a view, or fill in the missing ratings.")));
			if (!(x->r >= 0) || isinf(x->r))
				ereport(ERROR,
						(errcode(ERRCODE_DATA_EXCEPTION),
						 errmsg("rating column \"%s\" contains the value %g", rcol, x->r),
						 errdetail("Ratings and interaction strengths must be finite and not negative.")));
			/* sums of squared ratings must stay finite (else: non-finite biases) */
			if (x->r > 1e100)
				ereport(ERROR,
						(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
						 errmsg("rating column \"%s\" contains the value %g, too large to fit", rcol, x->r),
						 errdetail("Ratings and interaction strengths must not exceed 1e100.")));
		}
		SPI_freetuptable(SPI_tuptable);
		CHECK_FOR_INTERRUPTS();
	}
	SPI_cursor_close(portal);

	qsort(rows, n, sizeof(Interaction), interaction_cmp);
	CHECK_FOR_INTERRUPTS();
	/* sum duplicates, in sorted order (so sums do not depend on row order) */
	w = 0;
	for (int64 j = 0; j < n; j++)
	{
		if (w > 0 && rows[w - 1].u == rows[j].u && rows[w - 1].i == rows[j].i)
			rows[w - 1].r += rows[j].r;
		else
			rows[w++] = rows[j];
	}
	*nout = w;
	return rows;
}

/* relation name, schema-qualified and quoted */
char *
als_relation_sql(Oid relid)
{
	char	   *nsp = get_namespace_name(get_rel_namespace(relid));
	char	   *rel = get_rel_name(relid);

	if (nsp == NULL || rel == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("relation with OID %u does not exist", relid)));
	return quote_qualified_identifier(nsp, rel);
}

/* the user, item and rating columns must be three different columns */
void
als_check_distinct_columns(const char *ucol, const char *icol, const char *rcol)
{
	if (strcmp(ucol, icol) == 0 || (rcol != NULL && (strcmp(rcol, ucol) == 0 || strcmp(rcol, icol) == 0)))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("user_column, item_column and rating_column must name different columns")));
}
