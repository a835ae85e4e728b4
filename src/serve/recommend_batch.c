/*
 * recommend_batch.c — precomputed recommendations: mlsys.recommend_batch
 * writes each user's exact top-k by the live version into
 * mlsys.recommendations, and mlsys.recommend answers from that row when the
 * model serves "precomputed" (recommend_precomputed).
 *
 * The batch ranks users in blocks (als_rank_users: one sgemm per tile of
 * items for a block, a heap per user, the Cauchy–Schwarz stop), the block
 * sized by maintenance_work_mem, and writes one row per user in the caller's
 * transaction, so readers keep the old lists until it commits. A row records
 * the version that computed it; serving uses it only while that version is
 * live, so rows of a version that stopped being live are never served.
 *
 * The lookup is a direct scan of the table's primary key (no SPI, no
 * planning): what makes a precomputed answer cost about as much as a
 * primary-key SELECT.
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/skey.h"
#include "access/table.h"
#include "catalog/pg_collation.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"

#include "serve/serve.h"

/* columns of mlsys.recommendations */
#define REC_VERSION 2
#define REC_K 4
#define REC_ITEMS 5
#define REC_SCORES 6
#define REC_NATTS 7

/*
 * The stored list of a user, when it was computed by the cached live
 * version with at least k entries asked: its first k entries into the
 * outputs, and their count. -1: no such row (the caller scores live).
 */
int
recommend_precomputed(CachedModel *cm, int64 user, int k, int64 *item_ids, float8 *scores)
{
	Relation	rel;
	SysScanDesc scan;
	ScanKeyData key[2];
	HeapTuple	tup;
	int			result = -1;

	rel = table_open(cm->recs_relid, AccessShareLock);
	ScanKeyInit(&key[0], 1, BTEqualStrategyNumber, F_TEXTEQ, CStringGetTextDatum(cm->name));
	key[0].sk_collation = DEFAULT_COLLATION_OID;
	ScanKeyInit(&key[1], 3, BTEqualStrategyNumber, F_INT8EQ, Int64GetDatum(user));
	scan = systable_beginscan(rel, cm->recs_index, true, GetActiveSnapshot(), 2, key);
	tup = systable_getnext(scan);
	if (HeapTupleIsValid(tup) && RelationGetDescr(rel)->natts == REC_NATTS)
	{
		Datum		values[REC_NATTS];
		bool		nulls[REC_NATTS];

		heap_deform_tuple(tup, RelationGetDescr(rel), values, nulls);
		if (!nulls[REC_VERSION - 1] && DatumGetInt32(values[REC_VERSION - 1]) == cm->version &&
			!nulls[REC_K - 1] && k <= DatumGetInt32(values[REC_K - 1]) &&
			!nulls[REC_ITEMS - 1] && !nulls[REC_SCORES - 1])
		{
			ArrayType  *ia = DatumGetArrayTypeP(values[REC_ITEMS - 1]);
			ArrayType  *sa = DatumGetArrayTypeP(values[REC_SCORES - 1]);
			int			n = ArrayGetNItems(ARR_NDIM(ia), ARR_DIMS(ia));

			/* written by recommend_batch: one dimension, no nulls, same lengths */
			if (ARR_NDIM(ia) == 1 && ARR_NDIM(sa) == 1 && !ARR_HASNULL(ia) && !ARR_HASNULL(sa) &&
				ARR_ELEMTYPE(ia) == INT8OID && ARR_ELEMTYPE(sa) == FLOAT8OID &&
				ArrayGetNItems(1, ARR_DIMS(sa)) == n)
			{
				result = Min(n, k);
				memcpy(item_ids, ARR_DATA_PTR(ia), sizeof(int64) * result);
				memcpy(scores, ARR_DATA_PTR(sa), sizeof(float8) * result);
			}
		}
	}
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
	return result;
}

/* the model's task and live version (SPI connected); errors as the batch's contract says */
static void
check_batch_model(const char *model)
{
	Oid			argtypes[1] = {TEXTOID};
	Datum		arg = CStringGetTextDatum(model);
	bool		isnull;
	char	   *task;

	if (SPI_execute_with_args("SELECT m.task, (SELECT d.version FROM mlsys.deployments d "
							  "WHERE d.model = m.model ORDER BY d.id DESC LIMIT 1) "
							  "FROM mlsys.models m WHERE m.model = $1",
							  1, argtypes, &arg, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read mlsys.models");
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("model \"%s\" does not exist", model)));
	task = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
	if (task == NULL || strncmp(task, "recommender", 11) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("model \"%s\" is not a recommender", model),
				 errhint("Train recommenders with mlsys.train_recommender.")));
	(void) SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull);
	if (isnull)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("model \"%s\" has no live version", model),
				 errhint("Deploy a version with mlsys.deploy('%s', version).", model)));
}

/*
 * The users to rank, as model indices in increasing order: those of the
 * relation's column the model knows (distinct, NULLs ignored), or all.
 */
static int32 *
batch_users(AlsModel *m, Oid relid, const char *ucol, int *nout)
{
	bool	   *want;
	int32	   *users = palloc(sizeof(int32) * Max(m->nusers, 1));
	int			n = 0;

	if (!OidIsValid(relid))
	{
		for (int u = 0; u < m->nusers; u++)
			users[n++] = u;
		*nout = n;
		return users;
	}
	want = palloc0(sizeof(bool) * Max(m->nusers, 1));
	{
		char	   *sql = psprintf("SELECT DISTINCT (r.%s)::pg_catalog.int8 FROM %s AS r WHERE r.%s IS NOT NULL",
								   quote_identifier(ucol), als_relation_sql(relid), quote_identifier(ucol));
		Portal		portal;
		SPIPlanPtr	plan = SPI_prepare(sql, 0, NULL);

		if (plan == NULL)
			elog(ERROR, "could not plan the users of the batch: %s", SPI_result_code_string(SPI_result));
		portal = SPI_cursor_open(NULL, plan, NULL, NULL, true);
		for (;;)
		{
			SPI_cursor_fetch(portal, true, 10000);
			if (SPI_processed == 0)
				break;
			for (uint64 j = 0; j < SPI_processed; j++)
			{
				bool		isnull;
				Datum		d = SPI_getbinval(SPI_tuptable->vals[j], SPI_tuptable->tupdesc, 1, &isnull);
				int			u = isnull ? -1 : als_find(m->user_ids, m->nusers, DatumGetInt64(d));

				if (u >= 0)
					want[u] = true;
			}
			SPI_freetuptable(SPI_tuptable);
			CHECK_FOR_INTERRUPTS();
		}
		SPI_cursor_close(portal);
	}
	for (int u = 0; u < m->nusers; u++)
		if (want[u])
			users[n++] = u;
	pfree(want);
	*nout = n;
	return users;
}

/* write one block's lists (SPI connected) */
static void
write_block(SPIPlanPtr plan, CachedModel *cm, const int32 *users, int n, int k,
			const int32 *idx, const float *sc, const int32 *got)
{
	AlsModel   *m = cm->als;
	Datum	   *ie = palloc(sizeof(Datum) * k);
	Datum	   *se = palloc(sizeof(Datum) * k);
	Datum		args[6];
	char		nulls[6] = {' ', ' ', ' ', ' ', ' ', ' '};

	args[0] = CStringGetTextDatum(cm->name);
	args[1] = Int32GetDatum(cm->version);
	args[3] = Int32GetDatum(k);
	for (int b = 0; b < n; b++)
	{
		for (int r = 0; r < got[b]; r++)
		{
			ie[r] = Int64GetDatum(m->item_ids[idx[(Size) b * k + r]]);
			se[r] = Float8GetDatum((double) sc[(Size) b * k + r]);
		}
		args[2] = Int64GetDatum(m->user_ids[users[b]]);
		args[4] = PointerGetDatum(construct_array(ie, got[b], INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
		args[5] = PointerGetDatum(construct_array(se, got[b], FLOAT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
		if (SPI_execute_plan(plan, args, nulls, false, 0) != SPI_OK_INSERT)
			elog(ERROR, "could not write to mlsys.recommendations");
		pfree(DatumGetPointer(args[4]));
		pfree(DatumGetPointer(args[5]));
	}
	pfree(ie);
	pfree(se);
}

PG_FUNCTION_INFO_V1(recommend_batch);
/* mlsys.recommend_batch(model, relation, user_column, k) */
Datum
recommend_batch(PG_FUNCTION_ARGS)
{
	char	   *model = mlsys_text_arg(fcinfo, 0, "model name");
	Oid			relid = PG_ARGISNULL(1) ? InvalidOid : PG_GETARG_OID(1);
	char	   *ucol = mlsys_text_arg(fcinfo, 2, "user_column");
	int			k;
	CachedModel *cm;
	AlsModel   *m;
	int32	   *users;
	int			nusers,
				block;
	volatile int64 written = 0;
	MemoryContext cxt,
				blockcxt,
				oldcxt;
	Oid			argtypes[6] = {TEXTOID, INT4OID, INT8OID, INT4OID, INT8ARRAYOID, FLOAT8ARRAYOID};

	if (PG_ARGISNULL(3))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("k must not be null")));
	k = PG_GETARG_INT32(3);
	if (k < 1 || k > ALS_MAX_K)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("k must be between 1 and %d, not %d", ALS_MAX_K, k)));
	if (OidIsValid(relid))
		als_check_id_column(relid, ucol, "user");

	cxt = AllocSetContextCreate(CurrentMemoryContext, "mlsys recommend_batch", ALLOCSET_DEFAULT_SIZES);
	oldcxt = MemoryContextSwitchTo(cxt);
	SPI_connect();
	MemoryContextSwitchTo(cxt);
	check_batch_model(model);
	cm = recommender_lookup(model);
	m = cm->als;
	mlsys_cache_pin(cm);
	PG_TRY();
	{
		SPIPlanPtr	plan;

		users = batch_users(m, relid, ucol, &nusers);
		block = als_rank_block_users(m, k, (Size) maintenance_work_mem * 1024);
		plan = SPI_prepare("INSERT INTO mlsys.recommendations AS r "
						   "(model, version, user_id, k, item_ids, scores, computed_at) "
						   "VALUES ($1, $2, $3, $4, $5, $6, pg_catalog.now()) "
						   "ON CONFLICT (model, user_id) DO UPDATE SET version = excluded.version, "
						   "k = excluded.k, item_ids = excluded.item_ids, scores = excluded.scores, "
						   "computed_at = excluded.computed_at", 6, argtypes);
		if (plan == NULL)
			elog(ERROR, "could not prepare the write to mlsys.recommendations: %s",
				 SPI_result_code_string(SPI_result));
		blockcxt = AllocSetContextCreate(cxt, "mlsys recommend_batch block", ALLOCSET_DEFAULT_SIZES);
		for (int s = 0; s < nusers; s += block)
		{
			int			n = Min(block, nusers - s);
			int32	   *idx,
					   *got;
			float	   *sc;

			CHECK_FOR_INTERRUPTS();
			MemoryContextSwitchTo(blockcxt);
			idx = palloc(sizeof(int32) * (Size) n * k);
			sc = palloc(sizeof(float) * (Size) n * k);
			got = palloc(sizeof(int32) * n);
			als_rank_users(m, users + s, n, k, true, idx, sc, got);
			write_block(plan, cm, users + s, n, k, idx, sc, got);
			written += n;
			MemoryContextSwitchTo(cxt);
			MemoryContextReset(blockcxt);
		}
	}
	PG_FINALLY();
	{
		mlsys_cache_unpin(cm);
	}
	PG_END_TRY();

	/* what a refresh (mlsys.schedule's recommend_batch, a retrain) reruns */
	{
		Oid			stypes[4] = {TEXTOID, OIDOID, TEXTOID, INT4OID};
		Datum		sargs[4] = {CStringGetTextDatum(model), ObjectIdGetDatum(relid),
		CStringGetTextDatum(ucol), Int32GetDatum(k)};
		char		snulls[4] = {' ', OidIsValid(relid) ? ' ' : 'n', ' ', ' '};

		if (SPI_execute_with_args("SELECT mlsys._store_batch_settings($1, $2::pg_catalog.regclass, $3, $4)",
								  4, stypes, sargs, snulls, false, 0) != SPI_OK_SELECT)
			elog(ERROR, "could not store the batch settings");
	}
	SPI_finish();
	MemoryContextSwitchTo(oldcxt);
	MemoryContextDelete(cxt);
	PG_RETURN_INT64(written);
}
