/* classify.c: plug-in-convnet-classify: the top classes of the
 * selection (or the layer). */
#include "config.h"

#include "plugin.h"

gboolean
plugin_classify (ConvnetModel *model, gint32 drawable, int top_k,
                 char ***labels, double **probabilities, int *n_results,
                 GError **error)
{
  int x, y, w, h;
  float *input = plugin_model_input (model, drawable, &x, &y, &w, &h, error);
  const float *logits;
  const int classes = model->n_classes;
  int *indices;
  float *probs;

  if (!input)
    return FALSE;
  gimp_progress_update (0.5);
  if (!convnet_graph_forward (model->graph, input, 1, error))
    {
      g_free (input);
      return FALSE;
    }
  g_free (input);
  logits = convnet_graph_output (model->graph);
  indices = g_new (int, classes);
  probs = g_new (float, classes);
  *n_results = convnet_top_classes (logits, classes, MAX (top_k, 1), indices,
                                    probs);
  *labels = g_new0 (char *, *n_results + 1);
  *probabilities = g_new (double, *n_results);
  for (int k = 0; k < *n_results; k++)
    {
      (*labels)[k] = g_strdup (model->labels[indices[k]]);
      (*probabilities)[k] = probs[k];
    }
  g_free (indices);
  g_free (probs);
  gimp_progress_update (1.0);
  return TRUE;
}
