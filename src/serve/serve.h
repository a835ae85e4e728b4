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
/* how many roles a cached private model remembers as allowed */
#define MLSYS_ACCESS_ROLES 4

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
	/* online logging (its settings log_sample and log_entity) */
	double		log_sample;		/* fraction of calls logged, 0 = off */
	char	   *log_entity;		/* column or jsonb key of the entity, or NULL */
	bool		entity_warned;	/* warned once that the entity is missing */
	uint32		log_calls;		/* calls since the last record this backend appended */
	uint32		log_dropped;	/* sampled calls dropped since then */
	/* a private model: the roles found allowed, until grants or roles change */
	bool		private_model;
	int			naccess;
	Oid			access_roles[MLSYS_ACCESS_ROLES];
	uint64		access_generation;
	/* read from mlsys_replica on a Citus worker: the copy's row it was loaded from */
	bool		replica;
	char	   *replica_settings;	/* md5 of the model's settings */
	int64		replica_deployment; /* the live deployment's id */
	uint32		replica_lxid;	/* checked in this transaction's ... */
	TimestampTz replica_stmt;	/* ... statement */
} CachedModel;

extern bool mlsys_cache_access_known(const CachedModel *m);

/* replica.c: models read from mlsys_replica on a Citus worker */
extern bool mlsys_replica_row(Datum name_text, char **settings, int64 *deployment);
extern bool mlsys_replica_fresh(CachedModel *m);
extern const char *mlsys_replica_rel(const char *table);

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

/*
 * online_log.c: sampled online logging. A record's payload is an
 * OnlineRecord, then (impressions) int64 items and float8 scores, then the
 * model name, entity, label and features JSON text (not terminated).
 */
typedef enum OnlineRecordKind
{
	ONLINE_PREDICTION = 1,
	ONLINE_IMPRESSION = 2
} OnlineRecordKind;

#define ONLINE_HAS_PREDICTION	0x01
#define ONLINE_HAS_PROBABILITY	0x02
#define ONLINE_HAS_ENTITY		0x04	/* entity text, or the impression's user */
#define ONLINE_HAS_LABEL		0x08
#define ONLINE_HAS_FEATURES		0x10

typedef struct OnlineRecord
{
	uint16		kind;
	uint16		flags;
	int32		version;
	Oid			roleid;			/* the role that scored */
	int32		nitems;			/* impressions: items shown */
	TimestampTz at;
	double		prediction;
	double		probability;
	int64		user_id;		/* impressions */
	uint32		calls;			/* the backend's calls it stands for (itself included) */
	uint32		dropped;		/* sampled calls dropped before it */
	uint32		model_len;
	uint32		entity_len;
	uint32		label_len;
	uint32		features_len;
	uint32		pad;
} OnlineRecord;

typedef struct OnlineRecordView
{
	OnlineRecord rec;
	const int64 *items;
	const double *scores;
	const char *model;			/* not terminated: rec's lengths */
	const char *entity;
	const char *label;
	const char *features;
} OnlineRecordView;

extern bool online_log_sampled(CachedModel *m);
extern void online_log_prediction(CachedModel *m, const char *entity, double prediction,
								  const char *label, double probability, const char *features);
extern void online_log_impression(CachedModel *m, bool has_user, int64 user,
								  const int64 *items, const double *scores, int n);
extern void online_log_json_datum(StringInfo js, Datum d, bool isnull, Oid basetype, Oid typid,
								  Oid outfunc, const char *name);
extern char *online_log_jsonb_text(JsonbValue *v, bool quoted);
extern void online_log_entity_missing(CachedModel *m, const char *where);
extern void online_log_jsonb(CachedModel *m, Jsonb *jb, StringInfo js, char **entity);
extern void online_log_array(const CachedModel *m, const double *x, StringInfo js);
extern bool online_record_decode(const char *payload, Size len, OnlineRecordView *v);

/* recommend.c */
extern CachedModel *recommender_lookup(const char *name);
extern void recommender_check_k(const AlsModel *m, int k);

/* recommend_batch.c: precomputed lists */
extern int	recommend_precomputed(CachedModel *cm, int64 user, int k, int64 *item_ids, float8 *scores);

#endif							/* MLSYS_SERVE_H */
