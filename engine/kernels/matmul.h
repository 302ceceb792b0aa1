/* matmul.h: a general matrix product on the engine's micro-kernels, for
 * the shapes training meets (thin, short or transposed operands) where
 * one OpenBLAS call per sample costs more in its setup than in its work.
 * Single-threaded: callers share out whole products between threads. */
#ifndef CONVNET_MATMUL_H
#define CONVNET_MATMUL_H

#include "kernels.h"

/* A strided view of a matrix: element (i, j) is at DATA[i * ROW + j * COL],
 * so a transposed operand is its own view with the strides swapped. */
typedef struct
{
  const float *data;
  gsize        row, col;
} ConvnetMatrixView;

/* Floats of WORK that convnet_matmul needs for M rows. */
gsize convnet_matmul_work_floats (const ConvnetKernels *kernels, int m);

/* The calling thread's own workspace of at least FLOATS floats, 64-byte
 * aligned, kept for its next call and freed when the thread ends. */
float *convnet_matmul_thread_work (gsize floats);

/* C (M x N, row stride LDC) = (ACCUMULATE ? C : 0) + A (M x K) B (K x N).
 * WORK holds convnet_matmul_work_floats (KERNELS, M) floats, 64-byte
 * aligned. */
void convnet_matmul (const ConvnetKernels *kernels, int m, int n, int k,
                     ConvnetMatrixView a, ConvnetMatrixView b, float *c,
                     gsize ldc, gboolean accumulate, float *work);

#endif
