/* test_ops_backward.c: every op's backward pass, three ways.
 *
 *  /ops-backward/<case>: against PyTorch autograd on the fixture cases
 *    (tests/fixtures/ops, generate_ops.py), together with the accumulation
 *    contract: a second call adds the same gradients again, and each
 *    gradient computed alone (the others NULL) is the same.
 *  /ops-backward/fd/<case>: against central finite differences of
 *    L = sum (r * f) on small shapes, for every input and parameter.
 * (The dropout mask's statistics and seeding are test_ops.c's.) */
#include "convnet.h"
#include "op_case.h"
#include "test_util.h"

#include <json-glib/json-glib.h>
#include <math.h>
#include <string.h>

static ConvnetWeightFile *fixture;

/* ------------------------------------------------------ against torch */

static const ConvnetTensorEntry *
entry (const char *case_name, const char *role)
{
  char *key = g_strdup_printf ("%s.%s", case_name, role);
  const ConvnetTensorEntry *e = convnet_weight_file_lookup (fixture, key);

  g_free (key);
  return e;
}

/* A fixture tensor as a fresh float array of *NUMEL; NULL if absent. */
static float *
load (const char *case_name, const char *role, gsize *numel)
{
  char *key = g_strdup_printf ("%s.%s", case_name, role);
  float *data = test_tensor_f32 (fixture, key, numel, NULL);

  g_free (key);
  return data;
}

static void
load_into (const char *case_name, const char *role, float *dst, gsize n)
{
  gsize numel = 0;
  float *data = load (case_name, role, &numel);

  g_assert_nonnull (data);
  g_assert_cmpuint (numel, ==, n);
  memcpy (dst, data, sizeof (float) * n);
  g_free (data);
}

/* |got - factor * want| <= 1e-5 + 1e-4 |factor * want| everywhere, the
 * forward test's tolerance. */
static void
assert_close (const char *label, const float *got, const float *want,
              gsize n, float factor)
{
  double worst = 0.0, worst_rel = 0.0;

  for (gsize i = 0; i < n; i++)
    {
      const double w = (double) factor * want[i];
      const double diff = fabs (got[i] - w);
      const double err = diff / (1e-5 + 1e-4 * fabs (w));

      if (!(err <= worst))
        worst = err;
      if (fabs (w) > 1e-3 && diff / fabs (w) > worst_rel)
        worst_rel = diff / fabs (w);
      if (!(err <= 1.0))
        g_error ("%s: element %" G_GSIZE_FORMAT ": got %.8g, torch %.8g",
                 label, i, got[i], w);
    }
  g_test_message ("%s: %" G_GSIZE_FORMAT " values, worst error %.4f of the "
                  "tolerance, worst relative error %.2e (|torch| > 1e-3)",
                  label, n, worst, worst_rel);
}

static Op *
op_from_fixture (const char *name, const char *json)
{
  Op *op = op_new (name, json);
  const ConvnetTensorEntry *x, *y;

  /* what the fixture's tensors say about the shapes */
  x = entry (name, "x") ? entry (name, "x") : entry (name, "x0");
  y = entry (name, "y");
  g_assert_nonnull (x);
  op->n = (int) x->shape[0];
  op->c = (int) x->shape[1];
  op->h = x->ndim == 4 ? (int) x->shape[2] : 1;
  op->w = x->ndim == 4 ? (int) x->shape[3] : 1;
  json_object_set_boolean_member (op->settings, "bias",
                                  entry (name, "bias") != NULL);
  if (y && y->ndim == 2)
    json_object_set_int_member (op->settings, "out_features", y->shape[1]);
  if (entry (name, "x0"))
    {
      JsonArray *a = json_array_new ();
      char role[8];
      for (int i = 0; g_snprintf (role, sizeof role, "x%d", i), entry (name, role); i++)
        json_array_add_int_element (a, entry (name, role)->shape[1]);
      json_object_set_array_member (op->settings, "channels", a);
    }
  op_layout (op);
  if (y)
    g_assert_cmpuint (convnet_tensor_entry_numel (y), ==, op->n_out);

  for (int i = 0; i < op->n_t; i++)
    load_into (name, op->role[i], op->t[i], op->len[i]);
  if (op->kind == K_BN || op->kind == K_BN_TRAIN)
    {
      load_into (name, "running_mean", op->consts[0], op->c);
      load_into (name, "running_var", op->consts[1], op->c);
    }
  if (op->kind == K_AFFINE)
    {
      load_into (name, "scale", op->consts[0], op->c);
      load_into (name, "shift", op->consts[1], op->c);
    }
  if (op->kind == K_CE)
    {
      float *tf = g_new (float, op->n);
      load_into (name, "target", tf, op->n);
      for (int i = 0; i < op->n; i++)
        op->targets[i] = (int) tf[i];
      g_free (tf);
    }
  if (op->kind == K_DROPOUT)
    {
      load_into (name, "mask", op->mask, op->len[0]);
      op->mask_given = TRUE;
    }
  return op;
}


static void
test_fixture_case (gconstpointer data)
{
  const char *const *c = data;
  Op *op = op_from_fixture (c[0], c[1]);
  gsize ndy = 1;
  float one = 1.0f;
  float *dy = op->kind == K_CE ? &one : load (op->name, "dy", &ndy);
  float *want[MAX_T] = { NULL };
  float **g = new_grads (op);

  g_assert_nonnull (dy);
  g_assert_cmpuint (ndy, ==, op->n_out);
  for (int i = 0; i < op->n_t; i++)
    {
      char role[12];
      gsize n = 0;
      g_snprintf (role, sizeof role, "d%s", op->role[i]);
      want[i] = load (op->name, role, &n);
      g_assert_nonnull (want[i]);
      g_assert_cmpuint (n, ==, op->len[i]);
    }

  /* once into zeroed gradients, then again: twice the gradients */
  for (int pass = 1; pass <= 2; pass++)
    {
      op_backward (op, dy, g);
      for (int i = 0; i < op->n_t; i++)
        {
          char *label = g_strdup_printf ("%s.d%s%s", op->name, op->role[i],
                                         pass == 2 ? " (accumulated twice)" : "");
          assert_close (label, g[i], want[i], op->len[i], pass);
          g_free (label);
        }
    }

  /* none at all (i = -1), then each gradient alone, the others skipped */
  for (int i = -1; i < op->n_t; i++)
    {
      float *only[MAX_T] = { NULL };
      if (i < 0)
        {
          op_backward (op, dy, only);
          continue;
        }
      char *label = g_strdup_printf ("%s.d%s (alone)", op->name, op->role[i]);
      only[i] = g_new0 (float, op->len[i]);
      op_backward (op, dy, only);
      assert_close (label, only[i], want[i], op->len[i], 1.0f);
      g_free (only[i]);
      g_free (label);
    }

  for (int i = 0; i < op->n_t; i++)
    g_free (want[i]);
  if (dy != &one)
    g_free (dy);
  free_grads (g);
  op_free (op);
}

/* ---------------------------------------------------- finite differences */

/* The small configurations checked by finite differences; the settings
 * are the fixture's, plus "shape" (of the first input) and what a
 * fixture's tensors would tell ("bias", "out_features", "channels"). */
static const char *const fd_cases[][2] = {
  { "conv_3x3_p1_bias", "{'op':'conv2d','shape':[2,3,5,6],'out_channels':4,"
    "'kernel':3,'padding':1,'bias':true}" },
  { "conv_3x3_s2_p2_d2_groups2", "{'op':'conv2d','shape':[1,4,9,8],"
    "'out_channels':6,'kernel':3,'stride':2,'padding':2,'dilation':2,"
    "'groups':2}" },
  { "conv_depthwise_bias", "{'op':'conv2d','shape':[1,3,6,5],"
    "'out_channels':3,'kernel':3,'padding':1,'groups':3,'bias':true}" },
  { "conv_1x1_bias", "{'op':'conv2d','shape':[2,5,3,4],'out_channels':3,"
    "'kernel':1,'bias':true}" },
  { "conv_1x1_s2", "{'op':'conv2d','shape':[1,4,5,5],'out_channels':2,"
    "'kernel':1,'stride':2}" },
  { "conv_5x5_bias", "{'op':'conv2d','shape':[2,1,8,7],'out_channels':3,"
    "'kernel':5,'bias':true}" },
  { "maxpool_3x3_s2_p1_ceil", "{'op':'maxpool2d','shape':[1,2,7,8],"
    "'kernel':3,'stride':2,'padding':1,'ceil_mode':true}" },
  { "maxpool_2x2_s2", "{'op':'maxpool2d','shape':[2,2,6,6],'kernel':2,"
    "'stride':2}" },
  { "maxpool_3x3_s1_p1_d2", "{'op':'maxpool2d','shape':[1,2,7,6],"
    "'kernel':3,'padding':1,'dilation':2}" },
  { "avgpool_3x3_s2_p1_ceil_excl", "{'op':'avgpool2d','shape':[1,2,7,8],"
    "'kernel':3,'stride':2,'padding':1,'ceil_mode':true,"
    "'count_include_pad':false}" },
  { "avgpool_3x3_s2_p1_ceil_incl", "{'op':'avgpool2d','shape':[1,2,7,8],"
    "'kernel':3,'stride':2,'padding':1,'ceil_mode':true,"
    "'count_include_pad':true}" },
  { "adaptive_7x5_to_3x2", "{'op':'adaptive_avgpool2d','shape':[1,2,7,5],"
    "'out_h':3,'out_w':2}" },
  { "adaptive_3_to_4", "{'op':'adaptive_avgpool2d','shape':[1,2,3,3],"
    "'out_h':4,'out_w':4}" },
  { "batchnorm_inference", "{'op':'batchnorm2d','shape':[2,3,3,4],"
    "'eps':1e-5}" },
  { "batchnorm_train", "{'op':'batchnorm2d_train','shape':[2,3,3,4],"
    "'eps':1e-5}" },
  { "batchnorm_train_batch1", "{'op':'batchnorm2d_train','shape':[1,2,2,3],"
    "'eps':1e-3}" },
  { "relu", "{'op':'relu','shape':[2,3,4,5]}" },
  { "sigmoid", "{'op':'sigmoid','shape':[2,3,4,5]}" },
  { "tanh", "{'op':'tanh','shape':[2,3,4,5]}" },
  { "linear_bias", "{'op':'linear','shape':[3,7],'out_features':5,"
    "'bias':true}" },
  { "linear", "{'op':'linear','shape':[1,6],'out_features':4}" },
  { "softmax_channels", "{'op':'softmax','shape':[2,5,2,3]}" },
  { "softmax_features", "{'op':'softmax','shape':[3,6]}" },
  { "lrn_size3_alpha1", "{'op':'lrn','shape':[2,6,2,2],'size':3,'alpha':1.0,"
    "'beta':0.75,'k':1.0}" },
  { "lrn_size4", "{'op':'lrn','shape':[1,7,2,3],'size':4,'alpha':0.5,"
    "'beta':0.75,'k':2.0}" },
  { "lrn_size5_alexnet", "{'op':'lrn','shape':[1,8,2,2],'size':5,"
    "'alpha':1e-4,'beta':0.75,'k':2.0}" },
  { "concat", "{'op':'concat','shape':[2,2,3,2],'channels':[2,1,3]}" },
  { "add", "{'op':'add','shape':[2,3,2,3]}" },
  { "channel_affine", "{'op':'channel_affine','shape':[2,3,3,2]}" },
  { "cross_entropy", "{'op':'cross_entropy','shape':[4,6],"
    "'label_smoothing':0.0}" },
  { "cross_entropy_smooth0.2", "{'op':'cross_entropy','shape':[4,6],"
    "'label_smoothing':0.2}" },
  { "dropout_p0.4", "{'op':'dropout','shape':[3,20],'p':0.4}" },
};

/* A normal value on the grid of 2^-10: every input is a multiple of 2^-10
 * of magnitude < 2^8, so x +- h and x +- 2h for a step h = 2^-m (m <= 10)
 * are exact floats, and the differences divide by exactly the step. */
static float
grid_normal (ConvnetRng *rng, double scale)
{
  return (float) (rint (convnet_rng_normal (rng) * scale * 1024.0) / 1024.0);
}

static Op *
op_from_fd_case (const char *const *fc, ConvnetRng *rng)
{
  char *json = g_strdelimit (g_strdup (fc[1]), "'", '"');
  Op *op = op_new (fc[0], json);
  JsonArray *shape;

  g_free (json);
  shape = json_object_get_array_member (op->settings, "shape");
  op->n = (int) json_array_get_int_element (shape, 0);
  op->c = (int) json_array_get_int_element (shape, 1);
  op->h = json_array_get_length (shape) == 4
          ? (int) json_array_get_int_element (shape, 2) : 1;
  op->w = json_array_get_length (shape) == 4
          ? (int) json_array_get_int_element (shape, 3) : 1;
  op_layout (op);

  for (int i = 0; i < op->n_t; i++)
    for (gsize j = 0; j < op->len[i]; j++)
      op->t[i][j] = grid_normal (rng, i == 0 || op->kind == K_CONCAT
                                      || op->kind == K_ADD ? 1.0 : 0.5);
  for (int k = 0; k < 2; k++)
    if (op->consts[k])
      for (int j = 0; j < op->c; j++)
        op->consts[k][j] = k == 1 && op->kind != K_AFFINE
                           ? 0.5f + fabsf (grid_normal (rng, 1.0))  /* var */
                           : grid_normal (rng, 1.0);
  if (op->targets)
    for (int j = 0; j < op->n; j++)
      op->targets[j] = (int) convnet_rng_below (rng, op->c);

  /* keep the kinks further than 2h from every input */
  if (op->kind == K_RELU)
    for (gsize j = 0; j < op->len[0]; j++)
      op->t[0][j] = copysignf (0.25f + fabsf (op->t[0][j]), op->t[0][j]);
  if (op->kind == K_MAXPOOL)
    {
      /* each plane a shuffle of distinct multiples of 1/8: no window's
       * maximum changes under a step of 2h <= 1/16 */
      const int hw = op->h * op->w;
      for (int pl = 0; pl < op->n * op->c; pl++)
        {
          float *v = op->t[0] + (gsize) pl * hw;
          for (int j = 0; j < hw; j++)
            v[j] = (j - hw / 2) * 0.125f;
          for (int j = hw - 1; j > 0; j--)
            {
              const int k = (int) convnet_rng_below (rng, j + 1);
              const float tmp = v[j];
              v[j] = v[k];
              v[k] = tmp;
            }
        }
    }
  return op;
}

static double
weighted_sum (Op *op, const float *r, float *out)
{
  double sum = 0.0;

  op_forward (op, out);
  for (gsize k = 0; k < op->n_out; k++)
    sum += (double) r[k] * out[k];
  return sum;
}

/* The step and the bound asserted, |fd - analytic| <= FD_ABS + FD_REL
 * |analytic|.  The fourth-order difference
 *   (8 (L(x+h) - L(x-h)) - (L(x+2h) - L(x-2h))) / 12h
 * is off by h^4/30 |L^(5)|: for h = 1/32 that is 3.2e-8 |L^(5)|, nothing
 * for the ops linear in the perturbed tensor (conv, linear, pools, concat,
 * add, affine, dropout) and well under 1e-6 for the smooth ones on these
 * O(1) inputs.  The steps are exact (the inputs lie on a 2^-10 grid) and L
 * is summed in double, so what remains is the float rounding of the
 * outputs that the element reaches (the others come out bit-identical and
 * cancel): a few O(1) outputs rounded to 2^-24, weighted by 1.5/h, about
 * 1e-6 to 1e-5 absolute. */
#define FD_STEP (1.0 / 32)
#define FD_REL 1e-4
#define FD_ABS 2e-5

static void
test_fd_case (gconstpointer data)
{
  ConvnetRng rng;
  Op *op;
  float *r, *out, **g;
  const double h = FD_STEP;
  static const int steps[4] = { 1, -1, 2, -2 };

  convnet_rng_seed (&rng, 20261129);
  op = op_from_fd_case (data, &rng);
  r = g_new (float, op->n_out);
  out = g_new (float, op->n_out);
  for (gsize k = 0; k < op->n_out; k++)
    r[k] = op->kind == K_CE ? 1.0f : grid_normal (&rng, 1.0);
  g = new_grads (op);
  op_backward (op, r, g);

  for (int i = 0; i < op->n_t; i++)
    {
      double worst = 0.0, worst_abs = 0.0, worst_rel = 0.0;
      for (gsize j = 0; j < op->len[i]; j++)
        {
          const float orig = op->t[i][j];
          double l[4];
          for (int s = 0; s < 4; s++)
            {
              op->t[i][j] = (float) (orig + steps[s] * h);
              g_assert_cmpfloat ((double) op->t[i][j] - orig, ==, steps[s] * h);
              l[s] = weighted_sum (op, r, out);
            }
          op->t[i][j] = orig;
          const double fd = (8.0 * (l[0] - l[1]) - (l[2] - l[3])) / (12.0 * h);
          const double an = g[i][j], diff = fabs (fd - an);
          const double err = diff / (FD_ABS + FD_REL * fabs (an));
          worst = MAX (worst, err);
          worst_abs = MAX (worst_abs, diff);
          if (fabs (an) > 1e-2)
            worst_rel = MAX (worst_rel, diff / fabs (an));
          if (!(err <= 1.0))
            g_error ("%s: d%s[%" G_GSIZE_FORMAT "]: analytic %.8g, finite "
                     "differences %.8g", op->name, op->role[i], j, an, fd);
        }
      g_test_message ("%s.d%s: %" G_GSIZE_FORMAT " values, worst %.3f of the "
                      "bound, worst |fd - analytic| %.2e, worst relative "
                      "%.2e (|analytic| > 1e-2)", op->name, op->role[i],
                      op->len[i], worst, worst_abs, worst_rel);
    }
  g_free (r);
  g_free (out);
  free_grads (g);
  op_free (op);
}

int
main (int argc, char **argv)
{
  GError *error = NULL;
  char *path;
  GHashTable *meta;
  GList *names;

  g_test_init (&argc, &argv, NULL);
  path = g_build_filename (g_getenv ("CONVNET_FIXTURES"), "ops",
                           "ops.safetensors", NULL);
  fixture = convnet_weight_file_open (path, &error);
  g_assert_no_error (error);
  meta = convnet_weight_file_metadata (fixture);
  g_assert_nonnull (meta);

  names = g_list_sort (g_hash_table_get_keys (meta), (GCompareFunc) strcmp);
  for (GList *l = names; l; l = l->next)
    {
      const char **c = g_new (const char *, 2);
      char *test_path = g_strdup_printf ("/ops-backward/%s", (char *) l->data);
      c[0] = l->data;
      c[1] = g_hash_table_lookup (meta, l->data);
      g_test_add_data_func_full (test_path, c, test_fixture_case, g_free);
      g_free (test_path);
    }
  for (guint i = 0; i < G_N_ELEMENTS (fd_cases); i++)
    {
      char *test_path = g_strdup_printf ("/ops-backward/fd/%s", fd_cases[i][0]);
      g_test_add_data_func (test_path, fd_cases[i], test_fd_case);
      g_free (test_path);
    }
  g_list_free (names);
  g_free (path);
  return g_test_run ();
}
