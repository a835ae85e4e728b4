/*
 * mlsys.h — declarations shared by the files of src/.
 *
 * Vocabulary used throughout:
 *   feature vector  the float8 values a model sees for one row, in model order
 *                   (scalar columns give one value, a fixed-length float8[]
 *                   column gives one value per element);
 *   model version   one row of mlsys.model_versions: a trained, immutable model;
 *   live version    the version named by the model's newest mlsys.deployments row.
 */
#ifndef MLSYS_H
#define MLSYS_H

#include "postgres.h"
#include "fmgr.h"
#include "access/tupdesc.h"
#include "lib/stringinfo.h"
#include "utils/array.h"
#include "utils/jsonb.h"
#include "utils/timestamp.h"

/* the most features a model may have (guards every allocation sized by p) */
#define MLSYS_MAX_FEATURES 4096

/* mlsys.c */
extern bool mlsys_capture_baseline_on_train;
extern int	mlsys_model_cache_kb;
extern ArrayType *mlsys_float8_array(const double *values, int n);
extern MemoryContext mlsys_agg_context(FunctionCallInfo fcinfo, const char *fname);
extern bool mlsys_agg_args_stable(FunctionCallInfo fcinfo, int first, int last);
extern bool mlsys_state_is_known(FunctionCallInfo fcinfo);

/*
 * Is this row's state (argument 0) the one a transition function remembered
 * (in its own call-site cache; mlsys_state_is_known keeps it in fn_extra)?
 */
static inline bool
mlsys_state_is(FunctionCallInfo fcinfo, const void *known)
{
	return known != NULL && !PG_ARGISNULL(0) && PG_GETARG_POINTER(0) == known;
}
extern void mlsys_state_remember(FunctionCallInfo fcinfo, void *state);
extern void mlsys_check_training_memory(double bytes, const char *what);
extern void mlsys_check_pass_args(FunctionCallInfo fcinfo, bool by_fold);
extern bool mlsys_combine_trivial(FunctionCallInfo fcinfo, Datum *result);
extern void mlsys_return_one_row(FunctionCallInfo fcinfo, Datum *values, bool *nulls);
extern struct Tuplestorestate *mlsys_begin_rows(FunctionCallInfo fcinfo, TupleDesc *desc);

/* blas_load.c: BLAS and LAPACK, from the module mlsys_blas (src/blas/) on first use */
extern void mlsys_syrk_upper(double *C, int m, const double *A, int rows);
extern void mlsys_syr_upper(double *C, int m, double alpha, const double *x);
extern int	mlsys_cholesky_solve(double *A, int n, double *b, double *rcond);
extern void mlsys_cholesky_resolve(const double *A, int n, double *b);
extern double mlsys_dot(const double *a, const double *b, int n);
extern int	mlsys_pinv_solve(double *A, int n, double *b, double rel_tol);
extern void mlsys_gram(double *G, int m, const double *A, int rows, double beta);
extern void mlsys_gemv_t(const double *A, int rows, int cols, const double *y, double *out);
extern void mlsys_gemm_tn(double *C, int m, int n, const double *A, int lda, const double *B, int ldb, int rows);
extern int	mlsys_posv(double *A, int n, double *b);
extern void mlsys_sgemv(const float *A, int rows, int cols, const float *x, float *y);

/* split.c: content hash of a row; the holdout decision (inline, per row) */
extern uint64 mlsys_row_hash(const char *x, int p, double y, bool *finite);
extern uint64 mlsys_row_hash_unchecked(const char *x, int p, double y);

/* MurmurHash3's 64-bit finalizer */
static inline uint64
mlsys_mix64(uint64 h)
{
	h ^= h >> 33;
	h *= UINT64CONST(0xff51afd7ed558ccd);
	h ^= h >> 33;
	h *= UINT64CONST(0xc4ceb9fe1a85ec53);
	h ^= h >> 33;
	return h;
}

/* the per-split key of a seed: mix64(seed + φ) */
static inline uint64
mlsys_split_key(int64 seed)
{
	return mlsys_mix64((uint64) seed + UINT64CONST(0x9E3779B97F4A7C15));
}

/*
 * Is a row with this content hash in the holdout? u = (mix64(h XOR key) >> 11)
 * · 2⁻⁵³ is uniform in [0, 1); the row is held out when u < test_size.
 */
static inline double
mlsys_split_u(uint64 row_hash, uint64 split_key)
{
	return (double) (mlsys_mix64(row_hash ^ split_key) >> 11) * (1.0 / 9007199254740992.0);
}

static inline bool
mlsys_in_holdout(uint64 row_hash, uint64 split_key, double test_size)
{
	return mlsys_split_u(row_hash, split_key) < test_size;
}

/* cross-validation fold (1..folds) of a row: the same u cut in equal parts */
static inline int
mlsys_fold_of(uint64 row_hash, uint64 split_key, int folds)
{
	int			f = (int) (mlsys_split_u(row_hash, split_key) * folds);

	return Min(f, folds - 1) + 1;
}

/*
 * strata.c: a classifier's split is stratified. Its cuts are K × L values
 * (K classes, row-major; L = 1 for a holdout, folds − 1 for folds); a row of
 * class c is in stratum #{l : u ≥ cut[c][l]}: stratum 0 is the holdout, or
 * stratum s is fold s + 1. All cuts 0: no holdout, and no hashing needed.
 */
typedef struct StrataCuts
{
	const double *cuts;
	int			nclass;
	int			nlev;
} StrataCuts;

extern void mlsys_strata_view(ArrayType *cuts, int nclass, StrataCuts *out);

/* sample.c: a bounded uniform sample of the training rows */
extern int	mlsys_sample_rows(Datum d, bool isnull, int p, double **rows, int64 *seen);
extern void mlsys_sample_check_size(int size, int p);
extern Size mlsys_sample_size(int p, int cap);
extern void mlsys_sample_init(void *state, int p, int cap, int nclass, uint64 split_key,
							  double threshold);
extern double mlsys_sample_threshold_arg(FunctionCallInfo fcinfo, int argno);
extern void mlsys_sample_check(const void *state, int p, int cap);
extern void mlsys_sample_add(void *state, uint64 row_hash, double y, const char *x);
extern void mlsys_sample_merge(void *state_a, const void *state_b);
extern bool mlsys_sample_can_start(int nrows, bool complete, int params);
extern int	mlsys_sample_prefix_rows(int nrows, int params);
extern bool mlsys_sample_fit_usable(bool converged, double objective, double penalty,
									double weight_sum, int nrows);
extern int	mlsys_class_index(double y, int K);

static inline int
mlsys_stratum(const StrataCuts *sc, int c, double u)
{
	const double *cut = sc->cuts + (Size) c * sc->nlev;
	int			s = 0,
				l;

	for (l = 0; l < sc->nlev; l++)
		s += (u >= cut[l]);
	return s;
}

/* the stratum of a row of class c (its index y), hashed from its content */
static inline int
mlsys_row_stratum(const char *x, int p, double y, uint64 split_key, const StrataCuts *sc)
{
	int			c = (int) y;

	/* a holdout of nothing (test_size 0): every row trains, no hash needed */
	if (sc->nlev == 1 && sc->cuts[c] <= 0.0)
		return 1;
	return mlsys_stratum(sc, c, mlsys_split_u(mlsys_row_hash_unchecked(x, p, y), split_key));
}

/* linreg.c: least-squares sufficient statistics and solver */
typedef struct LinregState LinregState;
extern LinregState *linreg_state_from_datum(Datum d, bool copy);
extern bool linreg_state_carries_sample(const struct varlena *v);
extern Datum linreg_state_sample(const LinregState *s);
extern void linreg_state_finish(LinregState *s);
extern int	linreg_state_nfeat(const LinregState *s);
extern int64 linreg_state_rows(const LinregState *s);
extern void linreg_state_split_counts(const LinregState *s, int64 *seen, int64 *holdout,
									  uint64 *fingerprint);
extern void linreg_state_column_stats(const LinregState *s, int j, double *mean,
									  double *stddev, double *minv, double *maxv);
extern void linreg_solve(LinregState *s, double alpha, double *coef,
						 const char *const *names);
extern void linreg_state_merge(LinregState *a, const LinregState *b);
extern bool linreg_try_solve(LinregState *s, double alpha, double *coef);
extern void linreg_solve_min_norm(LinregState *s, double alpha, double *coef,
								  const char *const *names);
extern void mlsys_check_finite_vector(const double *x, int n, const char *const *names);
extern void mlsys_reject_missing_row(Datum x, bool xnull, ArrayType *names);
extern void mlsys_check_finite_row(const double *x, int n, bool with_y, ArrayType *names);
extern char *mlsys_feature_subject(ArrayType *names, int j);
extern char *mlsys_feature_subject_c(const char *const *names, int j);

/* metrics.c: regression metrics state shared with the evaluation pass */
extern void regmetrics_add(double *st, double pred, double y);
extern double *regmetrics_state(ArrayType *a);
extern void metrics_check_finite(double v, const char *what);
typedef struct BinaryHoldout
{
	double		n,
				tp,
				fp,
				fn,
				log_loss,
				auc;
} BinaryHoldout;
extern void *mlsys_auc_add(void *state, bool checked, double score, bool label);
extern void mlsys_binary_holdout_metrics(Datum state, bool isnull, double threshold, BinaryHoldout *out);

/* newton.c: damped Newton over passes that return summed loss, gradient, Hessian */
typedef struct NewtonPass
{
	double		n;				/* rows */
	double		loss;			/* Σ loss */
	const double *grad;			/* Σ gradient, D values */
	const double *hess;			/* Σ Hessian, D × D, upper triangle row-major */
	bool		deferred;		/* not run yet: the fit stops and returns −1 */
} NewtonPass;
typedef bool (*NewtonPassFn) (const double *prm, void *arg, NewtonPass *out);
/* the third derivative of the mean loss at prm applied twice to step (D values), estimated */
typedef bool (*NewtonThirdFn) (const double *prm, const double *step, void *arg, double *out);
extern int	mlsys_newton_fit(double *prm, int D, const bool *penalized, const double *null_dir,
							 double alpha, int max_iter, double tol, bool strict,
							 NewtonPassFn run_pass, void *arg, bool *converged,
							 double *final_objective, NewtonThirdFn third, void *third_arg);
extern void mlsys_warn_not_converged(int passes, double tol);

/* model.c: the serialized parameter blob */
typedef enum ModelKind
{
	MODEL_LINEAR = 1,
	MODEL_LOGISTIC = 2,
	MODEL_ALS = 3,				/* recommender.h: AlsModel */
	MODEL_SOFTMAX = 4
} ModelKind;

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

/* softmax.c: multinomial logistic regression */
typedef struct SoftmaxState SoftmaxState;
extern SoftmaxState *softmax_state_from_datum(Datum d);
extern void softmax_newton_pass(const SoftmaxState *s, double *hess_out, NewtonPass *out);
extern SoftmaxState *softmax_sample_pass(const double *prm, int p, int K, const double *rows, int nrows);
extern bool softmax_sample_third(const double *prm, const double *step, int p, int K,
								 const double *rows, int nrows, double *out);
extern int	softmax_state_classes(const SoftmaxState *s);
extern int	softmax_params_classes(ArrayType *params, int p);
extern Size softmax_state_bytes(int p, int K);
extern double *softmax_call_buffer(FunctionCallInfo fcinfo, int n);
extern int	softmax_predict_row(const double *prm, int p, int K, const char *x, double *zt, double *prob);

/* multiclass_eval.c: the evaluation pass of a multinomial model */
typedef struct MulticlassMetrics
{
	double		n;
	double		accuracy;
	double		macro_f1;
	double		log_loss;
} MulticlassMetrics;
extern void mlsys_multiclass_holdout_metrics(Datum state, bool isnull, MulticlassMetrics *out);
extern void softmax_model_proba(const LinearModel *lm, const double *x, double *prob);

/* logreg.c: binary logistic regression */
typedef struct LogregState LogregState;
extern double logreg_model_proba(const LinearModel *lm, const double *x);
/* logreg_folds.c: every fold's Newton pass of a cross-validation in one scan */
#define LOGREG_MAX_JOINT_FOLDS 20
extern LogregState *logreg_folds_state_fold(Datum d, int folds, int j);
extern LogregState *const logreg_deferred_pass;
extern int	logreg_fit(double *prm, int p, double alpha, int max_iter, double tol,
					   const double *sample, int nsample,
					   LogregState *(*run_pass) (const double *prm, void *arg), void *arg,
					   bool *converged, double *final_objective);
extern LogregState *logreg_state_from_datum(Datum d);
extern bool logreg_sample_start(double *prm, int p, double alpha, double tol,
								const double *rows, int nrows, bool complete);

/* features.c: training-side spec and scoring-side conversion */
typedef struct FeatureColumn
{
	char	   *name;			/* source column name */
	Oid			typid;			/* base type at training time */
	int			length;			/* 0: scalar; n: float8[] of n elements, or
								 * n one-hot features (categorical) */
	/* categorical columns (preprocess.c) */
	bool		categorical;
	int			ncat;			/* categories seen in training */
	char	  **cats;			/* their text forms, in byte order */
	bool		null_cat;		/* training saw NULLs: one more feature */
	/* scalar numeric columns: the value a missing one is replaced by */
	bool		has_impute;
	double		impute;
} FeatureColumn;

typedef struct FeatureSpec
{
	int			ncolumns;
	FeatureColumn *columns;
	int			nfeat;			/* expanded feature count */
	char	  **names;			/* expanded feature names, nfeat of them */
	const char *impute;			/* mean, median, zero or error */
} FeatureSpec;

extern FeatureSpec *features_from_catalog(Oid relid, const char *target, ArrayType *features);
extern FeatureSpec *features_from_arrays(ArrayType *columns, ArrayType *lengths, Jsonb *preprocessing);
extern void features_expand_names(FeatureSpec *spec);
extern bool *features_onehot_mask(const FeatureSpec *spec);

/* preprocess.c: one-hot encoding and imputation stored with a model */
extern bool preprocess_is_categorical_type(Oid typid);
extern void preprocess_resolve_categories(FeatureSpec *spec, const char *relsql, const char *target);
extern char *preprocess_category_text(Datum value, Oid basetype, Oid outfunc);
extern void preprocess_encode_category(const FeatureColumn *c, const char *value, double *out);
extern char *preprocess_category_name(const FeatureColumn *c, int k);
extern void preprocess_impute_from_data(FeatureSpec *spec, const char *relsql, const char *target);
extern void preprocess_impute_from_means(FeatureSpec *spec, const double *means,
										 const char *relsql, const char *target);
extern char *preprocess_json(const FeatureSpec *spec);
extern void preprocess_apply_json(FeatureSpec *spec, Jsonb *pp);
extern char *features_sql_vector(const FeatureSpec *spec);
extern double features_coerce(Datum value, Oid typid, const char *colname);
extern bool features_type_supported(Oid typid, bool *is_array);
extern void features_from_float8_array(const FeatureSpec *spec, Datum arr, double *out);
extern void features_resolve_lengths(FeatureSpec *spec, const char *relsql, const char *target);
extern void features_from_jsonb(const FeatureSpec *spec, Datum jsonb, double *out);
extern double features_missing_value(const FeatureColumn *c);

/* a float8[] datum read without copying: data may be unaligned, use memcpy */
typedef struct Float8ArrayView
{
	int			ndim;
	int			n;				/* number of elements */
	bool		hasnull;
	const char *data;			/* n float8 values (when !hasnull) */
} Float8ArrayView;

extern void mlsys_array_view(Datum d, Float8ArrayView *view);
extern void mlsys_array_copy(Datum d, double *out, int expected, const char *what);

/* train.c: training arguments and helpers shared with cv.c */
typedef struct TrainArgs
{
	char	   *model;			/* NULL for cross-validation */
	Oid			relid;
	char	   *relsql;			/* quoted, schema-qualified relation name */
	char	   *target;
	ArrayType  *features;		/* NULL: every column but the target */
	char	   *algorithm;
	double		alpha;			/* ridge penalty; 0 for linear */
	char	   *hyperparams;	/* normalized, as JSON text */
	double		test_size;
	int32		seed;
	char	   *deploy;
	Jsonb	   *hp;				/* hyperparams as given */
	Oid			target_type;	/* base type of the target column */
	bool		classification; /* the algorithm is a classifier */
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
} TrainArgs;

extern void mlsys_training_source_args(FunctionCallInfo fcinfo, TrainArgs *a, int first);
extern FeatureSpec *mlsys_training_spec(const TrainArgs *a, char **xsql, char **ysql);
extern void mlsys_resolve_algorithm(TrainArgs *a);

/* what a training produced, for registration */
typedef struct TrainResult
{
	TimestampTz started;
	const char *task;			/* regression, binary, ... */
	FeatureSpec *spec;
	char	   *metrics;		/* JSON text */
	char	   *profile;		/* JSON text */
	int64		train_rows;
	int64		test_rows;
	uint64		fingerprint;	/* Σ row hash */
	bytea	   *params;
	char	  **classes;		/* classifiers: labels in class order */
	int			nclasses;
	double	   *cuts;			/* classifiers: the stratified holdout's cut per class */
	int64	   *class_rows;		/* classifiers: rows per class (both splits) */
	int64	   *class_holdout;	/* classifiers: rows per class in the holdout */
	Datum		version;		/* set by mlsys_register_version */
	Datum		deployed;
} TrainResult;

extern void mlsys_register_version(TrainArgs *a, TrainResult *r);
extern void mlsys_append_split_metrics(StringInfo buf, const TrainArgs *a, const TrainResult *r);
extern void mlsys_finish_training(FunctionCallInfo fcinfo, TrainArgs *a, TrainResult *r,
								  MemoryContext caller);
extern void mlsys_check_split(const TrainArgs *a, int64 seen, int64 train_rows, int64 holdout);
extern char *mlsys_build_profile(LinregState *s, const FeatureSpec *spec);
extern bool mlsys_spec_has_categorical(const FeatureSpec *spec);
extern void mlsys_append_preprocessing_params(const TrainArgs *a, StringInfo buf);
extern bool mlsys_try_first_pass(const FeatureSpec *spec, const char *sql, int nargs, Oid *types,
								 Datum *values);
extern void mlsys_impute_and_rebuild(const TrainArgs *a, FeatureSpec *spec, char **xsql);
extern void mlsys_impute_for_scoring(const TrainArgs *a, FeatureSpec *spec, LinregState *s);

/* cv.c: cross-validation helpers shared with classify.c (SPI connected) */
typedef struct TrainSample TrainSample;
extern LinregState **mlsys_fold_states(const TrainArgs *a, FeatureSpec *spec,
									   char **xsql, const char *ysql, int folds,
									   bool reject_null_labels, const double *cuts, int ncuts,
									   int nclass, TrainSample *samples);
extern LinregState *mlsys_merge_other_folds(LinregState **states, int folds, int k);
extern int	mlsys_fold_grouping_begin(void);
extern void mlsys_fold_grouping_end(int level);
extern void mlsys_other_folds_sample(const TrainSample *samples, int folds, int k, int p,
									 TrainSample *out);

/* classify.c: mlsys.train for classifiers (SPI connected) */
#define MLSYS_MAX_CLASSES 100

/*
 * A Newton pass query over the labelled rows: (y, x, seed, test_size, params)
 * or, by fold, (y, x, seed, folds, fold, params); the parameter vector is the
 * last argument, set before each pass (and args[2] the fold, by fold).
 */
typedef struct PassQuery
{
	const char *sql;
	int			nargs;
	Oid			types[5];
	Datum		args[5];
	MemoryContext cxt;			/* where a pass's result is copied */
} PassQuery;

extern void mlsys_pass_query(PassQuery *q, const TrainArgs *a, const char *aggregate,
							 const char *xsql, const char *ysql, int folds,
							 const double *cuts, int ncuts);
extern double *mlsys_strata_split(const TrainArgs *a, FeatureSpec *spec, char **xsql,
								  const char *ysql, int K, int folds, int64 *class_rows,
								  int64 *below);
extern void train_classifier(TrainArgs *a, TrainResult *r);
/* a sample of the training rows, collected by the first pass (sample.c) */
struct TrainSample
{
	int			size;			/* at most this many rows */
	int			nrows;			/* rows collected */
	int64		seen;			/* training rows offered (complete when equal) */
	double	   *rows;			/* nrows × (y, x_1 .. x_p) */
};
extern int	classifier_sample_size(int p, int params);
extern LinregState *classifier_first_pass(TrainArgs *a, FeatureSpec *spec, char **xsql,
										  const char *ysql, TrainResult *r, TrainSample *sample);
extern void classifier_standardization(const TrainArgs *a, const FeatureSpec *spec,
									   LinregState *stats, double *center, double *scale);

/* multiclass.c: mlsys.train and cross-validation for more than two classes */
extern void train_multiclass(TrainArgs *a, TrainResult *r, FeatureSpec *spec, char *xsql,
							 const char *ysql);
extern void cv_multiclass(TrainArgs *a, int folds, FeatureSpec *spec, char *xsql, const char *ysql,
						  char **classes, int nclasses, struct Tuplestorestate *store,
						  TupleDesc tupdesc);
extern void cv_classifier(TrainArgs *a, int folds, struct Tuplestorestate *store, TupleDesc tupdesc);
extern char *mlsys_text_arg(FunctionCallInfo fcinfo, int argno, const char *what);
extern void mlsys_append_json_number(StringInfo buf, double v);
extern Datum mlsys_cstring_array(char **items, int n);
extern bool mlsys_spi_single_value(const char *sql, int nargs, Oid *types, Datum *values,
								   Datum *result);

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
	ModelKind	kind;
	FeatureSpec *spec;
	LinearModel *linear;
	/* classifiers */
	int			nclasses;
	char	  **classes;		/* labels in class order */
	int			positive;		/* index of the positive class (binary) */
	bool		numeric_labels; /* labels are booleans or integers */
	double	   *label_values;	/* their values as float8 (numeric_labels) */
	struct AlsModel *als;		/* recommenders (kind MODEL_ALS) */
} CachedModel;

extern void mlsys_cache_init(void);
extern CachedModel *mlsys_cache_get(const char *name, int32 version);
extern void mlsys_cache_pin(CachedModel *m);
extern void mlsys_cache_unpin(CachedModel *m);
extern uint64 mlsys_cache_generation(void);

#endif							/* MLSYS_H */
