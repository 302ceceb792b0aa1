/* graph.c: building a network as a list of named nodes, with shapes
 * inferred as each node is added, and the bookkeeping of names, blocks
 * and parameters.  Running it is in graph_forward.c. */
#include "graph.h"
#include "kernels/kernels.h"
#include "pack_cache.h"

#include <math.h>
#include <stdarg.h>
#include <string.h>

ConvnetGraph *
convnet_graph_new (const char *arch, int c, int h, int w)
{
  ConvnetGraph *g = g_new0 (ConvnetGraph, 1);
  ConvnetNode input = { 0 };

  g->arch = g_strdup (arch);
  g->nodes = g_array_new (FALSE, TRUE, sizeof (ConvnetNode));
  g->params = g_array_new (FALSE, TRUE, sizeof (ConvnetParamSlot));
  g->infos = g_array_new (FALSE, TRUE, sizeof (ConvnetNodeInfo));
  g->info_first_node = g_array_new (FALSE, TRUE, sizeof (int));
  g->info_index = g_hash_table_new (g_str_hash, g_str_equal);
  g->block_names = g_ptr_array_new_with_free_func (g_free);
  g->ignored_prefixes = g_ptr_array_new_with_free_func (g_free);
  g->scopes = g_array_new (FALSE, TRUE, sizeof (ConvnetScope));
  g->retained = g_hash_table_new (g_direct_hash, g_direct_equal);
  g->train_start = 1;

  input.op = CONVNET_OP_INPUT;
  input.shape = (ConvnetShape) { c, h, w };
  input.first_param = 0;
  g_array_append_val (g->nodes, input);
  return g;
}

void
convnet_graph_free (ConvnetGraph *g)
{
  if (!g)
    return;
  convnet_graph_release_fast (g);
  convnet_pack_cache_free (g->pack_cache);
  convnet_graph_release_train_kernels (g);
  for (guint i = 0; i < g->nodes->len; i++)
    g_free (convnet_graph_node (g, i)->name);
  for (guint i = 0; i < g->params->len; i++)
    {
      g_free (convnet_graph_param_slot (g, i)->name);
      g_clear_pointer (&convnet_graph_param_slot (g, i)->mapping,
                       g_bytes_unref);
    }
  convnet_graph_free_activations (g);
  g_free (g->profile_seconds);
  g_free (g->slot_sizes);
  g_free (g->scratch);
  convnet_packed_free (g->param_block);
  convnet_packed_free (g->grad_block);
  convnet_packed_free (g->train_block);
  g_free (g->probs);
  g_free (g->targets);
  g_array_unref (g->nodes);
  g_array_unref (g->params);
  g_array_unref (g->infos);
  g_array_unref (g->info_first_node);
  g_array_unref (g->scopes);
  g_hash_table_unref (g->info_index);
  g_hash_table_unref (g->retained);
  g_ptr_array_unref (g->block_names);
  g_ptr_array_unref (g->ignored_prefixes);
  g_free (g->arch);
  g_free (g);
}

/* ----------------------------------------------------------- naming */

static char *
scoped_name (ConvnetGraph *g, const char *leaf)
{
  GString *s = g_string_new (NULL);

  for (guint i = 0; i < g->scopes->len; i++)
    {
      g_string_append (s, g_array_index (g->scopes, ConvnetScope, i).name);
      g_string_append_c (s, '.');
    }
  g_string_append (s, leaf);
  return g_string_free (s, FALSE);
}

static void
register_info (ConvnetGraph *g, const char *name, int node, int first_node,
               gboolean block)
{
  ConvnetNodeInfo info = { 0 };

  info.name = name;
  info.node = node;
  info.is_block = block;
  g_array_append_val (g->infos, info);
  g_array_append_val (g->info_first_node, first_node);
  g_hash_table_insert (g->info_index, (gpointer) name,
                       GUINT_TO_POINTER (g->infos->len));
}

void
convnet_graph_push_scope (ConvnetGraph *g, const char *fmt, ...)
{
  ConvnetScope scope = { 0 };
  va_list ap;

  va_start (ap, fmt);
  scope.name = g_strdup_vprintf (fmt, ap);
  va_end (ap);
  scope.start_node = g->nodes->len;
  g_array_append_val (g->scopes, scope);
}

/* A scope becomes a block: its name reads the output of the last node
 * built inside it, as a forward hook on a torch container does. */
void
convnet_graph_pop_scope (ConvnetGraph *g)
{
  ConvnetScope scope;
  char *full;

  g_return_if_fail (g->scopes->len > 0);
  scope = g_array_index (g->scopes, ConvnetScope, g->scopes->len - 1);
  g_array_set_size (g->scopes, g->scopes->len - 1);
  if ((int) g->nodes->len > scope.start_node)
    {
      full = scoped_name (g, scope.name);
      g_ptr_array_add (g->block_names, full);
      register_info (g, full, g->nodes->len - 1, scope.start_node, TRUE);
    }
  g_free (scope.name);
}

void
convnet_graph_ignore_prefix (ConvnetGraph *g, const char *prefix)
{
  g_ptr_array_add (g->ignored_prefixes, g_strdup (prefix));
}

/* ------------------------------------------------------------ nodes */

static int
add_node (ConvnetGraph *g, ConvnetNode *node, const char *leaf)
{
  int index = g->nodes->len;

  node->name = leaf ? scoped_name (g, leaf) : NULL;
  node->first_param = g->params->len;
  g_array_append_val (g->nodes, *node);
  if (leaf)
    register_info (g, convnet_graph_node (g, index)->name, index, index,
                   FALSE);
  return index;
}

static void
add_param (ConvnetGraph *g, int node_index, const char *suffix, int ndim,
           const int64_t *shape, int fan_in, float init_value,
           gboolean is_buffer)
{
  ConvnetNode *node = convnet_graph_node (g, node_index);
  ConvnetParamSlot slot = { 0 };

  slot.name = g_strdup_printf ("%s.%s", node->name, suffix);
  slot.numel = 1;
  slot.pub.ndim = ndim;
  for (int i = 0; i < ndim; i++)
    {
      slot.pub.shape[i] = shape[i];
      slot.numel *= shape[i];
    }
  slot.pub.is_buffer = is_buffer;
  slot.node = node_index;
  slot.init_fan_in = fan_in;
  slot.init_value = init_value;
  slot.offset = g->param_floats;
  g->param_floats += slot.numel;
  g_array_append_val (g->params, slot);
  node->n_params++;
  if (!is_buffer)
    node->param_count += slot.numel;
}

static ConvnetNode *
input_node (ConvnetGraph *g, int x)
{
  g_return_val_if_fail (x >= 0 && x < (int) g->nodes->len, NULL);
  return convnet_graph_node (g, x);
}

static const char *
display_name (ConvnetGraph *g, const char *leaf)
{
  /* for messages only: the scoped name is not kept */
  static char buf[256];
  char *full = scoped_name (g, leaf ? leaf : "(anonymous)");

  g_strlcpy (buf, full, sizeof buf);
  g_free (full);
  return buf;
}

static gboolean
check_spatial (ConvnetGraph *g, const char *leaf, const ConvnetNode *in,
               GError **error)
{
  if (in->flat)
    {
      g_set_error (error, CONVNET_ERROR, CONVNET_ERROR_ARGUMENT,
                   "%s: %s needs a C x H x W input, got %d features",
                   g->arch, display_name (g, leaf), in->shape.c);
      return FALSE;
    }
  return TRUE;
}

static gboolean
check_window_output (ConvnetGraph *g, const char *leaf, const ConvnetNode *in,
                     const ConvGeometry *geo, GError **error)
{
  if (geo->h_out <= 0 || geo->w_out <= 0)
    {
      g_set_error (error, CONVNET_ERROR, CONVNET_ERROR_ARGUMENT,
                   "%s: input too small: %s gets %d x %d and its %d x %d "
                   "window leaves no output",
                   g->arch, display_name (g, leaf), in->shape.h, in->shape.w,
                   geo->kh, geo->kw);
      return FALSE;
    }
  return TRUE;
}

int
convnet_conv2d (ConvnetGraph *g, const char *name, int x, int out_c,
                int kernel, int stride, int padding, int dilation, int groups,
                gboolean bias, GError **error)
{
  ConvnetNode *in = input_node (g, x);
  ConvnetNode node = { 0 };
  ConvGeometry *geo = &node.conv;
  int index;

  if (!check_spatial (g, name, in, error))
    return -1;
  if (groups <= 0 || in->shape.c % groups || out_c % groups)
    {
      g_set_error (error, CONVNET_ERROR, CONVNET_ERROR_ARGUMENT,
                   "%s: %s: %d groups do not divide %d -> %d channels",
                   g->arch, display_name (g, name), groups, in->shape.c, out_c);
      return -1;
    }
  node.op = CONVNET_OP_CONV2D;
  node.inputs[0] = x;
  node.n_inputs = 1;
  *geo = (ConvGeometry) {
    .c_in = in->shape.c, .h_in = in->shape.h, .w_in = in->shape.w,
    .c_out = out_c, .kh = kernel, .kw = kernel, .sh = stride, .sw = stride,
    .ph = padding, .pw = padding, .dh = dilation, .dw = dilation,
    .groups = groups
  };
  geo->h_out = window_output_size (geo->h_in, kernel, stride, padding,
                                   dilation, FALSE);
  geo->w_out = window_output_size (geo->w_in, kernel, stride, padding,
                                   dilation, FALSE);
  if (!check_window_output (g, name, in, geo, error))
    return -1;
  node.shape = (ConvnetShape) { out_c, geo->h_out, geo->w_out };
  node.has_bias = bias;
  node.macs = (guint64) out_c * geo->h_out * geo->w_out
              * (in->shape.c / groups) * kernel * kernel;

  {
    /* IN points into the node array, which add_node may move */
    const int cin_g = in->shape.c / groups;
    const int fan_in = cin_g * kernel * kernel;
    const int64_t wshape[4] = { out_c, cin_g, kernel, kernel };
    const int64_t bshape[1] = { out_c };

    index = add_node (g, &node, name);
    add_param (g, index, "weight", 4, wshape, fan_in, 0, FALSE);
    if (bias)
      add_param (g, index, "bias", 1, bshape, fan_in, 0, FALSE);
  }
  return index;
}

static int
pool_node (ConvnetGraph *g, ConvnetOpKind op, const char *name, int x,
           int kernel, int stride, int padding, gboolean ceil_mode,
           GError **error)
{
  ConvnetNode *in = input_node (g, x);
  ConvnetNode node = { 0 };
  ConvGeometry *geo = &node.conv;

  if (!check_spatial (g, name, in, error))
    return -1;
  if (padding * 2 > kernel)
    {
      g_set_error (error, CONVNET_ERROR, CONVNET_ERROR_ARGUMENT,
                   "%s: %s: padding %d is more than half the kernel %d",
                   g->arch, display_name (g, name), padding, kernel);
      return -1;
    }
  node.op = op;
  node.inputs[0] = x;
  node.n_inputs = 1;
  node.ceil_mode = ceil_mode;
  *geo = (ConvGeometry) {
    .c_in = in->shape.c, .h_in = in->shape.h, .w_in = in->shape.w,
    .c_out = in->shape.c, .kh = kernel, .kw = kernel, .sh = stride,
    .sw = stride, .ph = padding, .pw = padding, .dh = 1, .dw = 1,
    .groups = 1
  };
  geo->h_out = window_output_size (geo->h_in, kernel, stride, padding, 1,
                                   ceil_mode);
  geo->w_out = window_output_size (geo->w_in, kernel, stride, padding, 1,
                                   ceil_mode);
  if (!check_window_output (g, name, in, geo, error))
    return -1;
  node.shape = (ConvnetShape) { in->shape.c, geo->h_out, geo->w_out };
  return add_node (g, &node, name);
}

int
convnet_maxpool2d (ConvnetGraph *g, const char *name, int x, int kernel,
                   int stride, int padding, gboolean ceil_mode,
                   GError **error)
{
  return pool_node (g, CONVNET_OP_MAXPOOL2D, name, x, kernel, stride,
                    padding, ceil_mode, error);
}

int
convnet_avgpool2d (ConvnetGraph *g, const char *name, int x, int kernel,
                   int stride, int padding, gboolean ceil_mode,
                   gboolean count_include_pad, GError **error)
{
  int index = pool_node (g, CONVNET_OP_AVGPOOL2D, name, x, kernel, stride,
                         padding, ceil_mode, error);

  if (index >= 0)
    convnet_graph_node (g, index)->count_include_pad = count_include_pad;
  return index;
}

int
convnet_adaptive_avgpool2d (ConvnetGraph *g, const char *name, int x,
                            int out_h, int out_w, GError **error)
{
  ConvnetNode *in = input_node (g, x);
  ConvnetNode node = { 0 };

  if (!check_spatial (g, name, in, error))
    return -1;
  node.op = CONVNET_OP_ADAPTIVE_AVGPOOL2D;
  node.inputs[0] = x;
  node.n_inputs = 1;
  node.shape = (ConvnetShape) { in->shape.c, out_h, out_w };
  return add_node (g, &node, name);
}

int
convnet_batchnorm2d (ConvnetGraph *g, const char *name, int x, float eps,
                     GError **error)
{
  ConvnetNode *in = input_node (g, x);
  ConvnetNode node = { 0 };
  int index;
  int64_t shape[1];

  if (!check_spatial (g, name, in, error))
    return -1;
  node.op = CONVNET_OP_BATCHNORM2D;
  node.inputs[0] = x;
  node.n_inputs = 1;
  node.shape = in->shape;
  node.eps = eps;
  shape[0] = in->shape.c;
  index = add_node (g, &node, name);
  add_param (g, index, "weight", 1, shape, 0, 1.0f, FALSE);
  add_param (g, index, "bias", 1, shape, 0, 0.0f, FALSE);
  add_param (g, index, "running_mean", 1, shape, 0, 0.0f, TRUE);
  add_param (g, index, "running_var", 1, shape, 0, 1.0f, TRUE);
  return index;
}

/* Nodes whose output has the input's shape and no parameters. */
static int
same_shape_node (ConvnetGraph *g, ConvnetOpKind op, const char *name, int x)
{
  ConvnetNode *in = input_node (g, x);
  ConvnetNode node = { 0 };

  node.op = op;
  node.inputs[0] = x;
  node.n_inputs = 1;
  node.shape = in->shape;
  node.flat = in->flat;
  return add_node (g, &node, name);
}

int
convnet_activation (ConvnetGraph *g, ConvnetOpKind op, const char *name,
                    int x)
{
  g_return_val_if_fail (op == CONVNET_OP_RELU || op == CONVNET_OP_SIGMOID
                        || op == CONVNET_OP_TANH, -1);
  return same_shape_node (g, op, name, x);
}

int
convnet_softmax (ConvnetGraph *g, const char *name, int x)
{
  return same_shape_node (g, CONVNET_OP_SOFTMAX, name, x);
}

int
convnet_dropout (ConvnetGraph *g, const char *name, int x, float p)
{
  int index = same_shape_node (g, CONVNET_OP_DROPOUT, name, x);

  convnet_graph_node (g, index)->dropout_p = p;
  return index;
}

int
convnet_lrn (ConvnetGraph *g, const char *name, int x, int size, float alpha,
             float beta, float k)
{
  int index = same_shape_node (g, CONVNET_OP_LRN, name, x);
  ConvnetNode *node = convnet_graph_node (g, index);

  node->lrn_size = size;
  node->lrn_alpha = alpha;
  node->lrn_beta = beta;
  node->lrn_k = k;
  return index;
}

int
convnet_channel_affine (ConvnetGraph *g, const char *name, int x,
                        const float *scale, const float *shift,
                        GError **error)
{
  ConvnetNode *in = input_node (g, x);
  int index, channels;

  if (in->flat || in->shape.c > 3)
    {
      g_set_error (error, CONVNET_ERROR, CONVNET_ERROR_ARGUMENT,
                   "%s: a channel affine map takes at most 3 channels",
                   g->arch);
      return -1;
    }
  channels = in->shape.c;
  index = same_shape_node (g, CONVNET_OP_CHANNEL_AFFINE, name, x);
  memcpy (convnet_graph_node (g, index)->affine_scale, scale,
          sizeof (float) * channels);
  memcpy (convnet_graph_node (g, index)->affine_shift, shift,
          sizeof (float) * channels);
  return index;
}

int
convnet_flatten (ConvnetGraph *g, const char *name, int x)
{
  ConvnetNode *in = input_node (g, x);
  ConvnetNode node = { 0 };

  node.op = CONVNET_OP_FLATTEN;
  node.inputs[0] = x;
  node.n_inputs = 1;
  node.shape = (ConvnetShape) { in->shape.c * in->shape.h * in->shape.w, 1, 1 };
  node.flat = TRUE;
  return add_node (g, &node, name);
}

int
convnet_linear (ConvnetGraph *g, const char *name, int x, int out,
                gboolean bias, GError **error)
{
  ConvnetNode *in = input_node (g, x);
  ConvnetNode node = { 0 };
  int index;

  if (!in->flat)
    {
      g_set_error (error, CONVNET_ERROR, CONVNET_ERROR_ARGUMENT,
                   "%s: %s needs flat features, got %d x %d x %d",
                   g->arch, display_name (g, name), in->shape.c, in->shape.h,
                   in->shape.w);
      return -1;
    }
  node.op = CONVNET_OP_LINEAR;
  node.inputs[0] = x;
  node.n_inputs = 1;
  node.shape = (ConvnetShape) { out, 1, 1 };
  node.flat = TRUE;
  node.has_bias = bias;
  node.macs = (guint64) in->shape.c * out;
  {
    const int in_features = in->shape.c;
    const int64_t wshape[2] = { out, in_features };
    const int64_t bshape[1] = { out };

    index = add_node (g, &node, name);
    add_param (g, index, "weight", 2, wshape, in_features, 0, FALSE);
    if (bias)
      add_param (g, index, "bias", 1, bshape, in_features, 0, FALSE);
  }
  return index;
}

int
convnet_concat (ConvnetGraph *g, const char *name, const int *xs, int n,
                GError **error)
{
  ConvnetNode node = { 0 };
  const ConvnetNode *first = input_node (g, xs[0]);

  g_return_val_if_fail (n >= 1 && n <= CONVNET_MAX_INPUTS, -1);
  node.op = CONVNET_OP_CONCAT;
  node.n_inputs = n;
  node.shape = first->shape;
  node.shape.c = 0;
  for (int i = 0; i < n; i++)
    {
      const ConvnetNode *in = input_node (g, xs[i]);
      if (in->flat != first->flat || in->shape.h != first->shape.h
          || in->shape.w != first->shape.w)
        {
          g_set_error (error, CONVNET_ERROR, CONVNET_ERROR_ARGUMENT,
                       "%s: %s: concatenated inputs differ in size "
                       "(%d x %d and %d x %d)",
                       g->arch, display_name (g, name), first->shape.h,
                       first->shape.w, in->shape.h, in->shape.w);
          return -1;
        }
      node.inputs[i] = xs[i];
      node.shape.c += in->shape.c;
    }
  node.flat = first->flat;
  return add_node (g, &node, name);
}

int
convnet_add (ConvnetGraph *g, const char *name, int a, int b, GError **error)
{
  const ConvnetNode *na = input_node (g, a);
  const ConvnetNode *nb = input_node (g, b);
  ConvnetNode node = { 0 };

  if (na->shape.c != nb->shape.c || na->shape.h != nb->shape.h
      || na->shape.w != nb->shape.w)
    {
      g_set_error (error, CONVNET_ERROR, CONVNET_ERROR_ARGUMENT,
                   "%s: %s: cannot add %d x %d x %d and %d x %d x %d",
                   g->arch, display_name (g, name), na->shape.c, na->shape.h,
                   na->shape.w, nb->shape.c, nb->shape.h, nb->shape.w);
      return -1;
    }
  node.op = CONVNET_OP_ADD;
  node.inputs[0] = a;
  node.inputs[1] = b;
  node.n_inputs = 2;
  node.shape = na->shape;
  node.flat = na->flat;
  return add_node (g, &node, name);
}

/* ------------------------------------------------------------ finish */

gboolean
convnet_graph_finish (ConvnetGraph *g, GError **error)
{
  g_return_val_if_fail (g->scopes->len == 0, FALSE);

  if (g->param_floats > G_MAXSIZE / sizeof (float))
    {
      g_set_error (error, CONVNET_ERROR, CONVNET_ERROR_LIMIT,
                   "%s: too many parameters", g->arch);
      return FALSE;
    }
  g->param_block = convnet_packed_alloc_unfaulted (MAX (g->param_floats, 1)
                                                  * sizeof (float));
  if (!g->param_block)
    {
      g_set_error (error, CONVNET_ERROR, CONVNET_ERROR_LIMIT,
                   "%s: cannot allocate %" G_GSIZE_FORMAT " parameters",
                   g->arch, g->param_floats);
      return FALSE;
    }
  for (guint i = 0; i < g->params->len; i++)
    {
      ConvnetParamSlot *slot = convnet_graph_param_slot (g, i);
      slot->pub.name = slot->name;
      slot->pub.data = g->param_block + slot->offset;
    }

  for (guint i = 0; i < g->infos->len; i++)
    {
      ConvnetNodeInfo *info = &g_array_index (g->infos, ConvnetNodeInfo, i);
      const ConvnetNode *node = convnet_graph_node (g, info->node);
      const int first = g_array_index (g->info_first_node, int, i);

      info->op = node->op;
      info->shape = node->shape;
      info->flat = node->flat;
      info->params = 0;
      info->macs = 0;
      for (int n = first; n <= info->node; n++)
        {
          info->params += convnet_graph_node (g, n)->param_count;
          info->macs += convnet_graph_node (g, n)->macs;
        }
    }
  return TRUE;
}

/* ----------------------------------------------------------- queries */

guint
convnet_graph_n_names (const ConvnetGraph *g)
{
  return g->infos->len;
}

const ConvnetNodeInfo *
convnet_graph_name_info (const ConvnetGraph *g, guint index)
{
  g_return_val_if_fail (index < g->infos->len, NULL);
  return &g_array_index (g->infos, ConvnetNodeInfo, index);
}

const ConvnetNodeInfo *
convnet_graph_lookup (const ConvnetGraph *g, const char *name)
{
  guint index = GPOINTER_TO_UINT (g_hash_table_lookup (g->info_index, name));

  return index ? convnet_graph_name_info (g, index - 1) : NULL;
}

guint
convnet_graph_n_params (const ConvnetGraph *g)
{
  return g->params->len;
}

const ConvnetParam *
convnet_graph_param (const ConvnetGraph *g, guint index)
{
  g_return_val_if_fail (index < g->params->len, NULL);
  return &convnet_graph_param_slot (g, index)->pub;
}

const ConvnetParam *
convnet_graph_find_param (const ConvnetGraph *g, const char *name)
{
  for (guint i = 0; i < g->params->len; i++)
    if (strcmp (convnet_graph_param_slot (g, i)->name, name) == 0)
      return &convnet_graph_param_slot (g, i)->pub;
  return NULL;
}

guint64
convnet_graph_param_count (const ConvnetGraph *g)
{
  guint64 total = 0;

  for (guint i = 0; i < g->nodes->len; i++)
    total += convnet_graph_node (g, i)->param_count;
  return total;
}

guint64
convnet_graph_macs (const ConvnetGraph *g)
{
  guint64 total = 0;

  for (guint i = 0; i < g->nodes->len; i++)
    total += convnet_graph_node (g, i)->macs;
  return total;
}

ConvnetShape
convnet_graph_input_shape (const ConvnetGraph *g)
{
  return convnet_graph_node (g, 0)->shape;
}

ConvnetShape
convnet_graph_output_shape (const ConvnetGraph *g)
{
  return convnet_graph_node (g, g->nodes->len - 1)->shape;
}

void
convnet_graph_set_profiling (ConvnetGraph *g, gboolean on)
{
  g_clear_pointer (&g->profile_seconds, g_free);
  if (on)
    g->profile_seconds = g_new0 (double, g->nodes->len);
}

guint
convnet_graph_n_nodes (const ConvnetGraph *g)
{
  return g->nodes->len;
}

double
convnet_graph_node_seconds (const ConvnetGraph *g, guint index,
                            ConvnetOpKind *op, const char **name)
{
  const ConvnetNode *node;

  g_return_val_if_fail (index < g->nodes->len, 0.0);
  node = &g_array_index (g->nodes, ConvnetNode, index);
  if (op)
    *op = node->op;
  if (name)
    *name = node->name;
  return g->profile_seconds ? g->profile_seconds[index] : 0.0;
}

/* --------------------------------------------------------- init */

void
convnet_graph_weights_changed (ConvnetGraph *g)
{
  g->weights_serial++;
}

void
convnet_graph_init_random (ConvnetGraph *g, guint64 seed)
{
  convnet_graph_init_random_prefix (g, "", seed);
}

void
convnet_graph_init_random_prefix (ConvnetGraph *g, const char *prefix,
                                  guint64 seed)
{
  ConvnetRng rng;

  convnet_graph_weights_changed (g);
  convnet_rng_seed (&rng, seed);

  for (guint i = 0; i < g->params->len; i++)
    {
      ConvnetParamSlot *slot = convnet_graph_param_slot (g, i);
      float *data = slot->pub.data;

      if (!g_str_has_prefix (slot->name, prefix))
        continue;
      if (slot->init_fan_in > 0)
        {
          /* torch's kaiming_uniform_(a=sqrt(5)) and bias rule both give
           * U(-1/sqrt(fan_in), 1/sqrt(fan_in)) */
          const double bound = 1.0 / sqrt ((double) slot->init_fan_in);
          for (gsize k = 0; k < slot->numel; k++)
            {
              data[k] = (float) ((2.0 * convnet_rng_uniform (&rng) - 1.0)
                                 * bound);
            }
        }
      else
        for (gsize k = 0; k < slot->numel; k++)
          data[k] = slot->init_value;
    }
}
