/*
 * evaluate.c — the evaluation pass of mlsys.train and the regression metrics.
 *
 * mlsys._regression_holdout(y, x, seed, test_size, coef) scores the rows of
 * the holdout split (the same content hash as the training pass decides
 * which) with a linear model and accumulates regression metrics in a float8[5]
 * state, merged across parallel workers by Chan et al.'s update. The final
 * function returns {n, rmse, mae, r2} with scikit-learn's definitions.
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "utils/array.h"

#include "mlsys.h"

/*
 * Regression metrics state, a float8[5] updated in place:
 * { n, Σ|e|, Σe², mean(y), Σ(y − ȳ)² } with e = prediction − y.
 */
static void
regmetrics_add(double *st, double pred, double y)
{
	double		e = pred - y;
	double		d;

	st[0] += 1.0;
	st[1] += fabs(e);
	st[2] += e * e;
	d = y - st[3];
	st[3] += d / st[0];
	st[4] += d * (y - st[3]);
}

static double *
regmetrics_state(ArrayType *a)
{
	if (ARR_NDIM(a) != 1 || ARR_DIMS(a)[0] != 5 || ARR_HASNULL(a) ||
		ARR_ELEMTYPE(a) != FLOAT8OID)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("invalid regression metrics state")));
	return (double *) ARR_DATA_PTR(a);
}

typedef struct HoldoutCache
{
	int			nfeat;
	bool		keyed;			/* split_key computed for seed */
	int64		seed;
	uint64		split_key;
	double	   *x;
} HoldoutCache;

PG_FUNCTION_INFO_V1(linreg_holdout_accum);
/*
 * linreg_holdout_accum(state float8[], y float8, x float8[], seed int8,
 *                      test_size float8, coef float8[]): the evaluation pass of
 * mlsys.train. Scores the holdout rows (every row when test_size is 0).
 */
Datum
linreg_holdout_accum(PG_FUNCTION_ARGS)
{
	ArrayType  *state;
	ArrayType  *coefa;
	HoldoutCache *hc;
	double	   *coef;
	double		y,
				test_size,
				pred;
	bool		finite;
	Float8ArrayView v;
	int			p;

	mlsys_agg_context(fcinfo, "mlsys._regression_holdout_accum");
	if (PG_ARGISNULL(0))
	{
		double		zeros[5] = {0, 0, 0, 0, 0};

		state = mlsys_float8_array(zeros, 5);
	}
	else
		state = PG_GETARG_ARRAYTYPE_P(0);
	if (PG_ARGISNULL(1) || PG_ARGISNULL(2))
		PG_RETURN_ARRAYTYPE_P(state);
	if (PG_ARGISNULL(3) || PG_ARGISNULL(4) || PG_ARGISNULL(5))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("seed, test_size and coefficients must not be null")));
	coefa = PG_GETARG_ARRAYTYPE_P(5);
	if (ARR_NDIM(coefa) != 1 || ARR_HASNULL(coefa) || ARR_DIMS(coefa)[0] < 2)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("coefficients must be a one-dimensional float8 array without nulls")));
	p = ARR_DIMS(coefa)[0] - 1;
	coef = (double *) ARR_DATA_PTR(coefa);

	hc = (HoldoutCache *) fcinfo->flinfo->fn_extra;
	if (hc == NULL || hc->nfeat != p)
	{
		hc = MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt, sizeof(HoldoutCache));
		hc->nfeat = p;
		hc->x = MemoryContextAlloc(fcinfo->flinfo->fn_mcxt, sizeof(double) * p);
		fcinfo->flinfo->fn_extra = hc;
	}
	if (!hc->keyed || hc->seed != PG_GETARG_INT64(3))
	{
		hc->seed = PG_GETARG_INT64(3);
		hc->split_key = mlsys_split_key(hc->seed);
		hc->keyed = true;
	}
	y = PG_GETARG_FLOAT8(1);
	test_size = PG_GETARG_FLOAT8(4);
	mlsys_array_view(PG_GETARG_DATUM(2), &v);
	if (v.hasnull || v.n != p)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("feature vector must have %d elements and no nulls", p)));
	/* hash the row where it lies; copy only the holdout rows */
	if (test_size > 0.0 &&
		!mlsys_in_holdout(mlsys_row_hash(v.data, p, y, &finite), hc->split_key, test_size))
		PG_RETURN_ARRAYTYPE_P(state);
	memcpy(hc->x, v.data, sizeof(double) * p);

	pred = coef[0] + mlsys_dot(coef + 1, hc->x, p);
	regmetrics_add(regmetrics_state(state), pred, y);
	PG_RETURN_ARRAYTYPE_P(state);
}

PG_FUNCTION_INFO_V1(regression_metrics_combine);
/* regression_metrics_combine(float8[], float8[]): Chan's merge of two states */
Datum
regression_metrics_combine(PG_FUNCTION_ARGS)
{
	ArrayType  *a = PG_GETARG_ARRAYTYPE_P(0);
	ArrayType  *b = PG_GETARG_ARRAYTYPE_P(1);
	double	   *sa,
			   *sb;
	double		n,
				d;

	mlsys_agg_context(fcinfo, "mlsys._regression_metrics_combine");
	sa = regmetrics_state(a);
	sb = regmetrics_state(b);
	if (sb[0] == 0)
		PG_RETURN_ARRAYTYPE_P(a);
	if (sa[0] == 0)
	{
		memcpy(sa, sb, sizeof(double) * 5);
		PG_RETURN_ARRAYTYPE_P(a);
	}
	n = sa[0] + sb[0];
	d = sb[3] - sa[3];
	sa[4] += sb[4] + d * d * sa[0] * sb[0] / n;
	sa[3] += d * sb[0] / n;
	sa[1] += sb[1];
	sa[2] += sb[2];
	sa[0] = n;
	PG_RETURN_ARRAYTYPE_P(a);
}

PG_FUNCTION_INFO_V1(regression_metrics_final);
/*
 * regression_metrics_final(float8[]) → float8[] {n, rmse, mae, r2}.
 * r2 = 1 − SSE / Σ(y − ȳ)²; for a constant y it is 1 when every prediction
 * is exact and 0 otherwise (scikit-learn's r2_score with force_finite).
 */
Datum
regression_metrics_final(PG_FUNCTION_ARGS)
{
	double	   *st = regmetrics_state(PG_GETARG_ARRAYTYPE_P(0));
	double		out[4];

	if (st[0] == 0)
		PG_RETURN_NULL();
	out[0] = st[0];
	out[1] = sqrt(st[2] / st[0]);
	out[2] = st[1] / st[0];
	if (st[4] > 0)
		out[3] = 1.0 - st[2] / st[4];
	else
		out[3] = st[2] == 0 ? 1.0 : 0.0;
	PG_RETURN_ARRAYTYPE_P(mlsys_float8_array(out, 4));
}
