/* safetensors.c: reading and writing the safetensors format: a u64
 * little-endian header length, a JSON header mapping each tensor name to
 * its dtype, shape and byte range, then the tensors' bytes. */
#include <string.h>

#include <json-glib/json-glib.h>

#include "formats.h"

static const ConvnetDType all_dtypes[] = {
  CONVNET_DTYPE_F32, CONVNET_DTYPE_F16, CONVNET_DTYPE_BF16, CONVNET_DTYPE_F64,
  CONVNET_DTYPE_I64, CONVNET_DTYPE_I32, CONVNET_DTYPE_I16, CONVNET_DTYPE_I8,
  CONVNET_DTYPE_U8, CONVNET_DTYPE_BOOL
};

typedef struct
{
  ConvnetTensorEntry entry;
  const char        *name;    /* owned by the JSON tree */
  guint64            begin;
  guint64            end;
} Record;

#define st_fail(path, error, code, ...) \
  formats_fail (error, code, path, "safetensors", __VA_ARGS__)

/* A JSON integer; json-glib reads floats and out-of-range integers as
 * doubles, which no size or offset may be. */
static gboolean
get_uint (JsonNode *node,
          gint64   *value)
{
  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node)
      || json_node_get_value_type (node) != G_TYPE_INT64)
    return FALSE;
  *value = json_node_get_int (node);
  return *value >= 0;
}

static gboolean
parse_metadata (WeightFileBuilder *b,
                JsonNode          *node,
                GError           **error)
{
  JsonObject *obj;
  GList *members;
  gboolean ok = TRUE;

  if (!JSON_NODE_HOLDS_OBJECT (node))
    return st_fail (b->path, error, CONVNET_ERROR_FORMAT,
                    "__metadata__ is not an object");
  obj = json_node_get_object (node);
  b->metadata = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                       g_free);
  members = json_object_get_members (obj);
  for (GList *l = members; l != NULL && ok; l = l->next)
    {
      JsonNode *v = json_object_get_member (obj, l->data);

      if (!JSON_NODE_HOLDS_VALUE (v)
          || json_node_get_value_type (v) != G_TYPE_STRING)
        ok = st_fail (b->path, error, CONVNET_ERROR_FORMAT,
                      "__metadata__ '%s' is not a string",
                      (const char *) l->data);
      else
        g_hash_table_insert (b->metadata, g_strdup (l->data),
                             g_strdup (json_node_get_string (v)));
    }
  g_list_free (members);
  return ok;
}

static gboolean
parse_record (WeightFileBuilder *b,
              const char        *name,
              JsonNode          *node,
              gsize              data_size,
              Record            *rec,
              GError           **error)
{
  JsonObject *obj;
  JsonArray *shape, *offsets;
  JsonNode *dtype_node;
  const char *dtype;
  guint64 numel, bytes;
  gint64 begin, end;
  int bad_dim;
  guint i;

  if (!JSON_NODE_HOLDS_OBJECT (node))
    return st_fail (b->path, error, CONVNET_ERROR_FORMAT,
                    "tensor '%s': its entry is not an object", name);
  obj = json_node_get_object (node);
  dtype_node = json_object_get_member (obj, "dtype");
  if (dtype_node == NULL || !JSON_NODE_HOLDS_VALUE (dtype_node)
      || json_node_get_value_type (dtype_node) != G_TYPE_STRING
      || !json_object_has_member (obj, "shape")
      || !JSON_NODE_HOLDS_ARRAY (json_object_get_member (obj, "shape"))
      || !json_object_has_member (obj, "data_offsets")
      || !JSON_NODE_HOLDS_ARRAY (json_object_get_member (obj,
                                                         "data_offsets")))
    return st_fail (b->path, error, CONVNET_ERROR_FORMAT,
                    "tensor '%s': needs a string dtype and arrays shape and "
                    "data_offsets", name);
  dtype = json_node_get_string (dtype_node);
  shape = json_object_get_array_member (obj, "shape");
  offsets = json_object_get_array_member (obj, "data_offsets");

  memset (rec, 0, sizeof *rec);
  rec->name = name;
  rec->entry.name = name;
  for (i = 0; i < G_N_ELEMENTS (all_dtypes); i++)
    if (strcmp (dtype, convnet_dtype_name (all_dtypes[i])) == 0)
      break;
  if (i == G_N_ELEMENTS (all_dtypes))
    return st_fail (b->path, error, CONVNET_ERROR_FORMAT,
                    "tensor '%s': unsupported dtype '%s'", name, dtype);
  rec->entry.dtype = all_dtypes[i];

  if (json_array_get_length (shape) > CONVNET_MAX_DIMS)
    return st_fail (b->path, error, CONVNET_ERROR_LIMIT,
                    "tensor '%s' has %u dimensions (at most %d are "
                    "supported)", name, json_array_get_length (shape),
                    CONVNET_MAX_DIMS);
  rec->entry.ndim = json_array_get_length (shape);
  for (i = 0; i < (guint) rec->entry.ndim; i++)
    if (!get_uint (json_array_get_element (shape, i),
                   &rec->entry.shape[i]))
      return st_fail (b->path, error, CONVNET_ERROR_FORMAT,
                      "tensor '%s': dimension %u of its shape is not a "
                      "non-negative integer", name, i);
  /* Row-major strides.  They can only overflow for an empty tensor,
   * whose strides nothing reads. */
  for (int d = rec->entry.ndim - 1; d >= 0; d--)
    {
      guint64 stride = 1;

      if (d < rec->entry.ndim - 1
          && (!g_uint64_checked_mul (&stride, rec->entry.strides[d + 1],
                                     rec->entry.shape[d + 1])
              || stride > G_MAXINT64))
        stride = 0;
      rec->entry.strides[d] = stride;
    }
  if (!formats_checked_numel (rec->entry.shape, rec->entry.ndim,
                              convnet_dtype_size (rec->entry.dtype),
                              &numel, &bad_dim))
    {
      char *s = formats_shape_string (rec->entry.shape, rec->entry.ndim);

      st_fail (b->path, error, CONVNET_ERROR_FORMAT,
               "tensor '%s': the size of shape %s overflows", name, s);
      g_free (s);
      return FALSE;
    }
  bytes = numel * convnet_dtype_size (rec->entry.dtype);

  if (json_array_get_length (offsets) != 2
      || !get_uint (json_array_get_element (offsets, 0), &begin)
      || !get_uint (json_array_get_element (offsets, 1), &end)
      || begin > end)
    return st_fail (b->path, error, CONVNET_ERROR_FORMAT,
                    "tensor '%s': data_offsets is not [begin, end] with "
                    "0 <= begin <= end", name);
  if ((guint64) end > data_size)
    return st_fail (b->path, error, CONVNET_ERROR_FORMAT,
                    "tensor '%s': data [%" G_GINT64_FORMAT ", %"
                    G_GINT64_FORMAT ") runs past the end of the data (%"
                    G_GSIZE_FORMAT " bytes)", name, begin, end, data_size);
  if ((guint64) (end - begin) != bytes)
    {
      char *s = formats_shape_string (rec->entry.shape, rec->entry.ndim);

      st_fail (b->path, error, CONVNET_ERROR_FORMAT,
               "tensor '%s': data [%" G_GINT64_FORMAT ", %" G_GINT64_FORMAT
               ") holds %" G_GINT64_FORMAT " bytes but shape %s of %s needs %"
               G_GUINT64_FORMAT, name, begin, end, end - begin, s, dtype,
               bytes);
      g_free (s);
      return FALSE;
    }
  rec->begin = begin;
  rec->end = end;
  return TRUE;
}

static int
compare_records (gconstpointer a,
                 gconstpointer b)
{
  const Record *ra = a, *rb = b;

  if (ra->begin != rb->begin)
    return ra->begin < rb->begin ? -1 : 1;
  if (ra->end != rb->end)
    return ra->end < rb->end ? -1 : 1;
  return strcmp (ra->name, rb->name);
}

static gboolean
load_header (WeightFileBuilder *b,
             JsonObject        *root,
             const guint8      *data,
             gsize              data_size,
             GError           **error)
{
  GList *members = json_object_get_members (root);
  GArray *records = g_array_new (FALSE, FALSE, sizeof (Record));
  const Record *prev = NULL;
  gboolean ok = TRUE;

  for (GList *l = members; l != NULL && ok; l = l->next)
    {
      JsonNode *node = json_object_get_member (root, l->data);
      Record rec;

      if (strcmp (l->data, "__metadata__") == 0)
        ok = parse_metadata (b, node, error);
      else if ((ok = parse_record (b, l->data, node, data_size, &rec, error)))
        g_array_append_val (records, rec);
    }

  /* In file order, so that overlaps are between neighbours. */
  if (ok)
    g_array_sort (records, compare_records);
  for (guint i = 0; ok && i < records->len; i++)
    {
      Record *rec = &g_array_index (records, Record, i);

      if (rec->begin == rec->end)
        ;
      else if (prev != NULL && rec->begin < prev->end)
        ok = st_fail (b->path, error, CONVNET_ERROR_FORMAT,
                      "tensor '%s': data [%" G_GUINT64_FORMAT ", %"
                      G_GUINT64_FORMAT ") overlaps tensor '%s' at [%"
                      G_GUINT64_FORMAT ", %" G_GUINT64_FORMAT ")", rec->name,
                      rec->begin, rec->end, prev->name, prev->begin,
                      prev->end);
      else
        prev = rec;
      rec->entry.data = data + rec->begin;
      if (ok)
        ok = weight_file_builder_add (b, &rec->entry, error);
    }
  g_array_unref (records);
  g_list_free (members);
  return ok;
}

gboolean
safetensors_load (WeightFileBuilder *b,
                  GError           **error)
{
  JsonParser *parser;
  JsonNode *root;
  GError *local = NULL;
  guint64 header_len = 0;
  gboolean ok;

  if (b->size < 8)
    return st_fail (b->path, error, CONVNET_ERROR_FORMAT,
                    "truncated: %" G_GSIZE_FORMAT " bytes, too short for "
                    "the header's length", b->size);
  for (int i = 7; i >= 0; i--)
    header_len = (header_len << 8) | b->data[i];
  if (header_len > SAFETENSORS_MAX_HEADER)
    return st_fail (b->path, error, CONVNET_ERROR_LIMIT,
                    "a header of %" G_GUINT64_FORMAT " bytes (at most %d "
                    "are accepted)", header_len, SAFETENSORS_MAX_HEADER);
  if (header_len > b->size - 8)
    return st_fail (b->path, error, CONVNET_ERROR_FORMAT,
                    "a header of %" G_GUINT64_FORMAT " bytes in a file of %"
                    G_GSIZE_FORMAT " (truncated?)", header_len, b->size);

  parser = json_parser_new ();
  if (memchr (b->data + 8, '\0', header_len) != NULL)
    ok = st_fail (b->path, error, CONVNET_ERROR_FORMAT,
                  "the header holds a NUL byte");
  else if (!json_parser_load_from_data (parser, (const char *) b->data + 8,
                                        header_len, &local))
    {
      ok = st_fail (b->path, error, CONVNET_ERROR_FORMAT,
                    "the header is not valid JSON: %s", local->message);
      g_error_free (local);
    }
  else if ((root = json_parser_get_root (parser)) == NULL
           || !JSON_NODE_HOLDS_OBJECT (root))
    ok = st_fail (b->path, error, CONVNET_ERROR_FORMAT,
                  "the header is not a JSON object");
  else
    ok = load_header (b, json_node_get_object (root),
                      b->data + 8 + header_len, b->size - 8 - header_len,
                      error);
  g_object_unref (parser);
  return ok;
}

/* -------------------------------------------------------------- write */

static gboolean
check_views (const char              *path,
             const ConvnetTensorView *tensors,
             guint                    n_tensors,
             guint64                 *sizes,
             GError                 **error)
{
  GHashTable *seen = g_hash_table_new (g_str_hash, g_str_equal);
  gboolean ok = TRUE;

  for (guint i = 0; ok && i < n_tensors; i++)
    {
      const ConvnetTensorView *t = &tensors[i];
      guint64 numel;
      int bad_dim;

      if (t->name == NULL || t->name[0] == '\0'
          || strcmp (t->name, "__metadata__") == 0
          || !g_utf8_validate (t->name, -1, NULL))
        ok = st_fail (path, error, CONVNET_ERROR_ARGUMENT,
                      "tensor %u has no usable name", i);
      else if (!g_hash_table_add (seen, (gpointer) t->name))
        ok = st_fail (path, error, CONVNET_ERROR_ARGUMENT,
                      "tensor '%s' is given twice", t->name);
      else if (t->ndim < 0 || t->ndim > CONVNET_MAX_DIMS)
        ok = st_fail (path, error, CONVNET_ERROR_ARGUMENT,
                      "tensor '%s' has %d dimensions", t->name, t->ndim);
      else if (!formats_checked_numel (t->shape, t->ndim, sizeof (float),
                                       &numel, &bad_dim))
        ok = st_fail (path, error, CONVNET_ERROR_ARGUMENT,
                      "tensor '%s' has a negative or overflowing shape",
                      t->name);
      else if (numel > 0 && t->data == NULL)
        ok = st_fail (path, error, CONVNET_ERROR_ARGUMENT,
                      "tensor '%s' has no data", t->name);
      else
        sizes[i] = numel * sizeof (float);
    }
  g_hash_table_unref (seen);
  return ok;
}

static char *
build_header (const ConvnetTensorView *tensors,
              guint                    n_tensors,
              const guint64           *sizes,
              GHashTable              *metadata,
              gsize                   *len)
{
  JsonBuilder *jb = json_builder_new ();
  JsonGenerator *gen;
  JsonNode *root;
  GString *header;
  guint64 offset = 0;
  char *text;

  json_builder_begin_object (jb);
  if (metadata != NULL && g_hash_table_size (metadata) > 0)
    {
      GList *keys = g_list_sort (g_hash_table_get_keys (metadata),
                                 (GCompareFunc) strcmp);

      json_builder_set_member_name (jb, "__metadata__");
      json_builder_begin_object (jb);
      for (GList *l = keys; l != NULL; l = l->next)
        {
          json_builder_set_member_name (jb, l->data);
          json_builder_add_string_value (jb, g_hash_table_lookup (metadata,
                                                                  l->data));
        }
      json_builder_end_object (jb);
      g_list_free (keys);
    }
  for (guint i = 0; i < n_tensors; i++)
    {
      json_builder_set_member_name (jb, tensors[i].name);
      json_builder_begin_object (jb);
      json_builder_set_member_name (jb, "dtype");
      json_builder_add_string_value (jb, "F32");
      json_builder_set_member_name (jb, "shape");
      json_builder_begin_array (jb);
      for (int d = 0; d < tensors[i].ndim; d++)
        json_builder_add_int_value (jb, tensors[i].shape[d]);
      json_builder_end_array (jb);
      json_builder_set_member_name (jb, "data_offsets");
      json_builder_begin_array (jb);
      json_builder_add_int_value (jb, offset);
      json_builder_add_int_value (jb, offset + sizes[i]);
      json_builder_end_array (jb);
      json_builder_end_object (jb);
      offset += sizes[i];
    }
  json_builder_end_object (jb);

  gen = json_generator_new ();
  root = json_builder_get_root (jb);
  json_generator_set_root (gen, root);
  json_node_unref (root);
  text = json_generator_to_data (gen, NULL);
  g_object_unref (gen);
  g_object_unref (jb);

  /* Spaces up to a multiple of 8 keep the data aligned for readers that
   * map the file. */
  header = g_string_new (text);
  g_free (text);
  while (header->len % 8 != 0)
    g_string_append_c (header, ' ');
  *len = header->len;
  return g_string_free (header, FALSE);
}

gboolean
convnet_safetensors_write (const char              *path,
                           const ConvnetTensorView *tensors,
                           guint                    n_tensors,
                           GHashTable              *metadata,
                           GError                 **error)
{
  AtomicFile file;
  guint64 *sizes;
  guint8 len_le[8];
  gsize header_len;
  char *header = NULL;
  gboolean ok;

  g_return_val_if_fail (path != NULL, FALSE);
  g_return_val_if_fail (tensors != NULL || n_tensors == 0, FALSE);

  if (metadata != NULL)
    {
      GHashTableIter iter;
      gpointer k, v;

      g_hash_table_iter_init (&iter, metadata);
      while (g_hash_table_iter_next (&iter, &k, &v))
        if (k == NULL || v == NULL || !g_utf8_validate (k, -1, NULL)
            || !g_utf8_validate (v, -1, NULL))
          return st_fail (path, error, CONVNET_ERROR_ARGUMENT,
                          "metadata keys and values must be UTF-8 strings");
    }
  sizes = g_new0 (guint64, MAX (n_tensors, 1));
  ok = check_views (path, tensors, n_tensors, sizes, error);
  if (ok)
    {
      header = build_header (tensors, n_tensors, sizes, metadata,
                             &header_len);
      for (int i = 0; i < 8; i++)
        len_le[i] = (guint8) ((guint64) header_len >> (8 * i));
      ok = atomic_file_open (&file, path, error);
    }
  if (ok)
    ok = atomic_file_write (&file, len_le, 8, error)
         && atomic_file_write (&file, header, header_len, error);
  for (guint i = 0; ok && i < n_tensors; i++)
    ok = atomic_file_write_f32 (&file, tensors[i].data,
                                sizes[i] / sizeof (float), error);
  if (ok)
    ok = atomic_file_commit (&file, error);
  g_free (header);
  g_free (sizes);
  return ok;
}
