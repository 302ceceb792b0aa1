/* fc.h: fully connected layers at inference for a few samples, where the
 * layer is a matrix-vector product whose time is the time to stream its
 * weights from memory.  The output rows are split over the kernels'
 * threads so that every core streams its own part of the weights, read in
 * place from the layer's parameter.  Optionally the weights are kept in
 * half precision, halving what is streamed (convnet_fc_half_*). */
#ifndef CONVNET_FC_H
#define CONVNET_FC_H

#include "kernels.h"

/* OUT (BATCH x OUT_FEATURES) = X (BATCH x IN_FEATURES) W^T + BIAS, with W
 * out x in, row-major, as the layer stores it; BIAS may be NULL.  BATCH is
 * 1 to CONVNET_FC_MAX_BATCH. */
void convnet_fc_forward (const ConvnetKernels *kernels, float *out,
                         const float *x, const float *weight,
                         const float *bias, int batch, int in_features,
                         int out_features);

/* A layer's weights rounded to IEEE half precision (to nearest, ties to
 * even): half the bytes to stream for a relative error of each weight of
 * at most 2^-11 (4.9e-4), which reaches the outputs, so this is opt-in. */
typedef struct ConvnetFcHalf ConvnetFcHalf;

/* NULL when a weight is finite but beyond half's range (|w| > 65504), or
 * memory runs out: the layer then stays in single precision. */
ConvnetFcHalf *convnet_fc_half_new     (const ConvnetKernels *kernels,
                                        const float *weight,
                                        int in_features, int out_features);
void           convnet_fc_half_free    (ConvnetFcHalf *half);
gsize          convnet_fc_half_bytes   (const ConvnetFcHalf *half);
/* As convnet_fc_forward with the half weights. */
void           convnet_fc_half_forward (const ConvnetKernels *kernels,
                                        const ConvnetFcHalf *half, float *out,
                                        const float *x, const float *bias,
                                        int batch);

#endif
