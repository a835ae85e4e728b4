/*
 * rowcheck.c — the errors for a training row's missing or non-finite
 * values, naming the feature (from the spec's names when the pass has them,
 * else by position), so that every pass that meets such a row first raises
 * the same error and imputation can catch it.
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "utils/array.h"
#include "utils/builtins.h"

#include "common/common.h"

/* feature j for messages: 'feature "name"' from a text[] of names, else its position */
char *
mlsys_feature_subject(ArrayType *names, int j)
{
	Datum	   *elems;
	bool	   *nulls;
	int			n;

	if (names != NULL)
	{
		deconstruct_array(names, TEXTOID, -1, false, TYPALIGN_INT, &elems, &nulls, &n);
		if (j < n && !nulls[j])
			return psprintf("feature \"%s\"", text_to_cstring(DatumGetTextPP(elems[j])));
	}
	return psprintf("feature vector element %d", j + 1);
}

/* the same from a C array of names (or NULL) */
char *
mlsys_feature_subject_c(const char *const *names, int j)
{
	if (names != NULL)
		return psprintf("feature \"%s\"", names[j]);
	return psprintf("feature vector element %d", j + 1);
}

/* reject NaN and infinity among the n values of x (y at index n−1 if with_y) */
void
mlsys_check_finite_row(const double *x, int n, bool with_y, ArrayType *names)
{
	int			j;

	for (j = 0; j < n; j++)
	{
		if (unlikely(isnan(x[j]) || isinf(x[j])))
		{
			if (with_y && j == n - 1)
				ereport(ERROR,
						(errcode(ERRCODE_DATA_EXCEPTION),
						 errmsg("target value must be finite, not %s",
								isnan(x[j]) ? "NaN" : "infinity")));
			if (isnan(x[j]) && names != NULL)
				ereport(ERROR,
						(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
						 errmsg("%s is missing (NaN)", mlsys_feature_subject(names, j)),
						 errhint("Training imputes missing values of numeric columns unless hyperparams say {\"impute\": \"error\"}; array elements are never imputed.")));
			ereport(ERROR,
					(errcode(ERRCODE_DATA_EXCEPTION),
					 errmsg("%s must be finite, not %s",
							mlsys_feature_subject(names, j), isnan(x[j]) ? "NaN" : "infinity"),
					 errhint("Filter out such rows or replace the values before training.")));
		}
	}
}

/*
 * The training pass's error for a feature vector that is null, has a null
 * element or a NaN or infinite value (another pass that meets one first, as
 * the stratified split's, raises the same, so imputation can catch it).
 * Returns only when the vector has none of these.
 */
void
mlsys_reject_missing_row(Datum x, bool xnull, ArrayType *names)
{
	ArrayType  *a;
	Datum	   *elems;
	bool	   *nulls;
	double	   *vals;
	int			n,
				j;

	if (xnull)
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s must not be null", mlsys_feature_subject(names, 0)),
				 errhint("Filter out rows with null features before training.")));
	a = DatumGetArrayTypeP(x);
	deconstruct_array(a, FLOAT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE, &elems, &nulls, &n);
	for (j = 0; j < n; j++)
		if (nulls[j])
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("%s must not be null", mlsys_feature_subject(names, j)),
					 errhint("Training imputes missing values of numeric columns unless hyperparams say {\"impute\": \"error\"}; array elements are never imputed.")));
	vals = palloc(sizeof(double) * Max(n, 1));
	for (j = 0; j < n; j++)
		vals[j] = DatumGetFloat8(elems[j]);
	mlsys_check_finite_row(vals, n, false, names);
	pfree(vals);
}

/* public form of the check above, for scoring paths */
void
mlsys_check_finite_vector(const double *x, int n, const char *const *names)
{
	int			j;

	for (j = 0; j < n; j++)
		if (unlikely(isnan(x[j]) || isinf(x[j])))
			ereport(ERROR,
					(errcode(ERRCODE_DATA_EXCEPTION),
					 errmsg("%s must be finite, not %s",
							mlsys_feature_subject_c(names, j), isnan(x[j]) ? "NaN" : "infinity")));
}
