/*
 * als_family.c — the ALS family's callbacks: explicit ("als_explicit") and
 * implicit ("als_implicit") matrix factorization recommenders. They are
 * trained by mlsys.train_recommender, not mlsys.train, and score users and
 * items (serve/recommend.c), not feature vectors: only the blob callbacks
 * are set.
 */
#include "postgres.h"

#include "models/als/als.h"

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
	.load = als_load,
};
