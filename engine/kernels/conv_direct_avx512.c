/* conv_direct_avx512.c: conv_direct.inc's loops in avx512's vectors. */
#define VEC_FLOATS 16
#define DIRECT_FORWARD convnet_conv_direct_forward_avx512
#define DIRECT_BACKWARD convnet_conv_direct_backward_avx512
#define DIRECT_REDUCE convnet_conv_direct_reduce_avx512
#include "conv_direct.inc"
