/*
 * logreg.c — binary logistic regression with an L2 penalty, fitted by
 * Newton's method (IRLS) where every iteration is one pass over the table by
 * a parallel-safe aggregate.
 *
 * Objective (scikit-learn's LogisticRegression with C = 1 / (alpha · n)):
 *     F(w) = (1/n) Σ cw_i · [softplus(η_i) − y_i η_i] + (alpha/2) Σ_{j≥1} w_j²,
 *     η_i = w_0 + Σ_j w_j z_ij,   z_ij = (x_ij − center_j) / scale_j,
 * with y_i ∈ {0, 1}, class weights cw (1, or "balanced": n / (2 n_class)) and
 * the intercept w_0 unpenalized. The features are standardized with the
 * training split's mean and population standard deviation, so w lives in the
 * standardized space (as in a StandardScaler + LogisticRegression pipeline).
 *
 * One pass (mlsys._logreg_step_agg) accumulates, over the training rows at the
 * current w: Σ cw·loss, the gradient Σ cw (p − y) z and the Hessian
 * Σ cw p (1 − p) z zᵀ, the last by blocks of rows scaled by √(cw p (1 − p))
 * and one dsyrk per block. The state is a bytea updated in place, with a
 * combine function; its size depends on p only. The Newton step solves
 * (H/n + alpha·I') Δ = −(g/n + alpha·w') by Cholesky, damped and stopped as
 * newton.c describes (the driver is shared with multinomial regression).
 * With alpha > 0 the objective is strictly convex and bounded below even for
 * separable data, so the iteration converges to a finite optimum.
 *
 * Parameters passed to the aggregates and to mlsys._logreg_proba are one
 * float8[] of 3p + 3 values: w_0..w_p, center_1..p, scale_1..p, cw_0, cw_1.
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"

#include "models/logistic/logistic.h"

void
logreg_state_check(const LogregState *s)
{
	if (VARATT_IS_SHORT(s) || VARSIZE(s) < sizeof(LogregState) ||
		s->layout != LOGREG_LAYOUT ||
		s->nfeat < 1 || s->nfeat > MLSYS_MAX_FEATURES ||
		s->block_cap < 16 || s->block_cap > 1024 ||
		s->block_rows < 0 || s->block_rows >= s->block_cap || s->n < 0 ||
		VARSIZE(s) != logreg_state_size(s->nfeat, s->block_cap))
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("invalid logistic regression aggregate state")));
}

/* an empty pass state for p features (palloc'd in the current context) */
LogregState *
logreg_state_new(int p)
{
	int			cap = Max(16, Min(1024, 131072 / (int) (sizeof(double) * (p + 1))));
	Size		size = logreg_state_size(p, cap);
	LogregState *s = palloc0(size);

	SET_VARSIZE(s, size);
	s->layout = LOGREG_LAYOUT;
	s->nfeat = p;
	s->block_cap = cap;
	return s;
}

/*
 * The buffered rows (η, z) of a block into the loss, the gradient and the
 * Hessian: per row p = σ(η) from e = exp(−|η|), the loss
 * cw · (max(η, 0) − y η + log(1 + e)), the gradient cw (p − y) z̃ (z̃ = (1, z))
 * and the Hessian row √(cw p (1 − p)) z̃, scaled in place; then one dsyrk.
 * The rows are independent here, so their exp, division and square root
 * overlap. The log(1 + e) terms of the rows of one class weight are summed
 * as the log of their product: every factor lies in (1, 2], and the product
 * is folded every 512 rows, far from overflow.
 */
void
logreg_flush(LogregState *s)
{
	int			p = s->nfeat,
				m = p + 1,
				rows = s->block_rows,
				k,
				j;
	double	   *block = lg_block(s);
	const double *by = lg_block_y(s);
	const double *bcw = lg_block_cw(s);
	double	   *restrict g = lg_grad(s);
	double		loss = 0,
				prod[2] = {1.0, 1.0},
				prod_cw[2] = {0.0, 0.0};
	int			prod_rows[2] = {0, 0};

	if (rows == 0)
		return;
	for (k = 0; k < rows; k++)
	{
		double	   *restrict row = block + (Size) k * m;
		double		eta = row[0],
					y = by[k],
					cw = bcw[k],
					e = exp(-fabs(eta)),
					d = 1.0 + e,
					prob = (eta >= 0 ? 1.0 : e) / d,
					gr,
					r;
		int			c = y > 0;

		loss += cw * (Max(eta, 0.0) - y * eta);
		if (prod_rows[c] == 0 || cw != prod_cw[c] || prod_rows[c] == 512)
		{
			if (prod_rows[c] > 0)
				loss += prod_cw[c] * log(prod[c]);
			prod[c] = 1.0;
			prod_cw[c] = cw;
			prod_rows[c] = 0;
		}
		prod[c] *= d;
		prod_rows[c]++;
		gr = cw * (prob - y);
		g[0] += gr;
		for (j = 1; j < m; j++)
			g[j] += gr * row[j];
		r = sqrt(cw * prob * (1.0 - prob));
		row[0] = r;
		for (j = 1; j < m; j++)
			row[j] *= r;
	}
	for (k = 0; k < 2; k++)
		if (prod_rows[k] > 0)
			loss += prod_cw[k] * log(prod[k]);
	s->loss += loss;
	mlsys_syrk_upper(lg_hess(s), m, block, rows);
	s->block_rows = 0;
}

/* the parameter vector: p from its length, checked */
int
logreg_params_nfeat(ArrayType *params)
{
	int			len;

	if (ARR_NDIM(params) != 1 || ARR_HASNULL(params) || ARR_ELEMTYPE(params) != FLOAT8OID)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("logistic regression parameters must be a float8 array without nulls")));
	len = ARR_DIMS(params)[0];
	if (len < 6 || (len - 3) % 3 != 0 || (len - 3) / 3 > MLSYS_MAX_FEATURES)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("logistic regression parameters must hold 3p + 3 values")));
	return (len - 3) / 3;
}

/*
 * Per call site: the reciprocals of the scales of the parameter vector in use
 * (the vector is a query constant, so one division per feature per query
 * instead of per row) and a buffer for the standardized row.
 */
typedef struct LogregCallCache
{
	int			p;
	bool		scale_valid;	/* scale holds checked values */
	double	   *scale;			/* the scales the reciprocals belong to */
	double	   *inv_scale;
	double	   *z;
	/* a pass whose cuts and parameters are the same in every row: its copies */
	bool		pass_ready;
	double	   *prm;
	StrataCuts	sc;
} LogregCallCache;

/*
 * inv[j] = 1 / scale_j for a parameter vector of p features (3p + 3 values:
 * w, center, scale, cw), the scales checked positive and finite
 */
void
logreg_inv_scales(const double *prm, int p, double *inv)
{
	int			j;

	for (j = 0; j < p; j++)
	{
		double		scale = prm[2 * p + 1 + j];

		if (!(scale > 0) || !isfinite(scale))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("logistic regression scales must be positive and finite")));
		inv[j] = 1.0 / scale;
	}
}

static LogregCallCache *
logreg_call_cache(FunctionCallInfo fcinfo, const double *prm, int p)
{
	MemoryContext mcxt;
	void	  **slot = mlsys_call_cache(fcinfo, &mcxt);
	LogregCallCache *cc = (LogregCallCache *) *slot;

	if (cc == NULL || cc->p != p)
	{
		cc = MemoryContextAllocZero(mcxt, sizeof(LogregCallCache));
		cc->p = p;
		cc->scale = MemoryContextAllocZero(mcxt, sizeof(double) * p);
		cc->inv_scale = MemoryContextAlloc(mcxt, sizeof(double) * p);
		cc->z = MemoryContextAlloc(mcxt, sizeof(double) * p);
		*slot = cc;
	}
	/* compare the values, not the pointer: a per-row vector may reuse an address */
	if (!cc->scale_valid || memcmp(cc->scale, prm + 2 * p + 1, sizeof(double) * p) != 0)
	{
		logreg_inv_scales(prm, p, cc->inv_scale);
		memcpy(cc->scale, prm + 2 * p + 1, sizeof(double) * p);
		cc->scale_valid = true;
	}
	return cc;
}

/*
 * The parameters (3p + 3 values) and the stratified cuts of a pass's row,
 * checked, with the call site's cache. When both are the same in every row
 * (constants or query parameters: mlsys_agg_args_stable), the first row
 * checks and copies them and every later row reuses the copies, so a row
 * costs no array checks.
 */
static LogregCallCache *
logreg_pass_args(FunctionCallInfo fcinfo, int cuts_arg, int params_arg, int nclass,
				 const double **prm, int *p, StrataCuts *sc)
{
	MemoryContext mcxt;
	LogregCallCache *cc = (LogregCallCache *) *mlsys_call_cache(fcinfo, &mcxt);
	ArrayType  *params;

	if (cc != NULL && cc->pass_ready)
	{
		*prm = cc->prm;
		*p = cc->p;
		*sc = cc->sc;
		return cc;
	}
	params = PG_GETARG_ARRAYTYPE_P(params_arg);
	*p = logreg_params_nfeat(params);
	*prm = (const double *) ARR_DATA_PTR(params);
	mlsys_strata_view(PG_GETARG_ARRAYTYPE_P(cuts_arg), nclass, sc);
	cc = logreg_call_cache(fcinfo, *prm, *p);
	if (mlsys_agg_args_stable(fcinfo, Min(cuts_arg, params_arg), Max(cuts_arg, params_arg)))
	{
		Size		ncuts = (Size) sc->nclass * sc->nlev;
		double	   *cuts = MemoryContextAlloc(mcxt, sizeof(double) * ncuts);

		memcpy(cuts, sc->cuts, sizeof(double) * ncuts);
		cc->prm = MemoryContextAlloc(mcxt, sizeof(double) * (3 * *p + 3));
		memcpy(cc->prm, *prm, sizeof(double) * (3 * *p + 3));
		cc->sc = *sc;
		cc->sc.cuts = cuts;
		cc->pass_ready = true;
		*prm = cc->prm;
		*sc = cc->sc;
	}
	return cc;
}

/* a pass row's label (argument 1: 0 or 1) and feature vector (argument 2: p values), checked */
double
logreg_row_args(FunctionCallInfo fcinfo, int p, Float8ArrayView *v)
{
	double		y;

	mlsys_array_view(PG_GETARG_DATUM(2), v);
	if (v->hasnull || v->n != p)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg_plural("feature vector has %d element, expected %d",
							   "feature vector has %d elements, expected %d",
							   (unsigned long) (v->n), v->n, p)));
	y = PG_GETARG_FLOAT8(1);
	if (y != 0.0 && y != 1.0)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("binary labels must be 0 or 1, not %g", y)));
	return y;
}

/*
 * One row of a Newton pass: arguments (state, y, x, seed, ..., params) with
 * the cuts of the stratified split at argument cuts_arg and params at
 * params_arg; the rows of stratum leave_out are left out (0: the holdout,
 * or fold leave_out + 1).
 */
static Datum
logreg_step_row(FunctionCallInfo fcinfo, int cuts_arg, int params_arg, int leave_out)
{
	LogregState *s;
	LogregCallCache *cc;
	const double *prm;
	Float8ArrayView v;
	StrataCuts	sc;
	double		y;
	int			p;
	bool		known;

	known = mlsys_state_is_known(fcinfo);
	if (!known)
		mlsys_agg_context(fcinfo, "mlsys._logreg_step_accum");
	if (PG_ARGISNULL(1) || PG_ARGISNULL(2))
	{
		if (PG_ARGISNULL(0))
			PG_RETURN_NULL();
		PG_RETURN_DATUM(PG_GETARG_DATUM(0));
	}
	cc = logreg_pass_args(fcinfo, cuts_arg, params_arg, 2, &prm, &p, &sc);
	y = logreg_row_args(fcinfo, p, &v);
	if (leave_out > sc.nlev)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("fold must be between 1 and %d", sc.nlev + 1)));

	if (PG_ARGISNULL(0))
	{
		s = logreg_state_new(p);
		s->nlev = sc.nlev;
		s->leave_out = leave_out;
		s->split_key = mlsys_split_key(PG_GETARG_INT64(3));
	}
	else
	{
		s = (LogregState *) PG_GETARG_POINTER(0);
		if (!known)
		{
			logreg_state_check(s);
			mlsys_state_remember(fcinfo, s);
		}
		if (s->nfeat != p || s->nlev != sc.nlev)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_EXCEPTION),
					 errmsg_plural("feature vector has %d element, expected %d",
							   "feature vector has %d elements, expected %d",
							   (unsigned long) (p), p, s->nfeat)));
	}
	if (mlsys_row_stratum(v.data, p, y, s->split_key, &sc) == s->leave_out)
		PG_RETURN_POINTER(s);
	logreg_accum_row(s, prm, cc->inv_scale, v.data, y);
	PG_RETURN_POINTER(s);
}

PG_FUNCTION_INFO_V1(logreg_step_accum);
/*
 * logreg_step_accum(state bytea, y float8 (0 or 1), x float8[], seed int8,
 *                   cuts float8[], params float8[]): one Newton pass over
 * the training rows (those outside the stratified holdout of the cuts).
 */
Datum
logreg_step_accum(PG_FUNCTION_ARGS)
{
	mlsys_check_pass_args(fcinfo, false);
	return logreg_step_row(fcinfo, 4, 5, 0);
}

PG_FUNCTION_INFO_V1(logreg_fold_step_accum);
/*
 * logreg_fold_step_accum(state bytea, y float8, x float8[], seed int8,
 *                        cuts float8[], fold int, params float8[]): one
 * Newton pass over every fold but one (cross-validation).
 */
Datum
logreg_fold_step_accum(PG_FUNCTION_ARGS)
{
	mlsys_check_pass_args(fcinfo, true);
	return logreg_step_row(fcinfo, 4, 6, PG_GETARG_INT32(5) - 1);
}

/*
 * Per call site of mlsys._logreg_proba_fold: every fold's parameters and the
 * reciprocals of its scales. The rows of a scoring pass change fold nearly
 * every row, so a cache of one fold's reciprocals (logreg_call_cache) would
 * divide again on almost every row. Kept while the parameters are the same:
 * always when they are a constant or a query parameter, else compared by
 * value on each row.
 */
typedef struct FoldProbaCache
{
	int			len;			/* folds × (3p + 3) */
	int			p;
	bool		stable;			/* the parameters are a constant or a query parameter */
	double	   *prm;
	double	   *inv_scale;		/* folds × p */
	double	   *z;
} FoldProbaCache;

static const FoldProbaCache *
fold_proba_cache(FunctionCallInfo fcinfo, const double *params, int folds, int p)
{
	MemoryContext mcxt;
	void	  **slot = mlsys_call_cache(fcinfo, &mcxt);
	FoldProbaCache *fc = (FoldProbaCache *) *slot;
	int			len = folds * (3 * p + 3),
				k;

	if (fc != NULL && fc->len == len && fc->p == p &&
		(fc->stable || memcmp(fc->prm, params, sizeof(double) * len) == 0))
		return fc;
	if (fc == NULL || fc->len != len || fc->p != p)
	{
		fc = MemoryContextAllocZero(mcxt, sizeof(FoldProbaCache));
		fc->prm = MemoryContextAlloc(mcxt, sizeof(double) * len);
		fc->inv_scale = MemoryContextAlloc(mcxt, sizeof(double) * folds * p);
		fc->z = MemoryContextAlloc(mcxt, sizeof(double) * p);
		*slot = fc;
	}
	fc->len = 0;				/* not valid until every scale is checked */
	for (k = 0; k < folds; k++)
		logreg_inv_scales(params + (Size) k * (3 * p + 3), p, fc->inv_scale + (Size) k * p);
	memcpy(fc->prm, params, sizeof(double) * len);
	fc->len = len;
	fc->p = p;
	/* a constant or query parameter is the same in every row: no comparison needed */
	fc->stable = get_fn_expr_arg_stable(fcinfo->flinfo, 0);
	return fc;
}

PG_FUNCTION_INFO_V1(logreg_proba_fold);
/*
 * mlsys._logreg_proba_fold(params float8[], seed int8, folds int,
 * cuts float8[], y float8, x float8[]) → float8: P(y = 1) by the model of
 * the row's fold (its stratum under the cuts, strata.c); params holds folds
 * parameter vectors of 3p + 3 values, one after the other.
 */
Datum
logreg_proba_fold(PG_FUNCTION_ARGS)
{
	ArrayType  *params;
	Float8ArrayView v;
	StrataCuts	sc;
	const FoldProbaCache *fc;
	double		y;
	int			folds,
				p,
				k;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_ARGISNULL(2) || PG_ARGISNULL(3) ||
		PG_ARGISNULL(4) || PG_ARGISNULL(5))
		PG_RETURN_NULL();
	params = PG_GETARG_ARRAYTYPE_P(0);
	folds = PG_GETARG_INT32(2);
	mlsys_array_view(PG_GETARG_DATUM(5), &v);
	p = v.n;
	if (folds < 2 || folds > 1000 || v.hasnull || p < 1 || p > MLSYS_MAX_FEATURES ||
		ARR_NDIM(params) != 1 || ARR_HASNULL(params) || ARR_ELEMTYPE(params) != FLOAT8OID ||
		(int64) ARR_DIMS(params)[0] != (int64) folds * (3 * p + 3))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("parameters must hold %d vectors of %d values", Max(folds, 1), 3 * p + 3)));
	mlsys_strata_view(PG_GETARG_ARRAYTYPE_P(3), 2, &sc);
	y = PG_GETARG_FLOAT8(4);
	if (sc.nlev != folds - 1 || (y != 0.0 && y != 1.0))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("cuts must hold %d values per class and labels must be 0 or 1", folds - 1)));
	fc = fold_proba_cache(fcinfo, (const double *) ARR_DATA_PTR(params), folds, p);
	k = mlsys_row_stratum(v.data, p, y, mlsys_split_key(PG_GETARG_INT64(1)), &sc);
	PG_RETURN_FLOAT8(sigmoid(logreg_eta(fc->prm + (Size) k * (3 * p + 3), fc->inv_scale + (Size) k * p,
										p, v.data, fc->z)));
}

PG_FUNCTION_INFO_V1(logreg_step_combine);
/* logreg_step_combine(bytea, bytea): sums of two partial passes */
Datum
logreg_step_combine(PG_FUNCTION_ARGS)
{
	Datum		result;
	LogregState *a,
			   *b;

	mlsys_agg_context(fcinfo, "mlsys._logreg_step_combine");
	if (mlsys_combine_trivial(fcinfo, &result))
		return result;
	b = (LogregState *) PG_DETOAST_DATUM(PG_GETARG_DATUM(1));
	logreg_state_check(b);
	a = (LogregState *) PG_GETARG_POINTER(0);
	logreg_state_check(a);
	if (a->nfeat != b->nfeat || a->block_cap != b->block_cap || a->split_key != b->split_key ||
		a->nlev != b->nlev || a->leave_out != b->leave_out)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("cannot combine logistic regression states with different dimensions or splits")));
	logreg_state_absorb(a, b);
	PG_RETURN_POINTER(a);
}

/*
 * Add pass state b (checked, same dimensions and cap) to a: the gradient,
 * the Hessian, the counts, and b's buffered rows, through a's emptied block
 */
void
logreg_state_absorb(LogregState *a, const LogregState *b)
{
	int			m = a->nfeat + 1,
				i;

	logreg_flush(a);
	for (i = 0; i < m; i++)
		lg_grad(a)[i] += lg_grad(b)[i];
	for (i = 0; i < m * m; i++)
		lg_hess(a)[i] += lg_hess(b)[i];
	if (b->block_rows > 0)
	{
		memcpy(lg_block(a), lg_block(b), sizeof(double) * (Size) b->block_rows * m);
		memcpy(lg_block_y(a), lg_block_y(b), sizeof(double) * b->block_rows);
		memcpy(lg_block_cw(a), lg_block_cw(b), sizeof(double) * b->block_rows);
		a->block_rows = b->block_rows;
		logreg_flush(a);
	}
	a->n += b->n;
	a->loss += b->loss;
}

PG_FUNCTION_INFO_V1(logreg_proba);
/* mlsys._logreg_proba(params float8[], x float8[]) → float8: P(y = 1 | x) */
Datum
logreg_proba(PG_FUNCTION_ARGS)
{
	ArrayType  *params;
	Float8ArrayView v;
	int			p;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		PG_RETURN_NULL();
	params = PG_GETARG_ARRAYTYPE_P(0);
	p = logreg_params_nfeat(params);
	mlsys_array_view(PG_GETARG_DATUM(1), &v);
	if (v.hasnull || v.n != p)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg_plural("feature vector has %d element, expected %d",
							   "feature vector has %d elements, expected %d",
							   (unsigned long) (v.n), v.n, p)));
	{
		const double *prm = (const double *) ARR_DATA_PTR(params);
		LogregCallCache *cc = logreg_call_cache(fcinfo, prm, p);

		PG_RETURN_FLOAT8(sigmoid(logreg_eta(prm, cc->inv_scale, p, v.data, cc->z)));
	}
}

PG_FUNCTION_INFO_V1(logreg_holdout_accum);
/*
 * logreg_holdout_accum(state bytea, y float8 (0 or 1), x float8[], seed int8,
 *                      cuts float8[], params float8[], every_row bool): the
 * evaluation pass of a binary model. Appends (P(y = 1 | x), y) of each
 * holdout row (each row when every_row) to an AUC state (metrics.c), from
 * which mlsys_binary_holdout_metrics gives AUC, log loss and the confusion
 * counts: one call per row instead of a holdout test, a probability and six
 * metric aggregates.
 */
Datum
logreg_holdout_accum(PG_FUNCTION_ARGS)
{
	void	   *state = PG_ARGISNULL(0) ? NULL : PG_GETARG_POINTER(0);
	LogregCallCache *cc;
	bool		known = mlsys_state_is_known(fcinfo);
	const double *prm;
	Float8ArrayView v;
	StrataCuts	sc;
	double		y;
	int			p;

	if (!known)
		mlsys_agg_context(fcinfo, "mlsys._logreg_holdout_accum");
	if (PG_ARGISNULL(3) || PG_ARGISNULL(4) || PG_ARGISNULL(5) || PG_ARGISNULL(6))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("seed, cuts, parameters and every_row must not be null")));
	if (PG_ARGISNULL(1) || PG_ARGISNULL(2))
	{
		if (state == NULL)
			PG_RETURN_NULL();
		PG_RETURN_POINTER(state);
	}
	cc = logreg_pass_args(fcinfo, 4, 5, 2, &prm, &p, &sc);
	y = logreg_row_args(fcinfo, p, &v);
	if (!PG_GETARG_BOOL(6) &&
		mlsys_row_stratum(v.data, p, y, mlsys_split_key(PG_GETARG_INT64(3)), &sc) != 0)
	{
		if (state == NULL)
			PG_RETURN_NULL();
		PG_RETURN_POINTER(state);
	}
	/* the AUC state is checked when this call site meets it first (mlsys_auc_add) */
	state = mlsys_auc_add(state, known,
						  sigmoid(logreg_eta(prm, cc->inv_scale, p, v.data, cc->z)), y > 0);
	mlsys_state_remember(fcinfo, state);
	PG_RETURN_POINTER(state);
}

/* probability of the positive class for a cached logistic model and raw x */
double
logreg_model_proba(const LinearModel *lm, const double *x)
{
	double		eta = lm->intercept;
	int			j;

	for (j = 0; j < lm->nfeat; j++)
		eta += lm->coef[j] * (x[j] - lm->center[j]) * lm->inv_scale[j];
	return sigmoid(eta);
}

/* copy a pass's state out of its datum (validated) */
LogregState *
logreg_state_from_datum(Datum d)
{
	LogregState *s = (LogregState *) PG_DETOAST_DATUM_COPY(d);

	logreg_state_check(s);
	return s;
}

PG_FUNCTION_INFO_V1(row_in_holdout);
/* mlsys._in_holdout(y float8, x float8[], seed int8, test_size float8) → bool */
Datum
row_in_holdout(PG_FUNCTION_ARGS)
{
	Float8ArrayView v;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_ARGISNULL(2) || PG_ARGISNULL(3))
		PG_RETURN_NULL();
	mlsys_array_view(PG_GETARG_DATUM(1), &v);
	if (v.hasnull)
		PG_RETURN_NULL();
	PG_RETURN_BOOL(mlsys_in_holdout(mlsys_row_hash_unchecked(v.data, v.n, PG_GETARG_FLOAT8(0)),
									mlsys_split_key(PG_GETARG_INT64(2)), PG_GETARG_FLOAT8(3)));
}

PG_FUNCTION_INFO_V1(row_in_stratified_holdout);
/*
 * mlsys._in_holdout(y float8 (class index), x float8[], seed int8,
 * cuts float8[] (one per class)) → bool: the stratified holdout of a
 * classifier (strata.c).
 */
Datum
row_in_stratified_holdout(PG_FUNCTION_ARGS)
{
	Float8ArrayView v;
	StrataCuts	sc;
	double		y;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_ARGISNULL(2) || PG_ARGISNULL(3))
		PG_RETURN_NULL();
	mlsys_array_view(PG_GETARG_DATUM(1), &v);
	if (v.hasnull)
		PG_RETURN_NULL();
	mlsys_strata_view(PG_GETARG_ARRAYTYPE_P(3), -1, &sc);
	y = PG_GETARG_FLOAT8(0);
	mlsys_class_index(y, sc.nclass);
	PG_RETURN_BOOL(mlsys_row_stratum(v.data, v.n, y, mlsys_split_key(PG_GETARG_INT64(2)), &sc) == 0);
}

PG_FUNCTION_INFO_V1(stratified_fold_of_row);
/*
 * mlsys._fold(y float8 (class index), x float8[], seed int8, folds int,
 * cuts float8[]) → int: a classifier row's fold (1 .. folds), stratified.
 */
Datum
stratified_fold_of_row(PG_FUNCTION_ARGS)
{
	Float8ArrayView v;
	StrataCuts	sc;
	ArrayType  *cuts;
	int			folds;
	double		y;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_ARGISNULL(2) || PG_ARGISNULL(3) || PG_ARGISNULL(4))
		PG_RETURN_NULL();
	mlsys_array_view(PG_GETARG_DATUM(1), &v);
	if (v.hasnull)
		PG_RETURN_NULL();
	folds = PG_GETARG_INT32(3);
	cuts = PG_GETARG_ARRAYTYPE_P(4);
	if (folds < 2 || folds > 1000 || ARR_NDIM(cuts) != 1 || ARR_DIMS(cuts)[0] % (folds - 1) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("cuts must hold %d values per class", Max(folds - 1, 1))));
	mlsys_strata_view(cuts, ARR_DIMS(cuts)[0] / (folds - 1), &sc);
	y = PG_GETARG_FLOAT8(0);
	mlsys_class_index(y, sc.nclass);
	PG_RETURN_INT32(mlsys_row_stratum(v.data, v.n, y, mlsys_split_key(PG_GETARG_INT64(2)), &sc) + 1);
}
