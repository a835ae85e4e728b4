/*
 * family.h — the model-family interface (models/), in the spirit of
 * PostgreSQL's IndexAmRoutine: one struct of callbacks per family, which the
 * training driver, the registry, the scoring cache, export and import call
 * without knowing one family from another. The table of families lives above
 * every family (registry/families.c).
 *
 * Also what the families share below them: the training arguments and
 * result, and the model blob's envelope with the linear predictor that the
 * linear and logistic families store (blob.c). The training toolkit the
 * families run their passes with is toolkit.h's.
 *
 * Vocabulary:
 *   family     a kind of model with its own training passes, blob layout and
 *              scoring (linear, logistic, trees, als);
 *   algorithm  a name mlsys.train takes (linear, ridge, logistic, ...); each
 *              belongs to exactly one family;
 *   task       what a version predicts: regression, binary, multiclass, or
 *              recommendations.
 */
#ifndef MLSYS_FAMILY_H
#define MLSYS_FAMILY_H

#include "data/data.h"
#include "metrics/metrics.h"

struct Tuplestorestate;

/* training arguments: mlsys.train and mlsys.cross_validate (train/train.c) */
typedef struct TrainArgs
{
	char	   *model;			/* NULL for cross-validation */
	Oid			relid;
	char	   *relsql;			/* quoted, schema-qualified relation name */
	char	   *relname;		/* schema.relation, for messages */
	char	   *target;
	ArrayType  *features;		/* NULL: every column but the target */
	char	   *algorithm;
	const struct ModelFamily *family;	/* the family of the algorithm */
	double		alpha;			/* ridge penalty; 0 for linear */
	char	   *hyperparams;	/* normalized, as JSON text */
	double		test_size;
	int32		seed;
	char	   *deploy;
	Jsonb	   *hp;				/* hyperparams as given */
	Oid			target_type;	/* base type of the target column */
	bool		classification; /* the version is a classifier */
	const char *task;			/* the "task" hyperparameter: regression, binary,
								 * multiclass; NULL: inferred from the target */
	/* logistic: */
	int			max_iter;
	double		tol;
	bool		balanced;		/* class_weight "balanced" */
	double		threshold;
	char	   *positive_class; /* label text, NULL: the second class */
	/* preprocessing */
	char	   *impute;			/* mean, median, zero, error */
	bool		impute_given;
	bool		scale;			/* logistic: standardize numeric features */
	bool		scale_given;
	/* boosted trees (models/trees/) */
	struct GbtParams *gbt;
} TrainArgs;

/* what a training produced, for registration */
typedef struct TrainResult
{
	TimestampTz started;
	const char *task;			/* regression, binary, ... */
	FeatureSpec *spec;
	char	   *metrics;		/* JSON text */
	char	   *profile;		/* JSON text */
	char	   *baseline;		/* the drift baseline (JSON text), NULL: not gathered */
	int64		train_rows;
	int64		test_rows;
	uint64		fingerprint;	/* Σ row hash */
	bytea	   *params;
	char	  **classes;		/* classifiers: labels in class order */
	int			nclasses;
	double	   *cuts;			/* classifiers: the stratified holdout's cut per class */
	int64	   *class_rows;		/* classifiers: rows per class (both splits) */
	int64	   *class_holdout;	/* classifiers: rows per class in the holdout */
	double	   *explain_sample; /* a bounded sample of training feature vectors
								 * (explain_rows × nfeat), or NULL */
	int			explain_rows;
	Datum		version;		/* set by mlsys_register_version */
	Datum		deployed;
} TrainResult;


/* the blob's kind tag (blob.c); each family owns one or more */
typedef enum ModelKind
{
	MODEL_LINEAR = 1,
	MODEL_LOGISTIC = 2,
	MODEL_ALS = 3,
	MODEL_SOFTMAX = 4,
	MODEL_TREES = 5
} ModelKind;

typedef enum MlTask
{
	MLSYS_TASK_REGRESSION,
	MLSYS_TASK_BINARY,
	MLSYS_TASK_MULTICLASS,
	MLSYS_TASK_RECOMMENDER
} MlTask;

/*
 * A loaded version as the scoring cache keeps it: the family's model (from
 * its load callback) and what scoring needs around it.
 */
typedef struct LoadedModel
{
	const struct ModelFamily *family;
	ModelKind	kind;			/* the blob's kind */
	int			nfeat;			/* features a vector must have (0: not feature-based) */
	int			nclasses;		/* classes of a classifier (0: none) */
	double		threshold;		/* binary: positive when probability >= it */
	void	   *model;			/* the family's own parameters */
} LoadedModel;

/* what a family's "parameters" in the model document go with */
typedef struct ParamsSpec
{
	const char *algorithm;
	const char *task;
	int			nfeat;			/* expanded features (distinct names) */
	char	  **names;
	int			nclasses;		/* classifiers: labels in class order (NULL: a null label) */
	char	  **classes;
} ParamsSpec;

/* the callbacks of a model family (see the file comment) */
typedef struct ModelFamily
{
	const char *name;
	const char *const *algorithms;	/* names it answers to, NULL-terminated */
	const int  *kinds;			/* the ModelKinds of its blobs, 0-terminated */
	bool		(*supports) (MlTask task);
	/* why a version of this algorithm cannot have this task (NULL: it can) */
	const char *(*task_problem) (const char *algorithm, const char *task);

	/* training (SPI connected, in the training's memory context) */
	void		(*parse_hyperparams) (TrainArgs *a);	/* defaults; 22023 on bad keys */
	double		(*memory_estimate) (const TrainArgs *a, int nfeat);	/* bytes */
	void		(*train) (TrainArgs *a, TrainResult *r);
	void		(*cross_validate) (TrainArgs *a, int folds, struct Tuplestorestate *store,
								   TupleDesc desc);

	/* the blob: verify and parse into the current memory context */
	void		(*load) (bytea *blob, LoadedModel *out);

	/* scoring one feature vector of nfeat values */
	double		(*predict) (const LoadedModel *m, const double *x);	/* value or P(positive) */
	void		(*predict_proba) (const LoadedModel *m, const double *x, double *prob);
	/*
	 * mlsys.explain: each feature's contribution to each raw output (the
	 * value, the positive class's log-odds, or each class's margin) for x.
	 * contrib is nout × (nfeat + 1), nout = 1 or the class count K for
	 * multiclass, the last value of each row the bias; the rows sum to the
	 * outputs. mean is the training split's mean of each feature (from the
	 * version's profile; NULL when it has none).
	 */
	void		(*explain) (const LoadedModel *m, const double *x, const double *mean,
							double *contrib);
	/* mlsys.feature_importance: each feature's total split gain (NULL: none) */
	bool		(*feature_gain) (const LoadedModel *m, double *gain);
	/* mlsys.reproduce: the largest difference between two blobs' parameters */
	double		(*params_diff) (bytea *a, bytea *b);

	/* mlsys.features: the value of feature j (-1: the intercept) for class k */
	bool		(*feature_weight) (const LoadedModel *m, int k, int j, double *value);

	/* the model document's "parameters" (common/jsondoc.c reads and writes them) */
	void		(*export_params) (StringInfo buf, bytea *blob, const ParamsSpec *spec);
	bytea	   *(*import_params) (JsonbContainer *params, const ParamsSpec *spec);
} ModelFamily;

/* passes.c: the "task" hyperparameter (NULL when not given; 22023 when not valid) */
extern const char *mlsys_task_hyperparam(Jsonb *hp);
/* passes.c: does the target hold classes (labels, or at most 20 distinct integers)? */
extern bool mlsys_target_has_classes(const TrainArgs *a);

/* blob.c: the blob's envelope (header, checksum) and the linear predictor */
#define MODEL_HEADER_SIZE 16
extern bytea *model_new_blob(uint32 payload_len, char **payload);
extern void model_seal(bytea *blob, ModelKind kind);
extern ModelKind model_open(bytea *blob, const char **payload, uint32 *payload_len);
extern ModelKind model_blob_kind(bytea *blob);
extern void model_corrupted(const char *detail) mlsys_noreturn;

/*
 * A linear predictor η = intercept + coef · z, z = x (linear) or the
 * standardized x (logistic: probability = σ(η)).
 */
typedef struct LinearModel
{
	ModelKind	kind;
	int			nfeat;
	double		intercept;
	double	   *coef;			/* nfeat values */
	double	   *center;			/* logistic: nfeat values */
	double	   *scale;			/* logistic: nfeat values */
	double	   *inv_scale;		/* logistic: 1 / scale */
	double		threshold;		/* logistic: positive when probability >= it */
	/* multinomial (MODEL_SOFTMAX): coef/intercept unused */
	int			nclass_out;		/* K */
	double	   *multi;			/* K × (nfeat + 1): per class the intercept, then weights */
} LinearModel;

extern bytea *model_serialize_linear(const double *coef_with_intercept, int nfeat);
extern bytea *model_serialize_logistic(const double *w, const double *center,
									   const double *scale, int nfeat, double threshold);
extern bytea *model_serialize_softmax(const double *theta, const double *center,
									  const double *scale, int nfeat, int nclass);
extern LinearModel *model_deserialize_linear(bytea *blob);

/* linear_document.c: the linear predictor's "parameters", for both families */
extern void linear_export_params(StringInfo buf, bytea *blob, const ParamsSpec *spec);
extern bytea *linear_import_params(JsonbContainer *params, const ParamsSpec *spec);

#endif							/* MLSYS_FAMILY_H */
