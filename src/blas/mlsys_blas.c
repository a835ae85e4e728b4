/*
 * mlsys_blas.c — the module mlsys_blas, the only code that talks to OpenBLAS /
 * LAPACK. It is a shared library of its own, linked with OpenBLAS, that
 * mlsys.so loads when a process first needs BLAS (src/blas_load.c): loading
 * OpenBLAS costs a backend about 10 ms, which parallel workers of passes
 * without BLAS and sessions that never train save.
 *
 * Threading: a PostgreSQL backend is a single-threaded process. We link the
 * *serial* OpenBLAS build (see the Makefile: explicit path plus RUNPATH), which
 * never creates threads; Debian's default pthread build starts a thread pool
 * when the library is loaded, even if told to use one thread. As a second
 * guard, this module's _PG_init calls openblas_set_num_threads(1), which is a
 * no-op in the serial build. A TAP test checks that a backend that trained a model still has
 * exactly one thread.
 *
 * Matrices here are dense, row-major, and symmetric ones are kept in their
 * upper triangle (row-major upper == column-major lower for LAPACK).
 */
#include "postgres.h"

#include <math.h>

#include <cblas.h>
#include <lapack.h>

#include "fmgr.h"
#include "miscadmin.h"

#include "mlsys_blas.h"

PG_MODULE_MAGIC;

extern void openblas_set_num_threads(int num_threads);
void		_PG_init(void);

/* make sure OpenBLAS computes on the calling thread only */
void
_PG_init(void)
{
	openblas_set_num_threads(1);
}

/* C (m×m, upper) += Aᵀ·A for A of rows×m, row-major: a blocked rank-k update */
void
mlsys_blas_syrk_upper(double *C, int m, const double *A, int rows)
{
	cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, m, rows,
				1.0, A, m, 1.0, C, m);
}

/* C (m×m, upper) += alpha·x·xᵀ */
void
mlsys_blas_syr_upper(double *C, int m, double alpha, const double *x)
{
	cblas_dsyr(CblasRowMajor, CblasUpper, m, alpha, x, 1, C, m);
}

/* dot product */
double
mlsys_blas_dot(const double *a, const double *b, int n)
{
	return cblas_ddot(n, a, 1, b, 1);
}

/*
 * Solve A·x = b for symmetric positive definite A (n×n, both triangles or the
 * upper one filled, row-major) by Cholesky factorization (LAPACK dpotrf/dpotrs).
 * A is overwritten by its factor and b by the solution. Returns 0 on success or
 * the 1-based order of the leading minor that is not positive definite.
 * *rcond receives LAPACK's estimate of the reciprocal 1-norm condition number.
 */
int
mlsys_blas_cholesky_solve(double *A, int n, double *b, double *rcond)
{
	lapack_int	ln = n,
				info = 0,
				one = 1;
	double		anorm;
	double	   *work;
	lapack_int *iwork;

	/* LAPACK is column-major: our row-major upper triangle is its lower one */
	work = palloc(sizeof(double) * 3 * (Size) n);
	iwork = palloc(sizeof(lapack_int) * (Size) n);
	anorm = LAPACK_dlansy("1", "L", &ln, A, &ln, work);
	CHECK_FOR_INTERRUPTS();
	LAPACK_dpotrf("L", &ln, A, &ln, &info);
	if (info != 0)
	{
		pfree(work);
		pfree(iwork);
		if (info < 0)
			elog(ERROR, "dpotrf: illegal argument %d", (int) -info);
		*rcond = 0.0;
		return (int) info;
	}
	LAPACK_dpocon("L", &ln, A, &ln, &anorm, rcond, work, iwork, &info);
	if (info != 0)
		elog(ERROR, "dpocon: illegal argument %d", (int) -info);
	LAPACK_dpotrs("L", &ln, &one, A, &ln, b, &ln, &info);
	if (info != 0)
		elog(ERROR, "dpotrs: illegal argument %d", (int) -info);
	pfree(work);
	pfree(iwork);
	return 0;
}

/*
 * Solve A x = b (b overwritten with x) with the Cholesky factor that
 * mlsys_cholesky_solve left in A.
 */
void
mlsys_blas_cholesky_resolve(const double *A, int n, double *b)
{
	lapack_int	ln = n,
				info = 0,
				one = 1;

	LAPACK_dpotrs("L", &ln, &one, A, &ln, b, &ln, &info);
	if (info != 0)
		elog(ERROR, "dpotrs: illegal argument %d", (int) -info);
}


/*
 * Minimum-norm least-squares solution of the symmetric positive semidefinite
 * system A x = b (A n × n, only its upper triangle in row-major order is
 * read; b is overwritten with x): A = V Λ Vᵀ by LAPACK dsyev, then
 * x = V Λ⁺ Vᵀ b, where eigenvalues below rel_tol · λ_max count as zero.
 * Returns the number of eigenvalues kept (the numerical rank).
 */
int
mlsys_blas_pinv_solve(double *A, int n, double *b, double rel_tol)
{
	lapack_int	ln = n,
				info = 0,
				lwork = -1;
	double		wq;
	double	   *w = palloc(sizeof(double) * n);
	double	   *work;
	double	   *t = palloc0(sizeof(double) * n);
	double		cut;
	int			i,
				j,
				rank = 0;

	/* column-major: our row-major upper triangle is LAPACK's lower one */
	LAPACK_dsyev("V", "L", &ln, A, &ln, w, &wq, &lwork, &info);
	lwork = (lapack_int) wq;
	work = palloc(sizeof(double) * Max(lwork, 1));
	CHECK_FOR_INTERRUPTS();
	LAPACK_dsyev("V", "L", &ln, A, &ln, w, work, &lwork, &info);
	if (info != 0)
		elog(ERROR, "dsyev failed with code %d", (int) info);
	/* eigenvalues ascend; eigenvector k is column k, i.e. A[k * n .. k * n + n) */
	cut = rel_tol * Max(w[n - 1], 0.0);
	for (i = 0; i < n; i++)
	{
		double		c;

		if (!(w[i] > cut) || w[i] <= 0.0)
			continue;
		rank++;
		c = mlsys_blas_dot(A + (Size) i * n, b, n) / w[i];
		for (j = 0; j < n; j++)
			t[j] += c * A[(Size) i * n + j];
	}
	memcpy(b, t, sizeof(double) * n);
	pfree(w);
	pfree(work);
	pfree(t);
	return rank;
}

/* G (m×m, upper) = beta·G + Aᵀ·A for A of rows×m, row-major (level-3 dsyrk) */
void
mlsys_blas_gram(double *G, int m, const double *A, int rows, double beta)
{
	cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, m, rows,
				1.0, A, m, beta, G, m);
}

/* out (cols) = Aᵀ·y for A of rows×cols, row-major */
void
mlsys_blas_gemv_t(const double *A, int rows, int cols, const double *y, double *out)
{
	cblas_dgemv(CblasRowMajor, CblasTrans, rows, cols, 1.0, A, cols, y, 1, 0.0, out, 1);
}

/*
 * Solve A·x = b for symmetric positive definite A (n×n, upper triangle,
 * row-major) by Cholesky (dpotrf/dpotrs) without a condition estimate: the
 * cheap solve for the many small ridge systems of ALS. A is overwritten by its
 * factor and b by the solution. Returns 0 or LAPACK's positive info.
 */
int
mlsys_blas_posv(double *A, int n, double *b)
{
	lapack_int	ln = n,
				info = 0,
				one = 1;

	LAPACK_dpotrf("L", &ln, A, &ln, &info);
	if (info < 0)
		elog(ERROR, "dpotrf: illegal argument %d", (int) -info);
	if (info > 0)
		return (int) info;
	LAPACK_dpotrs("L", &ln, &one, A, &ln, b, &ln, &info);
	if (info != 0)
		elog(ERROR, "dpotrs: illegal argument %d", (int) -info);
	return 0;
}

/* y (rows) = A·x for float32 A of rows×cols, row-major: one scoring of a catalogue */
void
mlsys_blas_sgemv(const float *A, int rows, int cols, const float *x, float *y)
{
	cblas_sgemv(CblasRowMajor, CblasNoTrans, rows, cols, 1.0f, A, cols, x, 1, 0.0f, y, 1);
}
