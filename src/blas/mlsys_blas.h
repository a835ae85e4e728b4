/*
 * mlsys_blas.h — the functions of the module mlsys_blas (mlsys_blas.c), which
 * mlsys.so calls through pointers it looks up on first use (src/blas_load.c).
 * Matrices are dense and row-major; symmetric ones keep their upper triangle.
 * Since PostgreSQL 16, PGXS compiles with -fvisibility=hidden: the entry
 * points are PGDLLEXPORT so that dlsym finds them.
 */
#ifndef MLSYS_BLAS_H
#define MLSYS_BLAS_H

extern PGDLLEXPORT void mlsys_blas_syrk_upper(double *C, int m, const double *A, int rows);
extern PGDLLEXPORT void mlsys_blas_syr_upper(double *C, int m, double alpha, const double *x);
extern PGDLLEXPORT int mlsys_blas_cholesky_solve(double *A, int n, double *b, double *rcond);
extern PGDLLEXPORT void mlsys_blas_cholesky_resolve(const double *A, int n, double *b);
extern PGDLLEXPORT double mlsys_blas_dot(const double *a, const double *b, int n);
extern PGDLLEXPORT int mlsys_blas_pinv_solve(double *A, int n, double *b, double rel_tol);
extern PGDLLEXPORT void mlsys_blas_gram(double *G, int m, const double *A, int rows, double beta);
extern PGDLLEXPORT void mlsys_blas_gemv_t(const double *A, int rows, int cols, const double *y, double *out);
extern PGDLLEXPORT void mlsys_blas_gemv(const double *A, int rows, int cols, bool trans, double alpha, const double *x, double beta, double *y);
extern PGDLLEXPORT void mlsys_blas_gemm_nn(double *C, int m, int n, const double *A, const double *B, int k, double alpha);
extern PGDLLEXPORT void mlsys_blas_gemm_tn(double *C, int m, int n, const double *A, int lda, const double *B, int ldb, int rows);
extern PGDLLEXPORT int mlsys_blas_posv(double *A, int n, double *b);
extern PGDLLEXPORT void mlsys_blas_sgemv(const float *A, int rows, int cols, const float *x, float *y);
extern PGDLLEXPORT void mlsys_blas_sgemm_nt(float *C, int ldc, const float *A, int m, const float *B, int n, int k);

#endif							/* MLSYS_BLAS_H */
