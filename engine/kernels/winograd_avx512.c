/* winograd_avx512.c: the Winograd tile transforms for the avx512 micro-kernel,
 * 32 tiles at a time (its NR); see winograd_transforms.inc. */
#define WINOGRAD_LANES 32
#define WINOGRAD_TABLE convnet_winograd_avx512
#include "winograd_transforms.inc"
