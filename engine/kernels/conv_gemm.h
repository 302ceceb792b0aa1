/* conv_gemm.h: convolution as a packed matrix product on the engine's own
 * micro-kernels.  The weights are packed once (with a BatchNorm that
 * follows folded in); the input is unfolded panel by panel straight into
 * the micro-kernel's layout, so no full im2col matrix is ever written,
 * and bias, residual addition and ReLU happen as the output is stored. */
#ifndef CONVNET_CONV_GEMM_H
#define CONVNET_CONV_GEMM_H

#include "kernels.h"
#include "ops/ops.h"

typedef struct ConvnetPackedConv ConvnetPackedConv;

/* Packs WEIGHT (c_out x c_in x kh x kw, groups 1) for KERNELS.  With SCALE
 * (may be NULL) each output channel's weights and bias are multiplied by
 * SCALE[oc] and SHIFT[oc] added to its bias: an inference BatchNorm folded
 * in.  BIAS may be NULL.  NULL if GEO has groups or memory runs out. */
ConvnetPackedConv *convnet_packed_conv_new (const ConvnetKernels *kernels,
                                            const ConvGeometry *geo,
                                            const float *weight,
                                            const float *bias,
                                            const double *scale,
                                            const double *shift,
                                            gboolean relu);
/* The bytes of the packed weights of GEO for KERNELS. */
gsize              convnet_packed_conv_packed_bytes (const ConvnetKernels *kernels,
                                                     const ConvGeometry *geo);
/* A packing that uses PACKED (convnet_packed_conv_packed_bytes() of
 * them, as convnet_packed_conv_packed() gave them) where it lies: it must
 * outlive the packing, which never writes it.  BIAS (c_out floats, may be
 * NULL) is copied. */
ConvnetPackedConv *convnet_packed_conv_new_from (const ConvnetKernels *kernels,
                                                 const ConvGeometry *geo,
                                                 const float *packed,
                                                 const float *bias,
                                                 gboolean relu);
/* CONV's packed weights, and in *BIAS its bias (BatchNorm folded in) or
 * NULL, for keeping them (pack_cache.h): a change to their
 * layout bumps pack_cache.c's LAYOUT_VERSION. */
const float       *convnet_packed_conv_packed (const ConvnetPackedConv *conv,
                                               const float **bias);
/* Packs new values of the same weights and bias into CONV, which was made
 * from WEIGHT and BIAS (both or neither) without SCALE: training changes
 * them at every step, and a fresh packing would map and fault in its
 * memory again each time. */
void               convnet_packed_conv_repack (ConvnetPackedConv *conv,
                                               const float *weight,
                                               const float *bias);
void               convnet_packed_conv_free (ConvnetPackedConv *conv);
gsize              convnet_packed_conv_bytes (const ConvnetPackedConv *conv);

/* For tests and benchmarks: ORDER for CONV's forwards (IN_ROWS on any
 * image size, where the kernels have gemm_rows). */
void convnet_packed_conv_set_pixels (ConvnetPackedConv *conv,
                                     ConvnetPixelOrder order);
/* For tests: whether CONV's forwards may stream their output past the
 * caches: AUTO by the output's size (convnet_packed_conv_streams), or
 * always, or never (in tables with streamed_stores). */
void convnet_packed_conv_set_streaming (ConvnetPackedConv *conv,
                                        ConvnetStreaming streaming);
/* Whether a forward of BATCH samples streams its output. */
gboolean convnet_packed_conv_streams (const ConvnetPackedConv *conv,
                                      int batch);
/* Whether a forward of BATCH samples puts the pixels in rows. */
gboolean convnet_packed_conv_pixel_rows (const ConvnetPackedConv *conv,
                                         int batch);

/* OUT = epilogue (conv (IN)) for BATCH samples; RESIDUAL (may be NULL) has
 * OUT's layout and is added before the ReLU.  Each sample's output starts
 * OUT_SAMPLE floats after the one before (0: c_out x h_out x w_out, one
 * after the other), which lets a convolution write its channels into a
 * wider tensor, a concatenation's.  OUT must not overlap IN. */
void convnet_packed_conv_forward (const ConvnetPackedConv *conv, float *out,
                                  const float *in, const float *residual,
                                  int batch, gsize out_sample);

#endif
