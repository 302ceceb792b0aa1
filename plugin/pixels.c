/* pixels.c: pixels between GIMP drawables and the engine, through GEGL:
 * every image type and precision comes out as 8-bit RGB, and huge layers
 * are read downscaled and written strip by strip. */
#include "config.h"

#include <gegl.h>
#include <math.h>

#include "host.h"
#include "plugin.h"

#define STRIP_ROWS 256

ConvnetImage *
plugin_read_region (gint32 drawable, int max_side, int *x, int *y,
                    int *width, int *height, GError **error)
{
  return plugin_read_drawable (drawable, TRUE, max_side, x, y, width, height,
                               error);
}

ConvnetImage *
plugin_read_drawable (gint32 drawable, gboolean selection, int max_side,
                      int *x, int *y, int *width, int *height,
                      GError **error)
{
  gint rx = 0, ry = 0, rw, rh, ox, oy;
  GeglBuffer *buffer;
  ConvnetImage *image;
  double scale = 1.0;
  int dw, dh;
  gboolean inside;

  rw = plugin_host_drawable_width (drawable);
  rh = plugin_host_drawable_height (drawable);
  inside = selection ? plugin_host_drawable_mask (drawable, &rx, &ry, &rw, &rh)
                     : TRUE;
  if (!inside || rw <= 0 || rh <= 0)
    {
      g_set_error (error, CONVNET_ERROR, CONVNET_ERROR_ARGUMENT,
                   "the selection does not cover any of this layer");
      return NULL;
    }
  if (MAX (rw, rh) > max_side)
    scale = (double) max_side / MAX (rw, rh);
  dw = MAX (1, (int) lround (rw * scale));
  dh = MAX (1, (int) lround (rh * scale));

  buffer = plugin_host_drawable_buffer (drawable);
  image = convnet_image_new (dw, dh, 3);
  /* at a scale below 1 GEGL reads its downscaled levels, not every pixel */
  gegl_buffer_get (buffer,
                   GEGL_RECTANGLE ((int) floor (rx * scale),
                                   (int) floor (ry * scale), dw, dh),
                   scale, babl_format ("R'G'B' u8"), image->pixels,
                   dw * 3, GEGL_ABYSS_CLAMP);
  g_object_unref (buffer);

  plugin_host_drawable_offsets (drawable, &ox, &oy);
  *x = ox + rx;
  *y = oy + ry;
  *width = rw;
  *height = rh;
  return image;
}

gint32
plugin_new_layer (gint32 image, const char *name, int width, int height,
                  double opacity, GimpLayerMode mode)
{
  GimpImageType type;

  switch (plugin_host_image_base_type (image))
    {
    case GIMP_GRAY:
      type = GIMP_GRAY_IMAGE;
      break;
    case GIMP_INDEXED:
      type = GIMP_INDEXED_IMAGE;
      break;
    default:
      type = GIMP_RGB_IMAGE;
      break;
    }
  return plugin_host_layer_new (image, name, width, height, type, opacity,
                                mode);
}

void
plugin_insert_above (gint32 image, gint32 layer, gint32 drawable)
{
  plugin_host_insert_layer (image, layer, plugin_host_item_parent (drawable),
                            MAX (0, plugin_host_item_position (image,
                                                               drawable)));
}

void
plugin_fill_layer (gint32 layer, int width, int height,
                   PluginRowFiller fill, gpointer user_data)
{
  GeglBuffer *buffer = plugin_host_drawable_buffer (layer);
  const int rows = MAX (1, MIN (STRIP_ROWS, height));
  guint8 *strip = g_new (guint8, (gsize) width * rows * 3);

  for (int y = 0; y < height; y += rows)
    {
      const int n = MIN (rows, height - y);
      fill (user_data, y, n, strip);
      gegl_buffer_set (buffer, GEGL_RECTANGLE (0, y, width, n), 0,
                       babl_format ("R'G'B' u8"), strip, width * 3);
    }
  g_free (strip);
  g_object_unref (buffer);
}

float *
plugin_model_input (ConvnetModel *model, gint32 drawable, int *x, int *y,
                    int *width, int *height, GError **error)
{
  const ConvnetShape in = convnet_graph_input_shape (model->graph);
  /* enough for any resize the preprocessing does, and no more */
  const int max_side = MAX (2048, 4 * MAX (in.h, in.w));
  ConvnetImage *image = plugin_read_region (drawable, max_side, x, y, width,
                                            height, error);
  float *input;

  if (!image)
    return NULL;
  input = g_new (float, (gsize) in.c * in.h * in.w);
  if (!convnet_preprocess_image (&model->preprocess, image, input, error))
    g_clear_pointer (&input, g_free);
  convnet_image_free (image);
  return input;
}

float *
plugin_model_input_window (ConvnetModel *model, gint32 drawable, int *x,
                           int *y, int *width, int *height, GError **error)
{
  float *input = plugin_model_input (model, drawable, x, y, width, height,
                                     error);

  if (input
      && !convnet_preprocess_window_rect (&model->preprocess, *x, *y, *width,
                                          *height, x, y, width, height,
                                          error))
    g_clear_pointer (&input, g_free);
  return input;
}
