/*
 * logring.c — the shared-memory ring that carries online scoring records
 * from the backends that score to the writer workers that store them
 * (monitor/log_writer.c), its settings and its counters.
 *
 * A record is opaque here: bytes tagged with the database they belong to.
 * Appending never waits on I/O: the ring's lock is held for a memcpy, and a
 * full ring drops the record and counts it. Records of many databases share
 * the ring; a writer takes its own database's records wherever they lie
 * (marking them taken), and the oldest end of the ring advances past taken
 * records. Counters: accepted into the ring, refused (full, standby, too
 * many databases), lost after acceptance (taken by a writer that has not
 * committed them yet, or discarded) and logged (committed). What a caller
 * sampled is always logged + dropped + pending.
 *
 * The ring exists only when mlsys is in shared_preload_libraries; the
 * launcher worker is registered here too (by the name of its entry point).
 */
#include "postgres.h"

#include "access/xlog.h"
#include "miscadmin.h"
#include "postmaster/bgworker.h"
#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "utils/guc.h"

#include "common/common.h"

/* records are multiples of this, so that a padding record always fits */
#define RING_ALIGN 16
/* databases with records in the ring at one time */
#define RING_MAX_DATABASES 64

typedef enum RecordState
{
	RECORD_PENDING = 0,
	RECORD_TAKEN = 1,
	RECORD_PADDING = 2
} RecordState;

typedef struct RecordHeader
{
	uint32		len;			/* whole record, header included, RING_ALIGN multiple */
	Oid			dboid;
	uint32		state;			/* RecordState */
	uint32		payload;		/* payload bytes */
} RecordHeader;

StaticAssertDecl(sizeof(RecordHeader) == RING_ALIGN, "a record header is one alignment unit");

typedef struct DatabaseSlot
{
	Oid			dboid;
	uint32		pending;		/* its records not yet taken */
} DatabaseSlot;

typedef struct LogRing
{
	LWLock	   *lock;
	uint64		head;			/* byte offsets, only ever growing */
	uint64		tail;
	uint64		capacity;		/* data bytes, RING_ALIGN multiple */
	uint64		accepted;
	uint64		refused;
	uint64		lost;
	uint64		logged;
	DatabaseSlot dbs[RING_MAX_DATABASES];
	char		data[FLEXIBLE_ARRAY_MEMBER];
} LogRing;

/* mlsys.log_buffer_size (kB) and mlsys.log_flush_interval (ms) */
int			mlsys_log_buffer_kb = 8192;
int			mlsys_log_flush_interval_ms = 1000;

static LogRing *ring = NULL;

#if PG_VERSION_NUM >= 150000
static shmem_request_hook_type prev_shmem_request_hook = NULL;
#endif
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;

static Size
ring_size(void)
{
	return add_size(offsetof(LogRing, data),
					TYPEALIGN(RING_ALIGN, (Size) mlsys_log_buffer_kb * 1024));
}

#if PG_VERSION_NUM >= 150000
static void
ring_shmem_request(void)
{
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
	RequestAddinShmemSpace(ring_size());
	RequestNamedLWLockTranche("mlsys_log", 1);
}
#endif

static void
ring_shmem_startup(void)
{
	bool		found;

	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();
	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	ring = ShmemInitStruct("mlsys log ring", ring_size(), &found);
	if (!found)
	{
		memset(ring, 0, offsetof(LogRing, data));
		ring->lock = &(GetNamedLWLockTranche("mlsys_log"))->lock;
		ring->capacity = TYPEALIGN_DOWN(RING_ALIGN, (Size) mlsys_log_buffer_kb * 1024);
	}
	LWLockRelease(AddinShmemInitLock);
}

/*
 * The settings; with shared_preload_libraries also the ring's size, its
 * shared memory and the launcher worker.
 */
void
logring_define(void)
{
	DefineCustomIntVariable("mlsys.log_flush_interval",
							"How often the writer workers store logged online scoring records.",
							NULL,
							&mlsys_log_flush_interval_ms, 1000, 10, 3600 * 1000, PGC_SIGHUP,
							GUC_UNIT_MS, NULL, NULL, NULL);

	/* a server-start setting can only be defined while preloading */
	if (!process_shared_preload_libraries_in_progress)
		return;
	DefineCustomIntVariable("mlsys.log_buffer_size",
							"Shared memory for online scoring records waiting to be written.",
							"Records that find it full are dropped and counted in mlsys.logging_stats. Needs mlsys in shared_preload_libraries.",
							&mlsys_log_buffer_kb, 8192, 64, 1024 * 1024, PGC_POSTMASTER,
							GUC_UNIT_KB, NULL, NULL, NULL);
#if PG_VERSION_NUM >= 150000
	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = ring_shmem_request;
#endif
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = ring_shmem_startup;

	{
		BackgroundWorker worker;

		memset(&worker, 0, sizeof(worker));
		worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
		/* a standby cannot write: no workers until recovery ends */
		worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
		worker.bgw_restart_time = 1;
		strlcpy(worker.bgw_library_name, "mlsys", BGW_MAXLEN);
		/* monitor/log_writer.c */
		strlcpy(worker.bgw_function_name, "mlsys_log_launcher_main", BGW_MAXLEN);
		strlcpy(worker.bgw_name, "mlsys log launcher", BGW_MAXLEN);
		strlcpy(worker.bgw_type, "mlsys log launcher", BGW_MAXLEN);
		RegisterBackgroundWorker(&worker);
	}
}

/* can online records be logged in this server (mlsys was preloaded)? */
bool
logring_available(void)
{
	return ring != NULL;
}

/*
 * Append a record for a database. Never waits for I/O and never fails: a
 * record that does not fit (or comes from a standby) is dropped and counted.
 */
bool
logring_append(Oid dboid, const void *payload, uint32 payload_len)
{
	uint32		len = TYPEALIGN(RING_ALIGN, sizeof(RecordHeader) + (Size) payload_len);
	uint64		pos,
				room_at_end,
				need;
	DatabaseSlot *slot = NULL;
	int			i;
	RecordHeader *h;

	if (ring == NULL)
		return false;
	LWLockAcquire(ring->lock, LW_EXCLUSIVE);
	if (RecoveryInProgress() || len > ring->capacity / 2)
		goto refuse;
	for (i = 0; i < RING_MAX_DATABASES; i++)
	{
		if (ring->dbs[i].dboid == dboid && ring->dbs[i].pending > 0)
		{
			slot = &ring->dbs[i];
			break;
		}
		if (slot == NULL && ring->dbs[i].pending == 0)
			slot = &ring->dbs[i];
	}
	if (slot == NULL)
		goto refuse;
	pos = ring->head % ring->capacity;
	room_at_end = ring->capacity - pos;
	need = room_at_end < len ? room_at_end + len : len;
	if (ring->capacity - (ring->head - ring->tail) < need)
		goto refuse;
	if (room_at_end < len)
	{
		/* the record does not fit before the end: pad to it and start over */
		h = (RecordHeader *) (ring->data + pos);
		h->len = (uint32) room_at_end;
		h->dboid = InvalidOid;
		h->state = RECORD_PADDING;
		h->payload = 0;
		ring->head += room_at_end;
		pos = 0;
	}
	h = (RecordHeader *) (ring->data + pos);
	h->len = len;
	h->dboid = dboid;
	h->state = RECORD_PENDING;
	h->payload = payload_len;
	memcpy(ring->data + pos + sizeof(RecordHeader), payload, payload_len);
	ring->head += len;
	slot->dboid = dboid;
	slot->pending++;
	ring->accepted++;
	LWLockRelease(ring->lock);
	return true;

refuse:
	ring->refused++;
	LWLockRelease(ring->lock);
	return false;
}

/* count a record that was sampled but could not be appended (no ring) */
void
logring_count_refused(void)
{
	if (ring == NULL)
		return;
	LWLockAcquire(ring->lock, LW_EXCLUSIVE);
	ring->refused++;
	LWLockRelease(ring->lock);
}

/* advance the oldest end past records that are taken (lock held) */
static void
ring_advance_tail(void)
{
	while (ring->tail < ring->head)
	{
		RecordHeader *h = (RecordHeader *) (ring->data + ring->tail % ring->capacity);

		if (h->state == RECORD_PENDING)
			break;
		ring->tail += h->len;
	}
}

static DatabaseSlot *
ring_slot(Oid dboid)
{
	int			i;

	for (i = 0; i < RING_MAX_DATABASES; i++)
		if (ring->dbs[i].dboid == dboid && ring->dbs[i].pending > 0)
			return &ring->dbs[i];
	return NULL;
}

/*
 * Take up to cap bytes of a database's records (each copied as its uint32
 * length in LOGRING_PREFIX bytes, then its payload, MAXALIGNed). Taken records count as lost until
 * logring_logged says they were committed: a writer that dies in between
 * leaves the counts right. Returns the number of records taken; *used is
 * the bytes written into buf. With buf NULL every record of the database
 * is discarded instead (counted as lost): its database is gone.
 */
int
logring_take(Oid dboid, char *buf, Size cap, Size *used)
{
	uint64		off;
	int			n = 0;
	Size		at = 0;
	DatabaseSlot *slot;

	*used = 0;
	if (ring == NULL)
		return 0;
	LWLockAcquire(ring->lock, LW_EXCLUSIVE);
	slot = ring_slot(dboid);
	for (off = ring->tail; slot != NULL && slot->pending > 0 && off < ring->head;)
	{
		RecordHeader *h = (RecordHeader *) (ring->data + off % ring->capacity);

		off += h->len;
		if (h->state != RECORD_PENDING || h->dboid != dboid)
			continue;
		if (buf != NULL)
		{
			Size		need = LOGRING_PREFIX + MAXALIGN(h->payload);

			if (at + need > cap)
				break;
			*(uint32 *) (buf + at) = h->payload;
			memcpy(buf + at + LOGRING_PREFIX, (char *) h + sizeof(RecordHeader), h->payload);
			at += need;
		}
		h->state = RECORD_TAKEN;
		slot->pending--;
		n++;
	}
	ring->lost += n;
	ring_advance_tail();
	LWLockRelease(ring->lock);
	*used = at;
	return n;
}

/* records taken by logring_take are committed (logged) */
void
logring_logged(int n)
{
	if (ring == NULL || n <= 0)
		return;
	LWLockAcquire(ring->lock, LW_EXCLUSIVE);
	ring->lost -= n;
	ring->logged += n;
	LWLockRelease(ring->lock);
}

/* the databases that have records waiting, at most max */
int
logring_pending_databases(Oid *dbs, int max)
{
	int			i,
				n = 0;

	if (ring == NULL)
		return 0;
	LWLockAcquire(ring->lock, LW_SHARED);
	for (i = 0; i < RING_MAX_DATABASES && n < max; i++)
		if (ring->dbs[i].pending > 0)
			dbs[n++] = ring->dbs[i].dboid;
	LWLockRelease(ring->lock);
	return n;
}

/* the counters since the server started (zeros without the ring) */
void
logring_counts(uint64 *logged, uint64 *dropped, uint64 *pending)
{
	*logged = *dropped = *pending = 0;
	if (ring == NULL)
		return;
	LWLockAcquire(ring->lock, LW_SHARED);
	*logged = ring->logged;
	*dropped = ring->refused + ring->lost;
	*pending = ring->accepted - ring->logged - ring->lost;
	LWLockRelease(ring->lock);
}
