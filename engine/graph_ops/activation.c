/* graph_ops/activation.c: ReLU, Sigmoid and Tanh nodes, element-wise;
 * their backward reads the node's output, so the forward may overwrite
 * its input.  Large tensors are shared out between the kernels'
 * threads (the results do not change). */
#include "graph_ops.h"

#include "kernels/kernels.h"
#include "kernels/sigmoid.h"

typedef struct
{
  void       (*forward) (float *out, const float *in, gsize n);
  void       (*backward) (float *dx, const float *dy, const float *y,
                          gsize n);
  float       *out;       /* out, or dx */
  const float *in;        /* in, or dy */
  const float *y;
} ElementwiseJob;

static void
elementwise_range (gpointer data, gsize from, gsize to)
{
  const ElementwiseJob *job = data;

  if (job->forward)
    job->forward (job->out + from, job->in + from, to - from);
  else
    job->backward (job->out + from, job->in + from, job->y + from,
                   to - from);
}

static void
forward_threaded (void (*fn) (float *, const float *, gsize), float *out,
                  const float *in, gsize n)
{
  ElementwiseJob job = { .forward = fn, .out = out, .in = in };

  convnet_parallel_range (n, elementwise_range, &job);
}

static void
backward_threaded (void (*fn) (float *, const float *, const float *, gsize),
                   float *dx, const float *dy, const float *y, gsize n)
{
  ElementwiseJob job = { .backward = fn, .out = dx, .in = dy, .y = y };

  convnet_parallel_range (n, elementwise_range, &job);
}

void
convnet_op_relu_forward (ConvnetGraph *g, ConvnetNode *node, int batch,
                         gboolean trains G_GNUC_UNUSED)
{
  forward_threaded (relu_forward, node->out,
                    convnet_op_input (g, node, 0)->out,
                    convnet_op_numel (node, batch));
}

void
convnet_op_relu_backward (ConvnetGraph *g, ConvnetNode *node, int batch,
                          gboolean trains G_GNUC_UNUSED)
{
  gboolean store;
  float *dx = convnet_op_input_grad_fresh (g, node, 0, &store);

  if (dx)
    backward_threaded (store ? relu_backward_store : relu_backward, dx,
                       node->grad, node->out, convnet_op_numel (node, batch));
}

void
convnet_op_sigmoid_forward (ConvnetGraph *g, ConvnetNode *node, int batch,
                            gboolean trains G_GNUC_UNUSED)
{
  /* the vectorised loop gives the reference's values: only
   * CONVNET_EXACT=1's promise of the reference code itself needs this */
  forward_threaded (g->exact
                    ? sigmoid_forward
                    : convnet_sigmoid_forward_for (convnet_kernels ()),
                    node->out,
                    convnet_op_input (g, node, 0)->out,
                    convnet_op_numel (node, batch));
}

void
convnet_op_sigmoid_backward (ConvnetGraph *g, ConvnetNode *node, int batch,
                             gboolean trains G_GNUC_UNUSED)
{
  float *dx = convnet_op_input_grad (g, node, 0);

  if (dx)
    backward_threaded (sigmoid_backward, dx, node->grad, node->out,
                       convnet_op_numel (node, batch));
}

void
convnet_op_tanh_forward (ConvnetGraph *g, ConvnetNode *node, int batch,
                         gboolean trains G_GNUC_UNUSED)
{
  forward_threaded (tanh_forward, node->out,
                    convnet_op_input (g, node, 0)->out,
                    convnet_op_numel (node, batch));
}

void
convnet_op_tanh_backward (ConvnetGraph *g, ConvnetNode *node, int batch,
                          gboolean trains G_GNUC_UNUSED)
{
  float *dx = convnet_op_input_grad (g, node, 0);

  if (dx)
    backward_threaded (tanh_backward, dx, node->grad, node->out,
                       convnet_op_numel (node, batch));
}
