/* test_util.c: fixture reading shared by the engine's test suites. */
#include "test_util.h"

#include <gio/gio.h>
#include <glib/gstdio.h>

float *
test_tensor_f32 (const ConvnetWeightFile *file, const char *key,
                 gsize *numel, const ConvnetTensorEntry **entry)
{
  const ConvnetTensorEntry *e = convnet_weight_file_lookup (file, key);
  GError *error = NULL;
  float *data;

  if (entry)
    *entry = e;
  if (!e)
    return NULL;
  *numel = convnet_tensor_entry_numel (e);
  data = g_new (float, MAX (*numel, 1));
  g_assert_true (convnet_tensor_entry_to_f32 (e, data, *numel, &error));
  g_assert_no_error (error);
  return data;
}

gpointer
test_read_gzip (const char *path, gsize size)
{
  GError *error = NULL;
  char *data;
  gsize length, got = 0;
  guint8 *out;
  GInputStream *raw, *in;
  GConverter *gunzip;

  g_file_get_contents (path, &data, &length, &error);
  g_assert_no_error (error);
  raw = g_memory_input_stream_new_from_data (data, length, g_free);
  gunzip = G_CONVERTER (g_zlib_decompressor_new (G_ZLIB_COMPRESSOR_FORMAT_GZIP));
  in = g_converter_input_stream_new (raw, gunzip);
  /* One byte more than expected catches a reference that is too long. */
  out = g_malloc (size + 1);
  g_input_stream_read_all (in, out, size + 1, &got, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (got, ==, size);
  g_object_unref (in);
  g_object_unref (gunzip);
  g_object_unref (raw);
  return out;
}

char *
test_make_folder (const char *prefix)
{
  GError *error = NULL;
  char *template = g_strconcat (prefix, "-XXXXXX", NULL);
  char *dir = g_dir_make_tmp (template, &error);

  g_assert_no_error (error);
  g_free (template);
  return dir;
}

guint
test_count_files (const char *dir)
{
  GDir *d = g_dir_open (dir, 0, NULL);
  guint n = 0;

  g_assert_nonnull (d);
  while (g_dir_read_name (d) != NULL)
    n++;
  g_dir_close (d);
  return n;
}

void
test_remove_folder (char *dir)
{
  GDir *d = g_dir_open (dir, 0, NULL);
  const char *name;

  while (d && (name = g_dir_read_name (d)) != NULL)
    {
      char *path = g_build_filename (dir, name, NULL);

      g_unlink (path);
      g_free (path);
    }
  if (d)
    g_dir_close (d);
  g_rmdir (dir);
  g_free (dir);
}
