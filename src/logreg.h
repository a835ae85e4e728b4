/*
 * logreg.h — the pass state of binary logistic regression and its per-row
 * arithmetic, shared by the pass aggregates (logreg.c) and the fit over the
 * passes and the in-memory sample (logreg_fit.c); no other file includes it.
 */
#ifndef MLSYS_LOGREG_H
#define MLSYS_LOGREG_H

#include <math.h>

#include "mlsys.h"

#define LOGREG_LAYOUT 0x4C470004	/* "LG", layout version 4 */

typedef struct LogregState
{
	int32		vl_len_;
	uint32		layout;
	int32		nfeat;			/* p; vectors are m = p + 1 long (intercept first) */
	int32		block_cap;
	int32		block_rows;
	int32		nlev;			/* cuts per class (strata.c) */
	int64		n;				/* training rows */
	double		loss;			/* Σ cw · loss */
	uint64		split_key;
	double		reserved;
	int32		leave_out;		/* the stratum left out: 0 the holdout, or fold − 1 */
	int32		pad;
	/*
	 * then: grad[m] hess[m·m] (upper, row-major) block[cap·m] block_y[cap]
	 * block_cw[cap]: a buffered row is (η, z_1 .. z_p) with its label and
	 * class weight until logreg_flush turns it into the Hessian row
	 */
} LogregState;

StaticAssertDecl(sizeof(LogregState) % sizeof(double) == 0, "LogregState must keep its arrays aligned");

static inline double *
lg_grad(const LogregState *s)
{
	return (double *) ((const char *) s + sizeof(LogregState));
}

static inline double *
lg_hess(const LogregState *s)
{
	return lg_grad(s) + (s->nfeat + 1);
}

static inline double *
lg_block(const LogregState *s)
{
	Size		m = (Size) s->nfeat + 1;

	return lg_hess(s) + m * m;
}

/* the labels, then the class weights, of the buffered rows */
static inline double *
lg_block_y(const LogregState *s)
{
	return lg_block(s) + (Size) s->block_cap * (s->nfeat + 1);
}

static inline double *
lg_block_cw(const LogregState *s)
{
	return lg_block_y(s) + s->block_cap;
}

static inline Size
logreg_state_size(int nfeat, int cap)
{
	Size		m = (Size) nfeat + 1;

	return sizeof(LogregState) + sizeof(double) * (m + m * m + (Size) cap * (m + 2));
}

extern LogregState *logreg_state_new(int p);
extern void logreg_flush(LogregState *s);
extern void logreg_state_check(const LogregState *s);
extern void logreg_state_absorb(LogregState *a, const LogregState *b);
extern int	logreg_params_nfeat(ArrayType *params);
extern void logreg_inv_scales(const double *prm, int p, double *inv);
extern double logreg_row_args(FunctionCallInfo fcinfo, int p, Float8ArrayView *v);

/* numerically stable 1 / (1 + e^−η) */
static inline double
sigmoid(double eta)
{
	if (eta >= 0)
		return 1.0 / (1.0 + exp(-eta));
	else
	{
		double		e = exp(eta);

		return e / (1.0 + e);
	}
}

/* η = w_0 + Σ w_j (x_j − center_j) / scale_j for the unaligned x; z gets the standardized x */
static inline double
logreg_eta(const double *prm, const double *inv_scale, int p, const char *x, double *z)
{
	const double *w = prm;
	const double *center = prm + p + 1;
	double		eta = w[0];
	int			j;

	for (j = 0; j < p; j++)
	{
		double		v;

		memcpy(&v, x + sizeof(double) * j, sizeof(double));
		v = (v - center[j]) * inv_scale[j];
		z[j] = v;
		eta += w[j + 1] * v;
	}
	return eta;
}

/*
 * Add one training row (x: p unaligned float8 values, y 0 or 1) at the
 * parameters prm to a pass's state. Only the linear part is done here: the
 * standardized row z and η = w_0 + wᵀz go to the block with y and the class
 * weight; logreg_flush does the rest for the whole block (its loss, gradient
 * and Hessian terms), where the rows do not wait on each other's exp.
 */
static inline void
logreg_accum_row(LogregState *s, const double *prm, const double *inv_scale, const char *x, double y)
{
	int			p = s->nfeat,
				k = s->block_rows,
				j;
	double	   *restrict row = lg_block(s) + (Size) k * (p + 1);
	const double *w = prm + 1;
	const double *center = prm + p + 1;
	/* four partial sums: the dot product is not one chain of dependent adds */
	double		acc[4] = {0, 0, 0, 0};

	for (j = 0; j < p; j++)
	{
		double		v;

		memcpy(&v, x + sizeof(double) * j, sizeof(double));
		v = (v - center[j]) * inv_scale[j];
		row[j + 1] = v;
		acc[j & 3] += w[j] * v;
	}
	row[0] = prm[0] + ((acc[0] + acc[1]) + (acc[2] + acc[3]));
	lg_block_y(s)[k] = y;
	lg_block_cw(s)[k] = y > 0 ? prm[3 * p + 2] : prm[3 * p + 1];
	s->n++;
	if (++s->block_rows == s->block_cap)
		logreg_flush(s);
}

#endif							/* MLSYS_LOGREG_H */
