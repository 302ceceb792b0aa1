/* graph_fuse.c: the inference fast path.  At each plan, every convolution
 * that no gradient passes through runs on the engine's own kernels
 * (kernels/), and the BatchNorm, residual Add and ReLU that follow it are
 * done as it stores its output, instead of as three more passes over the
 * tensor:  conv -> [BatchNorm] -> [Add (other)] -> [ReLU].
 *
 * A node joins a chain only when the node before it has no other reader
 * and is not retained (its value is never materialised), and when it runs
 * at inference.  The chain's last node is what readers see; its value is
 * in the convolution's buffer.  The packed weights are kept across plans
 * and packed again when the weights serial moves. */
#include "graph.h"
#include "graph_ops.h"
#include "kernels/conv_gemm.h"
#include "kernels/conv_winograd.h"
#include "kernels/fc.h"
#include "pack_cache.h"

#include <math.h>
#include <string.h>

/* the largest fully connected weights the pack cache copies (see
 * plan_fc_weights): a ResNet's or GoogLeNet's classifier, and the last
 * layer of VGG and AlexNet */
#define FC_CACHE_BYTES ((gsize) 32 << 20)

typedef struct ConvnetFastNode
{
  /* a convolution has one of the two, a Linear node one of the last two */
  ConvnetPackedConv   *packed;
  ConvnetWinogradConv *winograd;
  ConvnetFcHalf       *fc_half;
  const float         *fc_weights;   /* in the pack cache's reading */
  guint64            serial;     /* g->weights_serial when packed */
  int                batchnorm;  /* node folded into the weights, or -1 */
  int                winograd_tile; /* 0: the packed product */
  gboolean           relu;
  const ConvnetKernels *kernels;
} ConvnetFastNode;

static void
fast_node_free (ConvnetFastNode *fast)
{
  if (!fast)
    return;
  convnet_packed_conv_free (fast->packed);
  convnet_winograd_conv_free (fast->winograd);
  convnet_fc_half_free (fast->fc_half);
  g_free (fast);
}

void
convnet_graph_release_fast (ConvnetGraph *g)
{
  for (guint i = 0; g->nodes && i < g->nodes->len; i++)
    {
      ConvnetNode *node = convnet_graph_node (g, i);
      g_clear_pointer (&node->fast, fast_node_free);
    }
}

/* How many nodes read each node's output, and in READER[i] one of them
 * (the only one when there is one), both found in one pass rather than a
 * search of the graph for each node. */
static int *
count_readers (const ConvnetGraph *g, int **reader)
{
  int *readers = g_new0 (int, g->nodes->len);

  *reader = g_new (int, g->nodes->len);
  for (guint i = 0; i < g->nodes->len; i++)
    {
      const ConvnetNode *node = convnet_graph_node (g, i);
      for (int k = 0; k < node->n_inputs; k++)
        {
          readers[node->inputs[k]]++;
          (*reader)[node->inputs[k]] = i;
        }
    }
  return readers;
}

/* The one node reading node I, if I may be left unmaterialised: exactly
 * one reader, not retained, not the output, and that reader runs at
 * inference (before LIMIT).  Else -1. */
static int
sole_reader (const ConvnetGraph *g, const int *readers, const int *reader,
             int i, int limit)
{
  const int n = g->nodes->len;

  if (readers[i] != 1 || i == n - 1
      || g_hash_table_contains (g->retained, GINT_TO_POINTER (i)))
    return -1;
  return reader[i] < limit ? reader[i] : -1;
}

/* The packed-weights cache, while the weights are the file's that it
 * belongs to. */
static ConvnetPackCache *
usable_cache (const ConvnetGraph *g)
{
  return g->pack_cache && g->weights_serial == g->pack_cache_serial
         ? g->pack_cache : NULL;
}

/* The cache key of part PART ("w": packed weights, "b": bias) of conv
 * node C's packing for FAST: what its bytes depend on besides the
 * weights file and the instruction set, which name the cache file. */
static void
cache_key (char *key, gsize size, int c, const ConvnetFastNode *fast,
           int tile, const char *part)
{
  g_snprintf (key, size, "%s.conv%d.t%d.bn%d.%s", fast->kernels->isa, c,
              tile, fast->batchnorm, part);
}

/* Gives FAST conv node C's packing from the cache, if it has it. */
static gboolean
packing_from_cache (ConvnetGraph *g, int c, ConvnetFastNode *fast)
{
  ConvnetPackCache *cache = usable_cache (g);
  const ConvnetNode *conv = convnet_graph_node (g, c);
  const int tile = fast->winograd_tile;
  const gboolean has_bias = conv->has_bias || fast->batchnorm >= 0;
  const float *packed, *bias = NULL;
  char key[64];

  if (!cache)
    return FALSE;
  cache_key (key, sizeof key, c, fast, tile, "w");
  packed = convnet_pack_cache_lookup (
    cache, key, tile ? convnet_winograd_conv_packed_bytes (fast->kernels,
                                                           &conv->conv, tile)
                     : convnet_packed_conv_packed_bytes (fast->kernels,
                                                         &conv->conv));
  if (has_bias)
    {
      cache_key (key, sizeof key, c, fast, tile, "b");
      bias = convnet_pack_cache_lookup (cache, key,
                                        conv->conv.c_out * sizeof (float));
    }
  if (!packed || (has_bias && !bias))
    return FALSE;
  if (tile)
    fast->winograd = convnet_winograd_conv_new_from (
      fast->kernels, &conv->conv, packed, bias, fast->relu, tile);
  else
    fast->packed = convnet_packed_conv_new_from (
      fast->kernels, &conv->conv, packed, bias, fast->relu);
  return fast->winograd || fast->packed;
}

/* Hands conv node C's fresh packing in FAST to the cache, to be saved at
 * the end of the plan. */
static void
packing_to_cache (ConvnetGraph *g, int c, const ConvnetFastNode *fast)
{
  ConvnetPackCache *cache = usable_cache (g);
  const ConvnetNode *conv = convnet_graph_node (g, c);
  const float *packed, *bias;
  char key[64];
  int tile = 0;
  gsize bytes;

  if (!cache || (!fast->winograd && !fast->packed))
    return;
  if (fast->winograd)
    {
      tile = fast->winograd_tile;
      packed = convnet_winograd_conv_packed (fast->winograd, &bias);
      bytes = convnet_winograd_conv_packed_bytes (fast->kernels, &conv->conv,
                                                  tile);
    }
  else
    {
      packed = convnet_packed_conv_packed (fast->packed, &bias);
      bytes = convnet_packed_conv_packed_bytes (fast->kernels, &conv->conv);
    }
  cache_key (key, sizeof key, c, fast, tile, "w");
  convnet_pack_cache_add (cache, key, packed, bytes);
  if (bias)
    {
      cache_key (key, sizeof key, c, fast, tile, "b");
      convnet_pack_cache_add (cache, key, bias,
                              conv->conv.c_out * sizeof (float));
    }
}

/* Packs conv node C for this plan's chain, reusing the packing it has if
 * nothing it depends on changed. */
static gboolean
pack_conv (ConvnetGraph *g, int c, int batchnorm, gboolean relu, int batch,
           GError **error)
{
  ConvnetNode *conv = convnet_graph_node (g, c);
  const ConvnetKernels *kernels = convnet_kernels ();
  const int tile = convnet_winograd_variant (&conv->conv, batch);
  ConvnetFastNode *fast = conv->fast;
  double *scale = NULL, *shift = NULL;

  if (fast && fast->serial == g->weights_serial && fast->batchnorm == batchnorm
      && fast->relu == relu && fast->kernels == kernels
      && fast->winograd_tile == tile)
    return TRUE;
  g_clear_pointer (&conv->fast, fast_node_free);

  if (batchnorm >= 0)
    {
      const ConvnetNode *bn = convnet_graph_node (g, batchnorm);
      const float *gamma = convnet_op_param (g, bn, 0);
      const float *beta = convnet_op_param (g, bn, 1);
      const float *mean = convnet_op_param (g, bn, 2);
      const float *var = convnet_op_param (g, bn, 3);
      const int channels = conv->conv.c_out;

      scale = g_new (double, channels);
      shift = g_new (double, channels);
      for (int k = 0; k < channels; k++)
        {
          scale[k] = gamma[k] / sqrt ((double) var[k] + bn->eps);
          shift[k] = beta[k] - mean[k] * scale[k];
        }
    }
  fast = g_new0 (ConvnetFastNode, 1);
  fast->serial = g->weights_serial;
  fast->batchnorm = batchnorm;
  fast->relu = relu;
  fast->kernels = kernels;
  fast->winograd_tile = tile;
  if (!packing_from_cache (g, c, fast))
    {
      const float *weight = convnet_op_param (g, conv, 0);
      const float *bias = conv->has_bias ? convnet_op_param (g, conv, 1)
                                         : NULL;

      if (tile)
        fast->winograd = convnet_winograd_conv_new (kernels, &conv->conv,
                                                    weight, bias, scale,
                                                    shift, relu, tile);
      if (!fast->winograd)
        fast->packed = convnet_packed_conv_new (kernels, &conv->conv, weight,
                                                bias, scale, shift, relu);
      packing_to_cache (g, c, fast);
    }
  g_free (scale);
  g_free (shift);
  if (!fast->packed && !fast->winograd)
    {
      g_free (fast);
      g_set_error (error, CONVNET_ERROR, CONVNET_ERROR_LIMIT,
                   "%s: cannot pack the weights of convolution %d",
                   g->arch, c);
      return FALSE;
    }
  conv->fast = fast;
  return TRUE;
}

/* CONVNET_FC_FP16=1: fully connected weights in half precision. */
static gboolean
fc_half_wanted (void)
{
  const char *half = g_getenv ("CONVNET_FC_FP16");

  return half && *half && strcmp (half, "0") != 0;
}

/* Gives Linear node I its weights in half precision, kept while the
 * weights stay; a layer whose weights half cannot hold stays as it is. */
static void
plan_fc_half (ConvnetGraph *g, int i)
{
  ConvnetNode *node = convnet_graph_node (g, i);
  const ConvnetKernels *kernels = convnet_kernels ();
  ConvnetFastNode *fast = node->fast;

  if (fast && fast->serial == g->weights_serial && fast->kernels == kernels)
    return;
  g_clear_pointer (&node->fast, fast_node_free);
  fast = g_new0 (ConvnetFastNode, 1);
  fast->serial = g->weights_serial;
  fast->kernels = kernels;
  fast->fc_half = convnet_fc_half_new (kernels, convnet_op_param (g, node, 0),
                                       convnet_op_input (g, node, 0)->shape.c,
                                       node->shape.c);
  node->fast = fast;
}

/* Gives Linear node I its weights from the pack cache when they are used
 * in place from the weights file's mapping, since the cache is read into
 * huge pages: a first forward reads a mapping with a trap per 4 KB page
 * in a virtual machine (resnet50's fc took 6 ms in a fresh process's
 * first forward, 0.2 ms in the next).  A miss hands them to the cache for
 * the next process.  Layers over FC_CACHE_BYTES stay in the mapping: a
 * copy of VGG's and AlexNet's hidden layers would make the cache as large
 * as their checkpoint (vgg16's first run wrote 615 MB in 3.6 s, against
 * 120 MB in 0.9 s). */
static void
plan_fc_weights (ConvnetGraph *g, int i)
{
  ConvnetNode *node = convnet_graph_node (g, i);
  const ConvnetParamSlot *slot = convnet_graph_param_slot (g,
                                                           node->first_param);
  ConvnetPackCache *cache = usable_cache (g);
  const gsize bytes = slot->numel * sizeof (float);
  const float *cached;
  char key[64];

  g_clear_pointer (&node->fast, fast_node_free);
  if (!cache || !slot->mapping || bytes > FC_CACHE_BYTES)
    return;
  g_snprintf (key, sizeof key, "%s.linear%d.w", convnet_kernels ()->isa, i);
  cached = convnet_pack_cache_lookup (cache, key, bytes);
  if (!cached)
    {
      convnet_pack_cache_add (cache, key, slot->pub.data, bytes);
      return;
    }
  node->fast = g_new0 (ConvnetFastNode, 1);
  node->fast->serial = g->weights_serial;
  node->fast->kernels = convnet_kernels ();
  node->fast->fc_weights = cached;
}

const float *
convnet_graph_linear_weights (const ConvnetGraph *g, const ConvnetNode *node)
{
  if (node->fast && node->fast->fc_weights
      && node->fast->serial == g->weights_serial)
    return node->fast->fc_weights;
  return convnet_op_param (g, node, 0);
}

gboolean
convnet_graph_plan_fast (ConvnetGraph *g, int batch, GError **error)
{
  const int n = g->nodes->len;
  /* nodes from here on keep what a backward needs: nothing fuses there */
  const int limit = convnet_graph_wants_gradients (g)
                    ? convnet_graph_first_gradient_node (g) : n;
  /* read once a plan, not in every op's forward */
  const gboolean enabled = !(g->exact = convnet_kernels_exact ());
  int *readers, *reader;
  gboolean ok = TRUE;

  for (int i = 0; i < n; i++)
    {
      ConvnetNode *node = convnet_graph_node (g, i);
      node->fused_into = -1;
      node->residual = -1;
    }
  if (!enabled)
    {
      convnet_graph_release_fast (g);
      return TRUE;
    }

  readers = count_readers (g, &reader);
  /* a packing from an earlier plan that this one does not use goes */
  for (int c = 0; c < n; c++)
    if (c <= g->start_node || c >= limit)
      g_clear_pointer (&convnet_graph_node (g, c)->fast, fast_node_free);
  for (int c = g->start_node + 1; ok && c < limit; c++)
    {
      ConvnetNode *conv = convnet_graph_node (g, c);
      int last = c, next, batchnorm = -1;
      gboolean relu = FALSE;

      if (conv->op == CONVNET_OP_LINEAR)
        {
          if (fc_half_wanted ())
            plan_fc_half (g, c);
          else
            plan_fc_weights (g, c);
          continue;
        }
      if (conv->op != CONVNET_OP_CONV2D || conv->conv.groups != 1)
        continue;
      next = sole_reader (g, readers, reader, last, limit);
      if (next >= 0 && convnet_graph_node (g, next)->op == CONVNET_OP_BATCHNORM2D)
        {
          batchnorm = next;
          convnet_graph_node (g, next)->fused_into = c;
          last = next;
          next = sole_reader (g, readers, reader, last, limit);
        }
      if (next >= 0 && convnet_graph_node (g, next)->op == CONVNET_OP_ADD)
        {
          ConvnetNode *add = convnet_graph_node (g, next);
          const int other = add->inputs[0] == last ? add->inputs[1]
                                                   : add->inputs[0];
          /* the other term must exist when the convolution runs, and in
           * another buffer than the one it writes */
          const int other_owner = convnet_graph_node (g, other)->fused_into >= 0
                                  ? convnet_graph_node (g, other)->fused_into
                                  : other;
          if (other != last && other_owner < c)
            {
              conv->residual = other;
              add->fused_into = c;
              last = next;
              next = sole_reader (g, readers, reader, last, limit);
            }
        }
      if (next >= 0 && convnet_graph_node (g, next)->op == CONVNET_OP_RELU)
        {
          relu = TRUE;
          convnet_graph_node (g, next)->fused_into = c;
        }
      ok = pack_conv (g, c, batchnorm, relu, batch, error);
    }
  g_free (readers);
  g_free (reader);
  if (ok && usable_cache (g))
    {
      GError *cache_error = NULL;

      /* the cache only saves time: the plan stands without it */
      if (!convnet_pack_cache_save (g->pack_cache, &cache_error))
        {
          g_debug ("%s", cache_error->message);
          g_error_free (cache_error);
        }
    }
  else
    convnet_pack_cache_discard (g->pack_cache);
  if (!ok)
    {
      convnet_graph_release_fast (g);
      for (int i = 0; i < n; i++)
        {
          convnet_graph_node (g, i)->fused_into = -1;
          convnet_graph_node (g, i)->residual = -1;
        }
    }
  g->plan_serial = g->weights_serial;
  return ok;
}

int
convnet_graph_n_fast_nodes (const ConvnetGraph *g)
{
  int fast = 0;

  for (guint i = 0; g->plan_valid && i < g->nodes->len; i++)
    {
      const ConvnetNode *node = convnet_graph_node (g, i);
      fast += node->fused_into >= 0 || node->fast != NULL;
    }
  return fast;
}

gboolean
convnet_graph_run_fast_linear (ConvnetGraph *g, ConvnetNode *node, int batch)
{
  if (!node->fast || !node->fast->fc_half || batch > CONVNET_FC_MAX_BATCH)
    return FALSE;
  convnet_fc_half_forward (node->fast->kernels, node->fast->fc_half,
                           node->out, convnet_op_input (g, node, 0)->out,
                           node->has_bias ? convnet_op_param (g, node, 1)
                                          : NULL,
                           batch);
  return TRUE;
}

gboolean
convnet_graph_fast_conv_ready (const ConvnetNode *node)
{
  return node->fast && (node->fast->winograd || node->fast->packed);
}

gboolean
convnet_graph_run_fast_conv (ConvnetGraph *g, ConvnetNode *node, int batch)
{
  const ConvnetNode *input = convnet_op_input (g, node, 0);
  const float *residual = node->residual >= 0
                          ? convnet_graph_node (g, node->residual)->out
                          : NULL;

  if (!node->fast || (!node->fast->winograd && !node->fast->packed))
    return FALSE;
  if (node->fast->winograd)
    convnet_winograd_conv_forward (node->fast->winograd, node->out,
                                   input->out, residual, batch,
                                   node->out_sample);
  else
    convnet_packed_conv_forward (node->fast->packed, node->out, input->out,
                                 residual, batch, node->out_sample);
  return TRUE;
}
