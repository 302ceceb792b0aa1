/* pool_avx512.c: MaxPool2d planes vectorised for AVX-512; see
 * pool_plane.inc. */
#define MAXPOOL_PLANE convnet_maxpool_plane_avx512
#include "pool_plane.inc"
