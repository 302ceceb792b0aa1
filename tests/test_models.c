/* test_models.c: the architectures' structure (parameter counts, node
 * names and shapes as torchvision has them), the forward plan's buffer
 * reuse and retained activations, LeNet-5 against PyTorch, and the weight
 * loader's strict checks. */
#include "graph.h"
#include "test_util.h"

#include <math.h>
#include <string.h>

static char *
fixture (const char *name)
{
  return g_build_filename (g_getenv ("CONVNET_FIXTURES"), "models", name,
                           NULL);
}

static ConvnetGraph *
build (const char *arch, int h, int w)
{
  GError *error = NULL;
  ConvnetGraph *g = convnet_model_build (arch, 0, h, w, &error);

  g_assert_no_error (error);
  g_assert_nonnull (g);
  return g;
}

/* torchvision 0.14: sum(p.numel() for p in model.parameters()) */
static void
test_parameter_counts (void)
{
  static const struct { const char *arch; guint64 params; } counts[] = {
    { "lenet5", 61706 }, { "alexnet", 61100840 },
    { "vgg11", 132863336 }, { "vgg11_bn", 132868840 },
    { "vgg13", 133047848 }, { "vgg13_bn", 133053736 },
    { "vgg16", 138357544 }, { "vgg16_bn", 138365992 },
    { "vgg19", 143667240 }, { "vgg19_bn", 143678248 },
    { "resnet18", 11689512 }, { "resnet34", 21797672 },
    { "resnet50", 25557032 }, { "resnet101", 44549160 },
    { "resnet152", 60192808 }, { "googlenet", 6624904 },
    /* tests/torch_small.py's twins */
    { "resnet18_small", 701178 }, { "resnet34_small", 1334330 },
    { "plain18_small", 689978 }, { "plain34_small", 1323130 },
    { "googlenet_small", 354850 },
  };

  g_assert_cmpuint (convnet_arch_count (), ==, G_N_ELEMENTS (counts));
  for (guint i = 0; i < G_N_ELEMENTS (counts); i++)
    {
      ConvnetGraph *g = build (counts[i].arch, 0, 0);
      g_test_message ("%s: %" G_GUINT64_FORMAT, counts[i].arch,
                      convnet_graph_param_count (g));
      g_assert_cmpuint (convnet_graph_param_count (g), ==, counts[i].params);
      convnet_graph_free (g);
    }
}

static void
assert_node (ConvnetGraph *g, const char *name, int c, int h, int w)
{
  const ConvnetNodeInfo *info = convnet_graph_lookup (g, name);

  if (!info)
    g_error ("%s has no node '%s'", g->arch, name);
  g_assert_cmpint (info->shape.c, ==, c);
  g_assert_cmpint (info->shape.h, ==, h);
  g_assert_cmpint (info->shape.w, ==, w);
}

/* Output shapes of torchvision's modules at 224 x 224, as forward hooks
 * report them; blocks read their last node's output. */
static void
test_node_names_and_shapes (void)
{
  ConvnetGraph *g = build ("resnet50", 0, 0);

  assert_node (g, "conv1", 64, 112, 112);
  assert_node (g, "maxpool", 64, 56, 56);
  assert_node (g, "layer1", 256, 56, 56);
  assert_node (g, "layer2.1.conv2", 128, 28, 28);
  assert_node (g, "layer3.2", 1024, 14, 14);
  assert_node (g, "layer3.0.downsample.0", 1024, 14, 14);
  assert_node (g, "layer4", 2048, 7, 7);
  assert_node (g, "fc", 1000, 1, 1);
  g_assert_true (convnet_graph_lookup (g, "layer3.2")->is_block);
  g_assert_false (convnet_graph_lookup (g, "layer3.2.bn3")->is_block);
  g_assert_nonnull (convnet_graph_find_param (g, "layer1.0.downsample.1.running_var"));
  convnet_graph_free (g);

  g = build ("googlenet", 0, 0);
  assert_node (g, "conv1", 64, 112, 112);
  assert_node (g, "conv1.conv", 64, 112, 112);
  assert_node (g, "maxpool1", 64, 56, 56);
  assert_node (g, "inception3a", 256, 28, 28);
  assert_node (g, "inception4a.branch3.1", 48, 14, 14);
  assert_node (g, "inception4a.branch4.0", 480, 14, 14);
  assert_node (g, "maxpool4", 832, 7, 7);
  assert_node (g, "inception5b", 1024, 7, 7);
  convnet_graph_free (g);

  g = build ("vgg16", 0, 0);
  assert_node (g, "features.28", 512, 14, 14);
  assert_node (g, "features", 512, 7, 7);
  assert_node (g, "classifier.3", 4096, 1, 1);
  g_assert_true (convnet_graph_lookup (g, "classifier.3")->flat);
  convnet_graph_free (g);

  g = build ("alexnet", 0, 0);
  assert_node (g, "features.0", 64, 55, 55);
  assert_node (g, "features.12", 256, 6, 6);
  assert_node (g, "avgpool", 256, 6, 6);
  convnet_graph_free (g);

  g = build ("lenet5", 30, 30);
  assert_node (g, "2", 6, 15, 15);
  assert_node (g, "6", 400, 1, 1);
  convnet_graph_free (g);
}

static guint
count_ops (ConvnetGraph *g, ConvnetOpKind op)
{
  guint n = 0;

  for (guint i = 0; i < convnet_graph_n_nodes (g); i++)
    n += convnet_graph_node (g, (int) i)->op == op;
  return n;
}

/* The narrow 28x28 networks keep the full ones' names: a 3x3 stem at
 * stride 1 and no first max-pool, a quarter of the widths; the plain
 * ResNet has every layer but no shortcut. */
static void
test_small_variants (void)
{
  ConvnetGraph *g = build ("resnet18_small", 0, 0);

  g_assert_cmpint (convnet_graph_input_shape (g).c, ==, 1);
  assert_node (g, "conv1", 16, 28, 28);
  g_assert_null (convnet_graph_lookup (g, "maxpool"));
  assert_node (g, "layer1", 16, 28, 28);
  assert_node (g, "layer2.1", 32, 14, 14);
  assert_node (g, "layer3.0.downsample.1", 64, 7, 7);
  assert_node (g, "layer4", 128, 4, 4);
  assert_node (g, "fc", 10, 1, 1);
  g_assert_cmpuint (count_ops (g, CONVNET_OP_ADD), ==, 8);
  convnet_graph_free (g);

  g = build ("plain34_small", 0, 0);
  assert_node (g, "layer3.5", 64, 7, 7);
  g_assert_true (convnet_graph_lookup (g, "layer3.5")->is_block);
  g_assert_nonnull (convnet_graph_lookup (g, "layer3.5.bn2"));
  g_assert_null (convnet_graph_lookup (g, "layer2.0.downsample.0"));
  g_assert_cmpuint (count_ops (g, CONVNET_OP_ADD), ==, 0);
  g_assert_cmpuint (count_ops (g, CONVNET_OP_CONV2D), ==, 33);
  convnet_graph_free (g);

  g = build ("googlenet_small", 0, 0);
  assert_node (g, "conv1", 16, 28, 28);
  g_assert_null (convnet_graph_lookup (g, "maxpool1"));
  assert_node (g, "conv3", 48, 28, 28);
  assert_node (g, "maxpool2", 48, 14, 14);
  assert_node (g, "inception3a.branch2.0", 24, 14, 14);
  assert_node (g, "inception3a", 64, 14, 14);
  assert_node (g, "inception4e", 208, 7, 7);
  assert_node (g, "inception5b", 256, 4, 4);
  g_assert_cmpuint (count_ops (g, CONVNET_OP_CHANNEL_AFFINE), ==, 0);
  convnet_graph_free (g);
}

/* Convolution and linear multiply-accumulates at 224 x 224, counted by
 * forward hooks on torchvision's models. */
static void
test_macs (void)
{
  static const struct { const char *arch; guint64 macs; } counts[] = {
    { "resnet50", 4089184256 }, { "resnet18", 1814073344 },
    { "alexnet", 714188480 }, { "vgg16", 15470264320 },
    { "googlenet", 1498376192 },
  };

  for (guint i = 0; i < G_N_ELEMENTS (counts); i++)
    {
      ConvnetGraph *g = build (counts[i].arch, 0, 0);
      g_assert_cmpuint (convnet_graph_macs (g), ==, counts[i].macs);
      convnet_graph_free (g);
    }
}

static void
test_bad_builds (void)
{
  GError *error = NULL;

  g_assert_null (convnet_model_build ("resnet51", 0, 0, 0, &error));
  g_assert_error (error, CONVNET_ERROR, CONVNET_ERROR_ARGUMENT);
  g_assert_nonnull (strstr (error->message, "resnet51"));
  g_clear_error (&error);

  g_assert_null (convnet_model_build ("alexnet", 0, 32, 32, &error));
  g_assert_error (error, CONVNET_ERROR, CONVNET_ERROR_ARGUMENT);
  g_clear_error (&error);

  g_assert_null (convnet_model_build ("lenet5", 0, 32, 32, &error));
  g_assert_error (error, CONVNET_ERROR, CONVNET_ERROR_ARGUMENT);
  g_clear_error (&error);

  g_assert_null (convnet_model_build ("vgg11", 0, 100000, 224, &error));
  g_assert_error (error, CONVNET_ERROR, CONVNET_ERROR_ARGUMENT);
  g_clear_error (&error);
}

/* Intermediate buffers are reused: resnet50's plan holds a small part of
 * what one buffer per node would. */
static void
test_buffer_reuse (void)
{
  ConvnetGraph *g = build ("resnet50", 32, 32);
  float *input = g_new0 (float, 3 * 32 * 32);
  gsize every_node = 0;

  g_assert_true (convnet_graph_forward (g, input, 1, NULL));
  for (guint i = 1; i < g->nodes->len; i++)
    every_node += (gsize) convnet_graph_node (g, i)->shape.c
                  * convnet_graph_node (g, i)->shape.h
                  * convnet_graph_node (g, i)->shape.w * sizeof (float);
  g_test_message ("resnet50 at 32x32: %" G_GSIZE_FORMAT " bytes planned, "
                  "%" G_GSIZE_FORMAT " for one buffer per node",
                  convnet_graph_activation_bytes (g), every_node);
  g_assert_cmpuint (convnet_graph_activation_bytes (g) * 10, <, every_node);
  g_free (input);
  convnet_graph_free (g);
}

/* convnet_graph_prepare() makes a batch size's plan ahead of the forward,
 * which then runs on that plan and gives what a forward alone gives; a
 * batch below 1 is refused, naming it. */
static void
test_prepare (void)
{
  enum { BATCH = 3, SAMPLE = 3 * 32 * 32, CLASSES = 1000 };
  ConvnetGraph *prepared = build ("resnet18", 32, 32);
  ConvnetGraph *plain = build ("resnet18", 32, 32);
  float *input = g_new (float, BATCH * SAMPLE);
  GError *error = NULL;
  gsize planned;

  convnet_graph_init_random (prepared, 5);
  convnet_graph_init_random (plain, 5);
  for (int i = 0; i < BATCH * SAMPLE; i++)
    input[i] = (float) ((i * 7919) % 255) / 255.0f - 0.5f;

  g_assert_cmpuint (convnet_graph_activation_bytes (prepared), ==, 0);
  g_assert_true (convnet_graph_prepare (prepared, BATCH, &error));
  g_assert_no_error (error);
  planned = convnet_graph_activation_bytes (prepared);
  g_assert_cmpuint (planned, >, 0);

  g_assert_true (convnet_graph_forward (prepared, input, BATCH, &error));
  g_assert_true (convnet_graph_forward (plain, input, BATCH, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (convnet_graph_activation_bytes (prepared), ==, planned);
  g_assert_cmpuint (convnet_graph_activation_bytes (plain), ==, planned);
  g_assert_cmpmem (convnet_graph_output (prepared),
                   BATCH * CLASSES * sizeof (float),
                   convnet_graph_output (plain),
                   BATCH * CLASSES * sizeof (float));

  g_assert_false (convnet_graph_prepare (prepared, 0, &error));
  g_assert_error (error, CONVNET_ERROR, CONVNET_ERROR_ARGUMENT);
  g_assert_nonnull (strstr (error->message, "batch size 0"));
  g_clear_error (&error);
  g_free (input);
  convnet_graph_free (prepared);
  convnet_graph_free (plain);
}

/* A batch whose activations exceed the machine's memory is refused before
 * anything is allocated (an overcommitting kernel would grant it and kill
 * us later), and the graph still runs a batch that fits. */
static void
test_batch_larger_than_memory (void)
{
  ConvnetGraph *g = build ("resnet18_small", 28, 28);
  float *input = g_new0 (float, 2 * 28 * 28);
  GError *error = NULL;

  /* 16 x 28 x 28 floats per sample after the first convolution alone:
   * ten million samples are 500 GB; the input is never read */
  g_assert_false (convnet_graph_forward (g, input, 10000000, &error));
  g_assert_error (error, CONVNET_ERROR, CONVNET_ERROR_LIMIT);
  g_assert_nonnull (strstr (error->message, "GB of activations"));
  g_assert_nonnull (strstr (error->message, "batch 10000000"));
  g_clear_error (&error);
  g_assert_true (convnet_graph_forward (g, input, 2, &error));
  g_assert_no_error (error);
  g_free (input);
  convnet_graph_free (g);
}

static float *
expected (ConvnetWeightFile *file, const char *key, gsize *n)
{
  float *data = test_tensor_f32 (file, key, n, NULL);

  g_assert_nonnull (data);
  return data;
}

static void
assert_matches (const float *got, const float *want, gsize n)
{
  float scale = 1.0f;

  for (gsize i = 0; i < n; i++)
    scale = fmaxf (scale, fabsf (want[i]));
  for (gsize i = 0; i < n; i++)
    g_assert_cmpfloat (fabsf (got[i] - want[i]), <=, 1e-5f * scale);
}

/* LeNet-5 from a torch checkpoint: logits and hooked activations equal
 * PyTorch's, at 28 x 28 and at 30 x 30, with the same graph reused for a
 * second forward. */
static void
test_lenet5_matches_torch (void)
{
  static const char *const nodes[] = { "0", "3", "4", "5", "6", "10" };
  GError *error = NULL;
  char *path = fixture ("lenet5-expected.safetensors");
  char *weights = fixture ("lenet5.pth");
  ConvnetWeightFile *ref = convnet_weight_file_open (path, &error);

  g_assert_no_error (error);
  for (int size = 28; size <= 30; size += 2)
    {
      ConvnetGraph *g = build ("lenet5", size, size);
      char key[64];
      gsize n, n_input;
      float *input, *want;

      convnet_graph_load_weights (g, weights, &error);
      g_assert_no_error (error);
      for (guint i = 0; i < G_N_ELEMENTS (nodes); i++)
        g_assert_true (convnet_graph_retain (g, nodes[i], NULL));
      g_snprintf (key, sizeof key, "%d.input", size);
      input = expected (ref, key, &n_input);
      for (int pass = 0; pass < 2; pass++)
        {
          g_assert_true (convnet_graph_forward (g, input, 3, &error));
          g_snprintf (key, sizeof key, "%d.output", size);
          want = expected (ref, key, &n);
          g_assert_cmpuint (n, ==, 30);
          assert_matches (convnet_graph_output (g), want, n);
          g_free (want);
          for (guint i = 0; i < G_N_ELEMENTS (nodes); i++)
            {
              ConvnetShape shape;
              const float *act = convnet_graph_activation (g, nodes[i],
                                                           &shape, &error);
              g_assert_no_error (error);
              g_snprintf (key, sizeof key, "%d.act.%s", size, nodes[i]);
              want = expected (ref, key, &n);
              g_assert_cmpuint (n, ==, 3 * (gsize) shape.c * shape.h * shape.w);
              assert_matches (act, want, n);
              g_free (want);
            }
        }
      g_free (input);
      convnet_graph_free (g);
    }
  convnet_weight_file_free (ref);
  g_free (path);
  g_free (weights);
}

static void
test_activation_needs_retain (void)
{
  ConvnetGraph *g = build ("lenet5", 0, 0);
  float input[28 * 28] = { 0 };
  GError *error = NULL;

  convnet_graph_init_random (g, 7);
  g_assert_false (convnet_graph_forward (g, input, 0, &error));
  g_assert_error (error, CONVNET_ERROR, CONVNET_ERROR_ARGUMENT);
  g_clear_error (&error);
  g_assert_null (convnet_graph_activation (g, "3", NULL, &error));
  g_assert_error (error, CONVNET_ERROR, CONVNET_ERROR_ARGUMENT);
  g_clear_error (&error);

  g_assert_true (convnet_graph_forward (g, input, 1, NULL));
  g_assert_null (convnet_graph_activation (g, "3", NULL, &error));
  g_assert_error (error, CONVNET_ERROR, CONVNET_ERROR_ARGUMENT);
  g_clear_error (&error);
  /* the last node is always readable */
  g_assert_nonnull (convnet_graph_activation (g, "11", NULL, NULL));

  g_assert_false (convnet_graph_retain (g, "conv9", &error));
  g_assert_error (error, CONVNET_ERROR, CONVNET_ERROR_ARGUMENT);
  g_assert_nonnull (strstr (error->message, "conv9"));
  g_clear_error (&error);
  convnet_graph_free (g);
}

static void
assert_load_fails (const char *file, const char *const *needles)
{
  ConvnetGraph *g = build ("lenet5", 0, 0);
  char *path = fixture (file);
  GError *error = NULL;

  g_assert_false (convnet_graph_load_weights (g, path, &error));
  g_assert_error (error, CONVNET_ERROR, CONVNET_ERROR_MISMATCH);
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, path));
  for (int i = 0; needles[i]; i++)
    if (!strstr (error->message, needles[i]))
      g_error ("'%s' does not name '%s'", error->message, needles[i]);
  g_error_free (error);
  g_free (path);
  convnet_graph_free (g);
}

static void
test_load_mismatches (void)
{
  assert_load_fails ("lenet5-missing-key.pth",
                     (const char *const[]) { "7.bias", "[120]", NULL });
  assert_load_fails ("lenet5-unexpected-key.pth",
                     (const char *const[]) { "extra.weight", NULL });
  assert_load_fails ("lenet5-wrong-shape.pth",
                     (const char *const[]) { "3.weight", "[16, 6, 3, 3]",
                                             "[16, 6, 5, 5]", NULL });
  assert_load_fails ("lenet5-int-tensor.pth",
                     (const char *const[]) { "0.bias", "I64", NULL });
}

/* A file name from an address (download.pytorch.org's, or a mirror's)
 * tells its architecture: torchvision's names, and other releases of
 * them, which keep the stem and change the SHA-256 prefix. */
static void
test_arch_for_checkpoint (void)
{
  static const struct { const char *file, *arch; } cases[] = {
    { "resnet18-f37072fd.pth", "resnet18" },
    { "resnet18-0123abcd.pth", "resnet18" },
    { "resnet50-11ad3fa6.pth", "resnet50" },
    { "alexnet-owt-7be5be79.pth", "alexnet" },
    { "vgg11-8a719046.pth", "vgg11" },
    { "vgg11_bn-6002323d.pth", "vgg11_bn" },
    { "vgg19_bn-0123456789abcdef.pth", "vgg19_bn" },
    { "googlenet-1378be20.pth", "googlenet" },
    { "resnet18-f37072fd.safetensors", NULL },   /* not a checkpoint */
    { "resnet18.pth", NULL },                    /* no SHA-256 prefix */
    { "resnet18-f37.pth", NULL },                /* too short */
    { "resnet18-f37072fz.pth", NULL },           /* not hex */
    { "resnet-f37072fd.pth", NULL },
    { "alexnet-7be5be79.pth", NULL },            /* torchvision's is -owt- */
    { "myresnet18-f37072fd.pth", NULL },
    { "lenet5-fashion.safetensors", NULL },
    { "", NULL },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      const ConvnetArch *arch = convnet_arch_for_checkpoint (cases[i].file);

      if (g_strcmp0 (arch ? arch->name : NULL, cases[i].arch) != 0)
        g_error ("%s: %s, expected %s", cases[i].file,
                 arch ? arch->name : "none",
                 cases[i].arch ? cases[i].arch : "none");
    }
  g_assert_null (convnet_arch_for_checkpoint (NULL));
  /* no stem is another's prefix: each official name finds its own */
  for (guint a = 0; a < convnet_arch_count (); a++)
    {
      const ConvnetArch *arch = convnet_arch_nth (a);

      if (arch->checkpoint)
        g_assert_true (convnet_arch_for_checkpoint (arch->checkpoint) == arch);
    }
}

/* Profiling sums each node's forward time: nothing before it is on,
 * every convolution of resnet18_small takes time, the totals fit in the wall
 * time of the passes, and turning it on again starts from zero. */
static void
test_profile (void)
{
  GError       *error = NULL;
  ConvnetGraph *g = convnet_model_build ("resnet18_small", 0, 28, 28, &error);
  const ConvnetShape in = convnet_graph_input_shape (g);
  float        *input = g_new0 (float, (gsize) in.c * in.h * in.w);
  const guint   n = convnet_graph_n_nodes (g);
  double        total = 0.0, wall;
  guint         convs = 0, convs_timed = 0, named_conv1 = 0;
  gint64        start;

  g_assert_no_error (error);
  convnet_graph_init_random (g, 1);
  g_assert_cmpuint (n, >, 60);
  for (guint i = 0; i < n; i++)
    g_assert_cmpfloat (convnet_graph_node_seconds (g, i, NULL, NULL), ==, 0.0);

  convnet_graph_set_profiling (g, TRUE);
  start = g_get_monotonic_time ();
  for (int k = 0; k < 3; k++)
    g_assert_true (convnet_graph_forward (g, input, 1, NULL));
  wall = (g_get_monotonic_time () - start) / 1e6;
  for (guint i = 0; i < n; i++)
    {
      ConvnetOpKind op;
      const char   *name;
      const double  t = convnet_graph_node_seconds (g, i, &op, &name);

      g_assert_cmpfloat (t, >=, 0.0);
      total += t;
      if (op == CONVNET_OP_CONV2D)
        {
          convs++;
          convs_timed += t > 0.0;
          named_conv1 += g_strcmp0 (name, "conv1") == 0;
        }
    }
  g_assert_cmpuint (convs, ==, 20);
  g_assert_cmpuint (convs_timed, ==, convs);
  g_assert_cmpuint (named_conv1, ==, 1);
  g_assert_cmpfloat (total, >, 0.0);
  g_assert_cmpfloat (total, <=, wall + 1e-3);

  convnet_graph_set_profiling (g, TRUE);
  for (guint i = 0; i < n; i++)
    g_assert_cmpfloat (convnet_graph_node_seconds (g, i, NULL, NULL), ==, 0.0);
  convnet_graph_set_profiling (g, FALSE);
  g_assert_true (convnet_graph_forward (g, input, 1, NULL));
  g_assert_cmpfloat (convnet_graph_node_seconds (g, 0, NULL, NULL), ==, 0.0);

  g_free (input);
  convnet_graph_free (g);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/models/parameter-counts", test_parameter_counts);
  g_test_add_func ("/models/node-names-and-shapes", test_node_names_and_shapes);
  g_test_add_func ("/models/macs", test_macs);
  g_test_add_func ("/models/small-variants", test_small_variants);
  g_test_add_func ("/models/bad-builds", test_bad_builds);
  g_test_add_func ("/models/buffer-reuse", test_buffer_reuse);
  g_test_add_func ("/models/prepare", test_prepare);
  g_test_add_func ("/models/profile", test_profile);
  g_test_add_func ("/models/batch-larger-than-memory",
                   test_batch_larger_than_memory);
  g_test_add_func ("/models/lenet5-matches-torch", test_lenet5_matches_torch);
  g_test_add_func ("/models/activation-needs-retain", test_activation_needs_retain);
  g_test_add_func ("/models/load-mismatches", test_load_mismatches);
  g_test_add_func ("/models/arch-for-checkpoint", test_arch_for_checkpoint);
  return g_test_run ();
}
