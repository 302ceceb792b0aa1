/* test_training.c: whole-model training steps against PyTorch autograd
 * (tests/fixtures/training, from generate_training.py): loss, logits,
 * every parameter gradient and BatchNorm's running statistics, for LeNet-5
 * and small ResNets with basic and bottleneck blocks, one with a frozen
 * backbone; and a finite-difference check of whole-model gradients. */
#include "graph.h"
#include "models/models.h"
#include "test_util.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct
{
  const char *fixture;
  const char *arch;          /* lenet5, or a custom ResNet below */
  int         width;
  int         blocks[4];
  gboolean    bottleneck;
} TrainingCase;

static const TrainingCase cases[] = {
  { "lenet5", "lenet5", 0, { 0 }, FALSE },
  { "resnet-basic", "resnet", 4, { 1, 2, 1, 1 }, FALSE },
  { "resnet-bottleneck", "resnet", 4, { 2, 1, 1, 1 }, TRUE },
  { "resnet-basic-frozen", "resnet", 4, { 1, 1, 1, 1 }, FALSE },
};

static ConvnetWeightFile *
open_fixture (const char *name)
{
  char *file = g_strdup_printf ("%s.safetensors", name);
  char *path = g_build_filename (g_getenv ("CONVNET_FIXTURES"), "training",
                                 file, NULL);
  GError *error = NULL;
  ConvnetWeightFile *f = convnet_weight_file_open (path, &error);

  g_assert_no_error (error);
  g_free (file);
  g_free (path);
  return f;
}

static float *
read_tensor (ConvnetWeightFile *f, const char *key, gsize *n,
             const ConvnetTensorEntry **entry)
{
  float *data = test_tensor_f32 (f, key, n, entry);

  if (!data)
    g_error ("fixture has no tensor '%s'", key);
  return data;
}

/* The network, its parameters from the fixture, ready for a training
 * forward on the fixture's input size. */
static ConvnetGraph *
build_case (const TrainingCase *c, ConvnetWeightFile *f, float **input,
            int **targets, int *batch)
{
  const ConvnetTensorEntry *in;
  gsize n;
  float *t;
  GError *error = NULL;
  ConvnetGraph *g;
  GHashTable *meta = convnet_weight_file_metadata (f);
  const char *freeze = g_hash_table_lookup (meta, "freeze_through");

  *input = read_tensor (f, "input", &n, &in);
  *batch = (int) in->shape[0];
  if (strcmp (c->arch, "lenet5") == 0)
    g = convnet_model_build ("lenet5", 0, 0, 0, &error);
  else
    {
      const ConvnetTensorEntry *fc =
        convnet_weight_file_lookup (f, "param.fc.bias");
      g = convnet_graph_new ("resnet-test", 3, (int) in->shape[2],
                             (int) in->shape[3]);
      g_assert_cmpint (build_resnet_custom (g, c->width, c->blocks,
                                            c->bottleneck, (int) fc->shape[0],
                                            &error), >=, 0);
      g_assert_true (convnet_graph_finish (g, &error));
    }
  g_assert_no_error (error);

  for (guint i = 0; i < convnet_graph_n_params (g); i++)
    {
      const ConvnetParam *p = convnet_graph_param (g, i);
      char *key = g_strdup_printf ("param.%s", p->name);
      float *data = read_tensor (f, key, &n, NULL);
      gsize want = 1;
      for (int d = 0; d < p->ndim; d++)
        want *= p->shape[d];
      g_assert_cmpuint (n, ==, want);
      memcpy (p->data, data, n * sizeof (float));
      g_free (data);
      g_free (key);
    }

  t = read_tensor (f, "targets", &n, NULL);
  *targets = g_new (int, n);
  for (gsize i = 0; i < n; i++)
    (*targets)[i] = (int) t[i];
  g_free (t);

  convnet_graph_set_training (g, TRUE, 1);
  g_assert_true (convnet_graph_freeze_through (g, freeze && *freeze ? freeze
                                                                     : NULL,
                                               &error));
  g_assert_no_error (error);
  return g;
}

static double
max_abs (const float *x, gsize n)
{
  double m = 0.0;

  for (gsize i = 0; i < n; i++)
    m = MAX (m, fabs (x[i]));
  return m;
}

/* max |got - want| <= 1e-4 * max(1e-3, max |want|): relative to the
 * tensor's scale, as gradients of small tensors can be tiny. */
static void
assert_tensor_close (const char *what, const float *got, const float *want,
                     gsize n)
{
  const double scale = MAX (1e-3, max_abs (want, n));
  double worst = 0.0;

  for (gsize i = 0; i < n; i++)
    worst = MAX (worst, fabs ((double) got[i] - want[i]));
  g_test_message ("%s: max |diff| %.3g, scale %.3g", what, worst, scale);
  if (!(worst <= 1e-4 * scale))
    g_error ("%s: max |diff| %.3g exceeds 1e-4 x %.3g", what, worst, scale);
}

static void
test_step_matches_torch (gconstpointer data)
{
  const TrainingCase *c = data;
  ConvnetWeightFile *f = open_fixture (c->fixture);
  float *input, *want, loss;
  int *targets, batch, with_grad = 0, frozen = 0;
  gsize n;
  GError *error = NULL;
  ConvnetGraph *g = build_case (c, f, &input, &targets, &batch);
  const float label_smoothing =
    g_ascii_strtod (g_hash_table_lookup (convnet_weight_file_metadata (f),
                                         "label_smoothing"), NULL);

  g_assert_true (convnet_graph_forward (g, input, batch, &error));
  g_assert_no_error (error);
  want = read_tensor (f, "logits", &n, NULL);
  assert_tensor_close ("logits", convnet_graph_output (g), want, n);
  g_free (want);

  g_assert_true (convnet_graph_loss (g, targets, label_smoothing, &loss,
                                     &error));
  want = read_tensor (f, "loss", &n, NULL);
  g_assert_cmpfloat (fabsf (loss - want[0]), <=, 1e-5f * MAX (1.0f, want[0]));
  g_free (want);

  /* twice: the second pass finds every gradient buffer holding the
   * first's values, and must store over them or zero them, not add */
  for (int pass = 0; pass < 2; pass++)
    {
      g_assert_true (convnet_graph_backward (g, &error));
      g_assert_no_error (error);
    }
  for (guint i = 0; i < convnet_graph_n_params (g); i++)
    {
      const ConvnetParam *p = convnet_graph_param (g, i);
      char *key = g_strdup_printf ("grad.%s", p->name);
      char *after = g_strdup_printf ("after.%s", p->name);

      if (convnet_weight_file_lookup (f, key))
        {
          g_assert_nonnull (p->grad);
          want = read_tensor (f, key, &n, NULL);
          assert_tensor_close (key, p->grad, want, n);
          g_free (want);
          with_grad++;
        }
      else if (!p->is_buffer)
        {
          /* frozen in torch: no gradient here either */
          g_assert_null (p->grad);
          frozen++;
        }
      if (convnet_weight_file_lookup (f, after))
        {
          want = read_tensor (f, after, &n, NULL);
          assert_tensor_close (after, p->data, want, n);
          g_free (want);
        }
      g_free (key);
      g_free (after);
    }
  g_test_message ("%d gradients checked, %d frozen", with_grad, frozen);
  g_assert_cmpint (with_grad, >, 0);
  if (strstr (c->fixture, "frozen"))
    g_assert_cmpint (frozen, >, 0);

  g_free (input);
  g_free (targets);
  convnet_graph_free (g);
  convnet_weight_file_free (f);
}

static double
loss_at (ConvnetGraph *g, const float *input, const int *targets, int batch)
{
  float loss;

  g_assert_true (convnet_graph_forward (g, input, batch, NULL));
  g_assert_true (convnet_graph_loss (g, targets, 0.0f, &loss, NULL));
  return loss;
}

/* Central differences of the loss for a sample of parameters of every
 * tensor of LeNet-5.  The loss (about 2.3) is a float32 computed through
 * the whole network, so two evaluations differ by rounding of up to about
 * 5e-7; with a step of 3e-2 that puts up to 1e-5 of noise into the
 * difference quotient, and the truncation error (h^2/6 times the third
 * derivative) of these smooth sigmoid layers stays well below that.  We
 * ask for agreement within 1e-5 + 2e-3 of the tensor's largest gradient. */
/* Every parameter tensor's gradient in G->grad_block against central
 * differences of the loss (step H) at a sample of its entries. */
static void
assert_finite_differences (ConvnetGraph *g, const float *input,
                           const int *targets, int batch, float h)
{
  float *analytic;

  loss_at (g, input, targets, batch);
  g_assert_true (convnet_graph_backward (g, NULL));
  analytic = g_memdup2 (g->grad_block, g->param_floats * sizeof (float));

  for (guint i = 0; i < convnet_graph_n_params (g); i++)
    {
      const ConvnetParam *p = convnet_graph_param (g, i);
      const ConvnetParamSlot *slot = convnet_graph_param_slot (g, i);
      const float *grad = analytic + slot->offset;
      const double scale = MAX (1e-4, max_abs (grad, slot->numel));
      const gsize stride = MAX (1, slot->numel / 7);

      for (gsize k = 0; k < slot->numel; k += stride)
        {
          const float saved = p->data[k];
          double plus, minus, numeric;

          p->data[k] = saved + h;
          plus = loss_at (g, input, targets, batch);
          p->data[k] = saved - h;
          minus = loss_at (g, input, targets, batch);
          p->data[k] = saved;
          numeric = (plus - minus) / (2.0 * h);
          if (!(fabs (numeric - grad[k]) <= 1e-5 + 2e-3 * scale))
            g_error ("%s[%" G_GSIZE_FORMAT "]: analytic %.6g, numeric %.6g",
                     p->name, k, grad[k], numeric);
        }
    }
  g_free (analytic);
}

static void
test_finite_differences (void)
{
  const TrainingCase *c = &cases[0];
  ConvnetWeightFile *f = open_fixture (c->fixture);
  float *input;
  int *targets, batch;
  ConvnetGraph *g = build_case (c, f, &input, &targets, &batch);

  assert_finite_differences (g, input, targets, batch, 3e-2f);
  g_free (input);
  g_free (targets);
  convnet_graph_free (g);
  convnet_weight_file_free (f);
}

/* A node read several times: t = (c + c) + sigmoid(c).  The Sigmoid comes
 * later in the graph, so its gradient reaches c first and both inputs of
 * the first Add must add theirs to it, not store over it; c is 65,536
 * floats, so the sums are shared out between two threads.  No classic
 * network reads a node this way, so only this graph checks that path. */
static void
test_shared_readers (void)
{
  GError *error = NULL;
  ConvnetGraph *g = convnet_graph_new ("shared-readers", 1, 64, 64);
  const int conv = convnet_conv2d (g, "conv", 0, 8, 3, 1, 1, 1, 1, TRUE,
                                   &error);
  const int twice = convnet_add (g, "twice", conv, conv, &error);
  const int squashed = convnet_activation (g, CONVNET_OP_SIGMOID, "squash",
                                           conv);
  const int sum = convnet_add (g, "sum", twice, squashed, &error);
  const int flat = convnet_flatten (g, "flat", sum);
  float input[2 * 64 * 64];
  int targets[2] = { 1, 2 };

  convnet_linear (g, "fc", flat, 3, TRUE, &error);
  g_assert_no_error (error);
  g_assert_true (convnet_graph_finish (g, &error));
  g_assert_no_error (error);
  convnet_graph_init_random (g, 11);
  for (int k = 0; k < 2 * 64 * 64; k++)
    input[k] = (float) ((k * 37) % 19) / 9.0f - 1.0f;
  convnet_set_threads (2);
  convnet_graph_set_training (g, TRUE, 1);
  assert_finite_differences (g, input, targets, 2, 3e-2f);
  convnet_graph_free (g);
}

/* Grad-CAM's ingredient: d logit[class] / d activation(node) at
 * inference, against autograd through a hooked torch module. */
static void
test_class_gradient (gconstpointer data)
{
  const TrainingCase *c = data;
  ConvnetWeightFile *f = open_fixture (c->fixture);
  GHashTable *meta = convnet_weight_file_metadata (f);
  const char *node = g_hash_table_lookup (meta, "node");
  const int klass = atoi (g_hash_table_lookup (meta, "class"));
  const ConvnetTensorEntry *in;
  GError *error = NULL;
  ConvnetGraph *g;
  float *input, *want;
  const float *got;
  gsize n;

  input = read_tensor (f, "input", &n, &in);
  if (strcmp (c->arch, "lenet5") == 0)
    g = convnet_model_build ("lenet5", 0, 0, 0, &error);
  else
    {
      g = convnet_graph_new ("resnet-test", 3, (int) in->shape[2],
                             (int) in->shape[3]);
      g_assert_cmpint (build_resnet_custom (g, c->width, c->blocks,
                                            c->bottleneck, 5, &error), >=, 0);
      g_assert_true (convnet_graph_finish (g, &error));
    }
  g_assert_no_error (error);
  for (guint i = 0; i < convnet_graph_n_params (g); i++)
    {
      const ConvnetParam *p = convnet_graph_param (g, i);
      char *key = g_strdup_printf ("param.%s", p->name);
      float *values = read_tensor (f, key, &n, NULL);
      memcpy (p->data, values, n * sizeof (float));
      g_free (values);
      g_free (key);
    }

  g_assert_true (convnet_graph_want_gradient (g, node, &error));
  g_assert_true (convnet_graph_retain (g, node, &error));
  g_assert_true (convnet_graph_forward (g, input, (int) in->shape[0], &error));
  g_assert_no_error (error);
  want = read_tensor (f, "activation", &n, NULL);
  assert_tensor_close ("activation",
                       convnet_graph_activation (g, node, NULL, NULL), want, n);
  g_free (want);
  got = convnet_graph_class_gradient (g, klass, &error);
  g_assert_no_error (error);
  want = read_tensor (f, "gradient", &n, NULL);
  assert_tensor_close ("gradient", got, want, n);
  g_free (want);

  g_assert_null (convnet_graph_class_gradient (g, 99, &error));
  g_assert_error (error, CONVNET_ERROR, CONVNET_ERROR_ARGUMENT);
  g_clear_error (&error);
  g_free (input);
  convnet_graph_free (g);
  convnet_weight_file_free (f);
}

static const TrainingCase gradcam_cases[] = {
  { "gradcam-lenet5", "lenet5", 0, { 0 }, FALSE },
  { "gradcam-resnet", "resnet", 4, { 1, 1, 1, 1 }, FALSE },
};

static void
test_misuse (void)
{
  ConvnetGraph *g = convnet_model_build ("lenet5", 0, 0, 0, NULL);
  float input[2 * 28 * 28] = { 0 }, loss;
  int targets[2] = { 1, 11 };
  GError *error = NULL;

  g_assert_false (convnet_graph_backward (g, &error));
  g_assert_error (error, CONVNET_ERROR, CONVNET_ERROR_ARGUMENT);
  g_clear_error (&error);
  convnet_graph_set_training (g, TRUE, 1);
  g_assert_true (convnet_graph_forward (g, input, 2, NULL));
  g_assert_false (convnet_graph_loss (g, targets, 0.0f, &loss, &error));
  g_assert_error (error, CONVNET_ERROR, CONVNET_ERROR_ARGUMENT);
  g_assert_nonnull (strstr (error->message, "11"));
  g_clear_error (&error);
  g_assert_false (convnet_graph_freeze_through (g, "11", &error));
  g_assert_error (error, CONVNET_ERROR, CONVNET_ERROR_ARGUMENT);
  g_clear_error (&error);
  convnet_graph_free (g);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      char *path = g_strdup_printf ("/training/%s", cases[i].fixture);
      g_test_add_data_func (path, &cases[i], test_step_matches_torch);
      g_free (path);
    }
  for (guint i = 0; i < G_N_ELEMENTS (gradcam_cases); i++)
    {
      char *path = g_strdup_printf ("/training/%s", gradcam_cases[i].fixture);
      g_test_add_data_func (path, &gradcam_cases[i], test_class_gradient);
      g_free (path);
    }
  g_test_add_func ("/training/finite-differences", test_finite_differences);
  g_test_add_func ("/training/shared-readers", test_shared_readers);
  g_test_add_func ("/training/misuse", test_misuse);
  return g_test_run ();
}
