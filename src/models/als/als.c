/*
 * als.c — alternating least squares for recommenders, and the scoring
 * kernels shared by training metrics and serving.
 *
 * Explicit feedback (biased matrix factorization): a rating is modelled as
 *   r̂_ui = μ + b_u + b_i + p_u · q_i
 * and fitted by ALS with regularization scaled by the number of ratings
 * (ALS-WR: Zhou, Wilkinson, Schreiber and Pan, "Large-scale parallel
 * collaborative filtering for the Netflix prize", 2008). With the item side
 * fixed, each user solves the ridge problem in [b_u, p_u] against the rows
 * [1, q_i] of the items they rated:
 *   (AᵀA + λ·n_u·I) [b_u, p_u] = Aᵀ (r − μ − b_i)
 * AᵀA is built with one dsyrk over the gathered rows, the system solved by
 * Cholesky; items are solved the same way against [1, p_u].
 *
 * Implicit feedback (Hu, Koren and Volinsky, "Collaborative filtering for
 * implicit feedback datasets", ICDM 2008): preference 1 for each interaction
 * with confidence c = 1 + α·r, 0 with confidence 1 for the rest. A user solves
 *   (YᵀY + Yᵤᵀ(Cᵤ − I)Yᵤ + λI) x_u = Yᵤᵀ Cᵤ 1
 * where YᵀY over all items is computed once per sweep (one dsyrk), and the
 * correction only touches the user's own items: O(f²·n_u + f³) per user.
 *
 * Solvers: each row's system is solved exactly (Cholesky, here) or by a few
 * conjugate-gradient steps warm-started from the previous sweep (als_cg.c),
 * O(f² + f·n_u) per step; the caller chooses (training's default: CG for
 * implicit models, Cholesky for explicit ones).
 *
 * Initial factors are pseudo-random normals drawn from the seed and the item
 * id (not its position in any scan), so a fit depends only on seed and data.
 *
 * Scoring and ranking are in als_rank.c; here are the popularity list of cold
 * starts, single predictions and the fold-in of an anonymous user.
 */
#include "postgres.h"

#include <math.h>

#include "miscadmin.h"
#include "utils/memutils.h"

#include "models/als/als.h"

/* a pseudo-random N(0, 1) value for (key, a, b): Box–Muller on two hashes */
static double
hash_normal(uint64 key, int64 a, int b)
{
	uint64		h = mlsys_mix64(key ^ mlsys_mix64((uint64) a * UINT64CONST(0x9E3779B97F4A7C15) + (uint64) b));
	double		u1 = ((double) (h >> 11) + 0.5) * (1.0 / 9007199254740992.0);
	double		u2 = (double) (mlsys_mix64(h + 1) >> 11) * (1.0 / 9007199254740992.0);

	return sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
}

/* the by-item view of a by-user interaction list (counting sort: stays ordered by user) */
AlsData *
als_data_by_user(int nusers, int nitems, const int32 *uoff, const int32 *uitem, const double *ur)
{
	AlsData    *d = palloc0(sizeof(AlsData));
	int64		n = uoff[nusers];
	int32	   *pos;
	int			u,
				i;

	d->nusers = nusers;
	d->nitems = nitems;
	d->uoff = (int32 *) uoff;
	d->uitem = (int32 *) uitem;
	d->ur = (double *) ur;
	d->ioff = palloc0(sizeof(int32) * (nitems + 1));
	d->iuser = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(int32) * Max(n, 1));
	d->ir = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(double) * Max(n, 1));
	for (int64 t = 0; t < n; t++)
		d->ioff[uitem[t] + 1]++;
	for (i = 0; i < nitems; i++)
		d->ioff[i + 1] += d->ioff[i];
	pos = palloc(sizeof(int32) * nitems);
	memcpy(pos, d->ioff, sizeof(int32) * nitems);
	for (u = 0; u < nusers; u++)
		for (int32 t = uoff[u]; t < uoff[u + 1]; t++)
		{
			int32		p = pos[uitem[t]]++;

			d->iuser[p] = u;
			d->ir[p] = ur[t];
		}
	pfree(pos);
	return d;
}

/* the most entries of one row of a CSR */
static int
max_row(const int32 *off, int n)
{
	int			m = 0;

	for (int j = 0; j < n; j++)
		m = Max(m, off[j + 1] - off[j]);
	return m;
}

/*
 * One explicit half-sweep: solve every row s of X (with bias xb) against the
 * fixed side Y (bias yb), from the CSR (off, idx, r). d = f + 1.
 */
static void
explicit_sweep(int n, const int32 *off, const int32 *idx, const double *r,
			   int f, double mu, double lambda, double *X, double *xb,
			   const double *Y, const double *yb, double *A, double *y, double *G, double *b)
{
	int			d = f + 1;

	for (int s = 0; s < n; s++)
	{
		int			cnt = off[s + 1] - off[s];

		CHECK_FOR_INTERRUPTS();
		if (cnt == 0)
		{
			/* nothing to learn from (all held out): biases only */
			xb[s] = 0.0;
			memset(X + (Size) s * f, 0, sizeof(double) * f);
			continue;
		}
		for (int t = 0; t < cnt; t++)
		{
			int32		o = idx[off[s] + t];

			A[(Size) t * d] = 1.0;
			memcpy(A + (Size) t * d + 1, Y + (Size) o * f, sizeof(double) * f);
			y[t] = r[off[s] + t] - mu - yb[o];
		}
		mlsys_gram(G, d, A, cnt, 0.0);
		for (int j = 0; j < d; j++)
			G[j * d + j] += lambda * cnt;
		mlsys_gemv_t(A, cnt, d, y, b);
		if (mlsys_posv(G, d, b) != 0)
			ereport(ERROR,
					(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
					 errmsg("could not solve the least-squares system of the alternating least squares"),
					 errhint("Use a larger regularization.")));
		xb[s] = b[0];
		memcpy(X + (Size) s * f, b + 1, sizeof(double) * f);
	}
}

/*
 * Zero user factors and biases, and item factors drawn from the seed and each
 * item's id (scale · N(0, 1)), so the start does not depend on row order.
 */
static void
als_fit_start(AlsFit *fit, const AlsData *d, int f, uint64 key, const int64 *item_ids, double scale)
{
	fit->U = palloc0(sizeof(double) * (Size) d->nusers * f);
	fit->V = palloc(sizeof(double) * (Size) d->nitems * f);
	fit->user_bias = palloc0(sizeof(double) * d->nusers);
	fit->item_bias = palloc0(sizeof(double) * d->nitems);
	for (int i = 0; i < d->nitems; i++)
		for (int j = 0; j < f; j++)
			fit->V[(Size) i * f + j] = scale * hash_normal(key, item_ids[i], j);
}

/* explicit biased ALS; fills mu, biases and factors of fit */
void
als_fit_explicit(const AlsData *d, int f, double lambda, int iterations,
				 int cg_steps, int64 seed, const int64 *item_ids, AlsFit *fit)
{
	int64		n = d->uoff[d->nusers];
	int			maxrows = Max(max_row(d->uoff, d->nusers), max_row(d->ioff, d->nitems));
	uint64		key = mlsys_split_key(seed);
	double		sum = 0.0;
	double	   *A,
			   *y,
			   *G,
			   *b;
	int			dd = f + 1;

	for (int64 t = 0; t < n; t++)
		sum += d->ur[t];
	fit->mu = n > 0 ? sum / n : 0.0;
	als_fit_start(fit, d, f, key, item_ids, 0.1);
	if (cg_steps > 0)
	{
		for (int it = 0; it < iterations; it++)
		{
			als_cg_explicit_sweep(d->nusers, d->uoff, d->uitem, d->ur, f, fit->mu, lambda,
								  cg_steps, fit->U, fit->user_bias, fit->V, fit->item_bias);
			als_cg_explicit_sweep(d->nitems, d->ioff, d->iuser, d->ir, f, fit->mu, lambda,
								  cg_steps, fit->V, fit->item_bias, fit->U, fit->user_bias);
		}
		return;
	}
	A = palloc(sizeof(double) * (Size) Max(maxrows, 1) * dd);
	y = palloc(sizeof(double) * Max(maxrows, 1));
	G = palloc(sizeof(double) * dd * dd);
	b = palloc(sizeof(double) * dd);
	for (int it = 0; it < iterations; it++)
	{
		explicit_sweep(d->nusers, d->uoff, d->uitem, d->ur, f, fit->mu, lambda,
					   fit->U, fit->user_bias, fit->V, fit->item_bias, A, y, G, b);
		explicit_sweep(d->nitems, d->ioff, d->iuser, d->ir, f, fit->mu, lambda,
					   fit->V, fit->item_bias, fit->U, fit->user_bias, A, y, G, b);
	}
	pfree(A);
	pfree(y);
	pfree(G);
	pfree(b);
}

/* one implicit half-sweep: solve every row of X against the fixed Y (YᵀY shared) */
static void
implicit_sweep(int n, int m, const int32 *off, const int32 *idx, const double *r,
			   int f, double lambda, double alpha, double *X, const double *Y,
			   double *A, double *c, double *YtY, double *G, double *b)
{
	mlsys_gram(YtY, f, Y, m, 0.0);
	for (int s = 0; s < n; s++)
	{
		int			cnt = off[s + 1] - off[s];

		CHECK_FOR_INTERRUPTS();
		if (cnt == 0)
		{
			memset(X + (Size) s * f, 0, sizeof(double) * f);
			continue;
		}
		for (int t = 0; t < cnt; t++)
		{
			memcpy(A + (Size) t * f, Y + (Size) idx[off[s] + t] * f, sizeof(double) * f);
			c[t] = 1.0 + alpha * r[off[s] + t];
		}
		mlsys_gemv_t(A, cnt, f, c, b);	/* Yᵤᵀ Cᵤ 1 */
		for (int t = 0; t < cnt; t++)
		{
			double		w = sqrt(c[t] - 1.0);

			for (int j = 0; j < f; j++)
				A[(Size) t * f + j] *= w;
		}
		memcpy(G, YtY, sizeof(double) * f * f);
		mlsys_gram(G, f, A, cnt, 1.0);
		for (int j = 0; j < f; j++)
			G[j * f + j] += lambda;
		if (mlsys_posv(G, f, b) != 0)
			ereport(ERROR,
					(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
					 errmsg("could not solve the least-squares system of the alternating least squares"),
					 errhint("Use a larger regularization.")));
		memcpy(X + (Size) s * f, b, sizeof(double) * f);
	}
}

/* implicit weighted ALS; fills the factors of fit (biases zero) */
void
als_fit_implicit(const AlsData *d, int f, double lambda, double alpha,
				 int iterations, int cg_steps, int64 seed, const int64 *item_ids,
				 AlsFit *fit)
{
	int			maxrows = Max(max_row(d->uoff, d->nusers), max_row(d->ioff, d->nitems));
	uint64		key = mlsys_split_key(seed);
	double	   *A,
			   *c,
			   *YtY,
			   *G,
			   *b;

	fit->mu = 0.0;
	als_fit_start(fit, d, f, key, item_ids, 0.01);
	if (cg_steps > 0)
	{
		for (int it = 0; it < iterations; it++)
		{
			als_cg_implicit_sweep(d->nusers, d->nitems, d->uoff, d->uitem, d->ur, f, lambda,
								  alpha, cg_steps, fit->U, fit->V);
			als_cg_implicit_sweep(d->nitems, d->nusers, d->ioff, d->iuser, d->ir, f, lambda,
								  alpha, cg_steps, fit->V, fit->U);
		}
		return;
	}
	A = palloc(sizeof(double) * (Size) Max(maxrows, 1) * f);
	c = palloc(sizeof(double) * Max(maxrows, 1));
	YtY = palloc(sizeof(double) * f * f);
	G = palloc(sizeof(double) * f * f);
	b = palloc(sizeof(double) * f);
	for (int it = 0; it < iterations; it++)
	{
		implicit_sweep(d->nusers, d->nitems, d->uoff, d->uitem, d->ur, f, lambda, alpha,
					   fit->U, fit->V, A, c, YtY, G, b);
		implicit_sweep(d->nitems, d->nusers, d->ioff, d->iuser, d->ir, f, lambda, alpha,
					   fit->V, fit->U, A, c, YtY, G, b);
	}
	pfree(A);
	pfree(c);
	pfree(YtY);
	pfree(G);
	pfree(b);
}

/* ---------------------------------------------------------------------
 * Scoring kernels
 * --------------------------------------------------------------------- */

static const AlsModel *popular_sort_model;

/* popularity order: count desc, then index (= id) asc */
static int
popular_cmp(const void *a, const void *b)
{
	int32		x = *(const int32 *) a,
				y = *(const int32 *) b;
	int32		cx = popular_sort_model->counts[x],
				cy = popular_sort_model->counts[y];

	if (cx != cy)
		return cx > cy ? -1 : 1;
	return x < y ? -1 : x > y ? 1 : 0;
}

/* derived arrays and scratch buffers of a freshly deserialized model (in m->cxt) */
void
als_model_prepare(AlsModel *m)
{
	MemoryContext old = MemoryContextSwitchTo(m->cxt);
	int			f = m->f;

	m->popular = palloc(sizeof(int32) * m->nitems);
	for (int i = 0; i < m->nitems; i++)
		m->popular[i] = i;
	popular_sort_model = m;
	qsort(m->popular, m->nitems, sizeof(int32), popular_cmp);
	m->item_bias_f = palloc(sizeof(float) * m->nitems);
	m->item_norm = palloc(sizeof(float) * m->nitems);
	for (int i = 0; i < m->nitems; i++)
	{
		const float *v = m->V + (Size) i * f;
		double		s = 0.0;

		for (int j = 0; j < f; j++)
			s += (double) v[j] * v[j];
		m->item_norm[i] = (float) sqrt(s);
		m->item_bias_f[i] = (float) (m->mu + m->item_bias[i]);
	}
	m->scores = palloc(sizeof(float) * Min(m->nitems, ALS_TILE));	/* one tile at a time */
	m->uvec = palloc(sizeof(float) * f);
	m->gram = palloc(sizeof(double) * (f + 1) * (f + 1));
	m->rhs = palloc(sizeof(double) * (f + 1));
	m->rows = palloc(sizeof(double) * (f + 1));
	m->rows_cap = f + 1;
	als_rank_prepare(m);
	MemoryContextSwitchTo(old);
}

/* index of id in the increasing ids, or -1 */
int
als_find(const int64 *ids, int n, int64 id)
{
	int			lo = 0,
				hi = n - 1;

	while (lo <= hi)
	{
		int			mid = lo + (hi - lo) / 2;

		if (ids[mid] < id)
			lo = mid + 1;
		else if (ids[mid] > id)
			hi = mid - 1;
		else
			return mid;
	}
	return -1;
}

/* the k most popular items not in the sorted exclude list; score = share of users */
int
als_popular(AlsModel *m, int k, const int32 *exclude, int nexclude,
			int32 *out_idx, float *out_score)
{
	int			n = 0;

	for (int r = 0; r < m->nitems && n < k; r++)
	{
		int32		i = m->popular[r];
		int			lo = 0,
					hi = nexclude - 1;
		bool		skip = false;

		while (lo <= hi)
		{
			int			mid = (lo + hi) / 2;

			if (exclude[mid] == i)
			{
				skip = true;
				break;
			}
			if (exclude[mid] < i)
				lo = mid + 1;
			else
				hi = mid - 1;
		}
		if (skip)
			continue;
		out_idx[n] = i;
		out_score[n] = (float) ((double) m->counts[i] / m->nusers);
		n++;
	}
	return n;
}

/* predicted rating of user index u for item index i; -1 means unknown (biases only) */
double
als_predict(const AlsModel *m, int u, int i)
{
	double		r = m->mu;

	if (u >= 0)
		r += m->user_bias[u];
	if (i >= 0)
		r += m->item_bias[i];
	if (u >= 0 && i >= 0)
	{
		const float *p = m->U + (Size) u * m->f;
		const float *q = als_item_factors(m, i);
		double		s = 0.0;

		for (int j = 0; j < m->f; j++)
			s += (double) p[j] * q[j];
		r += s;
	}
	return r;
}

/*
 * Fold a new user's interactions (distinct item indices) into a factor
 * vector x with one least-squares solve against the fixed item factors.
 * Implicit: the user step of the fit, (YᵀY + α·Σ y yᵀ + λI) x = (1 + α)·Σ y.
 * Explicit: the items count as liked one point above their baseline
 * (r − μ − b_i = 1), (Σ q qᵀ + λ·n·I) x = Σ q.
 */
void
als_fold_in(AlsModel *m, const int32 *items, int n, float *x)
{
	int			f = m->f;
	double	   *G = m->gram,
			   *b = m->rhs,
			   *q = m->rows;
	double		w = m->implicit ? m->alpha : 1.0;

	memset(G, 0, sizeof(double) * f * f);
	memset(b, 0, sizeof(double) * f);
	if (m->implicit)
	{
		if (m->yty == NULL)
		{
			double	   *yty = MemoryContextAllocZero(m->cxt, sizeof(double) * f * f);

			for (int i = 0; i < m->nitems; i++)
			{
				for (int j = 0; j < f; j++)
					q[j] = als_item_factors(m, i)[j];
				mlsys_syr_upper(yty, f, 1.0, q);
			}
			m->yty = yty;
		}
		memcpy(G, m->yty, sizeof(double) * f * f);
	}
	for (int t = 0; t < n; t++)
	{
		for (int j = 0; j < f; j++)
		{
			q[j] = als_item_factors(m, items[t])[j];
			b[j] += (m->implicit ? 1.0 + m->alpha : 1.0) * q[j];
		}
		mlsys_syr_upper(G, f, w, q);
	}
	for (int j = 0; j < f; j++)
		G[j * f + j] += m->implicit ? m->lambda : m->lambda * Max(n, 1);
	if (mlsys_posv(G, f, b) != 0)
		memset(b, 0, sizeof(double) * f);
	for (int j = 0; j < f; j++)
		x[j] = (float) b[j];
}

/* ---------------------------------------------------------------------
 * Ranking metrics
 * --------------------------------------------------------------------- */

void
als_metrics_init(RankMetrics *rm, AlsModel *m, int k)
{
	memset(rm, 0, sizeof(RankMetrics));
	rm->k = k;
	rm->covered = palloc0(sizeof(bool) * m->nitems);
	rm->idx = palloc(sizeof(int32) * k);
	rm->sc = palloc(sizeof(float) * k);
}

/* is i in the sorted list? */
static bool
in_sorted(const int32 *list, int n, int32 i)
{
	int			lo = 0,
				hi = n - 1;

	while (lo <= hi)
	{
		int			mid = (lo + hi) / 2;

		if (list[mid] == i)
			return true;
		if (list[mid] < i)
			lo = mid + 1;
		else
			hi = mid - 1;
	}
	return false;
}

/*
 * Add one user: held holds the sorted indices of their held-out items known
 * to the model (nheld_known of them), nheld counts all of them. u = -1: a user
 * unknown to the model (recommended the most popular items).
 */
void
als_metrics_user(RankMetrics *rm, AlsModel *m, int u, const int32 *held, int nheld_known, int nheld)
{
	int			got;

	if (nheld == 0)
		return;
	if (u >= 0)
		got = als_rank(m, m->U + (Size) u * m->f, m->implicit ? 0.0f : (float) m->user_bias[u],
					   rm->k, m->seen_items + m->seen_off[u],
					   m->seen_off[u + 1] - m->seen_off[u], rm->idx, rm->sc);
	else
		got = als_popular(m, rm->k, NULL, 0, rm->idx, rm->sc);
	als_metrics_add(rm, rm->idx, got, held, nheld_known, nheld);
}

/* add one user's ranking (got items, best first) against their held-out items */
void
als_metrics_add(RankMetrics *rm, const int32 *idx, int got, const int32 *held, int nheld_known, int nheld)
{
	int			k = rm->k;
	int			hits = 0;
	double		dcg = 0.0,
				idcg = 0.0,
				ap = 0.0;

	if (nheld == 0)
		return;
	for (int r = 0; r < got; r++)
	{
		rm->covered[idx[r]] = true;
		if (in_sorted(held, nheld_known, idx[r]))
		{
			hits++;
			dcg += 1.0 / log2(r + 2.0);
			ap += (double) hits / (r + 1);
		}
	}
	for (int r = 0; r < Min(k, nheld); r++)
		idcg += 1.0 / log2(r + 2.0);
	rm->users++;
	rm->precision += (double) hits / k;
	rm->recall += (double) hits / nheld;
	rm->ndcg += dcg / idcg;
	rm->map += ap / Min(k, nheld);
}

/* the metrics as a JSON object (text); with_rating adds rmse and mae */
char *
als_metrics_json(RankMetrics *rm, AlsModel *m, bool with_rating)
{
	StringInfoData buf;
	int64		covered = 0;
	double		users = (double) Max(rm->users, 1);

	for (int i = 0; i < m->nitems; i++)
		covered += rm->covered[i];
	initStringInfo(&buf);
	appendStringInfoChar(&buf, '{');
	if (with_rating)
	{
		appendStringInfoString(&buf, "\"rmse\": ");
		mlsys_append_json_number(&buf, rm->rated > 0 ? sqrt(rm->se / rm->rated) : NAN);
		appendStringInfoString(&buf, ", \"mae\": ");
		mlsys_append_json_number(&buf, rm->rated > 0 ? rm->ae / rm->rated : NAN);
		appendStringInfoString(&buf, ", ");
	}
	if (rm->users > 0)
	{
		appendStringInfo(&buf, "\"precision_at_%d\": ", rm->k);
		mlsys_append_json_number(&buf, rm->precision / users);
		appendStringInfo(&buf, ", \"recall_at_%d\": ", rm->k);
		mlsys_append_json_number(&buf, rm->recall / users);
		appendStringInfo(&buf, ", \"ndcg_at_%d\": ", rm->k);
		mlsys_append_json_number(&buf, rm->ndcg / users);
		appendStringInfo(&buf, ", \"map_at_%d\": ", rm->k);
		mlsys_append_json_number(&buf, rm->map / users);
		appendStringInfoString(&buf, ", \"coverage\": ");
		mlsys_append_json_number(&buf, (double) covered / m->nitems);
		appendStringInfoString(&buf, ", ");
	}
	appendStringInfo(&buf, "\"evaluated_users\": " INT64_FORMAT "}", rm->users);
	return buf.data;
}
