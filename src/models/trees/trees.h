/*
 * trees.h — the boosted-trees family (models/trees/): gradient-boosted
 * regression trees trained from gradient histograms over a binned copy of
 * the training rows, scored natively in float8 or, for models imported from
 * XGBoost, with XGBoost's float32 arithmetic.
 *
 *   tree_blob.c      the blob (kind MODEL_TREES): serialize, verify, load;
 *   tree_predict.c   margins, probabilities and the family's scoring callbacks;
 *   treeshap.c       exact path-dependent TreeSHAP (explain);
 *   gbt_pass.c       the training passes (SQL aggregates): sample and rows;
 *   gbt_bins.c       cut points and the binned matrix;
 *   gbt_grow.c       boosting: growing trees from gradient histograms;
 *   gbt_loss.c       the losses' gradients, and the seeded draws;
 *   gbt_parallel.c   histograms built by parallel workers and the leader;
 *   gbt_train.c      the family's train callback: passes, boosting, metrics;
 *   trees_family.c   hyperparameters and the ModelFamily struct;
 *   tree_document.c  the trees' "parameters" in mlsys's model document;
 *   xgboost_import.c XGBoost JSON models (Booster.save_model) as ensembles.
 */
#ifndef MLSYS_TREES_H
#define MLSYS_TREES_H

#include <math.h>

#include "models/toolkit.h"

extern const ModelFamily trees_family;

/*
 * One node. A split sends a row left when x[feature] < value, right when
 * not, and a missing value (NaN) to its default side. Children come after
 * their parent within the same tree (indexes relative to the tree's first
 * node), so every walk ends.
 */
typedef struct TreeNode
{
	int32		feature;		/* split feature; -1 for a leaf */
	int32		left;			/* children (splits only) */
	int32		right;
	int32		default_left;	/* 1: missing goes left */
	double		value;			/* split: threshold; leaf: output */
	double		cover;			/* Σ hessian of the training rows that reached it */
	double		gain;			/* split: loss reduction; leaf: 0 */
} TreeNode;

#define TREES_FLAG_FLOAT32 0x1	/* XGBoost arithmetic: float32 values and sums */

/* the task codes stored in the blob */
#define TREES_TASK_REGRESSION 0
#define TREES_TASK_BINARY 1
#define TREES_TASK_MULTICLASS 2

/*
 * The nodes as scoring walks them, 16 bytes each: when every split's right
 * child follows its left one (as training and XGBoost lay them out), a step
 * is child + (the row goes right), without a branch on the side. A leaf
 * steps to itself (threshold +Infinity, missing values left, itself as
 * left child), so a walk is a fixed number of steps, and walks of several
 * trees interleave; its output is in leaf[].
 */
typedef struct ScoreNode
{
	double		value;			/* split: threshold; leaf: +Infinity */
	int32		feature;		/* split feature; leaf: 0 */
	int32		child;			/* left child · 2 + (missing goes left) */
} ScoreNode;

/* an ensemble in memory (the family's LoadedModel.model) */
typedef struct TreeEnsemble
{
	uint32		flags;
	int			task;			/* TREES_TASK_* */
	int			nfeat;
	int			ngroup;			/* margins: 1, or K for multiclass */
	int			ntrees;
	int			nnodes;
	double		threshold;		/* binary: positive when P >= threshold */
	double	   *base;			/* ngroup base margins */
	int32	   *tree_group;		/* ntrees */
	int32	   *tree_start;		/* ntrees + 1 node offsets */
	TreeNode   *nodes;			/* nnodes */
	float	   *thr32;			/* float32 models: thresholds as float (nnodes) */
	float	   *leaf32;			/* float32 models: leaf values as float (nnodes) */
	int			max_depth;		/* deepest leaf (computed on load) */
	ScoreNode  *score;			/* nnodes, or NULL when a right child is elsewhere */
	double	   *leaf;			/* nnodes: the leaves' outputs (with score) */
	int32	   *tree_depth;		/* ntrees: each tree's deepest leaf (with score) */
} TreeEnsemble;

/*
 * Training (gbt_*.c). The hyperparameters, with their defaults in
 * trees_family.c.
 */
typedef struct GbtParams
{
	int			n_trees;		/* boosting rounds */
	double		learning_rate;
	int			max_depth;
	int			max_bins;		/* bins per feature, at most GBT_MAX_BINS */
	int			min_samples_leaf;
	double		l2;
	double		subsample;		/* rows per tree, drawn from (seed, row hash) */
	double		colsample;		/* features per tree */
	int			early_stopping_rounds;	/* 0: off */
	double		validation_fraction;
} GbtParams;

#define GBT_MAX_BINS 255
#define GBT_MISSING 255			/* the bin of a missing value */
/* a binned row: content hash, y, one byte per feature; 8-byte aligned */
#define GBT_RECORD_SIZE(p) ((int) TYPEALIGN(8, 16 + (p)))

/* gbt_pass.c: the binned rows of the rows pass */
typedef struct GbtRows
{
	int64		nrows;
	int			rec;
	char	   *records;
	int64		unlabelled;		/* rows without a target */
	int64		profiled;		/* rows the moments are of */
	double	   *moments;		/* (n, sum, sumsq, min, max) per feature and the target */
} GbtRows;
extern int	gbt_sample_rows(Datum state, int nfeat, double **rows, int64 *seen);
extern void gbt_rows_view(Datum state, int nfeat, GbtRows *out);

/* gbt_bins.c */
extern void gbt_cut_points(const double *rows, int n, int p, int max_bins, double *cuts,
						   int *ncuts);

/*
 * gbt_grow.c: boosting over binned rows sorted by content hash. role[i] says
 * what row i is for; margins (nrows × ngroup) start at the base margins and
 * end with every kept tree's leaves added.
 */
#define GBT_ROLE_TRAIN 0
#define GBT_ROLE_VALID 1
#define GBT_ROLE_HOLDOUT 2
typedef struct GbtData
{
	int			task;			/* TREES_TASK_* */
	int			nfeat;
	int			ngroup;
	int64		nrows;
	int			rec;
	const char *records;
	const uint8 *cols;			/* the bins again, feature-major (nfeat × nrows):
								 * a partition reads one feature of many rows */
	const uint8 *role;
	const double *label;		/* y per row: value, 0/1, or class index */
	const int32 *ncuts;
	const double *cuts;			/* per feature, GBT_MAX_BINS - 1 apart */
	uint64		seed_key;
} GbtData;
/* gbt_loss.c */
extern void gbt_gradients(const GbtData *d, const double *margins, const int32 *rows, int n, int k,
						  double *gh);
extern double gbt_row_loss(const GbtData *d, const double *m, double y);
extern double gbt_draw(uint64 key, uint64 a, uint64 b);

/* rows per block of a histogram: the unit of its fixed summation order */
#define GBT_BLOCK_ROWS 16384
extern void gbt_hist_rows(const char *records, int rec, int p, const double *gh, const int32 *rows,
						  int n, bool counts, void *out);
extern void gbt_hist_sum_blocks(const char *blocks, int nblocks, Size hist_bytes, void *out);

/* gbt_parallel.c: histograms built by parallel workers and the leader */
typedef struct GbtParallel GbtParallel;
extern GbtParallel *gbt_parallel_begin(const GbtData *d, bool counts, double **gh, int32 **rows,
										double **margins);
extern void gbt_parallel_gradients(GbtParallel *ps, int64 n);
extern void gbt_parallel_hists(GbtParallel *ps, const int32 *rows, int nnodes, const int64 *starts,
							   const int64 *ns, const double *gh, char **outs);
extern void gbt_parallel_end(GbtParallel *ps, double *margins);

extern TreeEnsemble *gbt_boost(const GbtData *d, const GbtParams *prm, double *margins,
							   int *rounds_out, int *best_round_out);

/* gbt_train.c: the family's train and cross_validate callbacks */
extern void gbt_train(TrainArgs *a, TrainResult *r);
extern void gbt_cross_validate(TrainArgs *a, int folds, struct Tuplestorestate *store,
							   TupleDesc tupdesc);

/* tree_blob.c */
extern bytea *trees_serialize(const TreeEnsemble *e);
extern TreeEnsemble *trees_deserialize(bytea *blob);
extern void trees_verify(TreeEnsemble *e);

/* the logistic function, stable for margins of either sign */
static inline double
trees_sigmoid(double z)
{
	return z >= 0 ? 1.0 / (1.0 + exp(-z)) : exp(z) / (1.0 + exp(z));
}

/* tree_predict.c */
extern void trees_margin_proba(int task, int K, const double *margin, double *prob);
extern void trees_margins(const TreeEnsemble *e, const double *x, double *margin);
extern double trees_predict(const LoadedModel *m, const double *x);
extern void trees_predict_proba(const LoadedModel *m, const double *x, double *prob);
extern double trees_params_diff(bytea *a, bytea *b);

/*
 * treeshap.c: contributions of each feature to each margin; contrib is
 * ngroup × (nfeat + 1), the last of each row the bias (expected margin)
 */
extern void trees_shap(const TreeEnsemble *e, const double *x, double *contrib);

/*
 * tree_document.c: the "parameters" of a trees version in mlsys's model
 * document (mlsys.export_model / mlsys.import_model):
 *   {"float32": false, "threshold": 0.5, "base_margin": [b_0, ...],
 *    "trees": [{"output": g, "nodes": [node, ...]}, ...]}
 * a split node {"split": "<feature name>", "threshold": t, "left": i,
 * "right": j, "missing": "left" | "right", "cover": c, "gain": g}, a leaf
 * {"leaf": v, "cover": c}; child indexes are within the tree's nodes.
 */
extern void trees_export_params(StringInfo buf, bytea *blob, const ParamsSpec *spec);
extern bytea *trees_import_params(JsonbContainer *params, const ParamsSpec *spec);

/* xgboost_import.c: an XGBoost JSON model as an ensemble (class-22 errors) */
typedef struct XGBoostModel
{
	TreeEnsemble *ensemble;
	const char *task;			/* regression, binary or multiclass */
	int			nfeat;
	char	  **names;			/* feature_names, or f0, f1, ... */
	int			nclasses;		/* classifiers: K (classes 0 .. K − 1) */
} XGBoostModel;
extern bool trees_is_xgboost_document(Jsonb *doc);
extern XGBoostModel *trees_import_xgboost(Jsonb *doc);

#endif							/* MLSYS_TREES_H */
