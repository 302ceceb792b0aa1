/* saliency.c: plug-in-convnet-saliency: a Grad-CAM heatmap of one class
 * as a coloured layer over the part of the region the network sees (an
 * ImageNet model's centre crop), translucent so the photo shows. */
#include "config.h"

#include "host.h"
#include "plugin.h"

typedef struct
{
  const float *cam;
  int          ch, cw;
  int          width, height;
} HeatFill;

static void
fill_heat (gpointer data, int y, int rows, guint8 *rgb)
{
  HeatFill *f = data;
  float *values = g_new (float, (gsize) f->width * rows);

  convnet_resize_plane_rows (f->cam, f->cw, f->ch, values, f->width,
                             f->height, y, rows);
  for (gsize i = 0; i < (gsize) f->width * rows; i++)
    convnet_colormap (values[i], rgb + i * 3);
  g_free (values);
}

gint32
plugin_saliency (gint32 image, gint32 drawable, ConvnetModel *model,
                 const char *node, int class_index, GError **error)
{
  int x, y, w, h;
  float *input, *cam = NULL;
  HeatFill fill = { 0 };
  gint32 layer;
  char *name;

  input = plugin_model_input_window (model, drawable, &x, &y, &w, &h, error);
  if (!input)
    return -1;
  gimp_progress_update (0.3);
  if (!convnet_gradcam (model, input, node, &class_index, &cam, &fill.ch,
                        &fill.cw, error))
    {
      g_free (input);
      return -1;
    }
  g_free (input);
  gimp_progress_update (0.7);

  fill.cam = cam;
  fill.width = w;
  fill.height = h;
  name = g_strdup_printf ("Grad-CAM: %s", model->labels[class_index]);
  layer = plugin_new_layer (image, name, w, h, PLUGIN_HEATMAP_OPACITY,
                            GIMP_LAYER_MODE_NORMAL);
  plugin_insert_above (image, layer, drawable);
  plugin_host_layer_set_offsets (layer, x, y);
  plugin_fill_layer (layer, w, h, fill_heat, &fill);
  g_free (name);
  g_free (cam);
  gimp_progress_update (1.0);
  return layer;
}
