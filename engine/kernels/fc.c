/* fc.c: fully connected layers on the kernels' threads; see fc.h. */
#include "fc.h"

/* Output rows a work item: a multiple of every kernel's rows per pass, so
 * that only the last item has a remainder. */
#define ROWS_PER_ITEM 24
/* Below this many weights a layer is not worth waking a thread for. */
#define PARALLEL_MIN_WEIGHTS 65536
/* A layer above 65504 in magnitude has no half precision. */
#define HALF_MAX 65504.0f

struct ConvnetFcHalf
{
  guint16 *weight;
  int      in_features, out_features;
};

typedef struct
{
  const ConvnetKernels *kernels;
  const float          *weight;
  const guint16        *weight_half;
  const float          *x, *bias;
  float                *out;
  int                   batch, in_features, out_features;
} FcJob;

static void
fc_items (gpointer data, int begin, int end)
{
  const FcJob *job = data;
  const int row_begin = begin * ROWS_PER_ITEM;
  const int row_end = MIN (job->out_features, end * ROWS_PER_ITEM);

  if (job->weight_half)
    job->kernels->fc_rows_half (job->weight_half, job->x, job->bias, job->out,
                                job->batch, job->in_features,
                                job->out_features, row_begin, row_end);
  else
    job->kernels->fc_rows (job->weight, job->x, job->bias, job->out,
                           job->batch, job->in_features, job->out_features,
                           row_begin, row_end);
}

static void
run (const FcJob *job)
{
  const int items = (job->out_features + ROWS_PER_ITEM - 1) / ROWS_PER_ITEM;

  g_return_if_fail (job->batch >= 1 && job->batch <= CONVNET_FC_MAX_BATCH);
  if ((gsize) job->in_features * job->out_features < PARALLEL_MIN_WEIGHTS)
    fc_items ((gpointer) job, 0, items);
  else
    convnet_parallel_for (items, fc_items, (gpointer) job);
}

void
convnet_fc_forward (const ConvnetKernels *kernels, float *out,
                    const float *x, const float *weight, const float *bias,
                    int batch, int in_features, int out_features)
{
  const FcJob job = { kernels, weight, NULL, x, bias, out, batch,
                      in_features, out_features };

  run (&job);
}

/* ----------------------------------------------------------------- half */

typedef struct
{
  const ConvnetKernels *kernels;
  const float          *weight;
  guint16              *half;
  int                   in_features;
} ConvertJob;

static void
convert_rows (gpointer data, int begin, int end)
{
  const ConvertJob *job = data;
  const gsize from = (gsize) begin * job->in_features;

  job->kernels->to_half (job->half + from, job->weight + from,
                         (gsize) (end - begin) * job->in_features);
}

ConvnetFcHalf *
convnet_fc_half_new (const ConvnetKernels *kernels, const float *weight,
                     int in_features, int out_features)
{
  const gsize n = (gsize) in_features * out_features;
  ConvnetFcHalf *half;
  ConvertJob job;

  for (gsize i = 0; i < n; i++)
    if (weight[i] > HALF_MAX || weight[i] < -HALF_MAX)
      return NULL;
  half = g_new0 (ConvnetFcHalf, 1);
  half->weight = g_try_new (guint16, n);
  if (!half->weight)
    {
      g_free (half);
      return NULL;
    }
  half->in_features = in_features;
  half->out_features = out_features;
  job = (ConvertJob) { kernels, weight, half->weight, in_features };
  convnet_parallel_for (out_features, convert_rows, &job);
  return half;
}

void
convnet_fc_half_free (ConvnetFcHalf *half)
{
  if (!half)
    return;
  g_free (half->weight);
  g_free (half);
}

gsize
convnet_fc_half_bytes (const ConvnetFcHalf *half)
{
  return (gsize) half->in_features * half->out_features * sizeof (guint16);
}

void
convnet_fc_half_forward (const ConvnetKernels *kernels,
                         const ConvnetFcHalf *half, float *out,
                         const float *x, const float *bias, int batch)
{
  const FcJob job = { kernels, NULL, half->weight, x, bias, out, batch,
                      half->in_features, half->out_features };

  run (&job);
}
