/* conv_direct_generic.c: conv_direct.inc's loops in generic's vectors. */
#define VEC_FLOATS 4
#define DIRECT_FORWARD convnet_conv_direct_forward_generic
#define DIRECT_BACKWARD convnet_conv_direct_backward_generic
#define DIRECT_REDUCE convnet_conv_direct_reduce_generic
#include "conv_direct.inc"
