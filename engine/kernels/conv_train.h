/* conv_train.h: convolutions that train, on the engine's own kernels.  The
 * forward runs the packed product of conv_gemm.h on weights packed again
 * whenever they may have moved (every training forward: an optimizer step
 * changes them in place); the backward shares the batch out between the
 * threads, each taking whole samples through its own column matrix and
 * products on the micro-kernels (matmul.h), and adds the threads' weight
 * gradients at the end.  Groups > 1 stay on the reference kernels. */
#ifndef CONVNET_CONV_TRAIN_H
#define CONVNET_CONV_TRAIN_H

#include "kernels.h"
#include "ops/ops.h"

typedef struct ConvnetTrainConv ConvnetTrainConv;

/* OUT = conv (IN) + BIAS (may be NULL) for BATCH samples with WEIGHT,
 * packed into *CACHE (created here) unless it holds this WEIGHT packed at
 * SERIAL and REPACK is FALSE.  FALSE, computing nothing, when GEO has
 * groups or memory runs out. */
gboolean convnet_train_conv_forward (ConvnetTrainConv **cache,
                                     const ConvnetKernels *kernels,
                                     const ConvGeometry *geo,
                                     const float *weight, const float *bias,
                                     guint64 serial, gboolean repack,
                                     float *out, const float *in, int batch);
void     convnet_train_conv_free (ConvnetTrainConv *cache);

/* Floats of workspace convnet_conv2d_backward_fast needs to run on
 * THREADS threads. */
gsize convnet_conv2d_backward_fast_scratch (const ConvnetKernels *kernels,
                                            const ConvGeometry *geo,
                                            int threads);
/* conv2d_backward's sums (DX, DWEIGHT, DBIAS each added to, each may be
 * NULL; DX_STORE: DX is stored, not added to, which saves zeroing it) on
 * KERNELS and the threads, with SCRATCH_FLOATS floats of SCRATCH; FALSE,
 * computing nothing, when GEO has groups or the scratch is too small for
 * one thread. */
gboolean convnet_conv2d_backward_fast (const ConvnetKernels *kernels,
                                       float *dx, gboolean dx_store,
                                       float *dweight,
                                       float *dbias, const float *dy,
                                       const float *x, const float *weight,
                                       int batch, const ConvGeometry *geo,
                                       float *scratch, gsize scratch_floats);

#endif
