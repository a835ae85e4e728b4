/*
 * gbt_loss.c — the losses boosting minimizes, per row: the gradient and
 * hessian of squared error, log loss and softmax with respect to the margin,
 * and the loss itself (early stopping's validation loss); and the draws that
 * pick a tree's rows and features from the seed.
 */
#include "postgres.h"

#include <math.h>

#include "models/trees/trees.h"

#define HESS_FLOOR 1e-16

/* a uniform number in [0, 1) from (key, a, b) */
double
gbt_draw(uint64 key, uint64 a, uint64 b)
{
	return (double) (mlsys_mix64(key ^ mlsys_mix64(a * UINT64CONST(0x9E3779B97F4A7C15) + b)) >> 11) *
		(1.0 / 9007199254740992.0);
}

/* each row's gradient and hessian for output k (rows of the tree only) */
void
gbt_gradients(const GbtData *d, const double *margins, const int32 *rows, int n, int k, double *gh)
{
	int			i,
				c;

	for (i = 0; i < n; i++)
	{
		int32		r = rows[i];
		const double *m = margins + (Size) r * d->ngroup;
		double		y = d->label[r],
					g,
					h;

		if (d->task == TREES_TASK_REGRESSION)
		{
			g = m[0] - y;
			h = 1.0;
		}
		else if (d->task == TREES_TASK_BINARY)
		{
			double		p = trees_sigmoid(m[0]);

			g = p - y;
			h = Max(p * (1.0 - p), HESS_FLOOR);
		}
		else
		{
			double		top = m[0],
						sum = 0,
						p;

			for (c = 1; c < d->ngroup; c++)
				top = Max(top, m[c]);
			for (c = 0; c < d->ngroup; c++)
				sum += exp(m[c] - top);
			p = exp(m[k] - top) / sum;
			g = p - ((int) y == k ? 1.0 : 0.0);
			h = Max(p * (1.0 - p), HESS_FLOOR);
		}
		gh[2 * (Size) r] = g;
		gh[2 * (Size) r + 1] = h;
	}
}

/* the loss of one row (validation, for early stopping) */
double
gbt_row_loss(const GbtData *d, const double *m, double y)
{
	if (d->task == TREES_TASK_REGRESSION)
		return (m[0] - y) * (m[0] - y);
	if (d->task == TREES_TASK_BINARY)
	{
		/* log(1 + e^−z) for y = 1, log(1 + e^z) for y = 0, stably */
		double		z = y > 0.5 ? m[0] : -m[0];

		return z > 0 ? log1p(exp(-z)) : -z + log1p(exp(z));
	}
	{
		double		top = m[0],
					sum = 0;
		int			c;

		for (c = 1; c < d->ngroup; c++)
			top = Max(top, m[c]);
		for (c = 0; c < d->ngroup; c++)
			sum += exp(m[c] - top);
		return log(sum) + top - m[(int) y];
	}
}

