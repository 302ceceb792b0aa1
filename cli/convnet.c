/* convnet.c: the command-line front end: models, info, classify, run,
 * explain, bench.  Errors are one line on stderr and a non-zero exit. */
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

ConvnetModel *
cli_load_model (const char *model, const char *weights, int height,
                int width, GError **error)
{
  if (weights)
    return convnet_model_load (weights, model, height, width, error);
  if (!model)
    {
      g_set_error (error, CONVNET_ERROR, CONVNET_ERROR_ARGUMENT,
                   "name a --model or give --weights");
      return NULL;
    }
  return convnet_model_new_random (model, height, width, 1, error);
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
  { "explain", cmd_explain,
    "--model M --weights W [--class K] [--node NODE] --output CAM.npy "
    "(IMAGE | --input IN.npy): Grad-CAM map" },
  { "bench", cmd_bench,
    "--model M [--weights W] [--batch N] [--threads T] [--iters K]" },
  { "train", cmd_train,
    "--model M (--mnist DIR | --data DIR) --out FILE [--epochs N] ..." },
  { "eval", cmd_eval,
    "--weights W [--model M] (--mnist DIR | --data DIR): accuracy" },
  { "finetune", cmd_finetune,
    "--weights W --data DIR --out FILE [--augment LIST] [--train-last-block]" },
  { "fetch", cmd_fetch,
    "MODEL... | --url URL [--dir DIR]: download official checkpoints" },
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
