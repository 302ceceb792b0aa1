/* model_file.c: a model as a user has it: one weights file that, for our
 * own .safetensors, also says which architecture it is, its class labels
 * and the preprocessing it was trained with. */
#include "graph.h"

#include <json-glib/json-glib.h>
#include <string.h>

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

static char *
preprocess_to_json (const ConvnetPreprocess *pre)
{
  return g_strdup_printf ("{\"grayscale\": %s, \"resize_shorter\": %d, "
                          "\"crop\": [%d, %d], \"mean\": [%.9g, %.9g, %.9g], "
                          "\"std\": [%.9g, %.9g, %.9g], "
                          "\"invert_light_background\": %s}",
                          pre->grayscale ? "true" : "false",
                          pre->resize_shorter, pre->crop_height,
                          pre->crop_width, pre->mean[0], pre->mean[1],
                          pre->mean[2], pre->std[0], pre->std[1],
                          pre->std[2],
                          pre->invert_light_background ? "true" : "false");
}

static char *
labels_to_json (const char *const *labels)
{
  JsonBuilder *b = json_builder_new ();
  JsonGenerator *gen = json_generator_new ();
  JsonNode *root;
  char *text;

  json_builder_begin_array (b);
  for (int i = 0; labels[i]; i++)
    json_builder_add_string_value (b, labels[i]);
  json_builder_end_array (b);
  root = json_builder_get_root (b);
  json_generator_set_root (gen, root);
  text = json_generator_to_data (gen, NULL);
  json_node_unref (root);
  g_object_unref (gen);
  g_object_unref (b);
  return text;
}

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
  g_hash_table_insert (meta, g_strdup ("classes"), labels_to_json (labels));
  g_hash_table_insert (meta, g_strdup ("preprocess"), preprocess_to_json (pre));

  ok = convnet_safetensors_write (path, views, n, meta, error);
  g_free (views);
  g_hash_table_unref (meta);
  return ok;
}

/* --------------------------------------------------------------- load */

static JsonNode *
parse_json (const char *path, const char *key, const char *text,
            JsonNodeType type, GError **error)
{
  JsonParser *parser = json_parser_new ();
  JsonNode *root = NULL;
  GError *json_error = NULL;

  if (json_parser_load_from_data (parser, text, -1, &json_error)
      && JSON_NODE_TYPE (json_parser_get_root (parser)) == type)
    root = json_node_copy (json_parser_get_root (parser));
  else
    g_set_error (error, CONVNET_ERROR, CONVNET_ERROR_FORMAT,
                 "%s: metadata '%s' is not a JSON %s%s%s", path, key,
                 type == JSON_NODE_ARRAY ? "array" : "object",
                 json_error ? ": " : "",
                 json_error ? json_error->message : "");
  g_clear_error (&json_error);
  g_object_unref (parser);
  return root;
}

static char **
labels_from_json (const char *path, const char *text, int classes,
                  GError **error)
{
  JsonNode *root = parse_json (path, "classes", text, JSON_NODE_ARRAY,
                               error);
  JsonArray *array;
  char **labels;

  if (!root)
    return NULL;
  array = json_node_get_array (root);
  if ((int) json_array_get_length (array) != classes)
    {
      g_set_error (error, CONVNET_ERROR, CONVNET_ERROR_MISMATCH,
                   "%s: metadata names %u classes but the classifier has %d",
                   path, json_array_get_length (array), classes);
      json_node_unref (root);
      return NULL;
    }
  labels = g_new0 (char *, classes + 1);
  for (int i = 0; i < classes; i++)
    {
      JsonNode *item = json_array_get_element (array, i);
      labels[i] = g_strdup (JSON_NODE_HOLDS_VALUE (item)
                            && json_node_get_value_type (item) == G_TYPE_STRING
                            ? json_node_get_string (item) : "?");
    }
  json_node_unref (root);
  return labels;
}

static gboolean
read_numbers (JsonObject *o, const char *member, double *out, int n)
{
  JsonArray *a;

  if (!json_object_has_member (o, member)
      || !JSON_NODE_HOLDS_ARRAY (json_object_get_member (o, member)))
    return FALSE;
  a = json_object_get_array_member (o, member);
  if ((int) json_array_get_length (a) != n)
    return FALSE;
  for (int i = 0; i < n; i++)
    out[i] = json_array_get_double_element (a, i);
  return TRUE;
}

static gboolean
preprocess_from_json (const char *path, const char *text,
                      ConvnetPreprocess *pre, GError **error)
{
  JsonNode *root = parse_json (path, "preprocess", text, JSON_NODE_OBJECT,
                               error);
  JsonObject *o;
  double crop[2], mean[3], std[3];
  gboolean ok;

  if (!root)
    return FALSE;
  o = json_node_get_object (root);
  ok = read_numbers (o, "crop", crop, 2) && read_numbers (o, "mean", mean, 3)
       && read_numbers (o, "std", std, 3)
       && json_object_has_member (o, "resize_shorter")
       && crop[0] >= 1 && crop[0] <= 8192 && crop[1] >= 1 && crop[1] <= 8192;
  if (ok)
    {
      pre->grayscale = json_object_get_boolean_member_with_default (o, "grayscale", FALSE);
      pre->invert_light_background =
        json_object_get_boolean_member_with_default (o, "invert_light_background",
                                                     FALSE);
      pre->resize_shorter = (int) json_object_get_int_member (o, "resize_shorter");
      pre->crop_height = (int) crop[0];
      pre->crop_width = (int) crop[1];
      for (int i = 0; i < 3; i++)
        {
          pre->mean[i] = (float) mean[i];
          pre->std[i] = (float) std[i];
        }
      ok = pre->resize_shorter >= 0 && pre->resize_shorter <= 8192;
    }
  if (!ok)
    g_set_error (error, CONVNET_ERROR, CONVNET_ERROR_FORMAT,
                 "%s: metadata 'preprocess' lacks crop, resize_shorter, "
                 "mean or std, or holds values out of range: %s", path, text);
  json_node_unref (root);
  return ok;
}

static char **
default_labels (const ConvnetArch *arch, int classes)
{
  char *file = g_build_filename (convnet_data_dir (), "labels", arch->labels,
                                 NULL);
  guint n = 0;
  char **labels = convnet_labels_load (file, &n, NULL);

  g_free (file);
  if (labels && n == (guint) classes)
    return labels;
  g_strfreev (labels);
  labels = g_new0 (char *, classes + 1);
  for (int i = 0; i < classes; i++)
    labels[i] = g_strdup_printf ("class %d", i);
  return labels;
}

const ConvnetArch *
convnet_weight_file_arch (const ConvnetWeightFile *file,
                          const char *arch_name, ConvnetPreprocess *pre,
                          GError **error)
{
  const char *path = convnet_weight_file_path (file);
  GHashTable *meta = convnet_weight_file_metadata (file);
  const char *stored = meta ? g_hash_table_lookup (meta, "architecture") : NULL;
  const char *text;
  const ConvnetArch *arch;

  if (!arch_name && !stored)
    {
      g_set_error (error, CONVNET_ERROR, CONVNET_ERROR_ARGUMENT,
                   "%s does not say which architecture it holds: name one "
                   "(see 'convnet models')", path);
      return NULL;
    }
  if (arch_name && stored && strcmp (arch_name, stored) != 0)
    {
      g_set_error (error, CONVNET_ERROR, CONVNET_ERROR_MISMATCH,
                   "%s holds a %s, not a %s", path, stored, arch_name);
      return NULL;
    }
  arch = convnet_arch_lookup (arch_name ? arch_name : stored);
  if (!arch)
    {
      g_set_error (error, CONVNET_ERROR, CONVNET_ERROR_ARGUMENT,
                   "%s: unknown architecture '%s' (see 'convnet models')",
                   path, arch_name ? arch_name : stored);
      return NULL;
    }
  *pre = arch->preprocess;
  text = meta ? g_hash_table_lookup (meta, "preprocess") : NULL;
  if (text && !preprocess_from_json (path, text, pre, error))
    return NULL;
  return arch;
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
  const char *text;

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

  text = meta ? g_hash_table_lookup (meta, "classes") : NULL;
  m->labels = text ? labels_from_json (path, text, m->n_classes, error)
                   : default_labels (arch, m->n_classes);
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
  m->labels = default_labels (arch, m->n_classes);
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
