/* test_ops.c: every op kernel's forward against PyTorch's outputs for the
 * same inputs (tests/fixtures/ops, written by generate_ops.py); the
 * backward passes are test_ops_backward.c's. */
#include "convnet.h"
#include "ops/ops.h"
#include "test_util.h"

#include <json-glib/json-glib.h>
#include <math.h>
#include <string.h>

static ConvnetWeightFile *fixture;

typedef struct
{
  const char *name;
  JsonObject *settings;
} OpCase;

static void
op_case_free (gpointer data)
{
  OpCase *c = data;

  json_object_unref (c->settings);
  g_free (c);
}

static const ConvnetTensorEntry *
tensor (const char *case_name, const char *role)
{
  char *key = g_strdup_printf ("%s.%s", case_name, role);
  const ConvnetTensorEntry *e = convnet_weight_file_lookup (fixture, key);

  g_free (key);
  return e;
}

/* A fixture tensor as a fresh float array; NULL if absent. */
static float *
load (const char *case_name, const char *role, gsize *numel)
{
  char *key = g_strdup_printf ("%s.%s", case_name, role);
  float *data = test_tensor_f32 (fixture, key, numel, NULL);

  g_free (key);
  return data;
}

static int
dim (const char *case_name, const char *role, int d)
{
  const ConvnetTensorEntry *e = tensor (case_name, role);

  g_assert_nonnull (e);
  g_assert_cmpint (d, <, e->ndim);
  return (int) e->shape[d];
}

static int
setting (const OpCase *c, const char *key)
{
  return (int) json_object_get_int_member (c->settings, key);
}

static void
assert_close (const char *case_name, const float *got, const float *want,
              gsize n)
{
  double worst = 0.0;

  for (gsize i = 0; i < n; i++)
    {
      /* equal infinities and NaN against NaN match exactly */
      const gboolean same = got[i] == want[i]
                            || (isnan (got[i]) && isnan (want[i]));
      const double err = same ? 0.0 : fabs ((double) got[i] - want[i])
                                       / (1e-5 + 1e-4 * fabs (want[i]));
      if (!(err <= worst))
        worst = err;
      if (!(err <= 1.0))
        g_error ("%s: element %" G_GSIZE_FORMAT ": got %.7g, torch %.7g",
                 case_name, i, got[i], want[i]);
    }
  g_test_message ("%s: %" G_GSIZE_FORMAT " values, worst error %.3f of "
                  "the tolerance", case_name, n, worst);
}

static void
geometry_from (const OpCase *c, ConvGeometry *geo, int out_c, gboolean ceil)
{
  const int k = setting (c, "kernel"), s = setting (c, "stride");
  const int p = setting (c, "padding");
  const int d = json_object_has_member (c->settings, "dilation")
                ? setting (c, "dilation") : 1;

  *geo = (ConvGeometry) {
    .c_in = dim (c->name, "x", 1), .h_in = dim (c->name, "x", 2),
    .w_in = dim (c->name, "x", 3), .c_out = out_c, .kh = k, .kw = k,
    .sh = s, .sw = s, .ph = p, .pw = p, .dh = d, .dw = d,
    .groups = json_object_has_member (c->settings, "groups")
              ? setting (c, "groups") : 1
  };
  geo->h_out = window_output_size (geo->h_in, k, s, p, d, ceil);
  geo->w_out = window_output_size (geo->w_in, k, s, p, d, ceil);
  g_assert_cmpint (geo->h_out, ==, dim (c->name, "y", 2));
  g_assert_cmpint (geo->w_out, ==, dim (c->name, "y", 3));
}

static double
setting_double (const OpCase *c, const char *key)
{
  return json_object_get_double_member (c->settings, key);
}

/* Compares N floats of GOT with the fixture tensor ROLE. */
static void
check_role (const OpCase *c, const char *role, const float *got, gsize n)
{
  gsize nwant = 0;
  float *want = load (c->name, role, &nwant);
  char *label = g_strdup_printf ("%s.%s", c->name, role);

  g_assert_nonnull (want);
  g_assert_cmpuint (nwant, ==, n);
  assert_close (label, got, want, n);
  g_free (label);
  g_free (want);
}

/* Training-mode BatchNorm2d: the output, the saved statistics and the
 * updated running statistics. */
static void
test_batchnorm_train (const OpCase *c)
{
  gsize nx = 0, nc = 0;
  float *x = load (c->name, "x", &nx);
  float *w = load (c->name, "weight", &nc);
  float *b = load (c->name, "bias", &nc);
  float *mean = load (c->name, "running_mean", &nc);
  float *var = load (c->name, "running_var", &nc);
  float *y = g_new (float, nx);
  float *save_mean = g_new (float, nc);
  float *save_invstd = g_new (float, nc);

  batchnorm2d_forward_train (y, save_mean, save_invstd, x, w, b, mean, var,
                             setting_double (c, "momentum"),
                             setting_double (c, "eps"), dim (c->name, "x", 0),
                             nc, dim (c->name, "x", 2) * dim (c->name, "x", 3));
  check_role (c, "y", y, nx);
  check_role (c, "save_mean", save_mean, nc);
  check_role (c, "save_invstd", save_invstd, nc);
  check_role (c, "new_running_mean", mean, nc);
  check_role (c, "new_running_var", var, nc);
  g_free (x);
  g_free (w);
  g_free (b);
  g_free (mean);
  g_free (var);
  g_free (y);
  g_free (save_mean);
  g_free (save_invstd);
}

static void
test_cross_entropy (const OpCase *c)
{
  gsize nx = 0, nt = 0;
  float *x = load (c->name, "x", &nx);
  float *tf = load (c->name, "target", &nt);
  float *probs = g_new (float, nx);
  int *targets = g_new (int, nt);
  float loss;

  for (gsize i = 0; i < nt; i++)
    targets[i] = (int) tf[i];
  loss = softmax_cross_entropy_forward (probs, x, targets, nt,
                                        dim (c->name, "x", 1),
                                        setting_double (c, "label_smoothing"));
  check_role (c, "loss", &loss, 1);
  check_role (c, "probs", probs, nx);
  /* without PROBS the loss is the same */
  g_assert_cmpfloat (softmax_cross_entropy_forward (NULL, x, targets, nt,
                                                    dim (c->name, "x", 1),
                                                    setting_double (c, "label_smoothing")),
                     ==, loss);
  g_free (x);
  g_free (tf);
  g_free (probs);
  g_free (targets);
}

static void
test_op_case (gconstpointer data)
{
  const OpCase *c = data;
  const char *op = json_object_get_string_member (c->settings, "op");

  if (strcmp (op, "batchnorm2d_train") == 0)
    {
      test_batchnorm_train (c);
      return;
    }
  if (strcmp (op, "cross_entropy") == 0)
    {
      test_cross_entropy (c);
      return;
    }
  gsize nx = 0, ny = 0, nw = 0, nb = 0, n_other = 0;
  float *x = load (c->name, "x", &nx);
  float *want = load (c->name, "y", &ny);
  float *w = load (c->name, "weight", &nw);
  float *b = load (c->name, "bias", &nb);
  float *got = g_new0 (float, ny);
  const int batch = dim (c->name, "y", 0);

  if (strcmp (op, "conv2d") == 0)
    {
      ConvGeometry geo;
      float *scratch;
      geometry_from (c, &geo, setting (c, "out_channels"), FALSE);
      scratch = g_new (float, conv2d_scratch_floats (&geo) + 1);
      conv2d_forward (got, x, w, b, batch, &geo, scratch);
      g_free (scratch);
    }
  else if (strcmp (op, "maxpool2d") == 0 || strcmp (op, "avgpool2d") == 0)
    {
      ConvGeometry geo;
      const gboolean ceil = json_object_get_boolean_member (c->settings,
                                                            "ceil_mode");
      geometry_from (c, &geo, dim (c->name, "x", 1), ceil);
      if (op[0] == 'm')
        maxpool2d_forward (got, x, batch, &geo);
      else
        avgpool2d_forward (got, x, batch, &geo,
                           json_object_get_boolean_member (c->settings,
                                                           "count_include_pad"));
    }
  else if (strcmp (op, "adaptive_avgpool2d") == 0)
    adaptive_avgpool2d_forward (got, x, batch, dim (c->name, "x", 1),
                                dim (c->name, "x", 2), dim (c->name, "x", 3),
                                setting (c, "out_h"), setting (c, "out_w"));
  else if (strcmp (op, "batchnorm2d") == 0)
    {
      float *mean = load (c->name, "running_mean", &n_other);
      float *var = load (c->name, "running_var", &n_other);
      batchnorm2d_forward_inference (got, x, w, b, mean, var,
                                     json_object_get_double_member (c->settings, "eps"),
                                     batch, dim (c->name, "x", 1),
                                     dim (c->name, "x", 2) * dim (c->name, "x", 3));
      g_free (mean);
      g_free (var);
    }
  else if (strcmp (op, "relu") == 0)
    relu_forward (got, x, nx);
  else if (strcmp (op, "sigmoid") == 0)
    sigmoid_forward (got, x, nx);
  else if (strcmp (op, "tanh") == 0)
    tanh_forward (got, x, nx);
  else if (strcmp (op, "linear") == 0)
    linear_forward (got, x, w, b, batch, dim (c->name, "x", 1),
                    dim (c->name, "y", 1));
  else if (strcmp (op, "softmax") == 0)
    {
      const ConvnetTensorEntry *e = tensor (c->name, "x");
      const int hw = e->ndim == 4 ? (int) (e->shape[2] * e->shape[3]) : 1;
      softmax_forward (got, x, batch, dim (c->name, "x", 1), hw);
    }
  else if (strcmp (op, "lrn") == 0)
    lrn_forward (got, x, batch, dim (c->name, "x", 1),
                 dim (c->name, "x", 2) * dim (c->name, "x", 3),
                 setting (c, "size"),
                 json_object_get_double_member (c->settings, "alpha"),
                 json_object_get_double_member (c->settings, "beta"),
                 json_object_get_double_member (c->settings, "k"));
  else if (strcmp (op, "concat") == 0)
    {
      const int n = setting (c, "inputs");
      float *ins[CONVNET_MAX_DIMS];
      int channels[CONVNET_MAX_DIMS];
      for (int i = 0; i < n; i++)
        {
          char role[8];
          g_snprintf (role, sizeof role, "x%d", i);
          ins[i] = load (c->name, role, &n_other);
          channels[i] = dim (c->name, role, 1);
        }
      concat_forward (got, (const float *const *) ins, channels, n, batch,
                      dim (c->name, "y", 2) * dim (c->name, "y", 3));
      for (int i = 0; i < n; i++)
        g_free (ins[i]);
    }
  else if (strcmp (op, "add") == 0)
    {
      float *a = load (c->name, "x0", &n_other);
      float *bb = load (c->name, "x1", &n_other);
      add_forward (got, a, bb, ny);
      g_free (a);
      g_free (bb);
    }
  else if (strcmp (op, "channel_affine") == 0)
    {
      float *scale = load (c->name, "scale", &n_other);
      float *shift = load (c->name, "shift", &n_other);
      channel_affine_forward (got, x, scale, shift, batch,
                              dim (c->name, "x", 1),
                              dim (c->name, "x", 2) * dim (c->name, "x", 3));
      g_free (scale);
      g_free (shift);
    }
  else
    g_error ("%s: unknown op '%s' in the fixture", c->name, op);

  assert_close (c->name, got, want, ny);
  g_free (got);
  g_free (x);
  g_free (want);
  g_free (w);
  g_free (b);
}

/* A window that cannot fit gives no output instead of a negative size. */
static void
test_window_output_size (void)
{
  g_assert_cmpint (window_output_size (224, 7, 2, 3, 1, FALSE), ==, 112);
  g_assert_cmpint (window_output_size (112, 3, 2, 1, 1, FALSE), ==, 56);
  /* googlenet's ceil-mode pools: 112 -> 56, 56 -> 28, 14 -> 7 */
  g_assert_cmpint (window_output_size (112, 3, 2, 0, 1, TRUE), ==, 56);
  g_assert_cmpint (window_output_size (14, 2, 2, 0, 1, TRUE), ==, 7);
  /* the last ceil window may not start in the right padding */
  g_assert_cmpint (window_output_size (5, 2, 2, 1, 1, TRUE), ==, 3);
  g_assert_cmpint (window_output_size (2, 5, 1, 0, 1, FALSE), ==, 0);
  g_assert_cmpint (window_output_size (5, 3, 1, 0, 3, FALSE), ==, 0);
}

/* The mask is 0 or 1/(1-p), each element kept with probability 1 - p
 * independently; checked over 200,000 elements to 6 standard deviations,
 * a false alarm about once in 10^9 runs (and the seed is fixed). */
static void
test_dropout_statistics (void)
{
  const gsize n = 200001;  /* odd: the last element is the unpaired half */
  float *x = g_new (float, n), *out = g_new (float, n), *mask = g_new (float, n);
  const float ps[] = { 0.1f, 0.5f, 0.8f };

  for (gsize i = 0; i < n; i++)
    x[i] = 1.0f + (i % 7);
  for (guint k = 0; k < G_N_ELEMENTS (ps); k++)
    {
      const float p = ps[k], scale = 1.0f / (float) (1.0 - (double) p);
      ConvnetRng rng;
      gsize dropped = 0;
      double sigma;

      convnet_rng_seed (&rng, 42 + k);
      dropout_forward_train (out, mask, x, n, p, &rng);
      for (gsize i = 0; i < n; i++)
        {
          g_assert_true (mask[i] == 0.0f || mask[i] == scale);
          g_assert_cmpfloat (out[i], ==, x[i] * mask[i]);
          dropped += mask[i] == 0.0f;
        }
      sigma = sqrt (p * (1.0 - p) / n);
      g_test_message ("p = %.1f: dropped %.5f (sigma %.5f)", p,
                      (double) dropped / n, sigma);
      g_assert_cmpfloat (fabs ((double) dropped / n - p), <, 6 * sigma);
      /* neighbours (the two halves of one draw) are independent: the
       * fraction of pairs both dropped is p^2 */
      gsize both = 0;
      for (gsize i = 0; i + 1 < n; i += 2)
        both += mask[i] == 0.0f && mask[i + 1] == 0.0f;
      sigma = sqrt (p * p * (1.0 - p * p) / (n / 2));
      g_assert_cmpfloat (fabs ((double) both / (n / 2) - p * p), <, 6 * sigma);
    }
  g_free (x);
  g_free (out);
  g_free (mask);
}

static void
test_dropout_seeding (void)
{
  const gsize n = 1001;
  float *x = g_new (float, n), *a = g_new (float, n), *b = g_new (float, n);
  float *ma = g_new (float, n), *mb = g_new (float, n);
  ConvnetRng r1, r2;

  for (gsize i = 0; i < n; i++)
    x[i] = (float) i - 500.0f;
  /* the same seed, the same mask */
  convnet_rng_seed (&r1, 7);
  convnet_rng_seed (&r2, 7);
  dropout_forward_train (a, ma, x, n, 0.5f, &r1);
  dropout_forward_train (b, mb, x, n, 0.5f, &r2);
  g_assert_cmpmem (ma, n * sizeof (float), mb, n * sizeof (float));
  g_assert_cmpmem (a, n * sizeof (float), b, n * sizeof (float));
  /* the generator moved on: the next mask differs */
  dropout_forward_train (b, mb, x, n, 0.5f, &r2);
  g_assert_true (memcmp (ma, mb, n * sizeof (float)) != 0);
  /* in place, and without a mask, the output is the same */
  memcpy (b, x, n * sizeof (float));
  convnet_rng_seed (&r2, 7);
  dropout_forward_train (b, NULL, b, n, 0.5f, &r2);
  g_assert_cmpmem (a, n * sizeof (float), b, n * sizeof (float));
  /* p = 0 copies, p = 1 zeroes */
  dropout_forward_train (a, ma, x, n, 0.0f, &r1);
  g_assert_cmpmem (a, n * sizeof (float), x, n * sizeof (float));
  for (gsize i = 0; i < n; i++)
    g_assert_cmpfloat (ma[i], ==, 1.0f);
  dropout_forward_train (a, ma, x, n, 1.0f, &r1);
  for (gsize i = 0; i < n; i++)
    g_assert_true (a[i] == 0.0f && ma[i] == 0.0f);
  g_free (x);
  g_free (a);
  g_free (b);
  g_free (ma);
  g_free (mb);
}

/* torch's mask value for p, computed as the C code does. */
static void
test_dropout_scale_matches_torch (void)
{
  const char *names[] = { "dropout_p0.5", "dropout_p0.3" };
  const float ps[] = { 0.5f, 0.3f };

  for (int k = 0; k < 2; k++)
    {
      gsize n = 0;
      float *mask = load (names[k], "mask", &n);
      float mine[64], x[64];
      ConvnetRng rng;
      float kept = 0.0f;

      g_assert_nonnull (mask);
      for (gsize i = 0; i < n; i++)
        kept = MAX (kept, mask[i]);
      for (int i = 0; i < 64; i++)
        x[i] = 1.0f;
      convnet_rng_seed (&rng, 1);
      dropout_forward_train (x, mine, x, 64, ps[k], &rng);
      int n_kept = 0;
      for (int i = 0; i < 64; i++)
        if (mine[i] != 0.0f)
          {
            g_assert_cmpfloat (mine[i], ==, kept);
            n_kept++;
          }
      /* not vacuous: torch kept some, and so did we */
      g_assert_cmpfloat (kept, >, 1.0f);
      g_assert_cmpint (n_kept, >, 0);
      g_free (mask);
    }
}

/* Running statistics are optional, and do not change the output. */
static void
test_batchnorm_train_no_running (void)
{
  gsize nx = 0, nc = 0;
  float *x = load ("batchnorm_train", "x", &nx);
  float *w = load ("batchnorm_train", "weight", &nc);
  float *b = load ("batchnorm_train", "bias", &nc);
  float *rm = load ("batchnorm_train", "running_mean", &nc);
  float *rv = load ("batchnorm_train", "running_var", &nc);
  float *y1 = g_new (float, nx), *y2 = g_new (float, nx);
  float m1[8], s1[8], m2[8], s2[8];
  const int hw = dim ("batchnorm_train", "x", 2) * dim ("batchnorm_train", "x", 3);

  g_assert_cmpuint (nc, <=, 8);
  batchnorm2d_forward_train (y1, m1, s1, x, w, b, rm, rv, 0.1f, 1e-5f,
                             nx / (nc * hw), nc, hw);
  batchnorm2d_forward_train (y2, m2, s2, x, w, b, NULL, NULL, 0.1f, 1e-5f,
                             nx / (nc * hw), nc, hw);
  g_assert_cmpmem (y1, nx * sizeof (float), y2, nx * sizeof (float));
  g_assert_cmpmem (m1, nc * sizeof (float), m2, nc * sizeof (float));
  g_assert_cmpmem (s1, nc * sizeof (float), s2, nc * sizeof (float));
  /* and in place */
  memcpy (y2, x, nx * sizeof (float));
  batchnorm2d_forward_train (y2, m2, s2, y2, w, b, NULL, NULL, 0.1f, 1e-5f,
                             nx / (nc * hw), nc, hw);
  g_assert_cmpmem (y1, nx * sizeof (float), y2, nx * sizeof (float));
  g_free (x);
  g_free (w);
  g_free (b);
  g_free (rm);
  g_free (rv);
  g_free (y1);
  g_free (y2);
}

int
main (int argc, char **argv)
{
  GError *error = NULL;
  char *path;
  GHashTable *meta;
  GList *names;
  JsonParser *parser = json_parser_new ();

  g_test_init (&argc, &argv, NULL);
  path = g_build_filename (g_getenv ("CONVNET_FIXTURES"), "ops",
                           "ops.safetensors", NULL);
  fixture = convnet_weight_file_open (path, &error);
  g_assert_no_error (error);
  meta = convnet_weight_file_metadata (fixture);
  g_assert_nonnull (meta);
  g_assert_cmpuint (g_hash_table_size (meta), >=, 40);

  names = g_list_sort (g_hash_table_get_keys (meta), (GCompareFunc) strcmp);
  for (GList *l = names; l; l = l->next)
    {
      OpCase *c = g_new0 (OpCase, 1);
      char *test_path = g_strdup_printf ("/ops/%s", (char *) l->data);
      JsonParser *p = json_parser_new ();

      c->name = l->data;
      g_assert_true (json_parser_load_from_data (
        p, g_hash_table_lookup (meta, l->data), -1, &error));
      c->settings = json_object_ref (json_node_get_object (json_parser_get_root (p)));
      g_object_unref (p);
      /* torch's dropout mask is random: test_ops_backward checks those
       * cases' gradients with the recorded mask, and the dropout tests
       * below check the masks themselves */
      if (strcmp (json_object_get_string_member (c->settings, "op"),
                  "dropout") != 0)
        g_test_add_data_func_full (test_path, c, test_op_case,
                                   op_case_free);
      else
        op_case_free (c);
      g_free (test_path);
    }
  g_test_add_func ("/ops/window-output-size", test_window_output_size);
  g_test_add_func ("/ops/dropout/statistics", test_dropout_statistics);
  g_test_add_func ("/ops/dropout/seeding", test_dropout_seeding);
  g_test_add_func ("/ops/dropout/scale-matches-torch",
                   test_dropout_scale_matches_torch);
  g_test_add_func ("/ops/batchnorm-train/no-running-stats",
                   test_batchnorm_train_no_running);
  g_list_free (names);
  g_object_unref (parser);
  g_free (path);
  return g_test_run ();
}
