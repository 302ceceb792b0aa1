/* graph_ops/linear.c: a Linear node runs ops/linear.c's kernels with its
 * weight and optional bias over its flat input. */
#include "graph_ops.h"

void
convnet_op_linear_forward (ConvnetGraph *g, ConvnetNode *node, int batch,
                           gboolean trains G_GNUC_UNUSED)
{
  const ConvnetNode *in = convnet_op_input (g, node, 0);

  linear_forward (node->out, in->out, convnet_op_param (g, node, 0),
                  node->has_bias ? convnet_op_param (g, node, 1) : NULL,
                  batch, in->shape.c, node->shape.c);
}

void
convnet_op_linear_backward (ConvnetGraph *g, ConvnetNode *node, int batch,
                            gboolean trains G_GNUC_UNUSED)
{
  const ConvnetNode *in = convnet_op_input (g, node, 0);

  linear_backward (convnet_op_input_grad (g, node, 0),
                   convnet_op_param_grad (g, node, 0),
                   node->has_bias ? convnet_op_param_grad (g, node, 1) : NULL,
                   node->grad, in->out, convnet_op_param (g, node, 0), batch,
                   in->shape.c, node->shape.c);
}
