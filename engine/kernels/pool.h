/* pool.h: MaxPool2d at inference on the kernels: planes split over the
 * threads, each output row built from the input rows it covers, with the
 * loops over output columns vectorised for the CPU.  The results are those
 * of ops/pool.c's maxpool2d_forward to the bit, NaN and -inf included:
 * each window is scanned in the same order with the same test. */
#ifndef CONVNET_POOL_H
#define CONVNET_POOL_H

#include "kernels.h"

void convnet_maxpool2d_fast (const ConvnetKernels *kernels, float *out,
                             const float *in, int batch,
                             const ConvGeometry *geo);

/* A ConvnetMaxPoolPlane's workspace: the input padded with -inf to every
 * window's reach and split into its sh x sw phases, each phase_height x
 * phase_width, then the windows' row maxima of each row phase (sh more
 * phases), then the output at phase_width floats a row. */
static inline int
convnet_maxpool_phase_width (const ConvGeometry *geo)
{
  return geo->w_out + (geo->kw - 1) * geo->dw / geo->sw;
}

static inline int
convnet_maxpool_phase_height (const ConvGeometry *geo)
{
  return geo->h_out + (geo->kh - 1) * geo->dh / geo->sh;
}

static inline gsize
convnet_maxpool_work_floats (const ConvGeometry *geo)
{
  return (gsize) convnet_maxpool_phase_width (geo)
         * ((gsize) convnet_maxpool_phase_height (geo) * geo->sh
            * (geo->sw + 1) + geo->h_out);
}

#endif
