/* graph_weights.c: filling a graph's parameters from a weights file, with
 * torch's strict load_state_dict rules: every parameter present with its
 * exact shape, and no key left over.  Nothing is written into the graph
 * unless the whole file fits.
 *
 * A float32 tensor stored contiguous and aligned is not copied: the
 * parameter points into a private view of the file's mapping (see
 * ConvnetParamSlot), so a cold start reads the page cache instead of
 * faulting in and filling a second copy of every weight. */
#include "graph.h"
#include "formats/formats.h"
#include "kernels/kernels.h"
#include "pack_cache.h"

#include <stdlib.h>
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

typedef struct
{
  guint param;
  gsize offset;   /* in the file, in bytes */
  gsize end;
} InPlace;

static int
compare_offsets (const void *a, const void *b)
{
  const InPlace *x = a, *y = b;

  return x->offset < y->offset ? -1 : x->offset > y->offset;
}

static void
release_mapping (ConvnetParamSlot *slot)
{
  g_clear_pointer (&slot->mapping, g_bytes_unref);
}

/* Marks in USE the parameters that can point into the file: tensors it
 * holds in place, less any two that share bytes (tied weights), which
 * must stay apart as they were copied apart. */
static guint
choose_in_place (ConvnetGraph *g, const ConvnetWeightFile *file,
                 const char *skip_prefix, gsize *offsets, gboolean *use)
{
  GArray *found = g_array_new (FALSE, FALSE, sizeof (InPlace));
  guint n = 0;

  for (guint i = 0; i < g->params->len; i++)
    {
      ConvnetParamSlot *slot = convnet_graph_param_slot (g, i);
      InPlace p = { i, 0, 0 };

      if (skipped (slot->name, skip_prefix) || slot->numel == 0
          || !weight_file_entry_in_place (
               file, convnet_weight_file_lookup (file, slot->name),
               &p.offset))
        continue;
      p.end = p.offset + slot->numel * sizeof (float);
      offsets[i] = p.offset;
      g_array_append_val (found, p);
    }
  if (found->len > 1)   /* an empty array has no data to sort */
    qsort (found->data, found->len, sizeof (InPlace), compare_offsets);
  for (guint k = 0; k < found->len; k++)
    {
      const InPlace *p = &g_array_index (found, InPlace, k);
      gboolean overlaps =
        (k > 0 && g_array_index (found, InPlace, k - 1).end > p->offset)
        || (k + 1 < found->len
            && g_array_index (found, InPlace, k + 1).offset < p->end);

      use[p->param] = !overlaps;
      n += !overlaps;
    }
  g_array_unref (found);
  return n;
}

static gboolean
place_params (ConvnetGraph *g, const ConvnetWeightFile *file,
              const char *skip_prefix, GError **error)
{
  gsize *offsets = g_new0 (gsize, MAX (g->params->len, 1));
  gboolean *use = g_new0 (gboolean, MAX (g->params->len, 1));
  GBytes *view = NULL;
  const guint8 *view_data = NULL;
  gboolean ok = TRUE;

  if (choose_in_place (g, file, skip_prefix, offsets, use) > 0
      && (view = weight_file_private_view (file)))
    view_data = g_bytes_get_data (view, NULL);

  for (guint i = 0; i < g->params->len && ok; i++)
    {
      ConvnetParamSlot *slot = convnet_graph_param_slot (g, i);
      float *own = g->param_block + slot->offset;

      if (skipped (slot->name, skip_prefix))
        continue;
      if (use[i] && view)
        {
          release_mapping (slot);
          slot->pub.data = (float *) (view_data + offsets[i]);
          slot->mapping = g_bytes_ref (view);
          continue;
        }
      ok = convnet_tensor_entry_to_f32 (
        convnet_weight_file_lookup (file, slot->name), own, slot->numel,
        error);
      release_mapping (slot);
      slot->pub.data = own;
    }
  if (view)
    g_bytes_unref (view);
  g_free (use);
  g_free (offsets);
  return ok;
}

void
convnet_graph_own_params (ConvnetGraph *g)
{
  for (guint i = 0; i < g->params->len; i++)
    {
      ConvnetParamSlot *slot = convnet_graph_param_slot (g, i);
      float *own = g->param_block + slot->offset;

      if (!slot->mapping)
        continue;
      memcpy (own, slot->pub.data, slot->numel * sizeof (float));
      slot->pub.data = own;
      release_mapping (slot);
    }
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

  /* even a failed load may have changed some parameters */
  convnet_graph_weights_changed (g);

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
  if (ok)
    ok = place_params (g, file, skip_prefix, error);
  g_hash_table_unref (used);
  if (ok)
    {
      /* packings may use entries of the cache being replaced */
      convnet_graph_release_fast (g);
      g_clear_pointer (&g->pack_cache, convnet_pack_cache_free);
      if (!skip_prefix)
        g->pack_cache = convnet_pack_cache_open (
          path, weight_file_fd (file), g->arch, convnet_kernels ()->isa);
      g->pack_cache_serial = g->weights_serial;
    }
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
