/* linear_train.h: a fully connected layer over a training batch on the
 * engine's micro-kernels (matmul.h), its rows shared out between the
 * threads, so that training never wakes OpenBLAS's own threads to spin
 * beside the kernels' pool on the same cores. */
#ifndef CONVNET_LINEAR_TRAIN_H
#define CONVNET_LINEAR_TRAIN_H

#include "kernels.h"

/* OUT (batch x out_features) = IN W^T + BIAS (may be NULL), as
 * linear_forward. */
void convnet_linear_forward_batch (const ConvnetKernels *kernels, float *out,
                                   const float *in, const float *weight,
                                   const float *bias, int batch,
                                   int in_features, int out_features);
/* linear_backward's sums: DX += DY W, DWEIGHT += DY^T X, DBIAS += column
 * sums of DY (each may be NULL). */
void convnet_linear_backward_batch (const ConvnetKernels *kernels, float *dx,
                                    float *dweight, float *dbias,
                                    const float *dy, const float *x,
                                    const float *weight, int batch,
                                    int in_features, int out_features);

#endif
