/* blas.h: OpenBLAS, opened at its first use (blas.c says why). */
#ifndef CONVNET_BLAS_H
#define CONVNET_BLAS_H

#include <cblas.h>

/* cblas_sgemm() of the OpenBLAS opened on first use.  A process without
 * OpenBLAS stops there, with a message naming the library. */
void convnet_sgemm (enum CBLAS_ORDER order, enum CBLAS_TRANSPOSE a_trans,
                    enum CBLAS_TRANSPOSE b_trans, int m, int n, int k,
                    float alpha, const float *a, int lda, const float *b,
                    int ldb, float beta, float *c, int ldc);

/* The threads OpenBLAS uses from now on, or from when it opens (0: its
 * default, one a processor); its idle workers are ended meanwhile. */
void convnet_blas_set_threads (int threads);

#endif
