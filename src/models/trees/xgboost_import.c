/*
 * xgboost_import.c — an XGBoost JSON model (Booster.save_model("m.json") or
 * save_raw(raw_format="json"), XGBoost 1.0 to 3.0) as a tree ensemble that
 * scores exactly as XGBoost's CPU predictor does.
 *
 * What is read (doc/model.schema of XGBoost): learner.objective.name
 * (reg:squarederror — or its old name reg:linear —, binary:logistic,
 * multi:softprob, multi:softmax), learner.learner_model_param (base_score,
 * num_feature, num_class, num_target), learner.feature_names and
 * feature_types, and the gbtree booster's trees and tree_info. A tree is
 * arrays indexed by node: left_children (-1 for a leaf), right_children,
 * split_indices, split_conditions (a split's threshold, a leaf's value
 * already scaled by the learning rate), default_left (where a missing value
 * goes), sum_hessian (the cover) and loss_changes (the gain); base_weights
 * are not needed.
 *
 * XGBoost's arithmetic, which the ensemble keeps (TREES_FLAG_FLOAT32): every
 * number is a float (read here with strtof, as XGBoost's own JSON reader
 * does); a row goes left when (float) x < threshold, to its default side
 * when x is missing (NaN), and the right child is the node after the left
 * one (the predictor computes it as left + 1, so a tree where it is not is
 * refused); the margin of each output starts from the base margin as a float
 * and adds each tree's leaf in float, tree by tree in order. The base margin
 * is ProbToMargin(base_score) in float: -logf(1/b - 1) for binary:logistic,
 * b itself for regression and for every class of a multiclass model.
 *
 * Nodes the pruner deleted (unreachable, as many as tree_param.num_deleted)
 * are dropped; the others keep their order, so children still follow their
 * parent. Every problem is a class-22 error: malformed parts name their path
 * in the document; what mlsys cannot score (other boosters and objectives,
 * categorical splits, vector leaves, several targets) says so.
 */
#include "postgres.h"

#include <math.h>

#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"
#include "utils/numeric.h"

#include "models/trees/trees.h"

#define TREES_PATH "learner.gradient_booster.model.trees"
/* the most nodes one allocation holds (a blob of more would not fit in 1 GB either) */
#define XGB_MAX_NODES ((int) (MaxAllocSize / sizeof(TreeNode)))

/* a part of the model mlsys cannot score */
static void
xgb_unsupported(const char *what, const char *detail) mlsys_noreturn;
static void
xgb_unsupported(const char *what, const char *detail)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("cannot import an XGBoost model with %s", what),
			 errdetail("%s", detail),
			 errhint("mlsys imports gbtree models with objective reg:squarederror, binary:logistic, "
					 "multi:softprob or multi:softmax, numeric splits and scalar leaves.")));
}

/* obj.key without path errors: NULL when absent */
static JsonbValue *
find_key(JsonbContainer *obj, const char *key)
{
	return getKeyJsonValueFromContainer(obj, key, strlen(key), NULL);
}

/* Is doc an XGBoost JSON model (an object with "learner" and no "format")? */
bool
trees_is_xgboost_document(Jsonb *doc)
{
	if (!JB_ROOT_IS_OBJECT(doc))
		return false;
	return find_key(&doc->root, "learner") != NULL && find_key(&doc->root, "format") == NULL;
}

/*
 * An XGBoost parameter: a JSON string holding a number (XGBoost writes its
 * parameters as strings; a JSON number is taken too); NULL when absent and
 * not required.
 */
static const char *
param_text(JsonbContainer *obj, const char *path, const char *key, bool required)
{
	JsonbValue *v = doc_get_key(obj, path, key, required);

	if (v == NULL)
		return NULL;
	if (v->type == jbvNumeric)
		return DatumGetCString(DirectFunctionCall1(numeric_out, NumericGetDatum(v->val.numeric)));
	return doc_as_string(v, doc_key_path(path, key), -1);
}

/* an integer parameter in [lo, hi]; dflt when absent and not required */
static int64
param_int(JsonbContainer *obj, const char *path, const char *key, int64 lo, int64 hi,
		  bool required, int64 dflt)
{
	const char *text = param_text(obj, path, key, required);
	char	   *end;
	long long	i;

	if (text == NULL)
		return dflt;
	errno = 0;
	i = strtoll(text, &end, 10);
	if (end == text || *end != '\0' || errno == ERANGE)
		doc_invalid(doc_key_path(path, key), "must be an integer");
	if (i < lo || i > hi)
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("invalid model document: \"%s\" is out of range", doc_key_path(path, key)),
				 errdetail("It must be between " INT64_FORMAT " and " INT64_FORMAT ".", lo, hi)));
	return (int64) i;
}

/* a float parameter (base_score), parsed as XGBoost does: to float */
static float
param_float(JsonbContainer *obj, const char *path, const char *key)
{
	const char *text = param_text(obj, path, key, true);
	char	   *end;
	float		f;

	errno = 0;
	f = strtof(text, &end);
	if (end == text || *end != '\0')
		doc_invalid(doc_key_path(path, key), "must be a number");
	if (!isfinite(f) || (errno == ERANGE && f == 0.0f))
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("invalid model document: \"%s\" is out of range for type real",
						doc_key_path(path, key))));
	return f;
}

/* tree.key: an array of exactly n elements */
static JsonbContainer *
tree_array(JsonbContainer *tree, const char *tp, const char *key, int n, bool required)
{
	JsonbValue *v = doc_get_key(tree, tp, key, required);

	return v == NULL ? NULL : doc_as_array(v, n, doc_key_path(tp, key));
}

/* the feature names (f0, f1, ... when the model has none) and their types */
static char **
read_features(JsonbContainer *learner, int nfeat)
{
	char	  **names = palloc(sizeof(char *) * nfeat);
	JsonbValue *v = doc_get_key(learner, "learner", "feature_names", false);
	JsonbContainer *c = v ? doc_as_array(v, -1, "learner.feature_names") : NULL;
	int			j,
				k;

	if (c != NULL && JsonContainerSize(c) > 0)
	{
		if ((int) JsonContainerSize(c) != nfeat)
			doc_invalid("learner.feature_names",
						psprintf("must have %d elements (num_feature), not %d", nfeat, (int) JsonContainerSize(c)));
		for (j = 0; j < nfeat; j++)
		{
			names[j] = doc_as_string(doc_elem(c, j), "learner.feature_names", j);
			if (names[j][0] == '\0' || strlen(names[j]) >= NAMEDATALEN)
				doc_invalid(doc_elem_path("learner.feature_names", j),
							psprintf("must be a column name of 1 to %d bytes", NAMEDATALEN - 1));
			for (k = 0; k < j; k++)
				if (strcmp(names[k], names[j]) == 0)
					doc_invalid(doc_elem_path("learner.feature_names", j),
								psprintf("must not repeat feature_names[%d] (\"%s\")", k, names[k]));
		}
	}
	else
		for (j = 0; j < nfeat; j++)
			names[j] = psprintf("f%d", j);

	v = doc_get_key(learner, "learner", "feature_types", false);
	c = v ? doc_as_array(v, -1, "learner.feature_types") : NULL;
	if (c != NULL && JsonContainerSize(c) > 0)
	{
		if ((int) JsonContainerSize(c) != nfeat)
			doc_invalid("learner.feature_types",
						psprintf("must have %d elements (num_feature), not %d", nfeat, (int) JsonContainerSize(c)));
		for (j = 0; j < nfeat; j++)
		{
			char	   *type = doc_as_string(doc_elem(c, j), "learner.feature_types", j);

			if (strcmp(type, "c") == 0)
				xgb_unsupported("categorical features",
								psprintf("Feature \"%s\" has type \"c\" (categorical).", names[j]));
			if (strcmp(type, "float") != 0 && strcmp(type, "int") != 0 &&
				strcmp(type, "i") != 0 && strcmp(type, "q") != 0)
				doc_invalid(doc_elem_path("learner.feature_types", j),
							"must be \"float\", \"int\", \"i\" or \"q\" (a numeric feature)");
		}
	}
	return names;
}

/* the arrays of one tree, as read */
typedef struct XgbTree
{
	int			n;
	int64	   *left;
	int64	   *right;
	int64	   *feature;
	float	   *cond;
	bool	   *dleft;
	float	   *hess;
	float	   *gain;
	int64	   *parent;			/* NULL when the tree has none */
} XgbTree;

/* n integers in [lo, hi] */
static int64 *
int_array(JsonbContainer *c, int n, const char *path, int64 lo, int64 hi)
{
	int64	   *out = palloc(sizeof(int64) * n);
	int			i;

	for (i = 0; i < n; i++)
		out[i] = doc_as_int(doc_elem(c, i), lo, hi, path, i);
	return out;
}

/* n float4 values, read as XGBoost reads them (strtof) */
static float *
float_array(JsonbContainer *c, int n, const char *path)
{
	float	   *out = palloc(sizeof(float) * n);
	int			i;

	for (i = 0; i < n; i++)
		out[i] = doc_as_float4(doc_elem(c, i), path, i);
	return out;
}

/* read tree t's arrays; refuse what it cannot be scored with */
static void
read_tree_arrays(JsonbContainer *tree, const char *tp, int t, char **names, int nfeat,
				 XgbTree *x, int *ndeleted)
{
	JsonbContainer *param = doc_key_object(tree, tp, "tree_param");
	char	   *pp = doc_key_path(tp, "tree_param");
	JsonbContainer *c;
	int			n,
				i;

	n = x->n = (int) param_int(param, pp, "num_nodes", 1, PG_INT32_MAX / 2, true, 0);
	if (param_int(param, pp, "size_leaf_vector", 0, PG_INT32_MAX, false, 0) > 1)
		xgb_unsupported("vector leaves",
						psprintf("Tree %d has leaves of several values (multi_strategy \"multi_output_tree\").", t));
	*ndeleted = (int) param_int(param, pp, "num_deleted", 0, n - 1, false, 0);

	/* a leaf's or deleted node's split index is any number; a split's is checked below */
	c = tree_array(tree, tp, "split_indices", n, true);
	x->feature = int_array(c, n, doc_key_path(tp, "split_indices"), PG_INT64_MIN, PG_INT64_MAX);

	/* categorical splits: split_type 1, or a node in categories_nodes */
	c = tree_array(tree, tp, "split_type", n, false);
	if (c != NULL)
		for (i = 0; i < n; i++)
			if (doc_as_int(doc_elem(c, i), 0, 1, doc_key_path(tp, "split_type"), i) == 1)
				xgb_unsupported("categorical splits",
								x->feature[i] >= 0 && x->feature[i] < nfeat
								? psprintf("Node %d of tree %d splits on the categories of feature \"%s\".",
										   i, t, names[x->feature[i]])
								: psprintf("Node %d of tree %d splits on categories.", i, t));
	c = tree_array(tree, tp, "categories_nodes", -1, false);
	if (c != NULL && JsonContainerSize(c) > 0)
		xgb_unsupported("categorical splits",
						psprintf("Tree %d lists categorical split nodes.", t));

	c = tree_array(tree, tp, "left_children", n, true);
	x->left = int_array(c, n, doc_key_path(tp, "left_children"), -1, n - 1);
	c = tree_array(tree, tp, "right_children", n, true);
	x->right = int_array(c, n, doc_key_path(tp, "right_children"), -1, n - 1);
	c = tree_array(tree, tp, "split_conditions", n, true);
	x->cond = float_array(c, n, doc_key_path(tp, "split_conditions"));
	c = tree_array(tree, tp, "sum_hessian", n, true);
	x->hess = float_array(c, n, doc_key_path(tp, "sum_hessian"));
	c = tree_array(tree, tp, "loss_changes", n, true);
	x->gain = float_array(c, n, doc_key_path(tp, "loss_changes"));
	c = tree_array(tree, tp, "default_left", n, true);
	x->dleft = palloc(sizeof(bool) * n);
	for (i = 0; i < n; i++)
	{
		JsonbValue *v = doc_elem(c, i);

		/* XGBoost writes 0 or 1; a JSON boolean is read too, as XGBoost does */
		if (v->type == jbvBool)
			x->dleft[i] = v->val.boolean;
		else
			x->dleft[i] = doc_as_int(v, 0, 1, doc_key_path(tp, "default_left"), i) == 1;
	}
	c = tree_array(tree, tp, "parents", n, false);
	x->parent = c ? int_array(c, n, doc_key_path(tp, "parents"), PG_INT64_MIN, PG_INT64_MAX) : NULL;
}

/*
 * Walk tree t from its root: every split's children follow it (left > the
 * node, right = left + 1), no node has two parents, the unreachable nodes
 * are the deleted ones; append the reachable nodes in their order.
 */
static void
append_tree(const XgbTree *x, const char *tp, int ndeleted, int nfeat, TreeNode *out, int *nout)
{
	int			n = x->n;
	int		   *newidx = palloc(sizeof(int) * n);
	int		   *stack = palloc(sizeof(int) * n);
	bool	   *seen = palloc0(sizeof(bool) * n);
	int			top = 0,
				reached = 0,
				i;

	seen[0] = true;
	stack[top++] = 0;
	while (top > 0)
	{
		int			p = stack[--top];
		int64		l = x->left[p],
					r = x->right[p];

		reached++;
		if (l == -1)
		{
			if (r != -1)
				doc_invalid(psprintf("%s.right_children[%d]", tp, p),
							psprintf("must be -1 (node %d has no left child: it is a leaf)", p));
			continue;
		}
		if (l <= p)
			doc_invalid(psprintf("%s.left_children[%d]", tp, p),
						psprintf("must be greater than %d (children follow their parent)", p));
		if (r != l + 1)
			doc_invalid(psprintf("%s.right_children[%d]", tp, p),
						psprintf("must be " INT64_FORMAT " (XGBoost takes the node after the left child as the right one)",
								 l + 1));
		if (x->feature[p] < 0 || x->feature[p] >= nfeat)
			doc_invalid(psprintf("%s.split_indices[%d]", tp, p),
						psprintf("must be a feature index below num_feature (%d)", nfeat));
		if (seen[l] || seen[r])
			doc_invalid(psprintf("%s.left_children[%d]", tp, p),
						psprintf("names a node that has another parent (node " INT64_FORMAT ")", seen[l] ? l : r));
		if (x->parent != NULL && (x->parent[l] != p || x->parent[r] != p))
			doc_invalid(psprintf("%s.parents[" INT64_FORMAT "]", tp, x->parent[l] != p ? l : r),
						psprintf("must be %d (the node whose child it is)", p));
		seen[l] = seen[r] = true;
		stack[top++] = (int) r;
		stack[top++] = (int) l;
	}
	if (n - reached != ndeleted)
		doc_invalid(tp, psprintf("has %d nodes its root does not reach, and tree_param.num_deleted says %d",
								 n - reached, ndeleted));

	for (i = 0, reached = 0; i < n; i++)
		if (seen[i])
			newidx[i] = reached++;
	for (i = 0; i < n; i++)
	{
		TreeNode   *node;

		if (!seen[i])
			continue;
		node = &out[(*nout)++];
		memset(node, 0, sizeof(TreeNode));
		if (x->hess[i] < 0)
			doc_invalid(psprintf("%s.sum_hessian[%d]", tp, i), "must not be negative");
		node->cover = x->hess[i];
		node->value = x->cond[i];
		if (x->left[i] == -1)
		{
			node->feature = -1;
			node->left = node->right = -1;
			node->default_left = 0;
			node->gain = 0;
		}
		else
		{
			node->feature = (int32) x->feature[i];
			node->left = newidx[x->left[i]];
			node->right = newidx[x->right[i]];
			node->default_left = x->dleft[i] ? 1 : 0;
			node->gain = x->gain[i];
		}
	}
	pfree(newidx);
	pfree(stack);
	pfree(seen);
}

/* the XGBoost JSON model in doc as an ensemble, verified; class-22 errors */
XGBoostModel *
trees_import_xgboost(Jsonb *doc)
{
	JsonbContainer *root = &doc->root;
	JsonbContainer *ver,
			   *learner,
			   *objective,
			   *lmp,
			   *gb,
			   *model,
			   *trees,
			   *info;
	XGBoostModel *res = palloc0(sizeof(XGBoostModel));
	TreeEnsemble *e = palloc0(sizeof(TreeEnsemble));
	int64		major,
				minor,
				patch;
	char	   *obj,
			   *booster;
	float		base_score;
	int			num_class,
				ntrees,
				cap,
				t,
				k;

	if (!trees_is_xgboost_document(doc))
		elog(ERROR, "not an XGBoost model document");
	/* the versions whose JSON and predictor this file follows */
	ver = doc_as_array(doc_get_key(root, "", "version", true), 3, "version");
	major = doc_as_int(doc_elem(ver, 0), 0, PG_INT32_MAX, "version", 0);
	minor = doc_as_int(doc_elem(ver, 1), 0, PG_INT32_MAX, "version", 1);
	patch = doc_as_int(doc_elem(ver, 2), 0, PG_INT32_MAX, "version", 2);
	if (major < 1 || major > 3 || (major == 3 && minor > 0))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("cannot import a model saved by XGBoost " INT64_FORMAT "." INT64_FORMAT "." INT64_FORMAT,
						major, minor, patch),
				 errdetail("mlsys reads the JSON models of XGBoost 1.0 to 3.0.")));
	learner = doc_key_object(root, "", "learner");

	/* the booster: gbtree only */
	gb = doc_key_object(learner, "learner", "gradient_booster");
	booster = doc_key_string(gb, "learner.gradient_booster", "name");
	if (strcmp(booster, "gbtree") != 0)
		xgb_unsupported(psprintf("booster \"%s\"", booster),
						strcmp(booster, "dart") == 0
						? "A dart booster weighs its trees by what was dropped; mlsys scores gbtree boosters only."
						: psprintf("The booster is \"%s\"; mlsys scores gbtree boosters only.", booster));

	/* the objective says the task */
	objective = doc_key_object(learner, "learner", "objective");
	obj = doc_key_string(objective, "learner.objective", "name");
	if (strcmp(obj, "reg:squarederror") == 0 || strcmp(obj, "reg:linear") == 0)
		e->task = TREES_TASK_REGRESSION;
	else if (strcmp(obj, "binary:logistic") == 0)
		e->task = TREES_TASK_BINARY;
	else if (strcmp(obj, "multi:softprob") == 0 || strcmp(obj, "multi:softmax") == 0)
		e->task = TREES_TASK_MULTICLASS;
	else
		xgb_unsupported(psprintf("objective \"%s\"", obj),
						"mlsys imports the objectives reg:squarederror, binary:logistic, multi:softprob and multi:softmax.");

	res->task = e->task == TREES_TASK_REGRESSION ? "regression"
		: e->task == TREES_TASK_BINARY ? "binary" : "multiclass";

	/* sizes and the base score */
	lmp = doc_key_object(learner, "learner", "learner_model_param");
	res->nfeat = e->nfeat = (int) param_int(lmp, "learner.learner_model_param", "num_feature",
											1, MLSYS_MAX_FEATURES, true, 0);
	num_class = (int) param_int(lmp, "learner.learner_model_param", "num_class", 0, PG_INT32_MAX, false, 0);
	if (param_int(lmp, "learner.learner_model_param", "num_target", 0, PG_INT32_MAX, false, 1) > 1)
		xgb_unsupported("several targets", "num_target is greater than 1 (a multi-output model).");
	base_score = param_float(lmp, "learner.learner_model_param", "base_score");
	e->ngroup = 1;
	if (e->task == TREES_TASK_MULTICLASS)
	{
		if (num_class < 3 || num_class > MLSYS_MAX_CLASSES)
			xgb_unsupported(psprintf("%d classes", num_class),
							psprintf("A multiclass model of mlsys has 3 to %d classes; train a two-class model with binary:logistic.",
									 MLSYS_MAX_CLASSES));
		e->ngroup = num_class;
		res->nclasses = num_class;
	}
	else if (num_class > 1)
		doc_invalid("learner.learner_model_param.num_class",
					psprintf("must be 0 for objective \"%s\"", obj));
	else if (e->task == TREES_TASK_BINARY)
		res->nclasses = 2;

	/* the base margin: ObjFunction::ProbToMargin(base_score), in float */
	e->base = palloc(sizeof(double) * e->ngroup);
	if (e->task == TREES_TASK_BINARY)
	{
		volatile float m;

		if (!(base_score > 0.0f && base_score < 1.0f))
			doc_invalid("learner.learner_model_param.base_score",
						"must be between 0 and 1 (exclusive) for binary:logistic");
		m = -logf(1.0f / base_score - 1.0f);
		/* base_score 0.5 gives -0, which JSON cannot carry: +0 scores the same and round-trips */
		e->base[0] = m == 0.0f ? 0.0 : (double) m;
	}
	else
		for (k = 0; k < e->ngroup; k++)
			e->base[k] = base_score;
	e->threshold = 0.5;
	e->flags = TREES_FLAG_FLOAT32;
	res->names = read_features(learner, e->nfeat);

	/* the trees */
	model = doc_key_object(gb, "learner.gradient_booster", "model");
	trees = doc_as_array(doc_get_key(model, "learner.gradient_booster.model", "trees", true), -1, TREES_PATH);
	ntrees = JsonContainerSize(trees);
	if (ntrees < 1)
		doc_invalid(TREES_PATH, "must not be empty (the model has no trees)");
	info = doc_as_array(doc_get_key(model, "learner.gradient_booster.model", "tree_info", true),
						ntrees, "learner.gradient_booster.model.tree_info");
	{
		JsonbValue *gp = doc_get_key(model, "learner.gradient_booster.model", "gbtree_model_param", false);

		if (gp != NULL &&
			param_int(doc_as_container(gp, true, "learner.gradient_booster.model.gbtree_model_param", -1),
					  "learner.gradient_booster.model.gbtree_model_param", "num_trees",
					  0, PG_INT32_MAX, false, ntrees) != ntrees)
			doc_invalid("learner.gradient_booster.model.gbtree_model_param.num_trees",
						psprintf("must be %d (the number of trees)", ntrees));
	}
	e->ntrees = ntrees;
	e->tree_group = palloc(sizeof(int32) * ntrees);
	e->tree_start = palloc(sizeof(int32) * ((Size) ntrees + 1));
	cap = Max(ntrees, 64);
	e->nodes = palloc(sizeof(TreeNode) * cap);
	e->nnodes = 0;
	for (t = 0; t < ntrees; t++)
	{
		char	   *tp = psprintf("%s[%d]", TREES_PATH, t);
		JsonbContainer *tree = doc_as_container(doc_elem(trees, t), true, TREES_PATH, t);
		XgbTree		x;
		int			ndeleted;

		CHECK_FOR_INTERRUPTS();
		e->tree_group[t] = (int32) doc_as_int(doc_elem(info, t), 0, e->ngroup - 1,
											  "learner.gradient_booster.model.tree_info", t);
		read_tree_arrays(tree, tp, t, res->names, e->nfeat, &x, &ndeleted);
		if ((int64) e->nnodes + x.n > XGB_MAX_NODES)
			doc_invalid(TREES_PATH, psprintf("holds too many nodes (at most %d)", XGB_MAX_NODES));
		if (e->nnodes + x.n > cap)
		{
			cap = (int) Min((int64) Max(cap * 2, e->nnodes + x.n), XGB_MAX_NODES);
			e->nodes = repalloc(e->nodes, sizeof(TreeNode) * (Size) cap);
		}
		e->tree_start[t] = e->nnodes;
		append_tree(&x, tp, ndeleted, e->nfeat, e->nodes, &e->nnodes);
		pfree(x.left);
		pfree(x.right);
		pfree(x.feature);
		pfree(x.cond);
		pfree(x.dleft);
		pfree(x.hess);
		pfree(x.gain);
		if (x.parent)
			pfree(x.parent);
	}
	e->tree_start[ntrees] = e->nnodes;

	/* the checks of a stored blob (model_corrupted would mean a gap in the checks above) */
	trees_verify(e);
	res->ensemble = e;
	return res;
}
