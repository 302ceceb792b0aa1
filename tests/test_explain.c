/* test_explain.c: what the plug-in shows, below GIMP: the ranking of
 * classes, the bilinear plane resize (against torch's interpolate), the
 * colour map, Grad-CAM maps and feature-map ranking on a real model, and
 * models by name with their error messages. */
#include "convnet.h"

#include <glib/gstdio.h>
#include <math.h>
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
  guint8 lo[3], hi[3], nan_rgb[3], below[3];

  convnet_colormap (0.0f, lo);
  convnet_colormap (1.0f, hi);
  convnet_colormap (NAN, nan_rgb);
  convnet_colormap (-3.0f, below);
  /* cold is blue, hot is red; out of range and NaN are clamped */
  g_assert_cmpuint (lo[2], >, lo[0]);
  g_assert_cmpuint (hi[0], >, hi[2]);
  g_assert_cmpmem (nan_rgb, 3, lo, 3);
  g_assert_cmpmem (below, 3, lo, 3);
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

static void
test_gradcam_and_feature_maps (void)
{
  ConvnetModel *m = fixture_lenet5 ();
  float input[28 * 28], *map = NULL, *maps = NULL, max = 0.0f;
  int klass = -1, h, w, *order = NULL;
  ConvnetShape shape;
  GError *error = NULL;

  for (int i = 0; i < 28 * 28; i++)
    input[i] = (float) ((i * 37) % 101) / 100.0f;
  g_assert_true (convnet_gradcam (m, input, NULL, &klass, &map, &h, &w,
                                  &error));
  g_assert_no_error (error);
  /* lenet5's default node is its second convolution's activation */
  g_assert_cmpint (h, ==, 10);
  g_assert_cmpint (w, ==, 10);
  g_assert_cmpint (klass, >=, 0);
  for (int i = 0; i < h * w; i++)
    {
      g_assert_cmpfloat (map[i], >=, 0.0f);
      max = fmaxf (max, map[i]);
    }
  g_assert_true (max == 1.0f || max == 0.0f);
  g_free (map);

  g_assert_false (convnet_gradcam (m, input, "10", &klass, &map, &h, &w,
                                   &error));
  g_assert_error (error, CONVNET_ERROR, CONVNET_ERROR_ARGUMENT);
  g_clear_error (&error);

  g_assert_true (convnet_feature_maps (m, input, "3", &maps, &shape, &order,
                                       &error));
  g_assert_cmpint (shape.c, ==, 16);
  for (int k = 1; k < shape.c; k++)
    {
      double a = 0, b = 0;
      for (int p = 0; p < 100; p++)
        {
          a += maps[order[k - 1] * 100 + p];
          b += maps[order[k] * 100 + p];
        }
      g_assert_cmpfloat (a, >=, b);
    }
  g_free (maps);
  g_free (order);
  convnet_model_free (m);
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
  g_test_add_func ("/explain/gradcam-and-feature-maps",
                   test_gradcam_and_feature_maps);
  g_test_add_func ("/explain/registry", test_registry);
  return g_test_run ();
}
