/* kernels.h: the engine's own vectorised kernels, chosen once at run time
 * for the CPU found (AVX-512, AVX2 or portable C), and the small thread
 * pool they run on.  The graph reaches them through convnet_kernels();
 * nothing outside engine/ sees them.
 *
 * CONVNET_ISA=generic|avx2|avx512 forces a path (an unsupported one falls
 * back to the best the CPU has, with a warning), so that the test suite
 * runs every path on one machine.  CONVNET_EXACT=1 turns the fast paths
 * off: the graph then runs the reference kernels of engine/ops/. */
#ifndef CONVNET_KERNELS_H
#define CONVNET_KERNELS_H

#include <glib.h>

/* What the micro-kernel does with its tile before storing it: add
 * BIAS[row] (may be NULL), add RESIDUAL (same layout as the output, may be
 * NULL), clamp at 0 when RELU.  Applied once, after the last K block. */
typedef struct
{
  const float *bias;
  const float *residual;
  gsize        residual_stride;   /* between rows, like the output's */
  gboolean     relu;
} ConvnetEpilogue;

/* C[r][c] for r < MR_USED, c < NR_USED (row stride LDC) gets
 *   (ACCUMULATE ? C[r][c] : 0) + sum_k A[k][r] * B[k][c]
 * and, when EPILOGUE is not NULL, the epilogue (its bias and residual
 * indexed from this tile's first row and column).
 * A is a packed panel: K groups of MR floats (rows past the matrix are 0);
 * B is a packed panel: K groups of NR floats (columns past it are 0). */
typedef void (*ConvnetMicroKernel) (int k, const float *a, const float *b,
                                    float *c, gsize ldc, int mr_used,
                                    int nr_used, gboolean accumulate,
                                    const ConvnetEpilogue *epilogue);

typedef struct
{
  const char        *isa;       /* "avx512", "avx2", "generic" */
  int                mr, nr;    /* the micro-kernel's tile */
  ConvnetMicroKernel gemm_tile;
} ConvnetKernels;

/* The table for this CPU (or CONVNET_ISA), chosen once. */
const ConvnetKernels *convnet_kernels (void);
/* The table of one instruction set, or NULL if this CPU lacks it or the
 * engine was built without it; for tests that compare the paths. */
const ConvnetKernels *convnet_kernels_for (const char *isa);
/* Whether the CPU runs ISA ("generic", "avx2", "avx512"). */
gboolean convnet_cpu_supports (const char *isa);
/* CONVNET_EXACT=1 in the environment: the reference kernels only. */
gboolean convnet_kernels_exact (void);

extern const ConvnetKernels convnet_kernels_generic;
extern const ConvnetKernels convnet_kernels_avx2;
extern const ConvnetKernels convnet_kernels_avx512;

/* ------------------------------------------------------------ threads */

/* Runs FN (CTX, begin, end) over [0, N_ITEMS) split in contiguous shares,
 * one per thread, the calling thread taking the first; returns when all
 * are done.  Shares are equal in item count (the callers make items of
 * equal cost).  Not reentrant: FN must not call it. */
typedef void (*ConvnetParallelFunc) (gpointer ctx, int begin, int end);

void convnet_parallel_for (int n_items, ConvnetParallelFunc fn,
                           gpointer ctx);
/* The threads the pool uses (the calling one included): the processors
 * online unless convnet_set_threads() said fewer. */
int  convnet_parallel_threads (void);
void convnet_parallel_set_threads (int threads);

#endif
