/* winograd_generic.c: the Winograd tile transforms for the generic micro-kernel,
 * 16 tiles at a time (its NR); see winograd_transforms.inc. */
#define WINOGRAD_LANES 16
#define WINOGRAD_TABLE convnet_winograd_generic
#include "winograd_transforms.inc"
