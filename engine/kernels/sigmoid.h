/* sigmoid.h: Sigmoid's forward vectorised for the CPU found.  Training
 * LeNet-5 spends a tenth of its time in it; built for the baseline ISA
 * alone it runs four lanes wide. */
#ifndef CONVNET_SIGMOID_H
#define CONVNET_SIGMOID_H

#include "kernels.h"

typedef void (*ConvnetSigmoidForward) (float *out, const float *in, gsize n);

void convnet_sigmoid_forward_generic (float *out, const float *in, gsize n);
void convnet_sigmoid_forward_avx2 (float *out, const float *in, gsize n);
void convnet_sigmoid_forward_avx512 (float *out, const float *in, gsize n);

/* The forward for KERNELS' instruction set: sigmoid_forward's values. */
ConvnetSigmoidForward
convnet_sigmoid_forward_for (const ConvnetKernels *kernels);

#endif
