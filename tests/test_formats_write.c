/* test_formats_write.c: safetensors and npy written then read back, and
 * the promise of atomic writes: a failure leaves no file behind and an
 * existing file is replaced only whole. */
#include <math.h>
#include <string.h>

#include <glib.h>
#include <glib/gstdio.h>
#ifdef G_OS_UNIX
#include <signal.h>
#include <sys/resource.h>
#endif

#include "test_util.h"

static float *
pattern (gsize n,
         float scale)
{
  float *v = g_new (float, MAX (n, 1));

  for (gsize i = 0; i < n; i++)
    v[i] = scale * ((float) i - (float) n / 3.0f);
  return v;
}

static void
assert_same_floats (const float *a,
                    const float *b,
                    gsize        n)
{
  g_assert_true (n == 0 || memcmp (a, b, n * sizeof (float)) == 0);
}

static void
test_safetensors_roundtrip (void)
{
  char *dir = test_make_folder ("convnet-formats");
  char *path = g_build_filename (dir, "model.safetensors", NULL);
  float *big = pattern (2 * 3 * 4 * 5, 0.25f);
  float special[] = { 0.0f, -0.0f, INFINITY, -INFINITY, 1e-40f, 3.4e38f };
  float scalar = 42.0f;
  ConvnetTensorView views[] = {
    { "features.0.weight", 4, { 2, 3, 4, 5 }, big },
    { "quote\"d \xc3\xa9 name", 1, { 6 }, special },
    { "scalar", 0, { 0 }, &scalar },
    { "empty", 2, { 0, 7 }, NULL },
  };
  GHashTable *meta = g_hash_table_new (g_str_hash, g_str_equal);
  ConvnetWeightFile *file;
  GError *error = NULL;
  char *contents;
  gsize length;
  guint64 header_len = 0;

  g_hash_table_insert (meta, "format", "pt");
  g_hash_table_insert (meta, "arch", "resnet18 \"v1\"\n\xc3\xa9");
  g_assert_true (convnet_safetensors_write (path, views, G_N_ELEMENTS (views),
                                            meta, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (test_count_files (dir), ==, 1);

  /* The header is padded so the data starts 8-byte aligned. */
  g_assert_true (g_file_get_contents (path, &contents, &length, NULL));
  for (int i = 7; i >= 0; i--)
    header_len = (header_len << 8) | (guint8) contents[i];
  g_assert_cmpuint (header_len % 8, ==, 0);
  g_assert_cmpuint (length, ==, 8 + header_len + (120 + 6 + 1) * 4);
  g_free (contents);

  file = convnet_weight_file_open (path, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (convnet_weight_file_n_tensors (file), ==, 4);
  for (guint i = 0; i < G_N_ELEMENTS (views); i++)
    {
      const ConvnetTensorEntry *e = convnet_weight_file_tensor (file, i);
      gsize n = convnet_tensor_entry_numel (e);
      float *got = g_new (float, MAX (n, 1));

      /* Written in the order given, so read back in that order. */
      g_assert_cmpstr (e->name, ==, views[i].name);
      g_assert_true (e->dtype == CONVNET_DTYPE_F32);
      g_assert_cmpint (e->ndim, ==, views[i].ndim);
      for (int d = 0; d < e->ndim; d++)
        g_assert_cmpint (e->shape[d], ==, views[i].shape[d]);
      g_assert_true (convnet_tensor_entry_to_f32 (e, got, n, &error));
      assert_same_floats (got, views[i].data, n);
      g_free (got);
    }
  g_assert_cmpuint (g_hash_table_size (convnet_weight_file_metadata (file)),
                    ==, 2);
  g_assert_cmpstr (g_hash_table_lookup (convnet_weight_file_metadata (file),
                                        "arch"), ==,
                   "resnet18 \"v1\"\n\xc3\xa9");
  convnet_weight_file_free (file);

  /* No metadata: none is written, none is read. */
  g_assert_true (convnet_safetensors_write (path, views, 1, NULL, &error));
  file = convnet_weight_file_open (path, &error);
  g_assert_no_error (error);
  g_assert_null (convnet_weight_file_metadata (file));
  g_assert_cmpuint (convnet_weight_file_n_tensors (file), ==, 1);
  convnet_weight_file_free (file);

  g_hash_table_unref (meta);
  g_free (big);
  g_free (path);
  test_remove_folder (dir);
}

static void
test_safetensors_bad_arguments (void)
{
  char *dir = test_make_folder ("convnet-formats");
  char *path = g_build_filename (dir, "bad.safetensors", NULL);
  float v[4] = { 1, 2, 3, 4 };
  ConvnetTensorView cases[][2] = {
    { { "a", 1, { 4 }, v }, { "a", 1, { 4 }, v } },
    { { "a", 1, { 4 }, v }, { NULL, 1, { 4 }, v } },
    { { "a", 1, { 4 }, v }, { "__metadata__", 1, { 4 }, v } },
    { { "a", 1, { 4 }, v }, { "b", 9, { 1 }, v } },
    { { "a", 1, { 4 }, v }, { "b", 2, { -1, 4 }, v } },
    { { "a", 1, { 4 }, v }, { "b", 1, { 4 }, NULL } },
    { { "a", 1, { 4 }, v }, { "b", 3, { G_MAXINT64, G_MAXINT64, 2 }, v } },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      GError *error = NULL;

      g_assert_false (convnet_safetensors_write (path, cases[i], 2, NULL,
                                                 &error));
      g_assert_error (error, CONVNET_ERROR, CONVNET_ERROR_ARGUMENT);
      g_assert_nonnull (strstr (error->message, path));
      g_clear_error (&error);
      g_assert_cmpuint (test_count_files (dir), ==, 0);
    }
  g_free (path);
  test_remove_folder (dir);
}

static void
test_write_missing_dir (void)
{
  char *dir = test_make_folder ("convnet-formats");
  char *sub = g_build_filename (dir, "no-such-dir", NULL);
  char *path = g_build_filename (sub, "x.safetensors", NULL);
  float v[2] = { 1, 2 };
  ConvnetTensorView view = { "v", 1, { 2 }, v };
  int64_t shape[1] = { 2 };
  GError *error = NULL;

  g_assert_false (convnet_safetensors_write (path, &view, 1, NULL, &error));
  g_assert_error (error, CONVNET_ERROR, CONVNET_ERROR_IO);
  g_assert_nonnull (strstr (error->message, path));
  g_clear_error (&error);
  g_assert_false (convnet_npy_write (path, 1, shape, v, &error));
  g_assert_error (error, CONVNET_ERROR, CONVNET_ERROR_IO);
  g_clear_error (&error);
  g_assert_false (g_file_test (sub, G_FILE_TEST_EXISTS));
  g_assert_cmpuint (test_count_files (dir), ==, 0);
  g_free (path);
  g_free (sub);
  test_remove_folder (dir);
}

#ifdef G_OS_UNIX
/* Makes the next write fail part-way, as a full disk would. */
static void
limit_file_size (rlim_t limit,
                 struct rlimit *saved)
{
  struct rlimit rl;

  g_assert_cmpint (getrlimit (RLIMIT_FSIZE, saved), ==, 0);
  rl = *saved;
  rl.rlim_cur = limit;
  g_assert_cmpint (setrlimit (RLIMIT_FSIZE, &rl), ==, 0);
}
#endif

static void
test_replace_whole (void)
{
  char *dir = test_make_folder ("convnet-formats");
  char *path = g_build_filename (dir, "w.safetensors", NULL);
  char *npy = g_build_filename (dir, "w.npy", NULL);
  gsize n = 1 << 16;
  float *big = pattern (n, 0.5f), small[3] = { 7, 8, 9 };
  ConvnetTensorView first = { "first", 1, { 3 }, small };
  ConvnetTensorView second = { "second", 1, { (int64_t) n }, big };
  ConvnetTensorView broken[] = { { "x", 1, { 3 }, small },
                                 { "x", 1, { 3 }, small } };
  int64_t shape[1] = { (int64_t) n };
  ConvnetWeightFile *file;
  GError *error = NULL;
  char *before, *after;
  gsize before_len, after_len;

  g_assert_true (convnet_safetensors_write (path, &first, 1, NULL, &error));
  g_assert_true (convnet_safetensors_write (path, &second, 1, NULL, &error));
  g_assert_no_error (error);
  file = convnet_weight_file_open (path, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (convnet_weight_file_n_tensors (file), ==, 1);
  g_assert_nonnull (convnet_weight_file_lookup (file, "second"));
  convnet_weight_file_free (file);

  /* A write refused for its arguments leaves the old file alone. */
  g_assert_true (g_file_get_contents (path, &before, &before_len, NULL));
  g_assert_false (convnet_safetensors_write (path, broken, 2, NULL, &error));
  g_clear_error (&error);
  g_assert_true (g_file_get_contents (path, &after, &after_len, NULL));
  g_assert_true (before_len == after_len
                 && memcmp (before, after, before_len) == 0);
  g_free (after);

#ifdef G_OS_UNIX
  {
    struct rlimit saved;
    void (*old_handler) (int) = signal (SIGXFSZ, SIG_IGN);

    /* A write that fails half-way: the old file stays, whole. */
    limit_file_size (4096, &saved);
    g_assert_false (convnet_safetensors_write (path, &second, 1, NULL,
                                               &error));
    g_assert_error (error, CONVNET_ERROR, CONVNET_ERROR_IO);
    g_clear_error (&error);
    g_assert_false (convnet_npy_write (npy, 1, shape, big, &error));
    g_assert_error (error, CONVNET_ERROR, CONVNET_ERROR_IO);
    g_clear_error (&error);
    g_assert_cmpint (setrlimit (RLIMIT_FSIZE, &saved), ==, 0);
    signal (SIGXFSZ, old_handler);

    g_assert_true (g_file_get_contents (path, &after, &after_len, NULL));
    g_assert_true (before_len == after_len
                   && memcmp (before, after, before_len) == 0);
    g_free (after);
    g_assert_false (g_file_test (npy, G_FILE_TEST_EXISTS));
  }
#endif
  g_assert_cmpuint (test_count_files (dir), ==, 1);
  g_free (before);
  g_free (big);
  g_free (npy);
  g_free (path);
  test_remove_folder (dir);
}

static void
test_npy_roundtrip (void)
{
  static const int64_t shapes[][CONVNET_MAX_DIMS] = {
    { 0 }, { 5 }, { 2, 3, 4 }, { 1, 2, 1, 2, 1, 2, 1, 2 }, { 0, 3 }, { 64 },
  };
  static const int ndims[] = { 0, 1, 3, 8, 2, 1 };
  char *dir = test_make_folder ("convnet-formats");
  char *path = g_build_filename (dir, "a.npy", NULL);

  for (guint c = 0; c < G_N_ELEMENTS (ndims); c++)
    {
      int64_t shape[CONVNET_MAX_DIMS];
      gsize n = 1;
      float *data, *got = NULL;
      int ndim = -1;
      GError *error = NULL;
      char *contents;
      gsize length;

      for (int d = 0; d < ndims[c]; d++)
        n *= shapes[c][d];
      data = pattern (n, -1.5f);
      g_assert_true (convnet_npy_write (path, ndims[c], shapes[c], data,
                                        &error));
      g_assert_no_error (error);
      g_assert_true (g_file_get_contents (path, &contents, &length, NULL));
      g_assert_cmpuint ((length - n * 4) % 64, ==, 0);
      g_assert_true (memcmp (contents, "\x93NUMPY\x01\x00", 8) == 0);
      g_free (contents);

      g_assert_true (convnet_npy_read (path, &ndim, shape, &got, &error));
      g_assert_no_error (error);
      g_assert_cmpint (ndim, ==, ndims[c]);
      for (int d = 0; d < ndim; d++)
        g_assert_cmpint (shape[d], ==, shapes[c][d]);
      assert_same_floats (got, data, n);
      g_free (got);
      g_free (data);
    }
  g_assert_cmpuint (test_count_files (dir), ==, 1);
  g_free (path);
  test_remove_folder (dir);
}

static void
test_npy_bad_arguments (void)
{
  char *dir = test_make_folder ("convnet-formats");
  char *path = g_build_filename (dir, "a.npy", NULL);
  int64_t shape[2] = { 2, -1 };
  float v[2] = { 0, 0 };
  GError *error = NULL;

  g_assert_false (convnet_npy_write (path, 2, shape, v, &error));
  g_assert_error (error, CONVNET_ERROR, CONVNET_ERROR_ARGUMENT);
  g_clear_error (&error);
  g_assert_false (convnet_npy_write (path, 9, shape, v, &error));
  g_assert_error (error, CONVNET_ERROR, CONVNET_ERROR_ARGUMENT);
  g_clear_error (&error);
  shape[1] = 1;
  g_assert_false (convnet_npy_write (path, 2, shape, NULL, &error));
  g_assert_error (error, CONVNET_ERROR, CONVNET_ERROR_ARGUMENT);
  g_clear_error (&error);
  g_assert_cmpuint (test_count_files (dir), ==, 0);
  g_free (path);
  test_remove_folder (dir);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/formats/safetensors/roundtrip",
                   test_safetensors_roundtrip);
  g_test_add_func ("/formats/safetensors/bad-arguments",
                   test_safetensors_bad_arguments);
  g_test_add_func ("/formats/write/missing-dir", test_write_missing_dir);
  g_test_add_func ("/formats/write/replace-whole", test_replace_whole);
  g_test_add_func ("/formats/npy/roundtrip", test_npy_roundtrip);
  g_test_add_func ("/formats/npy/bad-arguments", test_npy_bad_arguments);
  return g_test_run ();
}
