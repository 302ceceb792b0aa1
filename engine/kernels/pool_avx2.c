/* pool_avx2.c: MaxPool2d planes vectorised for AVX2; see
 * pool_plane.inc. */
#define MAXPOOL_PLANE convnet_maxpool_plane_avx2
#include "pool_plane.inc"
