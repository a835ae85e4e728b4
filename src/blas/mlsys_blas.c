/*
 * mlsys_blas.c — the module mlsys_blas, the only code that talks to OpenBLAS /
 * LAPACK. mlsys.so loads this module when a process first needs BLAS
 * (src/blas_load.c), and a parallel worker loads it when its leader had; the
 * module maps OpenBLAS itself, on its own first call (openblas_map), so a
 * worker of a pass without BLAS never maps it.
 *
 * Mapping: OpenBLAS has some 13,000 symbolic relocations. Linked as a
 * dependency of a module that PostgreSQL loads (RTLD_NOW | RTLD_GLOBAL), each
 * is resolved after a search of postgres and of every library loaded before
 * it, which cost a process 7-10 ms. dlopen with RTLD_DEEPBIND resolves them in
 * OpenBLAS's own symbol table first (2-3 ms); RTLD_LOCAL keeps its symbols out
 * of everyone else's way. Its functions are then called through pointers.
 *
 * Threading: a PostgreSQL backend is a single-threaded process. We map the
 * *serial* OpenBLAS build by its explicit path (MLSYS_OPENBLAS_LIBRARY, from
 * the Makefile), which never creates threads; Debian's default pthread build
 * starts a thread pool when the library is loaded, even if told to use one
 * thread. As a second guard, openblas_map calls openblas_set_num_threads(1),
 * a no-op in the serial build. A TAP test checks that a backend that trained
 * a model still has exactly one thread.
 *
 * Matrices here are dense, row-major, and symmetric ones are kept in their
 * upper triangle (row-major upper == column-major lower for LAPACK).
 */
#include "postgres.h"

#include <dlfcn.h>
#include <math.h>

#include <cblas.h>
#include <lapack.h>

#include "fmgr.h"
#include "miscadmin.h"

#include "mlsys_blas.h"

PG_MODULE_MAGIC;

#ifndef MLSYS_OPENBLAS_LIBRARY
#error "MLSYS_OPENBLAS_LIBRARY must name the serial OpenBLAS library (see the Makefile)"
#endif

#ifdef RTLD_DEEPBIND
#define OPENBLAS_DLOPEN_FLAGS (RTLD_NOW | RTLD_LOCAL | RTLD_DEEPBIND)
#else
#define OPENBLAS_DLOPEN_FLAGS (RTLD_NOW | RTLD_LOCAL)
#endif

/* the OpenBLAS functions used here; LAPACK's take the lengths of their string arguments last */
static struct
{
	bool		mapped;
	__typeof__(cblas_dsyrk) *dsyrk;
	__typeof__(cblas_dsyr) *dsyr;
	__typeof__(cblas_ddot) *ddot;
	__typeof__(cblas_dgemv) *dgemv;
	__typeof__(cblas_dgemm) *dgemm;
	__typeof__(cblas_sgemv) *sgemv;
	__typeof__(cblas_sgemm) *sgemm;
	__typeof__(LAPACK_dlansy_base) *dlansy;
	__typeof__(LAPACK_dpotrf_base) *dpotrf;
	__typeof__(LAPACK_dpocon_base) *dpocon;
	__typeof__(LAPACK_dpotrs_base) *dpotrs;
	__typeof__(LAPACK_dsyev_base) *dsyev;
	void		(*set_num_threads) (int num_threads);
}			ob;

/* a function of OpenBLAS (an error if missing: not the library the Makefile named) */
static void *
openblas_symbol(void *handle, const char *name)
{
	void	   *f = dlsym(handle, name);

	if (f == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_FUNCTION),
				 errmsg("could not find function \"%s\" in \"%s\"", name, MLSYS_OPENBLAS_LIBRARY)));
	return f;
}

/* map OpenBLAS once per process, on the first call of this module */
static inline void
openblas_map(void)
{
	void	   *handle;

	if (likely(ob.mapped))
		return;
	handle = dlopen(MLSYS_OPENBLAS_LIBRARY, OPENBLAS_DLOPEN_FLAGS);
	if (handle == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_FILE),
				 errmsg("could not load OpenBLAS from \"%s\": %s", MLSYS_OPENBLAS_LIBRARY, dlerror()),
				 errhint("Install the package libopenblas0-serial.")));
	ob.dsyrk = openblas_symbol(handle, "cblas_dsyrk");
	ob.dsyr = openblas_symbol(handle, "cblas_dsyr");
	ob.ddot = openblas_symbol(handle, "cblas_ddot");
	ob.dgemv = openblas_symbol(handle, "cblas_dgemv");
	ob.dgemm = openblas_symbol(handle, "cblas_dgemm");
	ob.sgemv = openblas_symbol(handle, "cblas_sgemv");
	ob.sgemm = openblas_symbol(handle, "cblas_sgemm");
	ob.dlansy = openblas_symbol(handle, "dlansy_");
	ob.dpotrf = openblas_symbol(handle, "dpotrf_");
	ob.dpocon = openblas_symbol(handle, "dpocon_");
	ob.dpotrs = openblas_symbol(handle, "dpotrs_");
	ob.dsyev = openblas_symbol(handle, "dsyev_");
	ob.set_num_threads = openblas_symbol(handle, "openblas_set_num_threads");
	/* make sure OpenBLAS computes on the calling thread only */
	ob.set_num_threads(1);
	ob.mapped = true;
}

/* C (m×m, upper) += Aᵀ·A for A of rows×m, row-major: a blocked rank-k update */
void
mlsys_blas_syrk_upper(double *C, int m, const double *A, int rows)
{
	openblas_map();
	ob.dsyrk(CblasRowMajor, CblasUpper, CblasTrans, m, rows,
			 1.0, A, m, 1.0, C, m);
}

/* C (m×m, upper) += alpha·x·xᵀ */
void
mlsys_blas_syr_upper(double *C, int m, double alpha, const double *x)
{
	openblas_map();
	ob.dsyr(CblasRowMajor, CblasUpper, m, alpha, x, 1, C, m);
}

/* dot product */
double
mlsys_blas_dot(const double *a, const double *b, int n)
{
	openblas_map();
	return ob.ddot(n, a, 1, b, 1);
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
	openblas_map();
	anorm = ob.dlansy("1", "L", &ln, A, &ln, work, 1, 1);
	CHECK_FOR_INTERRUPTS();
	ob.dpotrf("L", &ln, A, &ln, &info, 1);
	if (info != 0)
	{
		pfree(work);
		pfree(iwork);
		if (info < 0)
			elog(ERROR, "dpotrf: illegal argument %d", (int) -info);
		*rcond = 0.0;
		return (int) info;
	}
	ob.dpocon("L", &ln, A, &ln, &anorm, rcond, work, iwork, &info, 1);
	if (info != 0)
		elog(ERROR, "dpocon: illegal argument %d", (int) -info);
	ob.dpotrs("L", &ln, &one, A, &ln, b, &ln, &info, 1);
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

	openblas_map();
	ob.dpotrs("L", &ln, &one, A, &ln, b, &ln, &info, 1);
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
	openblas_map();
	ob.dsyev("V", "L", &ln, A, &ln, w, &wq, &lwork, &info, 1, 1);
	lwork = (lapack_int) wq;
	work = palloc(sizeof(double) * Max(lwork, 1));
	CHECK_FOR_INTERRUPTS();
	ob.dsyev("V", "L", &ln, A, &ln, w, work, &lwork, &info, 1, 1);
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
	openblas_map();
	ob.dsyrk(CblasRowMajor, CblasUpper, CblasTrans, m, rows,
			 1.0, A, m, beta, G, m);
}

/* out (cols) = Aᵀ·y for A of rows×cols, row-major */
void
mlsys_blas_gemv_t(const double *A, int rows, int cols, const double *y, double *out)
{
	openblas_map();
	ob.dgemv(CblasRowMajor, CblasTrans, rows, cols, 1.0, A, cols, y, 1, 0.0, out, 1);
}

/*
 * y = alpha·A·x + beta·y (trans: alpha·Aᵀ·x + beta·y) for A of rows×cols,
 * row-major: the general product, for iterative solvers that accumulate
 */
void
mlsys_blas_gemv(const double *A, int rows, int cols, bool trans, double alpha,
				const double *x, double beta, double *y)
{
	openblas_map();
	ob.dgemv(CblasRowMajor, trans ? CblasTrans : CblasNoTrans, rows, cols, alpha, A, cols,
			 x, 1, beta, y, 1);
}

/*
 * C (m×n) = alpha·A·B for A of m×k and B of k×n, all row-major and packed
 * (level-3 dgemm)
 */
void
mlsys_blas_gemm_nn(double *C, int m, int n, const double *A, const double *B, int k, double alpha)
{
	openblas_map();
	ob.dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k, alpha, A, k, B, n, 0.0, C, n);
}

/*
 * C (m×n, row-major) = Aᵀ·B for A of rows×m (row stride lda) and B of rows×n
 * (row stride ldb), row-major (level-3 dgemm)
 */
void
mlsys_blas_gemm_tn(double *C, int m, int n, const double *A, int lda, const double *B, int ldb, int rows)
{
	openblas_map();
	ob.dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, m, n, rows, 1.0, A, lda, B, ldb, 0.0, C, n);
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

	openblas_map();
	ob.dpotrf("L", &ln, A, &ln, &info, 1);
	if (info < 0)
		elog(ERROR, "dpotrf: illegal argument %d", (int) -info);
	if (info > 0)
		return (int) info;
	ob.dpotrs("L", &ln, &one, A, &ln, b, &ln, &info, 1);
	if (info != 0)
		elog(ERROR, "dpotrs: illegal argument %d", (int) -info);
	return 0;
}

/* y (rows) = A·x for float32 A of rows×cols, row-major: one scoring of a catalogue */
void
mlsys_blas_sgemv(const float *A, int rows, int cols, const float *x, float *y)
{
	openblas_map();
	ob.sgemv(CblasRowMajor, CblasNoTrans, rows, cols, 1.0f, A, cols, x, 1, 0.0f, y, 1);
}

/*
 * C (m×n, row stride ldc) = A·Bᵀ for float32 A of m×k and B of n×k, both
 * row-major: a block of users scored against a block of items
 */
void
mlsys_blas_sgemm_nt(float *C, int ldc, const float *A, int m, const float *B, int n, int k)
{
	openblas_map();
	ob.sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, n, k, 1.0f, A, k, B, k, 0.0f, C, ldc);
}
