/* test_formats.c: every fixture written by fixtures/generate_weights.py,
 * checked against the manifest it wrote: good files tensor by tensor and
 * value by value, malformed files by error code and message. */
#include <math.h>
#include <string.h>

#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#include "convnet.h"

static char *weights_dir;

static char *
fixture (const char *name)
{
  return g_build_filename (weights_dir, name, NULL);
}

static int
code_from_name (const char *name)
{
  static const char *names[] = {
    "IO", "FORMAT", "FORBIDDEN", "MISMATCH", "ARGUMENT", "LIMIT"
  };

  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    if (strcmp (names[i], name) == 0)
      return i;
  g_error ("unknown error code %s in the manifest", name);
  return -1;
}

/* Float bits equal, or both NaN (conversions need not keep payloads). */
static gboolean
same_float (guint32 a,
            guint32 b)
{
  gboolean a_nan = (a & 0x7f800000u) == 0x7f800000u && (a & 0x7fffffu);
  gboolean b_nan = (b & 0x7f800000u) == 0x7f800000u && (b & 0x7fffffu);

  return a == b || (a_nan && b_nan);
}

static void
check_values (const char *what,
              const float *values,
              gsize        n,
              JsonArray   *expected)
{
  g_assert_cmpuint (n, ==, json_array_get_length (expected));
  for (gsize i = 0; i < n; i++)
    {
      guint32 got, want = (guint32) json_array_get_int_element (expected, i);

      memcpy (&got, &values[i], 4);
      if (!same_float (got, want))
        {
          float w;

          memcpy (&w, &want, 4);
          g_test_fail_printf ("%s: element %" G_GSIZE_FORMAT " is %.9g "
                              "(0x%08x), expected %.9g (0x%08x)", what, i,
                              values[i], got, w, want);
          return;
        }
    }
}

static void
check_shape (const char *what,
             int          ndim,
             const int64_t *shape,
             JsonArray   *expected)
{
  g_assert_cmpint (ndim, ==, (int) json_array_get_length (expected));
  for (int d = 0; d < ndim; d++)
    if (shape[d] != json_array_get_int_element (expected, d))
      g_test_fail_printf ("%s: dimension %d is %" G_GINT64_FORMAT
                          ", expected %" G_GINT64_FORMAT, what, d,
                          (gint64) shape[d],
                          json_array_get_int_element (expected, d));
}

static void
check_metadata (ConvnetWeightFile *file,
                JsonObject        *item)
{
  JsonNode *node = json_object_get_member (item, "metadata");
  GHashTable *meta = convnet_weight_file_metadata (file);
  JsonObject *want;
  GList *members;

  if (node == NULL || JSON_NODE_HOLDS_NULL (node))
    {
      g_assert_null (meta);
      return;
    }
  want = json_node_get_object (node);
  g_assert_nonnull (meta);
  g_assert_cmpuint (g_hash_table_size (meta), ==, json_object_get_size (want));
  members = json_object_get_members (want);
  for (GList *l = members; l != NULL; l = l->next)
    g_assert_cmpstr (g_hash_table_lookup (meta, l->data), ==,
                     json_object_get_string_member (want, l->data));
  g_list_free (members);
}

static void
test_good (gconstpointer data)
{
  JsonObject *item = (JsonObject *) data;
  char *path = fixture (json_object_get_string_member (item, "file"));
  JsonArray *tensors = json_object_get_array_member (item, "tensors");
  GError *error = NULL;
  ConvnetWeightFile *file = convnet_weight_file_open (path, &error);

  g_assert_no_error (error);
  g_assert_nonnull (file);
  g_assert_cmpstr (convnet_weight_file_path (file), ==, path);
  g_assert_cmpuint (convnet_weight_file_n_tensors (file), ==,
                    json_array_get_length (tensors));
  for (guint i = 0; i < json_array_get_length (tensors); i++)
    {
      JsonObject *want = json_array_get_object_element (tensors, i);
      const char *name = json_object_get_string_member (want, "name");
      const ConvnetTensorEntry *entry = convnet_weight_file_tensor (file, i);
      char *what = g_strdup_printf ("%s: %s", path, name);
      gsize n;
      float *values;

      g_assert_nonnull (entry);
      g_assert_cmpstr (entry->name, ==, name);
      g_assert_true (convnet_weight_file_lookup (file, name) == entry);
      g_assert_cmpstr (convnet_dtype_name (entry->dtype), ==,
                       json_object_get_string_member (want, "dtype"));
      check_shape (what, entry->ndim, entry->shape,
                   json_object_get_array_member (want, "shape"));
      n = convnet_tensor_entry_numel (entry);
      values = g_new (float, MAX (n, 1));
      g_assert_true (convnet_tensor_entry_to_f32 (entry, values, n, &error));
      g_assert_no_error (error);
      check_values (what, values, n,
                    json_object_get_array_member (want, "bits"));
      g_free (values);
      g_free (what);
    }
  g_assert_null (convnet_weight_file_tensor (file,
                                             json_array_get_length (tensors)));
  g_assert_null (convnet_weight_file_lookup (file, "no.such.tensor"));
  check_metadata (file, item);
  convnet_weight_file_free (file);
  g_free (path);
}

static void
test_npy (gconstpointer data)
{
  JsonObject *item = (JsonObject *) data;
  char *path = fixture (json_object_get_string_member (item, "file"));
  JsonArray *shape = json_object_get_array_member (item, "shape");
  GError *error = NULL;
  int64_t dims[CONVNET_MAX_DIMS];
  float *values = NULL;
  gsize n = 1;
  int ndim = -1;

  g_assert_true (convnet_npy_read (path, &ndim, dims, &values, &error));
  g_assert_no_error (error);
  check_shape (path, ndim, dims, shape);
  for (int d = 0; d < ndim; d++)
    n *= dims[d];
  check_values (path, values, n, json_object_get_array_member (item, "bits"));
  g_free (values);
  g_free (path);
}

static void
test_bad (gconstpointer data)
{
  JsonObject *item = (JsonObject *) data;
  char *path = fixture (json_object_get_string_member (item, "file"));
  JsonArray *contains = json_object_get_array_member (item, "contains");
  GError *error = NULL;

  if (strcmp (json_object_get_string_member (item, "reader"), "npy") == 0)
    {
      int64_t dims[CONVNET_MAX_DIMS];
      float *values = NULL;
      int ndim;

      g_assert_false (convnet_npy_read (path, &ndim, dims, &values, &error));
      g_assert_null (values);
    }
  else
    g_assert_null (convnet_weight_file_open (path, &error));

  g_assert_nonnull (error);
  g_test_message ("%s", error->message);
  g_assert_error (error, CONVNET_ERROR,
                  code_from_name (json_object_get_string_member (item,
                                                                 "code")));
  if (strstr (error->message, path) == NULL)
    g_test_fail_printf ("the message '%s' does not name the file",
                        error->message);
  for (guint i = 0; i < json_array_get_length (contains); i++)
    {
      const char *word = json_array_get_string_element (contains, i);

      if (strstr (error->message, word) == NULL)
        g_test_fail_printf ("the message '%s' lacks '%s'", error->message,
                            word);
    }
  g_error_free (error);
  g_free (path);
}

static void
test_missing_file (void)
{
  char *path = fixture ("does-not-exist.pth");
  GError *error = NULL;
  int64_t dims[CONVNET_MAX_DIMS];
  float *values = NULL;
  int ndim;

  g_assert_null (convnet_weight_file_open (path, &error));
  g_assert_error (error, CONVNET_ERROR, CONVNET_ERROR_IO);
  g_assert_nonnull (strstr (error->message, path));
  g_clear_error (&error);
  g_assert_false (convnet_npy_read (path, &ndim, dims, &values, &error));
  g_assert_error (error, CONVNET_ERROR, CONVNET_ERROR_IO);
  g_clear_error (&error);
  g_free (path);

  g_assert_null (convnet_weight_file_open (weights_dir, &error));
  g_assert_error (error, CONVNET_ERROR, CONVNET_ERROR_IO);
  g_assert_nonnull (strstr (error->message, weights_dir));
  g_clear_error (&error);
}

/* Views keep pointing into the one storage torch saved, unconverted. */
static void
test_views_share_storage (void)
{
  const char *files[] = { "views.pth", "views_legacy.pth" };

  for (guint f = 0; f < G_N_ELEMENTS (files); f++)
    {
      char *path = fixture (files[f]);
      GError *error = NULL;
      ConvnetWeightFile *file = convnet_weight_file_open (path, &error);
      const ConvnetTensorEntry *base, *t, *slice, *element, *expanded;

      g_assert_no_error (error);
      base = convnet_weight_file_lookup (file, "base");
      t = convnet_weight_file_lookup (file, "transposed");
      slice = convnet_weight_file_lookup (file, "slice");
      element = convnet_weight_file_lookup (file, "element");
      expanded = convnet_weight_file_lookup (file, "expanded");
      g_assert_true (t->data == base->data);
      g_assert_cmpint (t->strides[0], ==, 1);
      g_assert_cmpint (t->strides[1], ==, 6);
      g_assert_true (slice->data == base->data + (1 * 6 + 2) * 4);
      g_assert_cmpint (element->ndim, ==, 0);
      g_assert_true (element->data == base->data + (3 * 6 + 4) * 4);
      g_assert_cmpint (expanded->strides[1], ==, 0);
      convnet_weight_file_free (file);
      g_free (path);
    }
}

static void
test_to_f32_count (void)
{
  char *path = fixture ("tiny_zip.pth");
  GError *error = NULL;
  ConvnetWeightFile *file = convnet_weight_file_open (path, &error);
  const ConvnetTensorEntry *bias;
  float values[8];

  g_assert_no_error (error);
  bias = convnet_weight_file_lookup (file, "conv.bias");
  g_assert_nonnull (bias);
  g_assert_cmpuint (convnet_tensor_entry_numel (bias), ==, 3);
  g_assert_false (convnet_tensor_entry_to_f32 (bias, values, 4, &error));
  g_assert_error (error, CONVNET_ERROR, CONVNET_ERROR_ARGUMENT);
  g_assert_nonnull (strstr (error->message, "conv.bias"));
  g_clear_error (&error);
  g_assert_cmpint (convnet_weight_file_lookup (file, "bn.num_batches_tracked")
                   ->ndim, ==, 0);
  convnet_weight_file_free (file);
  g_free (path);
}

/* Every half and bfloat16 value against a reference built from ldexp,
 * independent of the bit manipulation under test. */
static float
reference_float (guint bits,
                 int   exp_bits,
                 int   mant_bits)
{
  int bias = (1 << (exp_bits - 1)) - 1;
  guint exp = (bits >> mant_bits) & ((1u << exp_bits) - 1);
  guint mant = bits & ((1u << mant_bits) - 1);
  float sign = (bits >> (exp_bits + mant_bits)) ? -1.0f : 1.0f;

  if (exp == (1u << exp_bits) - 1)
    return mant != 0 ? NAN : sign * INFINITY;
  if (exp == 0)
    return sign * ldexpf ((float) mant, 1 - bias - mant_bits);
  return sign * ldexpf ((float) (mant | (1u << mant_bits)),
                        (int) exp - bias - mant_bits);
}

static void
test_half_exhaustive (void)
{
  guint16 *halves = g_new (guint16, 65536);
  float *out = g_new (float, 65536);
  ConvnetTensorEntry entry = { "all", CONVNET_DTYPE_F16, 1, { 65536 },
                               { 1 }, (const guint8 *) halves };

  for (guint i = 0; i < 65536; i++)
    halves[i] = GUINT16_TO_LE ((guint16) i);
  for (int pass = 0; pass < 2; pass++)
    {
      int exp_bits = pass == 0 ? 5 : 8, mant_bits = pass == 0 ? 10 : 7;

      entry.dtype = pass == 0 ? CONVNET_DTYPE_F16 : CONVNET_DTYPE_BF16;
      g_assert_true (convnet_tensor_entry_to_f32 (&entry, out, 65536, NULL));
      for (guint i = 0; i < 65536; i++)
        {
          float want = reference_float (i, exp_bits, mant_bits);

          if (isnan (want) ? !isnan (out[i])
              : memcmp (&want, &out[i], sizeof want) != 0)
            {
              g_test_fail_printf ("%s 0x%04x: got %g, expected %g",
                                  pass == 0 ? "half" : "bfloat16", i,
                                  out[i], want);
              break;
            }
        }
    }
  g_free (out);
  g_free (halves);
}

/* A hand-made strided entry of each dtype: a 3 x 2 transpose of a 2 x 3
 * row-major block that starts one element in.  (Little-endian host.) */
static void
test_strided_dtypes (void)
{
  static const double values[7] = { 99, 1, 2, 3, 4, 5, 6 };
  static const guint16 halves[7] = { 0x5630, 0x3c00, 0x4000, 0x4200,
                                     0x4400, 0x4500, 0x4600 };
  static const float want[6] = { 1, 4, 2, 5, 3, 6 };
  static const ConvnetDType dtypes[] = {
    CONVNET_DTYPE_F32, CONVNET_DTYPE_F16, CONVNET_DTYPE_BF16,
    CONVNET_DTYPE_F64, CONVNET_DTYPE_I64, CONVNET_DTYPE_I8
  };
  guint8 buf[7 * 8];
  float out[6];

  for (guint t = 0; t < G_N_ELEMENTS (dtypes); t++)
    {
      ConvnetTensorEntry entry = { "t", dtypes[t], 2, { 3, 2 }, { 1, 3 },
                                   NULL };
      gsize size = convnet_dtype_size (dtypes[t]);

      for (int i = 0; i < 7; i++)
        {
          float f = (float) values[i];
          gint64 l = (gint64) values[i];
          gint8 c = (gint8) values[i];
          guint32 bits;
          guint16 top;

          memcpy (&bits, &f, 4);
          top = (guint16) (bits >> 16);   /* exact for small integers */
          switch (dtypes[t])
            {
            case CONVNET_DTYPE_F32: memcpy (buf + 4 * i, &f, 4); break;
            case CONVNET_DTYPE_F16: memcpy (buf + 2 * i, &halves[i], 2); break;
            case CONVNET_DTYPE_BF16: memcpy (buf + 2 * i, &top, 2); break;
            case CONVNET_DTYPE_F64: memcpy (buf + 8 * i, &values[i], 8); break;
            case CONVNET_DTYPE_I64: memcpy (buf + 8 * i, &l, 8); break;
            default: memcpy (buf + i, &c, 1); break;
            }
        }
      entry.data = buf + size;
      g_assert_true (convnet_tensor_entry_to_f32 (&entry, out, 6, NULL));
      for (int i = 0; i < 6; i++)
        g_assert_cmpfloat (out[i], ==, want[i]);
    }
}

/* Hostile pickles too big to commit: built here, written to a temporary
 * file.  Each is the first pickle of a legacy file (0x80 0x02), which is
 * interpreted before its magic number can be checked. */
static void
check_pickle_limit (GByteArray *body,
                    const char *word)
{
  GError *error = NULL;
  char *dir = g_dir_make_tmp ("convnet-limits-XXXXXX", &error);
  char *path = g_build_filename (dir, "hostile.pth", NULL);

  g_byte_array_prepend (body, (const guint8 *) "\x80\x02", 2);
  g_byte_array_append (body, (const guint8 *) ".", 1);
  g_assert_true (g_file_set_contents (path, (const char *) body->data,
                                      body->len, &error));
  g_assert_null (convnet_weight_file_open (path, &error));
  g_assert_error (error, CONVNET_ERROR, CONVNET_ERROR_LIMIT);
  g_assert_nonnull (strstr (error->message, path));
  g_assert_nonnull (strstr (error->message, word));
  g_error_free (error);
  g_unlink (path);
  g_rmdir (dir);
  g_free (path);
  g_free (dir);
  g_byte_array_unref (body);
}

static void
test_pickle_limits (void)
{
  GByteArray *body;

  /* More values on the stack than any state_dict needs. */
  body = g_byte_array_new ();
  for (guint i = 0; i <= 1 << 20; i++)
    g_byte_array_append (body, (const guint8 *) "N", 1);
  check_pickle_limit (body, "on the stack");

  /* Values pushed and popped: the stack stays small, memory would not. */
  body = g_byte_array_new ();
  for (guint i = 0; i <= 1 << 22; i++)
    g_byte_array_append (body, (const guint8 *) "N0", 2);
  check_pickle_limit (body, "in all");

  /* Memo entries under distinct keys. */
  body = g_byte_array_new ();
  g_byte_array_append (body, (const guint8 *) "N", 1);
  for (guint i = 0; i <= 1 << 20; i++)
    {
      guint8 op[5] = { 'r', i & 0xff, (i >> 8) & 0xff, (i >> 16) & 0xff, 0 };

      g_byte_array_append (body, op, 5);
    }
  check_pickle_limit (body, "memo");
}

/* Adds one test per manifest item of SECTION, named after its file. */
static void
add_tests (JsonObject    *manifest,
           const char    *section,
           GTestDataFunc  func)
{
  JsonArray *items = json_object_get_array_member (manifest, section);

  /* a manifest that lost a section would pass with its tests gone */
  if (items == NULL || json_array_get_length (items) == 0)
    g_error ("the manifest has no '%s' fixtures", section);
  for (guint i = 0; i < json_array_get_length (items); i++)
    {
      JsonObject *item = json_array_get_object_element (items, i);
      char *name = g_strdup_printf ("/formats/%s/%s", section,
                                    json_object_get_string_member (item,
                                                                   "file"));

      g_test_add_data_func (name, item, func);
      g_free (name);
    }
}

int
main (int   argc,
      char *argv[])
{
  JsonParser *parser;
  GError *error = NULL;
  const char *dir = g_getenv ("CONVNET_FIXTURES");
  char *manifest;
  int status;

  g_test_init (&argc, &argv, NULL);
  weights_dir = dir != NULL ? g_build_filename (dir, "weights", NULL)
                            : g_test_build_filename (G_TEST_DIST, "fixtures",
                                                     "weights", NULL);
  manifest = fixture ("manifest.json");
  parser = json_parser_new ();
  if (!json_parser_load_from_file (parser, manifest, &error))
    g_error ("%s", error->message);

  add_tests (json_node_get_object (json_parser_get_root (parser)), "good",
             test_good);
  add_tests (json_node_get_object (json_parser_get_root (parser)), "npy",
             test_npy);
  add_tests (json_node_get_object (json_parser_get_root (parser)), "bad",
             test_bad);
  g_test_add_func ("/formats/missing-file", test_missing_file);
  g_test_add_func ("/formats/views-share-storage", test_views_share_storage);
  g_test_add_func ("/formats/to-f32-count", test_to_f32_count);
  g_test_add_func ("/formats/pickle-limits", test_pickle_limits);
  g_test_add_func ("/formats/half-exhaustive", test_half_exhaustive);
  g_test_add_func ("/formats/strided-dtypes", test_strided_dtypes);

  status = g_test_run ();
  g_object_unref (parser);
  g_free (manifest);
  g_free (weights_dir);
  return status;
}
