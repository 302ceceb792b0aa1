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

int
cmd_bench (int argc, char **argv)
{
  char *model = NULL, *weights = NULL;
  int batch = 1, threads = 2, iters = 10, size = 0;
  GOptionEntry entries[] = {
    { "model", 'm', 0, G_OPTION_ARG_STRING, &model, "architecture", "MODEL" },
    { "weights", 'w', 0, G_OPTION_ARG_FILENAME, &weights,
      "checkpoint (default: random weights)", "FILE" },
    { "batch", 'b', 0, G_OPTION_ARG_INT, &batch, "batch size (1)", "N" },
    { "threads", 't', 0, G_OPTION_ARG_INT, &threads, "threads (2)", "T" },
    { "iters", 'k', 0, G_OPTION_ARG_INT, &iters, "timed runs (10)", "K" },
    { "size", 's', 0, G_OPTION_ARG_INT, &size,
      "input height and width (default: the model's)", "PX" },
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

  g_free (times);
  g_free (input);
  convnet_model_free (m);
  g_free (model);
  g_free (weights);
  return 0;
}
