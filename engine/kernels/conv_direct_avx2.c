/* conv_direct_avx2.c: conv_direct.inc's loops in avx2's vectors. */
#define VEC_FLOATS 8
#define DIRECT_FORWARD convnet_conv_direct_forward_avx2
#define DIRECT_BACKWARD convnet_conv_direct_backward_avx2
#define DIRECT_REDUCE convnet_conv_direct_reduce_avx2
#include "conv_direct.inc"
