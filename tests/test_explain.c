/* test_explain.c: what the plug-in shows, below GIMP: the ranking of
 * classes, the bilinear plane resize (against torch's interpolate), the
 * colour map, Grad-CAM maps and feature maps against PyTorch's (committed
 * fixtures), and models by name with their error messages. */
#include "convnet.h"
#include "test_util.h"

#include <glib/gstdio.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static void
test_top_classes (void)
{
  const float logits[5] = { 1.0f, 3.0f, -2.0f, 3.0f, 0.5f };
  int indices[5];
  float probs[5];
  double sum = 0.0;

  for (int c = 0; c < 5; c++)
    sum += exp (logits[c]);
  g_assert_cmpint (convnet_top_classes (logits, 5, 9, indices, probs), ==, 5);
  /* ties keep class order */
  g_assert_cmpint (indices[0], ==, 1);
  g_assert_cmpint (indices[1], ==, 3);
  g_assert_cmpint (indices[2], ==, 0);
  g_assert_cmpint (indices[3], ==, 4);
  g_assert_cmpint (indices[4], ==, 2);
  for (int k = 0; k < 5; k++)
    g_assert_cmpfloat (fabs (probs[k] - exp (logits[indices[k]]) / sum), <,
                       1e-6);
  g_assert_cmpint (convnet_top_classes (logits, 5, 2, indices, probs), ==, 2);
}

static void
test_resize_plane_matches_torch (void)
{
  char *path = g_build_filename (g_getenv ("CONVNET_FIXTURES"), "training",
                                 "resize-plane.safetensors", NULL);
  GError *error = NULL;
  ConvnetWeightFile *f = convnet_weight_file_open (path, &error);
  guint checked = 0;

  g_assert_no_error (error);
  for (guint i = 0; i < convnet_weight_file_n_tensors (f); i++)
    {
      const ConvnetTensorEntry *out = convnet_weight_file_tensor (f, i);
      char **parts = g_strsplit (out->name, "-to-", 2);
      const ConvnetTensorEntry *in;
      float *src, *want, *got, *strip;
      gsize n_in, n_out;

      if (!parts[1])
        {
          g_strfreev (parts);
          continue;
        }
      in = convnet_weight_file_lookup (f, parts[0]);
      n_in = convnet_tensor_entry_numel (in);
      n_out = convnet_tensor_entry_numel (out);
      src = g_new (float, n_in);
      want = g_new (float, n_out);
      got = g_new (float, n_out);
      g_assert_true (convnet_tensor_entry_to_f32 (in, src, n_in, NULL));
      g_assert_true (convnet_tensor_entry_to_f32 (out, want, n_out, NULL));
      convnet_resize_plane (src, (int) in->shape[1], (int) in->shape[0], got,
                            (int) out->shape[1], (int) out->shape[0]);
      for (gsize k = 0; k < n_out; k++)
        g_assert_cmpfloat (fabsf (got[k] - want[k]), <=, 1e-6f);
      /* a strip from row 1 gives exactly the whole's rows from 1 */
      strip = g_new (float, n_out);
      convnet_resize_plane_rows (src, (int) in->shape[1], (int) in->shape[0],
                                 strip, (int) out->shape[1],
                                 (int) out->shape[0], 1,
                                 (int) out->shape[0] - 1);
      for (gsize k = 0; k + out->shape[1] < n_out; k++)
        g_assert_cmpfloat (strip[k], ==, got[k + out->shape[1]]);
      g_free (strip);
      g_free (src);
      g_free (want);
      g_free (got);
      g_strfreev (parts);
      checked++;
    }
  g_assert_cmpuint (checked, ==, 4);
  convnet_weight_file_free (f);
  g_free (path);
}

static void
test_colormap (void)
{
  guint8 lo[3], mid[3], hi[3], nan_rgb[3], below[3], above[3];

  convnet_colormap (0.0f, lo);
  convnet_colormap (0.5f, mid);
  convnet_colormap (1.0f, hi);
  convnet_colormap (NAN, nan_rgb);
  convnet_colormap (-3.0f, below);
  convnet_colormap (7.0f, above);
  /* cold is blue, the middle green, hot is red; out of range and NaN are
   * clamped */
  g_assert_cmpuint (lo[2], >, lo[0]);
  g_assert_cmpuint (mid[1], >, mid[0]);
  g_assert_cmpuint (mid[1], >, mid[2]);
  g_assert_cmpuint (hi[0], >, hi[2]);
  g_assert_cmpmem (nan_rgb, 3, lo, 3);
  g_assert_cmpmem (below, 3, lo, 3);
  g_assert_cmpmem (above, 3, hi, 3);
}

static ConvnetModel *
fixture_lenet5 (void)
{
  char *path = g_build_filename (g_getenv ("CONVNET_FIXTURES"), "models",
                                 "lenet5.pth", NULL);
  GError *error = NULL;
  ConvnetModel *m = convnet_model_load (path, "lenet5", 0, 0, &error);

  g_assert_no_error (error);
  g_free (path);
  return m;
}

static ConvnetWeightFile *
open_fixture (const char *name)
{
  char *path = g_build_filename (g_getenv ("CONVNET_FIXTURES"), "models",
                                 name, NULL);
  GError *error = NULL;
  ConvnetWeightFile *f = convnet_weight_file_open (path, &error);

  g_assert_no_error (error);
  g_free (path);
  return f;
}

/* The shipped lenet5-fashion, as generate_gradcam.py read it. */
static ConvnetModel *
fashion_lenet5 (const ConvnetWeightFile *fixture)
{
  char *path = g_build_filename (g_getenv ("CONVNET_DATA_DIR"),
                                 "lenet5-fashion.safetensors", NULL);
  const char *want = g_hash_table_lookup (
    convnet_weight_file_metadata (fixture), "weights_sha256");
  char *contents, *digest;
  gsize length;
  GError *error = NULL;
  ConvnetModel *m;

  g_assert_true (g_file_get_contents (path, &contents, &length, &error));
  digest = g_compute_checksum_for_data (G_CHECKSUM_SHA256,
                                        (const guchar *) contents, length);
  if (g_strcmp0 (digest, want) != 0)
    g_error ("%s has changed since lenet5-gradcam.safetensors was made: "
             "run tests/fixtures/generate_gradcam.py", path);
  m = convnet_model_load (path, NULL, 0, 0, &error);
  g_assert_no_error (error);
  g_free (digest);
  g_free (contents);
  g_free (path);
  return m;
}

/* Grad-CAM maps against PyTorch autograd's (generate_gradcam.py): the
 * trained lenet5-fashion on Fashion-MNIST images, both convolutional
 * nodes, the top class and others, and a map that is all zero. */
static void
test_gradcam_matches_torch (void)
{
  ConvnetWeightFile *f = open_fixture ("lenet5-gradcam.safetensors");
  ConvnetModel *m = fashion_lenet5 (f);
  gsize n_images;
  float *images = test_tensor_f32 (f, "images", &n_images, NULL);
  guint checked = 0, zero_maps = 0;

  for (guint t = 0; t < convnet_weight_file_n_tensors (f); t++)
    {
      const char *key = convnet_weight_file_tensor (f, t)->name;
      char **parts = g_strsplit (key, ".", -1);
      float *want, *want_class, *map = NULL, want_max = 0.0f;
      int klass, h, w;
      gsize n, n_class;
      GError *error = NULL;

      if (g_strv_length (parts) != 3)
        {
          g_strfreev (parts);
          continue;
        }
      want = test_tensor_f32 (f, key, &n, NULL);
      {
        char *class_key = g_strconcat (key, ".class", NULL);
        want_class = test_tensor_f32 (f, class_key, &n_class, NULL);
        g_free (class_key);
      }
      klass = atoi (parts[2]);
      g_assert_true (convnet_gradcam (m, images + atoi (parts[0]) * 28 * 28,
                                      parts[1], &klass, &map, &h, &w,
                                      &error));
      g_assert_no_error (error);
      g_assert_cmpint (klass, ==, (int) want_class[0]);
      g_assert_cmpint (h, ==, 10);
      g_assert_cmpint (w, ==, 10);
      g_assert_cmpuint (n, ==, 100);
      for (gsize p = 0; p < n; p++)
        {
          g_assert_cmpfloat (fabsf (map[p] - want[p]), <=, 1e-4f);
          want_max = fmaxf (want_max, want[p]);
        }
      zero_maps += want_max == 0.0f;
      g_free (map);
      g_free (want);
      g_free (want_class);
      g_strfreev (parts);
      checked++;
    }
  g_assert_cmpuint (checked, ==, 5);
  g_assert_cmpuint (zero_maps, ==, 1);
  g_free (images);
  convnet_model_free (m);
  convnet_weight_file_free (f);
}

static void
test_gradcam_errors (void)
{
  ConvnetModel *m = fixture_lenet5 ();
  float input[28 * 28] = { 0 }, *map = NULL;
  int klass, h, w;
  GError *error = NULL;
  const struct
  {
    const char *node;
    int         klass;
    const char *says;
  } bad[] = {
    { "10", -1, "node '10' has no spatial layout" },
    { "nope", -1, "no node named 'nope'" },
    { NULL, 10, "class 10: lenet5 has classes 0 to 9" },
    { NULL, -2, "class -2: lenet5 has classes 0 to 9" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      klass = bad[i].klass;
      g_assert_false (convnet_gradcam (m, input, bad[i].node, &klass, &map,
                                       &h, &w, &error));
      g_assert_error (error, CONVNET_ERROR, CONVNET_ERROR_ARGUMENT);
      g_assert_nonnull (strstr (error->message, bad[i].says));
      g_assert_null (map);
      g_clear_error (&error);
    }
  convnet_model_free (m);
}

/* A node's maps are PyTorch's activation (generate_models.py), channels
 * ranked by their mean there, most active first. */
static void
test_feature_maps_match_torch (void)
{
  ConvnetWeightFile *f = open_fixture ("lenet5-expected.safetensors");
  ConvnetModel *m = fixture_lenet5 ();
  gsize n_input, n_want;
  float *input = test_tensor_f32 (f, "28.input", &n_input, NULL);
  float *want = test_tensor_f32 (f, "28.act.3", &n_want, NULL);
  float *maps = NULL;
  double means[16];
  int *order = NULL;
  ConvnetShape shape;
  GError *error = NULL;

  /* the first sample of the fixture's batch */
  g_assert_true (convnet_feature_maps (m, input, "3", &maps, &shape, &order,
                                       &error));
  g_assert_no_error (error);
  g_assert_cmpint (shape.c, ==, 16);
  g_assert_cmpint (shape.h, ==, 10);
  g_assert_cmpint (shape.w, ==, 10);
  for (int c = 0; c < 16; c++)
    {
      means[c] = 0.0;
      for (int p = 0; p < 100; p++)
        {
          g_assert_cmpfloat (fabsf (maps[c * 100 + p] - want[c * 100 + p]),
                             <=, 1e-4f * fmaxf (1.0f, fabsf (want[c * 100 + p])));
          means[c] += want[c * 100 + p] / 100.0;
        }
    }
  for (int k = 0; k < 16; k++)
    {
      g_assert_cmpint (order[k], >=, 0);
      g_assert_cmpint (order[k], <, 16);
      for (int j = 0; j < k; j++)
        g_assert_cmpint (order[j], !=, order[k]);
      if (k > 0)
        g_assert_cmpfloat (means[order[k - 1]], >=, means[order[k]] - 1e-6);
    }
  g_free (maps);
  g_free (order);

  g_assert_false (convnet_feature_maps (m, input, "nope", &maps, &shape,
                                        &order, &error));
  g_assert_error (error, CONVNET_ERROR, CONVNET_ERROR_ARGUMENT);
  g_assert_nonnull (strstr (error->message, "'nope'"));
  g_clear_error (&error);
  g_free (input);
  g_free (want);
  convnet_model_free (m);
  convnet_weight_file_free (f);
}

static void
test_registry (void)
{
  GError *error = NULL;
  char *dir = g_dir_make_tmp ("convnet-registry-XXXXXX", &error);
  char *fixture = g_build_filename (g_getenv ("CONVNET_FIXTURES"), "models",
                                    "lenet5.pth", NULL);
  char *mine = g_build_filename (dir, "mine.safetensors", NULL);
  const char *folders[] = { dir, NULL };
  const char *arch;
  ConvnetModel *m = fixture_lenet5 ();
  char *path;
  GPtrArray *list;

  g_assert_true (convnet_model_save (m->graph, "lenet5",
                                     (const char *const *) m->labels,
                                     &m->preprocess, NULL, mine, &error));
  list = convnet_model_registry_list (folders, FALSE);
  g_assert_cmpuint (list->len, ==, 1);
  g_assert_cmpstr (((ConvnetModelEntry *) g_ptr_array_index (list, 0))->name,
                   ==, "mine");
  g_ptr_array_unref (list);
  list = convnet_model_registry_list (folders, TRUE);
  g_assert_cmpuint (list->len, ==, 1 + 15);
  g_ptr_array_unref (list);

  path = convnet_model_registry_resolve (folders, "mine", &arch, &error);
  g_assert_cmpstr (path, ==, mine);
  g_assert_null (arch);
  g_free (path);

  g_assert_null (convnet_model_registry_resolve (folders, "resnet50", &arch,
                                                 &error));
  g_assert_nonnull (strstr (error->message, "resnet50-0676ba61.pth"));
  g_assert_nonnull (strstr (error->message,
                            "https://download.pytorch.org/models/"));
  g_assert_nonnull (strstr (error->message, dir));
  g_assert_nonnull (strstr (error->message, "convnet fetch resnet50"));
  g_clear_error (&error);
  /* another release of the checkpoint stands in for the official one,
   * names that only look alike do not, and the official name wins */
  {
    const char *const others[] = { "resnet50-11ad3fa6.pth", "resnet50.pth",
                                   "resnet50-12.pth", "resnet50_x-12345678.pth",
                                   "resnet50-1234567z.pth" };
    char *official = g_build_filename (dir, "resnet50-0676ba61.pth", NULL);
    char *release = g_build_filename (dir, others[0], NULL);

    for (guint i = 0; i < G_N_ELEMENTS (others); i++)
      {
        char *p = g_build_filename (dir, others[i], NULL);
        g_assert_true (g_file_set_contents (p, "", 0, NULL));
        g_free (p);
      }
    path = convnet_model_registry_resolve (folders, "resnet50", &arch, &error);
    g_assert_no_error (error);
    g_assert_cmpstr (path, ==, release);
    g_assert_cmpstr (arch, ==, "resnet50");
    g_free (path);
    g_unlink (release);
    g_assert_null (convnet_model_registry_resolve (folders, "resnet50", &arch,
                                                   &error));
    g_clear_error (&error);
    g_assert_true (g_file_set_contents (release, "", 0, NULL));
    g_assert_true (g_file_set_contents (official, "", 0, NULL));
    path = convnet_model_registry_resolve (folders, "resnet50", &arch, &error);
    g_assert_cmpstr (path, ==, official);
    g_free (path);
    for (guint i = 0; i < G_N_ELEMENTS (others); i++)
      {
        char *p = g_build_filename (dir, others[i], NULL);
        g_unlink (p);
        g_free (p);
      }
    g_unlink (official);
    g_free (official);
    g_free (release);
  }

  g_assert_null (convnet_model_registry_resolve (folders, "nope", &arch,
                                                 &error));
  g_assert_nonnull (strstr (error->message, "mine"));
  g_clear_error (&error);
  g_assert_null (convnet_model_registry_resolve (folders, "../mine", &arch,
                                                 &error));
  g_assert_error (error, CONVNET_ERROR, CONVNET_ERROR_ARGUMENT);
  g_clear_error (&error);

  g_unlink (mine);
  g_rmdir (dir);
  convnet_model_free (m);
  g_free (mine);
  g_free (fixture);
  g_free (dir);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/explain/top-classes", test_top_classes);
  g_test_add_func ("/explain/resize-plane", test_resize_plane_matches_torch);
  g_test_add_func ("/explain/colormap", test_colormap);
  g_test_add_func ("/explain/gradcam-matches-torch",
                   test_gradcam_matches_torch);
  g_test_add_func ("/explain/gradcam-errors", test_gradcam_errors);
  g_test_add_func ("/explain/feature-maps-match-torch",
                   test_feature_maps_match_torch);
  g_test_add_func ("/explain/registry", test_registry);
  return g_test_run ();
}
