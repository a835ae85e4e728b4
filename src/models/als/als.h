/*
 * als.h — the ALS family (models/als/): matrix factorization recommenders,
 * explicit and implicit. The in-memory model is shared by the fit (als.c; its
 * conjugate-gradient solver in als_cg.c), the blob (als_blob.c), ranking
 * (als_rank.c), training (train/train_recommender.c) and serving
 * (serve/recommend.c, serve/recommend_batch.c); the family's callbacks are
 * in als_family.c.
 *
 * Vocabulary:
 *   user / item     an int8 id from the interactions table; inside a model a
 *                   dense index (0..nusers-1, 0..nitems-1) in increasing id order;
 *   interaction     one (user, item, strength) after duplicates are summed;
 *   seen items      a user's training interactions (excluded from their
 *                   recommendations), kept per user as sorted item indices (CSR).
 */
#ifndef MLSYS_ALS_H
#define MLSYS_ALS_H

#include "models/family.h"

extern const ModelFamily als_family;

/* als_document.c: the recommender's "parameters" in the model document */
extern void als_export_params(StringInfo buf, bytea *blob, const ParamsSpec *spec);
extern bytea *als_import_params(JsonbContainer *params, const ParamsSpec *spec);

/* limits checked before any allocation sized by them */
#define ALS_MAX_FACTORS 1024
#define ALS_MAX_ITERATIONS 1000

/*
 * A trained recommender as served. Factors are float32 (what the blob
 * stores); biases and the global mean are float8. Scratch buffers are sized
 * once at load so a call allocates nothing proportional to the catalogue.
 */
typedef struct AlsModel
{
	bool		implicit;
	int			f;				/* factors */
	int			nusers;
	int			nitems;
	int64		nseen;			/* training interactions */
	double		mu;				/* explicit: global mean rating */
	double		lambda;			/* regularization (explicit: per rating) */
	double		alpha;			/* implicit: confidence 1 + alpha·r */
	int64	   *user_ids;		/* nusers, increasing */
	int64	   *item_ids;		/* nitems, increasing */
	double	   *user_bias;		/* nusers (zeros for implicit) */
	double	   *item_bias;		/* nitems (zeros for implicit) */
	int32	   *seen_off;		/* nusers + 1 */
	int32	   *seen_items;		/* nseen item indices, increasing per user */
	int32	   *counts;			/* nitems: training interactions per item */
	float	   *U;				/* nusers × f */
	float	   *V;				/* nitems × f as stored; freed at load, once Vn holds it */

	/* derived at load (serving) */
	int32	   *popular;		/* item indices by count desc, then id */
	float	   *item_bias_f;	/* nitems */
	float	   *item_norm;		/* nitems: ‖V_i‖ */
	float	   *scores;			/* one tile's scores (ALS_TILE) */
	float	   *uvec;			/* f scratch */
	double	   *yty;			/* implicit: YᵀY (f², upper), computed at first fold-in */
	double	   *gram;			/* (f+1)² scratch */
	double	   *rhs;			/* f+1 scratch */
	double	   *rows;			/* fold-in rows scratch, grown on demand */
	int			rows_cap;
	/* ranking in norm order (als_rank.c) */
	int			ntiles;
	int32	   *order;			/* nitems: item index at each norm-order position */
	int32	   *pos;			/* nitems: each item's position in norm order */
	float	   *Vn;				/* nitems × f: V in norm order */
	float	   *bias_n;			/* explicit: μ + b_i in norm order (NULL: implicit) */
	double	   *tile_norm;		/* ntiles: the largest item norm from tile t on */
	double	   *tile_bias;		/* ntiles: the largest μ + b_i from tile t on */
	MemoryContext cxt;			/* where the model lives */
} AlsModel;

/* what training produced, in float8, before serialization */
typedef struct AlsFit
{
	bool		implicit;
	int			f;
	int			nusers;
	int			nitems;
	double		mu;
	double		lambda;
	double		alpha;
	int64	   *user_ids;
	int64	   *item_ids;
	double	   *user_bias;
	double	   *item_bias;
	double	   *U;
	double	   *V;
	int32	   *seen_off;
	int32	   *seen_items;
	int32	   *counts;
} AlsFit;

/* als_blob.c */
extern bytea *model_serialize_als(const AlsFit *fit);
extern AlsModel *model_deserialize_als(bytea *blob);

/* als.c: fitting */
typedef struct AlsData
{
	int			nusers;
	int			nitems;
	int32	   *uoff;			/* by user: nusers + 1 offsets */
	int32	   *uitem;			/* item index per interaction */
	double	   *ur;				/* strength per interaction */
	int32	   *ioff;			/* by item: nitems + 1 offsets */
	int32	   *iuser;			/* user index per interaction */
	double	   *ir;
} AlsData;

extern AlsData *als_data_by_user(int nusers, int nitems, const int32 *uoff,
								 const int32 *uitem, const double *ur);
/* cg_steps: 0 solves each row exactly (Cholesky), > 0 by that many CG steps */
extern void als_fit_explicit(const AlsData *d, int f, double lambda, int iterations,
							 int cg_steps, int64 seed, const int64 *item_ids, AlsFit *fit);
extern void als_fit_implicit(const AlsData *d, int f, double lambda, double alpha,
							 int iterations, int cg_steps, int64 seed, const int64 *item_ids,
							 AlsFit *fit);

/* als_cg.c: the conjugate-gradient half-sweeps, warm-started from X (and xb) */
#define ALS_MAX_CG_STEPS 100
extern void als_cg_implicit_sweep(int n, int m, const int32 *off, const int32 *idx,
								  const double *r, int f, double lambda, double alpha,
								  int steps, double *X, const double *Y);
extern void als_cg_explicit_sweep(int n, const int32 *off, const int32 *idx, const double *r,
								  int f, double mu, double lambda, int steps, double *X,
								  double *xb, const double *Y, const double *yb);

/* als.c: scoring kernels shared by training metrics and serving */
extern void als_model_prepare(AlsModel *m);
extern int	als_find(const int64 *ids, int n, int64 id);
extern int	als_popular(AlsModel *m, int k, const int32 *exclude, int nexclude,
						int32 *out_idx, float *out_score);
extern double als_predict(const AlsModel *m, int u, int i);
extern void als_fold_in(AlsModel *m, const int32 *items, int n, float *x);

/* als_rank.c: exact top-k in norm-ordered tiles with a Cauchy–Schwarz stop */
#define ALS_TILE 1024			/* items scored per BLAS call */
#define ALS_MAX_BLOCK 1024		/* users scored together */
#define ALS_MAX_K 1000			/* the largest k of a block ranking */
extern void als_rank_prepare(AlsModel *m);
extern int	als_rank(AlsModel *m, const float *x, float ub, int k, const int32 *exclude,
					 int nexclude, int32 *out_idx, float *out_score);
extern int	als_rank_block_users(const AlsModel *m, int k, Size budget);
extern int	als_similar(AlsModel *m, int self, int k, int32 *out_idx, float *out_score);

/* the factors of item index i in a loaded model */
static inline const float *
als_item_factors(const AlsModel *m, int i)
{
	return m->Vn + (Size) m->pos[i] * m->f;
}
extern void als_rank_users(AlsModel *m, const int32 *users, int n, int k, bool exclude_seen,
						   int32 *out_idx, float *out_score, int32 *out_n);

/* ranking metrics over users, accumulated one user at a time */
typedef struct RankMetrics
{
	int			k;
	int64		users;
	double		precision;
	double		recall;
	double		ndcg;
	double		map;
	bool	   *covered;		/* nitems */
	int32	   *idx;			/* k scratch */
	float	   *sc;				/* k scratch */
	int64		rated;			/* explicit: rating error */
	double		se;
	double		ae;
} RankMetrics;

extern void als_metrics_init(RankMetrics *rm, AlsModel *m, int k);
extern void als_metrics_user(RankMetrics *rm, AlsModel *m, int u,
							 const int32 *held, int nheld_known, int nheld);
extern void als_metrics_add(RankMetrics *rm, const int32 *idx, int got,
							const int32 *held, int nheld_known, int nheld);
extern char *als_metrics_json(RankMetrics *rm, AlsModel *m, bool with_rating);

/* als_interactions.c: the interactions table */
/* one interaction as read */
typedef struct Interaction
{
	int64		u;
	int64		i;
	double		r;
} Interaction;
extern void als_check_id_column(Oid relid, const char *col, const char *what);
extern Oid als_check_rating_column(Oid relid, const char *col);
extern void *als_alloc_n(Size elem, int64 n, bool zero);
extern Interaction *als_read_interactions(const char *relsql, const char *ucol, const char *icol, const char *rcol, int64 *nout);
extern char *als_relation_sql(Oid relid);
extern int	als_int64_cmp(const void *a, const void *b);
extern void als_check_distinct_columns(const char *ucol, const char *icol, const char *rcol);

#endif							/* MLSYS_ALS_H */
