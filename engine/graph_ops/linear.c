/* graph_ops/linear.c: a Linear node runs ops/linear.c's kernels with its
 * weight and optional bias over its flat input; at inference for up to
 * CONVNET_FC_MAX_BATCH samples, the kernels' threaded matrix-vector
 * product instead (kernels/fc.h), unless CONVNET_EXACT=1, with the weights
 * in half precision when the plan made them (CONVNET_FC_FP16=1), else in
 * the pack cache's copy when the plan took one.  In
 * training mode, forward and backward run on the kernels' micro-kernels
 * and threads (kernels/linear_train.h), unless CONVNET_EXACT=1. */
#include "graph_ops.h"

#include "kernels/fc.h"
#include "kernels/linear_train.h"

void
convnet_op_linear_forward (ConvnetGraph *g, ConvnetNode *node, int batch,
                           gboolean trains)
{
  const ConvnetNode *in = convnet_op_input (g, node, 0);
  const float *weight = convnet_graph_linear_weights (g, node);
  const float *bias = node->has_bias ? convnet_op_param (g, node, 1) : NULL;

  if (convnet_graph_run_fast_linear (g, node, batch))
    return;
  if (!trains && batch <= CONVNET_FC_MAX_BATCH && !g->exact)
    convnet_fc_forward (convnet_kernels (), node->out, in->out, weight, bias,
                        batch, in->shape.c, node->shape.c);
  else if (g->training && !g->exact)
    convnet_linear_forward_batch (convnet_kernels (), node->out, in->out,
                                  weight, bias, batch, in->shape.c,
                                  node->shape.c);
  else
    linear_forward (node->out, in->out, weight, bias, batch, in->shape.c,
                    node->shape.c);
}

void
convnet_op_linear_backward (ConvnetGraph *g, ConvnetNode *node, int batch,
                            gboolean trains G_GNUC_UNUSED)
{
  const ConvnetNode *in = convnet_op_input (g, node, 0);
  float *dx = convnet_op_input_grad (g, node, 0);
  float *dweight = convnet_op_param_grad (g, node, 0);
  float *dbias = node->has_bias ? convnet_op_param_grad (g, node, 1) : NULL;
  const float *weight = convnet_op_param (g, node, 0);

  if (g->exact)
    linear_backward (dx, dweight, dbias, node->grad, in->out, weight, batch,
                     in->shape.c, node->shape.c);
  else
    convnet_linear_backward_batch (convnet_kernels (), dx, dweight, dbias,
                                   node->grad, in->out, weight, batch,
                                   in->shape.c, node->shape.c);
}
