/*
 * treeshap.c — exact path-dependent TreeSHAP: each feature's Shapley value
 * for each margin of an ensemble at one row (mlsys.explain), and the
 * expected margin the values start from.
 *
 * The value function of a feature set S is E[f(x) | x_S] as the tree itself
 * estimates it: a split on a feature of S follows x, a split on any other
 * feature averages both children weighted by their share of the parent's
 * cover. Lundberg, Erion and Lee, "Consistent Individualized Feature
 * Attribution for Tree Ensembles" (2018), Algorithm 2, computes the Shapley
 * values of that game in O(L D²) per tree (L leaves, D depth) by carrying,
 * down each root-to-leaf path, the weights of every subset size of the
 * features met so far; this is the same algorithm as XGBoost's
 * pred_contribs. The values of a tree add up to its leaf for x minus its
 * expected value (the cover-weighted mean of its leaves), so the bias, base
 * margin plus the trees' expected values, completes the sum to the margin.
 *
 * Models imported from XGBoost (TREES_FLAG_FLOAT32) take their path
 * decisions as tree_predict.c's tree_leaf32 does (x cast to float, compared
 * with the float threshold) and their leaves as floats, so the values are
 * those of XGBoost; the arithmetic here is float8.
 */
#include "postgres.h"

#include <math.h>

#include "miscadmin.h"
#include "utils/memutils.h"

#include "models/trees/trees.h"

/* one feature on the current path (the "unique path" of the paper) */
typedef struct PathElem
{
	int			feature;		/* -1 for the root's placeholder */
	double		zero;			/* fraction of the cover that flows here without the feature */
	double		one;			/* 1 when x follows this way, else 0 */
	double		weight;			/* the permutation weight of a subset size */
} PathElem;

typedef struct ShapTree
{
	const TreeNode *nodes;
	const float *thr32;			/* float32 models: thresholds (NULL: float8) */
	const float *leaf32;		/* float32 models: leaf values */
	const double *x;
	double	   *phi;			/* nfeat + 1 values of this tree's output */
} ShapTree;

/* the value of leaf i */
static inline double
leaf_value(const ShapTree *t, int i)
{
	return t->leaf32 != NULL ? (double) t->leaf32[i] : t->nodes[i].value;
}

/* the child of split i that x follows (tree_leaf / tree_leaf32 of tree_predict.c) */
static inline int
hot_child(const ShapTree *t, int i)
{
	const TreeNode *n = &t->nodes[i];

	if (t->thr32 != NULL)
	{
		float		v = (float) t->x[n->feature];

		if (isnan(v))
			return n->default_left ? n->left : n->right;
		return v < t->thr32[i] ? n->left : n->right;
	}
	if (isnan(t->x[n->feature]))
		return n->default_left ? n->left : n->right;
	return t->x[n->feature] < n->value ? n->left : n->right;
}

/* the share of split i's cover that reaches its child c (halves when it has none) */
static inline double
cover_share(const TreeNode *nodes, int i, int c)
{
	return nodes[i].cover > 0 ? nodes[c].cover / nodes[i].cover : 0.5;
}

/* the cover-weighted mean of the leaves under node i: E[f] of the subtree */
static double
expected_value(const ShapTree *t, int i)
{
	const TreeNode *n = &t->nodes[i];

	if (n->feature < 0)
		return leaf_value(t, i);
	check_stack_depth();
	return cover_share(t->nodes, i, n->left) * expected_value(t, n->left) +
		cover_share(t->nodes, i, n->right) * expected_value(t, n->right);
}

/* add a feature with fractions (zero, one) at position depth of the path */
static void
extend_path(PathElem *path, int depth, double zero, double one, int feature)
{
	int			i;

	path[depth].feature = feature;
	path[depth].zero = zero;
	path[depth].one = one;
	path[depth].weight = depth == 0 ? 1.0 : 0.0;
	for (i = depth - 1; i >= 0; i--)
	{
		path[i + 1].weight += one * path[i].weight * (i + 1) / (double) (depth + 1);
		path[i].weight = zero * path[i].weight * (depth - i) / (double) (depth + 1);
	}
}

/* remove the feature at position k of a path of length depth + 1 (inverse of extend) */
static void
unwind_path(PathElem *path, int depth, int k)
{
	double		one = path[k].one,
				zero = path[k].zero,
				next = path[depth].weight;
	int			i;

	for (i = depth - 1; i >= 0; i--)
	{
		if (one != 0)
		{
			double		tmp = path[i].weight;

			path[i].weight = next * (depth + 1) / ((i + 1) * one);
			next = tmp - path[i].weight * zero * (depth - i) / (double) (depth + 1);
		}
		else
			path[i].weight = path[i].weight * (depth + 1) / (zero * (depth - i));
	}
	for (i = k; i < depth; i++)
	{
		path[i].feature = path[i + 1].feature;
		path[i].zero = path[i + 1].zero;
		path[i].one = path[i + 1].one;
	}
}

/* the total weight the path would have without the feature at position k */
static double
unwound_sum(const PathElem *path, int depth, int k)
{
	double		one = path[k].one,
				zero = path[k].zero,
				next = path[depth].weight,
				total = 0;
	int			i;

	for (i = depth - 1; i >= 0; i--)
	{
		if (one != 0)
		{
			double		tmp = next * (depth + 1) / ((i + 1) * one);

			total += tmp;
			next = path[i].weight - tmp * zero * ((depth - i) / (double) (depth + 1));
		}
		else if (zero != 0)
			total += (path[i].weight / zero) / ((depth - i) / (double) (depth + 1));
		/* both fractions 0: the path carries no weight (not descended into) */
	}
	return total;
}

/*
 * Descend into node i with the parent's path (depth + 1 elements at
 * parent_path), extended here by the split feature that led to it with
 * fractions (zero, one). Each call copies the path into its own slice of
 * the triangular buffer, so the parent's stays intact for the other child.
 */
static void
shap_recurse(const ShapTree *t, int i, PathElem *parent_path, int depth,
			 double zero, double one, int feature)
{
	const TreeNode *n = &t->nodes[i];
	PathElem   *path = parent_path + depth + 1;
	int			k;

	memcpy(path, parent_path, sizeof(PathElem) * (depth + 1));
	extend_path(path, depth, zero, one, feature);

	if (n->feature < 0)
	{
		double		v = leaf_value(t, i);

		for (k = 1; k <= depth; k++)
		{
			double		w = unwound_sum(path, depth, k);

			t->phi[path[k].feature] += w * (path[k].one - path[k].zero) * v;
		}
		return;
	}

	check_stack_depth();
	{
		int			hot = hot_child(t, i),
					cold = hot == n->left ? n->right : n->left;
		double		hot_zero = cover_share(t->nodes, i, hot),
					cold_zero = cover_share(t->nodes, i, cold),
					in_zero = 1,
					in_one = 1;

		/* a feature met again: take it off the path and fold its fractions in */
		for (k = 0; k <= depth; k++)
			if (path[k].feature == n->feature)
				break;
		if (k <= depth)
		{
			in_zero = path[k].zero;
			in_one = path[k].one;
			unwind_path(path, depth, k);
			depth--;
		}
		/* a branch that no feature subset reaches adds nothing */
		if (hot_zero * in_zero != 0 || in_one != 0)
			shap_recurse(t, hot, path, depth + 1, hot_zero * in_zero, in_one, n->feature);
		if (cold_zero * in_zero != 0)
			shap_recurse(t, cold, path, depth + 1, cold_zero * in_zero, 0, n->feature);
	}
}

/*
 * Contributions of each feature to each margin of e at x: contrib is
 * ngroup × (nfeat + 1), row g holding output g's feature values then its
 * bias (the base margin plus the expected value of each of its trees).
 * Row g adds up to trees_margins' margin g (up to rounding).
 */
void
trees_shap(const TreeEnsemble *e, const double *x, double *contrib)
{
	Size		depth = (Size) e->max_depth + 2;
	Size		need = depth * (depth + 1) / 2;
	PathElem   *paths;
	ShapTree	t;
	int			g,
				tr;

	if (need > MaxAllocSize / sizeof(PathElem))
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("trees of depth %d are too deep to explain", e->max_depth)));
	paths = palloc0(sizeof(PathElem) * need);
	memset(contrib, 0, sizeof(double) * (Size) e->ngroup * (e->nfeat + 1));
	for (g = 0; g < e->ngroup; g++)
		contrib[(Size) g * (e->nfeat + 1) + e->nfeat] = e->base[g];
	t.x = x;
	for (tr = 0; tr < e->ntrees; tr++)
	{
		int			s = e->tree_start[tr];

		CHECK_FOR_INTERRUPTS();
		t.nodes = e->nodes + s;
		t.thr32 = (e->flags & TREES_FLAG_FLOAT32) ? e->thr32 + s : NULL;
		t.leaf32 = (e->flags & TREES_FLAG_FLOAT32) ? e->leaf32 + s : NULL;
		t.phi = contrib + (Size) e->tree_group[tr] * (e->nfeat + 1);
		t.phi[e->nfeat] += expected_value(&t, 0);
		if (t.nodes[0].feature < 0)
			continue;			/* a single leaf: all bias */
		shap_recurse(&t, 0, paths, 0, 1, 1, -1);
	}
	pfree(paths);
}
