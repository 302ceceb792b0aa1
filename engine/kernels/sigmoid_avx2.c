/* sigmoid_avx2.c: sigmoid.inc's loop in avx2's vectors. */
#define SIGMOID_FORWARD convnet_sigmoid_forward_avx2
#include "sigmoid.inc"
