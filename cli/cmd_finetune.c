/* cmd_finetune.c: `convnet finetune`: a new classifier for the classes of
 * an image folder on top of a trained network. */
#include "cli.h"
#include "train/train.h"

#include <stdio.h>

int
cmd_finetune (int argc, char **argv)
{
  char *model = NULL, *weights = NULL, *data_dir = NULL, *out = NULL;
  char *augment = NULL, *freeze = NULL, *optimizer = NULL;
  gboolean last_block = FALSE;
  double lr = 1e-3, validation_share = 0.2;
  int epochs = 10, batch = 16, threads = 2;
  gint64 seed = 1;
  GOptionEntry entries[] = {
    { "model", 'm', 0, G_OPTION_ARG_STRING, &model,
      "base architecture (not needed for our .safetensors)", "MODEL" },
    { "weights", 'w', 0, G_OPTION_ARG_FILENAME, &weights, "base model file",
      "FILE" },
    { "data", 'd', 0, G_OPTION_ARG_FILENAME, &data_dir,
      "image folder, one sub-folder per class", "DIR" },
    { "out", 'o', 0, G_OPTION_ARG_FILENAME, &out, "model to write",
      "FILE.safetensors" },
    { "epochs", 'e', 0, G_OPTION_ARG_INT, &epochs, "epochs (10)", "N" },
    { "batch", 'b', 0, G_OPTION_ARG_INT, &batch, "batch size (16)", "B" },
    { "lr", 0, 0, G_OPTION_ARG_DOUBLE, &lr, "learning rate (1e-3)", "LR" },
    { "optimizer", 0, 0, G_OPTION_ARG_STRING, &optimizer,
      "sgd, adam or adamw (adam)", "NAME" },
    { "augment", 0, 0, G_OPTION_ARG_STRING, &augment,
      "flip,crop,rotate,color,erase (none: features are computed once)",
      "LIST" },
    { "train-last-block", 0, 0, G_OPTION_ARG_NONE, &last_block,
      "also train the last block", NULL },
    { "freeze", 0, 0, G_OPTION_ARG_STRING, &freeze,
      "freeze every node up to this one (default: the classifier's input)",
      "NODE" },
    { "validation", 0, 0, G_OPTION_ARG_DOUBLE, &validation_share,
      "held-out share of each class (0.2)", "SHARE" },
    { "seed", 's', 0, G_OPTION_ARG_INT64, &seed, "random seed (1)", "S" },
    { "threads", 't', 0, G_OPTION_ARG_INT, &threads, "threads (2)", "T" },
    { 0 }
  };
  GOptionContext *context = g_option_context_new ("- fine-tune on an image folder");
  GError *error = NULL;
  ConvnetDataset *data = NULL;
  ConvnetFinetuneSettings s;
  ConvnetFinetuneResult result = { 0 };
  GPtrArray *skipped;
  int status = 1;

  g_option_context_add_main_entries (context, entries, NULL);
  if (!cli_parse (context, &argc, &argv))
    return 1;
  g_option_context_free (context);
  if (!weights || !data_dir || !out)
    return cli_fail ("finetune needs --weights, --data and --out");
  convnet_set_threads (threads);

  convnet_finetune_defaults (&s);
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
