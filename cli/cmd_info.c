/* cmd_info.c: `convnet models` and `convnet info`. */
#include "cli.h"

#include <stdio.h>

int
cmd_models (int argc, char **argv)
{
  GOptionContext *context = g_option_context_new ("- list the architectures");

  if (!cli_parse (context, &argc, &argv))
    return 1;
  g_option_context_free (context);

  printf ("%-16s %7s %13s %7s  %s\n", "model", "input", "parameters",
          "GMACs", "torchvision checkpoint");
  for (guint i = 0; i < convnet_arch_count (); i++)
    {
      const ConvnetArch *arch = convnet_arch_nth (i);
      GError *error = NULL;
      ConvnetGraph *g = convnet_model_build (arch->name, 0, 0, 0, &error);
      char *input;

      if (!g)
        return cli_fail_error (error);
      input = g_strdup_printf ("%dx%d", arch->default_height,
                               arch->default_width);
      printf ("%-16s %7s %13" G_GUINT64_FORMAT " %7.3f  %s\n", arch->name,
              input, convnet_graph_param_count (g),
              convnet_graph_macs (g) / 1e9,
              arch->checkpoint ? arch->checkpoint : "-");
      g_free (input);
      convnet_graph_free (g);
    }
  return 0;
}

int
cmd_info (int argc, char **argv)
{
  char *weights = NULL;
  int height = 0, width = 0;
  GOptionEntry entries[] = {
    { "weights", 'w', 0, G_OPTION_ARG_FILENAME, &weights,
      "checkpoint whose classifier size to use", "FILE" },
    { "height", 0, 0, G_OPTION_ARG_INT, &height, "input height", "H" },
    { "width", 0, 0, G_OPTION_ARG_INT, &width, "input width", "W" },
    { 0 }
  };
  GOptionContext *context = g_option_context_new ("MODEL - list every named node");
  GError *error = NULL;
  ConvnetModel *m;
  ConvnetGraph *g;
  ConvnetShape in;

  g_option_context_add_main_entries (context, entries, NULL);
  if (!cli_parse (context, &argc, &argv))
    return 1;
  g_option_context_free (context);
  if (argc != 2)
    return cli_fail ("info takes one MODEL (see 'convnet models')");

  m = cli_load_model (argv[1], weights, height, width, &error);
  if (!m)
    return cli_fail_error (error);
  g = m->graph;

  in = convnet_graph_input_shape (g);
  printf ("%s: input %d x %d x %d, %" G_GUINT64_FORMAT " parameters, "
          "%.3f GMACs\n\n", argv[1], in.c, in.h, in.w,
          convnet_graph_param_count (g), convnet_graph_macs (g) / 1e9);
  printf ("%-32s %-18s %-16s %12s %14s\n", "node", "op", "output",
          "parameters", "MACs");
  for (guint i = 0; i < convnet_graph_n_names (g); i++)
    {
      const ConvnetNodeInfo *info = convnet_graph_name_info (g, i);
      char *shape = g_strdup_printf ("%dx%dx%d", info->shape.c,
                                     info->shape.h, info->shape.w);
      printf ("%-32s %-18s %-16s %12" G_GUINT64_FORMAT " %14" G_GUINT64_FORMAT
              "\n", info->name,
              info->is_block ? "(block)" : convnet_op_name (info->op), shape,
              info->params, info->macs);
      g_free (shape);
    }
  convnet_model_free (m);
  g_free (weights);
  return 0;
}
