/*
 * gbt_grow.c — gradient boosting over binned rows: each round computes every
 * training row's gradient and hessian from the current margins (squared
 * error, log loss, or softmax with one tree per class), and grows a tree
 * level by level from gradient histograms (per feature and bin: Σ g, Σ h,
 * and the row count when min_samples_leaf needs it). A node's smaller child
 * gets its histogram from its rows, the larger one by subtracting it from
 * the parent's. The best split of a node maximizes XGBoost's gain
 *     G_L² / (H_L + λ) + G_R² / (H_R + λ) − G² / (H + λ),
 * trying missing values on both sides; a leaf outputs −η G / (H + λ).
 *
 * Everything is deterministic given the rows (sorted by content hash), the
 * seed and the hyperparameters: a histogram is the sum of fixed blocks of
 * GBT_BLOCK_ROWS rows, each summed in row order, added in block order (by
 * the leader alone, or with parallel workers: gbt_parallel.c), ties go to
 * the first feature and bin, and the rows and features of a tree are drawn
 * from (seed, tree, row hash or feature number): the same model whatever the
 * number of workers.
 *
 * A level grows in two steps: every node's best split and partition, then
 * the histograms of all the smaller children of the level at once (one
 * parallel task).
 */
#include "postgres.h"

#include <math.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "miscadmin.h"
#include "portability/instr_time.h"
#include "utils/float.h"
#include "utils/memutils.h"

#include "models/trees/trees.h"

#define HESS_FLOOR 1e-16
#define NBINS 256				/* histogram slots per feature (bin 255: missing) */
#define HIST_PREFETCH 16		/* rows ahead whose bins and gradients are fetched */

/*
 * A histogram: Σ g and Σ h per feature and bin (one 16-byte pair, added
 * with one SIMD instruction), then, when rows are counted, the counts.
 */
typedef struct HistBin
{
	double		g;
	double		h;
} HistBin;

/* a level's histogram work: the smaller child built, the larger from the parent */
typedef struct HistJob
{
	int			small;			/* children, in the next level */
	int			large;
	struct HistBin *parent;		/* the parent's histogram, becoming the larger child's */
} HistJob;

/* a node waiting to be split, with its rows rows[start .. end) */
typedef struct Pending
{
	int			node;
	int			start;
	int			end;
	double		G;
	double		H;
	HistBin    *hist;
} Pending;

/* where boosting's time goes, in ms, reported at DEBUG1 */
static double t_hist,
			t_part,
			t_split,
			t_grad,
			t_marg;

#define TSTART instr_time _t0, _t1; INSTR_TIME_SET_CURRENT(_t0)
#define TEND(acc) do { INSTR_TIME_SET_CURRENT(_t1); INSTR_TIME_SUBTRACT(_t1, _t0); \
		acc += INSTR_TIME_GET_MILLISEC(_t1); } while (0)
typedef struct Grower
{
	const GbtData *d;
	const GbtParams *prm;
	const double *gh;			/* 2 per row: gradient, hessian */
	const bool *use_feature;
	bool		counts;			/* histograms count rows (min_samples_leaf > 1) */
	int32	   *rows;			/* the tree's rows, partitioned by node */
	int32	   *scratch;
	/* the tree being grown */
	TreeNode   *nodes;
	uint8	   *split_bin;		/* per node: bins ≤ it go left */
	int			nnodes;
	int32	   *leaf_start;		/* per node: its rows, for leaves */
	int32	   *leaf_end;
	GbtParallel *parallel;		/* the histogram workers, or NULL */
} Grower;

static inline const uint8 *
row_bins(const GbtData *d, int32 r)
{
	return (const uint8 *) d->records + (Size) r * d->rec + 16;
}

/* the counts of a histogram (after its NBINS × p pairs) */
static inline double *
hist_counts(HistBin *hist, int p)
{
	return (double *) (hist + NBINS * (Size) p);
}

/*
 * Σ g, h (and counts) per feature and bin over rows[0 .. n), in row order,
 * into out (zeroed first): the kernel of every histogram, serial or in a
 * parallel participant (gbt_parallel.c)
 */
void
gbt_hist_rows(const char *records, int rec, int p, const double *gh, const int32 *rows, int n,
			  bool counts, void *out)
{
	HistBin    *hist = (HistBin *) out;
	int			i,
				f;

	memset(hist, 0, (sizeof(HistBin) + (counts ? sizeof(double) : 0)) * NBINS * (Size) p);
	if (counts)
	{
		double	   *cn = hist_counts(hist, p);

		for (i = 0; i < n; i++)
		{
			int32		r = rows[i];
			const uint8 *b = (const uint8 *) records + (Size) r * rec + 16;
			double		g = gh[2 * (Size) r],
						h = gh[2 * (Size) r + 1];

			for (f = 0; f < p; f++)
			{
				HistBin    *hb = hist + (Size) f * NBINS + b[f];

				hb->g += g;
				hb->h += h;
				cn[(Size) f * NBINS + b[f]] += 1;
			}
		}
		return;
	}
	for (i = 0; i < n; i++)
	{
		int32		r = rows[i];
		const uint8 *b = (const uint8 *) records + (Size) r * rec + 16;
		HistBin    *hb = hist;
#ifdef __SSE2__
		__m128d		ghv = _mm_loadu_pd(gh + 2 * (Size) r);
#endif

		/* a node's rows are scattered: fetch those a few rows ahead */
		if (i + HIST_PREFETCH < n)
		{
			int32		ahead = rows[i + HIST_PREFETCH];

			__builtin_prefetch(records + (Size) ahead * rec + 16);
			__builtin_prefetch(gh + 2 * (Size) ahead);
		}
#ifdef __SSE2__
		for (f = 0; f < p; f++, hb += NBINS)
		{
			double	   *slot = (double *) (hb + b[f]);

			_mm_storeu_pd(slot, _mm_add_pd(_mm_loadu_pd(slot), ghv));
		}
#else
		for (f = 0; f < p; f++, hb += NBINS)
		{
			hb[b[f]].g += gh[2 * (Size) r];
			hb[b[f]].h += gh[2 * (Size) r + 1];
		}
#endif
	}
}

/* out = block 0 + block 1 + ... in block order (blocks hist_bytes apart) */
void
gbt_hist_sum_blocks(const char *blocks, int nblocks, Size hist_bytes, void *out)
{
	Size		nd = hist_bytes / sizeof(double);
	int			b;

	memcpy(out, blocks, hist_bytes);
	for (b = 1; b < nblocks; b++)
	{
		const double *src = (const double *) (blocks + (Size) b * hist_bytes);
		double	   *dst = (double *) out;
		Size		k;

		for (k = 0; k < nd; k++)
			dst[k] += src[k];
	}
}

/*
 * The histograms of nodes gr->rows[starts[i] .. starts[i] + ns[i]) into
 * outs[i], each summed per block of GBT_BLOCK_ROWS rows, the blocks added in
 * order: by the parallel participants, all nodes of a level in one task,
 * when there are any, else here, with the same arithmetic.
 */
static void
hist_build(const Grower *gr, int nnodes, const int64 *starts, const int64 *ns, HistBin **outs)
{
	const GbtData *d = gr->d;
	Size		hbytes = (sizeof(HistBin) + (gr->counts ? sizeof(double) : 0)) * NBINS * (Size) d->nfeat;
	char	   *tmp = NULL;
	int			i;
	TSTART;

	if (gr->parallel != NULL)
	{
		gbt_parallel_hists(gr->parallel, gr->rows, nnodes, starts, ns, gr->gh, (char **) outs);
		TEND(t_hist);
		return;
	}
	for (i = 0; i < nnodes; i++)
	{
		int			n = (int) ns[i],
					b,
					nblocks = (n + GBT_BLOCK_ROWS - 1) / GBT_BLOCK_ROWS;
		const int32 *rows = gr->rows + starts[i];

		gbt_hist_rows(d->records, d->rec, d->nfeat, gr->gh, rows, Min(n, GBT_BLOCK_ROWS),
					  gr->counts, outs[i]);
		for (b = 1; b < nblocks; b++)
		{
			int			first = b * GBT_BLOCK_ROWS;
			double	   *dst = (double *) outs[i];
			Size		k;

			if (tmp == NULL)
				tmp = palloc(hbytes);
			gbt_hist_rows(d->records, d->rec, d->nfeat, gr->gh, rows + first,
						  Min(n - first, GBT_BLOCK_ROWS), gr->counts, tmp);
			for (k = 0; k < hbytes / sizeof(double); k++)
				dst[k] += ((const double *) tmp)[k];
		}
	}
	if (tmp != NULL)
		pfree(tmp);
	TEND(t_hist);
}

static inline double
score(double g, double h, double l2)
{
	return g * g / (h + l2);
}

typedef struct Split
{
	double		gain;
	int			feature;
	int			bin;
	bool		default_left;
	double		GL,
				HL;
} Split;

/* the best split of a node from its histogram; gain ≤ 0: none */
static Split
best_split(const Grower *gr, const Pending *pn)
{
	const GbtData *d = gr->d;
	const GbtParams *prm = gr->prm;
	double		parent = score(pn->G, pn->H, prm->l2);
	double		minleaf = prm->min_samples_leaf;
	double		ntotal = pn->end - pn->start;
	Split		best;
	int			f,
				b;

	memset(&best, 0, sizeof(best));
	best.feature = -1;
	for (f = 0; f < d->nfeat; f++)
	{
		const HistBin *hb = pn->hist + (Size) f * NBINS;
		const HistBin *miss = &hb[GBT_MISSING];
		const double *cn = gr->counts ? hist_counts(pn->hist, d->nfeat) + (Size) f * NBINS : NULL;
		int			nb = d->ncuts[f] + 1;
		double		gl = 0,
					hl = 0,
					nl = 0;

		if (!gr->use_feature[f] || nb < 2)
			continue;
		for (b = 0; b < nb - 1; b++)
		{
			int			side;

			gl += hb[b].g;
			hl += hb[b].h;
			nl += gr->counts ? cn[b] : 0;
			/* side 0: missing right; side 1: missing left */
			for (side = 0; side < 2; side++)
			{
				double		GL = gl + (side ? miss->g : 0),
							HL = hl + (side ? miss->h : 0),
							GR = pn->G - GL,
							HR = pn->H - HL,
							gain;

				if (side == 1 && miss->h <= 0)
					break;		/* no missing value here: one side only */
				if (gr->counts)
				{
					double		NL = nl + (side ? cn[GBT_MISSING] : 0);

					if (NL < minleaf || ntotal - NL < minleaf)
						continue;
				}
				if (HL <= 0 || HR <= HESS_FLOOR * 0.5)
					continue;
				gain = score(GL, HL, prm->l2) + score(GR, HR, prm->l2) - parent;
				if (gain > best.gain)
				{
					best.gain = gain;
					best.feature = f;
					best.bin = b;
					/* without missing values here, they follow the larger side */
					best.default_left = side == 1 || (miss->h <= 0 && HL >= HR);
					best.GL = GL;
					best.HL = HL;
				}
			}
		}
	}
	/* a gain lost in rounding is no gain */
	if (best.feature >= 0 && !(best.gain > 1e-12 * Max(1.0, fabs(parent))))
		best.feature = -1;
	return best;
}

/* a new node of the tree; children always come after their parent */
static int
add_node(Grower *gr, double G, double H)
{
	TreeNode   *n = &gr->nodes[gr->nnodes];

	n->feature = -1;
	n->left = n->right = -1;
	n->default_left = 0;
	n->value = -gr->prm->learning_rate * G / (H + gr->prm->l2);
	if (n->value == 0)
		n->value = 0;			/* not -0: the model document keeps no sign of zero */
	n->cover = H;
	n->gain = 0;
	return gr->nnodes++;
}

/* stable partition of rows[start .. end) by the split; returns the first right row */
static int
partition(Grower *gr, const Pending *pn, const Split *s)
{
	const GbtData *d = gr->d;
	int			nl = 0,
				nr = 0,
				i;

	const uint8 *col = d->cols + (Size) s->feature * d->nrows;

	for (i = pn->start; i < pn->end; i++)
	{
		int32		r = gr->rows[i];
		uint8		b = col[r];
		int			left = b == GBT_MISSING ? s->default_left : b <= s->bin;

		/* both writes, one kept: no branch to mispredict on random sides */
		gr->rows[pn->start + nl] = r;
		gr->scratch[nr] = r;
		nl += left;
		nr += 1 - left;
	}
	memcpy(gr->rows + pn->start + nl, gr->scratch, sizeof(int32) * nr);
	return pn->start + nl;
}

/*
 * Grow one tree over gr->rows[0 .. n) into gr->nodes; each leaf's rows are
 * gr->rows[leaf_start .. leaf_end).
 */
static void
grow_tree(Grower *gr, int n, MemoryContext scratch)
{
	const GbtData *d = gr->d;
	const GbtParams *prm = gr->prm;
	Size		hbytes = (sizeof(HistBin) + (gr->counts ? sizeof(double) : 0)) * NBINS * (Size) d->nfeat;
	Pending    *level,
			   *next;
	HistJob    *jobs;
	int64	   *starts,
			   *counts;
	HistBin   **outs;
	int			nlevel = 0,
				depth,
				i;
	double		G = 0,
				H = 0;
	MemoryContext old = MemoryContextSwitchTo(scratch);

	level = palloc(sizeof(Pending) << prm->max_depth);
	next = palloc(sizeof(Pending) << prm->max_depth);
	jobs = palloc(sizeof(HistJob) << prm->max_depth);
	starts = palloc(sizeof(int64) << prm->max_depth);
	counts = palloc(sizeof(int64) << prm->max_depth);
	outs = palloc(sizeof(HistBin *) << prm->max_depth);
	for (i = 0; i < n; i++)
	{
		G += gr->gh[2 * (Size) gr->rows[i]];
		H += gr->gh[2 * (Size) gr->rows[i] + 1];
	}
	gr->nnodes = 0;
	level[0].node = add_node(gr, G, H);
	level[0].start = 0;
	level[0].end = n;
	level[0].G = G;
	level[0].H = H;
	level[0].hist = NULL;
	nlevel = 1;
	gr->leaf_start[0] = 0;
	gr->leaf_end[0] = n;
	if (prm->max_depth > 0 && n >= 2 * prm->min_samples_leaf)
	{
		int64		start = 0,
					count = n;

		level[0].hist = palloc(hbytes);
		hist_build(gr, 1, &start, &count, &level[0].hist);
	}
	for (depth = 0; depth < prm->max_depth && nlevel > 0; depth++)
	{
		int			nnext = 0,
					njobs = 0,
					j;

		for (i = 0; i < nlevel; i++)
		{
			Pending    *pn = &level[i];
			Split		s;
			int			mid,
						l,
						r;
			TreeNode   *node;
			bool		grow_children = depth + 1 < prm->max_depth;

			CHECK_FOR_INTERRUPTS();
			if (pn->hist == NULL)
				continue;
			{
				TSTART;
				s = best_split(gr, pn);
				TEND(t_split);
			}
			if (s.feature < 0)
			{
				pfree(pn->hist);
				continue;
			}
			{
				TSTART;
				mid = partition(gr, pn, &s);
				TEND(t_part);
			}
			l = add_node(gr, s.GL, s.HL);
			r = add_node(gr, pn->G - s.GL, pn->H - s.HL);
			node = &gr->nodes[pn->node];
			node->feature = s.feature;
			node->left = l;
			node->right = r;
			node->default_left = s.default_left ? 1 : 0;
			node->value = d->cuts[(Size) s.feature * (GBT_MAX_BINS - 1) + s.bin];
			node->gain = s.gain;
			gr->split_bin[pn->node] = (uint8) s.bin;
			gr->leaf_start[l] = pn->start;
			gr->leaf_end[l] = mid;
			gr->leaf_start[r] = mid;
			gr->leaf_end[r] = pn->end;
			next[nnext].node = l;
			next[nnext].start = pn->start;
			next[nnext].end = mid;
			next[nnext].G = s.GL;
			next[nnext].H = s.HL;
			next[nnext].hist = NULL;
			next[nnext + 1].node = r;
			next[nnext + 1].start = mid;
			next[nnext + 1].end = pn->end;
			next[nnext + 1].G = pn->G - s.GL;
			next[nnext + 1].H = pn->H - s.HL;
			next[nnext + 1].hist = NULL;
			if (grow_children &&
				(mid - pn->start >= 2 * prm->min_samples_leaf || pn->end - mid >= 2 * prm->min_samples_leaf))
			{
				/* the smaller child from its rows (below, for the whole level), the larger by subtraction */
				HistJob    *job = &jobs[njobs++];

				job->small = (mid - pn->start <= pn->end - mid) ? nnext : nnext + 1;
				job->large = job->small == nnext ? nnext + 1 : nnext;
				job->parent = pn->hist;
				starts[njobs - 1] = next[job->small].start;
				counts[njobs - 1] = next[job->small].end - next[job->small].start;
				outs[njobs - 1] = palloc(hbytes);
			}
			else
				pfree(pn->hist);
			pn->hist = NULL;
			nnext += 2;
		}
		if (njobs > 0)
			hist_build(gr, njobs, starts, counts, outs);
		for (j = 0; j < njobs; j++)
		{
			HistJob    *job = &jobs[j];
			Pending    *small = &next[job->small],
					   *large = &next[job->large];
			double	   *ph = (double *) job->parent;
			Size		k,
						total = hbytes / sizeof(double);

			for (k = 0; k < total; k++)
				ph[k] -= ((const double *) outs[j])[k];
			small->hist = outs[j];
			large->hist = job->parent;
			if (small->end - small->start < 2 * prm->min_samples_leaf)
			{
				pfree(small->hist);
				small->hist = NULL;
			}
			if (large->end - large->start < 2 * prm->min_samples_leaf)
			{
				pfree(large->hist);
				large->hist = NULL;
			}
		}
		{
			Pending    *t = level;

			level = next;
			next = t;
			nlevel = nnext;
		}
	}
	for (i = 0; i < nlevel; i++)
		if (level[i].hist != NULL)
			pfree(level[i].hist);
	MemoryContextSwitchTo(old);
	MemoryContextReset(scratch);
}

/* the leaf a binned row reaches in a grown tree (nodes, split_bin) */
static inline int
walk_bins(const TreeNode *nodes, const uint8 *split_bin, const uint8 *b)
{
	int			i = 0;

	while (nodes[i].feature >= 0)
	{
		uint8		v = b[nodes[i].feature];

		if (v == GBT_MISSING)
			i = nodes[i].default_left ? nodes[i].left : nodes[i].right;
		else
			i = v <= split_bin[i] ? nodes[i].left : nodes[i].right;
	}
	return i;
}

/* margins[r · K + k] += the leaf of the grown tree each of its rows reached */
static void
leaf_margins(const Grower *gr, int k, double *margins)
{
	int			K = gr->d->ngroup,
				j,
				a;

	for (j = 0; j < gr->nnodes; j++)
		if (gr->nodes[j].feature < 0)
			for (a = gr->leaf_start[j]; a < gr->leaf_end[j]; a++)
				margins[(Size) gr->rows[a] * K + k] += gr->nodes[j].value;
}

/* margins[r · K + group] += the tree's leaf, for rows[0 .. n) walked on their bins */
static void
add_tree(const GbtData *d, const TreeNode *nodes, const uint8 *split_bin, int group,
		 const int32 *rows, int64 n, double *margins)
{
	int64		i;

	for (i = 0; i < n; i++)
	{
		int32		r = rows[i];

		margins[(Size) r * d->ngroup + group] +=
			nodes[walk_bins(nodes, split_bin, row_bins(d, r))].value;
	}
}

/*
 * Boost: returns the ensemble (the trees of the kept rounds; base margins
 * from margins' initial values) and leaves every row's margins with the kept
 * trees added.
 */
TreeEnsemble *
gbt_boost(const GbtData *d, const GbtParams *prm, double *margins, int *rounds_out,
		  int *best_round_out)
{
	double	   *caller_margins = margins;	/* boosting may use a shared copy */
	MemoryContext scratch = AllocSetContextCreate(CurrentMemoryContext, "mlsys trees scratch",
												  ALLOCSET_DEFAULT_SIZES);
	int			K = d->ngroup;
	/* the most nodes a tree can have: full to max_depth, and 2 n − 1 for n rows */
	int			maxnodes = (int) Min((int64) (2 << prm->max_depth) - 1,
									 2 * Max(d->nrows, (int64) 1) - 1);
	Size		cap_nodes;
	int64		ntrain = 0,
				nvalid = 0,
				nhold = 0,
				i;
	int32	   *train_rows,
			   *valid_rows,
			   *hold_rows,
			   *left_out;
	double	   *gh;
	bool	   *use_feature = palloc(sizeof(bool) * d->nfeat);
	uint8	   *split_bin;
	Grower		gr;
	TreeEnsemble *e = palloc0(sizeof(TreeEnsemble));
	int			cap_trees = prm->n_trees * K;
	int			round,
				rounds = 0,
				best_round = -1,
				k;
	double		best_loss = get_float8_infinity();
	bool		truncated = false;

	for (i = 0; i < d->nrows; i++)
	{
		ntrain += d->role[i] == GBT_ROLE_TRAIN;
		nvalid += d->role[i] == GBT_ROLE_VALID;
		nhold += d->role[i] == GBT_ROLE_HOLDOUT;
	}
	train_rows = palloc(sizeof(int32) * Max(ntrain, 1));
	valid_rows = palloc(sizeof(int32) * Max(nvalid, 1));
	hold_rows = palloc(sizeof(int32) * Max(nhold, 1));
	left_out = palloc(sizeof(int32) * Max(ntrain, 1));
	ntrain = nvalid = nhold = 0;
	for (i = 0; i < d->nrows; i++)
	{
		if (d->role[i] == GBT_ROLE_TRAIN)
			train_rows[ntrain++] = (int32) i;
		else if (d->role[i] == GBT_ROLE_VALID)
			valid_rows[nvalid++] = (int32) i;
		else
			hold_rows[nhold++] = (int32) i;
	}

	memset(&gr, 0, sizeof(gr));
	gr.d = d;
	gr.prm = prm;
	gr.use_feature = use_feature;
	gr.counts = prm->min_samples_leaf > 1;
	gr.parallel = gbt_parallel_begin(d, gr.counts, &gh, &gr.rows, &margins);
	if (gr.parallel == NULL)
	{
		gh = palloc(sizeof(double) * 2 * (Size) K * (Size) d->nrows);
		gr.rows = palloc(sizeof(int32) * Max(ntrain, 1));
	}
	memset(gh, 0, sizeof(double) * 2 * (Size) K * (Size) d->nrows);
	gr.scratch = palloc(sizeof(int32) * Max(ntrain, 1));
	gr.leaf_start = palloc(sizeof(int32) * maxnodes);
	gr.leaf_end = palloc(sizeof(int32) * maxnodes);

	e->task = d->task;
	e->nfeat = d->nfeat;
	e->ngroup = K;
	e->threshold = 0.5;
	e->base = palloc(sizeof(double) * K);
	memcpy(e->base, margins, sizeof(double) * K);
	e->tree_group = palloc(sizeof(int32) * cap_trees);
	e->tree_start = palloc(sizeof(int32) * (cap_trees + 1));
	/* nodes grow with the trees: a deep tree of few rows has few nodes */
	cap_nodes = Min((Size) cap_trees * maxnodes, (Size) 64 * maxnodes);
	e->nodes = palloc_extended(sizeof(TreeNode) * cap_nodes, MCXT_ALLOC_HUGE);
	split_bin = palloc_extended(cap_nodes, MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO);
	e->tree_start[0] = 0;

	for (round = 0; round < prm->n_trees; round++)
	{
		int			n = 0,
					nout = 0;

		/* the tree's rows and features, drawn from the seed */
		if (prm->subsample < 1.0)
		{
			for (i = 0; i < ntrain; i++)
			{
				int32		r = train_rows[i];

				if (gbt_draw(d->seed_key, round + 1, *(const uint64 *) (d->records + (Size) r * d->rec)) < prm->subsample)
					gr.rows[n++] = r;
				else
					left_out[nout++] = r;
			}
		}
		else
		{
			memcpy(gr.rows, train_rows, sizeof(int32) * ntrain);
			n = ntrain;
		}
		{
			int			chosen = 0,
						f,
						first = 0;
			double		lowest = 2;

			for (f = 0; f < d->nfeat; f++)
			{
				double		u = prm->colsample < 1.0 ? gbt_draw(d->seed_key ^ UINT64CONST(0xC01), round + 1, f) : 0;

				use_feature[f] = u < prm->colsample;
				chosen += use_feature[f];
				if (u < lowest)
				{
					lowest = u;
					first = f;
				}
			}
			if (chosen == 0)
				use_feature[first] = true;
		}
		/* every class's gradients from the round's starting margins */
		{
			TSTART;
			if (gr.parallel != NULL)
				gbt_parallel_gradients(gr.parallel, n);
			else
				for (k = 0; k < K; k++)
					gbt_gradients(d, margins, gr.rows, n, k, gh + 2 * (Size) k * d->nrows);
			TEND(t_grad);
		}
		for (k = 0; k < K; k++)
		{
			int			t = e->ntrees;
			TreeNode   *nodes;
			uint8	   *sb;

			if ((Size) e->tree_start[t] + maxnodes > cap_nodes)
			{
				Size		grown = Max(cap_nodes * 2, (Size) e->tree_start[t] + maxnodes);

				if (grown * sizeof(TreeNode) > MaxAllocHugeSize / 2)
					ereport(ERROR,
							(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
							 errmsg("the tree ensemble is too large"),
							 errhint("Use fewer or shallower trees.")));
				e->nodes = repalloc_huge(e->nodes, sizeof(TreeNode) * grown);
				split_bin = repalloc_huge(split_bin, grown);
				cap_nodes = grown;
			}
			nodes = e->nodes + e->tree_start[t];
			sb = split_bin + e->tree_start[t];

			CHECK_FOR_INTERRUPTS();
			if (k > 0 && prm->subsample >= 1.0)
				memcpy(gr.rows, train_rows, sizeof(int32) * ntrain);	/* the same order for every class */
			else if (k > 0)
			{
				int			m = 0;

				for (i = 0; i < ntrain; i++)
					if (gbt_draw(d->seed_key, round + 1, *(const uint64 *) (d->records + (Size) train_rows[i] * d->rec)) < prm->subsample)
						gr.rows[m++] = train_rows[i];
			}
			gr.gh = gh + 2 * (Size) k * d->nrows;
			gr.nodes = nodes;
			gr.split_bin = sb;
			grow_tree(&gr, n, scratch);
			e->tree_group[t] = k;
			e->tree_start[t + 1] = e->tree_start[t] + gr.nnodes;
			e->ntrees++;
			/* the tree's rows from their leaves; rows left out and validation rows by walking it */
			{
				TSTART;
				leaf_margins(&gr, k, margins);
				add_tree(d, nodes, sb, k, left_out, nout, margins);
				add_tree(d, nodes, sb, k, valid_rows, nvalid, margins);
				TEND(t_marg);
			}
		}
		rounds = round + 1;
		if (prm->early_stopping_rounds > 0 && nvalid > 0)
		{
			double		loss = 0;

			for (i = 0; i < nvalid; i++)
				loss += gbt_row_loss(d, margins + (Size) valid_rows[i] * K, d->label[valid_rows[i]]);
			loss /= nvalid;
			if (loss < best_loss)
			{
				best_loss = loss;
				best_round = round;
			}
			else if (round - best_round >= prm->early_stopping_rounds)
				break;
		}
	}
	if (gr.parallel != NULL)
	{
		gbt_parallel_end(gr.parallel, caller_margins);
		margins = caller_margins;
	}
	*rounds_out = rounds;
	*best_round_out = 0;
	if (prm->early_stopping_rounds > 0 && nvalid > 0 && best_round >= 0)
	{
		/* keep the rounds up to the best one */
		truncated = best_round + 1 < rounds;
		e->ntrees = (best_round + 1) * K;
		*best_round_out = best_round + 1;
	}
	e->nnodes = e->tree_start[e->ntrees];

	/* the holdout's margins (and every row's when trees were dropped) */
	if (truncated)
	{
		for (i = 0; i < d->nrows; i++)
			memcpy(margins + (Size) i * K, e->base, sizeof(double) * K);
	}
	for (k = 0; k < e->ntrees; k++)
	{
		const TreeNode *nodes = e->nodes + e->tree_start[k];
		const uint8 *sb = split_bin + e->tree_start[k];

		CHECK_FOR_INTERRUPTS();
		if (truncated)
		{
			for (i = 0; i < d->nrows; i++)
				margins[(Size) i * K + e->tree_group[k]] +=
					nodes[walk_bins(nodes, sb, row_bins(d, (int32) i))].value;
		}
		else
			add_tree(d, nodes, sb, e->tree_group[k], hold_rows, nhold, margins);
	}
	MemoryContextDelete(scratch);
	elog(DEBUG1, "boosted trees: histograms %.0f ms, split search %.0f ms, partitions %.0f ms, gradients %.0f ms, margins %.0f ms",
		 t_hist, t_split, t_part, t_grad, t_marg);
	t_hist = t_split = t_part = t_grad = t_marg = 0;
	return e;
}
