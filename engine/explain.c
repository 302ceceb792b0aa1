/* explain.c: what the network sees and where it looks: a node's feature
 * maps ranked by activity, and Grad-CAM class activation maps. */
#include "convnet.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static int
top_class (const float *logits, int classes)
{
  int best = 0;

  for (int c = 1; c < classes; c++)
    if (logits[c] > logits[best])
      best = c;
  return best;
}

static const char *
spatial_node (ConvnetModel *m, const char *node, GError **error)
{
  const ConvnetArch *arch = convnet_arch_lookup (m->arch);
  const ConvnetNodeInfo *info;

  if (!node || !*node)
    node = arch->cam_node;
  info = convnet_graph_lookup (m->graph, node);
  if (!info)
    {
      g_set_error (error, CONVNET_ERROR, CONVNET_ERROR_ARGUMENT,
                   "%s has no node named '%s' (see 'convnet info %s')",
                   m->arch, node, m->arch);
      return NULL;
    }
  if (info->flat)
    {
      g_set_error (error, CONVNET_ERROR, CONVNET_ERROR_ARGUMENT,
                   "%s: node '%s' has no spatial layout (%d features); "
                   "pick a convolutional node", m->arch, node, info->shape.c);
      return NULL;
    }
  return node;
}

gboolean
convnet_gradcam (ConvnetModel *m, const float *input, const char *node,
                 int *class_index, float **map, int *height, int *width,
                 GError **error)
{
  ConvnetGraph *g = m->graph;
  const float *grad, *act;
  ConvnetShape shape;
  float *cam, max = 0.0f;
  gsize hw;
  gboolean ok = FALSE;

  if (*class_index < -1 || *class_index >= m->n_classes)
    {
      g_set_error (error, CONVNET_ERROR, CONVNET_ERROR_ARGUMENT,
                   "class %d: %s has classes 0 to %d", *class_index, m->arch,
                   m->n_classes - 1);
      return FALSE;
    }
  node = spatial_node (m, node, error);
  if (!node)
    return FALSE;
  if (!convnet_graph_want_gradient (g, node, error)
      || !convnet_graph_retain (g, node, error)
      || !convnet_graph_forward (g, input, 1, error))
    goto out;
  if (*class_index < 0)
    *class_index = top_class (convnet_graph_output (g), m->n_classes);
  grad = convnet_graph_class_gradient (g, *class_index, error);
  act = grad ? convnet_graph_activation (g, node, &shape, error) : NULL;
  if (!act)
    goto out;

  hw = (gsize) shape.h * shape.w;
  cam = g_new0 (float, hw);
  for (int c = 0; c < shape.c; c++)
    {
      const float *gc = grad + c * hw, *ac = act + c * hw;
      double weight = 0.0;
      for (gsize p = 0; p < hw; p++)
        weight += gc[p];
      weight /= hw;
      for (gsize p = 0; p < hw; p++)
        cam[p] += (float) weight * ac[p];
    }
  for (gsize p = 0; p < hw; p++)
    {
      cam[p] = cam[p] > 0.0f ? cam[p] : 0.0f;
      max = fmaxf (max, cam[p]);
    }
  for (gsize p = 0; max > 0.0f && p < hw; p++)
    cam[p] /= max;
  *map = cam;
  *height = shape.h;
  *width = shape.w;
  ok = TRUE;

out:
  /* later forwards need not keep what a backward reads */
  convnet_graph_want_gradient (g, NULL, NULL);
  return ok;
}

typedef struct
{
  int    channel;
  double mean;
} Ranked;

static int
by_probability (const void *a, const void *b)
{
  const float *const *x = a, *const *y = b;

  if (**x != **y)
    return **x < **y ? 1 : -1;
  return *x < *y ? -1 : 1;
}

int
convnet_top_classes (const float *logits, int classes, int k, int *indices,
                     float *probabilities)
{
  float *probs = g_new (float, classes);
  const float **order = g_new (const float *, classes);
  float max = -INFINITY;
  double sum = 0.0;

  for (int c = 0; c < classes; c++)
    max = fmaxf (max, logits[c]);
  for (int c = 0; c < classes; c++)
    sum += exp ((double) logits[c] - max);
  for (int c = 0; c < classes; c++)
    {
      probs[c] = (float) (exp ((double) logits[c] - max) / sum);
      order[c] = probs + c;
    }
  /* best first; equal probabilities in class order */
  qsort (order, classes, sizeof *order, by_probability);
  k = CLAMP (k, 0, classes);
  for (int i = 0; i < k; i++)
    {
      indices[i] = (int) (order[i] - probs);
      probabilities[i] = *order[i];
    }
  g_free (order);
  g_free (probs);
  return k;
}

static int
by_mean_descending (gconstpointer a, gconstpointer b)
{
  const Ranked *x = a, *y = b;

  if (x->mean != y->mean)
    return x->mean < y->mean ? 1 : -1;
  return x->channel - y->channel;
}

gboolean
convnet_feature_maps (ConvnetModel *m, const float *input, const char *node,
                      float **maps, ConvnetShape *shape, int **order,
                      GError **error)
{
  ConvnetGraph *g = m->graph;
  const ConvnetNodeInfo *info = convnet_graph_lookup (g, node ? node : "");
  const float *act;
  Ranked *ranked;
  gsize hw;

  if (!info)
    {
      g_set_error (error, CONVNET_ERROR, CONVNET_ERROR_ARGUMENT,
                   "%s has no node named '%s' (see 'convnet info %s')",
                   m->arch, node ? node : "", m->arch);
      return FALSE;
    }
  if (!convnet_graph_retain (g, node, error)
      || !convnet_graph_forward (g, input, 1, error)
      || !(act = convnet_graph_activation (g, node, shape, error)))
    return FALSE;

  hw = (gsize) shape->h * shape->w;
  *maps = g_memdup2 (act, hw * shape->c * sizeof (float));
  ranked = g_new (Ranked, shape->c);
  for (int c = 0; c < shape->c; c++)
    {
      double sum = 0.0;
      for (gsize p = 0; p < hw; p++)
        sum += act[c * hw + p];
      ranked[c] = (Ranked) { c, sum / hw };
    }
  qsort (ranked, shape->c, sizeof (Ranked), by_mean_descending);
  *order = g_new (int, shape->c);
  for (int c = 0; c < shape->c; c++)
    (*order)[c] = ranked[c].channel;
  g_free (ranked);
  return TRUE;
}

void
convnet_resize_plane_rows (const float *src, int sw, int sh, float *dst,
                           int dw, int dh, int first_row, int rows)
{
  const float sx = (float) sw / dw, sy = (float) sh / dh;

  for (int r = 0; r < rows; r++)
    {
      /* the centre of the output pixel, in input pixels */
      const float fy = MAX (0.0f, (first_row + r + 0.5f) * sy - 0.5f);
      const int y0 = MIN ((int) fy, sh - 1), y1 = MIN (y0 + 1, sh - 1);
      const float wy = fy - y0;

      for (int x = 0; x < dw; x++)
        {
          const float fx = MAX (0.0f, (x + 0.5f) * sx - 0.5f);
          const int x0 = MIN ((int) fx, sw - 1), x1 = MIN (x0 + 1, sw - 1);
          const float wx = fx - x0;
          const float top = src[y0 * sw + x0] * (1 - wx) + src[y0 * sw + x1] * wx;
          const float bottom = src[y1 * sw + x0] * (1 - wx)
                               + src[y1 * sw + x1] * wx;
          dst[(gsize) r * dw + x] = top * (1 - wy) + bottom * wy;
        }
    }
}

void
convnet_resize_plane (const float *src, int sw, int sh, float *dst, int dw,
                      int dh)
{
  convnet_resize_plane_rows (src, sw, sh, dst, dw, dh, 0, dh);
}

void
convnet_colormap (float v, guint8 rgb[3])
{
  /* dark blue, blue, cyan, green, yellow, red, dark red */
  static const float stops[7][3] = {
    { 0.19f, 0.07f, 0.23f }, { 0.16f, 0.47f, 0.93f }, { 0.10f, 0.85f, 0.82f },
    { 0.40f, 0.98f, 0.35f }, { 0.95f, 0.80f, 0.20f }, { 0.93f, 0.35f, 0.08f },
    { 0.48f, 0.02f, 0.01f }
  };
  float t;
  int i;

  v = isnan (v) ? 0.0f : CLAMP (v, 0.0f, 1.0f);
  t = v * 6.0f;
  i = MIN ((int) t, 5);
  t -= i;
  for (int c = 0; c < 3; c++)
    rgb[c] = (guint8) lrintf (255.0f * (stops[i][c] * (1 - t)
                                        + stops[i + 1][c] * t));
}
