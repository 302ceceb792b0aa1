/* test_op_table.c: the op table (engine/graph_ops.c) has an entry for
 * every op kind, with the name `convnet info` has always printed and the
 * functions every node needs; its flags agree with what the builders
 * make; and the forward plan follows its in-place and view flags. */
#include "graph_ops.h"
#include "test_util.h"

#include <string.h>

/* The names printed before the table existed, in ConvnetOpKind order. */
static const char *const printed_names[] = {
  "Input", "Conv2d", "MaxPool2d", "AvgPool2d", "AdaptiveAvgPool2d",
  "BatchNorm2d", "ReLU", "Sigmoid", "Tanh", "Linear", "Flatten", "Dropout",
  "Concat", "Add", "Softmax", "LocalResponseNorm", "ChannelAffine",
};

static void
test_every_kind_has_an_entry (void)
{
  g_assert_cmpuint (G_N_ELEMENTS (printed_names), ==, CONVNET_OP_KIND_COUNT);
  for (int op = 0; op < CONVNET_OP_KIND_COUNT; op++)
    {
      const ConvnetOpClass *cls = convnet_op_class (op);

      g_test_message ("%d: %s", op, printed_names[op]);
      g_assert_nonnull (cls);
      g_assert_cmpstr (cls->name, ==, printed_names[op]);
      g_assert_cmpstr (convnet_op_name (op), ==, printed_names[op]);
      g_assert_nonnull (cls->forward);
      g_assert_nonnull (cls->backward);
      /* a view's output is its input: writing over it would be a bug */
      g_assert_false ((cls->flags & CONVNET_OP_OVERWRITES_INPUT)
                      && (cls->flags & (CONVNET_OP_VIEW
                                        | CONVNET_OP_VIEW_UNLESS_TRAINING)));
    }
  g_assert_cmpstr (convnet_op_name (CONVNET_OP_KIND_COUNT), ==, "?");
  g_assert_cmpstr (convnet_op_name ((ConvnetOpKind) -1), ==, "?");
}

/* A node has parameters exactly when its op's entry says so, and the
 * convolutions other than 1x1 ask for a workspace, in architectures that
 * have every op with parameters (conv with and without bias). */
static void
test_flags_match_the_builders (void)
{
  static const char *const archs[] = {
    "lenet5", "alexnet", "vgg11_bn", "resnet18", "googlenet"
  };

  for (guint a = 0; a < G_N_ELEMENTS (archs); a++)
    {
      const char *arch = archs[a];
      GError *error = NULL;
      ConvnetGraph *g = convnet_model_build (arch, 0, 0, 0, &error);
      guint with_params = 0, convs_with_scratch = 0;

      g_assert_no_error (error);
      for (guint i = 0; i < g->nodes->len; i++)
        {
          const ConvnetNode *node = convnet_graph_node (g, i);
          const ConvnetOpClass *cls = convnet_op_class (node->op);

          if ((node->n_params > 0) != !!(cls->flags & CONVNET_OP_HAS_PARAMS))
            g_error ("%s node %u (%s): %d parameters", arch, i, cls->name,
                     node->n_params);
          with_params += node->n_params > 0;
          if (node->op == CONVNET_OP_CONV2D)
            {
              g_assert_nonnull (cls->forward_scratch);
              g_assert_nonnull (cls->backward_scratch);
              convs_with_scratch += cls->forward_scratch (node) > 0;
            }
        }
      g_assert_cmpuint (with_params, >, 0);
      g_assert_cmpuint (convs_with_scratch, >, 0);
      convnet_graph_free (g);
    }
}

/* conv -> ReLU -> Flatten -> Dropout -> Linear: the ReLU writes over the
 * convolution's output, Flatten is a view, Dropout too except when it
 * trains, and the results do not depend on any of that. */
static void
test_plan_follows_the_flags (void)
{
  GError *error = NULL;
  ConvnetGraph *g = convnet_graph_new ("tiny", 1, 6, 6);
  const int conv = convnet_conv2d (g, "conv", 0, 2, 3, 1, 1, 1, 1, TRUE,
                                   &error);
  const int relu = convnet_activation (g, CONVNET_OP_RELU, "relu", conv);
  const int flat = convnet_flatten (g, "flat", relu);
  const int drop = convnet_dropout (g, "drop", flat, 0.5f);
  const int fc = convnet_linear (g, "fc", drop, 3, TRUE, &error);
  float input[2 * 36];
  int targets[2] = { 0, 2 };
  float loss;

  g_assert_no_error (error);
  g_assert_true (convnet_graph_finish (g, &error));
  g_assert_no_error (error);
  convnet_graph_init_random (g, 5);
  for (int k = 0; k < 2 * 36; k++)
    input[k] = (float) ((k * 7) % 11) - 5.0f;

  g_assert_true (convnet_graph_forward (g, input, 2, &error));
  g_assert_true (convnet_graph_node (g, relu)->out
                 == convnet_graph_node (g, conv)->out);
  g_assert_true (convnet_graph_node (g, flat)->out
                 == convnet_graph_node (g, relu)->out);
  g_assert_true (convnet_graph_node (g, drop)->out
                 == convnet_graph_node (g, flat)->out);
  g_assert_true (convnet_graph_node (g, fc)->out
                 != convnet_graph_node (g, drop)->out);
  for (int k = 0; k < 2 * 2 * 36; k++)
    g_assert_cmpfloat (convnet_graph_node (g, relu)->out[k], >=, 0.0f);

  convnet_graph_set_training (g, TRUE, 9);
  g_assert_true (convnet_graph_forward (g, input, 2, &error));
  g_assert_no_error (error);
  g_assert_true (convnet_graph_node (g, drop)->out
                 != convnet_graph_node (g, flat)->out);
  g_assert_nonnull (convnet_graph_node (g, drop)->mask);
  g_assert_true (convnet_graph_loss (g, targets, 0.0f, &loss, &error));
  g_assert_true (convnet_graph_backward (g, &error));
  g_assert_no_error (error);
  convnet_graph_free (g);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/op-table/every-kind-has-an-entry",
                   test_every_kind_has_an_entry);
  g_test_add_func ("/op-table/flags-match-the-builders",
                   test_flags_match_the_builders);
  g_test_add_func ("/op-table/plan-follows-the-flags",
                   test_plan_follows_the_flags);
  return g_test_run ();
}
