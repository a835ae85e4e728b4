/*
 * gbt_parallel.c — gradient histograms built by several processes inside
 * one training: PostgreSQL's parallel workers (a ParallelContext, as
 * parallel CREATE INDEX uses) and the leader share the binned rows, the
 * gradients and the node's row list in dynamic shared memory. A histogram
 * is the sum of block histograms over fixed blocks of GBT_BLOCK_ROWS rows,
 * each summed in row order, added in block order by the leader: the serial
 * build (gbt_grow.c) sums the same blocks in the same order, so the model is
 * the same whatever the number of workers, bit for bit.
 *
 * A task (one node's histogram) is published by the leader under a task
 * number; every participant takes blocks from an atomic counter until none
 * is left; the last block's finisher wakes the leader. Workers sleep on a
 * condition variable between tasks, and leave when the task number says so.
 * A worker's error reaches the leader through the parallel context's error
 * queue (the leader's waits check for interrupts), and aborting the
 * training's transaction stops the workers.
 */
#include "postgres.h"

#include "access/parallel.h"
#include "access/xact.h"
#include "miscadmin.h"
#include "optimizer/cost.h"
#include "pgstat.h"
#include "port/atomics.h"
#include "storage/condition_variable.h"
#include "storage/shm_toc.h"
#include "storage/spin.h"
#include "utils/wait_event.h"

#include "models/trees/trees.h"

#define GBT_SHARED_KEY UINT64CONST(0x6D6C737947425401)
#define TASK_EXIT (-1)

/* the shared state: this header, then records, gh, rows and the block slots */
typedef struct GbtShared
{
	/* fixed for the training */
	int			nfeat;
	int			rec;
	int64		nrows;
	int			K;
	bool		counts;
	Size		hist_bytes;		/* one histogram (pairs, then counts when counted) */
	int			max_blocks;
	Size		off_records;
	Size		off_gh;
	Size		off_rows;
	Size		off_slots;
	/* the current task */
	ConditionVariable task_cv;	/* workers wait for a new task */
	ConditionVariable done_cv;	/* the leader waits for the blocks */
	slock_t		mutex;
	int			task;			/* task number; TASK_EXIT: leave */
	int64		rows_start;		/* the node's rows: rows[rows_start .. + n) */
	int64		n;
	Size		gh_off;			/* the output's gradients: gh + gh_off doubles */
	int			nblocks;
	pg_atomic_uint32 next_block;
	pg_atomic_uint32 blocks_done;
} GbtShared;

struct GbtParallel
{
	ParallelContext *pcxt;
	GbtShared  *sh;
	int			workers;
};

static inline char *
shared_base(GbtShared *sh)
{
	return (char *) sh;
}

/* one block's histogram into its slot: rows in order, as the serial build */
static void
build_block(GbtShared *sh, int b)
{
	char	   *base = shared_base(sh);
	const char *records = base + sh->off_records;
	const double *gh = (const double *) (base + sh->off_gh) + sh->gh_off;
	const int32 *rows = (const int32 *) (base + sh->off_rows) + sh->rows_start;
	int64		first = (int64) b * GBT_BLOCK_ROWS;
	int			n = (int) Min((int64) GBT_BLOCK_ROWS, sh->n - first);

	gbt_hist_rows(records, sh->rec, sh->nfeat, gh, rows + first, n, sh->counts,
				  base + sh->off_slots + (Size) b * sh->hist_bytes);
}

/* take blocks of the current task until none is left */
static void
work_on_task(GbtShared *sh)
{
	for (;;)
	{
		uint32		b = pg_atomic_fetch_add_u32(&sh->next_block, 1);

		if ((int) b >= sh->nblocks)
			return;
		CHECK_FOR_INTERRUPTS();
		build_block(sh, (int) b);
		if ((int) pg_atomic_add_fetch_u32(&sh->blocks_done, 1) == sh->nblocks)
			ConditionVariableBroadcast(&sh->done_cv);
	}
}

/* a parallel worker: tasks until the leader says to leave */
PGDLLEXPORT void gbt_parallel_worker_main(dsm_segment *seg, shm_toc *toc);
void
gbt_parallel_worker_main(dsm_segment *seg, shm_toc *toc)
{
	GbtShared  *sh = shm_toc_lookup(toc, GBT_SHARED_KEY, false);
	int			seen = 0;

	for (;;)
	{
		int			task;

		ConditionVariablePrepareToSleep(&sh->task_cv);
		for (;;)
		{
			SpinLockAcquire(&sh->mutex);
			task = sh->task;
			SpinLockRelease(&sh->mutex);
			if (task != seen)
				break;
			ConditionVariableSleep(&sh->task_cv, PG_WAIT_EXTENSION);
		}
		ConditionVariableCancelSleep();
		if (task == TASK_EXIT)
			return;
		seen = task;
		work_on_task(sh);
	}
}

/*
 * Start the workers (max_parallel_workers_per_gather of them) and move the
 * binned rows into shared memory; *gh and *rows get the shared arrays the
 * leader then fills (2 · K · nrows gradients, nrows row numbers). NULL when
 * no worker is wanted, or parallel mode is not available here.
 */
GbtParallel *
gbt_parallel_begin(const GbtData *d, bool counts, double **gh, int32 **rows)
{
	int			nworkers = max_parallel_workers_per_gather;
	Size		records = (Size) d->nrows * d->rec,
				ghbytes = sizeof(double) * 2 * (Size) d->ngroup * d->nrows,
				rowbytes = sizeof(int32) * (Size) d->nrows,
				hist_bytes = (sizeof(double) * 2 + (counts ? sizeof(double) : 0)) * 256 * (Size) d->nfeat;
	int			max_blocks = (int) ((d->nrows + GBT_BLOCK_ROWS - 1) / GBT_BLOCK_ROWS);
	Size		total;
	GbtParallel *ps;
	GbtShared  *sh;

	if (nworkers <= 0 || d->nrows < 2 * GBT_BLOCK_ROWS || IsInParallelMode() ||
		!IsUnderPostmaster)
		return NULL;
	total = MAXALIGN(sizeof(GbtShared)) + MAXALIGN(records) + MAXALIGN(ghbytes) +
		MAXALIGN(rowbytes) + hist_bytes * (Size) max_blocks;
	ps = palloc0(sizeof(GbtParallel));
	EnterParallelMode();
	ps->pcxt = CreateParallelContext("mlsys", "gbt_parallel_worker_main", nworkers);
	shm_toc_estimate_chunk(&ps->pcxt->estimator, total);
	shm_toc_estimate_keys(&ps->pcxt->estimator, 1);
	InitializeParallelDSM(ps->pcxt);
	if (ps->pcxt->seg == NULL)
	{
		/* no dynamic shared memory to be had: the serial build */
		DestroyParallelContext(ps->pcxt);
		ExitParallelMode();
		pfree(ps);
		return NULL;
	}
	sh = shm_toc_allocate(ps->pcxt->toc, total);
	memset(sh, 0, sizeof(GbtShared));
	sh->nfeat = d->nfeat;
	sh->rec = d->rec;
	sh->nrows = d->nrows;
	sh->K = d->ngroup;
	sh->counts = counts;
	sh->hist_bytes = hist_bytes;
	sh->max_blocks = max_blocks;
	sh->off_records = MAXALIGN(sizeof(GbtShared));
	sh->off_gh = sh->off_records + MAXALIGN(records);
	sh->off_rows = sh->off_gh + MAXALIGN(ghbytes);
	sh->off_slots = sh->off_rows + MAXALIGN(rowbytes);
	ConditionVariableInit(&sh->task_cv);
	ConditionVariableInit(&sh->done_cv);
	SpinLockInit(&sh->mutex);
	pg_atomic_init_u32(&sh->next_block, 0);
	pg_atomic_init_u32(&sh->blocks_done, 0);
	memcpy(shared_base(sh) + sh->off_records, d->records, records);
	shm_toc_insert(ps->pcxt->toc, GBT_SHARED_KEY, sh);
	LaunchParallelWorkers(ps->pcxt);
	ps->sh = sh;
	ps->workers = ps->pcxt->nworkers_launched;
	elog(DEBUG1, "boosted trees: %d of %d parallel workers build the histograms with the leader",
		 ps->workers, nworkers);
	*gh = (double *) (shared_base(sh) + sh->off_gh);
	*rows = (int32 *) (shared_base(sh) + sh->off_rows);
	return ps;
}

/*
 * The histogram of rows[start .. start + n) (rows and gh are the shared
 * arrays from gbt_parallel_begin) into hist: the blocks built by every
 * participant, then added in block order.
 */
void
gbt_parallel_hist(GbtParallel *ps, const int32 *rows, int64 start, int64 n, const double *gh,
				  char *hist)
{
	GbtShared  *sh = ps->sh;
	int			nblocks = (int) ((n + GBT_BLOCK_ROWS - 1) / GBT_BLOCK_ROWS);
	const char *slots = shared_base(sh) + sh->off_slots;

	Assert(rows == (const int32 *) (shared_base(sh) + sh->off_rows));
	sh->rows_start = start;
	sh->n = n;
	sh->gh_off = (Size) (gh - (const double *) (shared_base(sh) + sh->off_gh));
	sh->nblocks = nblocks;
	pg_write_barrier();			/* the task's fields before its counters */
	pg_atomic_write_u32(&sh->next_block, 0);
	pg_atomic_write_u32(&sh->blocks_done, 0);
	pg_write_barrier();
	SpinLockAcquire(&sh->mutex);
	sh->task++;
	SpinLockRelease(&sh->mutex);
	ConditionVariableBroadcast(&sh->task_cv);
	/* the leader participates */
	work_on_task(sh);
	ConditionVariablePrepareToSleep(&sh->done_cv);
	while ((int) pg_atomic_read_u32(&sh->blocks_done) < nblocks)
		ConditionVariableSleep(&sh->done_cv, PG_WAIT_EXTENSION);
	ConditionVariableCancelSleep();
	pg_read_barrier();
	gbt_hist_sum_blocks(slots, nblocks, sh->hist_bytes, hist);
}

/* stop the workers and leave parallel mode */
void
gbt_parallel_end(GbtParallel *ps)
{
	if (ps == NULL)
		return;
	SpinLockAcquire(&ps->sh->mutex);
	ps->sh->task = TASK_EXIT;
	SpinLockRelease(&ps->sh->mutex);
	ConditionVariableBroadcast(&ps->sh->task_cv);
	WaitForParallelWorkersToFinish(ps->pcxt);
	DestroyParallelContext(ps->pcxt);
	ExitParallelMode();
}
