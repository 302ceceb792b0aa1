/* kernel_reference.h: what the fast-kernel suites compare against,
 * written out plainly in double precision, independent of the kernels and
 * of OpenBLAS. */
#ifndef CONVNET_KERNEL_REFERENCE_H
#define CONVNET_KERNEL_REFERENCE_H

#include "ops/ops.h"

/* A convolution case: square kernel, equal strides, padding, dilation. */
typedef struct
{
  int c_in, h, w, c_out, k, stride, pad, dilation, batch;
} ReferenceConvCase;

/* CASE's geometry, groups 1, with torch's output size. */
ConvGeometry reference_conv_geometry (const ReferenceConvCase *c);

/* X[0..N) uniform in [-1, 1) from SEED. */
void reference_fill (float *x, gsize n, guint32 seed);

/* The definition: out[n][o][y][x] = BIAS[o] + sum over c, ky, kx of
 * w * in, in double, then * SCALE[o] + SHIFT[o], + RESIDUAL, ReLU.  Each
 * of BIAS, SCALE (with SHIFT) and RESIDUAL may be NULL. */
void reference_conv (double *out, const float *in, const float *w,
                     const float *bias, const double *scale,
                     const double *shift, const float *residual,
                     gboolean relu, int batch, const ConvGeometry *g);

/* A convolution may write its C_OUT channels into a wider tensor, as into
 * a concatenation's: there the suites give each sample C_OUT +
 * REFERENCE_WIDER_EXTRA channels and write from channel
 * REFERENCE_WIDER_OFFSET, so that channels stay untouched on both sides. */
#define REFERENCE_WIDER_EXTRA 3
#define REFERENCE_WIDER_OFFSET 2

/* Where element J of a BATCH x C_OUT x HW tensor lies in the wider one,
 * counted from the wider tensor's start. */
gsize reference_wider_index (gsize j, int c_out, gsize hw);

/* Floats from one sample to the next in the wider tensor. */
gsize reference_wider_sample (int c_out, gsize hw);

#endif
