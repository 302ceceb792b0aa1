/* cmd_finetune.c: `convnet finetune`: a new classifier for the classes of
 * an image folder on top of a trained network. */
#include "cli.h"
#include "train/train.h"

#include <stdio.h>

int
cmd_finetune (int argc, char **argv)
{
  ConvnetFinetuneSettings s;
  char *model = NULL, *weights = NULL, *data_dir = NULL, *out = NULL;
  char *augment = NULL, *freeze = NULL, *optimizer = NULL;
  gboolean last_block;
  double lr, validation_share;
  int epochs, batch, threads = 2;
  gint64 seed;
  char *help[6];
  GOptionEntry entries[] = {
    { "model", 'm', 0, G_OPTION_ARG_STRING, &model,
      "base architecture (not needed for our .safetensors)", "MODEL" },
    { "weights", 'w', 0, G_OPTION_ARG_FILENAME, &weights, "base model file",
      "FILE" },
    { "data", 'd', 0, G_OPTION_ARG_FILENAME, &data_dir,
      "image folder, one sub-folder per class", "DIR" },
    { "out", 'o', 0, G_OPTION_ARG_FILENAME, &out, "model to write",
      "FILE.safetensors" },
    { "epochs", 'e', 0, G_OPTION_ARG_INT, &epochs, NULL, "N" },
    { "batch", 'b', 0, G_OPTION_ARG_INT, &batch, NULL, "B" },
    { "lr", 0, 0, G_OPTION_ARG_DOUBLE, &lr, NULL, "LR" },
    { "optimizer", 0, 0, G_OPTION_ARG_STRING, &optimizer, NULL, "NAME" },
    { "augment", 0, 0, G_OPTION_ARG_STRING, &augment,
      "flip,crop,rotate,color,erase (none: features are computed once)",
      "LIST" },
    { "train-last-block", 0, 0, G_OPTION_ARG_NONE, &last_block,
      "also train the last block", NULL },
    { "freeze", 0, 0, G_OPTION_ARG_STRING, &freeze,
      "freeze every node up to this one (default: the classifier's input)",
      "NODE" },
    { "validation", 0, 0, G_OPTION_ARG_DOUBLE, &validation_share, NULL,
      "SHARE" },
    { "seed", 's', 0, G_OPTION_ARG_INT64, &seed, NULL, "S" },
    { "threads", 't', 0, G_OPTION_ARG_INT, &threads, "threads (2)", "T" },
    { 0 }
  };
  GOptionContext *context = g_option_context_new ("- fine-tune on an image folder");
  GError *error = NULL;
  ConvnetDataset *data = NULL;
  ConvnetFinetuneResult result = { 0 };
  GPtrArray *skipped;
  gboolean parsed;
  int status = 1;

  convnet_finetune_defaults (&s);
  epochs = s.epochs;
  batch = s.batch_size;
  lr = s.lr;
  validation_share = s.validation_share;
  seed = (gint64) s.seed;
  last_block = s.train_last_block;
  /* the help shows the engine's defaults, which the dialog and the
   * plug-in start from too */
  help[0] = g_strdup_printf ("epochs (default: %d)", s.epochs);
  help[1] = g_strdup_printf ("batch size (default: %d)", s.batch_size);
  help[2] = g_strdup_printf ("learning rate (default: %g)", s.lr);
  help[3] = g_strdup_printf ("sgd, adam or adamw (default: %s)",
                             convnet_optimizer_kind_name (s.optimizer));
  help[4] = g_strdup_printf ("held-out share of each class; the epoch best "
                             "on it is kept (default: %g)",
                             s.validation_share);
  help[5] = g_strdup_printf ("random seed (default: %" G_GUINT64_FORMAT ")",
                             s.seed);
  /* in the order of the entries without a description */
  for (guint i = 0, k = 0; entries[i].long_name; i++)
    if (!entries[i].description)
      entries[i].description = help[k++];

  g_option_context_add_main_entries (context, entries, NULL);
  parsed = cli_parse (context, &argc, &argv);
  g_option_context_free (context);
  for (guint k = 0; k < G_N_ELEMENTS (help); k++)
    g_free (help[k]);
  if (!parsed)
    return 1;
  if (!weights || !data_dir || !out)
    return cli_fail ("finetune needs --weights, --data and --out");
  convnet_set_threads (threads);

  s.base_weights = weights;
  s.base_arch = model;
  s.freeze_through = freeze;
  s.train_last_block = last_block;
  s.epochs = epochs;
  s.batch_size = batch;
  s.lr = lr;
  s.validation_share = validation_share;
  s.seed = (guint64) seed;
  s.callback = cli_print_progress;
  s.user_data = "val";
  if ((optimizer && !convnet_optimizer_kind_from_string (optimizer,
                                                         &s.optimizer, &error))
      || !cli_parse_augment (augment, &s.augment, &error))
    goto out;

  skipped = g_ptr_array_new_with_free_func (g_free);
  data = convnet_dataset_load_folder (data_dir, skipped, &error);
  for (guint i = 0; i < skipped->len; i++)
    fprintf (stderr, "convnet: skipped %s\n",
             (char *) g_ptr_array_index (skipped, i));
  g_ptr_array_unref (skipped);
  if (!data || !convnet_finetune (&s, data, out, &result, &error))
    goto out;

  printf ("\nfrozen through '%s'; %u training images, %u held out; %.1f s\n",
          result.freeze_through, result.n_train, result.validation.n,
          result.seconds);
  if (result.validation.epoch > 0)
    printf ("kept epoch %d, the best on the held-out images\n",
            result.validation.epoch);
  cli_print_evaluation (&result.validation, result.class_names);
  printf ("wrote %s\n", out);
  status = 0;

out:
  if (error)
    status = cli_fail_error (error);
  convnet_finetune_result_clear (&result);
  convnet_dataset_free (data);
  g_free (model);
  g_free (weights);
  g_free (data_dir);
  g_free (out);
  g_free (augment);
  g_free (freeze);
  g_free (optimizer);
  return status;
}
