/* graph_ops/conv2d.c: a Conv2d node runs ops/conv2d.c's kernels with its
 * weight, its optional bias and the graph's workspace.  Unless
 * CONVNET_EXACT=1, a convolution the inference fast path does not take
 * (one that trains or passes a gradient) runs on the engine's own kernels
 * (kernels/conv_train.h), forward and backward, when it has one group. */
#include "graph_ops.h"

#include <string.h>

#include "kernels/conv_train.h"

static gboolean
uses_train_kernels (const ConvnetGraph *g, const ConvnetNode *node)
{
  return node->conv.groups == 1 && !g->exact;
}

void
convnet_op_conv2d_forward (ConvnetGraph *g, ConvnetNode *node, int batch,
                           gboolean trains G_GNUC_UNUSED)
{
  const float *in = convnet_op_input (g, node, 0)->out;
  const float *weight = convnet_op_param (g, node, 0);
  const float *bias = node->has_bias ? convnet_op_param (g, node, 1) : NULL;

  if (convnet_graph_run_fast_conv (g, node, batch))
    return;
  /* in training an optimizer step moves the weights without a new
   * serial: pack them again each time */
  if (uses_train_kernels (g, node)
      && convnet_train_conv_forward (&node->train_fast, convnet_kernels (),
                                     &node->conv, weight, bias,
                                     g->weights_serial, g->training,
                                     node->out, in, batch))
    return;
  conv2d_forward (node->out, in, weight, bias, batch, &node->conv,
                  g->scratch);
}

void
convnet_op_conv2d_backward (ConvnetGraph *g, ConvnetNode *node, int batch,
                            gboolean trains G_GNUC_UNUSED)
{
  gboolean store;
  float *dx = convnet_op_input_grad_fresh (g, node, 0, &store);
  float *dweight = convnet_op_param_grad (g, node, 0);
  float *dbias = node->has_bias ? convnet_op_param_grad (g, node, 1) : NULL;
  const float *x = convnet_op_input (g, node, 0)->out;
  const float *weight = convnet_op_param (g, node, 0);

  if (uses_train_kernels (g, node)
      && convnet_conv2d_backward_fast (convnet_kernels (), dx, store,
                                       dweight, dbias, node->grad, x, weight,
                                       batch, &node->conv, g->scratch,
                                       g->scratch_size))
    return;
  if (dx && store)
    memset (dx, 0, convnet_op_numel (convnet_op_input (g, node, 0), batch)
                   * sizeof (float));
  conv2d_backward (dx, dweight, dbias, node->grad, x, weight, batch,
                   &node->conv, g->scratch);
}

gsize
convnet_op_conv2d_forward_scratch (const ConvnetNode *node)
{
  return conv2d_scratch_floats (&node->conv);
}

gsize
convnet_op_conv2d_backward_scratch (const ConvnetNode *node)
{
  const gsize reference = conv2d_backward_scratch_floats (&node->conv);
  const int threads = convnet_parallel_threads ();

  /* sized for either path: the plan that decides comes later */
  if (node->conv.groups != 1)
    return reference;
  return MAX (reference,
              convnet_conv2d_backward_fast_scratch (convnet_kernels (),
                                                    &node->conv, threads));
}
