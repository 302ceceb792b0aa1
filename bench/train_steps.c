/* train_steps.c: convnet's side of bench/train_compare.py.  Prints, as
 * "key value" lines:
 *   lenet5 WALL CPU LOSS   one epoch of convnet_train on Fashion-MNIST
 *                          (batch 128, the trainer's default Adam, no
 *                          validation), seconds of wall and process CPU,
 *                          and the epoch's mean training loss
 *   resnet18 WALL CPU      the median of STEPS SGD steps (momentum 0.9,
 *                          lr 0.01) of resnet18 at 112 x 112, batch 32, on
 *                          random inputs and labels, seconds a step
 * Built and run by bench/train_compare.py:
 *   cc -O2 -Iengine bench/train_steps.c BUILD/engine/libconvnet*.a ... */
#include "data/data.h"
#include "graph.h"
#include "train/optimizer.h"
#include "train/train.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double
cpu_seconds (void)
{
  struct timespec t;

  clock_gettime (CLOCK_PROCESS_CPUTIME_ID, &t);
  return t.tv_sec + t.tv_nsec * 1e-9;
}

static double
wall_seconds (void)
{
  return g_get_monotonic_time () * 1e-6;
}

static void
check (gboolean ok, GError *error)
{
  if (!ok)
    {
      fprintf (stderr, "train_steps: %s\n", error ? error->message : "failed");
      exit (1);
    }
}

typedef struct
{
  double first_cpu, first_wall, cpu, wall, loss;
  guint  first_done, done;
} EpochClock;

/* The epoch's clock starts after its first batch, which the callback sees
 * first: preprocessing the data set before it is not part of an epoch. */
static gboolean
epoch_progress (const ConvnetTrainProgress *p, gpointer data)
{
  EpochClock *clock = data;

  if (p->stage && strcmp (p->stage, "train") == 0 && !p->epoch_done)
    {
      if (clock->first_done == 0)
        {
          clock->first_done = p->done;
          clock->first_cpu = cpu_seconds ();
          clock->first_wall = wall_seconds ();
        }
      clock->cpu = cpu_seconds ();
      clock->wall = wall_seconds ();
      clock->done = p->done;
      clock->loss = p->train_loss;
    }
  return TRUE;
}

static void
lenet5_epoch (const char *mnist)
{
  GError *error = NULL;
  ConvnetDataset *data = convnet_dataset_load_mnist (mnist, TRUE, &error);
  ConvnetModel *m;
  ConvnetTrainSettings settings;
  EpochClock clock = { 0 };
  GArray *train;
  double share;

  check (data != NULL, error);
  m = convnet_model_new_random ("lenet5", 0, 0, 1, &error);
  check (m != NULL, error);
  train = g_array_sized_new (FALSE, FALSE, sizeof (guint), data->n);
  for (guint i = 0; i < data->n; i++)
    g_array_append_val (train, i);
  convnet_train_defaults (&settings);
  settings.epochs = 1;
  settings.batch_size = 128;
  settings.callback = epoch_progress;
  settings.user_data = &clock;
  check (convnet_train (m->graph, &m->preprocess, data, train, NULL, NULL,
                        &settings, NULL, &error), error);
  /* scaled up to the whole epoch from all batches but the first */
  share = (double) data->n / (clock.done - clock.first_done);
  printf ("lenet5 %.3f %.3f %.4f\n", (clock.wall - clock.first_wall) * share,
          (clock.cpu - clock.first_cpu) * share, clock.loss);
  g_array_unref (train);
  convnet_model_free (m);
  convnet_dataset_free (data);
}

static int
compare_doubles (const void *a, const void *b)
{
  const double x = *(const double *) a, y = *(const double *) b;
  return (x > y) - (x < y);
}

static void
resnet18_steps (int steps)
{
  const int batch = 32, size = 112;
  GError *error = NULL;
  ConvnetModel *m = convnet_model_new_random ("resnet18", size, size, 1,
                                              &error);
  ConvnetOptimizerSettings os;
  ConvnetOptimizer *opt;
  ConvnetRng rng;
  float *input;
  int targets[32];
  double *wall = g_new (double, steps), *cpu = g_new (double, steps);
  const gsize sample = 3 * size * size;

  check (m != NULL, error);
  convnet_rng_seed (&rng, 1);
  input = g_new (float, batch * sample);
  for (gsize i = 0; i < batch * sample; i++)
    input[i] = (float) (2.0 * convnet_rng_uniform (&rng) - 1.0);
  for (int b = 0; b < batch; b++)
    targets[b] = (int) (convnet_rng_uniform (&rng) * 1000) % 1000;
  convnet_graph_own_params (m->graph);
  convnet_graph_set_training (m->graph, TRUE, 1);
  convnet_optimizer_defaults (&os, CONVNET_OPTIMIZER_SGD);
  os.momentum = 0.9;
  opt = convnet_optimizer_new (&os, &error);
  check (opt != NULL, error);
  for (guint i = 0; i < convnet_graph_n_params (m->graph); i++)
    {
      const ConvnetParam *p = convnet_graph_param (m->graph, i);
      gsize numel = 1;
      for (int d = 0; d < p->ndim; d++)
        numel *= p->shape[d];
      if (p->grad)
        convnet_optimizer_add (opt, p->data, p->grad, numel, p->ndim > 1);
    }
  /* one step first: it makes the plan and touches every buffer */
  for (int s = -1; s < steps; s++)
    {
      const double w0 = wall_seconds (), c0 = cpu_seconds ();
      float loss;

      check (convnet_graph_forward (m->graph, input, batch, &error)
             && convnet_graph_loss (m->graph, targets, 0.0f, &loss, &error)
             && convnet_graph_backward (m->graph, &error), error);
      convnet_optimizer_step (opt, 0.01);
      if (s >= 0)
        {
          wall[s] = wall_seconds () - w0;
          cpu[s] = cpu_seconds () - c0;
        }
    }
  qsort (wall, steps, sizeof (double), compare_doubles);
  qsort (cpu, steps, sizeof (double), compare_doubles);
  printf ("resnet18 %.4f %.4f\n", wall[steps / 2], cpu[steps / 2]);
  convnet_optimizer_free (opt);
  convnet_model_free (m);
  g_free (input);
  g_free (wall);
  g_free (cpu);
}

int
main (int argc, char **argv)
{
  const char *what = argc > 1 ? argv[1] : "";

  convnet_set_threads (argc > 2 ? atoi (argv[2]) : 2);
  if (strcmp (what, "lenet5") == 0 && argc > 3)
    lenet5_epoch (argv[3]);
  else if (strcmp (what, "resnet18") == 0)
    resnet18_steps (argc > 3 ? atoi (argv[3]) : 10);
  else
    {
      fprintf (stderr, "usage: train_steps lenet5 THREADS MNIST_DIR | "
                       "resnet18 THREADS [STEPS]\n");
      return 2;
    }
  return 0;
}
