/* graph_ops.h: the op table.  Each ConvnetOpKind has one ConvnetOpClass
 * (graph_ops.c) saying everything the graph needs to know about the op:
 * its name, how it runs a node forward and backward, the workspace and
 * training state it needs, and how the forward plan may place its output.
 *
 * The adapters in graph_ops/ (one file per op family, as in ops/) read a
 * node's settings and buffers and call the plain kernels of ops/.  To give
 * an op a faster kernel, change its adapter; to add an op, add a kind to
 * convnet.h, a builder to graph.c, its adapters and its table entry. */
#ifndef CONVNET_GRAPH_OPS_H
#define CONVNET_GRAPH_OPS_H

#include "graph.h"

typedef enum
{
  /* the output may take the buffer of an input of the same size that no
   * later node reads (element-wise ops) */
  CONVNET_OP_OVERWRITES_INPUT     = 1 << 0,
  /* the output is input 0's buffer, unchanged: the forward does nothing */
  CONVNET_OP_VIEW                 = 1 << 1,
  /* a view, except in a node that trains (Dropout drops only there) */
  CONVNET_OP_VIEW_UNLESS_TRAINING = 1 << 2,
  /* the builder gives it parameters (first_param, n_params) */
  CONVNET_OP_HAS_PARAMS           = 1 << 3,
  /* the backward takes its inputs' gradients with
   * convnet_op_input_grad_fresh and stores into one nothing has written
   * yet; other ops' input gradients are zeroed before their backward */
  CONVNET_OP_STORES_GRADS         = 1 << 4,
} ConvnetOpFlags;

/* Runs node NODE of G for BATCH samples: its inputs' out are filled, its
 * own out is allocated.  TRAINS: the node runs with training kernels and
 * keeps what its backward needs (convnet_graph_node_trains). */
typedef void (*ConvnetOpForward) (ConvnetGraph *g, ConvnetNode *node,
                                  int batch, gboolean trains);
/* Adds the node's gradient (node->grad) into its inputs' gradients
 * (convnet_op_input_grad, NULL when nothing upstream learns) and its
 * parameters' (convnet_op_param_grad, NULL when they do not learn). */
typedef void (*ConvnetOpBackward) (ConvnetGraph *g, ConvnetNode *node,
                                   int batch, gboolean trains);
/* Floats of g->scratch the node's forward or backward needs. */
typedef gsize (*ConvnetOpScratch) (const ConvnetNode *node);
/* Floats of training state a trainable node keeps from its forward for its
 * backward (besides its gradient); with STATE non-NULL, also points the
 * node's fields into STATE, which holds that many floats. */
typedef gsize (*ConvnetOpTrainState) (ConvnetNode *node, int batch,
                                      float *state);

typedef struct
{
  const char          *name;     /* as `convnet info` prints it */
  ConvnetOpFlags       flags;
  ConvnetOpForward     forward;
  ConvnetOpBackward    backward;
  ConvnetOpScratch     forward_scratch;  /* NULL: none */
  ConvnetOpScratch     backward_scratch; /* NULL: none */
  ConvnetOpTrainState  train_state;      /* NULL: none */
} ConvnetOpClass;

/* The entry of OP, a valid kind. */
const ConvnetOpClass *convnet_op_class (ConvnetOpKind op);

/* Whether node I's output is its input's buffer in the current mode. */
static inline gboolean
convnet_op_is_view (const ConvnetGraph *g, int i)
{
  const ConvnetOpFlags flags =
    convnet_op_class (convnet_graph_node (g, i)->op)->flags;

  return (flags & CONVNET_OP_VIEW)
         || ((flags & CONVNET_OP_VIEW_UNLESS_TRAINING)
             && !convnet_graph_node_trains (g, i));
}

/* -------------------------------------------- helpers for the adapters */

static inline gsize
convnet_op_numel (const ConvnetNode *node, int batch)
{
  return (gsize) batch * node->shape.c * node->shape.h * node->shape.w;
}

static inline const ConvnetNode *
convnet_op_input (const ConvnetGraph *g, const ConvnetNode *node, int k)
{
  return convnet_graph_node (g, node->inputs[k]);
}

/* Parameter K of NODE (its weight is 0, its bias 1...). */
static inline float *
convnet_op_param (const ConvnetGraph *g, const ConvnetNode *node, int k)
{
  return convnet_graph_param_slot (g, node->first_param + k)->pub.data;
}

/* The gradient of parameter K, or NULL when it does not learn: a frozen
 * node, or a class gradient at inference, leaves the parameters alone. */
static inline float *
convnet_op_param_grad (const ConvnetGraph *g, const ConvnetNode *node, int k)
{
  if (k >= node->n_params || !g->training)
    return NULL;
  return convnet_graph_param_slot (g, node->first_param + k)->pub.grad;
}

/* The gradient buffer of input K, or NULL when nothing upstream learns. */
static inline float *
convnet_op_input_grad (const ConvnetGraph *g, const ConvnetNode *node, int k)
{
  const int i = node->inputs[k];

  return i >= convnet_graph_first_gradient_node (g)
         ? convnet_graph_node (g, i)->grad : NULL;
}

/* The gradient buffer of input K for an op that CONVNET_OP_STORES_GRADS:
 * *STORE says whether nothing has been written into it in this backward,
 * so that the op must store rather than add (the buffer then holds the
 * last step's values).  Once called, the buffer counts as written. */
static inline float *
convnet_op_input_grad_fresh (ConvnetGraph *g, const ConvnetNode *node, int k,
                             gboolean *store)
{
  const int i = node->inputs[k];
  ConvnetNode *in;

  *store = FALSE;
  if (i < convnet_graph_first_gradient_node (g))
    return NULL;
  in = convnet_graph_node (g, i);
  *store = !in->grad_written;
  in->grad_written = TRUE;
  return in->grad;
}

/* ------------------------------------------------------------ adapters */

/* graph_ops.c: Input and Flatten have no kernel; Flatten's and inference
 * Dropout's gradient passes through unchanged */
void convnet_op_pass_gradient_backward (ConvnetGraph *g, ConvnetNode *node,
                                        int batch, gboolean trains);

/* graph_ops/conv2d.c */
void  convnet_op_conv2d_forward  (ConvnetGraph *g, ConvnetNode *node,
                                  int batch, gboolean trains);
void  convnet_op_conv2d_backward (ConvnetGraph *g, ConvnetNode *node,
                                  int batch, gboolean trains);
gsize convnet_op_conv2d_forward_scratch  (const ConvnetNode *node);
gsize convnet_op_conv2d_backward_scratch (const ConvnetNode *node);

/* graph_ops/pool.c */
void convnet_op_maxpool2d_forward  (ConvnetGraph *g, ConvnetNode *node,
                                    int batch, gboolean trains);
void convnet_op_maxpool2d_backward (ConvnetGraph *g, ConvnetNode *node,
                                    int batch, gboolean trains);
void convnet_op_avgpool2d_forward  (ConvnetGraph *g, ConvnetNode *node,
                                    int batch, gboolean trains);
void convnet_op_avgpool2d_backward (ConvnetGraph *g, ConvnetNode *node,
                                    int batch, gboolean trains);
void convnet_op_adaptive_avgpool2d_forward  (ConvnetGraph *g,
                                             ConvnetNode *node, int batch,
                                             gboolean trains);
void convnet_op_adaptive_avgpool2d_backward (ConvnetGraph *g,
                                             ConvnetNode *node, int batch,
                                             gboolean trains);

/* graph_ops/batchnorm.c */
void  convnet_op_batchnorm2d_forward  (ConvnetGraph *g, ConvnetNode *node,
                                       int batch, gboolean trains);
void  convnet_op_batchnorm2d_backward (ConvnetGraph *g, ConvnetNode *node,
                                       int batch, gboolean trains);
gsize convnet_op_batchnorm2d_train_state (ConvnetNode *node, int batch,
                                          float *state);

/* graph_ops/activation.c: ReLU, Sigmoid, Tanh */
void convnet_op_relu_forward     (ConvnetGraph *g, ConvnetNode *node,
                                  int batch, gboolean trains);
void convnet_op_relu_backward    (ConvnetGraph *g, ConvnetNode *node,
                                  int batch, gboolean trains);
void convnet_op_sigmoid_forward  (ConvnetGraph *g, ConvnetNode *node,
                                  int batch, gboolean trains);
void convnet_op_sigmoid_backward (ConvnetGraph *g, ConvnetNode *node,
                                  int batch, gboolean trains);
void convnet_op_tanh_forward     (ConvnetGraph *g, ConvnetNode *node,
                                  int batch, gboolean trains);
void convnet_op_tanh_backward    (ConvnetGraph *g, ConvnetNode *node,
                                  int batch, gboolean trains);

/* graph_ops/linear.c */
void convnet_op_linear_forward  (ConvnetGraph *g, ConvnetNode *node,
                                 int batch, gboolean trains);
void convnet_op_linear_backward (ConvnetGraph *g, ConvnetNode *node,
                                 int batch, gboolean trains);

/* graph_ops/dropout.c */
void  convnet_op_dropout_forward  (ConvnetGraph *g, ConvnetNode *node,
                                   int batch, gboolean trains);
void  convnet_op_dropout_backward (ConvnetGraph *g, ConvnetNode *node,
                                   int batch, gboolean trains);
gsize convnet_op_dropout_train_state (ConvnetNode *node, int batch,
                                      float *state);

/* graph_ops/elementwise.c: Add, ChannelAffine, Concat */
void convnet_op_add_forward  (ConvnetGraph *g, ConvnetNode *node, int batch,
                              gboolean trains);
void convnet_op_add_backward (ConvnetGraph *g, ConvnetNode *node, int batch,
                              gboolean trains);
void convnet_op_channel_affine_forward  (ConvnetGraph *g, ConvnetNode *node,
                                         int batch, gboolean trains);
void convnet_op_channel_affine_backward (ConvnetGraph *g, ConvnetNode *node,
                                         int batch, gboolean trains);
void convnet_op_concat_forward  (ConvnetGraph *g, ConvnetNode *node,
                                 int batch, gboolean trains);
void convnet_op_concat_backward (ConvnetGraph *g, ConvnetNode *node,
                                 int batch, gboolean trains);

/* graph_ops/softmax.c */
void convnet_op_softmax_forward  (ConvnetGraph *g, ConvnetNode *node,
                                  int batch, gboolean trains);
void convnet_op_softmax_backward (ConvnetGraph *g, ConvnetNode *node,
                                  int batch, gboolean trains);

/* graph_ops/lrn.c */
void convnet_op_lrn_forward  (ConvnetGraph *g, ConvnetNode *node, int batch,
                              gboolean trains);
void convnet_op_lrn_backward (ConvnetGraph *g, ConvnetNode *node, int batch,
                              gboolean trains);

#endif
