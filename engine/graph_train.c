/* graph_train.c: training a graph: which nodes learn, the loss, and the
 * backward pass that walks the trainable nodes in reverse, each through
 * its op's backward in the op table (graph_ops.c).  Frozen nodes run as at
 * inference and get no gradient, so a frozen backbone costs one forward. */
#include "graph_ops.h"
#include "kernels/conv_train.h"
#include "kernels/kernels.h"

#include <string.h>

/* Points each parameter's grad into grad_block when it learns. */
static void
assign_param_grads (ConvnetGraph *g)
{
  for (guint i = 0; i < g->params->len; i++)
    {
      ConvnetParamSlot *slot = convnet_graph_param_slot (g, i);
      slot->pub.grad = g->grad_block && !slot->pub.is_buffer
                       && slot->node >= g->train_start
                       ? g->grad_block + slot->offset : NULL;
    }
}

void
convnet_graph_set_training (ConvnetGraph *g, gboolean training, guint64 seed)
{
  convnet_rng_seed (&g->dropout_rng, seed);
  if (training == g->training)
    return;
  g->training = training;
  g->plan_valid = FALSE;
  /* training changed them, or is about to */
  convnet_graph_weights_changed (g);
  /* kept when training stops: an optimizer may hold the gradients */
  if (training && !g->grad_block)
    {
      /* in huge pages, like the parameters: an optimizer step streams
       * them all */
      g->grad_block = convnet_packed_alloc_unfaulted (
        MAX (g->param_floats, 1) * sizeof (float));
      if (!g->grad_block)
        g_error ("%s: out of memory for %" G_GSIZE_FORMAT " gradients",
                 g->arch, g->param_floats);
      assign_param_grads (g);
    }
}

gboolean
convnet_graph_freeze_through (ConvnetGraph *g, const char *name,
                              GError **error)
{
  int start = 1;

  if (name)
    {
      const ConvnetNodeInfo *info = convnet_graph_lookup (g, name);
      if (!info)
        {
          g_set_error (error, CONVNET_ERROR, CONVNET_ERROR_ARGUMENT,
                       "%s has no node named '%s' to freeze through",
                       g->arch, name);
          return FALSE;
        }
      start = info->node + 1;
    }
  if (start >= (int) g->nodes->len)
    {
      g_set_error (error, CONVNET_ERROR, CONVNET_ERROR_ARGUMENT,
                   "%s: freezing through '%s' leaves nothing to train",
                   g->arch, name);
      return FALSE;
    }
  if (start != g->train_start)
    {
      g->train_start = start;
      g->plan_valid = FALSE;
      assign_param_grads (g);
    }
  return TRUE;
}

void
convnet_graph_release_train_kernels (ConvnetGraph *g)
{
  for (guint i = 0; i < g->nodes->len; i++)
    g_clear_pointer (&convnet_graph_node (g, i)->train_fast,
                     convnet_train_conv_free);
}

static int
first_gradient_node (const ConvnetGraph *g)
{
  return convnet_graph_first_gradient_node (g);
}

void
convnet_graph_release_training (ConvnetGraph *g)
{
  for (guint i = 0; i < g->nodes->len; i++)
    {
      ConvnetNode *node = convnet_graph_node (g, i);
      node->grad = node->mask = node->save_mean = node->save_invstd = NULL;
    }
  g_clear_pointer (&g->train_block, convnet_packed_free);
  g_clear_pointer (&g->probs, g_free);
  g_clear_pointer (&g->targets, g_free);
  g->loss_valid = FALSE;
}

/* One block holds, for every trainable node, its output gradient and what
 * its backward needs besides its inputs and output. */
gboolean
convnet_graph_plan_training (ConvnetGraph *g, int batch, GError **error)
{
  const int n = g->nodes->len;
  const ConvnetShape out = convnet_graph_output_shape (g);
  gsize total = 0, scratch = g->scratch_size;
  float *p;

  for (int pass = 0; pass < 2; pass++)
    {
      p = g->train_block;
      for (int i = first_gradient_node (g); i < n; i++)
        {
          ConvnetNode *node = convnet_graph_node (g, i);
          const ConvnetOpClass *op = convnet_op_class (node->op);
          const gsize grad = convnet_op_numel (node, batch);
          const gsize state = op->train_state
                              ? op->train_state (node, batch, NULL) : 0;

          if (op->backward_scratch)
            scratch = MAX (scratch, op->backward_scratch (node));
          if (pass == 0)
            {
              total += grad + state;
              continue;
            }
          node->grad = p;
          p += grad;
          if (op->train_state)
            op->train_state (node, batch, p);
          p += state;
        }
      if (pass == 0)
        {
          g->train_block = convnet_packed_alloc_unfaulted (MAX (total, 1)
                                                           * sizeof (float));
          g->probs = g_try_malloc ((gsize) batch * out.c * sizeof (float));
          g->targets = g_try_malloc ((gsize) batch * sizeof (int));
          if (!g->train_block || !g->probs || !g->targets)
            {
              g_set_error (error, CONVNET_ERROR, CONVNET_ERROR_LIMIT,
                           "%s: cannot allocate %" G_GSIZE_FORMAT
                           " MB of gradients for batch %d", g->arch,
                           total * sizeof (float) >> 20, batch);
              convnet_graph_release_training (g);
              return FALSE;
            }
        }
    }
  if (!convnet_graph_reserve_scratch (g, scratch, error))
    {
      convnet_graph_release_training (g);
      return FALSE;
    }
  return TRUE;
}

gboolean
convnet_graph_loss (ConvnetGraph *g, const int *targets,
                    float label_smoothing, float *loss, GError **error)
{
  const ConvnetNode *last = convnet_graph_node (g, g->nodes->len - 1);
  const int classes = last->shape.c;

  if (!g->training || g->batch == 0 || !g->probs)
    {
      g_set_error (error, CONVNET_ERROR, CONVNET_ERROR_ARGUMENT,
                   "%s: a loss needs a forward pass in training mode",
                   g->arch);
      return FALSE;
    }
  if (!last->flat || label_smoothing < 0.0f || label_smoothing > 1.0f)
    {
      g_set_error (error, CONVNET_ERROR, CONVNET_ERROR_ARGUMENT,
                   "%s: cross-entropy needs class scores and a label "
                   "smoothing in [0, 1], got %g", g->arch, label_smoothing);
      return FALSE;
    }
  for (int i = 0; i < g->batch; i++)
    if (targets[i] < 0 || targets[i] >= classes)
      {
        g_set_error (error, CONVNET_ERROR, CONVNET_ERROR_ARGUMENT,
                     "%s: target %d of sample %d is not a class in 0..%d",
                     g->arch, targets[i], i, classes - 1);
        return FALSE;
      }
  memcpy (g->targets, targets, sizeof (int) * g->batch);
  g->label_smoothing = label_smoothing;
  *loss = softmax_cross_entropy_forward (g->probs, last->out, targets,
                                         g->batch, classes, label_smoothing);
  g->loss_valid = TRUE;
  return TRUE;
}

static void
zero_range (gpointer data, gsize from, gsize to)
{
  memset ((float *) data + from, 0, (to - from) * sizeof (float));
}

/* A gradient buffer an op adds into is zeroed first: at batch 128 that is
 * megabytes a node, which the threads share out. */
static void
zero_floats (float *data, gsize n)
{
  convnet_parallel_range (n, zero_range, data);
}

/* Gradients are zeroed only where needed: the ops that store into a
 * fresh buffer (ReLU, BatchNorm, Add: most of a ResNet) skip the zeroing
 * of hundreds of megabytes a step, which otherwise took a quarter of it. */
static void
backward_node (ConvnetGraph *g, int i, int batch)
{
  ConvnetNode *node = convnet_graph_node (g, i);
  const ConvnetOpClass *op = convnet_op_class (node->op);

  /* no later node reads this one: its gradient is zero */
  if (!node->grad_written)
    {
      zero_floats (node->grad, convnet_op_numel (node, batch));
      node->grad_written = TRUE;
    }
  if (!(op->flags & CONVNET_OP_STORES_GRADS))
    for (int k = 0; k < node->n_inputs; k++)
      {
        gboolean fresh;
        float *dx = convnet_op_input_grad_fresh (g, node, k, &fresh);

        if (dx && fresh)
          zero_floats (dx, convnet_op_numel (convnet_op_input (g, node, k),
                                             batch));
      }
  op->backward (g, node, batch, convnet_graph_node_trains (g, i));
}

gboolean
convnet_graph_backward (ConvnetGraph *g, GError **error)
{
  const int n = g->nodes->len;
  const int first = first_gradient_node (g);
  ConvnetNode *last = convnet_graph_node (g, n - 1);

  if (!g->loss_valid)
    {
      g_set_error (error, CONVNET_ERROR, CONVNET_ERROR_ARGUMENT,
                   "%s: backward needs a loss of the last forward pass",
                   g->arch);
      return FALSE;
    }
  zero_floats (g->grad_block, g->param_floats);
  for (int i = first; i < n - 1; i++)
    convnet_graph_node (g, i)->grad_written = FALSE;
  zero_floats (last->grad, convnet_op_numel (last, g->batch));
  last->grad_written = TRUE;
  softmax_cross_entropy_backward (last->grad, g->probs, g->targets, g->batch,
                                  last->shape.c, g->label_smoothing);
  for (int i = n - 1; i >= first; i--)
    backward_node (g, i, g->batch);
  return TRUE;
}

gboolean
convnet_graph_want_gradient (ConvnetGraph *g, const char *name,
                             GError **error)
{
  int node = 0;

  if (name)
    {
      const ConvnetNodeInfo *info = convnet_graph_lookup (g, name);
      if (!info)
        {
          g_set_error (error, CONVNET_ERROR, CONVNET_ERROR_ARGUMENT,
                       "%s has no node named '%s'", g->arch, name);
          return FALSE;
        }
      node = info->node;
      if (node == 0 || node == (int) g->nodes->len - 1)
        {
          g_set_error (error, CONVNET_ERROR, CONVNET_ERROR_ARGUMENT,
                       "%s: '%s' is the input or the output; a class "
                       "gradient needs a node in between", g->arch, name);
          return FALSE;
        }
    }
  if (node != g->grad_node)
    {
      g->grad_node = node;
      g->plan_valid = FALSE;
    }
  return TRUE;
}

const float *
convnet_graph_class_gradient (ConvnetGraph *g, int class_index,
                              GError **error)
{
  const int n = g->nodes->len;
  ConvnetNode *last = convnet_graph_node (g, n - 1);
  const int classes = last->shape.c;

  if (g->training || g->grad_node <= g->start_node || g->batch == 0
      || !last->grad)
    {
      g_set_error (error, CONVNET_ERROR, CONVNET_ERROR_ARGUMENT,
                   "%s: a class gradient needs convnet_graph_want_gradient "
                   "and then a forward pass at inference", g->arch);
      return NULL;
    }
  if (class_index < 0 || class_index >= classes || !last->flat)
    {
      g_set_error (error, CONVNET_ERROR, CONVNET_ERROR_ARGUMENT,
                   "%s: class %d is not one of the %d outputs", g->arch,
                   class_index, classes);
      return NULL;
    }
  for (int i = g->grad_node; i < n; i++)
    {
      ConvnetNode *node = convnet_graph_node (g, i);
      memset (node->grad, 0,
              convnet_op_numel (node, g->batch) * sizeof (float));
      node->grad_written = TRUE;
    }
  for (int b = 0; b < g->batch; b++)
    last->grad[(gsize) b * classes + class_index] = 1.0f;
  for (int i = n - 1; i > g->grad_node; i--)
    backward_node (g, i, g->batch);
  return convnet_graph_node (g, g->grad_node)->grad;
}
