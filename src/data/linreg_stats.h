/*
 * linreg_stats.h — the layout of the least-squares aggregate state
 * (linreg_stats.c), shared with its solver (linreg_solve.c); no other file
 * includes it.
 */
#ifndef MLSYS_LINREG_H
#define MLSYS_LINREG_H

#include "data/data.h"

#define LINREG_LAYOUT	0x4C520004	/* "LR", layout version 4 */
#define LINREG_RIDGE	0x1
#define LINREG_SPLIT	0x2
#define LINREG_DIAG		0x4		/* variances only: no cross moments, no solve */

/* condition limit: reciprocal condition number after unit-diagonal scaling */
#define LINREG_MIN_RCOND 1e-12
/* minimum-norm solves: eigenvalues below this share of the largest count as zero */
#define LINREG_PINV_TOL 1e-10

struct LinregState
{
	int32		vl_len_;		/* varlena header: this is a bytea */
	uint32		layout;			/* LINREG_LAYOUT */
	int32		nfeat;			/* p; vectors are m = p + 1 long (y last) */
	int32		block_cap;		/* rows the block buffer holds */
	int32		block_rows;		/* rows buffered, not yet in the moments */
	int32		flags;			/* LINREG_RIDGE, LINREG_SPLIT */
	double		alpha;			/* ridge penalty (LINREG_RIDGE) */
	double		test_size;		/* holdout fraction (LINREG_SPLIT) */
	int64		seed;			/* split seed (LINREG_SPLIT) */
	int64		n;				/* rows merged into mean and comoment */
	int64		n_seen;			/* LINREG_SPLIT: rows with a target, both splits */
	int64		n_holdout;		/* LINREG_SPLIT: rows held out */
	uint64		fp_sum;			/* LINREG_SPLIT: Σ row hash (mod 2⁶⁴) */
	uint64		split_key;		/* LINREG_SPLIT: mlsys_split_key(seed) */
	int32		sample_cap;		/* rows of the training sample carried (0: none) */
	int32		sample_alloc;	/* the sample's slots allocated (up to sample_cap) */
	/*
	 * then: mean[m] comoment[m·m] minv[m] maxv[m] scratch[m] block[cap·m],
	 * then, with sample_cap > 0, a sample state (sample.c)
	 */
};

StaticAssertDecl(sizeof(LinregState) % sizeof(double) == 0,
				 "LinregState must keep its arrays aligned");

/* the arrays after the header (const in, mutable out: callers own the state) */
static inline double *
ls_mean(const LinregState *s)
{
	return (double *) ((const char *) s + sizeof(LinregState));
}

static inline double *
ls_comoment(const LinregState *s)
{
	return ls_mean(s) + (s->nfeat + 1);
}

static inline double *
ls_min(const LinregState *s)
{
	int			m = s->nfeat + 1;

	return ls_comoment(s) + (Size) m * m;
}

static inline double *
ls_max(const LinregState *s)
{
	return ls_min(s) + (s->nfeat + 1);
}

static inline double *
ls_scratch(const LinregState *s)
{
	return ls_max(s) + (s->nfeat + 1);
}

static inline double *
ls_block(const LinregState *s)
{
	return ls_scratch(s) + (s->nfeat + 1);
}

static inline Size
linreg_state_size(int nfeat, int block_cap)
{
	Size		m = (Size) nfeat + 1;

	return sizeof(LinregState) + sizeof(double) * (m * (m + 4) + (Size) block_cap * m);
}

extern void linreg_flush(LinregState *s);

#endif							/* MLSYS_LINREG_H */
