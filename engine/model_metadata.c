/* model_metadata.c: what our .safetensors files say of themselves in
 * their metadata (architecture, class labels as a JSON array,
 * preprocessing as a JSON object), written and read back.  The reading
 * side takes text from any file, so it checks every value. */
#include "graph.h"
#include "model_metadata.h"

#include <json-glib/json-glib.h>
#include <string.h>

/* -------------------------------------------------------------- write */

char *
model_metadata_preprocess_to_json (const ConvnetPreprocess *pre)
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

char *
model_metadata_labels_to_json (const char *const *labels)
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

/* --------------------------------------------------------------- read */

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

char **
model_metadata_default_labels (const ConvnetArch *arch, int classes)
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

char **
model_metadata_labels (const char *path, GHashTable *meta,
                       const ConvnetArch *arch, int classes, GError **error)
{
  const char *text = meta ? g_hash_table_lookup (meta, "classes") : NULL;

  return text ? labels_from_json (path, text, classes, error)
              : model_metadata_default_labels (arch, classes);
}

const ConvnetArch *
model_metadata_arch (const char *path, GHashTable *meta,
                     const char *arch_name, ConvnetPreprocess *pre,
                     GError **error)
{
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
