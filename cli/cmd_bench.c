/* cmd_bench.c: `convnet bench`: forward latency (median and minimum over
 * K timed runs after one warm-up) and the arithmetic rate it implies. */
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>

static int
compare_doubles (const void *a, const void *b)
{
  const double x = *(const double *) a, y = *(const double *) b;

  return (x > y) - (x < y);
}

typedef struct
{
  guint  node;
  double seconds;
} NodeTime;

static int
compare_node_times (const void *a, const void *b)
{
  const double x = ((const NodeTime *) a)->seconds;
  const double y = ((const NodeTime *) b)->seconds;

  return (x < y) - (x > y);
}

/* ITERS forward passes with profiling on (apart from the timed ones,
 * whose figures it would change a little): milliseconds per pass for
 * each op kind, and the ten slowest nodes. */
static void
print_profile (ConvnetGraph *g, const float *input, int batch, int iters)
{
  const guint n = convnet_graph_n_nodes (g);
  double by_op[64] = { 0 }, total = 0.0;
  NodeTime *nodes = g_new (NodeTime, n);

  convnet_graph_set_profiling (g, TRUE);
  for (int k = 0; k < iters; k++)
    convnet_graph_forward (g, input, batch, NULL);
  for (guint i = 0; i < n; i++)
    {
      ConvnetOpKind op;
      const double t = convnet_graph_node_seconds (g, i, &op, NULL) / iters;

      by_op[(guint) op < G_N_ELEMENTS (by_op) ? op : 0] += t;
      total += t;
      nodes[i].node = i;
      nodes[i].seconds = t;
    }
  printf ("profile: %.2f ms a forward pass in its nodes\n", total * 1e3);
  for (guint op = 0; op < G_N_ELEMENTS (by_op); op++)
    if (by_op[op] > 0.0)
      printf ("  %-18s %8.3f ms  %5.1f %%\n", convnet_op_name (op),
              by_op[op] * 1e3, 100.0 * by_op[op] / total);
  qsort (nodes, n, sizeof *nodes, compare_node_times);
  printf ("slowest nodes:\n");
  for (guint i = 0; i < MIN (n, 10); i++)
    {
      ConvnetOpKind op;
      const char *name;

      convnet_graph_node_seconds (g, nodes[i].node, &op, &name);
      printf ("  %-28s %-18s %8.3f ms\n", name ? name : "(unnamed)",
              convnet_op_name (op), nodes[i].seconds * 1e3);
    }
  convnet_graph_set_profiling (g, FALSE);
  g_free (nodes);
}

int
cmd_bench (int argc, char **argv)
{
  char *model = NULL, *weights = NULL;
  int batch = 1, threads = 2, iters = 10, size = 0;
  gboolean profile = FALSE;
  GOptionEntry entries[] = {
    { "model", 'm', 0, G_OPTION_ARG_STRING, &model, "architecture", "MODEL" },
    { "weights", 'w', 0, G_OPTION_ARG_FILENAME, &weights,
      "checkpoint (default: random weights)", "FILE" },
    { "batch", 'b', 0, G_OPTION_ARG_INT, &batch, "batch size (1)", "N" },
    { "threads", 't', 0, G_OPTION_ARG_INT, &threads, "threads (2)", "T" },
    { "iters", 'k', 0, G_OPTION_ARG_INT, &iters, "timed runs (10)", "K" },
    { "size", 's', 0, G_OPTION_ARG_INT, &size,
      "input height and width (default: the model's)", "PX" },
    { "profile", 'p', 0, G_OPTION_ARG_NONE, &profile,
      "then K more runs timing each node: time per op kind and the "
      "slowest nodes", NULL },
    { 0 }
  };
  GOptionContext *context = g_option_context_new ("- time forward passes");
  GError *error = NULL;
  ConvnetModel *m;
  ConvnetGraph *g;
  ConvnetShape in;
  float *input;
  double *times, gmacs;
  gsize numel;

  g_option_context_add_main_entries (context, entries, NULL);
  if (!cli_parse (context, &argc, &argv))
    return 1;
  g_option_context_free (context);
  if (!model && !weights)
    return cli_fail ("bench needs --model (see 'convnet models')");
  if (batch < 1 || batch > 4096 || iters < 1 || iters > 100000 || threads < 1)
    return cli_fail ("bench: --batch 1..4096, --iters 1..100000 and "
                     "--threads >= 1");
  convnet_set_threads (threads);

  m = cli_load_model (model, weights, size, size, &error);
  if (!m)
    return cli_fail_error (error);
  g = m->graph;
  in = convnet_graph_input_shape (g);
  numel = (gsize) batch * in.c * in.h * in.w;
  input = g_try_new (float, numel);
  if (!input)
    return cli_fail ("bench: cannot allocate %.1f GB for a batch of %d "
                     "inputs of %dx%d", numel * sizeof (float) / 1e9, batch,
                     in.h, in.w);
  for (gsize i = 0; i < numel; i++)
    input[i] = (float) ((i * 2654435761u) % 1000) / 1000.0f - 0.5f;

  times = g_new (double, iters);
  if (!convnet_graph_forward (g, input, batch, &error))
    return cli_fail_error (error);
  for (int k = 0; k < iters; k++)
    {
      gint64 start = g_get_monotonic_time ();
      convnet_graph_forward (g, input, batch, NULL);
      times[k] = (g_get_monotonic_time () - start) / 1000.0;
    }
  qsort (times, iters, sizeof (double), compare_doubles);
  gmacs = convnet_graph_macs (g) * (double) batch / 1e9;
  printf ("convnet %s batch=%d threads=%d input=%dx%d median_ms=%.2f "
          "min_ms=%.2f GFLOP/s=%.1f\n", m->arch, batch, threads, in.h, in.w,
          times[iters / 2], times[0], 2.0 * gmacs / (times[iters / 2] / 1000.0));
  if (profile)
    print_profile (g, input, batch, iters);

  g_free (times);
  g_free (input);
  convnet_model_free (m);
  g_free (model);
  g_free (weights);
  return 0;
}
