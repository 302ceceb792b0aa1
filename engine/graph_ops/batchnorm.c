/* graph_ops/batchnorm.c: a BatchNorm2d node (parameters weight, bias,
 * running_mean, running_var) normalises with its running statistics, or
 * in a node that trains with the batch's, which it keeps for the
 * backward and folds into the running ones (momentum 0.1, as torch). */
#include "graph_ops.h"
#include "kernels/kernels.h"

#include <string.h>

/* A training BatchNorm shares its channels out between the threads: each
 * channel's statistics are its own, so the result is the serial one. */
typedef struct
{
  ConvnetGraph *g;
  ConvnetNode  *node;
  int           batch;
  float        *dx;
  gboolean      store;   /* dx is fresh: store into it */
} BatchnormJob;

static void
forward_train_channels (gpointer data, int first, int end)
{
  const BatchnormJob *job = data;
  ConvnetGraph *g = job->g;
  ConvnetNode *node = job->node;
  const ConvnetNode *in = convnet_op_input (g, node, 0);

  batchnorm2d_forward_train_channels (node->out, node->save_mean,
                                      node->save_invstd, in->out,
                                      convnet_op_param (g, node, 0),
                                      convnet_op_param (g, node, 1),
                                      convnet_op_param (g, node, 2),
                                      convnet_op_param (g, node, 3), 0.1f,
                                      node->eps, job->batch, in->shape.c,
                                      in->shape.h * in->shape.w, first, end);
}

static void
backward_train_channels (gpointer data, int first, int end)
{
  const BatchnormJob *job = data;
  ConvnetGraph *g = job->g;
  ConvnetNode *node = job->node;
  const ConvnetNode *in = convnet_op_input (g, node, 0);

  batchnorm2d_backward_channels (job->dx, convnet_op_param_grad (g, node, 0),
                                 convnet_op_param_grad (g, node, 1),
                                 node->grad, in->out,
                                 convnet_op_param (g, node, 0),
                                 node->save_mean, node->save_invstd,
                                 job->batch, in->shape.c,
                                 in->shape.h * in->shape.w, first, end,
                                 job->store);
}

void
convnet_op_batchnorm2d_forward (ConvnetGraph *g, ConvnetNode *node,
                                int batch, gboolean trains)
{
  const ConvnetNode *in = convnet_op_input (g, node, 0);
  const int hw_in = in->shape.h * in->shape.w;

  if (trains)
    {
      BatchnormJob job = { g, node, batch, NULL, FALSE };
      convnet_parallel_for (in->shape.c, forward_train_channels, &job);
    }
  else
    batchnorm2d_forward_inference (node->out, in->out,
                                   convnet_op_param (g, node, 0),
                                   convnet_op_param (g, node, 1),
                                   convnet_op_param (g, node, 2),
                                   convnet_op_param (g, node, 3), node->eps,
                                   batch, in->shape.c, hw_in);
}

void
convnet_op_batchnorm2d_backward (ConvnetGraph *g, ConvnetNode *node,
                                 int batch, gboolean trains)
{
  const ConvnetNode *in = convnet_op_input (g, node, 0);
  const int hw_in = in->shape.h * in->shape.w;
  gboolean store;
  float *dx = convnet_op_input_grad_fresh (g, node, 0, &store);

  if (trains)
    {
      BatchnormJob job = { g, node, batch, dx, store };
      convnet_parallel_for (in->shape.c, backward_train_channels, &job);
      return;
    }
  if (dx && store)
    memset (dx, 0, convnet_op_numel (in, batch) * sizeof (float));
  batchnorm2d_backward_inference (dx, convnet_op_param_grad (g, node, 0),
                                    convnet_op_param_grad (g, node, 1),
                                    node->grad, in->out,
                                    convnet_op_param (g, node, 0),
                                    convnet_op_param (g, node, 2),
                                    convnet_op_param (g, node, 3), node->eps,
                                    batch, in->shape.c, hw_in);
}

/* The batch mean and 1/sqrt(var + eps) of each channel. */
gsize
convnet_op_batchnorm2d_train_state (ConvnetNode *node,
                                    int batch G_GNUC_UNUSED, float *state)
{
  if (state)
    {
      node->save_mean = state;
      node->save_invstd = state + node->shape.c;
    }
  return 2 * (gsize) node->shape.c;
}
