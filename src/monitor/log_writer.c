/*
 * log_writer.c — the background workers that store online scoring records:
 * a launcher (one per server, registered by common/logring.c when mlsys is
 * in shared_preload_libraries) starts one writer per database that has
 * records in the ring; each writer takes its database's records every
 * mlsys.log_flush_interval and inserts them, as the extension's owner, into
 * mlsys.predictions (source 'online') and mlsys.impressions. Also the SQL
 * side: mlsys.logging_stats and whether logging is available.
 *
 * Writers exit once a flush interval passes with nothing to store, so a
 * quiet database has no worker connected to it and DROP DATABASE or CREATE
 * DATABASE ... TEMPLATE is not kept waiting; records of a database that no
 * longer exists (or takes no connections) are discarded and counted.
 */
#include "postgres.h"

#include <math.h>
#include <sys/resource.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_database.h"
#include "catalog/pg_type.h"
#include "commands/extension.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "tcop/tcopprot.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"

#include "monitor/monitor.h"

PGDLLEXPORT void mlsys_log_launcher_main(Datum arg);
PGDLLEXPORT void mlsys_log_writer_main(Datum arg);

/* databases the launcher serves at once (the ring tracks as many) */
#define LAUNCHER_MAX_WRITERS 64
/* a writer's CPU priority (nice value): below the backends it serves */
#define WRITER_NICE 5
/* what a writer takes from the ring per transaction */
#define WRITER_BATCH_BYTES (4 * 1024 * 1024)

/* ---------------------------------------------------------------------
 * The launcher
 * --------------------------------------------------------------------- */

typedef struct WriterSlot
{
	Oid			dboid;
	BackgroundWorkerHandle *handle;
} WriterSlot;

/* may a writer connect to the database? (its records are discarded if not) */
static bool
database_takes_writer(Oid dboid)
{
	HeapTuple	tup;
	bool		ok;

	StartTransactionCommand();
	tup = SearchSysCache1(DATABASEOID, ObjectIdGetDatum(dboid));
	ok = HeapTupleIsValid(tup) && ((Form_pg_database) GETSTRUCT(tup))->datallowconn &&
		((Form_pg_database) GETSTRUCT(tup))->datconnlimit != -2;	/* being dropped */
	if (HeapTupleIsValid(tup))
		ReleaseSysCache(tup);
	CommitTransactionCommand();
	return ok;
}

static void
start_writer(WriterSlot *slot, Oid dboid)
{
	BackgroundWorker worker;

	memset(&worker, 0, sizeof(worker));
	worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
	worker.bgw_restart_time = BGW_NEVER_RESTART;
	strlcpy(worker.bgw_library_name, "mlsys", BGW_MAXLEN);
	strlcpy(worker.bgw_function_name, "mlsys_log_writer_main", BGW_MAXLEN);
	snprintf(worker.bgw_name, BGW_MAXLEN, "mlsys log writer for database %u", dboid);
	strlcpy(worker.bgw_type, "mlsys log writer", BGW_MAXLEN);
	worker.bgw_main_arg = ObjectIdGetDatum(dboid);
	worker.bgw_notify_pid = MyProcPid;
	if (RegisterDynamicBackgroundWorker(&worker, &slot->handle))
		slot->dboid = dboid;
	else
		slot->handle = NULL;	/* no free worker slot: next round */
}

void
mlsys_log_launcher_main(Datum arg)
{
	WriterSlot	writers[LAUNCHER_MAX_WRITERS];

	memset(writers, 0, sizeof(writers));
	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();
	/* no database: pg_database is a shared catalog */
	BackgroundWorkerInitializeConnection(NULL, NULL, 0);

	for (;;)
	{
		Oid			dbs[LAUNCHER_MAX_WRITERS];
		int			n,
					i,
					j;

		CHECK_FOR_INTERRUPTS();
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
		}
		/* forget writers that have exited */
		for (j = 0; j < LAUNCHER_MAX_WRITERS; j++)
		{
			pid_t		pid;

			if (writers[j].handle != NULL &&
				GetBackgroundWorkerPid(writers[j].handle, &pid) == BGWH_STOPPED)
			{
				pfree(writers[j].handle);
				writers[j].handle = NULL;
				writers[j].dboid = InvalidOid;
			}
		}
		n = logring_pending_databases(dbs, LAUNCHER_MAX_WRITERS);
		for (i = 0; i < n; i++)
		{
			WriterSlot *free_slot = NULL;
			bool		running = false;

			for (j = 0; j < LAUNCHER_MAX_WRITERS; j++)
			{
				if (writers[j].handle != NULL && writers[j].dboid == dbs[i])
					running = true;
				if (writers[j].handle == NULL && free_slot == NULL)
					free_slot = &writers[j];
			}
			if (running || free_slot == NULL)
				continue;
			if (!database_takes_writer(dbs[i]))
			{
				Size		unused;

				(void) logring_take(dbs[i], NULL, 0, &unused);
				continue;
			}
			start_writer(free_slot, dbs[i]);
		}
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 mlsys_log_flush_interval_ms, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
	}
}

/* ---------------------------------------------------------------------
 * A writer
 * --------------------------------------------------------------------- */

/* the columns of one INSERT, built as arrays */
typedef struct Columns
{
	int			n;
	ArrayBuildState *a[9];
} Columns;

static void
put(Columns *c, int col, Datum d, bool isnull, Oid type)
{
	c->a[col] = accumArrayResult(c->a[col], d, isnull, type, CurrentMemoryContext);
}

static Datum
column(Columns *c, int col, Oid type)
{
	if (c->a[col] == NULL)
		c->a[col] = initArrayResult(type, CurrentMemoryContext, false);
	return makeArrayResult(c->a[col], CurrentMemoryContext);
}

static Datum
text_datum(const char *p, uint32 len)
{
	return PointerGetDatum(cstring_to_text_with_len(p, (int) len));
}

/* an impression's items or scores as an array literal's text */
static Datum
literal_ids(const int64 *ids, int n)
{
	StringInfoData buf;

	initStringInfo(&buf);
	appendStringInfoChar(&buf, '{');
	for (int i = 0; i < n; i++)
		appendStringInfo(&buf, "%s%" PRId64, i > 0 ? "," : "", ids[i]);
	appendStringInfoChar(&buf, '}');
	return CStringGetTextDatum(buf.data);
}

static Datum
literal_scores(const double *v, int n)
{
	StringInfoData buf;

	initStringInfo(&buf);
	appendStringInfoChar(&buf, '{');
	for (int i = 0; i < n; i++)
	{
		if (i > 0)
			appendStringInfoChar(&buf, ',');
		if (isfinite(v[i]))
			mlsys_append_json_number(&buf, v[i]);
		else
			appendStringInfoString(&buf, "NULL");
	}
	appendStringInfoChar(&buf, '}');
	return CStringGetTextDatum(buf.data);
}

static const char *const insert_predictions =
"INSERT INTO mlsys.predictions (run_id, model, version, entity_id, prediction, predicted_label, "
"                               probability, predicted_at, source, features, scored_by) "
"SELECT NULL, u.m, u.v, u.e, u.p, u.l, u.pr, u.t, 'online', u.f::pg_catalog.jsonb, "
"       pg_catalog.pg_get_userbyid(u.r) "
"  FROM ROWS FROM (pg_catalog.unnest($1::pg_catalog.text[]), pg_catalog.unnest($2::pg_catalog.int4[]), "
"                  pg_catalog.unnest($3::pg_catalog.text[]), pg_catalog.unnest($4::pg_catalog.float8[]), "
"                  pg_catalog.unnest($5::pg_catalog.text[]), pg_catalog.unnest($6::pg_catalog.float8[]), "
"                  pg_catalog.unnest($7::pg_catalog.timestamptz[]), pg_catalog.unnest($8::pg_catalog.text[]), "
"                  pg_catalog.unnest($9::pg_catalog.oid[])) AS u(m, v, e, p, l, pr, t, f, r)";

/* the traffic each record stands for, per model, version and hour */
static const char *const upsert_traffic =
"INSERT INTO mlsys.online_traffic AS o (model, version, hour, calls, logged, dropped) "
"SELECT u.m, u.v, pg_catalog.date_bin('1 hour', u.t, '2000-01-01 00:00:00+00'), pg_catalog.sum(u.c), "
"       pg_catalog.count(*), pg_catalog.sum(u.d) "
"  FROM ROWS FROM (pg_catalog.unnest($1::pg_catalog.text[]), pg_catalog.unnest($2::pg_catalog.int4[]), "
"                  pg_catalog.unnest($3::pg_catalog.timestamptz[]), pg_catalog.unnest($4::pg_catalog.int8[]), "
"                  pg_catalog.unnest($5::pg_catalog.int8[])) AS u(m, v, t, c, d) "
" GROUP BY 1, 2, 3 "
"    ON CONFLICT (model, version, hour) DO UPDATE "
"   SET calls = o.calls OPERATOR(pg_catalog.+) EXCLUDED.calls, "
"       logged = o.logged OPERATOR(pg_catalog.+) EXCLUDED.logged, "
"       dropped = o.dropped OPERATOR(pg_catalog.+) EXCLUDED.dropped";

static const char *const insert_impressions =
"INSERT INTO mlsys.impressions (model, version, user_id, item_ids, scores, shown_at, scored_by) "
"SELECT u.m, u.v, u.uid, u.items::pg_catalog.int8[], u.scores::pg_catalog.float8[], u.t, "
"       pg_catalog.pg_get_userbyid(u.r) "
"  FROM ROWS FROM (pg_catalog.unnest($1::pg_catalog.text[]), pg_catalog.unnest($2::pg_catalog.int4[]), "
"                  pg_catalog.unnest($3::pg_catalog.int8[]), pg_catalog.unnest($4::pg_catalog.text[]), "
"                  pg_catalog.unnest($5::pg_catalog.text[]), pg_catalog.unnest($6::pg_catalog.timestamptz[]), "
"                  pg_catalog.unnest($7::pg_catalog.oid[])) AS u(m, v, uid, items, scores, t, r)";

/*
 * Store n records (as logring_take laid them out) in one transaction, as
 * the extension's owner. Returns how many were stored; the others (damaged,
 * or the extension or its tables are gone) stay counted as dropped.
 */
static int
writer_store(const char *buf, Size used)
{
	Columns		pred,
				imp,
				traffic;
	Size		at = 0;
	int			stored = 0;
	Oid			owner = InvalidOid,
				save_user;
	int			save_sec;
	Datum		d;
	MemoryContext cxt = CurrentMemoryContext;

	memset(&pred, 0, sizeof(pred));
	memset(&imp, 0, sizeof(imp));
	memset(&traffic, 0, sizeof(traffic));
	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	SPI_connect();
	PushActiveSnapshot(GetTransactionSnapshot());
	pgstat_report_activity(STATE_RUNNING, "mlsys: storing logged online scoring");

	if (SPI_execute("SELECT e.extowner FROM pg_catalog.pg_extension e WHERE e.extname = 'mlsys'",
					true, 1) == SPI_OK_SELECT && SPI_processed == 1)
	{
		bool		isnull;

		d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
		if (!isnull)
			owner = DatumGetObjectId(d);
	}
	if (OidIsValid(owner))
	{
		MemoryContext old = MemoryContextSwitchTo(cxt);

		while (at < used)
		{
			uint32		len = *(const uint32 *) (buf + at);
			OnlineRecordView v;

			if (online_record_decode(buf + at + LOGRING_PREFIX, len, &v))
			{
				Columns    *c = v.rec.kind == ONLINE_IMPRESSION ? &imp : &pred;

				put(c, 0, text_datum(v.model, v.rec.model_len), false, TEXTOID);
				put(c, 1, Int32GetDatum(v.rec.version), false, INT4OID);
				if (v.rec.kind == ONLINE_IMPRESSION)
				{
					put(c, 2, Int64GetDatum(v.rec.user_id), !(v.rec.flags & ONLINE_HAS_ENTITY), INT8OID);
					put(c, 3, literal_ids(v.items, v.rec.nitems), false, TEXTOID);
					put(c, 4, literal_scores(v.scores, v.rec.nitems), false, TEXTOID);
					put(c, 5, TimestampTzGetDatum(v.rec.at), false, TIMESTAMPTZOID);
					put(c, 6, ObjectIdGetDatum(v.rec.roleid), false, OIDOID);
				}
				else
				{
					put(c, 2, text_datum(v.entity, v.rec.entity_len), !(v.rec.flags & ONLINE_HAS_ENTITY), TEXTOID);
					put(c, 3, Float8GetDatum(v.rec.prediction), !(v.rec.flags & ONLINE_HAS_PREDICTION), FLOAT8OID);
					put(c, 4, text_datum(v.label, v.rec.label_len), !(v.rec.flags & ONLINE_HAS_LABEL), TEXTOID);
					put(c, 5, Float8GetDatum(v.rec.probability), !(v.rec.flags & ONLINE_HAS_PROBABILITY), FLOAT8OID);
					put(c, 6, TimestampTzGetDatum(v.rec.at), false, TIMESTAMPTZOID);
					put(c, 7, text_datum(v.features, v.rec.features_len), !(v.rec.flags & ONLINE_HAS_FEATURES), TEXTOID);
					put(c, 8, ObjectIdGetDatum(v.rec.roleid), false, OIDOID);
				}
				c->n++;
				put(&traffic, 0, text_datum(v.model, v.rec.model_len), false, TEXTOID);
				put(&traffic, 1, Int32GetDatum(v.rec.version), false, INT4OID);
				put(&traffic, 2, TimestampTzGetDatum(v.rec.at), false, TIMESTAMPTZOID);
				put(&traffic, 3, Int64GetDatum((int64) v.rec.calls), false, INT8OID);
				put(&traffic, 4, Int64GetDatum((int64) v.rec.dropped), false, INT8OID);
				traffic.n++;
			}
			at += LOGRING_PREFIX + MAXALIGN(len);
		}
		MemoryContextSwitchTo(old);

		/* the tables belong to the extension's owner: write as that role */
		GetUserIdAndSecContext(&save_user, &save_sec);
		SetUserIdAndSecContext(owner, save_sec | SECURITY_LOCAL_USERID_CHANGE |
							   SECURITY_RESTRICTED_OPERATION);
		if (pred.n > 0)
		{
			Oid			types[9] = {TEXTARRAYOID, INT4ARRAYOID, TEXTARRAYOID, FLOAT8ARRAYOID, TEXTARRAYOID,
			FLOAT8ARRAYOID, TIMESTAMPTZARRAYOID, TEXTARRAYOID, OIDARRAYOID};
			Oid			elem[9] = {TEXTOID, INT4OID, TEXTOID, FLOAT8OID, TEXTOID, FLOAT8OID,
			TIMESTAMPTZOID, TEXTOID, OIDOID};
			Datum		args[9];

			for (int i = 0; i < 9; i++)
				args[i] = column(&pred, i, elem[i]);
			if (SPI_execute_with_args(insert_predictions, 9, types, args, NULL, false, 0) != SPI_OK_INSERT)
				elog(ERROR, "could not store logged predictions");
			stored += pred.n;
		}
		if (imp.n > 0 && OidIsValid(get_relname_relid("impressions", get_namespace_oid("mlsys", false))))
		{
			Oid			types[7] = {TEXTARRAYOID, INT4ARRAYOID, INT8ARRAYOID, TEXTARRAYOID, TEXTARRAYOID,
			TIMESTAMPTZARRAYOID, OIDARRAYOID};
			Oid			elem[7] = {TEXTOID, INT4OID, INT8OID, TEXTOID, TEXTOID, TIMESTAMPTZOID, OIDOID};
			Datum		args[7];

			for (int i = 0; i < 7; i++)
				args[i] = column(&imp, i, elem[i]);
			if (SPI_execute_with_args(insert_impressions, 7, types, args, NULL, false, 0) != SPI_OK_INSERT)
				elog(ERROR, "could not store logged impressions");
			stored += imp.n;
		}
		/* absent in a database whose extension scripts are older than this library */
		if (traffic.n > 0 && stored > 0 &&
			OidIsValid(get_relname_relid("online_traffic", get_namespace_oid("mlsys", false))))
		{
			Oid			types[5] = {TEXTARRAYOID, INT4ARRAYOID, TIMESTAMPTZARRAYOID, INT8ARRAYOID, INT8ARRAYOID};
			Oid			elem[5] = {TEXTOID, INT4OID, TIMESTAMPTZOID, INT8OID, INT8OID};
			Datum		args[5];

			for (int i = 0; i < 5; i++)
				args[i] = column(&traffic, i, elem[i]);
			if (SPI_execute_with_args(upsert_traffic, 5, types, args, NULL, false, 0) != SPI_OK_INSERT)
				elog(ERROR, "could not store the online traffic counts");
		}
		SetUserIdAndSecContext(save_user, save_sec);
	}
	PopActiveSnapshot();
	SPI_finish();
	CommitTransactionCommand();
	pgstat_report_activity(STATE_IDLE, NULL);
	return stored;
}

void
mlsys_log_writer_main(Datum arg)
{
	Oid			dboid = DatumGetObjectId(arg);
	char	   *buf;
	MemoryContext batch;
	TimestampTz last_work = GetCurrentTimestamp();

	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();
	BackgroundWorkerInitializeConnectionByOid(dboid, InvalidOid, 0);
#ifdef __GLIBC__
	/*
	 * Every batch allocates and frees the same few megabytes: keep them in
	 * the process instead of returning them to the kernel and faulting them
	 * in again (page faults were a fifth of a writer's time).
	 */
	mallopt(M_MMAP_THRESHOLD, 64 * 1024 * 1024);
	mallopt(M_TRIM_THRESHOLD, 256 * 1024 * 1024);
#endif
	/*
	 * Logging is background work: when the scoring backends keep every core
	 * busy, they go first, and the ring absorbs the difference (dropping and
	 * counting what does not fit). On an idle core the writer runs at once.
	 */
	(void) setpriority(PRIO_PROCESS, 0, WRITER_NICE);
	buf = MemoryContextAlloc(TopMemoryContext, WRITER_BATCH_BYTES);
	batch = AllocSetContextCreate(TopMemoryContext, "mlsys log writer batch", ALLOCSET_DEFAULT_SIZES);

	for (;;)
	{
		Size		used;
		int			n;

		CHECK_FOR_INTERRUPTS();
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
		}
		n = logring_take(dboid, buf, WRITER_BATCH_BYTES, &used);
		if (n > 0)
		{
			MemoryContext old = MemoryContextSwitchTo(batch);

			logring_logged(writer_store(buf, used));
			MemoryContextSwitchTo(old);
			MemoryContextReset(batch);
			last_work = GetCurrentTimestamp();
			/* after a batch that filled half the buffer, more is likely waiting */
			if (used >= WRITER_BATCH_BYTES / 2)
				continue;
		}
		else if (TimestampDifferenceExceeds(last_work, GetCurrentTimestamp(), mlsys_log_flush_interval_ms))
			proc_exit(0);		/* a whole interval idle: leave the database free */
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 mlsys_log_flush_interval_ms, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
	}
}

/* ---------------------------------------------------------------------
 * SQL
 * --------------------------------------------------------------------- */

PG_FUNCTION_INFO_V1(logging_available);
/* mlsys._logging_available() → bool: is mlsys in shared_preload_libraries? */
Datum
logging_available(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(logring_available());
}

PG_FUNCTION_INFO_V1(logging_stats);
/* mlsys._logging_stats() → (logged, dropped, pending), since the server started */
Datum
logging_stats(PG_FUNCTION_ARGS)
{
	uint64		logged,
				dropped,
				pending;
	Datum		values[3];
	bool		nulls[3] = {false, false, false};

	logring_counts(&logged, &dropped, &pending);
	values[0] = Int64GetDatum((int64) logged);
	values[1] = Int64GetDatum((int64) dropped);
	values[2] = Int64GetDatum((int64) pending);
	mlsys_return_one_row(fcinfo, values, nulls);
	return (Datum) 0;
}
