/*
 * logistic_family.c — the logistic family's callbacks: binary and multinomial
 * logistic regression ("logistic"). Training is classify.c's (binary, and
 * the class discovery that hands more than two classes to multiclass.c).
 */
#include "postgres.h"

#include <math.h>

#include "utils/builtins.h"
#include "utils/fmgrprotos.h"

#include "models/logistic/logistic.h"

/* the logistic keys; the preprocessing keys are the toolkit's */
static bool
logistic_hyperparam(TrainArgs *a, const char *key, JsonbValue *v)
{
	if (strcmp(key, "alpha") == 0)
	{
		a->alpha = mlsys_hyperparam_number(v, key);
		if (!(a->alpha > 0.0) || isinf(a->alpha))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("hyperparameter \"alpha\" must be a finite number greater than 0")));
	}
	else if (strcmp(key, "max_iter") == 0)
	{
		double		n = mlsys_hyperparam_number(v, key);

		if (!(n >= 1 && n <= 10000) || n != floor(n))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("hyperparameter \"max_iter\" must be a whole number from 1 to 10000")));
		a->max_iter = (int) n;
	}
	else if (strcmp(key, "tol") == 0)
	{
		a->tol = mlsys_hyperparam_number(v, key);
		if (!(a->tol > 0) || isinf(a->tol))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("hyperparameter \"tol\" must be a positive number")));
	}
	else if (strcmp(key, "threshold") == 0)
	{
		a->threshold = mlsys_hyperparam_number(v, key);
		if (!(a->threshold > 0 && a->threshold < 1))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("hyperparameter \"threshold\" must be between 0 and 1")));
	}
	else if (strcmp(key, "class_weight") == 0)
	{
		if (v->type == jbvNull)
			a->balanced = false;
		else if (v->type == jbvString && v->val.string.len == 8 &&
				 strncmp(v->val.string.val, "balanced", 8) == 0)
			a->balanced = true;
		else
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("hyperparameter \"class_weight\" must be \"balanced\" or null")));
	}
	else if (strcmp(key, "positive_class") == 0)
	{
		if (v->type == jbvString)
			a->positive_class = pnstrdup(v->val.string.val, v->val.string.len);
		else if (v->type == jbvNumeric)
			a->positive_class = DatumGetCString(DirectFunctionCall1(numeric_out,
																	NumericGetDatum(v->val.numeric)));
		else if (v->type == jbvBool)
			a->positive_class = v->val.boolean ? "true" : "false";
		else
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("hyperparameter \"positive_class\" must be a class label")));
	}
	else
		return false;
	return true;
}

/* defaults; the normalized JSON is built after fitting (alpha depends on the rows) */
static void
logistic_parse_hyperparams(TrainArgs *a)
{
	a->alpha = -1.0;			/* 1 / n_train */
	a->max_iter = 100;
	a->tol = 1e-6;
	a->balanced = false;
	a->threshold = 0.5;
	a->positive_class = NULL;
	mlsys_parse_hyperparams(a, logistic_hyperparam, true,
							"Algorithm \"logistic\" takes \"alpha\", \"max_iter\", \"tol\", \"class_weight\", \"threshold\", \"positive_class\", \"impute\" and \"scale\".");
}

/* logistic versions are binary or multiclass classifiers */
static const char *
logistic_task_problem(const char *algorithm, const char *task)
{
	if (strcmp(task, "binary") != 0 && strcmp(task, "multiclass") != 0)
		return "must be \"binary\" or \"multiclass\" for algorithm \"logistic\"";
	return NULL;
}

static bool
logistic_supports(MlTask task)
{
	return task == MLSYS_TASK_BINARY || task == MLSYS_TASK_MULTICLASS;
}

/* verify and parse a linear-predictor blob (the cache checks its kind) */
static void
logistic_load(bytea *blob, LoadedModel *out)
{
	LinearModel *lm = model_deserialize_linear(blob);

	out->kind = lm->kind;
	out->nfeat = lm->nfeat;
	out->nclasses = lm->kind == MODEL_SOFTMAX ? lm->nclass_out : 2;
	out->threshold = lm->threshold;
	out->model = lm;
}

/* binary: the probability of the positive class */
static double
logistic_predict(const LoadedModel *m, const double *x)
{
	return logreg_model_proba((const LinearModel *) m->model, x);
}

/* every class's probability, in class order */
static void
logistic_predict_proba(const LoadedModel *m, const double *x, double *prob)
{
	const LinearModel *lm = (const LinearModel *) m->model;

	if (lm->kind == MODEL_SOFTMAX)
		softmax_model_proba(lm, x, prob);
	else
	{
		prob[1] = logreg_model_proba(lm, x);
		prob[0] = 1.0 - prob[1];
	}
}

/*
 * mlsys.explain, in the link space: with z_j = (x_j − center_j) / scale_j the
 * standardized feature, a class's margin is θ_0 + Σ θ_j z_j; feature j
 * contributes θ_j (x_j − μ_j) / scale_j, μ the training mean (the center
 * without a profile), and the bias θ_0 + Σ θ_j (μ_j − center_j) / scale_j
 * is the margin at the mean. Binary: the positive class's log-odds;
 * multinomial: each class's margin θ_k · z, one row of nfeat + 1 per class.
 */
static void
logistic_explain(const LoadedModel *m, const double *x, const double *mean, double *contrib)
{
	const LinearModel *lm = (const LinearModel *) m->model;
	int			p = lm->nfeat,
				K = lm->kind == MODEL_SOFTMAX ? lm->nclass_out : 1,
				j,
				k;

	for (k = 0; k < K; k++)
	{
		const double *w = lm->kind == MODEL_SOFTMAX ? lm->multi + (Size) k * (p + 1) + 1 : lm->coef;
		double		bias = lm->kind == MODEL_SOFTMAX ? w[-1] : lm->intercept;
		double	   *out = contrib + (Size) k * (p + 1);

		for (j = 0; j < p; j++)
		{
			double		mu = mean != NULL ? mean[j] : lm->center[j];

			out[j] = w[j] * (x[j] - mu) * lm->inv_scale[j];
			bias += w[j] * (mu - lm->center[j]) * lm->inv_scale[j];
		}
		out[p] = bias;
	}
}

/* the intercept (j = -1) or weight of feature j, for class k (multinomial) */
static bool
logistic_feature_weight(const LoadedModel *m, int k, int j, double *value)
{
	const LinearModel *lm = (const LinearModel *) m->model;

	if (lm->kind == MODEL_SOFTMAX)
	{
		if (k < 0 || k >= lm->nclass_out)
			return false;
		*value = lm->multi[(Size) k * (lm->nfeat + 1) + j + 1];
		return true;
	}
	if (k != 0)
		return false;
	*value = j < 0 ? lm->intercept : lm->coef[j];
	return true;
}

static const char *const logistic_algorithms[] = {"logistic", NULL};

const ModelFamily logistic_family = {
	.name = "logistic",
	.algorithms = logistic_algorithms,
	.kinds = (const int[]) {MODEL_LOGISTIC, MODEL_SOFTMAX, 0},
	.supports = logistic_supports,
	.task_problem = logistic_task_problem,
	.parse_hyperparams = logistic_parse_hyperparams,
	.memory_estimate = mlsys_stats_memory_estimate,
	.train = train_classifier,
	.cross_validate = cv_classifier,
	.load = logistic_load,
	.predict = logistic_predict,
	.predict_proba = logistic_predict_proba,
	.explain = logistic_explain,
	.feature_weight = logistic_feature_weight,
	.export_params = linear_export_params,
	.import_params = linear_import_params,
};
