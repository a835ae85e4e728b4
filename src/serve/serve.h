/*
 * serve.h — scoring (serve/): the backend-local model cache (cache.c), the
 * scoring entry points (scoring.c), explanations and feature importance
 * (explain.c), recommendations (recommend.c) and their precomputed lists
 * (recommend_batch.c).
 * Scoring is read-only and finds the live version wherever it runs: parallel
 * workers, hot standbys.
 */
#ifndef MLSYS_SERVE_H
#define MLSYS_SERVE_H

#include "registry/registry.h"
#include "models/als/als.h"

/* cache.c: backend-local model cache */
typedef struct CachedModel
{
	char		name[NAMEDATALEN];
	int32		requested;		/* 0 = live version */
	int32		version;		/* the version actually loaded */
	uint64		generation;
	uint64		last_used;		/* LRU clock value of its last lookup */
	Size		bytes;			/* memory it holds (its context), for the cache limit */
	bool		latest;			/* loaded under the latest snapshot */
	uint32		lxid;			/* local transaction it was loaded in */
	int			pins;
	bool		detached;		/* replaced in the hash; freed at last unpin */
	MemoryContext cxt;
	LoadedModel loaded;			/* the family's model (load callback) */
	FeatureSpec *spec;
	LinearModel *linear;
	/* classifiers */
	int			nclasses;
	char	  **classes;		/* labels in class order */
	int			positive;		/* index of the positive class (binary) */
	bool		numeric_labels; /* labels are booleans or integers */
	double	   *label_values;	/* their values as float8 (numeric_labels) */
	struct AlsModel *als;		/* recommenders (kind MODEL_ALS) */
	bool		serve_precomputed;	/* live recommender with "serve": "precomputed" */
	Oid			recs_relid;		/* mlsys.recommendations and its primary key */
	Oid			recs_index;
} CachedModel;

extern CachedModel *mlsys_cache_get(const char *name, int32 version);
extern void mlsys_cache_pin(CachedModel *m);
extern void mlsys_cache_unpin(CachedModel *m);
extern uint64 mlsys_cache_generation(void);

/*
 * scoring.c: a scoring call site (the pinned model, the feature buffer),
 * shared with explain.c, which reads its features as mlsys.predict does
 */
typedef struct ScoreCall ScoreCall;
typedef enum ScoreInput
{
	SCORE_INPUT_ROW,
	SCORE_INPUT_ARRAY,
	SCORE_INPUT_JSONB
} ScoreInput;
extern ScoreCall *mlsys_score_call(FunctionCallInfo fcinfo, int version_arg);
extern const double *mlsys_score_call_read(ScoreCall *sc, FunctionCallInfo fcinfo, int argno,
										   ScoreInput input);
extern CachedModel *mlsys_score_call_cached(ScoreCall *sc);
extern void **mlsys_score_call_extra(ScoreCall *sc);

extern CachedModel *mlsys_feature_model_arg(FunctionCallInfo fcinfo);

/* recommend.c */
extern CachedModel *recommender_lookup(const char *name);
extern void recommender_check_k(const AlsModel *m, int k);

/* recommend_batch.c: precomputed lists */
extern int	recommend_precomputed(CachedModel *cm, int64 user, int k, int64 *item_ids, float8 *scores);

#endif							/* MLSYS_SERVE_H */
