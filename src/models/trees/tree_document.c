/*
 * tree_document.c — the "parameters" of a boosted-trees version in the model
 * document (mlsys.export_model / mlsys.import_model):
 *
 *   {"float32": false, "threshold": 0.5, "base_margin": [b_0, ...],
 *    "trees": [{"output": g, "nodes": [node, ...]}, ...]}
 *
 * a split {"split": "<feature name>", "threshold": t, "left": i, "right": j,
 * "missing": "left" | "right", "cover": c, "gain": g}, a leaf {"leaf": v,
 * "cover": c}; child indexes are within the tree's nodes.
 *
 * Exactness: a float8 model's numbers are written in their shortest float8
 * form and read back with strtod; a float32 model's (imported from XGBoost)
 * are all float4 values, written in their shortest float4 form and read back
 * with strtof. Either way the blob is rebuilt byte for byte (leaves in their
 * canonical form: no children, no gain). The decision threshold is a float8
 * in both. An imported ensemble goes through trees_verify before it is
 * serialized, so a forged tree (a child pointing back, a node with two
 * parents, an unknown feature) is refused.
 */
#include "postgres.h"

#include <math.h>

#include "miscadmin.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"

#include "models/trees/trees.h"

/* ------------------------------------------------------------------------
 * Export
 * ------------------------------------------------------------------------ */

/* a number of the model: float4 form for a float32 model (which holds only float4 values) */
static void
put_number(StringInfo buf, double v, bool f32)
{
	if (!f32)
	{
		doc_put_float8(buf, v);
		return;
	}
	if ((double) (float) v != v)
		model_corrupted("A float32 model holds a number that is not a float4 value.");
	doc_put_float4(buf, (float) v);
}

/* the "parameters" object of a trees version */
void
trees_export_params(StringInfo buf, bytea *blob, const ParamsSpec *spec)
{
	TreeEnsemble *e = trees_deserialize(blob);
	bool		f32 = (e->flags & TREES_FLAG_FLOAT32) != 0;
	int			t,
				i;

	if (e->nfeat != spec->nfeat)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("model parameters are corrupted"),
				 errdetail("The version has %d features, its trees %d.", spec->nfeat, e->nfeat)));
	if (e->task == TREES_TASK_MULTICLASS && e->ngroup != spec->nclasses)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("model parameters are corrupted"),
				 errdetail("The version has %d classes, its trees %d outputs.", spec->nclasses, e->ngroup)));

	appendStringInfoChar(buf, '{');
	doc_put_key(buf, "float32", true);
	appendStringInfoString(buf, f32 ? "true" : "false");
	doc_put_key(buf, "threshold", false);
	doc_put_float8(buf, e->threshold);
	doc_put_key(buf, "base_margin", false);
	appendStringInfoChar(buf, '[');
	for (i = 0; i < e->ngroup; i++)
	{
		if (i > 0)
			appendStringInfoChar(buf, ',');
		put_number(buf, e->base[i], f32);
	}
	appendStringInfoChar(buf, ']');
	doc_put_key(buf, "trees", false);
	appendStringInfoChar(buf, '[');
	for (t = 0; t < e->ntrees; t++)
	{
		int			start = e->tree_start[t],
					size = e->tree_start[t + 1] - start;

		CHECK_FOR_INTERRUPTS();
		appendStringInfoString(buf, t > 0 ? ",{" : "{");
		doc_put_key(buf, "output", true);
		appendStringInfo(buf, "%d", e->tree_group[t]);
		doc_put_key(buf, "nodes", false);
		appendStringInfoChar(buf, '[');
		for (i = 0; i < size; i++)
		{
			const TreeNode *n = &e->nodes[start + i];

			appendStringInfoString(buf, i > 0 ? ",{" : "{");
			if (n->feature < 0)
			{
				doc_put_key(buf, "leaf", true);
				put_number(buf, n->value, f32);
			}
			else
			{
				doc_put_key(buf, "split", true);
				escape_json(buf, spec->names[n->feature]);
				doc_put_key(buf, "threshold", false);
				put_number(buf, n->value, f32);
				doc_put_key(buf, "left", false);
				appendStringInfo(buf, "%d", n->left);
				doc_put_key(buf, "right", false);
				appendStringInfo(buf, "%d", n->right);
				doc_put_key(buf, "missing", false);
				appendStringInfoString(buf, n->default_left ? "\"left\"" : "\"right\"");
				doc_put_key(buf, "gain", false);
				put_number(buf, n->gain, f32);
			}
			doc_put_key(buf, "cover", false);
			put_number(buf, n->cover, f32);
			appendStringInfoChar(buf, '}');
		}
		appendStringInfoString(buf, "]}");
	}
	appendStringInfoString(buf, "]}");
}

/* ------------------------------------------------------------------------
 * Import
 * ------------------------------------------------------------------------ */

/* a feature name and its index, for bsearch */
typedef struct NamedFeature
{
	const char *name;
	int			index;
} NamedFeature;

static int
named_feature_cmp(const void *a, const void *b)
{
	return strcmp(((const NamedFeature *) a)->name, ((const NamedFeature *) b)->name);
}

/* a number of the model: read as float4 for a float32 model */
static double
get_number(JsonbValue *v, bool f32, const char *path, int index)
{
	return f32 ? (double) doc_as_float4(v, path, index) : doc_as_float8(v, path, index);
}

static double
key_number(JsonbContainer *obj, const char *path, const char *key, bool f32)
{
	return get_number(doc_get_key(obj, path, key, true), f32, doc_key_path(path, key), -1);
}

/* one node of a tree of size nodes at index i */
static void
read_node(JsonbContainer *obj, const char *path, int i, int size, bool f32,
		  const NamedFeature *byname, int nfeat, TreeNode *n)
{
	JsonbValue *leaf = doc_get_key(obj, path, "leaf", false);
	JsonbValue *split = doc_get_key(obj, path, "split", false);

	if ((leaf == NULL) == (split == NULL))
		doc_invalid(path, "must have either a \"split\" or a \"leaf\" key");
	memset(n, 0, sizeof(TreeNode));
	if (leaf != NULL)
	{
		/* the canonical leaf: no children, no gain */
		n->feature = -1;
		n->left = -1;
		n->right = -1;
		n->default_left = 0;
		n->value = get_number(leaf, f32, doc_key_path(path, "leaf"), -1);
		n->gain = 0;
	}
	else
	{
		NamedFeature key;
		const NamedFeature *found;
		char	   *missing;

		key.name = doc_as_string(split, doc_key_path(path, "split"), -1);
		found = bsearch(&key, byname, nfeat, sizeof(NamedFeature), named_feature_cmp);
		if (found == NULL)
			doc_invalid(doc_key_path(path, "split"),
						psprintf("names no feature of the model (\"%s\")", key.name));
		n->feature = found->index;
		n->value = key_number(obj, path, "threshold", f32);
		n->left = (int32) doc_key_int(obj, path, "left", 0, size - 1);
		n->right = (int32) doc_key_int(obj, path, "right", 0, size - 1);
		if (n->left <= i)
			doc_invalid(doc_key_path(path, "left"),
						psprintf("must be greater than %d (children follow their parent)", i));
		if (n->right <= i)
			doc_invalid(doc_key_path(path, "right"),
						psprintf("must be greater than %d (children follow their parent)", i));
		missing = doc_key_string(obj, path, "missing");
		if (strcmp(missing, "left") == 0)
			n->default_left = 1;
		else if (strcmp(missing, "right") == 0)
			n->default_left = 0;
		else
			doc_invalid(doc_key_path(path, "missing"), "must be \"left\" or \"right\"");
		n->gain = key_number(obj, path, "gain", f32);
	}
	n->cover = key_number(obj, path, "cover", f32);
	if (n->cover < 0)
		doc_invalid(doc_key_path(path, "cover"), "must not be negative");
}

/* "parameters" of a trees version → blob */
bytea *
trees_import_params(JsonbContainer *prm, const ParamsSpec *d)
{
	const char *path = "parameters";
	TreeEnsemble *e = palloc0(sizeof(TreeEnsemble));
	NamedFeature *byname;
	JsonbValue *v;
	JsonbContainer *base,
			   *trees;
	bool		f32;
	int64		total = 0;
	int			t,
				i;

	/* what the version says: task, features, outputs */
	e->nfeat = d->nfeat;
	e->ngroup = 1;
	if (strcmp(d->task, "regression") == 0)
		e->task = TREES_TASK_REGRESSION;
	else if (strcmp(d->task, "binary") == 0)
		e->task = TREES_TASK_BINARY;
	else if (strcmp(d->task, "multiclass") == 0)
	{
		e->task = TREES_TASK_MULTICLASS;
		e->ngroup = d->nclasses;
	}
	else
		doc_invalid("task", "must be regression, binary or multiclass for boosted trees");
	byname = palloc(sizeof(NamedFeature) * Max(d->nfeat, 1));
	for (i = 0; i < d->nfeat; i++)
	{
		byname[i].name = d->names[i];
		byname[i].index = i;
	}
	qsort(byname, d->nfeat, sizeof(NamedFeature), named_feature_cmp);
	for (i = 1; i < d->nfeat; i++)
		if (strcmp(byname[i - 1].name, byname[i].name) == 0)
			doc_invalid("spec.features", psprintf("must not name \"%s\" twice", byname[i].name));

	v = doc_get_key(prm, path, "float32", true);
	if (v->type != jbvBool)
		doc_invalid("parameters.float32", "must be true or false");
	f32 = v->val.boolean;
	e->flags = f32 ? TREES_FLAG_FLOAT32 : 0;
	e->threshold = doc_key_float8(prm, path, "threshold");
	base = doc_as_array(doc_get_key(prm, path, "base_margin", true), e->ngroup, "parameters.base_margin");
	e->base = palloc(sizeof(double) * e->ngroup);
	for (i = 0; i < e->ngroup; i++)
		e->base[i] = get_number(doc_elem(base, i), f32, "parameters.base_margin", i);

	/* the trees: sizes first, then every node */
	trees = doc_as_array(doc_get_key(prm, path, "trees", true), -1, "parameters.trees");
	e->ntrees = JsonContainerSize(trees);
	if (e->ntrees < 1)
		doc_invalid("parameters.trees", "must not be empty");
	e->tree_group = palloc(sizeof(int32) * e->ntrees);
	e->tree_start = palloc(sizeof(int32) * ((Size) e->ntrees + 1));
	for (t = 0; t < e->ntrees; t++)
	{
		char	   *tp = psprintf("parameters.trees[%d]", t);
		JsonbContainer *tree = doc_as_container(doc_elem(trees, t), true, "parameters.trees", t);
		JsonbContainer *nodes = doc_as_array(doc_get_key(tree, tp, "nodes", true), -1,
											 doc_key_path(tp, "nodes"));

		if (JsonContainerSize(nodes) < 1)
			doc_invalid(doc_key_path(tp, "nodes"), "must not be empty");
		e->tree_group[t] = (int32) doc_key_int(tree, tp, "output", 0, e->ngroup - 1);
		e->tree_start[t] = (int32) total;
		total += JsonContainerSize(nodes);
		if (total > (int64) (MaxAllocSize / sizeof(TreeNode)))
			doc_invalid("parameters.trees", psprintf("holds too many nodes (at most %d)",
													 (int) (MaxAllocSize / sizeof(TreeNode))));
	}
	e->tree_start[e->ntrees] = (int32) total;
	e->nnodes = (int) total;
	e->nodes = palloc(sizeof(TreeNode) * (Size) total);
	for (t = 0; t < e->ntrees; t++)
	{
		char	   *tp = psprintf("parameters.trees[%d]", t);
		JsonbContainer *tree = doc_as_container(doc_elem(trees, t), true, "parameters.trees", t);
		char	   *np = doc_key_path(tp, "nodes");
		JsonbContainer *nodes = doc_as_array(doc_get_key(tree, tp, "nodes", true), -1, np);
		int			size = e->tree_start[t + 1] - e->tree_start[t];

		CHECK_FOR_INTERRUPTS();
		for (i = 0; i < size; i++)
		{
			char	   *ip = doc_elem_path(np, i);

			read_node(doc_as_container(doc_elem(nodes, i), true, np, i), ip, i, size, f32,
					  byname, d->nfeat, &e->nodes[e->tree_start[t] + i]);
			pfree(ip);
		}
	}

	/* the structure: one parent per node, every node reachable (model_corrupted otherwise) */
	trees_verify(e);
	return trees_serialize(e);
}
