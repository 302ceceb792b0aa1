/* winograd_avx2.c: the Winograd tile transforms for the avx2 micro-kernel,
 * 16 tiles at a time (its NR); see winograd_transforms.inc. */
#define WINOGRAD_LANES 16
#define WINOGRAD_TABLE convnet_winograd_avx2
#include "winograd_transforms.inc"
