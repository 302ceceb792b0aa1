/* sigmoid.c: the Sigmoid forward of each instruction set (sigmoid_*.c). */
#include "sigmoid.h"

#include <string.h>

ConvnetSigmoidForward
convnet_sigmoid_forward_for (const ConvnetKernels *kernels)
{
#ifdef CONVNET_HAVE_X86_KERNELS
  if (strcmp (kernels->isa, "avx512") == 0)
    return convnet_sigmoid_forward_avx512;
  if (strcmp (kernels->isa, "avx2") == 0)
    return convnet_sigmoid_forward_avx2;
#endif
  return convnet_sigmoid_forward_generic;
}
