/* conv_unfold.h: the packed product's unfolded input (conv_unfold.c),
 * written straight into the micro-kernel's panels, a panel of output
 * pixels at a time; nothing outside engine/kernels/ uses it. */
#ifndef CONVNET_CONV_UNFOLD_H
#define CONVNET_CONV_UNFOLD_H

#include "kernels.h"

/* How a panel of the unfolded input is written. */
typedef enum
{
  CONVNET_UNFOLD_LOADS,  /* the kernels' masked loads (ConvnetUnfoldWindows) */
  CONVNET_UNFOLD_RUNS,   /* a run of pixels along an output row at a time,
                            for column strides above
                            CONVNET_UNFOLD_MAX_STRIDE and windows of more
                            positions than ConvnetUnfoldWindows holds */
  CONVNET_UNFOLD_PHASES, /* the masked loads at stride 1, over the input
                            split first into its stride's phases
                            (convnet_unfold_split_phases): a stem */
} ConvnetUnfoldWay;

ConvnetUnfoldWay convnet_unfold_way (const ConvGeometry *geo);

/* Floats a sample's input takes split into phases (CONVNET_UNFOLD_PHASES). */
gsize convnet_unfold_phases_floats (const ConvGeometry *geo);

/* Writes BATCH samples of IN into DST split into phases: for a stride S,
 * each channel becomes S x S planes, plane (a, b) holding the padded
 * input's pixels (S y + a, S x + b), zero in the padding.  Window
 * position (ky, kx) of output pixel (oy, ox) is then pixel
 * (oy + ky / S, ox + kx / S) of plane (ky % S, kx % S): consecutive
 * output pixels read consecutive floats, with no padding to test. */
void convnet_unfold_split_phases (const ConvGeometry *geo, float *dst,
                                  const float *in, int batch);

/* Fills WINDOWS for output pixels P0 .. P0+NR_USED of GEO (column stride
 * up to CONVNET_UNFOLD_MAX_STRIDE), counted through the samples from the
 * first, SAMPLE_FLOATS floats of input apart: a panel may run on into the
 * next sample.  With WAY CONVNET_UNFOLD_PHASES the windows are in the
 * split input's. */
void convnet_unfold_describe (ConvnetUnfoldWindows *windows,
                              const ConvGeometry *geo, ConvnetUnfoldWay way,
                              int p0, int nr_used, gsize sample_floats);

/* Writes rows K0 .. K0+KC of the unfolded input IN (one sample) for
 * output pixels P0 .. P0+NR_USED of GEO into DST (KC x the kernels' NR,
 * zero past NR_USED); WINDOWS, but for CONVNET_UNFOLD_RUNS, describes
 * those pixels. */
void convnet_unfold_panel (float *dst, const ConvnetKernels *kernels,
                           const ConvGeometry *geo, ConvnetUnfoldWay way,
                           const ConvnetUnfoldWindows *windows,
                           const float *in, int k0, int kc, int p0,
                           int nr_used);

#endif
