/* graph_ops/elementwise.c: the nodes joining or shifting whole tensors:
 * Add (residual connections), ChannelAffine (fixed per-channel scale and
 * shift) and Concat (along channels, Inception's branches). */
#include "graph_ops.h"
#include "kernels/kernels.h"

#include <string.h>

/* Add's sums and gradient copies are shared out between the threads: at
 * batch 128 each is megabytes, and a ResNet has one per block. */
typedef struct
{
  float       *out;
  const float *a;
  const float *b;           /* NULL: copy A into OUT */
  gboolean     accumulate;  /* without B: add A into OUT instead */
} AddJob;

static void
add_range (gpointer data, gsize from, gsize to)
{
  const AddJob *job = data;

  if (job->b)
    add_forward (job->out + from, job->a + from, job->b + from, to - from);
  else if (job->accumulate)
    add_backward (job->out + from, NULL, job->a + from, to - from);
  else
    memcpy (job->out + from, job->a + from, (to - from) * sizeof (float));
}

void
convnet_op_add_forward (ConvnetGraph *g, ConvnetNode *node, int batch,
                        gboolean trains G_GNUC_UNUSED)
{
  AddJob job = { node->out, convnet_op_input (g, node, 0)->out,
                 convnet_op_input (g, node, 1)->out, FALSE };

  convnet_parallel_range (convnet_op_numel (node, batch), add_range, &job);
}

/* Each input's gradient is the output's: copied into a fresh one, added
 * into one another reader has written (or the other input, when both are
 * the same node). */
void
convnet_op_add_backward (ConvnetGraph *g, ConvnetNode *node, int batch,
                         gboolean trains G_GNUC_UNUSED)
{
  const gsize n = convnet_op_numel (node, batch);

  for (int k = 0; k < 2; k++)
    {
      gboolean store;
      float *dx = convnet_op_input_grad_fresh (g, node, k, &store);
      AddJob job = { dx, node->grad, NULL, !store };

      if (dx)
        convnet_parallel_range (n, add_range, &job);
    }
}

void
convnet_op_channel_affine_forward (ConvnetGraph *g, ConvnetNode *node,
                                   int batch, gboolean trains G_GNUC_UNUSED)
{
  const ConvnetNode *in = convnet_op_input (g, node, 0);

  channel_affine_forward (node->out, in->out, node->affine_scale,
                          node->affine_shift, batch, in->shape.c,
                          in->shape.h * in->shape.w);
}

void
convnet_op_channel_affine_backward (ConvnetGraph *g, ConvnetNode *node,
                                    int batch, gboolean trains G_GNUC_UNUSED)
{
  const ConvnetNode *in = convnet_op_input (g, node, 0);
  float *dx = convnet_op_input_grad (g, node, 0);

  if (dx)
    channel_affine_backward (dx, node->grad, node->affine_scale, batch,
                             in->shape.c, in->shape.h * in->shape.w);
}

void
convnet_op_concat_forward (ConvnetGraph *g, ConvnetNode *node, int batch,
                           gboolean trains G_GNUC_UNUSED)
{
  const float *ins[CONVNET_MAX_INPUTS];
  int channels[CONVNET_MAX_INPUTS];
  const gsize plane = (gsize) node->shape.h * node->shape.w;
  gsize offset = 0;

  for (int k = 0; k < node->n_inputs; k++)
    {
      const ConvnetNode *src = convnet_op_input (g, node, k);
      /* the plan may have had it written in place (graph_forward.c) */
      ins[k] = src->out == node->out + offset ? NULL : src->out;
      channels[k] = src->shape.c;
      offset += (gsize) src->shape.c * plane;
    }
  concat_forward (node->out, ins, channels, node->n_inputs, batch, plane);
}

void
convnet_op_concat_backward (ConvnetGraph *g, ConvnetNode *node, int batch,
                            gboolean trains G_GNUC_UNUSED)
{
  float *dxs[CONVNET_MAX_INPUTS];
  int channels[CONVNET_MAX_INPUTS];

  for (int k = 0; k < node->n_inputs; k++)
    {
      dxs[k] = convnet_op_input_grad (g, node, k);
      channels[k] = convnet_op_input (g, node, k)->shape.c;
    }
  concat_backward (dxs, channels, node->n_inputs, node->grad, batch,
                   node->shape.h * node->shape.w);
}
