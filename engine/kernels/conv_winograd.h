/* conv_winograd.h: 3x3 and 5x5 stride-1 convolution by Winograd's
 * minimal filtering, F(2x2,3x3), F(4x4,3x3) or F(2x2,5x5) (alexnet's
 * second layer), on the engine's micro-kernels.  Each T x T input tile (T
 * = m + r - 1 for an r x r kernel) and each filter are transformed so
 * that the m x m outputs of a tile need T^2 products per channel pair
 * instead of r^2 m^2: 2.25x fewer for F(2,3), 4x for F(4,3), 2.8x for
 * F(2,5), paid for with transforms (linear in the channels) and a float
 * error near 1e-5 of the activations for F(4,3) and F(2,5).  The filters are transformed once (in double,
 * with a BatchNorm that follows folded in); bias, residual addition and
 * ReLU happen as the outputs are stored. */
#ifndef CONVNET_CONV_WINOGRAD_H
#define CONVNET_CONV_WINOGRAD_H

#include "kernels.h"
#include "ops/ops.h"

typedef struct ConvnetWinogradConv ConvnetWinogradConv;

/* Whether GEO is a convolution Winograd computes here: 3x3 or 5x5, stride
 * 1, dilation 1, groups 1, padding >= 0 and an output of the matching
 * size. */
gboolean convnet_winograd_applies (const ConvGeometry *geo);

/* The output tile a convolution of GEO takes in a plan of BATCH samples
 * (2 or 4, for OUTPUT_TILE below), or 0 for the packed product
 * (conv_gemm.h). */
int      convnet_winograd_variant (const ConvGeometry *geo, int batch);

/* Transforms WEIGHT (c_out x c_in x r x r) for KERNELS and OUTPUT_TILE
 * (3x3: 2 for F(2x2,3x3) or 4 for F(4x4,3x3); 5x5: 2).  SCALE, SHIFT and
 * BIAS as for convnet_packed_conv_new().  NULL when GEO does not apply,
 * OUTPUT_TILE is none of those, or KERNELS has no transforms. */
ConvnetWinogradConv *convnet_winograd_conv_new (const ConvnetKernels *kernels,
                                                const ConvGeometry *geo,
                                                const float *weight,
                                                const float *bias,
                                                const double *scale,
                                                const double *shift,
                                                gboolean relu,
                                                int output_tile);
/* The bytes of the transformed filters, and a transform using PACKED
 * where it lies, as convnet_winograd_conv_packed() gave them: as
 * convnet_packed_conv_new_from() does for the packed product. */
gsize                convnet_winograd_conv_packed_bytes (const ConvnetKernels *kernels,
                                                         const ConvGeometry *geo,
                                                         int output_tile);
ConvnetWinogradConv *convnet_winograd_conv_new_from (const ConvnetKernels *kernels,
                                                     const ConvGeometry *geo,
                                                     const float *packed,
                                                     const float *bias,
                                                     gboolean relu,
                                                     int output_tile);
/* The transformed filters and bias, for keeping them (pack_cache.h): a
 * change to their layout bumps pack_cache.c's LAYOUT_VERSION. */
const float         *convnet_winograd_conv_packed (const ConvnetWinogradConv *conv,
                                                   const float **bias);
void                 convnet_winograd_conv_free (ConvnetWinogradConv *conv);
gsize                convnet_winograd_conv_bytes (const ConvnetWinogradConv *conv);

/* The order of a forward's work: each panel of tiles passed over all of
 * U, or each block of U passed over groups of tile panels transformed
 * first; AUTO picks by U's size and the panels' number (conv_winograd.c,
 * weight_major). */
typedef enum
{
  CONVNET_WINOGRAD_ORDER_AUTO,
  CONVNET_WINOGRAD_ORDER_TILES,
  CONVNET_WINOGRAD_ORDER_WEIGHTS,
} ConvnetWinogradOrder;

/* For tests and benchmarks: ORDER, and in the weights' order at most
 * GROUP_PANELS tile panels a group (0: as many as 4 MB holds). */
void convnet_winograd_conv_set_order (ConvnetWinogradConv *conv,
                                      ConvnetWinogradOrder order,
                                      int group_panels);

/* For tests and benchmarks: ORDER for CONV's tiles (IN_ROWS on any
 * image size, where the kernels have gemm_rows). */
void     convnet_winograd_conv_set_pixels (ConvnetWinogradConv *conv,
                                           ConvnetPixelOrder order);
/* Whether a forward of BATCH samples on THREADS threads passes the
 * transformed filters over the tiles block by block (the weights' order)
 * under CONVNET_WINOGRAD_ORDER_AUTO. */
gboolean convnet_winograd_conv_weight_order (const ConvnetWinogradConv *conv,
                                             int batch, int threads);
/* Whether a forward of BATCH samples puts the tiles in rows. */
gboolean convnet_winograd_conv_tile_rows (const ConvnetWinogradConv *conv,
                                          int batch);

/* OUT = epilogue (conv (IN)) for BATCH samples, NCHW; RESIDUAL (may be
 * NULL) has OUT's layout and is added before the ReLU.  Each sample's
 * output starts OUT_SAMPLE floats after the one before (0: c_out x h_out
 * x w_out), as in convnet_packed_conv_forward.  OUT must not overlap IN. */
void convnet_winograd_conv_forward (const ConvnetWinogradConv *conv,
                                    float *out, const float *in,
                                    const float *residual, int batch,
                                    gsize out_sample);

#endif
