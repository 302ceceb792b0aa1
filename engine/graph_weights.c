/* graph_weights.c: filling a graph's parameters from a weights file, with
 * torch's strict load_state_dict rules: every parameter present with its
 * exact shape, and no key left over.  Nothing is written into the graph
 * unless the whole file fits. */
#include "graph.h"

#include <string.h>

static char *
format_shape (int ndim, const int64_t *shape)
{
  GString *s = g_string_new ("[");

  for (int i = 0; i < ndim; i++)
    g_string_append_printf (s, "%s%" G_GINT64_FORMAT, i ? ", " : "", shape[i]);
  g_string_append_c (s, ']');
  return g_string_free (s, FALSE);
}

/* Keys a checkpoint may carry that the graph does not use: BatchNorm's
 * step counter, and whole sub-modules the architecture drops at inference
 * (GoogLeNet's auxiliary classifiers). */
static gboolean
is_ignored_key (const ConvnetGraph *g, const char *key)
{
  if (g_str_has_suffix (key, ".num_batches_tracked"))
    {
      char *owner = g_strndup (key, strlen (key) - strlen (".num_batches_tracked"));
      const ConvnetNodeInfo *info = convnet_graph_lookup (g, owner);
      gboolean bn = info && !info->is_block
                    && info->op == CONVNET_OP_BATCHNORM2D;
      g_free (owner);
      if (bn)
        return TRUE;
    }
  for (guint i = 0; i < g->ignored_prefixes->len; i++)
    if (g_str_has_prefix (key, g_ptr_array_index (g->ignored_prefixes, i)))
      return TRUE;
  return FALSE;
}

static gboolean
is_float_dtype (ConvnetDType dtype)
{
  return dtype == CONVNET_DTYPE_F32 || dtype == CONVNET_DTYPE_F16
         || dtype == CONVNET_DTYPE_BF16 || dtype == CONVNET_DTYPE_F64;
}

static gboolean
skipped (const char *name, const char *skip_prefix)
{
  return skip_prefix && g_str_has_prefix (name, skip_prefix);
}

gboolean
convnet_graph_load_weight_file (ConvnetGraph *g,
                                const ConvnetWeightFile *file,
                                GError **error)
{
  return convnet_graph_load_weight_file_except (g, file, NULL, error);
}

gboolean
convnet_graph_load_weight_file_except (ConvnetGraph *g,
                                       const ConvnetWeightFile *file,
                                       const char *skip_prefix,
                                       GError **error)
{
  const char *path = convnet_weight_file_path (file);
  GHashTable *used = g_hash_table_new (g_str_hash, g_str_equal);
  gboolean ok = TRUE;

  for (guint i = 0; i < g->params->len && ok; i++)
    {
      ConvnetParamSlot *slot = convnet_graph_param_slot (g, i);
      const ConvnetTensorEntry *entry =
        convnet_weight_file_lookup (file, slot->name);
      gboolean same_shape;

      if (skipped (slot->name, skip_prefix))
        continue;
      if (!entry)
        {
          char *want = format_shape (slot->pub.ndim, slot->pub.shape);
          g_set_error (error, CONVNET_ERROR, CONVNET_ERROR_MISMATCH,
                       "%s: missing tensor '%s' (%s expects shape %s)",
                       path, slot->name, g->arch, want);
          g_free (want);
          ok = FALSE;
          break;
        }
      g_hash_table_add (used, (gpointer) entry->name);

      same_shape = entry->ndim == slot->pub.ndim;
      for (int d = 0; same_shape && d < entry->ndim; d++)
        same_shape = entry->shape[d] == slot->pub.shape[d];
      if (!same_shape)
        {
          char *want = format_shape (slot->pub.ndim, slot->pub.shape);
          char *got = format_shape (entry->ndim, entry->shape);
          g_set_error (error, CONVNET_ERROR, CONVNET_ERROR_MISMATCH,
                       "%s: tensor '%s' has shape %s but %s expects %s",
                       path, slot->name, got, g->arch, want);
          g_free (want);
          g_free (got);
          ok = FALSE;
          break;
        }
      if (!is_float_dtype (entry->dtype))
        {
          g_set_error (error, CONVNET_ERROR, CONVNET_ERROR_MISMATCH,
                       "%s: tensor '%s' has dtype %s; a floating-point "
                       "dtype is needed", path, slot->name,
                       convnet_dtype_name (entry->dtype));
          ok = FALSE;
          break;
        }
    }

  for (guint i = 0; ok && i < convnet_weight_file_n_tensors (file); i++)
    {
      const ConvnetTensorEntry *entry = convnet_weight_file_tensor (file, i);

      if (!g_hash_table_contains (used, entry->name)
          && !skipped (entry->name, skip_prefix)
          && !is_ignored_key (g, entry->name))
        {
          char *got = format_shape (entry->ndim, entry->shape);
          g_set_error (error, CONVNET_ERROR, CONVNET_ERROR_MISMATCH,
                       "%s: unexpected tensor '%s' (shape %s): %s has no "
                       "such parameter", path, entry->name, got, g->arch);
          g_free (got);
          ok = FALSE;
        }
    }
  /* only a file that fits entirely touches the parameters */
  for (guint i = 0; i < g->params->len && ok; i++)
    {
      ConvnetParamSlot *slot = convnet_graph_param_slot (g, i);
      if (skipped (slot->name, skip_prefix))
        continue;
      ok = convnet_tensor_entry_to_f32 (
        convnet_weight_file_lookup (file, slot->name), slot->pub.data,
        slot->numel, error);
    }
  g_hash_table_unref (used);
  return ok;
}

gboolean
convnet_graph_load_weights (ConvnetGraph *g, const char *path,
                            GError **error)
{
  ConvnetWeightFile *file = convnet_weight_file_open (path, error);
  gboolean ok;

  if (!file)
    return FALSE;
  ok = convnet_graph_load_weight_file (g, file, error);
  convnet_weight_file_free (file);
  return ok;
}
