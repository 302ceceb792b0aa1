/* graph_ops.c: the op table, one entry per ConvnetOpKind; the forward
 * plan (graph_forward.c) and the backward pass (graph_train.c) ask it
 * everything that differs between ops. */
#include "graph_ops.h"

/* The input's buffer is given, and Flatten is a view: nothing to run. */
static void
nothing_forward (ConvnetGraph *g G_GNUC_UNUSED,
                 ConvnetNode *node G_GNUC_UNUSED, int batch G_GNUC_UNUSED,
                 gboolean trains G_GNUC_UNUSED)
{
}

/* The input node is never below the first node with a gradient. */
static void
nothing_backward (ConvnetGraph *g G_GNUC_UNUSED,
                  ConvnetNode *node G_GNUC_UNUSED, int batch G_GNUC_UNUSED,
                  gboolean trains G_GNUC_UNUSED)
{
}

void
convnet_op_pass_gradient_backward (ConvnetGraph *g, ConvnetNode *node,
                                   int batch, gboolean trains G_GNUC_UNUSED)
{
  float *dx = convnet_op_input_grad (g, node, 0);
  const float *dy = node->grad;
  const gsize n = convnet_op_numel (node, batch);

  for (gsize k = 0; dx && k < n; k++)
    dx[k] += dy[k];
}

static const ConvnetOpClass op_classes[] = {
  [CONVNET_OP_INPUT] = {
    .name = "Input",
    .forward = nothing_forward,
    .backward = nothing_backward,
  },
  [CONVNET_OP_CONV2D] = {
    .name = "Conv2d",
    .flags = CONVNET_OP_HAS_PARAMS | CONVNET_OP_STORES_GRADS,
    .forward = convnet_op_conv2d_forward,
    .backward = convnet_op_conv2d_backward,
    .forward_scratch = convnet_op_conv2d_forward_scratch,
    .backward_scratch = convnet_op_conv2d_backward_scratch,
  },
  [CONVNET_OP_MAXPOOL2D] = {
    .name = "MaxPool2d",
    .forward = convnet_op_maxpool2d_forward,
    .backward = convnet_op_maxpool2d_backward,
  },
  [CONVNET_OP_AVGPOOL2D] = {
    .name = "AvgPool2d",
    .forward = convnet_op_avgpool2d_forward,
    .backward = convnet_op_avgpool2d_backward,
  },
  [CONVNET_OP_ADAPTIVE_AVGPOOL2D] = {
    .name = "AdaptiveAvgPool2d",
    .forward = convnet_op_adaptive_avgpool2d_forward,
    .backward = convnet_op_adaptive_avgpool2d_backward,
  },
  [CONVNET_OP_BATCHNORM2D] = {
    .name = "BatchNorm2d",
    .flags = CONVNET_OP_HAS_PARAMS | CONVNET_OP_OVERWRITES_INPUT
             | CONVNET_OP_STORES_GRADS,
    .forward = convnet_op_batchnorm2d_forward,
    .backward = convnet_op_batchnorm2d_backward,
    .train_state = convnet_op_batchnorm2d_train_state,
  },
  [CONVNET_OP_RELU] = {
    .name = "ReLU",
    .flags = CONVNET_OP_OVERWRITES_INPUT | CONVNET_OP_STORES_GRADS,
    .forward = convnet_op_relu_forward,
    .backward = convnet_op_relu_backward,
  },
  [CONVNET_OP_SIGMOID] = {
    .name = "Sigmoid",
    .flags = CONVNET_OP_OVERWRITES_INPUT,
    .forward = convnet_op_sigmoid_forward,
    .backward = convnet_op_sigmoid_backward,
  },
  [CONVNET_OP_TANH] = {
    .name = "Tanh",
    .flags = CONVNET_OP_OVERWRITES_INPUT,
    .forward = convnet_op_tanh_forward,
    .backward = convnet_op_tanh_backward,
  },
  [CONVNET_OP_LINEAR] = {
    .name = "Linear",
    .flags = CONVNET_OP_HAS_PARAMS,
    .forward = convnet_op_linear_forward,
    .backward = convnet_op_linear_backward,
  },
  [CONVNET_OP_FLATTEN] = {
    .name = "Flatten",
    .flags = CONVNET_OP_VIEW,
    .forward = nothing_forward,
    .backward = convnet_op_pass_gradient_backward,
  },
  [CONVNET_OP_DROPOUT] = {
    .name = "Dropout",
    .flags = CONVNET_OP_VIEW_UNLESS_TRAINING,
    .forward = convnet_op_dropout_forward,
    .backward = convnet_op_dropout_backward,
    .train_state = convnet_op_dropout_train_state,
  },
  [CONVNET_OP_CONCAT] = {
    .name = "Concat",
    .forward = convnet_op_concat_forward,
    .backward = convnet_op_concat_backward,
  },
  [CONVNET_OP_ADD] = {
    .name = "Add",
    .flags = CONVNET_OP_OVERWRITES_INPUT | CONVNET_OP_STORES_GRADS,
    .forward = convnet_op_add_forward,
    .backward = convnet_op_add_backward,
  },
  [CONVNET_OP_SOFTMAX] = {
    .name = "Softmax",
    .forward = convnet_op_softmax_forward,
    .backward = convnet_op_softmax_backward,
  },
  [CONVNET_OP_LRN] = {
    .name = "LocalResponseNorm",
    .forward = convnet_op_lrn_forward,
    .backward = convnet_op_lrn_backward,
  },
  [CONVNET_OP_CHANNEL_AFFINE] = {
    .name = "ChannelAffine",
    .flags = CONVNET_OP_OVERWRITES_INPUT,
    .forward = convnet_op_channel_affine_forward,
    .backward = convnet_op_channel_affine_backward,
  },
};

G_STATIC_ASSERT (G_N_ELEMENTS (op_classes) == CONVNET_OP_KIND_COUNT);

const ConvnetOpClass *
convnet_op_class (ConvnetOpKind op)
{
  return &op_classes[op];
}

const char *
convnet_op_name (ConvnetOpKind op)
{
  return (guint) op < G_N_ELEMENTS (op_classes) && op_classes[op].name
         ? op_classes[op].name : "?";
}
