/* graph_ops/softmax.c: a Softmax node, over the channels of each pixel;
 * its backward reads its output. */
#include "graph_ops.h"

void
convnet_op_softmax_forward (ConvnetGraph *g, ConvnetNode *node, int batch,
                            gboolean trains G_GNUC_UNUSED)
{
  const ConvnetNode *in = convnet_op_input (g, node, 0);

  softmax_forward (node->out, in->out, batch, in->shape.c,
                   in->shape.h * in->shape.w);
}

void
convnet_op_softmax_backward (ConvnetGraph *g, ConvnetNode *node, int batch,
                             gboolean trains G_GNUC_UNUSED)
{
  const ConvnetNode *in = convnet_op_input (g, node, 0);
  float *dx = convnet_op_input_grad (g, node, 0);

  if (dx)
    softmax_backward (dx, node->grad, node->out, batch, in->shape.c,
                      in->shape.h * in->shape.w);
}
