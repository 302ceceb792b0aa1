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

/* What one case and variant of the fast-kernel suites runs on: inputs
 * from fixed seeds, the variant's epilogue (REFERENCE_VARIANTS of them:
 * none; bias and ReLU; folded BatchNorm and ReLU; all of those and a
 * residual; all of them into a wider tensor), the direct convolution's
 * output WANT, and OUT and RESIDUAL laid out as the kernel stores and
 * reads them: a kernel writes from OUT + FIRST, each sample OUT_SAMPLE
 * floats after the one before (0: packed one after the other). */
#define REFERENCE_VARIANTS 5

typedef struct
{
  gboolean  with_bias, with_bn, with_residual, relu, wider;
  gsize     n_in, n_w, n_out, n_stored, first, out_sample;
  float    *in, *w, *bias;
  double   *scale, *shift;
  float    *residual;   /* the kernel's layout, or NULL */
  float    *out;        /* n_stored */
  double   *want;       /* n_out */
  double    largest;    /* of |want| */
  int       c_out;
  gsize     hw;
} ReferenceRun;

void   reference_run_init  (ReferenceRun *run, const ConvGeometry *geo,
                            int batch, int variant, guint32 seed);
void   reference_run_clear (ReferenceRun *run);
/* Fills OUT with NaN, for a kernel to write. */
void   reference_run_reset (ReferenceRun *run);
/* The largest |out - want| over the outputs (infinite where one is NaN);
 * aborts naming WHAT if the kernel wrote any float outside them. */
double reference_run_worst (ReferenceRun *run, const char *what);

#endif
