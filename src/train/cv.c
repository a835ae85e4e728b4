/*
 * cv.c — mlsys.cross_validate for linear models.
 *
 * Folds are content-based like the holdout split: a row's fold is
 * floor(u · folds) + 1 with u the uniform number its content hash and the
 * seed give (split.c), so fold 1 of 4 is exactly the holdout of test_size
 * 0.25, and the same data in another order gets the same folds.
 *
 * Two passes over the relation whatever the number of folds: pass 1 groups
 * the rows by fold and accumulates one linear regression state per fold
 * (parallel query may split it); the model of fold k is solved from the
 * merge of every other fold's state (sufficient statistics add up). Pass 2
 * scores each row with the model of its fold and aggregates rmse, mae and r2
 * per fold.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/float.h"
#include "utils/guc.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"
#include "utils/tuplestore.h"

#include "train/train.h"

/* the most folds cross_validate accepts */
#define MLSYS_MAX_FOLDS 1000


PG_FUNCTION_INFO_V1(fold_of_row);
/* mlsys._fold(y float8, x float8[], seed int8, folds int) → int: a row's fold */
Datum
fold_of_row(PG_FUNCTION_ARGS)
{
	Float8ArrayView v;
	int			folds;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_ARGISNULL(2) || PG_ARGISNULL(3))
		PG_RETURN_NULL();
	folds = PG_GETARG_INT32(3);
	if (folds < 1 || folds > MLSYS_MAX_FOLDS)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("folds must be between 1 and %d", MLSYS_MAX_FOLDS)));
	mlsys_array_view(PG_GETARG_DATUM(1), &v);
	if (v.hasnull)
		PG_RETURN_NULL();
	PG_RETURN_INT32(mlsys_fold_of(mlsys_row_hash_unchecked(v.data, v.n, PG_GETARG_FLOAT8(0)),
								  mlsys_split_key(PG_GETARG_INT64(2)), folds));
}

PG_FUNCTION_INFO_V1(predict_fold);
/*
 * mlsys._predict_fold(coefs float8[], seed int8, folds int, y float8,
 * x float8[]) → float8: the prediction for a row by the model of its fold;
 * coefs holds folds vectors of p + 1 values (intercept first), one after the other.
 */
Datum
predict_fold(PG_FUNCTION_ARGS)
{
	ArrayType  *coefs;
	Float8ArrayView v;
	const double *c;
	double	   *x;
	int			folds,
				p,
				k;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_ARGISNULL(2) || PG_ARGISNULL(3) || PG_ARGISNULL(4))
		PG_RETURN_NULL();
	coefs = PG_GETARG_ARRAYTYPE_P(0);
	folds = PG_GETARG_INT32(2);
	mlsys_array_view(PG_GETARG_DATUM(4), &v);
	p = v.n;
	if (folds < 1 || folds > MLSYS_MAX_FOLDS || v.hasnull || ARR_NDIM(coefs) != 1 ||
		ARR_HASNULL(coefs) || ARR_ELEMTYPE(coefs) != FLOAT8OID ||
		(int64) ARR_DIMS(coefs)[0] != (int64) folds * (p + 1))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("coefficients must hold %d vectors of %d values", Max(folds, 1), p + 1)));
	x = fcinfo->flinfo->fn_extra;
	if (x == NULL || GetMemoryChunkSpace(x) < sizeof(double) * (Size) Max(p, 1))
	{
		x = MemoryContextAlloc(fcinfo->flinfo->fn_mcxt, sizeof(double) * (Size) Max(p, 1));
		fcinfo->flinfo->fn_extra = x;
	}
	memcpy(x, v.data, sizeof(double) * (Size) p);
	k = mlsys_fold_of(mlsys_row_hash_unchecked(v.data, p, PG_GETARG_FLOAT8(3)),
					  mlsys_split_key(PG_GETARG_INT64(1)), folds) - 1;
	c = (const double *) ARR_DATA_PTR(coefs) + (Size) k * (p + 1);
	PG_RETURN_FLOAT8(c[0] + mlsys_dot(c + 1, x, p));
}

/* error context: what was being cross-validated */
static void
cv_error_context(void *arg)
{
	TrainArgs  *a = (TrainArgs *) arg;

	errcontext("cross-validating on relation \"%s\"", a->relname ? a->relname : "?");
}

PG_FUNCTION_INFO_V1(cross_validate);
/*
 * mlsys.cross_validate(relation, target, features, algorithm, hyperparams,
 *                      folds, seed) RETURNS TABLE (fold int, metrics jsonb)
 */
Datum
cross_validate(PG_FUNCTION_ARGS)
{
	TrainArgs	a;
	ErrorContextCallback errcb;
	int32		folds;
	MemoryContext cvcxt,
				oldcxt;
	Tuplestorestate *store;
	TupleDesc	tupdesc;

	memset(&a, 0, sizeof(a));
	mlsys_training_source_args(fcinfo, &a, 0);
	if (PG_ARGISNULL(5) || PG_ARGISNULL(6))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("folds and seed must not be null")));
	folds = PG_GETARG_INT32(5);
	a.seed = PG_GETARG_INT32(6);
	if (folds < 2 || folds > MLSYS_MAX_FOLDS)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("folds must be between 2 and %d, not %d", MLSYS_MAX_FOLDS, folds)));
	errcb.callback = cv_error_context;
	errcb.arg = &a;
	errcb.previous = error_context_stack;
	error_context_stack = &errcb;

	cvcxt = AllocSetContextCreate(CurrentMemoryContext, "mlsys cross_validate", ALLOCSET_DEFAULT_SIZES);
	oldcxt = MemoryContextSwitchTo(cvcxt);
	SPI_connect();
	MemoryContextSwitchTo(cvcxt);
	mlsys_resolve_algorithm(&a);
	MemoryContextSwitchTo(oldcxt);
	store = mlsys_begin_rows(fcinfo, &tupdesc);
	MemoryContextSwitchTo(cvcxt);
	a.family->cross_validate(&a, folds, store, tupdesc);
	SPI_finish();
	MemoryContextSwitchTo(oldcxt);
	error_context_stack = errcb.previous;
	MemoryContextDelete(cvcxt);
	return (Datum) 0;
}
