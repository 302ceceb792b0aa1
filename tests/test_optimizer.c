/* test_optimizer.c: the optimizers and lr schedules against PyTorch 1.13
 * (tests/fixtures/optimizer, written by generate_optimizer.py), plus the
 * settings checks, the CLI grammar's errors and checkpointed state. */
#include "convnet.h"
#include "train/optimizer.h"

#include <json-glib/json-glib.h>
#include <math.h>
#include <string.h>

#define PARAM_TOLERANCE 1e-6
#define LR_TOLERANCE 1e-12

static ConvnetWeightFile *fixture;
static double worst_param[2];   /* [portable] over all cases */

typedef struct
{
  char       *name;    /* the case, without its "optimizer/" prefix */
  JsonObject *json;
} Case;

static void
case_free (gpointer data)
{
  Case *c = data;

  g_free (c->name);
  json_object_unref (c->json);
  g_free (c);
}

static float *
load (const char *case_name, const char *tensor, const char *role,
      gsize *numel)
{
  char *key = g_strdup_printf ("%s.%s.%s", case_name, tensor, role);
  const ConvnetTensorEntry *e = convnet_weight_file_lookup (fixture, key);
  GError *error = NULL;
  float *data;

  if (!e)
    g_error ("fixture tensor %s is missing", key);
  g_free (key);
  *numel = convnet_tensor_entry_numel (e);
  data = g_new (float, MAX (*numel, 1));
  g_assert_true (convnet_tensor_entry_to_f32 (e, data, *numel, &error));
  g_assert_no_error (error);
  return data;
}

static double
member_double (JsonObject *o, const char *key, double fallback)
{
  return json_object_has_member (o, key)
         ? json_object_get_double_member (o, key) : fallback;
}

/* Runs one case with the default or the portable kernels; returns the
 * worst relative difference over all steps and tensors from torch's
 * results with the kernels that round as ours do (fused multiply-adds
 * or not). */
static double
replay (const Case *c, gboolean portable)
{
  JsonArray *lrs = json_object_get_array_member (c->json, "lr");
  JsonArray *list = json_object_get_array_member (c->json, "tensors");
  const guint n_tensors = json_array_get_length (list);
  const guint n_steps = json_array_get_length (lrs);
  ConvnetOptimizerSettings settings;
  ConvnetOptimizerKind kind;
  ConvnetOptimizer *opt;
  GError *error = NULL;
  float **data = g_new0 (float *, n_tensors);
  float **grad = g_new0 (float *, n_tensors);
  gsize *numel = g_new0 (gsize, n_tensors);
  double worst = 0.0;
  gboolean fused;

  g_assert_true (convnet_optimizer_kind_from_string (
    json_object_get_string_member (c->json, "optimizer"), &kind, &error));
  g_assert_no_error (error);
  convnet_optimizer_defaults (&settings, kind);
  settings.lr = json_array_get_double_element (lrs, 0);
  settings.momentum = member_double (c->json, "momentum", settings.momentum);
  settings.dampening = member_double (c->json, "dampening",
                                      settings.dampening);
  settings.weight_decay = member_double (c->json, "weight_decay",
                                         settings.weight_decay);
  settings.beta1 = member_double (c->json, "beta1", settings.beta1);
  settings.beta2 = member_double (c->json, "beta2", settings.beta2);
  settings.eps = member_double (c->json, "eps", settings.eps);
  if (json_object_has_member (c->json, "nesterov"))
    settings.nesterov = json_object_get_boolean_member (c->json, "nesterov");

  opt = convnet_optimizer_new (&settings, &error);
  g_assert_no_error (error);
  convnet_optimizer_use_portable_kernels (opt, portable);
  for (guint t = 0; t < n_tensors; t++)
    {
      JsonObject *o = json_array_get_object_element (list, t);
      const gboolean decay = json_object_get_boolean_member (o, "decay");

      data[t] = load (c->name, json_object_get_string_member (o, "name"),
                      "init", &numel[t]);
      grad[t] = g_new (float, MAX (numel[t], 1));
      g_assert_cmpuint (convnet_optimizer_add (opt, data[t], grad[t],
                                               numel[t], decay), ==, t);
    }

  /* Torch's results from kernels that round as ours do. */
  fused = convnet_optimizer_kernels_fused (opt);
  for (guint k = 0; k < n_steps; k++)
    {
      char *role;

      for (guint t = 0; t < n_tensors; t++)
        {
          const char *tname = json_object_get_string_member (
            json_array_get_object_element (list, t), "name");
          gsize n;
          float *g;

          role = g_strdup_printf ("grad%u", k);
          g = load (c->name, tname, role, &n);
          g_assert_cmpuint (n, ==, numel[t]);
          memcpy (grad[t], g, n * sizeof (float));
          g_free (g);
          g_free (role);
        }
      convnet_optimizer_step (opt, json_array_get_double_element (lrs, k));

      for (guint t = 0; t < n_tensors; t++)
        {
          const char *tname = json_object_get_string_member (
            json_array_get_object_element (list, t), "name");
          gsize n;
          float *want;

          role = g_strdup_printf ("%s%u", fused ? "step" : "plain", k + 1);
          want = load (c->name, tname, role, &n);
          g_assert_cmpuint (n, ==, numel[t]);
          for (gsize i = 0; i < n; i++)
            {
              const double err = fabs ((double) data[t][i] - want[i])
                                 / fabs ((double) want[i]);
              if (!(err <= worst))
                worst = err;
              if (!(err <= PARAM_TOLERANCE))
                g_error ("%s (%s kernels, %s) step %u %s[%" G_GSIZE_FORMAT
                         "]: got %.9g, torch %.9g", c->name,
                         portable ? "portable" : "default",
                         fused ? "fused" : "unfused", k + 1, tname, i,
                         data[t][i], want[i]);
            }
          g_free (want);
          g_free (role);
          g_assert_cmpint (convnet_optimizer_steps (opt, t), ==, k + 1);
        }
    }

  convnet_optimizer_free (opt);
  for (guint t = 0; t < n_tensors; t++)
    {
      g_free (data[t]);
      g_free (grad[t]);
    }
  g_free (data);
  g_free (grad);
  g_free (numel);
  return worst;
}

static void
test_optimizer_case (gconstpointer user_data)
{
  const Case *c = user_data;

  for (int portable = 0; portable <= 1; portable++)
    {
      const double worst = replay (c, portable);

      g_test_message ("%s, %s kernels: worst relative difference from "
                      "torch %.3g", c->name,
                      portable ? "portable" : "default", worst);
      worst_param[portable] = MAX (worst_param[portable], worst);
    }
}

static void
test_schedule_case (gconstpointer user_data)
{
  const Case *c = user_data;
  const char *spec = json_object_get_string_member (c->json, "spec");
  JsonArray *lrs = json_object_get_array_member (c->json, "lr");
  const int epochs = (int) json_object_get_int_member (c->json, "epochs");
  ConvnetSchedule s;
  GError *error = NULL;
  double worst = 0.0;

  g_assert_true (convnet_schedule_parse (
    spec, json_object_get_double_member (c->json, "base_lr"), epochs, &s,
    &error));
  g_assert_no_error (error);
  g_assert_cmpuint (json_array_get_length (lrs), ==, epochs);
  for (int e = 0; e < epochs; e++)
    {
      const double want = json_array_get_double_element (lrs, e);
      const double got = convnet_schedule_lr (&s, e);
      const double err = fabs (got - want) / fabs (want);

      if (!(err <= worst))
        worst = err;
      if (!(err <= LR_TOLERANCE))
        g_error ("%s ('%s') epoch %d: got %.17g, torch %.17g", c->name,
                 spec, e, got, want);
    }
  g_test_message ("%s ('%s'): worst relative difference from torch %.3g",
                  c->name, spec, worst);
}

static void
test_schedule_bad_specs (void)
{
  static const char *const bad[] = {
    "", "linear", "cosine:", "cosine:0", "cosine:10:-1", "cosine:10:1:2",
    "cosine:x", "step", "step:", "step:0", "step:10:0", "step:10:abc",
    "step:10:0.1:3", "step:-3", "step:1e3", "step:10:nan", "step:10:inf",
    "constant:1", "warmup", "warmup:", "warmup:0", "warmup:2:0",
    "warmup:2:1.5", "warmup:2:0.1:3", "warmup:2+", "warmup:2+warmup:2",
    "cosine+step:3", "warmup:2+cosine+step:3", "warmup+cosine",
    "warmup:2+step:x", "Cosine:3:1e-3x", " cosine", "warmup:20+cosine"
  };
  ConvnetSchedule s;

  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      GError *error = NULL;

      /* 20 epochs: a bare cosine after 20 warmup epochs has none left. */
      if (convnet_schedule_parse (bad[i], 0.1, 20, &s, &error))
        g_error ("'%s' was accepted", bad[i]);
      g_assert_error (error, CONVNET_ERROR, CONVNET_ERROR_ARGUMENT);
      if (!strstr (error->message, bad[i]))
        g_error ("the error for '%s' does not quote it: %s", bad[i],
                 error->message);
      g_test_message ("'%s': %s", bad[i], error->message);
      g_error_free (error);
    }
}

static void
test_schedule_defaults (void)
{
  ConvnetSchedule s;
  GError *error = NULL;

  g_assert_true (convnet_schedule_parse ("step:30", 0.1, 0, &s, &error));
  g_assert_no_error (error);
  g_assert_cmpint (s.kind, ==, CONVNET_SCHEDULE_STEP);
  g_assert_cmpint (s.step_size, ==, 30);
  g_assert_cmpfloat (s.gamma, ==, 0.1);
  g_assert_cmpint (s.warmup, ==, 0);

  g_assert_true (convnet_schedule_parse ("warmup:5+cosine", 0.1, 90, &s,
                                         &error));
  g_assert_cmpint (s.kind, ==, CONVNET_SCHEDULE_COSINE);
  g_assert_cmpint (s.warmup, ==, 5);
  g_assert_cmpfloat (s.warmup_factor, ==, 1.0 / 3.0);
  g_assert_cmpint (s.t_max, ==, 85);
  g_assert_cmpfloat (s.eta_min, ==, 0.0);
  /* The last epoch is one short of t_max: not yet eta_min. */
  g_assert_cmpfloat (convnet_schedule_lr (&s, 89), >, 0.0);
  g_assert_cmpfloat (convnet_schedule_lr (&s, 90), ==, 0.0);

  /* A cosine without total needs its T_MAX spelled out. */
  g_assert_false (convnet_schedule_parse ("cosine", 0.1, 0, &s, &error));
  g_assert_error (error, CONVNET_ERROR, CONVNET_ERROR_ARGUMENT);
  g_clear_error (&error);
  g_assert_true (convnet_schedule_parse ("COSINE:7", 0.1, 0, &s, &error));
  g_assert_cmpint (s.t_max, ==, 7);

  g_assert_false (convnet_schedule_parse ("constant", -1.0, 10, &s, &error));
  g_assert_error (error, CONVNET_ERROR, CONVNET_ERROR_ARGUMENT);
  g_clear_error (&error);
  g_assert_false (convnet_schedule_parse ("constant", NAN, 10, &s, &error));
  g_assert_error (error, CONVNET_ERROR, CONVNET_ERROR_ARGUMENT);
  g_clear_error (&error);
}

static void
test_optimizer_strings (void)
{
  static const char *const bad[] = { "", "sgdm", "adam ", "adagrad", "rmsprop" };
  ConvnetOptimizerKind kind;
  GError *error = NULL;

  g_assert_true (convnet_optimizer_kind_from_string ("sgd", &kind, &error));
  g_assert_cmpint (kind, ==, CONVNET_OPTIMIZER_SGD);
  g_assert_true (convnet_optimizer_kind_from_string ("Adam", &kind, &error));
  g_assert_cmpint (kind, ==, CONVNET_OPTIMIZER_ADAM);
  g_assert_true (convnet_optimizer_kind_from_string ("adamw", &kind, &error));
  g_assert_cmpint (kind, ==, CONVNET_OPTIMIZER_ADAMW);
  g_assert_no_error (error);
  g_assert_cmpstr (convnet_optimizer_kind_name (kind), ==, "adamw");

  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_assert_false (convnet_optimizer_kind_from_string (bad[i], &kind,
                                                          &error));
      g_assert_error (error, CONVNET_ERROR, CONVNET_ERROR_ARGUMENT);
      g_assert_nonnull (strstr (error->message, bad[i]));
      g_clear_error (&error);
    }
}

static void
test_optimizer_settings (void)
{
  ConvnetOptimizerSettings s;
  ConvnetOptimizer *opt;
  GError *error = NULL;
  struct { ConvnetOptimizerKind kind; const char *field; double value; } bad[] = {
    { CONVNET_OPTIMIZER_SGD, "lr", -0.1 },
    { CONVNET_OPTIMIZER_SGD, "lr", NAN },
    { CONVNET_OPTIMIZER_SGD, "momentum", -0.5 },
    { CONVNET_OPTIMIZER_SGD, "weight_decay", -1e-4 },
    { CONVNET_OPTIMIZER_ADAM, "beta1", 1.0 },
    { CONVNET_OPTIMIZER_ADAM, "beta2", -0.1 },
    { CONVNET_OPTIMIZER_ADAMW, "eps", -1e-8 },
    { CONVNET_OPTIMIZER_ADAMW, "lr", INFINITY },
  };

  /* Torch's defaults. */
  convnet_optimizer_defaults (&s, CONVNET_OPTIMIZER_ADAM);
  g_assert_cmpfloat (s.lr, ==, 1e-3);
  g_assert_cmpfloat (s.beta1, ==, 0.9);
  g_assert_cmpfloat (s.beta2, ==, 0.999);
  g_assert_cmpfloat (s.eps, ==, 1e-8);
  g_assert_cmpfloat (s.weight_decay, ==, 0.0);
  convnet_optimizer_defaults (&s, CONVNET_OPTIMIZER_ADAMW);
  g_assert_cmpfloat (s.weight_decay, ==, 1e-2);
  convnet_optimizer_defaults (&s, CONVNET_OPTIMIZER_SGD);
  g_assert_cmpfloat (s.momentum, ==, 0.0);
  g_assert_cmpfloat (s.dampening, ==, 0.0);
  g_assert_false (s.nesterov);

  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      convnet_optimizer_defaults (&s, bad[i].kind);
      if (strcmp (bad[i].field, "lr") == 0)
        s.lr = bad[i].value;
      else if (strcmp (bad[i].field, "momentum") == 0)
        s.momentum = bad[i].value;
      else if (strcmp (bad[i].field, "weight_decay") == 0)
        s.weight_decay = bad[i].value;
      else if (strcmp (bad[i].field, "beta1") == 0)
        s.beta1 = bad[i].value;
      else if (strcmp (bad[i].field, "beta2") == 0)
        s.beta2 = bad[i].value;
      else
        s.eps = bad[i].value;
      opt = convnet_optimizer_new (&s, &error);
      g_assert_null (opt);
      g_assert_error (error, CONVNET_ERROR, CONVNET_ERROR_ARGUMENT);
      g_assert_nonnull (strstr (error->message, bad[i].field));
      g_clear_error (&error);
    }

  /* Nesterov needs momentum and no dampening, as in torch. */
  convnet_optimizer_defaults (&s, CONVNET_OPTIMIZER_SGD);
  s.nesterov = TRUE;
  g_assert_null (convnet_optimizer_new (&s, &error));
  g_assert_error (error, CONVNET_ERROR, CONVNET_ERROR_ARGUMENT);
  g_clear_error (&error);
  s.momentum = 0.9;
  s.dampening = 0.1;
  g_assert_null (convnet_optimizer_new (&s, &error));
  g_assert_error (error, CONVNET_ERROR, CONVNET_ERROR_ARGUMENT);
  g_clear_error (&error);
  s.dampening = 0.0;
  opt = convnet_optimizer_new (&s, &error);
  g_assert_no_error (error);
  g_assert_nonnull (opt);
  convnet_optimizer_free (opt);
}

/* Saving the state after some steps and restoring it into a fresh
 * optimizer continues the run bit for bit. */
static void
check_resume (ConvnetOptimizerKind kind, double momentum)
{
  enum { N = 203, STEPS = 6, SPLIT = 2 };
  ConvnetOptimizerSettings s;
  ConvnetOptimizer *a, *b = NULL;
  float pa[N], pb[N], grad[N], saved_p[N], saved_buf[2][N];
  gint64 saved_steps = 0;
  ConvnetRng rng;

  convnet_optimizer_defaults (&s, kind);
  s.momentum = momentum;
  s.weight_decay = 1e-3;
  convnet_rng_seed (&rng, 7);
  for (int i = 0; i < N; i++)
    pa[i] = (float) convnet_rng_normal (&rng);

  a = convnet_optimizer_new (&s, NULL);
  convnet_optimizer_add (a, pa, grad, N, TRUE);
  for (int k = 0; k < STEPS; k++)
    {
      for (int i = 0; i < N; i++)
        grad[i] = (float) convnet_rng_normal (&rng);
      if (k == SPLIT)
        {
          memcpy (saved_p, pa, sizeof pa);
          for (guint w = 0; w < 2; w++)
            if (convnet_optimizer_buffer (a, 0, w))
              memcpy (saved_buf[w], convnet_optimizer_buffer (a, 0, w),
                      sizeof saved_buf[w]);
          saved_steps = convnet_optimizer_steps (a, 0);
          g_assert_cmpint (saved_steps, ==, SPLIT);

          memcpy (pb, saved_p, sizeof pb);
          b = convnet_optimizer_new (&s, NULL);
          convnet_optimizer_add (b, pb, grad, N, TRUE);
          for (guint w = 0; w < 2; w++)
            if (convnet_optimizer_buffer (b, 0, w))
              memcpy (convnet_optimizer_buffer (b, 0, w), saved_buf[w],
                      sizeof saved_buf[w]);
          convnet_optimizer_set_steps (b, 0, saved_steps);
        }
      convnet_optimizer_step (a, 1e-2);
      if (k >= SPLIT)
        convnet_optimizer_step (b, 1e-2);
    }
  /* steps that changed nothing would resume "bit for bit" too */
  g_assert_true (memcmp (pa, saved_p, sizeof pa) != 0);
  g_assert_cmpmem (pa, sizeof pa, pb, sizeof pb);
  convnet_optimizer_free (a);
  convnet_optimizer_free (b);
}

static void
test_optimizer_resume (void)
{
  ConvnetOptimizerSettings s;
  ConvnetOptimizer *opt;
  float p[3] = { 1, 2, 3 }, g[3] = { 0 };

  /* (SGD without momentum keeps no state: nothing to resume) */
  check_resume (CONVNET_OPTIMIZER_SGD, 0.9);
  check_resume (CONVNET_OPTIMIZER_ADAM, 0.0);
  check_resume (CONVNET_OPTIMIZER_ADAMW, 0.0);

  /* Buffers exist exactly where torch keeps state. */
  convnet_optimizer_defaults (&s, CONVNET_OPTIMIZER_SGD);
  opt = convnet_optimizer_new (&s, NULL);
  convnet_optimizer_add (opt, p, g, 3, TRUE);
  g_assert_null (convnet_optimizer_buffer (opt, 0, 0));
  convnet_optimizer_free (opt);
  convnet_optimizer_defaults (&s, CONVNET_OPTIMIZER_ADAM);
  opt = convnet_optimizer_new (&s, NULL);
  convnet_optimizer_add (opt, p, g, 3, TRUE);
  g_assert_cmpuint (convnet_optimizer_n_tensors (opt), ==, 1);
  g_assert_nonnull (convnet_optimizer_buffer (opt, 0, 1));
  g_assert_null (convnet_optimizer_buffer (opt, 0, 2));
  convnet_optimizer_free (opt);
}

int
main (int argc, char **argv)
{
  GError *error = NULL;
  char *path;
  GHashTable *meta;
  GList *names;
  guint n_optimizers = 0, n_schedules = 0;
  int status;

  g_test_init (&argc, &argv, NULL);
  path = g_build_filename (g_getenv ("CONVNET_FIXTURES"), "optimizer",
                           "optimizer.safetensors", NULL);
  fixture = convnet_weight_file_open (path, &error);
  g_assert_no_error (error);
  meta = convnet_weight_file_metadata (fixture);
  g_assert_nonnull (meta);

  names = g_list_sort (g_hash_table_get_keys (meta), (GCompareFunc) strcmp);
  for (GList *l = names; l; l = l->next)
    {
      const char *key = l->data;
      const gboolean is_opt = g_str_has_prefix (key, "optimizer/");
      Case *c = g_new0 (Case, 1);
      JsonParser *p = json_parser_new ();
      char *test_path;

      g_assert_true (is_opt || g_str_has_prefix (key, "schedule/"));
      c->name = g_strdup (strchr (key, '/') + 1);
      g_assert_true (json_parser_load_from_data (
        p, g_hash_table_lookup (meta, key), -1, &error));
      g_assert_no_error (error);
      c->json = json_object_ref (json_node_get_object (json_parser_get_root (p)));
      g_object_unref (p);
      test_path = g_strdup_printf ("/%s", key);
      g_test_add_data_func_full (test_path, c,
                                 is_opt ? test_optimizer_case
                                        : test_schedule_case,
                                 case_free);
      g_free (test_path);
      if (is_opt)
        n_optimizers++;
      else
        n_schedules++;
    }
  g_list_free (names);
  g_assert_cmpuint (n_optimizers, >=, 10);
  g_assert_cmpuint (n_schedules, >=, 8);

  g_test_add_func ("/optimizer-api/strings", test_optimizer_strings);
  g_test_add_func ("/optimizer-api/settings", test_optimizer_settings);
  g_test_add_func ("/optimizer-api/resume", test_optimizer_resume);
  g_test_add_func ("/schedule-api/bad-specs", test_schedule_bad_specs);
  g_test_add_func ("/schedule-api/defaults", test_schedule_defaults);
  g_free (path);
  status = g_test_run ();
  /* a TAP comment, not a test: it cannot fail */
  g_print ("# worst relative parameter difference from torch over all "
           "optimizer cases: %.3g (default kernels), %.3g (portable "
           "kernels)\n", worst_param[0], worst_param[1]);
  convnet_weight_file_free (fixture);
  return status;
}
