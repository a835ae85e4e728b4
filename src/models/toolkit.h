/*
 * toolkit.h — the training toolkit of models/, which every feature-based
 * family runs its passes with, all through SPI in the caller's transaction
 * (passes.c: the feature spec of a relation, the first pass with imputation
 * on demand, pass queries, the hyperparameter walk, the profile and the drift
 * baseline; folds.c: cross-validation folds and the stratified split). Only
 * the families include it: the driver and the server see family.h.
 */
#ifndef MLSYS_TOOLKIT_H
#define MLSYS_TOOLKIT_H

#include "models/family.h"

/* passes.c: the training toolkit every feature-based family uses (SPI connected) */
extern FeatureSpec *mlsys_training_spec(const TrainArgs *a, char **xsql, char **ysql);
extern FeatureSpec *mlsys_training_spec_labels(const TrainArgs *a, char **xsql, char **ysql,
											   bytea **labels);
extern bool mlsys_spec_has_categorical(const FeatureSpec *spec);
extern bool mlsys_try_first_pass(const FeatureSpec *spec, const char *sql, int nargs, Oid *types,
								 Datum *values);
extern void mlsys_impute_and_rebuild(const TrainArgs *a, FeatureSpec *spec, char **xsql);
extern void mlsys_impute_for_scoring(const TrainArgs *a, FeatureSpec *spec, LinregState *s);
extern void mlsys_check_split(const TrainArgs *a, int64 seen, int64 train_rows, int64 holdout);
extern char *mlsys_build_profile(LinregState *s, const FeatureSpec *spec);
extern void mlsys_append_split_metrics(StringInfo buf, const TrainArgs *a, const TrainResult *r);
extern void mlsys_append_binary_metrics(StringInfo buf, double auc, double logloss,
										double tp, double fp, double fn, double n);
extern void mlsys_append_preprocessing_params(const TrainArgs *a, StringInfo buf);
/* a family's own hyperparameter: false when it does not take the key */
typedef bool (*HyperparamKeyFn) (TrainArgs *a, const char *key, JsonbValue *v);
extern void mlsys_parse_hyperparams(TrainArgs *a, HyperparamKeyFn family_key,
									bool can_standardize, const char *hint);
extern double mlsys_hyperparam_number(JsonbValue *v, const char *key);
extern double mlsys_stats_memory_estimate(const TrainArgs *a, int nfeat);
extern void mlsys_check_task_classes(const TrainArgs *a, int nclasses);

/* the drift baseline gathered by a training's evaluation pass (passes.c) */
typedef struct BaselinePlan
{
	bool		active;			/* the pass gathers it */
	int			ncols;			/* profiled feature columns */
	char	  **names;
	bool	   *categorical;
	char	  **given;			/* profiles the vocabulary pass gathered, or NULL */
	bool		pred_categorical;
	bool		target_categorical;
	bool		by_family;		/* the evaluation aggregate profiles prediction and target */
} BaselinePlan;
extern char *mlsys_baseline_sql(const TrainArgs *a, const FeatureSpec *spec, const char *pred_expr,
								bool pred_categorical, BaselinePlan *plan);
extern char *mlsys_baseline_complete_sql(const FeatureSpec *spec);
extern void mlsys_baseline_result(const TrainArgs *a, const BaselinePlan *plan, int first,
								  int64 rows, const char *pred_json, const char *target_json,
								  TrainResult *r);
extern Datum mlsys_classifier_eval_pass(const TrainArgs *a, const FeatureSpec *spec,
										const char *aggregate, const char *xsql, const char *ysql,
										Datum *args, const char *pred_expr, bool pred_categorical,
										MemoryContext cxt, TrainResult *r, bool *isnull);

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

/* labels.c: a classifier's classes, positive class and label SQL (SPI connected) */
extern bool mlsys_labels_by_text(const TrainArgs *a);
extern char **mlsys_classes(const TrainArgs *a, bool by_text, bytea *labels, int *nclasses);
extern FeatureSpec *mlsys_classifier_setup(TrainArgs *a, char ***classes_out, int *nclasses_out,
										   int *positive_out, char **xsql, char **ysql);

/* folds.c: cross-validation folds and the stratified split (SPI connected) */
extern LinregState **mlsys_fold_states(const TrainArgs *a, FeatureSpec *spec,
									   char **xsql, const char *ysql, int folds,
									   bool reject_null_labels, const double *cuts, int ncuts,
									   int nclass, TrainSample *samples);
extern LinregState *mlsys_merge_other_folds(LinregState **states, int folds, int k);
extern int	mlsys_fold_grouping_begin(void);
extern void mlsys_fold_grouping_end(int level);
extern void mlsys_other_folds_sample(const TrainSample *samples, int folds, int k, int p,
									 TrainSample *out);
extern double *mlsys_strata_split(const TrainArgs *a, FeatureSpec *spec, char **xsql,
								  const char *ysql, int K, int folds, int64 *class_rows,
								  int64 *below);

#endif							/* MLSYS_TOOLKIT_H */
