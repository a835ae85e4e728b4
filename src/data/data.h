/*
 * data.h — how mlsys reads training data (data/): the feature spec and its
 * preprocessing, the content-hashed split and stratified folds, the training
 * sample, and the first pass's sufficient statistics of the training split.
 * Nothing here knows a model family.
 */
#ifndef MLSYS_DATA_H
#define MLSYS_DATA_H

#include "common/common.h"

/* most categories a categorical column may have */
#define MLSYS_MAX_CATEGORIES 1000

/* features.c, preprocess.c: training-side spec and scoring-side conversion */
typedef struct CategoryIndex CategoryIndex; /* encode.c: a vocabulary's hash table */

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
	CategoryIndex *index;		/* cats by their bytes (encode.c) */
	char	   *baseline_profile;	/* training: the drift-baseline profile JSON
									 * gathered with the vocabulary, or NULL */
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
	const char *impute;			/* mean, median, zero, error, or missing */
	bool		keep_missing;	/* "missing": a missing value is NaN, which the
								 * model routes itself (boosted trees) */
} FeatureSpec;

extern FeatureSpec *features_from_catalog(Oid relid, const char *target, ArrayType *features);
extern FeatureSpec *features_from_arrays(ArrayType *columns, ArrayType *lengths, Jsonb *preprocessing);
extern void features_expand_names(FeatureSpec *spec);
extern bool *features_onehot_mask(const FeatureSpec *spec);

/* preprocess.c: one-hot encoding and imputation stored with a model */
extern bool preprocess_is_categorical_type(Oid typid);
extern void preprocess_resolve_categories(FeatureColumn *c, const char *relsql, const char *target);
extern void preprocess_set_categories(FeatureColumn *c, char **values, int n, bool has_null,
									  const char *relsql);

/* encode.c: category lookup and the feature vector encoder (mlsys._encode) */
extern void preprocess_index_categories(FeatureColumn *c);
extern int	preprocess_category_lookup(const FeatureColumn *c, const char *s, int len);
extern void preprocess_encode_category(const FeatureColumn *c, const char *value, double *out);
extern void preprocess_encode_datum(const FeatureColumn *c, Datum d, bool isnull, Oid basetype,
									Oid outfunc, double *out);
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
extern void features_check_vector(const FeatureSpec *spec, const double *x);
extern void features_array_into(const FeatureSpec *spec, Datum arr, double *out, int n,
								const char *what);
extern void preprocess_keep_missing(FeatureSpec *spec);

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


/* split.c: content hash of a row; the holdout decision (inline, per row) */
extern uint64 mlsys_row_hash(const char *x, int p, double y, bool *finite);
extern uint64 mlsys_row_hash_unchecked(const char *x, int p, double y);

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

/* the most classes a classifier may have */
#define MLSYS_MAX_CLASSES 100
/* mlsys._strata_agg: histogram bins per window, passes until every cut is exact */
#define STRATA_BINS 256
#define STRATA_MAX_PASSES 24
/* its window modes */
#define WIN_ADAPTIVE 0			/* starts at [0, 1), shrinks around the expected rank */
#define WIN_FIXED 1				/* given by the caller, never moves */
#define WIN_DONE 2				/* resolved by an earlier pass: skipped */

/* sample.c: a bounded uniform sample of the training rows */
typedef struct TrainSample
{
	int			size;			/* at most this many rows */
	int			nrows;			/* rows collected */
	int64		seen;			/* training rows offered (complete when equal) */
	double	   *rows;			/* nrows × (y, x_1 .. x_p) */
} TrainSample;


extern int	mlsys_sample_rows(Datum d, bool isnull, int p, double **rows, int64 *seen);
extern void mlsys_sample_check_size(int size, int p);
extern Size mlsys_sample_size(int p, int cap);
extern void mlsys_sample_init(void *state, int p, int cap, int limit, int nclass, uint64 split_key,
							  double threshold);
extern double mlsys_sample_threshold_arg(FunctionCallInfo fcinfo, int argno);
extern void mlsys_sample_check(const void *state, int p, int cap, int limit);
extern int	mlsys_sample_count(const void *state);
extern bool mlsys_sample_needs_room(const void *state);
extern void mlsys_sample_copy(void *dst, const void *src, int cap);
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

/* linreg_stats.c: the least-squares sufficient statistics of the training split (layout in
 * linreg_stats.h); linreg_solve.c: least squares and ridge solved from them */
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
extern LinregState *linreg_state_merge(LinregState *a, const LinregState *b);
extern bool linreg_try_solve(LinregState *s, double alpha, double *coef);
extern void linreg_solve_min_norm(LinregState *s, double alpha, double *coef,
								  const char *const *names);

#endif							/* MLSYS_DATA_H */
