/* graph_ops/pool.c: MaxPool2d, AvgPool2d and AdaptiveAvgPool2d nodes run
 * ops/pool.c's kernels with their window.  MaxPool2d runs on the kernels'
 * threads and vectors (kernels/pool.h) unless CONVNET_EXACT=1: the values
 * are the same to the bit, so training uses it too (its backward finds
 * each maximum again in the input). */
#include "graph_ops.h"

#include "kernels/pool.h"

void
convnet_op_maxpool2d_forward (ConvnetGraph *g, ConvnetNode *node, int batch,
                              gboolean trains G_GNUC_UNUSED)
{
  const float *in = convnet_op_input (g, node, 0)->out;

  if (g->exact)
    maxpool2d_forward (node->out, in, batch, &node->conv);
  else
    convnet_maxpool2d_fast (convnet_kernels (), node->out, in, batch,
                            &node->conv);
}

void
convnet_op_maxpool2d_backward (ConvnetGraph *g, ConvnetNode *node, int batch,
                               gboolean trains G_GNUC_UNUSED)
{
  float *dx = convnet_op_input_grad (g, node, 0);

  if (dx)
    maxpool2d_backward (dx, node->grad, convnet_op_input (g, node, 0)->out,
                        batch, &node->conv);
}

typedef struct
{
  const ConvnetNode *node;
  float             *out;   /* out, or dx */
  const float       *in;    /* in, or dy */
  gboolean           backward;
} AvgPoolJob;

static void
avgpool_samples (gpointer data, int begin, int end)
{
  const AvgPoolJob *job = data;
  const ConvGeometry *geo = &job->node->conv;
  const gsize in_sample = (gsize) geo->c_in * geo->h_in * geo->w_in;
  const gsize out_sample = (gsize) geo->c_in * geo->h_out * geo->w_out;

  if (job->backward)
    avgpool2d_backward (job->out + begin * in_sample,
                        job->in + begin * out_sample, end - begin, geo,
                        job->node->count_include_pad);
  else
    avgpool2d_forward (job->out + begin * out_sample,
                       job->in + begin * in_sample, end - begin, geo,
                       job->node->count_include_pad);
}

/* AvgPool2d over the samples shared out between the kernels' threads:
 * each output is computed as on one thread. */
static void
avgpool_threaded (const ConvnetNode *node, float *out, const float *in,
                  int batch, gboolean backward)
{
  AvgPoolJob job = { node, out, in, backward };

  convnet_parallel_for (batch, avgpool_samples, &job);
}

void
convnet_op_avgpool2d_forward (ConvnetGraph *g, ConvnetNode *node, int batch,
                              gboolean trains G_GNUC_UNUSED)
{
  avgpool_threaded (node, node->out, convnet_op_input (g, node, 0)->out,
                    batch, FALSE);
}

void
convnet_op_avgpool2d_backward (ConvnetGraph *g, ConvnetNode *node, int batch,
                               gboolean trains G_GNUC_UNUSED)
{
  float *dx = convnet_op_input_grad (g, node, 0);

  if (dx)
    avgpool_threaded (node, dx, node->grad, batch, TRUE);
}

typedef struct
{
  float       *out;
  const float *in;
  ConvnetShape from, to;
} AdaptiveJob;

static void
adaptive_planes (gpointer data, int begin, int end)
{
  const AdaptiveJob *job = data;
  const gsize in_plane = (gsize) job->from.h * job->from.w;
  const gsize out_plane = (gsize) job->to.h * job->to.w;

  adaptive_avgpool2d_forward (job->out + begin * out_plane,
                              job->in + begin * in_plane, 1, end - begin,
                              job->from.h, job->from.w, job->to.h, job->to.w);
}

/* The planes shared out between the kernels' threads: each plane's
 * outputs are computed as on one thread. */
void
convnet_op_adaptive_avgpool2d_forward (ConvnetGraph *g, ConvnetNode *node,
                                       int batch,
                                       gboolean trains G_GNUC_UNUSED)
{
  const ConvnetNode *in = convnet_op_input (g, node, 0);
  AdaptiveJob job = { node->out, in->out, in->shape, node->shape };

  convnet_parallel_for (batch * in->shape.c, adaptive_planes, &job);
}

void
convnet_op_adaptive_avgpool2d_backward (ConvnetGraph *g, ConvnetNode *node,
                                        int batch,
                                        gboolean trains G_GNUC_UNUSED)
{
  const ConvnetNode *in = convnet_op_input (g, node, 0);
  float *dx = convnet_op_input_grad (g, node, 0);

  if (dx)
    adaptive_avgpool2d_backward (dx, node->grad, batch, in->shape.c,
                                 in->shape.h, in->shape.w, node->shape.h,
                                 node->shape.w);
}
