/*
 * logreg_folds.c — one Newton pass for every fold of a binary model's
 * cross-validation at once: mlsys._logreg_folds_step_agg. Its state holds one
 * pass state (logistic.h) per fold; a row, hashed once, goes to the state of
 * every fold but its own, at that fold's parameters. So F folds' passes cost
 * one scan instead of F, and each fold's state is the same, row for row, as
 * mlsys._logreg_fold_step_agg's for that fold alone. Only the folds asked
 * for (active) are accumulated: a fold whose fit has converged skips it.
 * The state's size depends on p and F only; F is at most LOGREG_MAX_JOINT_FOLDS.
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "utils/array.h"
#include "utils/memutils.h"

#include "models/logistic/logistic.h"

#define LOGREG_FOLDS_LAYOUT 0x4C460001	/* "LF", layout version 1 */

typedef struct LogregFoldsState
{
	int32		vl_len_;
	uint32		layout;
	int32		nfolds;			/* F */
	int32		nfeat;			/* p */
	int64		sub_size;		/* bytes of each fold's pass state */
	/* then F pass states (LogregState, leave_out = fold − 1) of sub_size bytes each */
} LogregFoldsState;

StaticAssertDecl(sizeof(LogregFoldsState) % sizeof(double) == 0,
				 "LogregFoldsState must keep its pass states aligned");

static inline LogregState *
lf_fold(const LogregFoldsState *s, int j)
{
	return (LogregState *) ((char *) s + sizeof(LogregFoldsState) + (Size) j * s->sub_size);
}

static void
lf_state_check(const LogregFoldsState *s)
{
	int			j;

	if (VARATT_IS_SHORT(s) || VARSIZE(s) < sizeof(LogregFoldsState) ||
		s->layout != LOGREG_FOLDS_LAYOUT ||
		s->nfolds < 2 || s->nfolds > LOGREG_MAX_JOINT_FOLDS ||
		s->nfeat < 1 || s->nfeat > MLSYS_MAX_FEATURES ||
		s->sub_size < (int64) sizeof(LogregState) || s->sub_size % sizeof(double) != 0 ||
		(int64) VARSIZE(s) != (int64) sizeof(LogregFoldsState) + s->nfolds * s->sub_size)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("invalid cross-validation pass aggregate state")));
	for (j = 0; j < s->nfolds; j++)
	{
		const LogregState *f = lf_fold(s, j);

		logreg_state_check(f);
		if ((int64) VARSIZE(f) != s->sub_size || f->nfeat != s->nfeat ||
			f->leave_out != j || f->nlev != s->nfolds - 1)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("invalid cross-validation pass aggregate state")));
	}
}

/* per call site: the checked arguments of the pass (the same in every row) */
typedef struct FoldsCallCache
{
	int			nfolds;
	int			p;
	double	   *prm;			/* F parameter vectors of 3p + 3 */
	double	   *inv_scale;		/* F × p */
	bool	   *active;
	StrataCuts	sc;
	uint64		split_key;
	bool		stable;			/* the arguments are the same in every row */
} FoldsCallCache;

/*
 * The pass's arguments, checked and copied on the first row; later rows
 * reuse the copies when the arguments are constants or query parameters
 * (mlsys_agg_args_stable), and check them again otherwise.
 */
static FoldsCallCache *
folds_call_args(FunctionCallInfo fcinfo)
{
	MemoryContext mcxt;
	void	  **slot = mlsys_call_cache(fcinfo, &mcxt);
	FoldsCallCache *cc = (FoldsCallCache *) *slot;
	ArrayType  *params,
			   *active;
	StrataCuts	sc;
	int			F,
				p,
				j,
				len;

	if (cc != NULL && cc->stable)
		return cc;
	if (PG_ARGISNULL(3) || PG_ARGISNULL(4) || PG_ARGISNULL(5) || PG_ARGISNULL(6))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("seed, cuts, parameters and active folds must not be null")));
	active = PG_GETARG_ARRAYTYPE_P(6);
	if (ARR_NDIM(active) != 1 || ARR_HASNULL(active) || ARR_ELEMTYPE(active) != BOOLOID)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("active folds must be a boolean array without nulls")));
	F = ARR_DIMS(active)[0];
	if (F < 2 || F > LOGREG_MAX_JOINT_FOLDS)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("a joint pass takes between 2 and %d folds", LOGREG_MAX_JOINT_FOLDS)));
	mlsys_strata_view(PG_GETARG_ARRAYTYPE_P(4), 2, &sc);
	if (sc.nlev != F - 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("cuts must hold %d values per class", F - 1)));
	params = PG_GETARG_ARRAYTYPE_P(5);
	if (ARR_NDIM(params) != 1 || ARR_HASNULL(params) || ARR_ELEMTYPE(params) != FLOAT8OID ||
		ARR_DIMS(params)[0] % F != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("parameters must hold %d vectors of 3p + 3 values", F)));
	len = ARR_DIMS(params)[0] / F;
	if (len < 6 || (len - 3) % 3 != 0 || (len - 3) / 3 > MLSYS_MAX_FEATURES)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("parameters must hold %d vectors of 3p + 3 values", F)));
	p = (len - 3) / 3;

	if (cc == NULL)
		cc = MemoryContextAllocZero(mcxt, sizeof(FoldsCallCache));
	if (cc->prm == NULL || cc->nfolds != F || cc->p != p)
	{
		cc->prm = MemoryContextAlloc(mcxt, sizeof(double) * (Size) F * len);
		cc->inv_scale = MemoryContextAlloc(mcxt, sizeof(double) * (Size) F * p);
		cc->active = MemoryContextAlloc(mcxt, sizeof(bool) * F);
		cc->sc.cuts = MemoryContextAlloc(mcxt, sizeof(double) * 2 * (F - 1));
	}
	cc->nfolds = F;
	cc->p = p;
	memcpy(cc->prm, ARR_DATA_PTR(params), sizeof(double) * (Size) F * len);
	memcpy(cc->active, ARR_DATA_PTR(active), sizeof(bool) * F);
	memcpy((double *) cc->sc.cuts, sc.cuts, sizeof(double) * 2 * (F - 1));
	cc->sc.nclass = sc.nclass;
	cc->sc.nlev = sc.nlev;
	cc->split_key = mlsys_split_key(PG_GETARG_INT64(3));
	for (j = 0; j < F; j++)
		logreg_inv_scales(cc->prm + (Size) j * len, p, cc->inv_scale + (Size) j * p);
	cc->stable = mlsys_agg_args_stable(fcinfo, 3, 6);
	*slot = cc;
	return cc;
}

PG_FUNCTION_INFO_V1(logreg_folds_step_accum);
/*
 * logreg_folds_step_accum(state bytea, y float8 (0 or 1), x float8[],
 *                         seed int8, cuts float8[], params float8[],
 *                         active bool[]): one row of the joint pass, added
 * to the state of every active fold but its own.
 */
Datum
logreg_folds_step_accum(PG_FUNCTION_ARGS)
{
	LogregFoldsState *s;
	FoldsCallCache *cc;
	Float8ArrayView v;
	double		y;
	int			F,
				p,
				own,
				j;
	bool		known = mlsys_state_is_known(fcinfo);

	if (!known)
		mlsys_agg_context(fcinfo, "mlsys._logreg_folds_step_accum");
	if (PG_ARGISNULL(1) || PG_ARGISNULL(2))
	{
		if (PG_ARGISNULL(0))
			PG_RETURN_NULL();
		PG_RETURN_DATUM(PG_GETARG_DATUM(0));
	}
	cc = folds_call_args(fcinfo);
	F = cc->nfolds;
	p = cc->p;
	y = logreg_row_args(fcinfo, p, &v);

	if (PG_ARGISNULL(0))
	{
		LogregState *proto = logreg_state_new(p);
		Size		sub = VARSIZE(proto),
					size = sizeof(LogregFoldsState) + (Size) F * sub;

		s = palloc0(size);		/* the executor moves it into the aggregate context */
		SET_VARSIZE(s, size);
		s->layout = LOGREG_FOLDS_LAYOUT;
		s->nfolds = F;
		s->nfeat = p;
		s->sub_size = (int64) sub;
		for (j = 0; j < F; j++)
		{
			LogregState *f = lf_fold(s, j);

			memcpy(f, proto, sub);
			f->nlev = F - 1;
			f->leave_out = j;
			f->split_key = cc->split_key;
		}
		pfree(proto);
	}
	else
	{
		s = (LogregFoldsState *) PG_GETARG_POINTER(0);
		if (!known)
		{
			lf_state_check(s);
			if (s->nfolds != F || s->nfeat != p || lf_fold(s, 0)->split_key != cc->split_key)
				ereport(ERROR,
						(errcode(ERRCODE_DATA_EXCEPTION),
						 errmsg("the pass state does not match its arguments")));
		}
	}
	mlsys_state_remember(fcinfo, s);

	own = mlsys_row_stratum(v.data, p, y, cc->split_key, &cc->sc);
	for (j = 0; j < F; j++)
		if (j != own && cc->active[j])
			logreg_accum_row(lf_fold(s, j), cc->prm + (Size) j * (3 * p + 3),
							 cc->inv_scale + (Size) j * p, v.data, y);
	PG_RETURN_POINTER(s);
}

PG_FUNCTION_INFO_V1(logreg_folds_step_combine);
/* logreg_folds_step_combine(bytea, bytea): each fold's sums of two partial passes */
Datum
logreg_folds_step_combine(PG_FUNCTION_ARGS)
{
	Datum		result;
	LogregFoldsState *a,
			   *b;
	int			j;

	mlsys_agg_context(fcinfo, "mlsys._logreg_folds_step_combine");
	if (mlsys_combine_trivial(fcinfo, &result))
		return result;
	b = (LogregFoldsState *) PG_DETOAST_DATUM(PG_GETARG_DATUM(1));
	lf_state_check(b);
	a = (LogregFoldsState *) PG_GETARG_POINTER(0);
	lf_state_check(a);
	if (a->nfolds != b->nfolds || a->nfeat != b->nfeat || a->sub_size != b->sub_size ||
		lf_fold(a, 0)->split_key != lf_fold(b, 0)->split_key)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("cannot combine cross-validation pass states with different dimensions or splits")));
	for (j = 0; j < a->nfolds; j++)
		logreg_state_absorb(lf_fold(a, j), lf_fold(b, j));
	PG_RETURN_POINTER(a);
}

/*
 * Fold j's pass state of a joint pass's result (a datum of
 * mlsys._logreg_folds_step_agg), copied into the current context and
 * flushed, as run_newton_pass returns a single fold's.
 */
LogregState *
logreg_folds_state_fold(Datum d, int folds, int j)
{
	LogregFoldsState *s = (LogregFoldsState *) PG_DETOAST_DATUM(d);
	LogregState *f;

	lf_state_check(s);
	if (s->nfolds != folds || j < 0 || j >= folds)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("the joint pass has %d folds, not %d", s->nfolds, folds)));
	f = palloc(s->sub_size);
	memcpy(f, lf_fold(s, j), s->sub_size);
	logreg_flush(f);
	return f;
}
