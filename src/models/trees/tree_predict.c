/*
 * tree_predict.c — scoring an ensemble: the margin of each output (base
 * margin plus the leaves the row reaches, tree by tree in order), and the
 * family's scoring callbacks on top: the value (regression), P(positive)
 * (binary: σ(margin)) or the class probabilities (softmax of the margins).
 * Models imported from XGBoost compare and add in float32 as XGBoost does.
 */
#include "postgres.h"

#include <math.h>

#include "utils/float.h"

#include "models/trees/trees.h"

/* the leaf a row reaches in the tree whose first node is t */
static inline int
tree_leaf(const TreeNode *t, const double *x)
{
	int			i = 0;

	while (t[i].feature >= 0)
	{
		double		v = x[t[i].feature];

		if (isnan(v))
			i = t[i].default_left ? t[i].left : t[i].right;
		else
			i = v < t[i].value ? t[i].left : t[i].right;
	}
	return i;
}

/* the same in float32 arithmetic (imported XGBoost models); returns the node index */
static inline int
tree_leaf32(const TreeNode *t, const float *thr, const double *x)
{
	int			i = 0;

	while (t[i].feature >= 0)
	{
		float		v = (float) x[t[i].feature];

		if (isnan(v))
			i = t[i].default_left ? t[i].left : t[i].right;
		else
			i = v < thr[i] ? t[i].left : t[i].right;
	}
	return i;
}

/* one step of a walk on compact nodes (a leaf steps to itself) */
static inline int
score_step(const ScoreNode *t, int i, const double *x)
{
	double		v = x[t[i].feature];
	int			c = t[i].child;
	int			right = isnan(v) ? !(c & 1) : !(v < t[i].value);

	return (c >> 1) + right;
}

/*
 * Σ of the leaves trees first .. last − 1 give x, added in tree order
 * (single-output models): four walks at a time, interleaved, each for the
 * depth of the deepest of the four
 */
static double
score_sum(const TreeEnsemble *e, const double *x)
{
	const ScoreNode *S = e->score;
	const int32 *ts = e->tree_start;
	double		sum = 0;
	int			t = 0,
				k;

	for (; t + 4 <= e->ntrees; t += 4)
	{
		const ScoreNode *a = S + ts[t],
				   *b = S + ts[t + 1],
				   *c = S + ts[t + 2],
				   *d = S + ts[t + 3];
		int			ia = 0,
					ib = 0,
					ic = 0,
					id = 0,
					depth = Max(Max(e->tree_depth[t], e->tree_depth[t + 1]),
								Max(e->tree_depth[t + 2], e->tree_depth[t + 3]));

		for (k = 0; k < depth; k++)
		{
			ia = score_step(a, ia, x);
			ib = score_step(b, ib, x);
			ic = score_step(c, ic, x);
			id = score_step(d, id, x);
		}
		sum += e->leaf[ts[t] + ia];
		sum += e->leaf[ts[t + 1] + ib];
		sum += e->leaf[ts[t + 2] + ic];
		sum += e->leaf[ts[t + 3] + id];
	}
	for (; t < e->ntrees; t++)
	{
		int			i = 0;

		for (k = 0; k < e->tree_depth[t]; k++)
			i = score_step(S + ts[t], i, x);
		sum += e->leaf[ts[t] + i];
	}
	return sum;
}

/* margin[g] for every output g */
void
trees_margins(const TreeEnsemble *e, const double *x, double *margin)
{
	int			t,
				g;

	if (e->flags & TREES_FLAG_FLOAT32)
	{
		float		acc[MLSYS_MAX_CLASSES];

		for (g = 0; g < e->ngroup; g++)
			acc[g] = (float) e->base[g];
		for (t = 0; t < e->ntrees; t++)
		{
			int			s = e->tree_start[t];

			acc[e->tree_group[t]] += e->leaf32[s + tree_leaf32(e->nodes + s, e->thr32 + s, x)];
		}
		for (g = 0; g < e->ngroup; g++)
			margin[g] = acc[g];
		return;
	}
	for (g = 0; g < e->ngroup; g++)
		margin[g] = e->base[g];
	if (e->score != NULL)
	{
		if (e->ngroup == 1)
			margin[0] += score_sum(e, x);
		else
			for (t = 0; t < e->ntrees; t++)
			{
				const ScoreNode *tree = e->score + e->tree_start[t];
				int			i = 0,
							k;

				for (k = 0; k < e->tree_depth[t]; k++)
					i = score_step(tree, i, x);
				margin[e->tree_group[t]] += e->leaf[e->tree_start[t] + i];
			}
		return;
	}
	if (e->ngroup == 1)
	{
		double		sum = 0;

		for (t = 0; t < e->ntrees; t++)
		{
			const TreeNode *tree = e->nodes + e->tree_start[t];

			sum += tree[tree_leaf(tree, x)].value;
		}
		margin[0] += sum;
		return;
	}
	for (t = 0; t < e->ntrees; t++)
	{
		const TreeNode *tree = e->nodes + e->tree_start[t];

		margin[e->tree_group[t]] += tree[tree_leaf(tree, x)].value;
	}
}

/* regression: the value; binary: P(positive); multiclass: the top class's probability */
double
trees_predict(const LoadedModel *m, const double *x)
{
	const TreeEnsemble *e = (const TreeEnsemble *) m->model;
	double		margin[MLSYS_MAX_CLASSES];

	trees_margins(e, x, margin);
	if (e->task == TREES_TASK_REGRESSION)
		return margin[0];
	if (e->task == TREES_TASK_BINARY)
		return trees_sigmoid(margin[0]);
	{
		double		prob[MLSYS_MAX_CLASSES];
		double		best = 0;
		int			k;

		trees_predict_proba(m, x, prob);
		for (k = 0; k < e->ngroup; k++)
			best = Max(best, prob[k]);
		return best;
	}
}

/*
 * The class probabilities of a classifier's margins: σ of the one margin
 * (binary), or the softmax of the K margins (also training's metrics)
 */
void
trees_margin_proba(int task, int K, const double *margin, double *prob)
{
	double		top,
				sum = 0;
	int			k;

	if (task == TREES_TASK_BINARY)
	{
		prob[1] = trees_sigmoid(margin[0]);
		prob[0] = 1.0 - prob[1];
		return;
	}
	top = margin[0];
	for (k = 1; k < K; k++)
		top = Max(top, margin[k]);
	for (k = 0; k < K; k++)
	{
		prob[k] = exp(margin[k] - top);
		sum += prob[k];
	}
	for (k = 0; k < K; k++)
		prob[k] /= sum;
}

/* every class's probability, in class order */
void
trees_predict_proba(const LoadedModel *m, const double *x, double *prob)
{
	const TreeEnsemble *e = (const TreeEnsemble *) m->model;
	double		margin[MLSYS_MAX_CLASSES];

	trees_margins(e, x, margin);
	trees_margin_proba(e->task, e->ngroup, margin, prob);
}

/*
 * The largest difference between two ensembles' numbers (thresholds, leaves,
 * base margins), or +Infinity when their shapes differ: how mlsys.reproduce
 * compares trees, which have no coefficients.
 */
double
trees_params_diff(bytea *a, bytea *b)
{
	TreeEnsemble *x = trees_deserialize(a);
	TreeEnsemble *y = trees_deserialize(b);
	double		diff = 0;
	int			i;

	if (x->flags != y->flags || x->task != y->task || x->nfeat != y->nfeat ||
		x->ngroup != y->ngroup || x->ntrees != y->ntrees || x->nnodes != y->nnodes ||
		memcmp(x->tree_start, y->tree_start, 4 * ((Size) x->ntrees + 1)) != 0 ||
		memcmp(x->tree_group, y->tree_group, 4 * (Size) x->ntrees) != 0)
		return get_float8_infinity();
	for (i = 0; i < x->ngroup; i++)
		diff = Max(diff, fabs(x->base[i] - y->base[i]));
	for (i = 0; i < x->nnodes; i++)
	{
		if (x->nodes[i].feature != y->nodes[i].feature ||
			x->nodes[i].left != y->nodes[i].left ||
			x->nodes[i].default_left != y->nodes[i].default_left)
			return get_float8_infinity();
		diff = Max(diff, fabs(x->nodes[i].value - y->nodes[i].value));
	}
	return diff;
}
