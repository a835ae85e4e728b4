/*
 * logistic.h — the logistic family (models/logistic/): binary logistic
 * regression (IRLS/Newton passes over the relation, logreg*.c) and
 * multinomial (softmax*.c, multiclass*.c), their shared damped Newton driver
 * (newton.c) and the training flows (classify.c, multiclass.c); the family's
 * callbacks are in logistic_family.c.
 */
#ifndef MLSYS_LOGISTIC_H
#define MLSYS_LOGISTIC_H

#include <math.h>

#include "models/toolkit.h"

extern const ModelFamily logistic_family;

#define LOGREG_LAYOUT 0x4C470004	/* "LG", layout version 4 */

typedef struct LogregState
{
	int32		vl_len_;
	uint32		layout;
	int32		nfeat;			/* p; vectors are m = p + 1 long (intercept first) */
	int32		block_cap;
	int32		block_rows;
	int32		nlev;			/* cuts per class (strata.c) */
	int64		n;				/* training rows */
	double		loss;			/* Σ cw · loss */
	uint64		split_key;
	double		reserved;
	int32		leave_out;		/* the stratum left out: 0 the holdout, or fold − 1 */
	int32		pad;
	/*
	 * then: grad[m] hess[m·m] (upper, row-major) block[cap·m] block_y[cap]
	 * block_cw[cap]: a buffered row is (η, z_1 .. z_p) with its label and
	 * class weight until logreg_flush turns it into the Hessian row
	 */
} LogregState;

StaticAssertDecl(sizeof(LogregState) % sizeof(double) == 0, "LogregState must keep its arrays aligned");

static inline double *
lg_grad(const LogregState *s)
{
	return (double *) ((const char *) s + sizeof(LogregState));
}

static inline double *
lg_hess(const LogregState *s)
{
	return lg_grad(s) + (s->nfeat + 1);
}

static inline double *
lg_block(const LogregState *s)
{
	Size		m = (Size) s->nfeat + 1;

	return lg_hess(s) + m * m;
}

/* the labels, then the class weights, of the buffered rows */
static inline double *
lg_block_y(const LogregState *s)
{
	return lg_block(s) + (Size) s->block_cap * (s->nfeat + 1);
}

static inline double *
lg_block_cw(const LogregState *s)
{
	return lg_block_y(s) + s->block_cap;
}

static inline Size
logreg_state_size(int nfeat, int cap)
{
	Size		m = (Size) nfeat + 1;

	return sizeof(LogregState) + sizeof(double) * (m + m * m + (Size) cap * (m + 2));
}

extern LogregState *logreg_state_new(int p);
extern void logreg_flush(LogregState *s);
extern void logreg_state_check(const LogregState *s);
extern void logreg_state_absorb(LogregState *a, const LogregState *b);
extern int	logreg_params_nfeat(ArrayType *params);
extern void logreg_inv_scales(const double *prm, int p, double *inv);
extern double logreg_row_args(FunctionCallInfo fcinfo, int p, Float8ArrayView *v);

/* numerically stable 1 / (1 + e^−η) */
static inline double
sigmoid(double eta)
{
	if (eta >= 0)
		return 1.0 / (1.0 + exp(-eta));
	else
	{
		double		e = exp(eta);

		return e / (1.0 + e);
	}
}

/* η = w_0 + Σ w_j (x_j − center_j) / scale_j for the unaligned x; z gets the standardized x */
static inline double
logreg_eta(const double *prm, const double *inv_scale, int p, const char *x, double *z)
{
	const double *w = prm;
	const double *center = prm + p + 1;
	double		eta = w[0];
	int			j;

	for (j = 0; j < p; j++)
	{
		double		v;

		memcpy(&v, x + sizeof(double) * j, sizeof(double));
		v = (v - center[j]) * inv_scale[j];
		z[j] = v;
		eta += w[j + 1] * v;
	}
	return eta;
}

/*
 * Add one training row (x: p unaligned float8 values, y 0 or 1) at the
 * parameters prm to a pass's state. Only the linear part is done here: the
 * standardized row z and η = w_0 + wᵀz go to the block with y and the class
 * weight; logreg_flush does the rest for the whole block (its loss, gradient
 * and Hessian terms), where the rows do not wait on each other's exp.
 */
static inline void
logreg_accum_row(LogregState *s, const double *prm, const double *inv_scale, const char *x, double y)
{
	int			p = s->nfeat,
				k = s->block_rows,
				j;
	double	   *restrict row = lg_block(s) + (Size) k * (p + 1);
	const double *w = prm + 1;
	const double *center = prm + p + 1;
	/* four partial sums: the dot product is not one chain of dependent adds */
	double		acc[4] = {0, 0, 0, 0};

	for (j = 0; j < p; j++)
	{
		double		v;

		memcpy(&v, x + sizeof(double) * j, sizeof(double));
		v = (v - center[j]) * inv_scale[j];
		row[j + 1] = v;
		acc[j & 3] += w[j] * v;
	}
	row[0] = prm[0] + ((acc[0] + acc[1]) + (acc[2] + acc[3]));
	lg_block_y(s)[k] = y;
	lg_block_cw(s)[k] = y > 0 ? prm[3 * p + 2] : prm[3 * p + 1];
	s->n++;
	if (++s->block_rows == s->block_cap)
		logreg_flush(s);
}

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

/* classify.c: mlsys.train for classifiers (SPI connected) */
extern void train_classifier(TrainArgs *a, TrainResult *r);
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

#endif							/* MLSYS_LOGREG_H */
