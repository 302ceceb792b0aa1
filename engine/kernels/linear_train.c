/* linear_train.c: each product is cut into as many row ranges as there
 * are threads, in whole micro-kernel panels, and every range runs on its
 * thread's own packing workspace. */
#include "linear_train.h"

#include "matmul.h"

#include <string.h>

typedef struct
{
  const ConvnetKernels *kernels;
  float                *out, *dx, *dweight, *dbias;
  const float          *in, *dy, *weight, *bias;
  int                   batch, in_features, out_features;
  int                   slices;
} LinearJob;

/* Rows [*BEGIN, *END) of N for slice T of SLICES, in whole panels of MR. */
static void
slice_rows (int n, int mr, int t, int slices, int *begin, int *end)
{
  const int n_panels = (n + mr - 1) / mr;

  *begin = MIN (n, n_panels * t / slices * mr);
  *end = MIN (n, n_panels * (t + 1) / slices * mr);
}

static void
forward_items (gpointer data, int begin, int end)
{
  const LinearJob *job = data;
  const int in_f = job->in_features, out_f = job->out_features;

  for (int t = begin; t < end; t++)
    {
      int b0, b1;

      slice_rows (job->batch, job->kernels->mr, t, job->slices, &b0, &b1);
      if (b0 >= b1)
        continue;
      if (job->bias)
        for (int b = b0; b < b1; b++)
          memcpy (job->out + (gsize) b * out_f, job->bias,
                  sizeof (float) * out_f);
      convnet_matmul (job->kernels, b1 - b0, out_f, in_f,
                      (ConvnetMatrixView) { job->in + (gsize) b0 * in_f,
                                            in_f, 1 },
                      (ConvnetMatrixView) { job->weight, 1, in_f },
                      job->out + (gsize) b0 * out_f, out_f, job->bias != NULL,
                      convnet_matmul_thread_work
                        (convnet_matmul_work_floats (job->kernels, b1 - b0)));
    }
}

void
convnet_linear_forward_batch (const ConvnetKernels *kernels, float *out,
                              const float *in, const float *weight,
                              const float *bias, int batch, int in_features,
                              int out_features)
{
  LinearJob job = {
    .kernels = kernels, .out = out, .in = in, .weight = weight,
    .bias = bias, .batch = batch, .in_features = in_features,
    .out_features = out_features,
    .slices = convnet_parallel_threads (),
  };

  convnet_parallel_for (job.slices, forward_items, &job);
}

/* Items [0, slices) add DY W to ranges of DX's rows; items [slices,
 * 2 slices) add DY^T X to ranges of DWEIGHT's rows, with their bias sums. */
static void
backward_items (gpointer data, int begin, int end)
{
  const LinearJob *job = data;
  const ConvnetKernels *kernels = job->kernels;
  const int in_f = job->in_features, out_f = job->out_features;

  for (int item = begin; item < end; item++)
    {
      const gboolean weights = item >= job->slices;
      int r0, r1;

      slice_rows (weights ? out_f : job->batch, kernels->mr,
                  item % job->slices, job->slices, &r0, &r1);
      if (r0 >= r1)
        continue;
      if (!weights && job->dx)
        convnet_matmul (kernels, r1 - r0, in_f, out_f,
                        (ConvnetMatrixView) { job->dy + (gsize) r0 * out_f,
                                              out_f, 1 },
                        (ConvnetMatrixView) { job->weight, in_f, 1 },
                        job->dx + (gsize) r0 * in_f, in_f, TRUE,
                        convnet_matmul_thread_work
                          (convnet_matmul_work_floats (kernels, r1 - r0)));
      if (weights && job->dweight)
        convnet_matmul (kernels, r1 - r0, in_f, job->batch,
                        (ConvnetMatrixView) { job->dy + r0, 1, out_f },
                        (ConvnetMatrixView) { job->in, in_f, 1 },
                        job->dweight + (gsize) r0 * in_f, in_f, TRUE,
                        convnet_matmul_thread_work
                          (convnet_matmul_work_floats (kernels, r1 - r0)));
      /* in the order dY is stored, as linear_backward sums */
      if (weights && job->dbias)
        for (int n = 0; n < job->batch; n++)
          {
            const float *g = job->dy + (gsize) n * out_f;
            for (int o = r0; o < r1; o++)
              job->dbias[o] += g[o];
          }
    }
}

void
convnet_linear_backward_batch (const ConvnetKernels *kernels, float *dx,
                               float *dweight, float *dbias, const float *dy,
                               const float *x, const float *weight, int batch,
                               int in_features, int out_features)
{
  LinearJob job = {
    .kernels = kernels, .dx = dx, .dweight = dweight, .dbias = dbias,
    .dy = dy, .in = x, .weight = weight, .batch = batch,
    .in_features = in_features, .out_features = out_features,
    .slices = convnet_parallel_threads (),
  };

  convnet_parallel_for (2 * job.slices, backward_items, &job);
}
