/* cmd_train.c: `convnet train` (from scratch, on idx files or an image
 * folder) and `convnet eval` (accuracy, per class, confusion matrix). */
#include "cli.h"
#include "train/train.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

gboolean
cli_parse_augment (const char *spec, guint *flags, GError **error)
{
  static const struct { const char *name; guint flag; } names[] = {
    { "flip", CONVNET_AUGMENT_FLIP }, { "crop", CONVNET_AUGMENT_CROP },
    { "color", CONVNET_AUGMENT_COLOR }, { "colour", CONVNET_AUGMENT_COLOR },
    { "rotate", CONVNET_AUGMENT_ROTATE }, { "erase", CONVNET_AUGMENT_ERASE },
    { "shift", CONVNET_AUGMENT_SHIFT },
    { "all", CONVNET_AUGMENT_ALL }, { "none", 0 },
  };
  char **parts = g_strsplit (spec ? spec : "none", ",", -1);

  *flags = 0;
  for (int i = 0; parts[i]; i++)
    {
      guint k;
      for (k = 0; k < G_N_ELEMENTS (names); k++)
        if (strcmp (g_strstrip (parts[i]), names[k].name) == 0)
          break;
      if (k == G_N_ELEMENTS (names))
        {
          g_set_error (error, CONVNET_ERROR, CONVNET_ERROR_ARGUMENT,
                       "unknown augmentation '%s' in '%s' (use flip, crop, "
                       "rotate, color, erase, shift, all or none)", parts[i], spec);
          g_strfreev (parts);
          return FALSE;
        }
      *flags |= names[k].flag;
    }
  g_strfreev (parts);
  return TRUE;
}

gboolean
cli_print_progress (const ConvnetTrainProgress *p, gpointer user_data)
{
  const gboolean tty = isatty (fileno (stderr));

  (void) user_data;
  if (p->epoch_done)
    {
      if (tty)
        fprintf (stderr, "\r\033[K");
      printf ("epoch %3d/%d  loss %.4f  train %6.2f%%", p->epoch, p->epochs,
              p->train_loss, 100.0 * p->train_accuracy);
      if (p->val_accuracy >= 0)
        printf ("  %s %6.2f%%", (const char *) (user_data ? user_data : "val"),
                100.0 * p->val_accuracy);
      printf ("  lr %.3g  %.1f s\n", p->lr, p->seconds);
      fflush (stdout);
    }
  else if (tty && p->total)
    {
      const int width = 30, filled = (int) ((double) width * p->done / p->total);
      fprintf (stderr, "\r%s %d/%d [%.*s%*s] %3d%%", p->stage, p->epoch,
               p->epochs, filled, "##############################",
               width - filled, "", (int) (100.0 * p->done / p->total));
      if (strcmp (p->stage, "train") == 0)
        fprintf (stderr, "  loss %.4f  acc %5.1f%%", p->train_loss,
                 100.0 * p->train_accuracy);
      fflush (stderr);
    }
  return TRUE;
}

void
cli_print_evaluation (const ConvnetEvaluation *e, char **names)
{
  printf ("accuracy %.4f (%u images), loss %.4f\n\nper class:\n", e->accuracy,
          e->n, e->loss);
  for (int c = 0; c < e->n_classes; c++)
    if (isnan (e->class_accuracy[c]))
      printf ("  %3d %-24s      -\n", c, names[c]);
    else
      printf ("  %3d %-24s %.4f\n", c, names[c], e->class_accuracy[c]);
  printf ("\nconfusion matrix (rows: true class, columns: predicted):\n     ");
  for (int c = 0; c < e->n_classes; c++)
    printf ("%6d", c);
  printf ("\n");
  for (int t = 0; t < e->n_classes; t++)
    {
      printf ("  %3d", t);
      for (int c = 0; c < e->n_classes; c++)
        printf ("%6u", e->confusion[(gsize) t * e->n_classes + c]);
      printf ("\n");
    }
}

/* `--log FILE`: the per-epoch figures as CSV, rewritten whole (and so
 * atomically) after every epoch, so that a stopped run leaves what it did */
typedef struct
{
  const char *label;      /* "test" or "val" */
  const char *path;       /* NULL: no log */
  GString    *csv;
  GError     *error;
} TrainLog;

static gboolean
train_progress (const ConvnetTrainProgress *p, gpointer user_data)
{
  TrainLog *log = user_data;

  cli_print_progress (p, (gpointer) log->label);
  if (!p->epoch_done || !log->path)
    return TRUE;
  if (log->csv->len == 0)
    g_string_append_printf (log->csv, "epoch,train_loss,train_error,"
                            "%s_loss,%s_error,lr,seconds\n", log->label,
                            log->label);
  g_string_append_printf (log->csv, "%d,%.6f,%.6f,%.6f,%.6f,%.6g,%.2f\n",
                          p->epoch, p->train_loss, 1.0 - p->train_accuracy,
                          p->val_loss, 1.0 - p->val_accuracy, p->lr,
                          p->seconds);
  return convnet_text_file_write (log->path, "log", log->csv, &log->error);
}

static char *
command_line (int argc, char **argv)
{
  GString *s = g_string_new ("convnet");

  for (int i = 0; i < argc; i++)
    {
      char *quoted = g_shell_quote (argv[i]);
      g_string_append_printf (s, " %s", quoted);
      g_free (quoted);
    }
  return g_string_free (s, FALSE);
}

int
cmd_train (int argc, char **argv)
{
  char *model = NULL, *mnist = NULL, *data_dir = NULL, *out = NULL;
  char *optimizer = NULL, *schedule = NULL, *augment = NULL, *log_path = NULL;
  double lr = 1e-3, weight_decay = 0.0, momentum = 0.9, smoothing = 0.0;
  double validation_share = 0.2, crop_scale = 0.0, ema = 0.0;
  int epochs = 10, batch = 64, threads = 2;
  gint64 seed = 1;
  GOptionEntry entries[] = {
    { "model", 'm', 0, G_OPTION_ARG_STRING, &model, "architecture", "MODEL" },
    { "mnist", 0, 0, G_OPTION_ARG_FILENAME, &mnist,
      "folder of MNIST-style idx files (test set: t10k)", "DIR" },
    { "data", 'd', 0, G_OPTION_ARG_FILENAME, &data_dir,
      "image folder, one sub-folder per class", "DIR" },
    { "out", 'o', 0, G_OPTION_ARG_FILENAME, &out, "model to write",
      "FILE.safetensors" },
    { "epochs", 'e', 0, G_OPTION_ARG_INT, &epochs, "epochs (10)", "N" },
    { "batch", 'b', 0, G_OPTION_ARG_INT, &batch, "batch size (64)", "B" },
    { "lr", 0, 0, G_OPTION_ARG_DOUBLE, &lr, "learning rate (1e-3)", "LR" },
    { "optimizer", 0, 0, G_OPTION_ARG_STRING, &optimizer,
      "sgd, adam or adamw (adam)", "NAME" },
    { "momentum", 0, 0, G_OPTION_ARG_DOUBLE, &momentum, "SGD momentum (0.9)", "M" },
    { "weight-decay", 0, 0, G_OPTION_ARG_DOUBLE, &weight_decay,
      "weight decay (0)", "W" },
    { "schedule", 0, 0, G_OPTION_ARG_STRING, &schedule,
      "constant, cosine, step:N[:G], warmup:N+cosine (constant)", "SPEC" },
    { "augment", 0, 0, G_OPTION_ARG_STRING, &augment,
      "flip,crop,rotate,color,erase (none)", "LIST" },
    { "crop-scale", 0, 0, G_OPTION_ARG_DOUBLE, &crop_scale,
      "smallest share of the image a random crop keeps (0.5)", "S" },
    { "ema", 0, 0, G_OPTION_ARG_DOUBLE, &ema,
      "keep and end with a moving average of the weights (e.g. 0.999)", "DECAY" },
    { "label-smoothing", 0, 0, G_OPTION_ARG_DOUBLE, &smoothing,
      "label smoothing (0)", "X" },
    { "validation", 0, 0, G_OPTION_ARG_DOUBLE, &validation_share,
      "held-out share of an image folder (0.2)", "SHARE" },
    { "seed", 's', 0, G_OPTION_ARG_INT64, &seed, "random seed (1)", "S" },
    { "threads", 't', 0, G_OPTION_ARG_INT, &threads, "threads (2)", "T" },
    { "log", 0, 0, G_OPTION_ARG_FILENAME, &log_path,
      "write each epoch's loss, error, learning rate and time as CSV",
      "FILE.csv" },
    { 0 }
  };
  GOptionContext *context = g_option_context_new ("- train a network");
  TrainLog log = { NULL, NULL, NULL, NULL };
  char *command = command_line (argc, argv);
  GError *error = NULL;
  ConvnetDataset *train_set = NULL, *test_set = NULL;
  GArray *train = NULL, *held_out = NULL;
  ConvnetModel *m = NULL;
  ConvnetTrainSettings ts;
  ConvnetEvaluation final = { 0 };
  ConvnetOptimizerKind kind = CONVNET_OPTIMIZER_ADAM;
  GHashTable *extra = NULL;
  int status = 1;
  gint64 started;

  g_option_context_add_main_entries (context, entries, NULL);
  if (!cli_parse (context, &argc, &argv))
    return 1;
  g_option_context_free (context);
  if (!model || !out || (!mnist == !data_dir))
    return cli_fail ("train needs --model, --out and one of --mnist or --data");
  convnet_set_threads (threads);

  convnet_train_defaults (&ts);
  ts.epochs = epochs;
  ts.batch_size = batch;
  ts.seed = (guint64) seed;
  ts.label_smoothing = (float) smoothing;
  ts.ema_decay = ema;
  if ((optimizer && !convnet_optimizer_kind_from_string (optimizer, &kind,
                                                         &error))
      || !cli_parse_augment (augment, &ts.augment.flags, &error)
      || !convnet_schedule_parse (schedule ? schedule : "constant", lr,
                                  epochs, &ts.schedule, &error))
    goto out;
  convnet_augment_defaults (&ts.augment, ts.augment.flags);
  if (crop_scale > 0.0)
    ts.augment.crop_scale[0] = crop_scale;
  convnet_optimizer_defaults (&ts.optimizer, kind);
  ts.optimizer.lr = lr;
  ts.optimizer.weight_decay = weight_decay;
  if (kind == CONVNET_OPTIMIZER_SGD)
    ts.optimizer.momentum = momentum;

  if (mnist)
    {
      train_set = convnet_dataset_load_mnist (mnist, TRUE, &error);
      test_set = train_set ? convnet_dataset_load_mnist (mnist, FALSE, &error)
                           : NULL;
      if (!test_set)
        goto out;
      train = g_array_sized_new (FALSE, FALSE, sizeof (guint), train_set->n);
      for (guint i = 0; i < train_set->n; i++)
        g_array_append_val (train, i);
      held_out = g_array_sized_new (FALSE, FALSE, sizeof (guint), test_set->n);
      for (guint i = 0; i < test_set->n; i++)
        g_array_append_val (held_out, i);
    }
  else
    {
      GPtrArray *skipped = g_ptr_array_new_with_free_func (g_free);
      train_set = convnet_dataset_load_folder (data_dir, skipped, &error);
      for (guint i = 0; i < skipped->len; i++)
        fprintf (stderr, "convnet: skipped %s\n",
                 (char *) g_ptr_array_index (skipped, i));
      g_ptr_array_unref (skipped);
      if (!train_set)
        goto out;
      convnet_dataset_split (train_set, validation_share, ts.seed, &train,
                             &held_out);
    }

  m = convnet_model_new_random (model, 0, 0, ts.seed, &error);
  if (!m)
    goto out;
  if (train_set->n_classes != m->n_classes)
    {
      /* a network sized for the data's classes */
      convnet_model_free (m);
      m = g_new0 (ConvnetModel, 1);
      m->arch = g_strdup (model);
      m->graph = convnet_model_build (model, train_set->n_classes, 0, 0, &error);
      if (!m->graph)
        goto out;
      convnet_graph_init_random (m->graph, ts.seed);
      m->preprocess = convnet_arch_lookup (model)->preprocess;
    }
  log.label = mnist ? "test" : "val";
  log.path = log_path;
  log.csv = g_string_new (NULL);
  ts.callback = train_progress;
  ts.user_data = &log;

  /* with idx files the test set is scored after every epoch, never
   * trained on */
  started = g_get_monotonic_time ();
  if (!convnet_train (m->graph, &m->preprocess, train_set, train,
                      mnist ? test_set : train_set, held_out, &ts, &final,
                      &error))
    {
      if (log.error)
        {
          /* the log could not be written: that, not the stop it caused */
          g_clear_error (&error);
          error = g_steal_pointer (&log.error);
        }
      goto out;
    }

  printf ("%s accuracy %.4f\n", mnist ? "test" : "validation", final.accuracy);
  extra = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, g_free);
  g_hash_table_insert (extra, "command", g_strdup (command));
  g_hash_table_insert (extra, "seed", g_strdup_printf ("%" G_GINT64_FORMAT, seed));
  g_hash_table_insert (extra, "threads", g_strdup_printf ("%d", threads));
  g_hash_table_insert (extra, "train_seconds",
                       g_strdup_printf ("%.0f", (g_get_monotonic_time ()
                                                 - started) / 1e6));
  g_hash_table_insert (extra, mnist ? "test_accuracy" : "validation_accuracy",
                       g_strdup_printf ("%.4f", final.accuracy));
  g_hash_table_insert (extra, "dataset", g_strdup (mnist ? mnist : data_dir));
  if (!convnet_model_save (m->graph, model,
                           (const char *const *) train_set->class_names,
                           &m->preprocess, extra, out, &error))
    goto out;
  printf ("wrote %s\n", out);
  status = 0;

out:
  if (error)
    status = cli_fail_error (error);
  convnet_evaluation_clear (&final);
  if (log.csv)
    g_string_free (log.csv, TRUE);
  g_clear_error (&log.error);
  g_free (log_path);
  if (extra)
    g_hash_table_unref (extra);
  if (train)
    g_array_unref (train);
  if (held_out)
    g_array_unref (held_out);
  convnet_dataset_free (train_set);
  convnet_dataset_free (test_set);
  convnet_model_free (m);
  g_free (command);
  g_free (model);
  g_free (mnist);
  g_free (data_dir);
  g_free (out);
  g_free (optimizer);
  g_free (schedule);
  g_free (augment);
  return status;
}
