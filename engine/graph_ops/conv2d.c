/* graph_ops/conv2d.c: a Conv2d node runs ops/conv2d.c's kernels with its
 * weight, its optional bias and the graph's workspace. */
#include "graph_ops.h"

void
convnet_op_conv2d_forward (ConvnetGraph *g, ConvnetNode *node, int batch,
                           gboolean trains G_GNUC_UNUSED)
{
  if (convnet_graph_run_fast_conv (g, node, batch))
    return;
  conv2d_forward (node->out, convnet_op_input (g, node, 0)->out,
                  convnet_op_param (g, node, 0),
                  node->has_bias ? convnet_op_param (g, node, 1) : NULL,
                  batch, &node->conv, g->scratch);
}

void
convnet_op_conv2d_backward (ConvnetGraph *g, ConvnetNode *node, int batch,
                            gboolean trains G_GNUC_UNUSED)
{
  conv2d_backward (convnet_op_input_grad (g, node, 0),
                   convnet_op_param_grad (g, node, 0),
                   node->has_bias ? convnet_op_param_grad (g, node, 1) : NULL,
                   node->grad, convnet_op_input (g, node, 0)->out,
                   convnet_op_param (g, node, 0), batch, &node->conv,
                   g->scratch);
}

gsize
convnet_op_conv2d_forward_scratch (const ConvnetNode *node)
{
  return conv2d_scratch_floats (&node->conv);
}

gsize
convnet_op_conv2d_backward_scratch (const ConvnetNode *node)
{
  return conv2d_backward_scratch_floats (&node->conv);
}
