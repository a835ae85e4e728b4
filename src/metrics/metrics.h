/*
 * metrics.h — metric and drift-statistic aggregates (metrics/): regression
 * and classification metrics, exact ROC AUC, and the two-sample drift
 * statistics. Nothing here knows a model family.
 *
 * The drift statistics are SQL aggregates usable on any table: a flag column
 * says which rows are the reference sample (false) and which the current one
 * (true), so one pass answers "has this column drifted?". All are PARALLEL
 * SAFE with a combine function and a concrete bytea state (no `internal`),
 * allocated in the aggregate context and updated in place.
 *
 *   drift_sample.c       the numeric "sample state" of mlsys.ks_test,
 *                        mlsys.wasserstein and mlsys.psi (value float8,
 *                        is_current bool): its transition and combine
 *                        functions, and the checked state a final function reads;
 *   drift_numeric.c      their final functions: KS, Wasserstein, PSI;
 *   drift_categorical.c  the "category state" of mlsys.js_distance,
 *                        mlsys.chi2_test and mlsys.linf_distance (category
 *                        text, is_current bool), with all their support functions.
 *
 * Rows with a NULL value or a NULL flag belong to neither sample and are
 * skipped. NaN is an error; ±Infinity is accepted by ks_test (it orders) and
 * an error elsewhere. An empty reference or current sample gives NULL.
 * Categories are compared by their bytes.
 */
#ifndef MLSYS_METRICS_H
#define MLSYS_METRICS_H

#include "access/htup.h"
#include "nodes/execnodes.h"

#include "common/common.h"

/* metrics.c: regression metrics state shared with the evaluation passes; auc.c */
extern void regmetrics_add(double *st, double pred, double y);
extern double *regmetrics_state(ArrayType *a);
extern void regmetrics_merge(double *sa, const double *sb);
extern bool regmetrics_result(const double *st, double *out);
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

/* drift statistics (see the file comment) */
#define KS_LAYOUT	0x4B530001	/* "KS", layout version 1 */
#define WS_LAYOUT	0x57530001	/* "WS", layout version 1 */
#define PSI_LAYOUT	0x50530001	/* "PS", layout version 1 */

/*
 * The numeric sample state (drift_sample.c): the reference values from the
 * front of values[], the current ones from its back.
 */
typedef struct SampleState
{
	int32		vl_len_;
	uint32		layout;
	int32		bins;			/* psi: bins asked for; 0 for the others */
	int32		pad;
	int64		nref;			/* reference values at values[0 .. nref) */
	int64		ncur;			/* current values at values[cap − ncur .. cap) */
	double		values[FLEXIBLE_ARRAY_MEMBER];
} SampleState;

/*
 * Whether we are called as an aggregate support function (so the state may
 * be changed in place): AggCheckCallContext's test, inline on the per-row
 * path; mlsys_agg_context raises the error otherwise.
 */
static inline void
drift_check_agg_call(FunctionCallInfo fcinfo, const char *fname)
{
	if (fcinfo->context == NULL ||
		!(IsA(fcinfo->context, AggState) || IsA(fcinfo->context, WindowAggState)))
		mlsys_agg_context(fcinfo, fname);
}

/* drift_sample.c */
extern void *drift_state_arg(FunctionCallInfo fcinfo, int argno);
extern SampleState *drift_sample_final_arg(FunctionCallInfo fcinfo, uint32 layout,
										   const double **ref, const double **cur);

/* drift_numeric.c */
extern Datum drift_stat_result(FunctionCallInfo fcinfo, double statistic, double p_value,
							   int dof, bool with_dof);

/*
 * profile.c: the column profiles of a drift baseline, as aggregates
 * (mlsys._profile_num_agg, mlsys._profile_cat_agg); monitor.h has the vocabulary
 */
#define MON_BINS 1024			/* grid bins per numeric column */
#define MON_TOP_N 20			/* categories kept per categorical column */
#define MON_MAX_DISTINCT 65536	/* distinct categories tracked while capturing */
#define MON_PSI_BINS 10
/* a numeric column's profile: moments and the grid (see monitor.h) */
typedef struct ProfileGrid
{
	int32		nbins;
	int32		e;				/* bin width 2^e */
	int64		k0;				/* first bin index */
	double		n;				/* non-missing values */
	double		nulls;
	double		sum;
	double		sumsq;
	double		min;
	double		max;
	double		lo,
				hi,
				inv;			/* derived: values in [lo, hi) bin as x · inv */
	int64		counts[MON_BINS];
} ProfileGrid;
extern void profile_grid_init(ProfileGrid *g);
extern bool profile_grid_add(ProfileGrid *g, double x);
extern void profile_reject_infinite(const char *column) mlsys_noreturn;
extern void profile_grid_merge(ProfileGrid *a, const ProfileGrid *b);
extern bool profile_grid_valid(const ProfileGrid *g);
extern void profile_grid_json(StringInfo buf, const ProfileGrid *g, const char *name);
extern void profile_append_head(StringInfo buf, const char *name, bool categorical, double n,
								double nulls);
extern text *profile_name_arg(FunctionCallInfo fcinfo, int argno);

/* profile_cat.c: the categorical profile, and the vocabulary training reads from it */
extern uint64 profile_cat_key(const char *s, int len);
extern char *profile_cat_state_json(bytea *state);
extern bool profile_cat_state_values(bytea *state, bool labelled_only, char ***values, int *n,
									 double *nulls);
extern int	profile_psi_cuts(const double *counts, int nbins, double n, int *cuts);
extern void profile_append_sql(StringInfo buf, const char *expr, bool categorical,
							   const char *name);
extern bool profile_type_is_categorical(Oid typid);
extern void profile_baseline_sql(StringInfo buf, int ncols, char **names, const bool *categorical,
								 char **given, const char *pred_expr, bool pred_categorical, const char *target,
								 bool target_categorical);
extern char *profile_baseline_json(HeapTuple tup, TupleDesc desc, int first, int ncols,
								   char **names, const bool *categorical, char **given,
								   bool has_pred,
								   bool pred_categorical, const char *target,
								   bool target_categorical, const char *relation, int64 rows,
								   const char *pred_json, const char *target_json);

#endif							/* MLSYS_METRICS_H */
