/* pool_generic.c: MaxPool2d planes vectorised for the baseline instruction set; see
 * pool_plane.inc. */
#define MAXPOOL_PLANE convnet_maxpool_plane_generic
#include "pool_plane.inc"
