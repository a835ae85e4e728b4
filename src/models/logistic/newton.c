/*
 * newton.c — the damped Newton driver shared by binary (logreg.c) and
 * multinomial (softmax.c) logistic regression.
 *
 * It minimizes F(w) = loss(w) / n + (alpha/2) Σ_{j penalized} w_j², where each
 * evaluation is one pass over the table that returns n, the summed loss, the
 * summed gradient and the summed Hessian of the loss at w (the caller's
 * aggregate; see NewtonPass). The step solves (H/n + alpha·I') Δ = −G by
 * Cholesky; a step that does not decrease F enough (Armijo, c = 1e-4) is
 * halved, which costs one more pass. It stops when the largest gradient
 * component is below tol, or when the Newton decrement of the step is below
 * tol, after taking that last step (it costs no pass; quadratic convergence
 * leaves the gradient after it well below tol, and no pass is spent
 * confirming it).
 *
 * Not strict (a fit whose failure is not an error, such as the fit of a
 * sample for a starting point), a diverging start or a singular Hessian ends
 * the fit unconverged instead of raising an error.
 *
 * A direction along which F is flat (the multinomial model's shift of every
 * intercept by the same amount: unpenalized and leaving every probability
 * unchanged) makes the Hessian singular. The caller names it (null_dir); the
 * driver adds a multiple of its outer product to the system, which leaves the
 * step orthogonal to it (the gradient is), so the iterate never drifts along it.
 */
#include "postgres.h"

#include <math.h>

#include "miscadmin.h"

#include "models/logistic/logistic.h"

/*
 * The last step's third-order term. After a full Newton step Δ from w_prev
 * the error left is about ½ H⁻¹ T[Δ, Δ], T the third derivative of the mean
 * loss (the penalty has none): Chebyshev's method subtracts it. The caller
 * estimates T[Δ, Δ] (binary logistic regression: over its in-memory sample
 * of the training rows, at w_prev), so this costs no pass. It is skipped when
 * it would not be small beside the step (the estimate is meant for the last,
 * small step of a converged fit).
 */
static void
newton_third_order(double *w, const double *w_prev, const double *step, const double *factor,
				   int D, NewtonThirdFn third, void *third_arg)
{
	double	   *t = palloc0(sizeof(double) * D);
	double		cmax = 0,
				smax = 0;
	int			j;

	if (third(w_prev, step, third_arg, t))
	{
		mlsys_cholesky_resolve(factor, D, t);
		for (j = 0; j < D; j++)
		{
			cmax = Max(cmax, fabs(0.5 * t[j]));
			smax = Max(smax, fabs(step[j]));
		}
		if (isfinite(cmax) && cmax < 0.1 * smax)
		{
			for (j = 0; j < D; j++)
				w[j] -= 0.5 * t[j];
			elog(DEBUG1, "third-order correction of the last step: largest component %.3g (step %.3g)",
				 cmax, smax);
		}
	}
	pfree(t);
}

/* the WARNING of a training fit that ran out of passes */
void
mlsys_warn_not_converged(int passes, double tol)
{
	ereport(WARNING,
			(errmsg_plural("logistic regression did not converge in %d pass",
						   "logistic regression did not converge in %d passes", passes, passes),
			 errdetail("The largest gradient component is still above tol %g.", tol),
			 errhint("Raise max_iter or tol, or use a larger alpha.")));
}

/*
 * Fit w = prm[0 .. D) in place (from the starting point given). run_pass runs
 * one pass at prm (which may hold more than w: the caller's layout). Returns
 * the number of passes; *converged says whether a stopping test was met.
 * A pass the caller defers (NewtonPass.deferred: it will run it together
 * with other fits' passes) stops the fit: it returns −1, and the caller fits
 * again from the same start once it has the pass's result.
 */
int
mlsys_newton_fit(double *prm, int D, const bool *penalized, const double *null_dir,
				 double alpha, int max_iter, double tol, bool strict,
				 NewtonPassFn run_pass, void *arg, bool *converged, double *final_objective,
				 NewtonThirdFn third, void *third_arg)
{
	double	   *w = prm;
	double	   *w_prev = palloc(sizeof(double) * D);
	double	   *G = palloc(sizeof(double) * D);
	double	   *step = palloc(sizeof(double) * D);
	double	   *A = palloc(sizeof(double) * (Size) D * D);
	double		F = 0,
				F_prev = 0,
				t = 1.0,
				slope = 0,
				rcond;
	int			passes = 0,
				i,
				j;
	bool		have_prev = false,
				deferred = false;

	*converged = false;
	while (passes < max_iter)
	{
		NewtonPass pass;
		bool		ran;
		double		n,
					gmax = 0;

		CHECK_FOR_INTERRUPTS();
		memset(&pass, 0, sizeof(pass));
		ran = run_pass(prm, arg, &pass);
		if (ran && pass.deferred)
		{
			/* the caller runs the pass with others' and fits again from the start */
			deferred = true;
			break;
		}
		if (!ran || pass.n == 0)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_EXCEPTION),
					 errmsg("the training split is empty")));
		passes++;
		n = pass.n;
		F = pass.loss / n;
		for (j = 0; j < D; j++)
			if (penalized[j])
				F += 0.5 * alpha * w[j] * w[j];
		if (!isfinite(F) && !have_prev)
		{
			if (!strict)
				break;
			ereport(ERROR,
					(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
					 errmsg("logistic regression diverged"),
					 errhint("Use a larger alpha.")));
		}
		/* Armijo: a step that does not decrease F enough (or overflows) is halved and retried */
		if (have_prev && (!isfinite(F) || F > F_prev + 1e-4 * t * slope))
		{
			t *= 0.5;
			if (t < 1e-10)
			{
				/* no further progress is possible in float8: keep the best point */
				memcpy(w, w_prev, sizeof(double) * D);
				F = F_prev;
				break;
			}
			for (j = 0; j < D; j++)
				w[j] = w_prev[j] + t * step[j];
			continue;
		}
		for (j = 0; j < D; j++)
		{
			G[j] = pass.grad[j] / n + (penalized[j] ? alpha * w[j] : 0.0);
			gmax = Max(gmax, fabs(G[j]));
		}
		/* converged; the Newton step from here still costs no pass (below) */
		if (gmax < tol)
			*converged = true;
		/* Newton step: (H/n + alpha·I' [+ c·uuᵀ]) step = −G */
		for (i = 0; i < D; i++)
			for (j = i; j < D; j++)
			{
				double		h = pass.hess[(Size) i * D + j] / n + (i == j && penalized[i] ? alpha : 0.0);

				if (null_dir != NULL)
					h += null_dir[i] * null_dir[j];
				A[(Size) i * D + j] = h;
				A[(Size) j * D + i] = h;
			}
		for (j = 0; j < D; j++)
			step[j] = -G[j];
		if (mlsys_cholesky_solve(A, D, step, &rcond) != 0)
		{
			if (*converged || !strict)
				break;
			ereport(ERROR,
					(errcode(ERRCODE_DATA_EXCEPTION),
					 errmsg("the logistic regression Hessian is singular"),
					 errhint("Remove constant or redundant features, or use a larger alpha.")));
		}
		slope = 0;
		for (j = 0; j < D; j++)
			slope += G[j] * step[j];
		elog(DEBUG1, "newton pass %d: objective %.17g, largest gradient %.3g, decrement %.3g",
			 passes, F, gmax, -slope);
		if (!(slope < 0))
			break;				/* no descent direction (rounding on a nearly singular Hessian) */
		memcpy(w_prev, w, sizeof(double) * D);
		F_prev = F;
		have_prev = true;
		t = 1.0;
		for (j = 0; j < D; j++)
			w[j] += step[j];

		/*
		 * The gradient was below tol, or the Newton decrement λ² = −Gᵀstep is:
		 * the step just taken is the last (quadratic convergence leaves the
		 * gradient after it well below tol, and no pass is spent confirming it)
		 */
		if (*converged || -slope < tol)
		{
			*converged = true;
			if (third != NULL)
				newton_third_order(w, w_prev, step, A, D, third, third_arg);
			break;
		}
	}
	if (deferred)
	{
		pfree(w_prev);
		pfree(G);
		pfree(step);
		pfree(A);
		return -1;
	}
	/* out of passes after an untested step: return the last point evaluated */
	if (!*converged && have_prev && passes >= max_iter)
	{
		memcpy(w, w_prev, sizeof(double) * D);
		F = F_prev;
	}
	*final_objective = F;
	pfree(w_prev);
	pfree(G);
	pfree(step);
	pfree(A);
	return passes;
}
