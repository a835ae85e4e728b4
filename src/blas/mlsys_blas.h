/*
 * mlsys_blas.h — the functions of the module mlsys_blas (mlsys_blas.c), which
 * mlsys.so calls through pointers it looks up on first use (src/blas_load.c).
 * Matrices are dense and row-major; symmetric ones keep their upper triangle.
 */
#ifndef MLSYS_BLAS_H
#define MLSYS_BLAS_H

extern void mlsys_blas_syrk_upper(double *C, int m, const double *A, int rows);
extern void mlsys_blas_syr_upper(double *C, int m, double alpha, const double *x);
extern int	mlsys_blas_cholesky_solve(double *A, int n, double *b, double *rcond);
extern void mlsys_blas_cholesky_resolve(const double *A, int n, double *b);
extern double mlsys_blas_dot(const double *a, const double *b, int n);
extern int	mlsys_blas_pinv_solve(double *A, int n, double *b, double rel_tol);
extern void mlsys_blas_gram(double *G, int m, const double *A, int rows, double beta);
extern void mlsys_blas_gemv_t(const double *A, int rows, int cols, const double *y, double *out);
extern void mlsys_blas_gemm_tn(double *C, int m, int n, const double *A, int lda, const double *B, int ldb, int rows);
extern int	mlsys_blas_posv(double *A, int n, double *b);
extern void mlsys_blas_sgemv(const float *A, int rows, int cols, const float *x, float *y);

#endif							/* MLSYS_BLAS_H */
