/*
 * als_rank.c — the exact top-k of a recommender's catalogue for one query
 * vector (live serving: mlsys.recommend, recommend_for_items) or for a block
 * of users (mlsys.recommend_batch, the holdout evaluation of training).
 *
 * Items are kept a second time, in decreasing order of their factor norm
 * (ties by index), and scored in tiles of ALS_TILE items: sgemv for one query,
 * sgemm for a block of users. Each tile's scores are offered to a k-entry heap
 * per query. Before a tile, the Cauchy–Schwarz bound
 *     x·v_i ≤ ‖x‖·‖v_i‖ ≤ ‖x‖·‖v_first‖        (v_first: the tile's first item)
 * plus, for explicit models, the largest item bias from that tile on, says
 * whether any item left could still enter the heap; once none can, the rest of
 * the catalogue is never read. Popular items have the largest factors, so a
 * query usually stops after a few tiles: that is what makes a large catalogue
 * cheap to rank, since streaming the factors from memory is the cost.
 *
 * The result is the exact float32 top-k with ties broken by the smaller item
 * id: the bound carries a slack for the float32 rounding of the scores
 * (|fl(x·v) − x·v| ≤ γ_f·‖x‖·‖v‖) and a heap entry is replaced only by a
 * higher score or an equal one of a smaller id, whatever order items come in.
 * A score is the dot product, then + (μ + b_i), then + b_u for explicit
 * models, in that order.
 */
#include "postgres.h"

#include <math.h>

#include "miscadmin.h"
#include "utils/memutils.h"

#include "models/als/als.h"

/* a k-entry min-heap of (score, item index): the root is the worst kept */
typedef struct TopK
{
	int			k;
	int			n;
	float	   *s;
	int32	   *i;
} TopK;

/* is (sa, ia) worse than (sb, ib): a lower score, or an equal one of a larger index? */
static inline bool
worse(float sa, int32 ia, float sb, int32 ib)
{
	return sa < sb || (sa == sb && ia > ib);
}

static void
sift_down(float *hs, int32 *hi, int n, int p)
{
	for (;;)
	{
		int			l = 2 * p + 1,
					w = p;
		float		ts;
		int32		ti;

		if (l < n && worse(hs[l], hi[l], hs[w], hi[w]))
			w = l;
		if (l + 1 < n && worse(hs[l + 1], hi[l + 1], hs[w], hi[w]))
			w = l + 1;
		if (w == p)
			return;
		ts = hs[p];
		ti = hi[p];
		hs[p] = hs[w];
		hi[p] = hi[w];
		hs[w] = ts;
		hi[w] = ti;
		p = w;
	}
}

static inline void
topk_offer(TopK *h, float s, int32 i)
{
	if (h->n < h->k)
	{
		int			p = h->n++;

		while (p > 0)
		{
			int			q = (p - 1) / 2;

			if (!worse(s, i, h->s[q], h->i[q]))
				break;
			h->s[p] = h->s[q];
			h->i[p] = h->i[q];
			p = q;
		}
		h->s[p] = s;
		h->i[p] = i;
	}
	else if (worse(h->s[0], h->i[0], s, i))
	{
		h->s[0] = s;
		h->i[0] = i;
		sift_down(h->s, h->i, h->n, 0);
	}
}

/*
 * Offer one tile's scores (positions base.. in norm order; excluded ones are
 * -inf). Once the heap is full, blocks of 16 scores below its root are
 * skipped with one vectorizable test.
 */
static void
topk_offer_tile(TopK *h, const float *row, int len, const int32 *order)
{
	int			j = 0;

	for (; j < len && h->n < h->k; j++)
		if (row[j] != -INFINITY)
			topk_offer(h, row[j], order[j]);
	for (; j + 16 <= len; j += 16)
	{
		float		thr = h->s[0];
		int			any = 0;

		for (int q = 0; q < 16; q++)
			any |= row[j + q] >= thr;
		if (!any)
			continue;
		for (int q = 0; q < 16; q++)
			if (row[j + q] >= h->s[0])
				topk_offer(h, row[j + q], order[j + q]);
	}
	for (; j < len; j++)
		if (row[j] != -INFINITY && row[j] >= h->s[0])
			topk_offer(h, row[j], order[j]);
}

/* pop the heap into out, best first; returns the count */
static int
topk_drain(TopK *h, int32 *out_idx, float *out_score)
{
	int			n = h->n;

	for (int r = n - 1; r >= 0; r--)
	{
		out_idx[r] = h->i[0];
		out_score[r] = h->s[0];
		h->s[0] = h->s[r];
		h->i[0] = h->i[r];
		sift_down(h->s, h->i, r, 0);
	}
	h->n = 0;
	return n;
}

static const AlsModel *norm_sort_model;

/* norm order: larger norm first, then smaller index */
static int
norm_cmp(const void *a, const void *b)
{
	int32		x = *(const int32 *) a,
				y = *(const int32 *) b;
	float		nx = norm_sort_model->item_norm[x],
				ny = norm_sort_model->item_norm[y];

	if (nx != ny)
		return nx > ny ? -1 : 1;
	return x < y ? -1 : x > y ? 1 : 0;
}

/*
 * The norm-ordered copy of the item factors and the per-tile bounds, built
 * at load (m->item_norm must be set). Called in m->cxt.
 */
void
als_rank_prepare(AlsModel *m)
{
	int			f = m->f,
				ni = m->nitems;
	double		bmax = -INFINITY;

	m->ntiles = (ni + ALS_TILE - 1) / ALS_TILE;
	m->order = palloc(sizeof(int32) * ni);
	m->pos = palloc(sizeof(int32) * ni);
	for (int i = 0; i < ni; i++)
		m->order[i] = i;
	norm_sort_model = m;
	qsort(m->order, ni, sizeof(int32), norm_cmp);
	m->Vn = MemoryContextAllocHuge(m->cxt, sizeof(float) * (Size) ni * f);
	m->bias_n = m->implicit ? NULL : palloc(sizeof(float) * ni);
	for (int p = 0; p < ni; p++)
	{
		int32		i = m->order[p];

		m->pos[i] = p;
		memcpy(m->Vn + (Size) p * f, m->V + (Size) i * f, sizeof(float) * f);
		if (m->bias_n)
			m->bias_n[p] = m->item_bias_f[i];
	}
	/* one copy per backend is enough: index order is reached through pos */
	pfree(m->V);
	m->V = NULL;
	m->tile_norm = palloc(sizeof(double) * m->ntiles);
	m->tile_bias = palloc0(sizeof(double) * m->ntiles);
	for (int t = m->ntiles - 1; t >= 0; t--)
	{
		int			p0 = t * ALS_TILE,
					p1 = Min(ni, p0 + ALS_TILE);

		m->tile_norm[t] = m->item_norm[m->order[p0]];
		if (m->bias_n)
		{
			for (int p = p0; p < p1; p++)
				bmax = Max(bmax, (double) m->bias_n[p]);
			m->tile_bias[t] = bmax;
		}
	}
}

/*
 * Could an item from tile t on beat the heap's root for a query of norm xn
 * and user bias ub? The bound's slack covers float32 rounding: (f + 4)·2⁻²³ of
 * the terms' magnitude is more than twice γ_f plus the two bias additions.
 */
static inline bool
tile_may_enter(const AlsModel *m, const TopK *h, int t, double xn, double ub)
{
	double		dot = xn * m->tile_norm[t];
	double		b = m->implicit ? 0.0 : m->tile_bias[t] + ub;
	double		slack = (m->f + 4) * (1.0 / 8388608.0) * (dot + fabs(b)) + 1e-30;

	if (h->n < h->k)
		return true;
	return dot + b + slack >= (double) h->s[0];
}

/* sort int32 ascending (small lists: excluded positions) */
static int
int32_asc(const void *a, const void *b)
{
	int32		x = *(const int32 *) a,
				y = *(const int32 *) b;

	return x < y ? -1 : x > y ? 1 : 0;
}

/* the norm-order positions of an exclude list, sorted, into out (nexclude slots) */
static void
exclude_positions(const AlsModel *m, const int32 *exclude, int nexclude, int32 *out)
{
	for (int e = 0; e < nexclude; e++)
		out[e] = m->pos[exclude[e]];
	qsort(out, nexclude, sizeof(int32), int32_asc);
}

/* a tile's raw dot products → scores: + (μ + b_i), + b_u; excluded → -inf */
static void
finish_tile(const AlsModel *m, float *row, int p0, int len, float ub,
			const int32 *xpos, int nx, int *xcur)
{
	if (!m->implicit)
	{
		const float *bn = m->bias_n + p0;

		for (int j = 0; j < len; j++)
			row[j] += bn[j];
		for (int j = 0; j < len; j++)
			row[j] += ub;
	}
	while (*xcur < nx && xpos[*xcur] < p0 + len)
	{
		row[xpos[*xcur] - p0] = -INFINITY;
		(*xcur)++;
	}
}

/*
 * The best k items for query vector x (user bias ub: 0 unless an explicit
 * user), skipping the sorted exclude list (item indices); best first into
 * out. Returns how many were found (≤ k).
 */
int
als_rank(AlsModel *m, const float *x, float ub, int k, const int32 *exclude, int nexclude,
		 int32 *out_idx, float *out_score)
{
	TopK		h;
	double		xn = 0.0;
	int32	   *xpos = nexclude > 0 ? palloc(sizeof(int32) * nexclude) : NULL;
	int			xcur = 0;

	for (int j = 0; j < m->f; j++)
		xn += (double) x[j] * x[j];
	xn = sqrt(xn);
	if (nexclude > 0)
		exclude_positions(m, exclude, nexclude, xpos);
	h.k = k;
	h.n = 0;
	h.s = palloc(sizeof(float) * k);
	h.i = palloc(sizeof(int32) * k);
	for (int t = 0; t < m->ntiles; t++)
	{
		int			p0 = t * ALS_TILE,
					len = Min(m->nitems - p0, ALS_TILE);

		if (!tile_may_enter(m, &h, t, xn, ub))
			break;
		mlsys_sgemv(m->Vn + (Size) p0 * m->f, len, m->f, x, m->scores);
		finish_tile(m, m->scores, p0, len, ub, xpos, nexclude, &xcur);
		topk_offer_tile(&h, m->scores, len, m->order + p0);
	}
	k = topk_drain(&h, out_idx, out_score);
	pfree(h.s);
	pfree(h.i);
	if (xpos)
		pfree(xpos);
	return k;
}

/* the block size of als_rank_users: users whose scores fit in budget bytes */
int
als_rank_block_users(const AlsModel *m, int k, Size budget)
{
	Size		per_user = (Size) ALS_TILE * sizeof(float) + (Size) m->f * sizeof(float) +
		(Size) k * (sizeof(float) + sizeof(int32)) + 64;
	Size		n = budget / per_user;

	return (int) Max(Min(n, (Size) ALS_MAX_BLOCK), 1);
}

/*
 * The top k of each of n users (indices, any order), their seen items
 * excluded when exclude_seen: out_idx/out_score hold k slots per user, best
 * first, out_n the count found. Users are scored together, tile by tile, with
 * one sgemm per tile over the users whose heaps the tile may still change.
 */
void
als_rank_users(AlsModel *m, const int32 *users, int n, int k, bool exclude_seen,
			   int32 *out_idx, float *out_score, int32 *out_n)
{
	int			f = m->f;
	TopK	   *h = palloc(sizeof(TopK) * n);
	double	   *xn = palloc(sizeof(double) * n);
	float	   *X = palloc(sizeof(float) * (Size) n * f);
	float	   *S = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(float) * (Size) n * ALS_TILE);
	int		   *active = palloc(sizeof(int) * n);
	int32	   *xoff = palloc(sizeof(int32) * (n + 1));
	int32	   *xpos;
	int		   *xcur = palloc0(sizeof(int) * n);
	int			nactive = n;

	xoff[0] = 0;
	for (int b = 0; b < n; b++)
	{
		int			u = users[b];

		xoff[b + 1] = xoff[b] + (exclude_seen ? m->seen_off[u + 1] - m->seen_off[u] : 0);
	}
	xpos = palloc(sizeof(int32) * Max(xoff[n], 1));
	for (int b = 0; b < n; b++)
	{
		int			u = users[b];
		const float *x = m->U + (Size) u * f;
		double		s = 0.0;

		for (int j = 0; j < f; j++)
			s += (double) x[j] * x[j];
		xn[b] = sqrt(s);
		h[b].k = k;
		h[b].n = 0;
		h[b].s = out_score + (Size) b * k;	/* the heap lives in its output slots */
		h[b].i = out_idx + (Size) b * k;
		active[b] = b;
		if (exclude_seen)
			exclude_positions(m, m->seen_items + m->seen_off[u], xoff[b + 1] - xoff[b], xpos + xoff[b]);
	}
	for (int t = 0; t < m->ntiles && nactive > 0; t++)
	{
		int			p0 = t * ALS_TILE,
					len = Min(m->nitems - p0, ALS_TILE),
					w = 0;

		CHECK_FOR_INTERRUPTS();
		/* drop the users this tile and the rest cannot change; gather the others */
		for (int a = 0; a < nactive; a++)
		{
			int			b = active[a];
			double		ub = m->implicit ? 0.0 : m->user_bias[users[b]];

			if (!tile_may_enter(m, &h[b], t, xn[b], ub))
				continue;
			active[w] = b;
			memcpy(X + (Size) w * f, m->U + (Size) users[b] * f, sizeof(float) * f);
			w++;
		}
		nactive = w;
		if (nactive == 0)
			break;
		mlsys_sgemm_nt(S, len, X, nactive, m->Vn + (Size) p0 * f, len, f);
		for (int a = 0; a < nactive; a++)
		{
			int			b = active[a];
			float	   *row = S + (Size) a * len;
			float		ub = m->implicit ? 0.0f : (float) m->user_bias[users[b]];

			finish_tile(m, row, p0, len, ub, xpos + xoff[b], xoff[b + 1] - xoff[b], &xcur[b]);
			topk_offer_tile(&h[b], row, len, m->order + p0);
		}
	}
	/* drain each heap in place: it occupies its own output slots */
	for (int b = 0; b < n; b++)
	{
		TopK		tmp = h[b];
		int32		idx[ALS_MAX_K];
		float		sc[ALS_MAX_K];

		out_n[b] = topk_drain(&tmp, idx, sc);
		memcpy(out_idx + (Size) b * k, idx, sizeof(int32) * out_n[b]);
		memcpy(out_score + (Size) b * k, sc, sizeof(float) * out_n[b]);
	}
	pfree(h);
	pfree(xn);
	pfree(X);
	pfree(S);
	pfree(active);
	pfree(xoff);
	pfree(xpos);
	pfree(xcur);
}

/*
 * similar_items: the k items whose factors have the highest cosine
 * similarity with item index self's, itself excluded; one pass over the whole
 * catalogue (a cosine has no norm bound to stop on).
 */
int
als_similar(AlsModel *m, int self, int k, int32 *out_idx, float *out_score)
{
	TopK		h;
	const float *x = als_item_factors(m, self);
	float		ni = m->item_norm[self];
	int			pself = m->pos[self];

	h.k = k;
	h.n = 0;
	h.s = palloc(sizeof(float) * k);
	h.i = palloc(sizeof(int32) * k);
	for (int t = 0; t < m->ntiles; t++)
	{
		int			p0 = t * ALS_TILE,
					len = Min(m->nitems - p0, ALS_TILE);
		float	   *row = m->scores;

		mlsys_sgemv(m->Vn + (Size) p0 * m->f, len, m->f, x, row);
		for (int j = 0; j < len; j++)
		{
			float		d = ni * m->item_norm[m->order[p0 + j]];

			row[j] = d > 0 ? row[j] / d : 0.0f;
		}
		if (pself >= p0 && pself < p0 + len)
			row[pself - p0] = -INFINITY;
		topk_offer_tile(&h, row, len, m->order + p0);
	}
	k = topk_drain(&h, out_idx, out_score);
	pfree(h.s);
	pfree(h.i);
	return k;
}
