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
#include "utils/builtins.h"

#include "models/linear/linear.h"

typedef struct HoldoutCache
{
	int			nfeat;
	bool		keyed;			/* split_key computed for seed */
	int64		seed;
	uint64		split_key;
	double	   *x;
} HoldoutCache;

/*
 * The arguments (seed int8, test_size float8, coef float8[]) at 3, 4 and 5
 * of an evaluation pass's transition function, checked; the row buffer and
 * split key in the transition function's call cache (mlsys_call_cache).
 */
static HoldoutCache *
holdout_args(FunctionCallInfo fcinfo, int *p_out, double **coef_out)
{
	ArrayType  *coefa;
	HoldoutCache *hc;
	MemoryContext mcxt;
	void	  **slot;
	int			p;

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
	*p_out = p;
	*coef_out = (double *) ARR_DATA_PTR(coefa);

	slot = mlsys_call_cache(fcinfo, &mcxt);
	hc = (HoldoutCache *) *slot;
	if (hc == NULL || hc->nfeat != p)
	{
		hc = MemoryContextAllocZero(mcxt, sizeof(HoldoutCache));
		hc->nfeat = p;
		hc->x = MemoryContextAlloc(mcxt, sizeof(double) * p);
		*slot = hc;
	}
	if (!hc->keyed || hc->seed != PG_GETARG_INT64(3))
	{
		hc->seed = PG_GETARG_INT64(3);
		hc->split_key = mlsys_split_key(hc->seed);
		hc->keyed = true;
	}
	return hc;
}

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
	hc = holdout_args(fcinfo, &p, &coef);
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

/* the state of mlsys._regression_eval: holdout metrics and two baseline profiles */
#define REGRESSION_EVAL_LAYOUT 0x52450001	/* "RE", layout version 1 */
typedef struct RegressionEvalState
{
	int32		vl_len_;
	uint32		layout;
	double		metrics[5];		/* the regression metrics state of metrics.c */
	ProfileGrid prediction;		/* every row whose feature columns are all present */
	ProfileGrid target;			/* every row */
} RegressionEvalState;

/* reject bytes that are not a regression evaluation state */
static void
regression_eval_check(const RegressionEvalState *s)
{
	if (VARATT_IS_SHORT(s) || VARSIZE(s) != sizeof(RegressionEvalState) ||
		s->layout != REGRESSION_EVAL_LAYOUT ||
		!profile_grid_valid(&s->prediction) || !profile_grid_valid(&s->target))
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("invalid regression evaluation state")));
}

/* a state from another process, checked */
static RegressionEvalState *
regression_eval_arg(FunctionCallInfo fcinfo, int argno)
{
	RegressionEvalState *s = (RegressionEvalState *) PG_GETARG_BYTEA_P(argno);

	regression_eval_check(s);
	return s;
}

PG_FUNCTION_INFO_V1(regression_eval_accum);
/*
 * regression_eval_accum(state bytea, y float8, x float8[], seed int8,
 * test_size float8, coef float8[], complete bool, target text): the
 * evaluation pass of mlsys.train that also gathers the drift baseline's
 * prediction and target. The holdout rows (every row when test_size is 0)
 * go to the metrics as in mlsys._regression_holdout; every row's target to
 * the target's profile; the prediction of every row whose feature columns
 * are all present (complete, and no missing or NaN value in x) to the
 * prediction's.
 */
Datum
regression_eval_accum(PG_FUNCTION_ARGS)
{
	MemoryContext aggcxt = mlsys_agg_context(fcinfo, "mlsys._regression_eval_accum");
	RegressionEvalState *s;
	HoldoutCache *hc;
	double	   *coef;
	double		y = 0,
				test_size;
	bool		has_y = !PG_ARGISNULL(1),
				usable;		/* x has p values, none missing */
	Float8ArrayView v;
	int			p;

	if (PG_ARGISNULL(0))
	{
		s = MemoryContextAllocZero(aggcxt, sizeof(RegressionEvalState));
		SET_VARSIZE(s, sizeof(RegressionEvalState));
		s->layout = REGRESSION_EVAL_LAYOUT;
		profile_grid_init(&s->prediction);
		profile_grid_init(&s->target);
	}
	else
	{
		/* an INITCOND can hand us any bytes: checked once per state */
		s = (RegressionEvalState *) PG_GETARG_POINTER(0);
		if (!mlsys_state_is_known(fcinfo))
		{
			regression_eval_check(s);
			mlsys_state_remember(fcinfo, s);
		}
	}
	if (has_y)
	{
		y = PG_GETARG_FLOAT8(1);
		if (!profile_grid_add(&s->target, y))
			profile_reject_infinite(PG_ARGISNULL(7) ? "target" : text_to_cstring(PG_GETARG_TEXT_PP(7)));
	}
	else
		s->target.nulls += 1;
	if (PG_ARGISNULL(2))
	{
		s->prediction.nulls += 1;
		PG_RETURN_POINTER(s);
	}
	hc = holdout_args(fcinfo, &p, &coef);
	test_size = PG_GETARG_FLOAT8(4);
	mlsys_array_view(PG_GETARG_DATUM(2), &v);
	usable = !v.hasnull && v.n == p;
	if (has_y && !usable)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("feature vector must have %d elements and no nulls", p)));
	if (!usable || (!PG_ARGISNULL(6) && !PG_GETARG_BOOL(6)))
		s->prediction.nulls += 1;
	else
	{
		/* the baseline's prediction; four partial sums keep the adds independent */
		const double *w = coef + 1;
		const char *d = v.data;
		double		a0 = 0,
					a1 = 0,
					a2 = 0,
					a3 = 0,
					x4[4],
					eta;
		int			j;

		for (j = 0; j + 4 <= p; j += 4)
		{
			memcpy(x4, d + j * sizeof(double), sizeof(x4));
			a0 += w[j] * x4[0];
			a1 += w[j + 1] * x4[1];
			a2 += w[j + 2] * x4[2];
			a3 += w[j + 3] * x4[3];
		}
		for (; j < p; j++)
		{
			memcpy(x4, d + j * sizeof(double), sizeof(double));
			a0 += w[j] * x4[0];
		}
		eta = coef[0] + ((a0 + a1) + (a2 + a3));
		if (!profile_grid_add(&s->prediction, eta))
			profile_reject_infinite("<prediction>");
	}
	/* the holdout's metrics (an incomplete row with a target was imputed: it counts) */
	if (has_y && (test_size <= 0.0 ||
				  mlsys_in_holdout(mlsys_row_hash_unchecked(v.data, p, y), hc->split_key, test_size)))
	{
		memcpy(hc->x, v.data, sizeof(double) * p);
		regmetrics_add(s->metrics, coef[0] + mlsys_dot(coef + 1, hc->x, p), y);
	}
	PG_RETURN_POINTER(s);
}

PG_FUNCTION_INFO_V1(regression_eval_combine);
/* combine function of mlsys._regression_eval */
Datum
regression_eval_combine(PG_FUNCTION_ARGS)
{
	RegressionEvalState *a,
			   *b;
	Datum		trivial;

	(void) mlsys_agg_context(fcinfo, "mlsys._regression_eval_combine");
	if (mlsys_combine_trivial(fcinfo, &trivial))
		return trivial;
	a = regression_eval_arg(fcinfo, 0);
	b = regression_eval_arg(fcinfo, 1);
	regmetrics_merge(a->metrics, b->metrics);
	profile_grid_merge(&a->prediction, &b->prediction);
	profile_grid_merge(&a->target, &b->target);
	PG_RETURN_POINTER(a);
}

/*
 * What a finished mlsys._regression_eval state holds: {n, rmse, mae, r2} of
 * the holdout (false when it had no rows), the rows it read, and the
 * prediction's and target's baseline profiles as JSON.
 */
bool
regression_eval_result(Datum state, const char *target, double *metrics, int64 *rows,
					   char **prediction_json, char **target_json)
{
	RegressionEvalState *s = (RegressionEvalState *) DatumGetByteaP(state);
	StringInfoData buf;

	if (VARSIZE(s) != sizeof(RegressionEvalState) || s->layout != REGRESSION_EVAL_LAYOUT)
		elog(ERROR, "invalid regression evaluation state");
	initStringInfo(&buf);
	profile_grid_json(&buf, &s->prediction, "<prediction>");
	*prediction_json = buf.data;
	initStringInfo(&buf);
	profile_grid_json(&buf, &s->target, target);
	*target_json = buf.data;
	*rows = (int64) (s->target.n + s->target.nulls);
	return regmetrics_result(s->metrics, metrics);
}
