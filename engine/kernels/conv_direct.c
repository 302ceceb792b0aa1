/* conv_direct.c: which convolutions the direct kernels take, and the
 * kernels of each instruction set (conv_direct_*.c). */
#include "conv_direct.h"

#include <string.h>

/* input channels times output channels up to this, where a product's
 * rows are too few to pay for unfolding (LeNet's layers: 6 and 96) */
#define MAX_CHANNEL_PAIRS 128

gboolean
convnet_conv_direct_fits (const ConvGeometry *geo)
{
  /* the backward's full correlation pads by k - 1 - p */
  return geo->groups == 1 && geo->sh == 1 && geo->sw == 1 && geo->dh == 1
         && geo->dw == 1 && geo->h_out > 0 && geo->w_out > 0
         && geo->ph <= geo->kh - 1 && geo->pw <= geo->kw - 1
         && geo->c_in * geo->c_out <= MAX_CHANNEL_PAIRS;
}

/* generously: the widest vectors' rounding, for any instruction set */
static gsize
round_up (gsize n, gsize to)
{
  return (n + to - 1) / to * to;
}

gsize
convnet_conv_direct_work_floats (const ConvGeometry *geo)
{
  const gsize wide = MAX (geo->w_in, geo->w_out) + 2 * MAX (geo->kw, 1) + 32;
  const gsize high = MAX (geo->h_in, geo->h_out) + 2 * geo->kh;
  const gsize k = (gsize) geo->c_in * geo->kh * geo->kw;
  /* the weights packed in blocks of output channels: the forward's, or
   * the flipped ones of dX's correlation, whose outputs are c_in */
  const gsize packed = round_up (geo->c_in, CONVNET_DIRECT_OC_BLOCK)
                       * round_up (geo->c_out, CONVNET_DIRECT_OC_BLOCK)
                       * geo->kh * geo->kw;

  /* + the flipped weights; padded input and dY (dW), or padded dY (dX);
   * dX's correlation */
  return packed + geo->c_out * k + (gsize) (geo->c_in + geo->c_out) * high * wide
         + (gsize) geo->c_in * geo->h_in * geo->w_in;
}

#define DIRECT_TABLE(isa)                                                   \
  static const ConvnetDirectKernels direct_##isa = {                        \
    convnet_conv_direct_forward_##isa, convnet_conv_direct_backward_##isa,  \
    convnet_conv_direct_reduce_##isa,                                       \
  };
DIRECT_TABLE (generic)
#ifdef CONVNET_HAVE_X86_KERNELS
DIRECT_TABLE (avx2)
DIRECT_TABLE (avx512)
#endif

const ConvnetDirectKernels *
convnet_conv_direct_for (const ConvnetKernels *kernels)
{
#ifdef CONVNET_HAVE_X86_KERNELS
  if (strcmp (kernels->isa, "avx512") == 0)
    return &direct_avx512;
  if (strcmp (kernels->isa, "avx2") == 0)
    return &direct_avx2;
#endif
  return &direct_generic;
}
