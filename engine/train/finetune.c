/* finetune.c: transfer learning.  The base model keeps its weights up to
 * a frozen node, its classifier is replaced by a fresh one for the user's
 * classes, and only what follows the frozen node learns.  Without
 * augmentation the frozen part runs once per image (a feature cache). */
#include "graph.h"
#include "train/train.h"

#include <string.h>

/* Chosen by bench/finetune_sweep.py: the best mean held-out accuracy over
 * four 3-class relabellings of Fashion-MNIST at 10, 20 and 50 images a
 * class, from the shipped LeNet-5 (88.9 %; Adam at 1e-3 for 10 epochs,
 * the defaults before, had 71.7 %).  See README.md, "Fine-tune defaults". */
void
convnet_finetune_defaults (ConvnetFinetuneSettings *s)
{
  memset (s, 0, sizeof *s);
  s->epochs = 100;
  s->batch_size = 16;
  s->lr = 1e-2;
  s->optimizer = CONVNET_OPTIMIZER_ADAM;
  s->validation_share = 0.2;
  s->seed = 1;
}

void
convnet_finetune_result_clear (ConvnetFinetuneResult *r)
{
  convnet_evaluation_clear (&r->validation);
  g_clear_pointer (&r->validation_indices, g_array_unref);
  g_clear_pointer (&r->class_names, g_strfreev);
  g_clear_pointer (&r->freeze_through, g_free);
}

/* The new network: the base architecture with CLASSES outputs, its
 * weights from the base file but for the classifier, which starts from
 * torch's default initialisation. */
static ConvnetGraph *
build_student (const ConvnetFinetuneSettings *s, const ConvnetWeightFile *file,
               const ConvnetArch *arch, const ConvnetPreprocess *pre,
               int classes, GError **error)
{
  ConvnetGraph *g = convnet_model_build (arch->name, classes,
                                         pre->crop_height, pre->crop_width,
                                         error);
  char *head = g_strdup_printf ("%s.", arch->head);

  if (g && convnet_graph_load_weight_file_except (g, file, head, error))
    convnet_graph_init_random_prefix (g, head, s->seed);
  else
    g_clear_pointer (&g, convnet_graph_free);
  g_free (head);
  return g;
}

gboolean
convnet_finetune (const ConvnetFinetuneSettings *s,
                  const ConvnetDataset *data, const char *out_path,
                  ConvnetFinetuneResult *result, GError **error)
{
  ConvnetWeightFile *file;
  ConvnetPreprocess pre;
  const ConvnetArch *arch;
  ConvnetGraph *g = NULL;
  ConvnetTrainSettings ts;
  GArray *train = NULL, *validation = NULL;
  GHashTable *extra = NULL;
  const char *freeze;
  char *base_name = NULL, *text;
  gint64 start = g_get_monotonic_time ();
  gboolean ok = FALSE;

  memset (result, 0, sizeof *result);
  if (data->n_classes < 2)
    {
      g_set_error (error, CONVNET_ERROR, CONVNET_ERROR_ARGUMENT,
                   "fine-tuning needs at least 2 classes, got %d",
                   data->n_classes);
      return FALSE;
    }
  for (int c = 0; c < data->n_classes; c++)
    {
      guint count = 0;
      for (guint i = 0; i < data->n; i++)
        count += data->labels[i] == c;
      if (count < 2)
        {
          g_set_error (error, CONVNET_ERROR, CONVNET_ERROR_ARGUMENT,
                       "class '%s' has %u image%s: each class needs at "
                       "least 2", data->class_names[c], count,
                       count == 1 ? "" : "s");
          return FALSE;
        }
    }

  file = convnet_weight_file_open (s->base_weights, error);
  if (!file)
    return FALSE;
  arch = convnet_weight_file_arch (file, s->base_arch, &pre, error);
  if (!arch)
    {
      convnet_weight_file_free (file);
      return FALSE;
    }
  freeze = s->freeze_through ? s->freeze_through
           : s->train_last_block ? arch->last_block_freeze : arch->features;

  g = build_student (s, file, arch, &pre, data->n_classes, error);
  /* the parameters are in place: the mapping is no longer needed */
  g_clear_pointer (&file, convnet_weight_file_free);
  if (!g || !convnet_graph_freeze_through (g, freeze, error))
    goto out;

  convnet_dataset_split (data, s->validation_share, s->seed, &train,
                         &validation);
  convnet_train_defaults (&ts);
  ts.epochs = s->epochs;
  ts.batch_size = s->batch_size;
  convnet_optimizer_defaults (&ts.optimizer, s->optimizer);
  ts.optimizer.lr = s->lr;
  ts.schedule.kind = CONVNET_SCHEDULE_COSINE;
  ts.schedule.base_lr = s->lr;
  ts.schedule.t_max = s->epochs;
  ts.label_smoothing = s->label_smoothing;
  ts.seed = s->seed;
  convnet_augment_defaults (&ts.augment, s->augment);
  ts.cache_node = freeze;
  ts.keep_best_validation = TRUE;
  ts.callback = s->callback;
  ts.user_data = s->user_data;
  if (!convnet_train (g, &pre, data, train, data, validation, &ts,
                      &result->validation, error))
    goto out;

  base_name = g_path_get_basename (s->base_weights);
  extra = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, g_free);
  g_hash_table_insert (extra, "base_checkpoint", g_strdup (base_name));
  g_hash_table_insert (extra, "freeze_through", g_strdup (freeze));
  g_hash_table_insert (extra, "seed",
                       g_strdup_printf ("%" G_GUINT64_FORMAT, s->seed));
  text = g_strdup_printf ("%.4f", result->validation.accuracy);
  g_hash_table_insert (extra, "validation_accuracy", text);
  if (result->validation.epoch > 0)
    g_hash_table_insert (extra, "epoch",
                         g_strdup_printf ("%d", result->validation.epoch));
  if (!convnet_model_save (g, arch->name,
                           (const char *const *) data->class_names,
                           &pre, extra, out_path, error))
    goto out;

  result->n_classes = data->n_classes;
  result->class_names = g_strdupv (data->class_names);
  result->n_train = train->len;
  result->validation_indices = g_array_ref (validation);
  result->freeze_through = g_strdup (freeze);
  result->seconds = (g_get_monotonic_time () - start) / 1e6;
  ok = TRUE;

out:
  if (!ok)
    convnet_evaluation_clear (&result->validation);
  if (extra)
    g_hash_table_unref (extra);
  if (train)
    g_array_unref (train);
  if (validation)
    g_array_unref (validation);
  g_free (base_name);
  convnet_graph_free (g);
  convnet_weight_file_free (file);
  return ok;
}
