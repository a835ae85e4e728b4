/*
 * trees_family.c — the boosted-trees family ("boosted_trees"): its
 * hyperparameters with their defaults, and the ModelFamily struct that
 * hands training, scoring, explanations and the model document to the rest
 * of the family's folder.
 */
#include "postgres.h"

#include <math.h>

#include "models/trees/trees.h"

/* the keys of algorithm "boosted_trees", checked as they are read */
static bool
trees_hyperparam(TrainArgs *a, const char *key, JsonbValue *v)
{
	GbtParams  *p = a->gbt;
	double		x;

#define WHOLE(lo, hi) (x == floor(x) && x >= (lo) && x <= (hi))
	if (strcmp(key, "impute") == 0 || strcmp(key, "scale") == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("hyperparameter \"%s\" does not apply to algorithm \"boosted_trees\"", key),
				 errdetail("Boosted trees learn where missing values go and do not depend on the scale of a feature.")));
	if (strcmp(key, "early_stopping_rounds") == 0 && v->type == jbvNull)
	{
		p->early_stopping_rounds = 0;
		return true;
	}
	if (strcmp(key, "n_trees") != 0 && strcmp(key, "learning_rate") != 0 &&
		strcmp(key, "max_depth") != 0 && strcmp(key, "max_bins") != 0 &&
		strcmp(key, "min_samples_leaf") != 0 && strcmp(key, "l2") != 0 &&
		strcmp(key, "subsample") != 0 && strcmp(key, "colsample") != 0 &&
		strcmp(key, "early_stopping_rounds") != 0 && strcmp(key, "validation_fraction") != 0)
		return false;
	x = mlsys_hyperparam_number(v, key);
	if (strcmp(key, "n_trees") == 0)
	{
		if (!WHOLE(1, 10000))
			goto bad_whole;
		p->n_trees = (int) x;
	}
	else if (strcmp(key, "max_depth") == 0)
	{
		if (!WHOLE(1, 16))
			goto bad_whole;
		p->max_depth = (int) x;
	}
	else if (strcmp(key, "max_bins") == 0)
	{
		if (!WHOLE(2, GBT_MAX_BINS))
			goto bad_whole;
		p->max_bins = (int) x;
	}
	else if (strcmp(key, "min_samples_leaf") == 0)
	{
		if (!WHOLE(1, 1000000))
			goto bad_whole;
		p->min_samples_leaf = (int) x;
	}
	else if (strcmp(key, "early_stopping_rounds") == 0)
	{
		if (!WHOLE(0, 10000))
			goto bad_whole;
		p->early_stopping_rounds = (int) x;
	}
	else if (strcmp(key, "learning_rate") == 0)
	{
		if (!(x > 0 && x <= 1))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("hyperparameter \"learning_rate\" must be greater than 0 and at most 1")));
		p->learning_rate = x;
	}
	else if (strcmp(key, "l2") == 0)
	{
		if (!(x >= 0) || isinf(x))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("hyperparameter \"l2\" must be a finite number greater than or equal to 0")));
		p->l2 = x;
	}
	else if (strcmp(key, "subsample") == 0 || strcmp(key, "colsample") == 0)
	{
		if (!(x > 0 && x <= 1))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("hyperparameter \"%s\" must be greater than 0 and at most 1", key)));
		if (key[0] == 's')
			p->subsample = x;
		else
			p->colsample = x;
	}
	else
	{
		if (!(x > 0 && x < 1))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("hyperparameter \"validation_fraction\" must be between 0 and 1")));
		p->validation_fraction = x;
	}
	return true;

bad_whole:
	{
		const char *range = strcmp(key, "n_trees") == 0 ? "1 to 10000" :
			strcmp(key, "early_stopping_rounds") == 0 ? "0 (off) to 10000" :
			strcmp(key, "max_depth") == 0 ? "1 to 16" :
			strcmp(key, "max_bins") == 0 ? "2 to 255" : "1 to 1000000";

		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("hyperparameter \"%s\" must be a whole number from %s", key, range)));
	}
	return false;
#undef WHOLE
}

/* the defaults (documented in docs/training.md), then the given keys */
static void
trees_parse_hyperparams(TrainArgs *a)
{
	GbtParams  *p = palloc0(sizeof(GbtParams));

	p->n_trees = 100;
	p->learning_rate = 0.1;
	p->max_depth = 6;
	p->max_bins = GBT_MAX_BINS;
	p->min_samples_leaf = 1;
	p->l2 = 1.0;
	p->subsample = 1.0;
	p->colsample = 1.0;
	p->early_stopping_rounds = 0;
	p->validation_fraction = 0.1;
	a->gbt = p;
	mlsys_parse_hyperparams(a, trees_hyperparam, false,
							"Algorithm \"boosted_trees\" takes \"n_trees\", \"learning_rate\", \"max_depth\", \"max_bins\", \"min_samples_leaf\", \"l2\", \"subsample\", \"colsample\", \"early_stopping_rounds\", \"validation_fraction\" and \"task\".");
	a->impute_given = false;
	a->scale_given = false;
}

static bool
trees_supports(MlTask task)
{
	return task != MLSYS_TASK_RECOMMENDER;
}

static const char *
trees_task_problem(const char *algorithm, const char *task)
{
	if (strcmp(task, "regression") != 0 && strcmp(task, "binary") != 0 &&
		strcmp(task, "multiclass") != 0)
		return "must be \"regression\", \"binary\" or \"multiclass\" for algorithm \"boosted_trees\"";
	return NULL;
}

/* the real check runs once the rows are counted (gbt_train.c) */
static double
trees_memory_estimate(const TrainArgs *a, int nfeat)
{
	return 0;
}

static void
trees_load(bytea *blob, LoadedModel *out)
{
	TreeEnsemble *e = trees_deserialize(blob);

	out->kind = MODEL_TREES;
	out->nfeat = e->nfeat;
	out->nclasses = e->task == TREES_TASK_REGRESSION ? 0 :
		e->task == TREES_TASK_BINARY ? 2 : e->ngroup;
	out->threshold = e->threshold;
	out->model = e;
}

static void
trees_explain(const LoadedModel *m, const double *x, const double *mean, double *contrib)
{
	trees_shap((const TreeEnsemble *) m->model, x, contrib);
}

/* trees have no coefficients: mlsys.features lists the features without one */
static bool
trees_feature_weight(const LoadedModel *m, int k, int j, double *value)
{
	return false;
}

/* each feature's total split gain */
static bool
trees_feature_gain(const LoadedModel *m, double *gain)
{
	const TreeEnsemble *e = (const TreeEnsemble *) m->model;
	int			i;

	memset(gain, 0, sizeof(double) * e->nfeat);
	for (i = 0; i < e->nnodes; i++)
		if (e->nodes[i].feature >= 0)
			gain[e->nodes[i].feature] += e->nodes[i].gain;
	return true;
}

static const char *const trees_algorithms[] = {"boosted_trees", NULL};

const ModelFamily trees_family = {
	.name = "trees",
	.algorithms = trees_algorithms,
	.kinds = (const int[]) {MODEL_TREES, 0},
	.supports = trees_supports,
	.task_problem = trees_task_problem,
	.parse_hyperparams = trees_parse_hyperparams,
	.memory_estimate = trees_memory_estimate,
	.train = gbt_train,
	.cross_validate = gbt_cross_validate,
	.load = trees_load,
	.predict = trees_predict,
	.predict_proba = trees_predict_proba,
	.explain = trees_explain,
	.feature_weight = trees_feature_weight,
	.feature_gain = trees_feature_gain,
	.params_diff = trees_params_diff,
	.export_params = trees_export_params,
	.import_params = trees_import_params,
};
