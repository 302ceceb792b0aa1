/* conv_direct.h: stride-1 undilated convolutions with few channels (such
 * as LeNet's) computed directly rather than as a matrix product: with one
 * to a few input channels, an unfolded input is read for only a handful of
 * multiplications per float, and unfolding it costs more than the
 * product.  conv_train.c shares the samples out between the threads and
 * hands each thread its samples in one call. */
#ifndef CONVNET_CONV_DIRECT_H
#define CONVNET_CONV_DIRECT_H

#include "kernels.h"

/* Whether GEO is one the direct kernels take and are faster on. */
gboolean convnet_conv_direct_fits (const ConvGeometry *geo);
/* Floats of WORK a call needs, whatever its number of samples. */
gsize    convnet_conv_direct_work_floats (const ConvGeometry *geo);

/* Per-lane sums of the weight gradient: a vector of up to this many
 * floats per weight. */
#define CONVNET_DIRECT_MAX_LANES 16

/* output channels a block of the packed weights holds (conv_direct.inc) */
#define CONVNET_DIRECT_OC_BLOCK 8

typedef struct
{
  /* Y = conv (X) + BIAS (may be NULL) for SAMPLES samples one after the
   * other. */
  void (*forward) (float *y, const float *x, const float *w,
                   const float *bias, const ConvGeometry *geo, int samples,
                   float *work);
  /* For SAMPLES samples: DX += (or =, with DX_STORE) their input
   * gradients, DB += the bias gradient and the weight gradient added to
   * DW_LANES (c_out * c_in * kh * kw vectors of per-lane sums, zeroed
   * first by the caller); each may be NULL; X is needed for DW_LANES, W
   * for DX. */
  void (*backward) (float *dx, gboolean dx_store, float *dw_lanes,
                    double *db, const float *dy, const float *x,
                    const float *w, const ConvGeometry *geo, int samples,
                    float *work);
  /* DW[i] += the sum of DW_LANES' vector i, for N weights. */
  void (*reduce) (float *dw, const float *dw_lanes, gsize n);
} ConvnetDirectKernels;

#define CONVNET_DECLARE_DIRECT(isa)                                         \
  void convnet_conv_direct_forward_##isa (float *y, const float *x,         \
                                          const float *w, const float *bias,\
                                          const ConvGeometry *geo,          \
                                          int samples, float *work);        \
  void convnet_conv_direct_backward_##isa (float *dx, gboolean dx_store,    \
                                           float *dw_lanes, double *db,     \
                                           const float *dy, const float *x, \
                                           const float *w,                  \
                                           const ConvGeometry *geo,         \
                                           int samples, float *work);       \
  void convnet_conv_direct_reduce_##isa (float *dw, const float *dw_lanes,  \
                                         gsize n);
CONVNET_DECLARE_DIRECT (generic)
CONVNET_DECLARE_DIRECT (avx2)
CONVNET_DECLARE_DIRECT (avx512)

/* The direct kernels for KERNELS' instruction set. */
const ConvnetDirectKernels *
convnet_conv_direct_for (const ConvnetKernels *kernels);

#endif
