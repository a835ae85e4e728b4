/*
 * explain_sample.c — the explanation sample of a trained version: at most
 * EXPLAIN_SAMPLE_ROWS encoded feature vectors of its training relation,
 * stored at registration in mlsys.explain_samples for
 * mlsys.feature_importance (serve/explain.c).
 *
 * A family that sampled rows during its passes hands them over in
 * TrainResult.explain_sample (trees). Otherwise the rows come from one small
 * extra query with the version's encoding expression: a table or
 * materialized view larger than a few thousand rows is read through
 * TABLESAMPLE SYSTEM (whole pages drawn at random), sized from
 * pg_class.reltuples so that about EXPLAIN_SAMPLE_FETCH rows come back, with
 * the training's seed as REPEATABLE; anything else (a view, a small or never
 * analyzed table) is read from its start. Either way at most twice
 * EXPLAIN_SAMPLE_FETCH rows are read, then thinned evenly to
 * EXPLAIN_SAMPLE_ROWS. The query never scans the whole relation, so it adds
 * next to nothing to a training's passes.
 *
 * The sample holds raw feature values of training rows, so the table is
 * readable by whoever may read the registry; the writes go through
 * mlsys._store_explain_sample (SECURITY DEFINER), which accepts only a
 * version the current transaction registered.
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "nodes/value.h"
#include "parser/parse_func.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/syscache.h"

#include "train/train.h"

/* vectors kept per version, and rows read to choose them from */
#define EXPLAIN_SAMPLE_ROWS 256
#define EXPLAIN_SAMPLE_FETCH (8 * EXPLAIN_SAMPLE_ROWS)

/* the query reading encoded rows of the training relation: sampled pages, or NULL; or its first rows */
static char *
sample_query(const TrainArgs *a, const FeatureSpec *spec, bool tablesample)
{
	char	   *from = a->relsql;

	if (tablesample)
	{
		HeapTuple	tup = SearchSysCache1(RELOID, ObjectIdGetDatum(a->relid));
		double		reltuples = -1;
		char		relkind = 0;

		if (HeapTupleIsValid(tup))
		{
			reltuples = ((Form_pg_class) GETSTRUCT(tup))->reltuples;
			relkind = ((Form_pg_class) GETSTRUCT(tup))->relkind;
			ReleaseSysCache(tup);
		}
		if ((relkind != RELKIND_RELATION && relkind != RELKIND_MATVIEW) ||
			!(reltuples > 2.0 * EXPLAIN_SAMPLE_FETCH))
			return NULL;
		from = psprintf("%s TABLESAMPLE SYSTEM (%.9g) REPEATABLE (%d)", a->relsql,
						100.0 * EXPLAIN_SAMPLE_FETCH / reltuples, a->seed);
	}
	/* twice the rows aimed at: a bound when reltuples is stale */
	return psprintf("SELECT %s FROM %s WHERE %s IS NOT NULL LIMIT %d",
					features_sql_vector(spec), from, quote_identifier(a->target),
					2 * EXPLAIN_SAMPLE_FETCH);
}

/*
 * Run a sample query and keep up to EXPLAIN_SAMPLE_ROWS of its vectors,
 * evenly spaced, into rows (EXPLAIN_SAMPLE_ROWS × nfeat); returns how many.
 */
static int
sample_rows(const char *sql, int nfeat, double *rows)
{
	uint64		n,
				i;
	int			kept = 0,
				k;
	double	  **vec;

	if (SPI_execute(sql, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not sample the training relation");
	/* the vectors of the right length (a float8[] column may vary in rows training skipped) */
	vec = palloc(sizeof(double *) * (SPI_processed + 1));
	n = 0;
	for (i = 0; i < SPI_processed; i++)
	{
		bool		isnull;
		Datum		d = SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull);
		ArrayType  *arr;

		if (isnull)
			continue;
		arr = DatumGetArrayTypeP(d);
		if (ARR_NDIM(arr) != 1 || ARR_HASNULL(arr) || ARR_ELEMTYPE(arr) != FLOAT8OID ||
			ARR_DIMS(arr)[0] != nfeat)
			continue;
		vec[n++] = (double *) ARR_DATA_PTR(arr);
	}
	for (k = 0; k < EXPLAIN_SAMPLE_ROWS && (uint64) k < n; k++)
	{
		uint64		pick = n <= EXPLAIN_SAMPLE_ROWS ? (uint64) k : (uint64) k * n / EXPLAIN_SAMPLE_ROWS;

		memcpy(rows + (Size) kept * nfeat, vec[pick], sizeof(double) * nfeat);
		kept++;
	}
	return kept;
}

/*
 * Store the explanation sample of the version r just registered (SPI
 * connected, as the training's caller). Recommenders have none.
 */
void
mlsys_store_explain_sample(const TrainArgs *a, const TrainResult *r)
{
	const FeatureSpec *spec = r->spec;
	double	   *rows;
	int			nrows;
	Oid			types[4] = {TEXTOID, INT4OID, INT4OID, FLOAT8ARRAYOID};
	Datum		args[4];

	if (spec == NULL || spec->nfeat < 1 || r->task == NULL ||
		strncmp(r->task, "recommender", 11) == 0)
		return;
	/* a database still on an earlier version of the extension keeps no sample */
	if (!OidIsValid(LookupFuncName(list_make2(makeString("mlsys"), makeString("_store_explain_sample")),
								   4, types, true)))
		return;
	if (r->explain_sample != NULL && r->explain_rows > 0)
	{
		rows = r->explain_sample;
		nrows = Min(r->explain_rows, EXPLAIN_SAMPLE_ROWS);
	}
	else
	{
		char	   *sql = sample_query(a, spec, true);

		rows = palloc(sizeof(double) * EXPLAIN_SAMPLE_ROWS * (Size) spec->nfeat);
		nrows = sql != NULL ? sample_rows(sql, spec->nfeat, rows) : 0;
		/* a sample of no page (a small fraction of a table) reads the first rows instead */
		if (nrows == 0)
			nrows = sample_rows(sample_query(a, spec, false), spec->nfeat, rows);
	}
	if (nrows == 0)
		return;
	args[0] = CStringGetTextDatum(a->model);
	args[1] = r->version;
	args[2] = Int32GetDatum(nrows);
	args[3] = PointerGetDatum(mlsys_float8_array(rows, nrows * spec->nfeat));
	if (SPI_execute_with_args("SELECT mlsys._store_explain_sample($1, $2, $3, $4)",
							  4, types, args, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not store the explanation sample");
}
