/* test_fuse.c: the inference fast path of whole graphs (graph_fuse.c)
 * against the same graph with CONVNET_EXACT=1, which runs the reference
 * kernels of engine/ops/ (themselves checked against PyTorch by
 * test_ops and the parity suite): outputs, retained activations inside a
 * fused chain, concatenations written in place, class gradients, frozen
 * training, and weights written by hand.  Each comparison also checks
 * that the fast plan fused nodes, so that it cannot pass by running the
 * reference path twice. */
#include "convnet.h"
#include "graph.h"

#include <math.h>
#include <string.h>

#define SIZE 64

static float *
random_input (const ConvnetGraph *g, int batch)
{
  const ConvnetShape s = convnet_graph_input_shape (g);
  const gsize n = (gsize) batch * s.c * s.h * s.w;
  float *x = g_new (float, n);
  GRand *rand = g_rand_new_with_seed (7);

  for (gsize i = 0; i < n; i++)
    x[i] = (float) g_rand_double_range (rand, -2.0, 2.0);
  g_rand_free (rand);
  return x;
}

static ConvnetGraph *
model (const char *arch)
{
  GError *error = NULL;
  const int size = g_str_equal (arch, "lenet5") ? 28 : SIZE;
  ConvnetGraph *g = convnet_model_build (arch, 10, size, size, &error);

  g_assert_no_error (error);
  convnet_graph_init_random (g, 3);
  /* BatchNorm statistics away from 0 and 1, so that a wrong fold shows */
  for (guint i = 0; i < convnet_graph_n_params (g); i++)
    {
      const ConvnetParam *p = convnet_graph_param (g, i);
      gsize n = 1;
      for (int d = 0; d < p->ndim; d++)
        n *= p->shape[d];
      if (g_str_has_suffix (p->name, "running_mean"))
        for (gsize k = 0; k < n; k++)
          p->data[k] = 0.1f * (float) ((k % 7) - 3);
      else if (g_str_has_suffix (p->name, "running_var"))
        for (gsize k = 0; k < n; k++)
          p->data[k] = 0.5f + 0.25f * (float) (k % 5);
      else if (g_str_has_suffix (p->name, "bn1.weight")
               || g_str_has_suffix (p->name, "bn2.weight"))
        for (gsize k = 0; k < n; k++)
          p->data[k] = 0.8f + 0.1f * (float) (k % 4);
    }
  convnet_graph_weights_changed (g);
  return g;
}

/* Switches the fast path for the next plan. */
static void
set_exact (ConvnetGraph *g, gboolean exact)
{
  if (exact)
    g_setenv ("CONVNET_EXACT", "1", TRUE);
  else
    g_unsetenv ("CONVNET_EXACT");
  convnet_graph_weights_changed (g);   /* makes the next forward replan */
}

static double
largest (const float *x, gsize n)
{
  double m = 0;

  for (gsize i = 0; i < n; i++)
    m = MAX (m, fabs (x[i]));
  return m;
}

/* A and B agree within 1e-4 of B's largest value (the parity suite's
 * bound), and both are finite. */
static void
assert_close (const char *what, const float *a, const float *b, gsize n)
{
  const double bound = 1e-4 * MAX (largest (b, n), 1e-6);
  double worst = 0;

  for (gsize i = 0; i < n; i++)
    {
      g_assert_true (isfinite (a[i]) && isfinite (b[i]));
      worst = MAX (worst, fabs ((double) a[i] - b[i]));
    }
  if (worst > bound)
    g_error ("%s: max|diff| %g over the bound %g", what, worst, bound);
}

static gsize
output_numel (const ConvnetGraph *g, int batch)
{
  const ConvnetShape s = convnet_graph_output_shape (g);
  return (gsize) batch * s.c * s.h * s.w;
}

/* The output of a forward in one mode, copied. */
static float *
run (ConvnetGraph *g, const float *x, int batch, gboolean exact, int *fused)
{
  GError *error = NULL;

  set_exact (g, exact);
  g_assert_true (convnet_graph_forward (g, x, batch, &error));
  g_assert_no_error (error);
  *fused = convnet_graph_n_fast_nodes (g);
  return g_memdup2 (convnet_graph_output (g),
                    output_numel (g, batch) * sizeof (float));
}

static void
test_outputs (gconstpointer data)
{
  const char *arch = data;
  ConvnetGraph *g = model (arch);
  float *x = random_input (g, 4);

  /* batch 4 takes F(4x4,3x3) where batch 1 takes F(2x2,3x3) */
  for (int batch = 1; batch <= 4; batch += 3)
    {
      int fused_fast, fused_exact;
      float *fast = run (g, x, batch, FALSE, &fused_fast);
      float *exact = run (g, x, batch, TRUE, &fused_exact);

      g_assert_cmpint (fused_exact, ==, 0);
      g_assert_cmpint (fused_fast, >, 0);
      assert_close (arch, fast, exact, output_numel (g, batch));
      g_free (fast);
      g_free (exact);
    }
  g_unsetenv ("CONVNET_EXACT");
  g_free (x);
  convnet_graph_free (g);
}

/* resnet18 runs its 20 convolutions fast and fuses the stem's bn1 and
 * relu, per block bn1 + relu and bn2 + add + relu, and the downsampling
 * branches' BatchNorm. */
static void
test_resnet18_fuses_every_chain (void)
{
  ConvnetGraph *g = model ("resnet18");
  float *x = random_input (g, 1);
  int fused;
  float *out = run (g, x, 1, FALSE, &fused);

  g_assert_cmpint (fused, ==, 20 + 2 + 8 * 5 + 3);
  g_unsetenv ("CONVNET_EXACT");
  g_free (out);
  g_free (x);
  convnet_graph_free (g);
}

/* A retained BatchNorm inside a chain keeps its own value: the chain
 * ends with it (folded into the convolution, whose buffer then holds the
 * BatchNorm's output), and the activation equals the reference one. */
static void
test_retained_node_inside_chain (void)
{
  ConvnetGraph *g = model ("resnet18");
  float *x = random_input (g, 1);
  GError *error = NULL;
  ConvnetShape shape;
  float *acts[2];
  int fused[2];

  g_assert_true (convnet_graph_retain (g, "layer1.0.bn1", &error));
  for (int exact = 0; exact < 2; exact++)
    {
      float *out = run (g, x, 1, exact, &fused[exact]);
      const float *act = convnet_graph_activation (g, "layer1.0.bn1", &shape,
                                                   &error);
      g_assert_no_error (error);
      acts[exact] = g_memdup2 (act, (gsize) shape.c * shape.h * shape.w
                                    * sizeof (float));
      g_free (out);
    }
  /* layer1.0's ReLU after conv1 runs apart: 1 fewer */
  g_assert_cmpint (fused[0], ==, 20 + 2 + 8 * 5 + 3 - 1);
  assert_close ("retained bn", acts[0], acts[1],
                (gsize) shape.c * shape.h * shape.w);
  g_unsetenv ("CONVNET_EXACT");
  g_free (acts[0]);
  g_free (acts[1]);
  g_free (x);
  convnet_graph_free (g);
}

/* How many inputs of the graph's Concat nodes the last forward wrote
 * straight into the Concat's buffer, at their channels' place. */
static int
concat_inputs_in_place (const ConvnetGraph *g)
{
  int in_place = 0;

  for (guint i = 0; i < convnet_graph_n_nodes (g); i++)
    {
      const ConvnetNode *node = convnet_graph_node (g, i);
      gsize offset = 0;

      if (node->op != CONVNET_OP_CONCAT)
        continue;
      for (int k = 0; k < node->n_inputs; k++)
        {
          const ConvnetNode *in = convnet_graph_node (g, node->inputs[k]);

          in_place += in->out == node->out + offset;
          offset += (gsize) in->shape.c * in->shape.h * in->shape.w;
        }
    }
  return in_place;
}

/* GoogLeNet's nine Inception blocks write their four branches into the
 * concatenation, at batch 1 and at batch 4 (whose samples' channels lie
 * apart); a retained branch keeps its own buffer and is copied; the
 * reference run copies them all; outputs and the retained activation
 * agree with it. */
static void
test_googlenet_concat_in_place (void)
{
  const char *branch = "inception4a.branch2.1";
  ConvnetGraph *g = model ("googlenet");
  float *x = random_input (g, 4);
  GError *error = NULL;

  for (int retained = 0; retained < 2; retained++)
    for (int batch = 1; batch <= 4; batch += 3)
      {
        ConvnetShape shape;
        gsize act_numel = 0;
        float *acts[2] = { NULL, NULL }, *outs[2];
        int fused, in_place[2];

        for (int exact = 0; exact < 2; exact++)
          {
            outs[exact] = run (g, x, batch, exact, &fused);
            in_place[exact] = concat_inputs_in_place (g);
            if (retained)
              {
                const float *act = convnet_graph_activation (g, branch,
                                                             &shape, &error);
                g_assert_no_error (error);
                act_numel = (gsize) batch * shape.c * shape.h * shape.w;
                acts[exact] = g_memdup2 (act, act_numel * sizeof (float));
              }
          }
        g_assert_cmpint (in_place[0], ==, 9 * 4 - retained);
        g_assert_cmpint (in_place[1], ==, 0);
        assert_close ("googlenet", outs[0], outs[1], output_numel (g, batch));
        if (retained)
          assert_close (branch, acts[0], acts[1], act_numel);
        for (int exact = 0; exact < 2; exact++)
          {
            g_free (outs[exact]);
            g_free (acts[exact]);
          }
        if (!retained && batch == 4)
          g_assert_true (convnet_graph_retain (g, branch, &error));
      }
  g_unsetenv ("CONVNET_EXACT");
  g_free (x);
  convnet_graph_free (g);
}

/* A Concat input that another node reads too keeps its own buffer: that
 * node reads it whole, not spread over the Concat's samples.  Here A's
 * 3x3 convolution, also max-pooled before the Concat, is concatenated
 * with B's 1x1; the pooled A is added after the Concat's 1x1 convolution
 * (into whose store the add fuses). */
static void
test_concat_input_read_again (void)
{
  GError *error = NULL;
  ConvnetGraph *g = convnet_graph_new ("concat-read-again", 3, 9, 9);
  const int a = convnet_conv2d (g, "a", 0, 4, 3, 1, 1, 1, 1, TRUE, &error);
  const int pooled = convnet_maxpool2d (g, "pool", a, 3, 1, 1, FALSE, &error);
  const int b = convnet_conv2d (g, "b", 0, 4, 1, 1, 0, 1, 1, TRUE, &error);
  const int ab[2] = { a, b };
  const int cat = convnet_concat (g, "cat", ab, 2, &error);
  const int d = convnet_conv2d (g, "d", cat, 4, 1, 1, 0, 1, 1, TRUE, &error);
  float *x, *outs[2];
  int fused[2], in_place[2];

  convnet_add (g, "sum", d, pooled, &error);
  g_assert_true (convnet_graph_finish (g, &error));
  g_assert_no_error (error);
  convnet_graph_init_random (g, 5);
  x = random_input (g, 3);
  for (int exact = 0; exact < 2; exact++)
    {
      outs[exact] = run (g, x, 3, exact, &fused[exact]);
      in_place[exact] = concat_inputs_in_place (g);
    }
  g_assert_cmpint (fused[0], >, 0);
  g_assert_cmpint (in_place[0], ==, 1);   /* B's */
  g_assert_cmpint (in_place[1], ==, 0);
  assert_close ("read again", outs[0], outs[1], output_numel (g, 3));
  g_unsetenv ("CONVNET_EXACT");
  g_free (outs[0]);
  g_free (outs[1]);
  g_free (x);
  convnet_graph_free (g);
}

/* Grad-CAM's backward from a class to layer4 runs on the nodes after it;
 * the ones before still fuse, and the gradient is the reference one. */
static void
test_class_gradient (void)
{
  ConvnetGraph *g = model ("resnet18");
  float *x = random_input (g, 1);
  GError *error = NULL;
  const ConvnetNodeInfo *info = convnet_graph_lookup (g, "layer4");
  const gsize n = (gsize) info->shape.c * info->shape.h * info->shape.w;
  float *grads[2];
  int fused[2];

  g_assert_true (convnet_graph_want_gradient (g, "layer4", &error));
  for (int exact = 0; exact < 2; exact++)
    {
      float *out = run (g, x, 1, exact, &fused[exact]);
      const float *grad = convnet_graph_class_gradient (g, 3, &error);
      g_assert_no_error (error);
      grads[exact] = g_memdup2 (grad, n * sizeof (float));
      g_free (out);
    }
  g_assert_cmpint (fused[0], >, 0);
  g_assert_cmpint (fused[1], ==, 0);
  assert_close ("class gradient", grads[0], grads[1], n);
  g_unsetenv ("CONVNET_EXACT");
  g_free (grads[0]);
  g_free (grads[1]);
  g_free (x);
  convnet_graph_free (g);
}

/* Training the head of a frozen network: the frozen part runs fast, the
 * loss and the head's gradient are the reference ones.  With FREEZE a
 * convolution whose BatchNorm trains, that BatchNorm stays out of the
 * convolution's chain: its backward needs the convolution's own output. */
static void
frozen_training (const char *freeze, const char *param)
{
  ConvnetGraph *g = model ("resnet18");
  float *x = random_input (g, 2);
  const int targets[2] = { 1, 7 };
  const ConvnetParam *head = convnet_graph_find_param (g, param);
  const gsize n = (gsize) head->shape[0] * head->shape[1];
  float loss[2], *grads[2];
  int fused[2];
  GError *error = NULL;

  g_assert_true (convnet_graph_freeze_through (g, freeze, &error));
  for (int exact = 0; exact < 2; exact++)
    {
      if (exact)
        g_setenv ("CONVNET_EXACT", "1", TRUE);
      else
        g_unsetenv ("CONVNET_EXACT");
      convnet_graph_set_training (g, FALSE, 0);
      convnet_graph_set_training (g, TRUE, 5);
      g_assert_true (convnet_graph_forward (g, x, 2, &error));
      fused[exact] = convnet_graph_n_fast_nodes (g);
      g_assert_true (convnet_graph_loss (g, targets, 0.0f, &loss[exact],
                                         &error));
      g_assert_true (convnet_graph_backward (g, &error));
      g_assert_no_error (error);
      grads[exact] = g_memdup2 (head->grad, n * sizeof (float));
    }
  g_assert_cmpint (fused[0], >, 0);
  g_assert_cmpint (fused[1], ==, 0);
  g_assert_cmpfloat (fabsf (loss[0] - loss[1]), <=, 1e-4f * fabsf (loss[1]));
  assert_close (param, grads[0], grads[1], n);
  g_unsetenv ("CONVNET_EXACT");
  g_free (grads[0]);
  g_free (grads[1]);
  g_free (x);
  convnet_graph_free (g);
}

static void
test_frozen_training (void)
{
  frozen_training ("layer4", "fc.weight");
}

static void
test_frozen_conv_training_batchnorm (void)
{
  frozen_training ("layer4.1.conv2", "layer4.1.bn2.weight");
}

/* Weights written by hand count once convnet_graph_weights_changed says
 * so: the next forward packs them again. */
static void
test_weights_changed (void)
{
  ConvnetGraph *g = model ("resnet18");
  float *x = random_input (g, 1);
  const ConvnetParam *w = convnet_graph_find_param (g, "layer2.0.conv1.weight");
  const gsize n = output_numel (g, 1);
  int fused;
  float *before = run (g, x, 1, FALSE, &fused), *after, *exact;
  GError *error = NULL;

  for (gint64 k = 0; k < w->shape[0] * w->shape[1] * 9; k++)
    w->data[k] *= -3.0f;
  convnet_graph_weights_changed (g);
  g_assert_true (convnet_graph_forward (g, x, 1, &error));
  after = g_memdup2 (convnet_graph_output (g), n * sizeof (float));
  exact = run (g, x, 1, TRUE, &fused);
  assert_close ("after the change", after, exact, n);
  g_assert_cmpfloat (fabs (after[0] - before[0]) + fabs (after[1] - before[1]),
                     >, 1e-6);
  g_unsetenv ("CONVNET_EXACT");
  g_free (before);
  g_free (after);
  g_free (exact);
  g_free (x);
  convnet_graph_free (g);
}

/* CONVNET_FC_FP16=1 keeps alexnet's classifier in half precision: the
 * output moves (by the rounding of the weights, at most 2^-11 of each)
 * and stays within 1e-2 of the reference's largest value. */
static void
test_fc_half (void)
{
  ConvnetGraph *g = model ("alexnet");
  float *x = random_input (g, 2);
  const gsize n = output_numel (g, 2);
  const float *fc = convnet_graph_find_param (g, "classifier.1.weight")->data;
  int fast_nodes;
  float *single = run (g, x, 2, FALSE, &fast_nodes), *half, *exact;
  double moved = 0, worst = 0, top = largest (single, n);

  /* weights of a size half rounds (random ones are near 1e-2) */
  g_assert_cmpfloat (fabsf (fc[0]), >, 1e-5f);
  g_setenv ("CONVNET_FC_FP16", "1", TRUE);
  half = run (g, x, 2, FALSE, &fast_nodes);
  g_unsetenv ("CONVNET_FC_FP16");
  exact = run (g, x, 2, TRUE, &fast_nodes);
  for (gsize i = 0; i < n; i++)
    {
      moved = MAX (moved, fabs ((double) half[i] - single[i]));
      worst = MAX (worst, fabs ((double) half[i] - exact[i]));
    }
  g_assert_cmpfloat (moved, >, 1e-7 * top);
  g_assert_cmpfloat (worst, <, 1e-2 * top);
  g_unsetenv ("CONVNET_EXACT");
  g_free (single);
  g_free (half);
  g_free (exact);
  g_free (x);
  convnet_graph_free (g);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_unsetenv ("CONVNET_EXACT");
  g_unsetenv ("CONVNET_FC_FP16");
  g_test_add_data_func ("/fuse/outputs/lenet5", "lenet5", test_outputs);
  g_test_add_data_func ("/fuse/outputs/alexnet", "alexnet", test_outputs);
  g_test_add_data_func ("/fuse/outputs/vgg11_bn", "vgg11_bn", test_outputs);
  g_test_add_data_func ("/fuse/outputs/resnet18", "resnet18", test_outputs);
  g_test_add_data_func ("/fuse/outputs/resnet50", "resnet50", test_outputs);
  g_test_add_data_func ("/fuse/outputs/googlenet", "googlenet", test_outputs);
  g_test_add_func ("/fuse/resnet18-chains", test_resnet18_fuses_every_chain);
  g_test_add_func ("/fuse/retained-node", test_retained_node_inside_chain);
  g_test_add_func ("/fuse/googlenet-concat-in-place",
                   test_googlenet_concat_in_place);
  g_test_add_func ("/fuse/concat-input-read-again",
                   test_concat_input_read_again);
  g_test_add_func ("/fuse/class-gradient", test_class_gradient);
  g_test_add_func ("/fuse/frozen-training", test_frozen_training);
  g_test_add_func ("/fuse/frozen-conv-training-batchnorm",
                   test_frozen_conv_training_batchnorm);
  g_test_add_func ("/fuse/weights-changed", test_weights_changed);
  g_test_add_func ("/fuse/fc-half", test_fc_half);
  return g_test_run ();
}
