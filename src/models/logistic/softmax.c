/*
 * softmax.c — multinomial logistic regression (softmax) with an L2 penalty:
 * the Newton pass aggregate, the per-row probability functions used by
 * evaluation and cross-validation, and scoring of a cached model.
 *
 * Model: K classes, one coefficient vector per class, all penalized, as
 * scikit-learn's multinomial LogisticRegression (a reference-class
 * parameterization would have a different penalized optimum):
 *     P(y = k | x) = exp(η_k) / Σ_l exp(η_l),   η_k = b_k + w_k · z,
 *     z_j = (x_j − center_j) / scale_j,
 *     F(θ) = (1/n) Σ_i cw_{y_i} (logsumexp(η_i) − η_{i,y_i}) + (alpha/2) Σ_k ‖w_k‖²,
 * the intercepts b_k unpenalized. Shifting every b_k by the same amount
 * changes no probability: newton.c is told that direction, so the Hessian
 * stays invertible and the intercepts stay centred where they started (0).
 *
 * The Hessian of one row is (diag(p) − p pᵀ) ⊗ z̃ z̃ᵀ with z̃ = (1, z): block
 * (k, l) is cw (p_k δ_kl − p_k p_l) z̃ z̃ᵀ, a symmetric m × m matrix
 * (m = p + 1). The state keeps the upper triangle of each of the K(K+1)/2
 * blocks with k ≤ l, packed; its size depends on p and K only. A row's
 * loss and gradient are added at once; its z̃ and its K(K+1)/2 block weights
 * wait in a buffer of 64 to 512 rows, which softmax_flush folds into the
 * blocks with one matrix product per block (Z̃ᵀ diag(w) Z̃): adding each
 * row's weighted outer product to every block in place had cost some 400 ns
 * a row for three classes, most of a pass.
 *
 * Parameters, one float8[] of K(p + 1) + 2p + K values: θ (class-major: b_k,
 * then w_k), center[p], scale[p], class weights cw[K]. Labels y are class
 * indexes 0 .. K − 1 as float8.
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"

#include "models/logistic/logistic.h"

#define SOFTMAX_LAYOUT 0x534D0003	/* "SM", layout version 3 */
/* the rows buffered before their Hessian terms are folded in */
#define SOFTMAX_BLOCK_ROWS 512
/* the most classes; the Hessian has (K (p + 1))² entries */
#define SOFTMAX_MAX_CLASSES 100
#define SOFTMAX_MAX_PARAMS 2048

typedef struct SoftmaxState
{
	int32		vl_len_;
	uint32		layout;
	int32		nfeat;			/* p */
	int32		nclass;			/* K */
	int32		nlev;			/* cuts per class (strata.c) */
	int32		leave_out;		/* the stratum left out: 0 the holdout, or fold − 1 */
	int64		n;
	double		loss;
	uint64		split_key;
	int32		block_cap;		/* rows the buffer holds */
	int32		block_rows;		/* rows in it */
	/*
	 * then: grad[K·m], hess[K(K+1)/2 · m(m+1)/2], and the buffer:
	 * block_cap rows of z̃[m] followed by the weights of the K(K+1)/2 blocks
	 */
} SoftmaxState;

StaticAssertDecl(sizeof(SoftmaxState) % sizeof(double) == 0, "SoftmaxState must keep its arrays aligned");

static inline Size
tri_size(int m)
{
	return (Size) m * (m + 1) / 2;
}

static inline double *
sm_grad(const SoftmaxState *s)
{
	return (double *) ((const char *) s + sizeof(SoftmaxState));
}

static inline double *
sm_hess(const SoftmaxState *s)
{
	return sm_grad(s) + (Size) s->nclass * (s->nfeat + 1);
}

/* the number of Hessian blocks (k ≤ l), and the values of a buffered row */
static inline Size
pair_count(int K)
{
	return (Size) K * (K + 1) / 2;
}

static inline Size
block_stride(int p, int K)
{
	return (Size) (p + 1) + pair_count(K);
}

static inline double *
sm_block(const SoftmaxState *s)
{
	return sm_hess(s) + pair_count(s->nclass) * tri_size(s->nfeat + 1);
}

/*
 * The rows the buffer holds: about 256 kB of them, but at least 64 (with many
 * classes a row's block weights are many, and each flush calls BLAS once per
 * block) and at most 512
 */
static int
softmax_block_rows(int p, int K)
{
	Size		fit = (256 * 1024) / (sizeof(double) * block_stride(p, K));

	return (int) Max(64, Min(SOFTMAX_BLOCK_ROWS, fit));
}

static Size
softmax_state_size(int p, int K, int cap)
{
	return sizeof(SoftmaxState) +
		sizeof(double) * ((Size) K * (p + 1) + pair_count(K) * tri_size(p + 1) +
						  (Size) cap * block_stride(p, K));
}

static void
softmax_state_check(const SoftmaxState *s)
{
	if (VARATT_IS_SHORT(s) || VARSIZE(s) < sizeof(SoftmaxState) ||
		s->layout != SOFTMAX_LAYOUT ||
		s->nfeat < 1 || s->nfeat > MLSYS_MAX_FEATURES ||
		s->nclass < 3 || s->nclass > SOFTMAX_MAX_CLASSES || s->n < 0 ||
		s->block_cap < 64 || s->block_cap > SOFTMAX_BLOCK_ROWS ||
		s->block_rows < 0 || s->block_rows >= s->block_cap ||
		VARSIZE(s) != softmax_state_size(s->nfeat, s->nclass, s->block_cap))
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("invalid multinomial logistic regression aggregate state")));
}

/* index of block (k, l), k ≤ l, among the K(K+1)/2 */
static inline Size
pair_index(int k, int l, int K)
{
	return (Size) k * K - (Size) k * (k - 1) / 2 + (l - k);
}

/* the class count of a parameter vector for p features (checked) */
int
softmax_params_classes(ArrayType *params, int p)
{
	int			len,
				K;

	if (ARR_NDIM(params) != 1 || ARR_HASNULL(params) || ARR_ELEMTYPE(params) != FLOAT8OID)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("multinomial parameters must be a float8 array without nulls")));
	len = ARR_DIMS(params)[0];
	K = (len - 2 * p) / (p + 2);
	if (K < 3 || K > SOFTMAX_MAX_CLASSES || K * (p + 2) + 2 * p != len)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("multinomial parameters must hold K(p + 1) + 2p + K values for %d features", p)));
	return K;
}

/* z̃ = (1, standardized x) and the class probabilities; returns log Σ exp(η) */
static double
softmax_eval_row(const double *prm, int p, int K, const char *x, double *zt, double *prob)
{
	const double *center = prm + (Size) K * (p + 1);
	const double *scale = center + p;
	double		mx = -INFINITY,
				sum = 0;
	int			j,
				k;

	zt[0] = 1.0;
	for (j = 0; j < p; j++)
	{
		double		v;

		memcpy(&v, x + sizeof(double) * j, sizeof(double));
		zt[j + 1] = (v - center[j]) / scale[j];
	}
	for (k = 0; k < K; k++)
	{
		prob[k] = mlsys_dot(prm + (Size) k * (p + 1), zt, p + 1);
		mx = Max(mx, prob[k]);
	}
	for (k = 0; k < K; k++)
	{
		double		e = exp(prob[k] - mx);

		prob[k] = e;			/* unnormalized for now */
		sum += e;
	}
	for (k = 0; k < K; k++)
		prob[k] /= sum;
	return mx + log(sum);
}

/*
 * The class probabilities of one row (x: p unaligned float8 values) at prm
 * into prob[K], z̃ into zt[p + 1]; returns the predicted class, the first
 * of the most probable (as mlsys._softmax_eval and scoring predict it)
 */
int
softmax_predict_row(const double *prm, int p, int K, const char *x, double *zt, double *prob)
{
	int			k,
				best = 0;

	softmax_eval_row(prm, p, K, x, zt, prob);
	for (k = 1; k < K; k++)
		if (prob[k] > prob[best])
			best = k;
	return best;
}

/* the bytes of a pass state for p features and K classes (the training's memory estimate) */
Size
softmax_state_bytes(int p, int K)
{
	return softmax_state_size(p, K, softmax_block_rows(p, K));
}

/* an empty pass state for p features and K classes (palloc'd in the current context) */
static SoftmaxState *
softmax_state_new(int p, int K)
{
	int			cap = softmax_block_rows(p, K);
	Size		size = softmax_state_size(p, K, cap);
	SoftmaxState *s;

	if ((Size) K * (p + 1) > SOFTMAX_MAX_PARAMS)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("a multinomial model with %d classes and %d features has too many parameters", K, p),
				 errdetail("The limit is %d (classes × (features + 1)).", SOFTMAX_MAX_PARAMS)));
	s = palloc0(size);
	SET_VARSIZE(s, size);
	s->layout = SOFTMAX_LAYOUT;
	s->nfeat = p;
	s->nclass = K;
	s->block_cap = cap;
	return s;
}

/*
 * Fold the buffered rows into the Hessian blocks: for each block (k, l),
 * Z̃ᵀ diag(w_kl) Z̃ over the buffer by one matrix product (BLAS), its upper
 * triangle added to the packed block.
 */
static void
softmax_flush(SoftmaxState *s)
{
	int			p = s->nfeat,
				K = s->nclass,
				m = p + 1,
				rows = s->block_rows,
				i,
				j;
	Size		P = pair_count(K),
				T = tri_size(m),
				stride = block_stride(p, K),
				pair;
	const double *block = sm_block(s);
	double	   *scaled,
			   *prod;

	if (rows == 0)
		return;
	scaled = palloc(sizeof(double) * (Size) rows * m);
	prod = palloc(sizeof(double) * (Size) m * m);
	for (pair = 0; pair < P; pair++)
	{
		double	   *blk = sm_hess(s) + pair * T;
		Size		t = 0;

		for (i = 0; i < rows; i++)
		{
			const double *row = block + (Size) i * stride;
			double		w = row[m + pair];

			for (j = 0; j < m; j++)
				scaled[(Size) i * m + j] = w * row[j];
		}
		mlsys_gemm_tn(prod, m, m, block, stride, scaled, m, rows);
		for (i = 0; i < m; i++)
			for (j = i; j < m; j++)
				blk[t++] += prod[(Size) i * m + j];
	}
	pfree(scaled);
	pfree(prod);
	s->block_rows = 0;
}

/*
 * Add one training row (x: p unaligned float8 values, class index yi) at the
 * parameters prm to a pass's state: its weighted loss and gradient now, its
 * z̃ and block weights cw (p_k δ_kl − p_k p_l) to the buffer (softmax_flush).
 * scratch holds K values.
 */
static void
softmax_accum_row(SoftmaxState *s, const double *prm, const char *x, int yi, double *scratch)
{
	int			p = s->nfeat,
				K = s->nclass,
				m = p + 1,
				k,
				l,
				j;
	double	   *zt = sm_block(s) + (Size) s->block_rows * block_stride(p, K),
			   *w = zt + m,
			   *prob = scratch,
			   *g;
	double		lse,
				cw;

	lse = softmax_eval_row(prm, p, K, x, zt, prob);
	cw = prm[(Size) K * m + 2 * p + yi];
	s->loss += cw * (lse - (mlsys_dot(prm + (Size) yi * m, zt, m)));
	g = sm_grad(s);
	for (k = 0; k < K; k++)
	{
		double		r = cw * (prob[k] - (k == yi ? 1.0 : 0.0));
		double	   *gk = g + (Size) k * m;

		for (j = 0; j < m; j++)
			gk[j] += r * zt[j];
	}
	for (k = 0; k < K; k++)
		for (l = k; l < K; l++)
			*w++ = cw * ((k == l ? prob[k] : 0.0) - prob[k] * prob[l]);
	s->n++;
	if (++s->block_rows == s->block_cap)
		softmax_flush(s);
}

/*
 * T[Δ, Δ] over the sample: the third derivative of the mean loss at prm
 * applied twice to Δ (D = K (p + 1) values, class-major), for the last
 * Newton step's third-order term (newton.c). Along Δ the probabilities move
 * by dp_k = p_k (a_k − ā), a_k = z̃ᵀΔ_k, ā = Σ p_l a_l, and
 *     d²p_k = p_k ((a_k − ā)² − (Σ p_l a_l² − ā²)),
 * so T[Δ, Δ]_k = (1/S) Σ cw_y d²p_k z̃.
 */
bool
softmax_sample_third(const double *prm, const double *step, int p, int K,
					 const double *rows, int nrows, double *out)
{
	int			m = p + 1,
				i,
				j,
				k;
	double	   *zt = palloc(sizeof(double) * (m + 2 * K));
	double	   *prob = zt + m,
			   *a = prob + K;

	memset(out, 0, sizeof(double) * (Size) K * m);
	for (i = 0; i < nrows; i++)
	{
		const double *row = rows + (Size) i * m;
		double		abar = 0,
					a2 = 0,
					cw;

		if ((i & 1023) == 0)
			CHECK_FOR_INTERRUPTS();
		(void) softmax_eval_row(prm, p, K, (const char *) (row + 1), zt, prob);
		cw = prm[(Size) K * m + 2 * p + mlsys_class_index(row[0], K)];
		for (k = 0; k < K; k++)
		{
			a[k] = mlsys_dot(step + (Size) k * m, zt, m);
			abar += prob[k] * a[k];
			a2 += prob[k] * a[k] * a[k];
		}
		for (k = 0; k < K; k++)
		{
			double		d2 = cw * prob[k] * ((a[k] - abar) * (a[k] - abar) - (a2 - abar * abar));
			double	   *ok = out + (Size) k * m;

			for (j = 0; j < m; j++)
				ok[j] += d2 * zt[j];
		}
	}
	for (j = 0; j < K * m; j++)
		out[j] /= nrows;
	pfree(zt);
	return nrows > 0;
}

/*
 * One Newton pass over the rows of a sample held in memory (sample.c's
 * layout: y as the class index, then x), at prm: a new state.
 */
SoftmaxState *
softmax_sample_pass(const double *prm, int p, int K, const double *rows, int nrows)
{
	SoftmaxState *s = softmax_state_new(p, K);
	int			m = p + 1,
				i;
	double	   *scratch = palloc(sizeof(double) * K);

	for (i = 0; i < nrows; i++)
	{
		const double *row = rows + (Size) i * m;

		if ((i & 1023) == 0)
			CHECK_FOR_INTERRUPTS();
		softmax_accum_row(s, prm, (const char *) (row + 1), mlsys_class_index(row[0], K), scratch);
	}
	softmax_flush(s);
	pfree(scratch);
	return s;
}

/* one row of a Newton pass (arguments as in logreg.c's step functions) */
static Datum
softmax_step_row(FunctionCallInfo fcinfo, int cuts_arg, int params_arg, int leave_out)
{
	SoftmaxState *s;
	StrataCuts	sc;
	ArrayType  *params;
	const double *prm;
	Float8ArrayView v;
	double	   *scratch;
	double		y;
	int			p,
				K,
				yi;

	mlsys_agg_context(fcinfo, "mlsys._softmax_step_accum");
	if (PG_ARGISNULL(1) || PG_ARGISNULL(2))
	{
		if (PG_ARGISNULL(0))
			PG_RETURN_NULL();
		PG_RETURN_DATUM(PG_GETARG_DATUM(0));
	}
	mlsys_array_view(PG_GETARG_DATUM(2), &v);
	p = v.n;
	if (v.hasnull || p < 1 || p > MLSYS_MAX_FEATURES)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("feature vector must have between 1 and %d elements without nulls",
						MLSYS_MAX_FEATURES)));
	params = PG_GETARG_ARRAYTYPE_P(params_arg);
	K = softmax_params_classes(params, p);
	prm = (const double *) ARR_DATA_PTR(params);
	y = PG_GETARG_FLOAT8(1);
	yi = mlsys_class_index(y, K);
	mlsys_strata_view(PG_GETARG_ARRAYTYPE_P(cuts_arg), K, &sc);
	if (leave_out > sc.nlev)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("fold must be between 1 and %d", sc.nlev + 1)));

	if (PG_ARGISNULL(0))
	{
		s = softmax_state_new(p, K);
		s->nlev = sc.nlev;
		s->leave_out = leave_out;
		s->split_key = mlsys_split_key(PG_GETARG_INT64(3));
	}
	else
	{
		s = (SoftmaxState *) PG_GETARG_POINTER(0);
		softmax_state_check(s);
		if (s->nfeat != p || s->nclass != K || s->nlev != sc.nlev)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_EXCEPTION),
					 errmsg_plural("feature vector has %d element, expected %d",
							   "feature vector has %d elements, expected %d",
							   (unsigned long) (p), p, s->nfeat)));
	}
	if (mlsys_row_stratum(v.data, p, y, s->split_key, &sc) == s->leave_out)
		PG_RETURN_POINTER(s);

	scratch = softmax_call_buffer(fcinfo, K);
	softmax_accum_row(s, prm, v.data, yi, scratch);
	PG_RETURN_POINTER(s);
}

PG_FUNCTION_INFO_V1(softmax_step_accum);
/*
 * softmax_step_accum(state bytea, y float8 (class index), x float8[],
 * seed int8, cuts float8[], params float8[]): one Newton pass over the
 * training rows (outside the stratified holdout of the cuts).
 */
Datum
softmax_step_accum(PG_FUNCTION_ARGS)
{
	mlsys_check_pass_args(fcinfo, false);
	return softmax_step_row(fcinfo, 4, 5, 0);
}

PG_FUNCTION_INFO_V1(softmax_fold_step_accum);
/*
 * softmax_fold_step_accum(state bytea, y float8, x float8[], seed int8,
 * cuts float8[], fold int, params float8[]): one Newton pass over every
 * fold but one.
 */
Datum
softmax_fold_step_accum(PG_FUNCTION_ARGS)
{
	mlsys_check_pass_args(fcinfo, true);
	return softmax_step_row(fcinfo, 4, 6, PG_GETARG_INT32(5) - 1);
}

PG_FUNCTION_INFO_V1(softmax_step_combine);
/* softmax_step_combine(bytea, bytea): sums of two partial passes */
Datum
softmax_step_combine(PG_FUNCTION_ARGS)
{
	Datum		result;
	SoftmaxState *a,
			   *b;
	Size		n,
				i;

	mlsys_agg_context(fcinfo, "mlsys._softmax_step_combine");
	if (mlsys_combine_trivial(fcinfo, &result))
		return result;
	b = (SoftmaxState *) PG_DETOAST_DATUM(PG_GETARG_DATUM(1));
	softmax_state_check(b);
	a = (SoftmaxState *) PG_GETARG_POINTER(0);
	softmax_state_check(a);
	if (a->nfeat != b->nfeat || a->nclass != b->nclass || a->block_cap != b->block_cap ||
		a->split_key != b->split_key || a->nlev != b->nlev || a->leave_out != b->leave_out)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("cannot combine multinomial regression states with different dimensions or splits")));
	/* the gradient and the Hessian blocks; then b's buffered rows, through a's (emptied) buffer */
	softmax_flush(a);
	n = (Size) a->nclass * (a->nfeat + 1) + pair_count(a->nclass) * tri_size(a->nfeat + 1);
	for (i = 0; i < n; i++)
		sm_grad(a)[i] += sm_grad(b)[i];
	if (b->block_rows > 0)
	{
		memcpy(sm_block(a), sm_block(b),
			   sizeof(double) * (Size) b->block_rows * block_stride(a->nfeat, a->nclass));
		a->block_rows = b->block_rows;
		softmax_flush(a);
	}
	a->n += b->n;
	a->loss += b->loss;
	PG_RETURN_POINTER(a);
}

/* a pass's state copied out of its datum (validated), its buffered rows folded in */
SoftmaxState *
softmax_state_from_datum(Datum d)
{
	SoftmaxState *s = (SoftmaxState *) PG_DETOAST_DATUM_COPY(d);

	softmax_state_check(s);
	softmax_flush(s);
	return s;
}

/*
 * The Newton driver's view of a pass: gradient as is, the Hessian expanded
 * into a full D × D upper triangle (D = K m), allocated once per fit.
 */
void
softmax_newton_pass(const SoftmaxState *s, double *hess_out, NewtonPass *out)
{
	int			K = s->nclass,
				m = s->nfeat + 1,
				D = K * m,
				k,
				l,
				i,
				j;
	Size		T = tri_size(m);

	for (k = 0; k < K; k++)
		for (l = k; l < K; l++)
		{
			const double *blk = sm_hess(s) + pair_index(k, l, K) * T;
			Size		t = 0;

			for (i = 0; i < m; i++)
				for (j = i; j < m; j++)
				{
					double		v = blk[t++];

					/* block (k, l) and, below the diagonal block, its mirror (l, k) */
					hess_out[(Size) (k * m + i) * D + (l * m + j)] = v;
					hess_out[(Size) (k * m + j) * D + (l * m + i)] = v;
				}
		}
	out->n = (double) s->n;
	out->loss = s->loss;
	out->grad = sm_grad(s);
	out->hess = hess_out;
}

int
softmax_state_classes(const SoftmaxState *s)
{
	return s->nclass;
}

/* per call site: a buffer of n doubles (z̃ and the probabilities) in fn_extra */
double *
softmax_call_buffer(FunctionCallInfo fcinfo, int n)
{
	int		   *cap = (int *) fcinfo->flinfo->fn_extra;

	if (cap == NULL || *cap < n)
	{
		cap = MemoryContextAlloc(fcinfo->flinfo->fn_mcxt, sizeof(double) * (n + 1));
		*cap = n;
		fcinfo->flinfo->fn_extra = cap;
	}
	return (double *) cap + 1;
}

/* {predicted class index, log-probability of class y (floored at log 1e-15)} */
static Datum
softmax_eval_datum(FunctionCallInfo fcinfo, const double *prm, int p, int K, const char *x, double y)
{
	double	   *zt = softmax_call_buffer(fcinfo, p + 1 + K);
	double	   *prob = zt + p + 1;
	double		out[2];

	out[0] = softmax_predict_row(prm, p, K, x, zt, prob);
	out[1] = log(Max(prob[mlsys_class_index(y, K)], 1e-15));
	PG_RETURN_ARRAYTYPE_P(mlsys_float8_array(out, 2));
}

PG_FUNCTION_INFO_V1(softmax_eval);
/*
 * mlsys._softmax_eval(params float8[], x float8[], y float8) → float8[]:
 * {predicted class index, log P(y | x)} for holdout metrics.
 */
Datum
softmax_eval(PG_FUNCTION_ARGS)
{
	ArrayType  *params;
	Float8ArrayView v;
	int			K;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_ARGISNULL(2))
		PG_RETURN_NULL();
	mlsys_array_view(PG_GETARG_DATUM(1), &v);
	if (v.hasnull || v.n < 1 || v.n > MLSYS_MAX_FEATURES)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("feature vector must have between 1 and %d elements without nulls",
						MLSYS_MAX_FEATURES)));
	params = PG_GETARG_ARRAYTYPE_P(0);
	K = softmax_params_classes(params, v.n);
	return softmax_eval_datum(fcinfo, (const double *) ARR_DATA_PTR(params), v.n, K, v.data,
							  PG_GETARG_FLOAT8(2));
}

PG_FUNCTION_INFO_V1(softmax_eval_fold);
/*
 * mlsys._softmax_eval_fold(params float8[], seed int8, folds int,
 * cuts float8[], y float8, x float8[]) → float8[]: as _softmax_eval by the
 * model of the row's fold (its stratum under the cuts); params holds folds
 * parameter vectors one after the other.
 */
Datum
softmax_eval_fold(PG_FUNCTION_ARGS)
{
	ArrayType  *params;
	Float8ArrayView v;
	StrataCuts	sc;
	int			folds,
				p,
				K,
				len,
				k;
	double		y;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_ARGISNULL(2) || PG_ARGISNULL(3) ||
		PG_ARGISNULL(4) || PG_ARGISNULL(5))
		PG_RETURN_NULL();
	params = PG_GETARG_ARRAYTYPE_P(0);
	folds = PG_GETARG_INT32(2);
	mlsys_array_view(PG_GETARG_DATUM(5), &v);
	p = v.n;
	if (folds < 2 || folds > 1000 || v.hasnull || p < 1 || p > MLSYS_MAX_FEATURES ||
		ARR_NDIM(params) != 1 || ARR_HASNULL(params) || ARR_ELEMTYPE(params) != FLOAT8OID ||
		ARR_DIMS(params)[0] % folds != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("parameters must hold %d equal vectors", Max(folds, 1))));
	len = ARR_DIMS(params)[0] / folds;
	K = (len - 2 * p) / (p + 2);
	if (K < 3 || K > SOFTMAX_MAX_CLASSES || K * (p + 2) + 2 * p != len)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("multinomial parameters must hold K(p + 1) + 2p + K values for %d features", p)));
	mlsys_strata_view(PG_GETARG_ARRAYTYPE_P(3), K, &sc);
	y = PG_GETARG_FLOAT8(4);
	if (sc.nlev != folds - 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("cuts must hold %d values per class", folds - 1)));
	mlsys_class_index(y, K);
	k = mlsys_row_stratum(v.data, p, y, mlsys_split_key(PG_GETARG_INT64(1)), &sc);
	return softmax_eval_datum(fcinfo, (const double *) ARR_DATA_PTR(params) + (Size) k * len,
							  p, K, v.data, y);
}

/* class probabilities of a cached multinomial model for raw x (prob: K values) */
void
softmax_model_proba(const LinearModel *lm, const double *x, double *prob)
{
	int			p = lm->nfeat,
				K = lm->nclass_out,
				j,
				k;
	double		mx = -INFINITY,
				sum = 0;

	for (k = 0; k < K; k++)
	{
		const double *th = lm->multi + (Size) k * (p + 1);
		double		eta = th[0];

		for (j = 0; j < p; j++)
			eta += th[j + 1] * (x[j] - lm->center[j]) * lm->inv_scale[j];
		prob[k] = eta;
		mx = Max(mx, eta);
	}
	for (k = 0; k < K; k++)
	{
		prob[k] = exp(prob[k] - mx);
		sum += prob[k];
	}
	for (k = 0; k < K; k++)
		prob[k] /= sum;
}
