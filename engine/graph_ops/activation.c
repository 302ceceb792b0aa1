/* graph_ops/activation.c: ReLU, Sigmoid and Tanh nodes, element-wise;
 * their backward reads the node's output, so the forward may overwrite
 * its input. */
#include "graph_ops.h"

void
convnet_op_relu_forward (ConvnetGraph *g, ConvnetNode *node, int batch,
                         gboolean trains G_GNUC_UNUSED)
{
  relu_forward (node->out, convnet_op_input (g, node, 0)->out,
                convnet_op_numel (node, batch));
}

void
convnet_op_relu_backward (ConvnetGraph *g, ConvnetNode *node, int batch,
                          gboolean trains G_GNUC_UNUSED)
{
  float *dx = convnet_op_input_grad (g, node, 0);

  if (dx)
    relu_backward (dx, node->grad, node->out, convnet_op_numel (node, batch));
}

void
convnet_op_sigmoid_forward (ConvnetGraph *g, ConvnetNode *node, int batch,
                            gboolean trains G_GNUC_UNUSED)
{
  sigmoid_forward (node->out, convnet_op_input (g, node, 0)->out,
                   convnet_op_numel (node, batch));
}

void
convnet_op_sigmoid_backward (ConvnetGraph *g, ConvnetNode *node, int batch,
                             gboolean trains G_GNUC_UNUSED)
{
  float *dx = convnet_op_input_grad (g, node, 0);

  if (dx)
    sigmoid_backward (dx, node->grad, node->out,
                      convnet_op_numel (node, batch));
}

void
convnet_op_tanh_forward (ConvnetGraph *g, ConvnetNode *node, int batch,
                         gboolean trains G_GNUC_UNUSED)
{
  tanh_forward (node->out, convnet_op_input (g, node, 0)->out,
                convnet_op_numel (node, batch));
}

void
convnet_op_tanh_backward (ConvnetGraph *g, ConvnetNode *node, int batch,
                          gboolean trains G_GNUC_UNUSED)
{
  float *dx = convnet_op_input_grad (g, node, 0);

  if (dx)
    tanh_backward (dx, node->grad, node->out, convnet_op_numel (node, batch));
}
