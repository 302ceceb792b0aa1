/* cmd_eval.c: `convnet eval`: accuracy, per-class accuracy and the
 * confusion matrix of a model on idx files or an image folder. */
#include "cli.h"
#include "train/train.h"

#include <stdio.h>

int
cmd_eval (int argc, char **argv)
{
  char *model = NULL, *weights = NULL, *mnist = NULL, *data_dir = NULL;
  int threads = 2;
  GOptionEntry entries[] = {
    { "model", 'm', 0, G_OPTION_ARG_STRING, &model,
      "architecture (not needed for our .safetensors)", "MODEL" },
    { "weights", 'w', 0, G_OPTION_ARG_FILENAME, &weights, "model file", "FILE" },
    { "mnist", 0, 0, G_OPTION_ARG_FILENAME, &mnist,
      "folder of idx files: its t10k test set", "DIR" },
    { "data", 'd', 0, G_OPTION_ARG_FILENAME, &data_dir,
      "image folder, one sub-folder per class", "DIR" },
    { "threads", 't', 0, G_OPTION_ARG_INT, &threads, "threads (2)", "T" },
    { 0 }
  };
  GOptionContext *context = g_option_context_new ("- measure accuracy");
  GError *error = NULL;
  ConvnetModel *m = NULL;
  ConvnetDataset *data = NULL;
  ConvnetEvaluation e = { 0 };
  int status = 1;

  g_option_context_add_main_entries (context, entries, NULL);
  if (!cli_parse (context, &argc, &argv))
    return 1;
  g_option_context_free (context);
  if (!weights || (!mnist == !data_dir))
    return cli_fail ("eval needs --weights and one of --mnist or --data");
  convnet_set_threads (threads);

  m = cli_load_model (model, weights, 0, 0, &error);
  if (!m)
    goto out;
  if (mnist)
    data = convnet_dataset_load_mnist (mnist, FALSE, &error);
  else
    {
      GPtrArray *skipped = g_ptr_array_new_with_free_func (g_free);
      data = convnet_dataset_load_folder (data_dir, skipped, &error);
      for (guint i = 0; i < skipped->len; i++)
        fprintf (stderr, "convnet: skipped %s\n",
                 (char *) g_ptr_array_index (skipped, i));
      g_ptr_array_unref (skipped);
    }
  if (!data)
    goto out;
  if (data->n_classes != m->n_classes)
    {
      g_set_error (&error, CONVNET_ERROR, CONVNET_ERROR_MISMATCH,
                   "%s has %d classes but the data has %d", weights,
                   m->n_classes, data->n_classes);
      goto out;
    }
  for (int c = 0; c < data->n_classes; c++)
    if (g_strcmp0 (data->class_names[c], m->labels[c]) != 0)
      fprintf (stderr, "convnet: class %d is '%s' in the data but '%s' in "
               "the model\n", c, data->class_names[c], m->labels[c]);
  if (!convnet_evaluate (m->graph, &m->preprocess, data, NULL, &e, &error))
    goto out;
  cli_print_evaluation (&e, m->labels);
  status = 0;

out:
  if (error)
    status = cli_fail_error (error);
  convnet_evaluation_clear (&e);
  convnet_dataset_free (data);
  convnet_model_free (m);
  g_free (model);
  g_free (weights);
  g_free (mnist);
  g_free (data_dir);
  return status;
}
