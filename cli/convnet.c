/* convnet.c: the command-line front end: models, info, classify, run,
 * bench.  Errors are one line on stderr and a non-zero exit. */
#include "cli.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int
cli_fail (const char *fmt, ...)
{
  va_list ap;
  char *message;

  va_start (ap, fmt);
  message = g_strdup_vprintf (fmt, ap);
  va_end (ap);
  /* one line, whatever the message holds */
  g_strdelimit (message, "\n\r", ' ');
  fprintf (stderr, "convnet: %s\n", message);
  g_free (message);
  return 1;
}

int
cli_fail_error (GError *error)
{
  int status = cli_fail ("%s", error->message);

  g_error_free (error);
  return status;
}

gboolean
cli_parse (GOptionContext *context, int *argc, char ***argv)
{
  GError *error = NULL;

  if (!g_option_context_parse (context, argc, argv, &error))
    {
      cli_fail ("%s", error->message);
      g_error_free (error);
      return FALSE;
    }
  return TRUE;
}

/* The classifier's output size in a checkpoint: the last linear layer's
 * bias length, found by the architecture's classifier name. */
static int
classes_in_file (const ConvnetWeightFile *file, const char *arch)
{
  static const struct { const char *family; const char *key; } heads[] = {
    { "lenet", "11.bias" }, { "alexnet", "classifier.6.bias" },
    { "vgg", "classifier.6.bias" }, { "resnet", "fc.bias" },
    { "googlenet", "fc.bias" },
  };
  const ConvnetArch *a = convnet_arch_lookup (arch);

  for (guint i = 0; a && i < G_N_ELEMENTS (heads); i++)
    if (strcmp (heads[i].family, a->family) == 0)
      {
        const ConvnetTensorEntry *bias =
          convnet_weight_file_lookup (file, heads[i].key);
        if (bias && bias->ndim == 1 && bias->shape[0] > 0
            && bias->shape[0] <= G_MAXINT)
          return (int) bias->shape[0];
      }
  return 0;
}

ConvnetGraph *
cli_load_model (const char *model, const char *weights, int height,
                int width, GError **error)
{
  ConvnetWeightFile *file = NULL;
  ConvnetGraph *graph;

  if (weights)
    {
      file = convnet_weight_file_open (weights, error);
      if (!file)
        return NULL;
    }
  graph = convnet_model_build (model, file ? classes_in_file (file, model) : 0,
                               height, width, error);
  if (graph && file && !convnet_graph_load_weight_file (graph, file, error))
    g_clear_pointer (&graph, convnet_graph_free);
  else if (graph && !file)
    convnet_graph_init_random (graph, 1);
  convnet_weight_file_free (file);
  return graph;
}

static const struct
{
  const char *name;
  int (*run) (int argc, char **argv);
  const char *summary;
} commands[] = {
  { "models", cmd_models, "list the architectures with parameters and GMACs" },
  { "info", cmd_info, "MODEL [--weights FILE]: every named node" },
  { "classify", cmd_classify,
    "--model M --weights W [--top K] [--json] IMAGE...: top-K labels" },
  { "run", cmd_run,
    "--model M --weights W --input IN.npy --output OUT.npy [--layer NODE]" },
  { "bench", cmd_bench,
    "--model M [--weights W] [--batch N] [--threads T] [--iters K]" },
};

static void
usage (FILE *out)
{
  fprintf (out, "usage: convnet COMMAND [OPTIONS]\n\ncommands:\n");
  for (guint i = 0; i < G_N_ELEMENTS (commands); i++)
    fprintf (out, "  %-9s %s\n", commands[i].name, commands[i].summary);
  fprintf (out, "\n'convnet COMMAND --help' describes each command.\n");
}

int
main (int argc, char **argv)
{
  if (argc < 2)
    {
      usage (stderr);
      return 2;
    }
  if (strcmp (argv[1], "--help") == 0 || strcmp (argv[1], "-h") == 0
      || strcmp (argv[1], "help") == 0)
    {
      usage (stdout);
      return 0;
    }
  for (guint i = 0; i < G_N_ELEMENTS (commands); i++)
    if (strcmp (argv[1], commands[i].name) == 0)
      return commands[i].run (argc - 1, argv + 1);
  return cli_fail ("unknown command '%s' (try 'convnet --help')", argv[1]);
}
