/*
 * als_cg.c — the conjugate-gradient half-sweeps of ALS (solver "cg"), the
 * alternative to the exact Cholesky solves of als.c.
 *
 * Takács, Pilászy and Tikk, "Applications of the conjugate gradient method
 * for implicit feedback collaborative filtering" (RecSys 2011), the method of
 * the Python library implicit: instead of forming and factorizing each row's
 * f×f system, which costs O(f²·n_s + f³) per row, run a few CG steps on it,
 * warm-started from the row's factors of the previous sweep. The matrix is
 * only ever applied to a vector:
 *   implicit  M = YᵀY + λI + Yₛᵀ(Cₛ − I)Yₛ,  b = Yₛᵀ Cₛ 1
 *             M·p = (YᵀY + λI)·p + Yₛᵀ (α·rₛ ∘ Yₛ·p)
 *   explicit  M = AᵀA + λ·n_s·I,  b = Aᵀ (r − μ − b_i),  A's rows [1, q_i]
 *             M·p = Aᵀ (A·p) + λ·n_s·p
 * so a step costs one f×f product with the shared YᵀY + λI (computed once per
 * half-sweep) plus O(f·n_s) for the row's own items. Since the previous
 * sweep's factors are already close, a few steps (default 3) give nearly the
 * exact solution; as steps grow, CG converges to it (in at most f steps in
 * exact arithmetic).
 *
 * Implicit rows are solved in blocks of consecutive rows that take their CG
 * steps in lockstep, so that the products with YᵀY + λI of a whole block are
 * one dgemm: for f = 64 that is some 8 times faster than a dgemv per row, and
 * it was most of a row's cost. A block's gathered item factors are kept
 * small enough to stay in cache across the steps.
 *
 * Deterministic: blocks depend only on the data, rows are solved in index
 * order with a fixed sequence of single-threaded BLAS calls, so a fit depends
 * only on the data and the seed (mlsys.reproduce checks bit-identical factors).
 */
#include "postgres.h"

#include <math.h>

#include "miscadmin.h"

#include "models/als/als.h"

/*
 * A row is done when its residual is zero or has shrunk by 10¹⁰
 * (‖r‖² ≤ CG_TOL2·‖r₀‖²): further steps would only move rounding noise,
 * dividing by a (near) zero p·Mp.
 */
#define CG_TOL2 1e-20

/* implicit blocks: at most this many rows, and gathered factors of this many bytes (or one row) */
#define CG_BLOCK_ROWS 64
#define CG_BLOCK_BYTES (256 * 1024)

/*
 * A residual that is not finite: the data overflowed the arithmetic, where
 * the Cholesky sweeps would find their system not positive definite.
 */
static void
cg_check_residual(double rs)
{
	if (!isfinite(rs))
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("could not solve the least-squares system of the alternating least squares"),
				 errdetail("A residual of the conjugate-gradient solver is not finite."),
				 errhint("Use smaller interaction strengths, alpha or regularization.")));
}

/* the most entries of one row of a CSR */
static int
cg_max_row(const int32 *off, int n)
{
	int			m = 0;

	for (int j = 0; j < n; j++)
		m = Max(m, off[j + 1] - off[j]);
	return Max(m, 1);
}

/*
 * One CG step of a row: q holds the shared part of M·p (implicit (YᵀY + λI)·p,
 * explicit λ·n_s·p); this adds Aᵀ(w ∘ A·p) (w NULL: Aᵀ(A·p)), then updates x,
 * r, p and *rs = ‖r‖². t is scratch of cnt. Returns false when the row is done.
 * x, r, p and q never overlap (restrict lets the compiler vectorize the updates).
 */
static bool
cg_row_step(const double *A, const double *w, int cnt, int d, double *pg_restrict x,
			double *pg_restrict r, double *pg_restrict p, double *pg_restrict q, double *t,
			double *rs, double tol)
{
	double		pq,
				a,
				rsnew,
				beta;

	mlsys_gemv(A, cnt, d, false, 1.0, p, 0.0, t);
	if (w != NULL)
		for (int k = 0; k < cnt; k++)
			t[k] *= w[k];
	mlsys_gemv(A, cnt, d, true, 1.0, t, 1.0, q);
	pq = mlsys_dot(p, q, d);
	a = *rs / pq;
	/* M is positive definite: only rounding, underflow or overflow get here */
	if (!(pq > 0.0) || isinf(pq) || !isfinite(a))
		return false;
	for (int j = 0; j < d; j++)
	{
		x[j] += a * p[j];
		r[j] -= a * q[j];
	}
	rsnew = mlsys_dot(r, r, d);
	cg_check_residual(rsnew);
	if (rsnew <= tol)
		return false;
	beta = rsnew / *rs;
	for (int j = 0; j < d; j++)
		p[j] = r[j] + beta * p[j];
	*rs = rsnew;
	return true;
}

/*
 * One implicit half-sweep by CG: every row s of X (n × f) against the fixed
 * Y (m × f), from the CSR (off, idx, r); confidence c = 1 + α·r.
 */
void
als_cg_implicit_sweep(int n, int m, const int32 *off, const int32 *idx, const double *r,
					  int f, double lambda, double alpha, int steps, double *X, const double *Y)
{
	int			maxrows = cg_max_row(off, n);
	int			cap = Max((int) (CG_BLOCK_BYTES / (sizeof(double) * f)), 1);
	int			bufrows = Max(maxrows, cap);
	double	   *G = palloc(sizeof(double) * f * f);
	double	   *A = palloc(sizeof(double) * (Size) bufrows * f);
	double	   *w = palloc(sizeof(double) * bufrows);
	double	   *t = palloc(sizeof(double) * maxrows);
	double	   *R = palloc(sizeof(double) * CG_BLOCK_ROWS * f);
	double	   *P = palloc(sizeof(double) * CG_BLOCK_ROWS * f);
	double	   *Q = palloc(sizeof(double) * CG_BLOCK_ROWS * f);
	double		rs[CG_BLOCK_ROWS],
				tol[CG_BLOCK_ROWS];
	bool		active[CG_BLOCK_ROWS];
	int			boff[CG_BLOCK_ROWS + 1];

	/* G = YᵀY + λI, both triangles (mlsys_gram fills the upper one) */
	mlsys_gram(G, f, Y, m, 0.0);
	for (int i = 0; i < f; i++)
	{
		G[i * f + i] += lambda;
		for (int j = i + 1; j < f; j++)
			G[j * f + i] = G[i * f + j];
	}

	for (int s0 = 0, s1 = 0; s0 < n; s0 = s1)
	{
		double	   *Xb = X + (Size) s0 * f;
		int			nb,
					nactive = 0,
					tot = 0;

		CHECK_FOR_INTERRUPTS();
		/* the block [s0, s1): the Y rows of its entries gathered, weights c − 1 */
		for (s1 = s0; s1 < n && s1 - s0 < CG_BLOCK_ROWS; s1++)
		{
			int			cnt = off[s1 + 1] - off[s1];

			if (s1 > s0 && tot + cnt > cap)
				break;
			boff[s1 - s0] = tot;
			for (int k = 0; k < cnt; k++)
			{
				memcpy(A + (Size) (tot + k) * f, Y + (Size) idx[off[s1] + k] * f, sizeof(double) * f);
				w[tot + k] = alpha * r[off[s1] + k];
			}
			tot += cnt;
		}
		nb = s1 - s0;
		boff[nb] = tot;

		/* residuals r = b − M·x = Yₛᵀ(c − w ∘ Yₛ·x) − (YᵀY + λI)·x */
		mlsys_gemm_nn(R, nb, f, Xb, G, f, -1.0);
		for (int b = 0; b < nb; b++)
		{
			int			cnt = boff[b + 1] - boff[b];
			const double *Ab = A + (Size) boff[b] * f,
					   *wb = w + boff[b];
			double	   *x = Xb + (Size) b * f,
					   *rb = R + (Size) b * f;

			active[b] = false;
			if (cnt == 0)
			{
				/* b = 0: the solution is 0 */
				memset(x, 0, sizeof(double) * f);
				continue;
			}
			mlsys_gemv(Ab, cnt, f, false, 1.0, x, 0.0, t);
			for (int k = 0; k < cnt; k++)
				t[k] = 1.0 + wb[k] - wb[k] * t[k];
			mlsys_gemv(Ab, cnt, f, true, 1.0, t, 1.0, rb);
			rs[b] = mlsys_dot(rb, rb, f);
			cg_check_residual(rs[b]);
			tol[b] = CG_TOL2 * rs[b];
			memcpy(P + (Size) b * f, rb, sizeof(double) * f);
			active[b] = rs[b] > 0.0;
			nactive += active[b];
		}

		/* the steps: the block's (YᵀY + λI)·p in one product, then each row's own part */
		for (int k = 0; k < steps && nactive > 0; k++)
		{
			mlsys_gemm_nn(Q, nb, f, P, G, f, 1.0);
			for (int b = 0; b < nb; b++)
			{
				if (!active[b])
					continue;
				active[b] = cg_row_step(A + (Size) boff[b] * f, w + boff[b], boff[b + 1] - boff[b], f,
										Xb + (Size) b * f, R + (Size) b * f, P + (Size) b * f,
										Q + (Size) b * f, t, &rs[b], tol[b]);
				nactive -= !active[b];
			}
		}
	}
	pfree(G);
	pfree(A);
	pfree(w);
	pfree(t);
	pfree(R);
	pfree(P);
	pfree(Q);
}

/*
 * One explicit half-sweep by CG: every row s of X (bias xb) against the fixed
 * side Y (bias yb), from the CSR (off, idx, r); the unknowns are [b_s, x_s].
 * No matrix is shared between rows: they are solved one by one.
 */
void
als_cg_explicit_sweep(int n, const int32 *off, const int32 *idx, const double *r,
					  int f, double mu, double lambda, int steps, double *X, double *xb,
					  const double *Y, const double *yb)
{
	int			d = f + 1;
	int			maxrows = cg_max_row(off, n);
	double	   *A = palloc(sizeof(double) * (Size) maxrows * d);
	double	   *t = palloc(sizeof(double) * maxrows);
	double	   *z = palloc(sizeof(double) * d);
	double	   *rv = palloc(sizeof(double) * d);
	double	   *p = palloc(sizeof(double) * d);
	double	   *q = palloc(sizeof(double) * d);

	for (int s = 0; s < n; s++)
	{
		int			cnt = off[s + 1] - off[s];
		double		shift = lambda * cnt;
		double		rs,
					tol;

		CHECK_FOR_INTERRUPTS();
		if (cnt == 0)
		{
			/* nothing to learn from (all held out): as the Cholesky sweep */
			xb[s] = 0.0;
			memset(X + (Size) s * f, 0, sizeof(double) * f);
			continue;
		}
		for (int k = 0; k < cnt; k++)
		{
			int32		o = idx[off[s] + k];

			A[(Size) k * d] = 1.0;
			memcpy(A + (Size) k * d + 1, Y + (Size) o * f, sizeof(double) * f);
		}
		/* warm start from the current [b_s, x_s]; r = Aᵀ(y − A·z) − λ·n_s·z */
		z[0] = xb[s];
		memcpy(z + 1, X + (Size) s * f, sizeof(double) * f);
		mlsys_gemv(A, cnt, d, false, 1.0, z, 0.0, t);
		for (int k = 0; k < cnt; k++)
		{
			int32		o = idx[off[s] + k];

			t[k] = r[off[s] + k] - mu - yb[o] - t[k];
		}
		mlsys_gemv(A, cnt, d, true, 1.0, t, 0.0, rv);
		for (int j = 0; j < d; j++)
			rv[j] -= shift * z[j];
		rs = mlsys_dot(rv, rv, d);
		cg_check_residual(rs);
		tol = CG_TOL2 * rs;
		memcpy(p, rv, sizeof(double) * d);
		for (int k = 0; k < steps && rs > 0.0; k++)
		{
			for (int j = 0; j < d; j++)
				q[j] = shift * p[j];
			if (!cg_row_step(A, NULL, cnt, d, z, rv, p, q, t, &rs, tol))
				break;
		}
		xb[s] = z[0];
		memcpy(X + (Size) s * f, z + 1, sizeof(double) * f);
	}
	pfree(A);
	pfree(t);
	pfree(z);
	pfree(rv);
	pfree(p);
	pfree(q);
}
