/* graph_ops/pool.c: MaxPool2d, AvgPool2d and AdaptiveAvgPool2d nodes run
 * ops/pool.c's kernels with their window.  MaxPool2d runs on the kernels'
 * threads and vectors (kernels/pool.h) unless CONVNET_EXACT=1: the values
 * are the same to the bit, so training uses it too (its backward finds
 * each maximum again in the input). */
#include "graph_ops.h"

#include "kernels/pool.h"

void
convnet_op_maxpool2d_forward (ConvnetGraph *g, ConvnetNode *node, int batch,
                              gboolean trains G_GNUC_UNUSED)
{
  const float *in = convnet_op_input (g, node, 0)->out;

  if (convnet_kernels_exact ())
    maxpool2d_forward (node->out, in, batch, &node->conv);
  else
    convnet_maxpool2d_fast (convnet_kernels (), node->out, in, batch,
                            &node->conv);
}

void
convnet_op_maxpool2d_backward (ConvnetGraph *g, ConvnetNode *node, int batch,
                               gboolean trains G_GNUC_UNUSED)
{
  float *dx = convnet_op_input_grad (g, node, 0);

  if (dx)
    maxpool2d_backward (dx, node->grad, convnet_op_input (g, node, 0)->out,
                        batch, &node->conv);
}

void
convnet_op_avgpool2d_forward (ConvnetGraph *g, ConvnetNode *node, int batch,
                              gboolean trains G_GNUC_UNUSED)
{
  avgpool2d_forward (node->out, convnet_op_input (g, node, 0)->out, batch,
                     &node->conv, node->count_include_pad);
}

void
convnet_op_avgpool2d_backward (ConvnetGraph *g, ConvnetNode *node, int batch,
                               gboolean trains G_GNUC_UNUSED)
{
  float *dx = convnet_op_input_grad (g, node, 0);

  if (dx)
    avgpool2d_backward (dx, node->grad, batch, &node->conv,
                        node->count_include_pad);
}

void
convnet_op_adaptive_avgpool2d_forward (ConvnetGraph *g, ConvnetNode *node,
                                       int batch,
                                       gboolean trains G_GNUC_UNUSED)
{
  const ConvnetNode *in = convnet_op_input (g, node, 0);

  adaptive_avgpool2d_forward (node->out, in->out, batch, in->shape.c,
                              in->shape.h, in->shape.w, node->shape.h,
                              node->shape.w);
}

void
convnet_op_adaptive_avgpool2d_backward (ConvnetGraph *g, ConvnetNode *node,
                                        int batch,
                                        gboolean trains G_GNUC_UNUSED)
{
  const ConvnetNode *in = convnet_op_input (g, node, 0);
  float *dx = convnet_op_input_grad (g, node, 0);

  if (dx)
    adaptive_avgpool2d_backward (dx, node->grad, batch, in->shape.c,
                                 in->shape.h, in->shape.w, node->shape.h,
                                 node->shape.w);
}
