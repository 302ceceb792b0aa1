/* graph_ops/lrn.c: a LocalResponseNorm node (AlexNet's and GoogLeNet's
 * originals) with its size, alpha, beta and k. */
#include "graph_ops.h"

void
convnet_op_lrn_forward (ConvnetGraph *g, ConvnetNode *node, int batch,
                        gboolean trains G_GNUC_UNUSED)
{
  const ConvnetNode *in = convnet_op_input (g, node, 0);

  lrn_forward (node->out, in->out, batch, in->shape.c,
               in->shape.h * in->shape.w, node->lrn_size, node->lrn_alpha,
               node->lrn_beta, node->lrn_k);
}

void
convnet_op_lrn_backward (ConvnetGraph *g, ConvnetNode *node, int batch,
                         gboolean trains G_GNUC_UNUSED)
{
  const ConvnetNode *in = convnet_op_input (g, node, 0);
  float *dx = convnet_op_input_grad (g, node, 0);

  if (dx)
    lrn_backward (dx, node->grad, in->out, batch, in->shape.c,
                  in->shape.h * in->shape.w, node->lrn_size, node->lrn_alpha,
                  node->lrn_beta, node->lrn_k);
}
