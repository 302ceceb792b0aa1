/* model_file.c: a model as a user has it: one weights file that, for our
 * own .safetensors, also says which architecture it is, its class labels
 * and the preprocessing it was trained with. */
#include "graph.h"
#include "model_metadata.h"

int
convnet_weight_file_classes (const ConvnetWeightFile *file,
                             const ConvnetArch *arch)
{
  char *key = g_strdup_printf ("%s.bias", arch->head);
  const ConvnetTensorEntry *bias = convnet_weight_file_lookup (file, key);

  g_free (key);
  if (bias && bias->ndim == 1 && bias->shape[0] > 0
      && bias->shape[0] <= G_MAXINT)
    return (int) bias->shape[0];
  return 0;
}

/* --------------------------------------------------------------- save */

gboolean
convnet_model_save (ConvnetGraph *g, const char *arch,
                    const char *const *labels, const ConvnetPreprocess *pre,
                    GHashTable *extra, const char *path, GError **error)
{
  const guint n = convnet_graph_n_params (g);
  ConvnetTensorView *views = g_new0 (ConvnetTensorView, n);
  GHashTable *meta = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                            g_free);
  gboolean ok;

  if (g_strv_length ((char **) labels) != (guint) convnet_graph_output_shape (g).c)
    {
      g_set_error (error, CONVNET_ERROR, CONVNET_ERROR_ARGUMENT,
                   "%s: %u labels for a network of %d classes", path,
                   g_strv_length ((char **) labels),
                   convnet_graph_output_shape (g).c);
      g_free (views);
      g_hash_table_unref (meta);
      return FALSE;
    }
  for (guint i = 0; i < n; i++)
    {
      const ConvnetParam *p = convnet_graph_param (g, i);
      views[i].name = p->name;
      views[i].ndim = p->ndim;
      for (int d = 0; d < p->ndim; d++)
        views[i].shape[d] = p->shape[d];
      views[i].data = p->data;
    }
  if (extra)
    {
      GHashTableIter iter;
      gpointer key, value;
      g_hash_table_iter_init (&iter, extra);
      while (g_hash_table_iter_next (&iter, &key, &value))
        g_hash_table_insert (meta, g_strdup (key), g_strdup (value));
    }
  g_hash_table_insert (meta, g_strdup ("format"), g_strdup ("gimp-convnet 1"));
  g_hash_table_insert (meta, g_strdup ("architecture"), g_strdup (arch));
  g_hash_table_insert (meta, g_strdup ("classes"), model_metadata_labels_to_json (labels));
  g_hash_table_insert (meta, g_strdup ("preprocess"), model_metadata_preprocess_to_json (pre));

  ok = convnet_safetensors_write (path, views, n, meta, error);
  g_free (views);
  g_hash_table_unref (meta);
  return ok;
}

/* --------------------------------------------------------------- load */

const ConvnetArch *
convnet_weight_file_arch (const ConvnetWeightFile *file,
                          const char *arch_name, ConvnetPreprocess *pre,
                          GError **error)
{
  return model_metadata_arch (convnet_weight_file_path (file),
                              convnet_weight_file_metadata (file), arch_name,
                              pre, error);
}

ConvnetModel *
convnet_model_load (const char *path, const char *arch_name, int height,
                    int width, GError **error)
{
  ConvnetWeightFile *file = convnet_weight_file_open (path, error);
  ConvnetModel *m;
  GHashTable *meta;
  const ConvnetArch *arch;
  ConvnetPreprocess pre;

  if (!file)
    return NULL;
  meta = convnet_weight_file_metadata (file);
  arch = convnet_weight_file_arch (file, arch_name, &pre, error);
  if (!arch)
    {
      convnet_weight_file_free (file);
      return NULL;
    }

  m = g_new0 (ConvnetModel, 1);
  m->arch = g_strdup (arch->name);
  m->path = g_strdup (path);
  m->preprocess = pre;
  /* by default the network sees what its preprocessing makes */
  m->graph = convnet_model_build (arch->name,
                                  convnet_weight_file_classes (file, arch),
                                  height > 0 ? height : m->preprocess.crop_height,
                                  width > 0 ? width : m->preprocess.crop_width,
                                  error);
  if (!m->graph || !convnet_graph_load_weight_file (m->graph, file, error))
    goto fail;
  m->n_classes = convnet_graph_output_shape (m->graph).c;

  m->labels = model_metadata_labels (path, meta, arch, m->n_classes, error);
  if (!m->labels)
    goto fail;
  if (meta)
    {
      GHashTableIter iter;
      gpointer key, value;
      m->metadata = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                           g_free);
      g_hash_table_iter_init (&iter, meta);
      while (g_hash_table_iter_next (&iter, &key, &value))
        g_hash_table_insert (m->metadata, g_strdup (key), g_strdup (value));
    }
  convnet_weight_file_free (file);
  return m;

fail:
  convnet_weight_file_free (file);
  convnet_model_free (m);
  return NULL;
}

ConvnetModel *
convnet_model_new_random (const char *arch_name, int height, int width,
                          guint64 seed, GError **error)
{
  ConvnetGraph *g = convnet_model_build (arch_name, 0, height, width, error);
  const ConvnetArch *arch = convnet_arch_lookup (arch_name);
  ConvnetModel *m;

  if (!g)
    return NULL;
  convnet_graph_init_random (g, seed);
  m = g_new0 (ConvnetModel, 1);
  m->arch = g_strdup (arch->name);
  m->graph = g;
  m->n_classes = convnet_graph_output_shape (g).c;
  m->labels = model_metadata_default_labels (arch, m->n_classes);
  m->preprocess = arch->preprocess;
  return m;
}

void
convnet_model_free (ConvnetModel *m)
{
  if (!m)
    return;
  convnet_graph_free (m->graph);
  g_strfreev (m->labels);
  g_clear_pointer (&m->metadata, g_hash_table_unref);
  g_free (m->arch);
  g_free (m->path);
  g_free (m);
}
