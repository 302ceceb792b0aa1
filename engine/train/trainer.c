/* trainer.c: the training loop (shuffle, batch, augment, forward, loss,
 * backward, optimizer step, schedule), evaluation with a confusion
 * matrix, and the feature cache that makes training a head on a frozen
 * backbone cost one forward pass per image. */
#include "graph.h"
#include "train/train.h"
#include "kernels/kernels.h"

#include <math.h>
#include <string.h>

#define EVAL_BATCH 256
/* features are cached in small batches so that a cancel is seen soon,
 * even for a large backbone */
#define CACHE_BATCH 16

void
convnet_train_defaults (ConvnetTrainSettings *s)
{
  memset (s, 0, sizeof *s);
  s->epochs = 10;
  s->batch_size = 64;
  convnet_optimizer_defaults (&s->optimizer, CONVNET_OPTIMIZER_ADAM);
  s->schedule.kind = CONVNET_SCHEDULE_CONSTANT;
  s->schedule.base_lr = s->optimizer.lr;
  s->seed = 1;
  convnet_augment_defaults (&s->augment, 0);
}

void
convnet_evaluation_clear (ConvnetEvaluation *e)
{
  g_clear_pointer (&e->class_accuracy, g_free);
  g_clear_pointer (&e->confusion, g_free);
  g_clear_pointer (&e->predictions, g_free);
  e->n = 0;
  e->epoch = 0;
}

static gsize
shape_floats (ConvnetShape s)
{
  return (gsize) s.c * s.h * s.w;
}

static guint
index_at (GArray *indices, guint i)
{
  return indices ? g_array_index (indices, guint, i) : i;
}

/* Memory for N rows of SAMPLE floats that batches are gathered from in a
 * random order: in huge pages, where a 3 KB row costs one copy and not a
 * trip through the page tables (a tenth of a LeNet-5 epoch otherwise).
 * rows_free() frees it. */
static float *
rows_new (gsize n, gsize sample)
{
  if (sample && n > G_MAXSIZE / sizeof (float) / sample)
    return NULL;
  return convnet_packed_alloc (MAX (n * sample, 1) * sizeof (float));
}

static void
rows_free (float *rows)
{
  convnet_packed_free (rows);
}

/* The network inputs of INDICES, when nothing random changes them. */
static float *
preprocess_all (const ConvnetPreprocess *pre, const ConvnetDataset *data,
                GArray *indices, gsize sample, GError **error)
{
  const guint n = indices ? indices->len : data->n;
  float *inputs = rows_new (n, sample);

  if (!inputs)
    {
      g_set_error (error, CONVNET_ERROR, CONVNET_ERROR_LIMIT,
                   "cannot hold %u preprocessed images in memory", n);
      return NULL;
    }
  for (guint i = 0; i < n; i++)
    if (!convnet_preprocess_image (pre, data->images[index_at (indices, i)],
                                   inputs + (gsize) i * sample, error))
      {
        rows_free (inputs);
        return NULL;
      }
  return inputs;
}

/* Runs INPUTS (N rows of the graph input, or of FROM's activation) at
 * inference and scores them against the labels of INDICES. */
static gboolean
evaluate_rows (ConvnetGraph *g, const char *from, const float *inputs,
               gsize row, const ConvnetDataset *data, GArray *indices,
               ConvnetEvaluation *e, GError **error)
{
  const guint n = indices ? indices->len : data->n;
  const int classes = convnet_graph_output_shape (g).c;
  double loss = 0.0;
  guint correct = 0;
  guint *per_class;

  convnet_evaluation_clear (e);
  e->n_classes = classes;
  e->n = n;
  e->confusion = g_new0 (guint, (gsize) classes * classes);
  e->class_accuracy = g_new0 (double, classes);
  e->predictions = g_new0 (guint, MAX (n, 1));
  per_class = g_new0 (guint, classes);
  convnet_graph_set_training (g, FALSE, 0);

  for (guint start = 0; start < n; start += EVAL_BATCH)
    {
      const int batch = MIN (EVAL_BATCH, n - start);
      const float *logits;
      gboolean ok = from
        ? convnet_graph_forward_from (g, from, inputs + start * row, batch, error)
        : convnet_graph_forward (g, inputs + start * row, batch, error);

      if (!ok)
        {
          g_free (per_class);
          return FALSE;
        }
      logits = convnet_graph_output (g);
      for (int b = 0; b < batch; b++)
        {
          const float *z = logits + (gsize) b * classes;
          const int truth = data->labels[index_at (indices, start + b)];
          int best = 0;
          double sum = 0.0;
          for (int c = 1; c < classes; c++)
            if (z[c] > z[best])
              best = c;
          for (int c = 0; c < classes; c++)
            sum += exp ((double) z[c] - z[best]);
          loss += log (sum) - ((double) z[truth] - z[best]);
          e->predictions[start + b] = best;
          e->confusion[(gsize) truth * classes + best]++;
          per_class[truth]++;
          correct += best == truth;
        }
    }
  e->loss = n ? loss / n : NAN;
  e->accuracy = n ? (double) correct / n : NAN;
  for (int c = 0; c < classes; c++)
    e->class_accuracy[c] = per_class[c]
                           ? (double) e->confusion[(gsize) c * classes + c]
                             / per_class[c]
                           : NAN;
  g_free (per_class);
  return TRUE;
}

gboolean
convnet_evaluate (ConvnetGraph *g, const ConvnetPreprocess *pre,
                  const ConvnetDataset *data, GArray *indices,
                  ConvnetEvaluation *e, GError **error)
{
  const gsize sample = shape_floats (convnet_graph_input_shape (g));
  float *inputs = preprocess_all (pre, data, indices, sample, error);
  gboolean ok;

  if (!inputs)
    return FALSE;
  ok = evaluate_rows (g, NULL, inputs, sample, data, indices, e, error);
  rows_free (inputs);
  return ok;
}

static gboolean
report (const ConvnetTrainSettings *s, ConvnetTrainProgress *p,
        GError **error)
{
  if (s->callback && !s->callback (p, s->user_data))
    {
      g_set_error (error, CONVNET_ERROR, CONVNET_ERROR_CANCELLED,
                   "training cancelled at epoch %d", p->epoch);
      return FALSE;
    }
  return TRUE;
}

/* The activations of CACHE_NODE for the samples INDICES, computed once in
 * inference mode from their preprocessed images. */
static float *
cache_features (ConvnetGraph *g, const char *cache_node,
                const ConvnetPreprocess *pre, const ConvnetDataset *data,
                GArray *indices, const ConvnetTrainSettings *s,
                ConvnetTrainProgress *p, GError **error)
{
  const gsize sample = shape_floats (convnet_graph_input_shape (g));
  const ConvnetNodeInfo *info = convnet_graph_lookup (g, cache_node);
  const gsize row = shape_floats (info->shape);
  const guint n = indices->len;
  float *features = rows_new (n, row);
  float *batch_in = g_new (float, (gsize) CACHE_BATCH * sample);
  gboolean ok = features != NULL;

  if (!ok)
    g_set_error (error, CONVNET_ERROR, CONVNET_ERROR_LIMIT,
                 "cannot hold the features of %u images in memory", n);
  if (ok)
    ok = convnet_graph_retain (g, cache_node, error);
  convnet_graph_set_training (g, FALSE, 0);
  for (guint start = 0; ok && start < n; start += CACHE_BATCH)
    {
      const int batch = MIN (CACHE_BATCH, n - start);
      const float *act;

      for (int b = 0; ok && b < batch; b++)
        ok = convnet_preprocess_image (pre,
                                       data->images[index_at (indices, start + b)],
                                       batch_in + (gsize) b * sample, error);
      ok = ok && convnet_graph_forward (g, batch_in, batch, error);
      act = ok ? convnet_graph_activation (g, cache_node, NULL, error) : NULL;
      ok = act != NULL;
      if (ok)
        memcpy (features + (gsize) start * row, act,
                (gsize) batch * row * sizeof (float));
      p->done += batch;
      ok = ok && report (s, p, error);
    }
  g_free (batch_in);
  if (!ok)
    g_clear_pointer (&features, rows_free);
  return features;
}

/* An exponential moving average of every parameter and buffer.  Buffers
 * (BatchNorm's running statistics) are averaged too, as the averaged
 * weights produce other activations than the last step's. */
static float *
ema_new (const ConvnetGraph *g)
{
  return g_memdup2 (g->param_block, MAX (g->param_floats, 1) * sizeof (float));
}

static void
ema_update (float *ema, const ConvnetGraph *g, double decay)
{
  const float d = (float) decay, keep = (float) (1.0 - decay);

  for (gsize i = 0; i < g->param_floats; i++)
    ema[i] = d * ema[i] + keep * g->param_block[i];
}

/* Where the parameters that training changes begin in the parameter
 * block: frozen nodes' parameters and buffers never change, so a snapshot
 * of the best epoch holds only what follows. */
static gsize
trainable_offset (const ConvnetGraph *g)
{
  gsize from = g->param_floats;

  for (guint i = 0; i < g->params->len; i++)
    {
      const ConvnetParamSlot *slot = convnet_graph_param_slot (g, i);
      if (slot->node >= g->train_start)
        from = MIN (from, slot->offset);
    }
  return from;
}

/* Swaps the graph's parameters with the average. */
static void
ema_swap (float *ema, ConvnetGraph *g)
{
  for (gsize i = 0; i < g->param_floats; i++)
    {
      const float t = g->param_block[i];
      g->param_block[i] = ema[i];
      ema[i] = t;
    }
  convnet_graph_weights_changed (g);
}

gboolean
convnet_train (ConvnetGraph *g, const ConvnetPreprocess *pre,
               const ConvnetDataset *data, GArray *train,
               const ConvnetDataset *val_data, GArray *validation,
               const ConvnetTrainSettings *s, ConvnetEvaluation *last,
               GError **error)
{
  const gboolean augment = s->augment.flags != 0;
  const char *from = augment ? NULL : s->cache_node;
  const guint n = train->len;
  const int classes = convnet_graph_output_shape (g).c;
  ConvnetTrainProgress p = { 0 };
  ConvnetOptimizer *opt = NULL;
  ConvnetEvaluation val = { 0 }, best_val = { 0 };
  ConvnetRng rng;
  float *rows = NULL, *val_rows = NULL, *batch_in = NULL, *ema = NULL;
  float *best = NULL;
  gsize best_from = 0;
  guint *order = NULL;
  int *targets = NULL;
  gsize row;
  gboolean ok = FALSE;

  if (n < 2 || s->epochs < 1 || s->batch_size < 1)
    {
      g_set_error (error, CONVNET_ERROR, CONVNET_ERROR_ARGUMENT,
                   "training needs at least 2 samples, 1 epoch and a batch "
                   "of 1 or more (got %u, %d, %d)", n, s->epochs,
                   s->batch_size);
      return FALSE;
    }
  if (augment && !convnet_augment_check (&s->augment, error))
    return FALSE;
  for (guint i = 0; i < n; i++)
    if (data->labels[g_array_index (train, guint, i)] >= classes)
      {
        g_set_error (error, CONVNET_ERROR, CONVNET_ERROR_ARGUMENT,
                     "the data has class %d but the network only %d classes",
                     data->labels[g_array_index (train, guint, i)], classes);
        return FALSE;
      }
  if (from && convnet_graph_lookup (g, from)
      && (int) convnet_graph_lookup (g, from)->node >= g->train_start)
    {
      g_set_error (error, CONVNET_ERROR, CONVNET_ERROR_ARGUMENT,
                   "%s: features can be cached at '%s' only when it is "
                   "frozen", g->arch, from);
      return FALSE;
    }

  convnet_rng_seed (&rng, s->seed);
  p.epochs = s->epochs;
  p.val_loss = p.val_accuracy = -1.0;

  /* what one row of a batch is: cached features, or a network input */
  if (from)
    {
      p.stage = "features";
      p.total = n + (val_data && validation ? validation->len : 0);
      rows = cache_features (g, from, pre, data, train, s, &p, error);
      if (!rows)
        goto out;
      if (val_data && validation && validation->len
          && !(val_rows = cache_features (g, from, pre, val_data, validation,
                                          s, &p, error)))
        goto out;
      row = shape_floats (convnet_graph_lookup (g, from)->shape);
    }
  else
    {
      row = shape_floats (convnet_graph_input_shape (g));
      if (!augment && !(rows = preprocess_all (pre, data, train, row, error)))
        goto out;
      if (val_data && validation && validation->len
          && !(val_rows = preprocess_all (pre, val_data, validation, row,
                                          error)))
        goto out;
    }

  /* The optimizer keeps the data pointers, and the average and the best
   * epoch's snapshot read the parameter block: no parameter may stay in a
   * weights file's mapping. */
  convnet_graph_own_params (g);
  convnet_graph_set_training (g, TRUE, s->seed);
  opt = convnet_optimizer_new (&s->optimizer, error);
  if (!opt)
    goto out;
  for (guint i = 0; i < convnet_graph_n_params (g); i++)
    {
      const ConvnetParam *param = convnet_graph_param (g, i);
      gsize numel = 1;
      if (!param->grad)
        continue;
      for (int d = 0; d < param->ndim; d++)
        numel *= param->shape[d];
      /* no weight decay on biases and BatchNorm's scale and shift */
      convnet_optimizer_add (opt, param->data, param->grad, numel,
                             param->ndim > 1);
    }

  if (s->ema_decay > 0.0)
    ema = ema_new (g);
  if (s->keep_best_validation && val_rows)
    {
      best_from = trainable_offset (g);
      best = g_new (float, MAX (g->param_floats - best_from, 1));
    }
  order = g_new (guint, n);
  targets = g_new (int, s->batch_size);
  batch_in = g_new (float, (gsize) s->batch_size * row);
  for (int epoch = 0; epoch < s->epochs; epoch++)
    {
      const gint64 start_time = g_get_monotonic_time ();
      double loss_sum = 0.0;
      guint correct = 0, seen = 0;

      p.stage = "train";
      p.epoch = epoch + 1;
      p.lr = convnet_schedule_lr (&s->schedule, epoch);
      p.epoch_done = FALSE;
      p.done = 0;
      p.total = n;
      convnet_graph_set_training (g, TRUE, s->seed * 1000003u + epoch);
      for (guint i = 0; i < n; i++)
        order[i] = i;
      convnet_shuffle (order, n, &rng);

      for (guint first = 0; first < n; first += s->batch_size)
        {
          const int batch = MIN ((guint) s->batch_size, n - first);
          const float *logits;
          float loss;

          /* BatchNorm cannot train on one sample: drop a last single one */
          if (batch == 1 && first > 0)
            break;
          for (int b = 0; b < batch; b++)
            {
              const guint k = order[first + b];
              const guint sample = g_array_index (train, guint, k);
              float *dst = batch_in + (gsize) b * row;
              targets[b] = data->labels[sample];
              if (rows)
                memcpy (dst, rows + (gsize) k * row, row * sizeof (float));
              else if (!convnet_augment_sample (&s->augment, pre,
                                                data->images[sample], &rng,
                                                dst, error))
                goto out;
            }
          if (!(from ? convnet_graph_forward_from (g, from, batch_in, batch, error)
                     : convnet_graph_forward (g, batch_in, batch, error))
              || !convnet_graph_loss (g, targets, s->label_smoothing, &loss,
                                      error)
              || !convnet_graph_backward (g, error))
            goto out;
          convnet_optimizer_step (opt, p.lr);
          if (ema)
            ema_update (ema, g, s->ema_decay);

          logits = convnet_graph_output (g);
          for (int b = 0; b < batch; b++)
            {
              const float *z = logits + (gsize) b * classes;
              int best = 0;
              for (int c = 1; c < classes; c++)
                if (z[c] > z[best])
                  best = c;
              correct += best == targets[b];
            }
          loss_sum += (double) loss * batch;
          seen += batch;
          p.done = seen;
          p.train_loss = loss_sum / seen;
          p.train_accuracy = (double) correct / seen;
          if (!report (s, &p, error))
            goto out;
        }

      if (ema)
        ema_swap (ema, g);
      if (val_rows
          && !evaluate_rows (g, from, val_rows, row, val_data, validation,
                             &val, error))
        goto out;
      val.epoch = epoch + 1;
      p.val_loss = val_rows ? val.loss : -1.0;
      p.val_accuracy = val_rows ? val.accuracy : -1.0;
      /* >=: of equal accuracies, the later epoch */
      if (best && (best_val.n == 0 || val.accuracy >= best_val.accuracy))
        {
          const ConvnetEvaluation previous = best_val;
          memcpy (best, g->param_block + best_from,
                  (g->param_floats - best_from) * sizeof (float));
          best_val = val;
          val = previous;
        }
      /* the average is what training ends with */
      if (ema && epoch + 1 < s->epochs)
        ema_swap (ema, g);
      p.seconds = (g_get_monotonic_time () - start_time) / 1e6;
      p.epoch_done = TRUE;
      if (!report (s, &p, error))
        goto out;
    }
  ok = TRUE;
  if (best && best_val.n)
    {
      memcpy (g->param_block + best_from, best,
              (g->param_floats - best_from) * sizeof (float));
      convnet_graph_weights_changed (g);
      convnet_evaluation_clear (&val);
      val = best_val;
      memset (&best_val, 0, sizeof best_val);
    }
  if (last)
    {
      *last = val;
      memset (&val, 0, sizeof val);
    }

out:
  convnet_graph_set_training (g, FALSE, 0);
  convnet_evaluation_clear (&val);
  convnet_evaluation_clear (&best_val);
  convnet_optimizer_free (opt);
  rows_free (rows);
  rows_free (val_rows);
  g_free (batch_in);
  g_free (order);
  g_free (targets);
  g_free (ema);
  g_free (best);
  return ok;
}
