/*
 * linreg_solve.c — solving a least-squares state (linreg_stats.c) for the
 * coefficients, and mlsys.linreg_agg's final function.
 *
 * For ridge with penalty α on w but not on the intercept (scikit-learn's
 * Ridge), w solves (Cxx + αI) w = Cxy and b = ȳ − x̄ᵀw; α = 0 is ordinary
 * least squares. The system is scaled to unit diagonal (Jacobi) and solved by
 * Cholesky (LAPACK dpotrf/dpotrs); a rank-deficient one gets the
 * minimum-norm solution where asked.
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"

#include "data/data.h"
#include "data/linreg_stats.h"

/*
 * Solve for the coefficients of a (private, modifiable) state with penalty
 * alpha. coef receives p + 1 values: the intercept, then one per feature.
 * Features that are constant over the rows get coefficient 0 (the
 * minimum-norm solution, as scikit-learn's LinearRegression and Ridge give).
 */
/* raise the error, or return false when the caller asked not to raise */
#define SOLVE_FAIL(rest) \
	do { \
		if (!raise) \
			return false; \
		ereport(ERROR, rest); \
	} while (0)

static bool
linreg_solve_internal(LinregState *s, double alpha, double *coef, const char *const *names,
					  bool raise, bool min_norm)
{
	int			p = s->nfeat,
				m = p + 1,
				q = 0,
				i,
				j,
				info;
	double	   *C,
			   *mean,
			   *A,
			   *b,
			   *D;
	int		   *idx;
	double		rcond;

	if (s->flags & LINREG_DIAG)
	{
		/* a state of variances alone has no cross moments to solve with */
		if (!raise)
			return false;
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("a state of variances alone cannot be solved")));
	}
	linreg_flush(s);
	C = ls_comoment(s);
	mean = ls_mean(s);
	if (s->n == 0)
		SOLVE_FAIL(
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("no rows to fit")));
	for (j = 0; j < m; j++)
		if (!isfinite(C[(Size) j * m + j]) || !isfinite(mean[j]))
			SOLVE_FAIL(
					(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
					 errmsg("%s values are too large to fit",
							j == p ? "target" : mlsys_feature_subject_c(names, j))));

	idx = palloc(sizeof(int) * p);
	/*
	 * A constant column has a co-moment of exactly 0: every value equals the
	 * shift it is reduced by (see linreg_flush), and merging adds exact zeros.
	 */
	for (j = 0; j < p; j++)
	{
		coef[j + 1] = 0.0;
		if (C[(Size) j * m + j] > 0.0)
			idx[q++] = j;
	}
	if (alpha == 0.0 && s->n <= q && !min_norm)
		SOLVE_FAIL(
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("too few rows to fit %d features", q),
				 errdetail("Ordinary least squares with an intercept needs more rows than features; there are " INT64_FORMAT ".", s->n),
				 errhint("Use more rows, fewer features, or algorithm \"ridge\" with alpha > 0.")));

	A = palloc(sizeof(double) * (Size) Max(q, 1) * Max(q, 1));
	b = palloc(sizeof(double) * Max(q, 1));
	D = palloc(sizeof(double) * Max(q, 1));
	for (i = 0; i < q; i++)
		D[i] = sqrt(C[(Size) idx[i] * m + idx[i]] + alpha);
	for (i = 0; i < q; i++)
	{
		CHECK_FOR_INTERRUPTS();
		for (j = i; j < q; j++)
		{
			double		v = C[(Size) idx[i] * m + idx[j]] + (i == j ? alpha : 0.0);

			v /= D[i] * D[j];
			A[(Size) i * q + j] = v;
			A[(Size) j * q + i] = v;
		}
		b[i] = C[(Size) idx[i] * m + p] / D[i];
	}
	if (q > 0 && min_norm)
		mlsys_pinv_solve(A, q, b, LINREG_PINV_TOL);
	else if (q > 0)
	{
		info = mlsys_cholesky_solve(A, q, b, &rcond);
		if (info > 0)
			SOLVE_FAIL(
					(errcode(ERRCODE_DATA_EXCEPTION),
					 errmsg("design matrix is singular"),
					 errdetail("The %s is a linear combination of the features before it.",
							   mlsys_feature_subject_c(names, idx[info - 1])),
					 errhint("Remove redundant features or use algorithm \"ridge\" with alpha > 0.")));
		if (rcond < LINREG_MIN_RCOND)
			SOLVE_FAIL(
					(errcode(ERRCODE_DATA_EXCEPTION),
					 errmsg("design matrix is ill-conditioned"),
					 errdetail("The reciprocal condition number after scaling features to unit variance is %g, below the limit of %g.",
							   rcond, LINREG_MIN_RCOND),
					 errhint("Remove nearly redundant features or use algorithm \"ridge\" with alpha > 0.")));
	}
	coef[0] = mean[p];
	for (i = 0; i < q; i++)
	{
		double		w = b[i] / D[i];

		coef[idx[i] + 1] = w;
		coef[0] -= mean[idx[i]] * w;
	}
	for (j = 0; j <= p; j++)
		if (!isfinite(coef[j]))
			SOLVE_FAIL(
					(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
					 errmsg("fitted coefficients are not finite")));
	pfree(A);
	pfree(b);
	pfree(D);
	pfree(idx);
	return true;
}

/* the same, raising errors */
void
linreg_solve(LinregState *s, double alpha, double *coef, const char *const *names)
{
	linreg_solve_internal(s, alpha, coef, names, true, false);
}

/*
 * The minimum-norm solution (of the unit-variance-scaled system) when the
 * design is rank-deficient, as it is by construction with one-hot features
 * and an intercept: predictions are those of any least-squares solution.
 */
void
linreg_solve_min_norm(LinregState *s, double alpha, double *coef, const char *const *names)
{
	linreg_solve_internal(s, alpha, coef, names, true, true);
}

/* the same, returning false instead of raising an error */
bool
linreg_try_solve(LinregState *s, double alpha, double *coef)
{
	return linreg_solve_internal(s, alpha, coef, NULL, false, false);
}

PG_FUNCTION_INFO_V1(linreg_final);
/* linreg_final(bytea) → float8[]: intercept first, then one per feature */
Datum
linreg_final(PG_FUNCTION_ARGS)
{
	LinregState *s;
	double	   *coef;

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	/* work on a copy: a final function may run more than once on a state */
	s = linreg_state_from_datum(PG_GETARG_DATUM(0), true);
	coef = palloc(sizeof(double) * (s->nfeat + 1));
	linreg_solve(s, (s->flags & LINREG_RIDGE) ? s->alpha : 0.0, coef, NULL);
	PG_RETURN_ARRAYTYPE_P(mlsys_float8_array(coef, s->nfeat + 1));
}
