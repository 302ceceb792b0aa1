/* sigmoid_avx512.c: sigmoid.inc's loop in avx512's vectors. */
#define SIGMOID_FORWARD convnet_sigmoid_forward_avx512
#include "sigmoid.inc"
