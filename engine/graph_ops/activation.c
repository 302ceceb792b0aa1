/* graph_ops/activation.c: ReLU, Sigmoid and Tanh nodes, element-wise;
 * their backward reads the node's output, so the forward may overwrite
 * its input.  Large tensors are cut into chunks run on the kernels'
 * threads (the results do not change). */
#include "graph_ops.h"

#include "kernels/kernels.h"
#include "kernels/sigmoid.h"

/* below this many floats an element-wise op stays on the calling thread */
#define CHUNK_FLOATS 16384

typedef struct
{
  void       (*forward) (float *out, const float *in, gsize n);
  void       (*backward) (float *dx, const float *dy, const float *y,
                          gsize n);
  float       *out;       /* out, or dx */
  const float *in;        /* in, or dy */
  const float *y;
  gsize        n;
} ElementwiseJob;

static void
elementwise_chunks (gpointer data, int begin, int end)
{
  const ElementwiseJob *job = data;
  const gsize from = (gsize) begin * CHUNK_FLOATS;
  const gsize to = MIN (job->n, (gsize) end * CHUNK_FLOATS);

  if (job->forward)
    job->forward (job->out + from, job->in + from, to - from);
  else
    job->backward (job->out + from, job->in + from, job->y + from,
                   to - from);
}

/* The element-wise op of JOB over its N floats, in chunks on the
 * kernels' threads: every element is computed as on one thread. */
static void
run_elementwise (ElementwiseJob *job)
{
  const gsize chunks = (job->n + CHUNK_FLOATS - 1) / CHUNK_FLOATS;

  if (chunks <= 1 || chunks > G_MAXINT)
    elementwise_chunks (job, 0, chunks > 1 ? G_MAXINT : 1);
  else
    convnet_parallel_for ((int) chunks, elementwise_chunks, job);
}

static void
forward_threaded (void (*fn) (float *, const float *, gsize), float *out,
                  const float *in, gsize n)
{
  ElementwiseJob job = { .forward = fn, .out = out, .in = in, .n = n };

  run_elementwise (&job);
}

static void
backward_threaded (void (*fn) (float *, const float *, const float *, gsize),
                   float *dx, const float *dy, const float *y, gsize n)
{
  ElementwiseJob job = { .backward = fn, .out = dx, .in = dy, .y = y, .n = n };

  run_elementwise (&job);
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
  forward_threaded (convnet_kernels_exact ()
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
