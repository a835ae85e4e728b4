/*
 * logreg_fit.c — fitting binary logistic regression over its passes: the
 * Newton driver's adapter for a pass's state, the starting point from the
 * fit of the first pass's sample of training rows (in memory), and the
 * sample's estimate of the third derivative for the last step (newton.c).
 */
#include "postgres.h"

#include <math.h>

#include "miscadmin.h"

#include "models/logistic/logistic.h"

/* adapts a binary pass (one LogregState) to the Newton driver's interface */
typedef struct BinaryPassAdapter
{
	LogregState *(*run_pass) (const double *prm, void *arg);
	void	   *arg;
	LogregState *last;
} BinaryPassAdapter;

/* what a run_pass callback returns for a pass it defers (newton.c): the fit stops, returning −1 */
static LogregState deferred_pass_marker;
LogregState *const logreg_deferred_pass = &deferred_pass_marker;

static bool
binary_newton_pass(const double *prm, void *arg, NewtonPass *out)
{
	BinaryPassAdapter *ad = (BinaryPassAdapter *) arg;
	LogregState *s;

	if (ad->last != NULL)
		pfree(ad->last);
	ad->last = NULL;
	s = ad->run_pass(prm, ad->arg);
	if (s == NULL)
		return false;
	if (s == logreg_deferred_pass)
	{
		out->deferred = true;
		return true;
	}
	logreg_flush(s);
	ad->last = s;
	out->n = (double) s->n;
	out->loss = s->loss;
	out->grad = lg_grad(s);
	out->hess = lg_hess(s);
	return true;
}

typedef struct SamplePass SamplePass;
static int	logreg_newton(double *prm, int p, double alpha, int max_iter, double tol, bool strict,
						  LogregState *(*run_pass) (const double *prm, void *arg), void *arg,
						  bool *converged, double *final_objective, SamplePass *third);

/* a Newton pass over the rows of a sample held in memory */
struct SamplePass
{
	const double *rows;			/* nrows × (y, x_1 .. x_p) */
	int			nrows;
	int			p;
	const double *prm;			/* for the third derivative: center, scale, cw */
};

/*
 * T[Δ, Δ] over the sample: (1/S) Σ cw σ(1 − σ)(1 − 2σ) (z̃ᵀΔ)² z̃ with
 * z̃ = (1, z), the third derivative of the mean loss at w (newton.c uses it
 * for the last step's third-order term). The sample estimates the mean over
 * the training rows to within its sampling error, which leaves a small
 * fraction of the term.
 */
static bool
sample_third_derivative(const double *w, const double *step, void *arg, double *out)
{
	SamplePass *sp = (SamplePass *) arg;
	int			p = sp->p,
				m = p + 1,
				i,
				j;
	const double *center = sp->prm + p + 1;
	const double *scale = sp->prm + 2 * p + 1;
	double	   *z = palloc(sizeof(double) * m);

	memset(out, 0, sizeof(double) * m);
	for (i = 0; i < sp->nrows; i++)
	{
		const double *row = sp->rows + (Size) i * m;
		double		eta = w[0],
					sd = step[0],
					prob,
					t;

		if ((i & 4095) == 0)
			CHECK_FOR_INTERRUPTS();
		z[0] = 1.0;
		for (j = 0; j < p; j++)
		{
			z[j + 1] = (row[j + 1] - center[j]) / scale[j];
			eta += w[j + 1] * z[j + 1];
			sd += step[j + 1] * z[j + 1];
		}
		prob = sigmoid(eta);
		t = (row[0] > 0 ? sp->prm[3 * p + 2] : sp->prm[3 * p + 1]) *
			prob * (1.0 - prob) * (1.0 - 2.0 * prob) * sd * sd;
		for (j = 0; j < m; j++)
			out[j] += t * z[j];
	}
	for (j = 0; j < m; j++)
		out[j] /= sp->nrows;
	pfree(z);
	return sp->nrows > 0;
}

static LogregState *
sample_newton_pass(const double *prm, void *arg)
{
	SamplePass *sp = (SamplePass *) arg;
	int			p = sp->p,
				i,
				j;
	LogregState *s = logreg_state_new(p);
	double	   *inv_scale = palloc(sizeof(double) * p);

	for (j = 0; j < p; j++)
		inv_scale[j] = 1.0 / prm[2 * p + 1 + j];
	for (i = 0; i < sp->nrows; i++)
	{
		const double *row = sp->rows + (Size) i * (p + 1);

		if ((i & 4095) == 0)
			CHECK_FOR_INTERRUPTS();
		logreg_accum_row(s, prm, inv_scale, (const char *) (row + 1), row[0]);
	}
	pfree(inv_scale);
	return s;
}

/*
 * Fit w (p + 1 values, in/out: the starting point, then the optimum) by damped
 * Newton (newton.c), the intercept unpenalized. run_pass(w, arg) must run one
 * mlsys._logreg_step_agg pass and return its state (a private copy), or
 * logreg_deferred_pass to stop the fit (which then returns −1). Returns the
 * number of passes; *converged says whether a stopping test was met.
 */
int
logreg_fit(double *prm, int p, double alpha, int max_iter, double tol,
		   const double *sample, int nsample,
		   LogregState *(*run_pass) (const double *prm, void *arg), void *arg,
		   bool *converged, double *final_objective)
{
	SamplePass	sp;

	sp.rows = sample;
	sp.nrows = nsample;
	sp.p = p;
	sp.prm = prm;
	return logreg_newton(prm, p, alpha, max_iter, tol, true, run_pass, arg,
						 converged, final_objective, nsample > 0 ? &sp : NULL);
}

/* logreg_fit, strict or not (newton.c), with a sample for the last step's third-order term */
static int
logreg_newton(double *prm, int p, double alpha, int max_iter, double tol, bool strict,
			  LogregState *(*run_pass) (const double *prm, void *arg), void *arg,
			  bool *converged, double *final_objective, SamplePass *third)
{
	BinaryPassAdapter ad;
	bool	   *penalized = palloc(sizeof(bool) * (p + 1));
	int			j,
				passes;

	penalized[0] = false;
	for (j = 1; j <= p; j++)
		penalized[j] = true;
	ad.run_pass = run_pass;
	ad.arg = arg;
	ad.last = NULL;
	passes = mlsys_newton_fit(prm, p + 1, penalized, NULL, alpha, max_iter, tol, strict,
							  binary_newton_pass, &ad, converged, final_objective,
							  third != NULL ? sample_third_derivative : NULL, third);
	if (ad.last != NULL)
		pfree(ad.last);
	pfree(penalized);
	return passes;
}

/*
 * The slopes of the discriminant direction on the sample (the least-squares
 * fit of y on the standardized features, scaled by 1 / (ȳ (1 − ȳ)), as
 * classifier_start does from the moments of every row): the sample's own
 * Newton iterations start there. Left as they are when the system is
 * degenerate.
 */
static void
sample_discriminant_start(double *prm, int p, const double *rows, int nrows)
{
	int			m = p + 1,
				i,
				j;
	double	   *a = palloc(sizeof(double) * (Size) nrows * m);
	double	   *y = palloc(sizeof(double) * nrows);
	double	   *g = palloc0(sizeof(double) * (Size) m * m);
	double	   *b = palloc(sizeof(double) * m);
	double		ybar = 0,
				rcond;

	for (i = 0; i < nrows; i++)
	{
		const double *r = rows + (Size) i * m;
		double	   *ai = a + (Size) i * m;

		y[i] = r[0];
		ybar += r[0];
		ai[0] = 1.0;
		for (j = 0; j < p; j++)
			ai[j + 1] = (r[j + 1] - prm[p + 1 + j]) / prm[2 * p + 1 + j];
	}
	ybar /= nrows;
	mlsys_gram(g, m, a, nrows, 0.0);
	mlsys_gemv_t(a, nrows, m, y, b);
	for (j = 1; j < m; j++)
		g[(Size) j * m + j] += 1e-8 * nrows;
	for (i = 0; i < m; i++)
		for (j = 0; j < i; j++)
			g[(Size) i * m + j] = g[(Size) j * m + i];
	if (ybar > 0 && ybar < 1 && mlsys_cholesky_solve(g, m, b, &rcond) == 0 && rcond > 1e-12)
	{
		for (j = 1; j < m; j++)
			if (isfinite(b[j]))
				prm[j] = b[j] / (ybar * (1.0 - ybar));
	}
	pfree(a);
	pfree(y);
	pfree(g);
	pfree(b);
}

/*
 * The starting point of the Newton passes from a sample of the training rows
 * (sample.c: nrows rows of y, x_1 .. x_p; complete when it holds every
 * training row): the sample's own optimum of the same objective, fitted in
 * memory from the start already in prm. Its distance to the optimum of all
 * rows is the sampling error, from which Newton converges in two or three
 * passes. prm is replaced only when both classes are in the sample and it
 * passes sample.c's tests (enough rows; the fit converged and does not
 * separate it). Returns whether prm was replaced.
 */
bool
logreg_sample_start(double *prm, int p, double alpha, double tol,
					const double *rows, int nrows, bool complete)
{
	double	   *trial;
	double		objective = 0,
				wsum = 0,
				penalty = 0;
	bool		converged,
				have[2] = {false, false};
	SamplePass	sp;
	int			i,
				j;

	for (i = 0; i < nrows; i++)
		have[rows[(Size) i * (p + 1)] > 0] = true;
	if (!have[0] || !have[1] || !mlsys_sample_can_start(nrows, complete, p + 1))
		return false;
	trial = palloc(sizeof(double) * (3 * p + 3));
	memcpy(trial, prm, sizeof(double) * (3 * p + 3));
	sample_discriminant_start(trial, p, rows, nrows);
	sp.rows = rows;
	sp.nrows = nrows;
	sp.p = p;
	sp.prm = trial;
	/*
	 * The first iterations only approach the optimum: a prefix gets them
	 * close at a fraction of the cost, then the whole sample finishes. Its
	 * optimum need not be closer than its sampling error: the same tol.
	 */
	sp.nrows = mlsys_sample_prefix_rows(nrows, p + 1);
	if (sp.nrows < nrows)
		logreg_newton(trial, p, alpha, 50, Max(tol, 1e-4), false, sample_newton_pass, &sp, &converged,
					  &objective, NULL);
	sp.nrows = nrows;
	logreg_newton(trial, p, alpha, 50, tol, false, sample_newton_pass, &sp, &converged, &objective, NULL);
	for (j = 1; j <= p; j++)
		penalty += 0.5 * alpha * trial[j] * trial[j];
	for (i = 0; i < nrows; i++)
		wsum += rows[(Size) i * (p + 1)] > 0 ? trial[3 * p + 2] : trial[3 * p + 1];
	if (!mlsys_sample_fit_usable(converged, objective, penalty, wsum, nrows))
	{
		pfree(trial);
		return false;
	}
	memcpy(prm, trial, sizeof(double) * (p + 1));
	pfree(trial);
	return true;
}
