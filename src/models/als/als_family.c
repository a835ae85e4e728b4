/*
 * als_family.c — the ALS family's callbacks: explicit ("als_explicit") and
 * implicit ("als_implicit") matrix factorization recommenders. They are
 * trained by mlsys.train_recommender, not mlsys.train, and score users and
 * items (serve/recommend.c), not feature vectors: only the blob callbacks
 * are set.
 */
#include "postgres.h"

#include "models/als/als.h"

/* an als_explicit version recommends from explicit ratings, an als_implicit one from implicit feedback */
static const char *
als_task_problem(const char *algorithm, const char *task)
{
	if (strcmp(task, strcmp(algorithm, "als_explicit") == 0 ?
			   "recommender_explicit" : "recommender_implicit") != 0)
		return psprintf("does not match the algorithm \"%s\"", algorithm);
	return NULL;
}

static bool
als_supports(MlTask task)
{
	return task == MLSYS_TASK_RECOMMENDER;
}

/* verify and parse a recommender's blob, with its serving scratch */
static void
als_load(bytea *blob, LoadedModel *out)
{
	AlsModel   *m = model_deserialize_als(blob);

	m->cxt = CurrentMemoryContext;
	als_model_prepare(m);
	out->kind = MODEL_ALS;
	out->nfeat = 0;
	out->model = m;
}

static const char *const als_algorithms[] = {"als_explicit", "als_implicit", NULL};

const ModelFamily als_family = {
	.name = "als",
	.algorithms = als_algorithms,
	.kinds = (const int[]) {MODEL_ALS, 0},
	.supports = als_supports,
	.task_problem = als_task_problem,
	.load = als_load,
	.export_params = als_export_params,
	.import_params = als_import_params,
};
