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
	int			max_blocks;		/* block slots: the most blocks of a task */
	Size		off_records;
	Size		off_gh;
	Size		off_rows;
	Size		off_segs;
	Size		off_slots;
	Size		off_margins;	/* nrows × K margins, the leader's during boosting */
	Size		off_labels;		/* nrows targets */
	int			gbt_task;		/* TREES_TASK_*, for the gradients */
	/* the current task */
	ConditionVariable task_cv;	/* workers wait for a new task */
	ConditionVariable done_cv;	/* the leader waits for the blocks */
	slock_t		mutex;
	int			task;			/* task number; TASK_EXIT: leave */
	bool		gradients;		/* the task computes gradients, not histograms */
	int64		grad_rows;		/* gradients: of rows[0 .. grad_rows) */
	int			nsegs;			/* the nodes whose histograms the task builds */
	Size		gh_off;			/* the output's gradients: gh + gh_off doubles */
	int			nblocks;
	pg_atomic_uint32 next_block;
	pg_atomic_uint32 blocks_done;
} GbtShared;

/* a node of a task: rows[start .. start + n), its blocks from first_block on */
typedef struct GbtSegment
{
	int64		start;
	int64		n;
	int			first_block;
} GbtSegment;

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
	const GbtSegment *segs = (const GbtSegment *) (base + sh->off_segs);
	const double *gh = (const double *) (base + sh->off_gh) + sh->gh_off;
	int			lo = 0,
				hi = sh->nsegs - 1;
	const GbtSegment *seg;
	int64		first;

	/* the segment holding block b: the last one starting at or before it */
	while (lo < hi)
	{
		int			mid = (lo + hi + 1) / 2;

		if (segs[mid].first_block <= b)
			lo = mid;
		else
			hi = mid - 1;
	}
	seg = &segs[lo];
	first = (int64) (b - seg->first_block) * GBT_BLOCK_ROWS;
	gbt_hist_rows(base + sh->off_records, sh->rec, sh->nfeat, gh,
				  (const int32 *) (base + sh->off_rows) + seg->start + first,
				  (int) Min((int64) GBT_BLOCK_ROWS, seg->n - first), sh->counts,
				  base + sh->off_slots + (Size) b * sh->hist_bytes);
}

/* one block's gradients and hessians, for every output: each row's own */
static void
gradient_block(GbtShared *sh, int b)
{
	char	   *base = shared_base(sh);
	GbtData		d;
	int64		first = (int64) b * GBT_BLOCK_ROWS;
	int			n = (int) Min((int64) GBT_BLOCK_ROWS, sh->grad_rows - first),
				k;

	memset(&d, 0, sizeof(d));
	d.task = sh->gbt_task;
	d.ngroup = sh->K;
	d.nrows = sh->nrows;
	d.label = (const double *) (base + sh->off_labels);
	for (k = 0; k < sh->K; k++)
		gbt_gradients(&d, (const double *) (base + sh->off_margins),
					  (const int32 *) (base + sh->off_rows) + first, n, k,
					  (double *) (base + sh->off_gh) + 2 * (Size) k * sh->nrows);
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
		if (sh->gradients)
			gradient_block(sh, (int) b);
		else
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
gbt_parallel_begin(const GbtData *d, bool counts, double **gh, int32 **rows, double **margins)
{
	int			nworkers = max_parallel_workers_per_gather;
	Size		records = (Size) d->nrows * d->rec,
				ghbytes = sizeof(double) * 2 * (Size) d->ngroup * d->nrows,
				rowbytes = sizeof(int32) * (Size) d->nrows,
				marginbytes = sizeof(double) * (Size) d->ngroup * d->nrows,
				labelbytes = sizeof(double) * (Size) d->nrows,
				hist_bytes = (sizeof(double) * 2 + (counts ? sizeof(double) : 0)) * 256 * (Size) d->nfeat;
	/* slots for a root's blocks, and for many small nodes, within 64 MB */
	int			max_blocks = (int) Max(Min((d->nrows + GBT_BLOCK_ROWS - 1) / GBT_BLOCK_ROWS + 64,
										   (int64) (64 * 1024 * 1024) / (int64) hist_bytes),
									   4);
	Size		total;
	GbtParallel *ps;
	GbtShared  *sh;

	if (nworkers <= 0 || d->nrows < 2 * GBT_BLOCK_ROWS || IsInParallelMode() ||
		!IsUnderPostmaster)
		return NULL;
	total = MAXALIGN(sizeof(GbtShared)) + MAXALIGN(records) + MAXALIGN(ghbytes) +
		MAXALIGN(rowbytes) + MAXALIGN(sizeof(GbtSegment) * (Size) max_blocks) +
		MAXALIGN(marginbytes) + MAXALIGN(labelbytes) + hist_bytes * (Size) max_blocks;
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
	sh->off_segs = sh->off_rows + MAXALIGN(rowbytes);
	sh->off_margins = sh->off_segs + MAXALIGN(sizeof(GbtSegment) * (Size) max_blocks);
	sh->off_labels = sh->off_margins + MAXALIGN(marginbytes);
	sh->off_slots = sh->off_labels + MAXALIGN(labelbytes);
	sh->gbt_task = d->task;
	ConditionVariableInit(&sh->task_cv);
	ConditionVariableInit(&sh->done_cv);
	SpinLockInit(&sh->mutex);
	pg_atomic_init_u32(&sh->next_block, 0);
	pg_atomic_init_u32(&sh->blocks_done, 0);
	memcpy(shared_base(sh) + sh->off_records, d->records, records);
	memcpy(shared_base(sh) + sh->off_margins, *margins, marginbytes);
	memcpy(shared_base(sh) + sh->off_labels, d->label, labelbytes);
	shm_toc_insert(ps->pcxt->toc, GBT_SHARED_KEY, sh);
	LaunchParallelWorkers(ps->pcxt);
	ps->sh = sh;
	ps->workers = ps->pcxt->nworkers_launched;
	elog(DEBUG1, "boosted trees: %d of %d parallel workers build the histograms with the leader",
		 ps->workers, nworkers);
	*gh = (double *) (shared_base(sh) + sh->off_gh);
	*rows = (int32 *) (shared_base(sh) + sh->off_rows);
	*margins = (double *) (shared_base(sh) + sh->off_margins);
	return ps;
}

/*
 * Publish the task whose fields are set (nblocks blocks), take part in it,
 * and wait until every block is done
 */
static void
run_blocks(GbtShared *sh, int nblocks)
{
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
}

/* run one task over segs[0 .. nsegs) (nblocks blocks, at most max_blocks) and sum each node's blocks */
static void
run_task(GbtParallel *ps, const GbtSegment *segs, int nsegs, int nblocks, char **outs)
{
	GbtShared  *sh = ps->sh;
	const char *slots = shared_base(sh) + sh->off_slots;
	int			i;

	memcpy(shared_base(sh) + sh->off_segs, segs, sizeof(GbtSegment) * nsegs);
	sh->gradients = false;
	sh->nsegs = nsegs;
	run_blocks(sh, nblocks);
	for (i = 0; i < nsegs; i++)
	{
		int			nb = (int) ((segs[i].n + GBT_BLOCK_ROWS - 1) / GBT_BLOCK_ROWS);

		if (nb == 0)
			memset(outs[i], 0, sh->hist_bytes);
		else
			gbt_hist_sum_blocks(slots + (Size) segs[i].first_block * sh->hist_bytes, nb,
								sh->hist_bytes, outs[i]);
	}
}

/*
 * The histograms of nodes rows[starts[i] .. starts[i] + ns[i]) (rows and
 * gh are the shared arrays from gbt_parallel_begin) into outs[i]: the
 * blocks of all of them built by every participant, then each node's added
 * in block order. As many tasks as the block slots need.
 */
void
gbt_parallel_hists(GbtParallel *ps, const int32 *rows, int nnodes, const int64 *starts,
				   const int64 *ns, const double *gh, char **outs)
{
	GbtShared  *sh = ps->sh;
	GbtSegment *segs = palloc(sizeof(GbtSegment) * Max(nnodes, 1));
	int			i,
				first = 0,
				nblocks = 0;

	Assert(rows == (const int32 *) (shared_base(sh) + sh->off_rows));
	sh->gh_off = (Size) (gh - (const double *) (shared_base(sh) + sh->off_gh));
	for (i = 0; i < nnodes; i++)
	{
		int			nb = (int) ((ns[i] + GBT_BLOCK_ROWS - 1) / GBT_BLOCK_ROWS);

		if (nblocks + nb > sh->max_blocks && nblocks > 0)
		{
			run_task(ps, segs + first, i - first, nblocks, outs + first);
			first = i;
			nblocks = 0;
		}
		segs[i].start = starts[i];
		segs[i].n = ns[i];
		segs[i].first_block = nblocks;
		nblocks += nb;
	}
	if (nblocks > 0)
		run_task(ps, segs + first, nnodes - first, nblocks, outs + first);
	pfree(segs);
}

/*
 * Every output's gradients and hessians for rows[0 .. n) (the shared row
 * list) from the shared margins, in blocks shared by every participant
 */
void
gbt_parallel_gradients(GbtParallel *ps, int64 n)
{
	GbtShared  *sh = ps->sh;
	int			nblocks = (int) ((n + GBT_BLOCK_ROWS - 1) / GBT_BLOCK_ROWS);

	if (nblocks == 0)
		return;
	sh->gradients = true;
	sh->grad_rows = n;
	run_blocks(sh, nblocks);
}

/* stop the workers and leave parallel mode; the shared margins go back to margins */
void
gbt_parallel_end(GbtParallel *ps, double *margins)
{
	if (ps == NULL)
		return;
	memcpy(margins, shared_base(ps->sh) + ps->sh->off_margins,
		   sizeof(double) * (Size) ps->sh->K * ps->sh->nrows);
	SpinLockAcquire(&ps->sh->mutex);
	ps->sh->task = TASK_EXIT;
	SpinLockRelease(&ps->sh->mutex);
	ConditionVariableBroadcast(&ps->sh->task_cv);
	WaitForParallelWorkersToFinish(ps->pcxt);
	DestroyParallelContext(ps->pcxt);
	ExitParallelMode();
}
