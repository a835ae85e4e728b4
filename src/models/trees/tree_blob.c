/*
 * tree_blob.c — the blob of a boosted-trees ensemble (kind MODEL_TREES),
 * inside the envelope of models/blob.c:
 *     uint32 flags, int32 task, int32 nfeat, int32 ngroup, int32 ntrees,
 *     int32 nnodes, float8 threshold, float8 base[ngroup],
 *     int32 tree_group[ntrees], int32 tree_start[ntrees + 1],
 *     TreeNode nodes[nnodes] (40 bytes each: int32 feature, left, right,
 *     default_left, float8 value, cover, gain)
 * Verification walks every tree: each node other than the root has exactly
 * one parent, children point forward inside their tree, features exist and
 * every number is finite. A blob that fails raises ERRCODE_DATA_CORRUPTED.
 */
#include "postgres.h"

#include <math.h>

#include "miscadmin.h"
#include "utils/float.h"
#include "utils/memutils.h"

#include "models/trees/trees.h"

/* most trees and nodes a blob may hold (far above any training's) */
#define TREES_MAX_TREES 1000000
#define TREES_MAX_NODES (64 * 1024 * 1024)

StaticAssertDecl(sizeof(TreeNode) == 40, "a tree node is 40 bytes");

static Size
trees_payload_len(int ngroup, int ntrees, int nnodes)
{
	return 24 + 8 + 8 * (Size) ngroup + 4 * (Size) ntrees + 4 * ((Size) ntrees + 1) +
		sizeof(TreeNode) * (Size) nnodes;
}

/* serialize a verified ensemble */
bytea *
trees_serialize(const TreeEnsemble *e)
{
	Size		len = trees_payload_len(e->ngroup, e->ntrees, e->nnodes);
	int32		head[6] = {(int32) e->flags, e->task, e->nfeat, e->ngroup, e->ntrees, e->nnodes};
	char	   *payload;
	char	   *p;
	bytea	   *blob;

	if (len > MaxAllocSize - VARHDRSZ - MODEL_HEADER_SIZE)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("the tree ensemble is too large to store"),
				 errdetail("%d trees with %d nodes need %zu bytes; the limit is 1 GB.",
						   e->ntrees, e->nnodes, len),
				 errhint("Use fewer or shallower trees.")));
	blob = model_new_blob((uint32) len, &payload);
	p = payload;
#define PUT(src, bytes) do { memcpy(p, (src), (bytes)); p += (bytes); } while (0)
	PUT(head, sizeof(head));
	PUT(&e->threshold, 8);
	PUT(e->base, 8 * (Size) e->ngroup);
	PUT(e->tree_group, 4 * (Size) e->ntrees);
	PUT(e->tree_start, 4 * ((Size) e->ntrees + 1));
	PUT(e->nodes, sizeof(TreeNode) * (Size) e->nnodes);
#undef PUT
	Assert(p == payload + len);
	model_seal(blob, MODEL_TREES);
	return blob;
}

/* depth of node i of a tree (root 0), for the deepest leaf */
static int
subtree_depth(const TreeNode *t, int i)
{
	int			l,
				r;

	if (t[i].feature < 0)
		return 0;
	check_stack_depth();
	l = subtree_depth(t, t[i].left);
	r = subtree_depth(t, t[i].right);
	return 1 + Max(l, r);
}

/*
 * Check an ensemble's structure and numbers (model_corrupted on the first
 * problem) and derive what scoring needs: the float32 copies and max_depth.
 */
void
trees_verify(TreeEnsemble *e)
{
	int			t,
				i;
	uint8	   *parents;

	if (e->nfeat < 1 || e->nfeat > MLSYS_MAX_FEATURES)
		model_corrupted("The feature count is not valid.");
	if (e->task == TREES_TASK_MULTICLASS ? (e->ngroup < 2 || e->ngroup > MLSYS_MAX_CLASSES)
		: (e->task != TREES_TASK_REGRESSION && e->task != TREES_TASK_BINARY) || e->ngroup != 1)
		model_corrupted("The task and the number of outputs do not match.");
	if ((e->flags & ~TREES_FLAG_FLOAT32) != 0)
		model_corrupted("The flags are not valid.");
	if (!(e->threshold >= 0.0 && e->threshold <= 1.0))
		model_corrupted("The decision threshold is not a probability.");
	for (i = 0; i < e->ngroup; i++)
		if (!isfinite(e->base[i]))
			model_corrupted("A base margin is not finite.");
	if (e->tree_start[0] != 0 || e->tree_start[e->ntrees] != e->nnodes)
		model_corrupted("The tree offsets do not cover the nodes.");
	parents = palloc0(e->nnodes);
	e->max_depth = 0;
	for (t = 0; t < e->ntrees; t++)
	{
		int			start = e->tree_start[t],
					size = e->tree_start[t + 1] - start;
		TreeNode   *nodes = e->nodes + start;

		if (size < 1 || e->tree_start[t + 1] > e->nnodes)
			model_corrupted("A tree has no nodes.");
		if (e->tree_group[t] < 0 || e->tree_group[t] >= e->ngroup)
			model_corrupted("A tree's output is not valid.");
		for (i = 0; i < size; i++)
		{
			TreeNode   *n = &nodes[i];

			if (!isfinite(n->value) || !isfinite(n->cover) || !isfinite(n->gain) || n->cover < 0)
				model_corrupted("A node holds a number that is not valid.");
			if (n->feature == -1)
				continue;
			if (n->feature < 0 || n->feature >= e->nfeat)
				model_corrupted("A split names a feature the model does not have.");
			if (n->left <= i || n->right <= i || n->left >= size || n->right >= size ||
				n->left == n->right)
				model_corrupted("A child index does not point forward inside its tree.");
			if (n->default_left != 0 && n->default_left != 1)
				model_corrupted("A split's default direction is not valid.");
			if (parents[start + n->left]++ > 0 || parents[start + n->right]++ > 0)
				model_corrupted("A node has two parents.");
		}
		for (i = 1; i < size; i++)
			if (parents[start + i] != 1)
				model_corrupted("A node is not reachable from its tree's root.");
		e->max_depth = Max(e->max_depth, subtree_depth(nodes, 0));
	}
	pfree(parents);
	/* the compact nodes scoring walks, when every right child follows its left one */
	e->score = NULL;
	for (i = 0; i < e->nnodes; i++)
		if (e->nodes[i].feature >= 0 && e->nodes[i].right != e->nodes[i].left + 1)
			break;
	if (i == e->nnodes && (e->flags & TREES_FLAG_FLOAT32) == 0)
	{
		e->score = palloc(sizeof(ScoreNode) * (Size) Max(e->nnodes, 1));
		e->leaf = palloc0(sizeof(double) * (Size) Max(e->nnodes, 1));
		e->tree_depth = palloc(sizeof(int32) * (Size) e->ntrees);
		for (t = 0; t < e->ntrees; t++)
		{
			int			start = e->tree_start[t];

			e->tree_depth[t] = subtree_depth(e->nodes + start, 0);
			for (i = start; i < e->tree_start[t + 1]; i++)
			{
				ScoreNode  *sn = &e->score[i];
				const TreeNode *n = &e->nodes[i];

				if (n->feature >= 0)
				{
					sn->value = n->value;
					sn->feature = n->feature;
					sn->child = n->left * 2 + (n->default_left ? 1 : 0);
				}
				else
				{
					sn->value = get_float8_infinity();
					sn->feature = 0;
					sn->child = (i - start) * 2 + 1;
					e->leaf[i] = n->value;
				}
			}
		}
	}
	if (e->flags & TREES_FLAG_FLOAT32)
	{
		e->thr32 = palloc(sizeof(float) * (Size) Max(e->nnodes, 1));
		e->leaf32 = palloc(sizeof(float) * (Size) Max(e->nnodes, 1));
		for (i = 0; i < e->nnodes; i++)
		{
			e->thr32[i] = (float) e->nodes[i].value;
			e->leaf32[i] = (float) e->nodes[i].value;
		}
	}
}

/* parse and verify a trees blob; the result is palloc'd in the current context */
TreeEnsemble *
trees_deserialize(bytea *blob)
{
	const char *payload;
	const char *p;
	uint32		len;
	int32		head[6];
	TreeEnsemble *e;

	if (model_open(blob, &payload, &len) != MODEL_TREES)
		model_corrupted("The blob holds a kind of model this function cannot read.");
	if (len < 32)
		model_corrupted("The payload is too short.");
	memcpy(head, payload, sizeof(head));
	if (head[3] < 1 || head[3] > MLSYS_MAX_CLASSES || head[4] < 1 || head[4] > TREES_MAX_TREES ||
		head[5] < head[4] || head[5] > TREES_MAX_NODES ||
		len != trees_payload_len(head[3], head[4], head[5]))
		model_corrupted("The tree and node counts do not match the payload.");
	e = palloc0(sizeof(TreeEnsemble));
	e->flags = (uint32) head[0];
	e->task = head[1];
	e->nfeat = head[2];
	e->ngroup = head[3];
	e->ntrees = head[4];
	e->nnodes = head[5];
	e->base = palloc(8 * (Size) e->ngroup);
	e->tree_group = palloc(4 * (Size) e->ntrees);
	e->tree_start = palloc(4 * ((Size) e->ntrees + 1));
	e->nodes = palloc(sizeof(TreeNode) * (Size) e->nnodes);
	p = payload + 24;
#define GET(dst, bytes) do { memcpy((dst), p, (bytes)); p += (bytes); } while (0)
	GET(&e->threshold, 8);
	GET(e->base, 8 * (Size) e->ngroup);
	GET(e->tree_group, 4 * (Size) e->ntrees);
	GET(e->tree_start, 4 * ((Size) e->ntrees + 1));
	GET(e->nodes, sizeof(TreeNode) * (Size) e->nnodes);
#undef GET
	trees_verify(e);
	return e;
}
