/*
 * blas_load.c — the BLAS and LAPACK routines of mlsys, from the module
 * mlsys_blas (src/blas/mlsys_blas.c, the only code linked with OpenBLAS),
 * looked up on a process's first call; the module maps OpenBLAS on its own
 * first call (2-3 ms). A session that only scores binary models never loads
 * either, and a parallel worker of a pass that does no BLAS (the stratified
 * split, the first pass of a classifier, a binary model's evaluation) never
 * maps OpenBLAS, even when it loads the module because its leader had.
 */
#include "postgres.h"

#include "fmgr.h"

#include "common/common.h"
#include "blas/mlsys_blas.h"

#define BLAS_MODULE "$libdir/mlsys_blas"

static struct
{
	bool		loaded;
	void		(*syrk_upper) (double *C, int m, const double *A, int rows);
	void		(*syr_upper) (double *C, int m, double alpha, const double *x);
	int			(*cholesky_solve) (double *A, int n, double *b, double *rcond);
	void		(*cholesky_resolve) (const double *A, int n, double *b);
	double		(*dot) (const double *a, const double *b, int n);
	int			(*pinv_solve) (double *A, int n, double *b, double rel_tol);
	void		(*gram) (double *G, int m, const double *A, int rows, double beta);
	void		(*gemv_t) (const double *A, int rows, int cols, const double *y, double *out);
	void		(*gemv) (const double *A, int rows, int cols, bool trans, double alpha,
						 const double *x, double beta, double *y);
	void		(*gemm_nn) (double *C, int m, int n, const double *A, const double *B, int k, double alpha);
	void		(*gemm_tn) (double *C, int m, int n, const double *A, int lda, const double *B, int ldb, int rows);
	int			(*posv) (double *A, int n, double *b);
	void		(*sgemv) (const float *A, int rows, int cols, const float *x, float *y);
	void		(*sgemm_nt) (float *C, int ldc, const float *A, int m, const float *B, int n, int k);
}			blas;

/* a function of the module (an error if it is missing: the installation is broken) */
static void *
blas_function(const char *name)
{
	return (void *) load_external_function(BLAS_MODULE, name, true, NULL);
}

/* look every function up once per process */
static inline void
blas_load(void)
{
	if (likely(blas.loaded))
		return;
	blas.syrk_upper = blas_function("mlsys_blas_syrk_upper");
	blas.syr_upper = blas_function("mlsys_blas_syr_upper");
	blas.cholesky_solve = blas_function("mlsys_blas_cholesky_solve");
	blas.cholesky_resolve = blas_function("mlsys_blas_cholesky_resolve");
	blas.dot = blas_function("mlsys_blas_dot");
	blas.pinv_solve = blas_function("mlsys_blas_pinv_solve");
	blas.gram = blas_function("mlsys_blas_gram");
	blas.gemv_t = blas_function("mlsys_blas_gemv_t");
	blas.gemv = blas_function("mlsys_blas_gemv");
	blas.gemm_nn = blas_function("mlsys_blas_gemm_nn");
	blas.gemm_tn = blas_function("mlsys_blas_gemm_tn");
	blas.posv = blas_function("mlsys_blas_posv");
	blas.sgemv = blas_function("mlsys_blas_sgemv");
	blas.sgemm_nt = blas_function("mlsys_blas_sgemm_nt");
	blas.loaded = true;
}

void
mlsys_syrk_upper(double *C, int m, const double *A, int rows)
{
	blas_load();
	blas.syrk_upper(C, m, A, rows);
}

void
mlsys_syr_upper(double *C, int m, double alpha, const double *x)
{
	blas_load();
	blas.syr_upper(C, m, alpha, x);
}

int
mlsys_cholesky_solve(double *A, int n, double *b, double *rcond)
{
	blas_load();
	return blas.cholesky_solve(A, n, b, rcond);
}

void
mlsys_cholesky_resolve(const double *A, int n, double *b)
{
	blas_load();
	blas.cholesky_resolve(A, n, b);
}

double
mlsys_dot(const double *a, const double *b, int n)
{
	blas_load();
	return blas.dot(a, b, n);
}

int
mlsys_pinv_solve(double *A, int n, double *b, double rel_tol)
{
	blas_load();
	return blas.pinv_solve(A, n, b, rel_tol);
}

void
mlsys_gram(double *G, int m, const double *A, int rows, double beta)
{
	blas_load();
	blas.gram(G, m, A, rows, beta);
}

void
mlsys_gemv_t(const double *A, int rows, int cols, const double *y, double *out)
{
	blas_load();
	blas.gemv_t(A, rows, cols, y, out);
}

void
mlsys_gemv(const double *A, int rows, int cols, bool trans, double alpha,
		   const double *x, double beta, double *y)
{
	blas_load();
	blas.gemv(A, rows, cols, trans, alpha, x, beta, y);
}

void
mlsys_gemm_nn(double *C, int m, int n, const double *A, const double *B, int k, double alpha)
{
	blas_load();
	blas.gemm_nn(C, m, n, A, B, k, alpha);
}

void
mlsys_gemm_tn(double *C, int m, int n, const double *A, int lda, const double *B, int ldb, int rows)
{
	blas_load();
	blas.gemm_tn(C, m, n, A, lda, B, ldb, rows);
}

int
mlsys_posv(double *A, int n, double *b)
{
	blas_load();
	return blas.posv(A, n, b);
}

void
mlsys_sgemv(const float *A, int rows, int cols, const float *x, float *y)
{
	blas_load();
	blas.sgemv(A, rows, cols, x, y);
}

void
mlsys_sgemm_nt(float *C, int ldc, const float *A, int m, const float *B, int n, int k)
{
	blas_load();
	blas.sgemm_nt(C, ldc, A, m, B, n, k);
}
