/* sigmoid_generic.c: sigmoid.inc's loop in generic's vectors. */
#define SIGMOID_FORWARD convnet_sigmoid_forward_generic
#include "sigmoid.inc"
