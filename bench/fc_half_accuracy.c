/* fc_half_accuracy.c: what CONVNET_FC_FP16=1 (fully connected weights in
 * half precision) changes in a model's answers, one sample at a time as
 * the plug-in classifies: the largest logit difference against single
 * precision, relative to the largest logit, how often the top class
 * agrees, and how often single precision's top class is in half's top 5;
 * with a labelled test set, the accuracy of each.
 *
 * Build (after meson compile -C BUILD), from the source root:
 *   cc -O2 -Iengine bench/fc_half_accuracy.c BUILD/engine/libconvnet.a \
 *      $(pkg-config --cflags --libs glib-2.0 gio-2.0 gdk-pixbuf-2.0 \
 *        json-glib-1.0 openblas libcurl) -lm -o /tmp/fc_half_accuracy
 * Run: /tmp/fc_half_accuracy MODEL.safetensors MNIST_DIR [N]
 *      /tmp/fc_half_accuracy ARCH random [N]   (torch's initialisation,
 *                                               random inputs) */
#include "convnet.h"
#include "data/data.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int
top_class (const float *logits, int n)
{
  int best = 0;

  for (int c = 1; c < n; c++)
    if (logits[c] > logits[best])
      best = c;
  return best;
}

static gboolean
in_top5 (const float *logits, int n, int c)
{
  int above = 0;

  for (int k = 0; k < n; k++)
    above += logits[k] > logits[c];
  return above < 5;
}

/* Runs SAMPLE through MODEL with half (or single) precision weights. */
static const float *
classify (ConvnetModel *model, const float *sample, gboolean half)
{
  GError *error = NULL;

  g_setenv ("CONVNET_FC_FP16", half ? "1" : "0", TRUE);
  convnet_graph_weights_changed (model->graph);   /* replans */
  if (!convnet_graph_forward (model->graph, sample, 1, &error))
    g_error ("%s", error->message);
  return convnet_graph_output (model->graph);
}

int
main (int argc, char **argv)
{
  const gboolean random_inputs = argc > 2 && strcmp (argv[2], "random") == 0;
  const int limit = argc > 3 ? atoi (argv[3]) : 1000;
  ConvnetDataset *data = NULL;
  ConvnetModel *model;
  ConvnetShape shape;
  GError *error = NULL;
  GRand *rand = g_rand_new_with_seed (11);
  float *sample, *single;
  double worst = 0, top = 0;
  int n, classes, agree = 0, top5 = 0, right_single = 0, right_half = 0;

  if (argc < 3)
    {
      fprintf (stderr, "usage: %s MODEL MNIST_DIR|random [N]\n", argv[0]);
      return 2;
    }
  model = random_inputs ? convnet_model_new_random (argv[1], 0, 0, 1, &error)
                        : convnet_model_load (argv[1], NULL, 0, 0, &error);
  if (!model)
    g_error ("%s", error->message);
  if (!random_inputs
      && !(data = convnet_dataset_load_mnist (argv[2], FALSE, &error)))
    g_error ("%s", error->message);
  shape = convnet_graph_input_shape (model->graph);
  classes = model->n_classes;
  n = data ? MIN ((int) data->n, limit) : limit;
  sample = g_new (float, (gsize) shape.c * shape.h * shape.w);
  single = g_new (float, classes);

  for (int i = 0; i < n; i++)
    {
      const float *half;
      int a, b;

      if (data)
        {
          if (!convnet_preprocess_image (&model->preprocess, data->images[i],
                                         sample, &error))
            g_error ("%s", error->message);
        }
      else
        for (int k = 0; k < shape.c * shape.h * shape.w; k++)
          sample[k] = (float) g_rand_double_range (rand, -2.0, 2.0);
      memcpy (single, classify (model, sample, FALSE),
              classes * sizeof (float));
      half = classify (model, sample, TRUE);
      for (int c = 0; c < classes; c++)
        {
          worst = MAX (worst, fabs ((double) half[c] - single[c]));
          top = MAX (top, fabs (single[c]));
        }
      a = top_class (single, classes);
      b = top_class (half, classes);
      agree += a == b;
      top5 += in_top5 (half, classes, a);
      if (data)
        {
          right_single += a == data->labels[i];
          right_half += b == data->labels[i];
        }
    }
  printf ("%s: %d samples: max|logit diff| %.3g (%.2g of the largest logit "
          "%.3g), top-1 agreement %d/%d, single's top-1 in half's top-5 "
          "%d/%d", argv[1], n, worst, worst / top, top, agree, n, top5, n);
  if (data)
    printf (", accuracy single %.4f half %.4f", (double) right_single / n,
            (double) right_half / n);
  printf ("\n");
  g_unsetenv ("CONVNET_FC_FP16");
  g_free (sample);
  g_free (single);
  g_rand_free (rand);
  convnet_model_free (model);
  return 0;
}
