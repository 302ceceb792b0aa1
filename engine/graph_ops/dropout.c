/* graph_ops/dropout.c: a Dropout node drops only where it trains, keeping
 * its mask for the backward; elsewhere it is a view of its input
 * (CONVNET_OP_VIEW_UNLESS_TRAINING) and its gradient passes through. */
#include "graph_ops.h"

void
convnet_op_dropout_forward (ConvnetGraph *g, ConvnetNode *node, int batch,
                            gboolean trains)
{
  if (trains)
    dropout_forward_train (node->out, node->mask,
                           convnet_op_input (g, node, 0)->out,
                           convnet_op_numel (node, batch), node->dropout_p,
                           &g->dropout_rng);
}

void
convnet_op_dropout_backward (ConvnetGraph *g, ConvnetNode *node, int batch,
                             gboolean trains)
{
  float *dx = convnet_op_input_grad (g, node, 0);

  if (dx && trains)
    dropout_backward (dx, node->grad, node->mask,
                      convnet_op_numel (node, batch));
  else
    convnet_op_pass_gradient_backward (g, node, batch, trains);
}

/* The mask: 0 or 1/(1-p) per element. */
gsize
convnet_op_dropout_train_state (ConvnetNode *node, int batch, float *state)
{
  if (state)
    node->mask = state;
  return convnet_op_numel (node, batch);
}
