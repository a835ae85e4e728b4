/*
 * evaluate.c — the evaluation pass of mlsys.train.
 *
 * mlsys._regression_holdout(y, x, seed, test_size, coef) scores the rows of
 * the holdout split (the same content hash as the training pass decides
 * which) with a linear model and accumulates the regression metrics state of
 * metrics.c; its final function returns {n, rmse, mae, r2}.
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "utils/array.h"

#include "models/linear/linear.h"

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
		!mlsys_in_holdout(mlsys_row_hash_unchecked(v.data, p, y), hc->split_key, test_size))
		PG_RETURN_ARRAYTYPE_P(state);
	memcpy(hc->x, v.data, sizeof(double) * p);

	pred = coef[0] + mlsys_dot(coef + 1, hc->x, p);
	regmetrics_add(regmetrics_state(state), pred, y);
	PG_RETURN_ARRAYTYPE_P(state);
}
