/* feature_maps.c: plug-in-convnet-feature-maps: a node's activations as
 * layers over the region they came from, one per channel (most active
 * first) or tiled in one layer. */
#include "config.h"

#include <math.h>

#include "plugin.h"

typedef struct
{
  const float *maps;      /* channels x mh x mw */
  int          mh, mw;
  const int   *channels;  /* which channel each tile shows */
  int          n, cols, rows;
  int          width, height;
  float        lo, hi;    /* of the one channel of a layer */
} MapFill;

static void
channel_range (const float *map, gsize n, float *lo, float *hi)
{
  *lo = INFINITY;
  *hi = -INFINITY;
  for (gsize i = 0; i < n; i++)
    {
      *lo = fminf (*lo, map[i]);
      *hi = fmaxf (*hi, map[i]);
    }
}

static guint8
to_level (float v, float lo, float hi)
{
  return hi > lo ? (guint8) lrintf (255.0f * (v - lo) / (hi - lo)) : 0;
}

/* One channel stretched over the whole layer. */
static void
fill_channel (gpointer data, int y, int rows, guint8 *rgb)
{
  MapFill *f = data;
  float *values = g_new (float, (gsize) f->width * rows);

  convnet_resize_plane_rows (f->maps + (gsize) f->channels[0] * f->mh * f->mw,
                             f->mw, f->mh, values, f->width, f->height, y,
                             rows);
  for (gsize i = 0; i < (gsize) f->width * rows; i++)
    rgb[i * 3] = rgb[i * 3 + 1] = rgb[i * 3 + 2] =
      to_level (values[i], f->lo, f->hi);
  g_free (values);
}

/* Every channel in a grid of tiles, each normalised on its own. */
static void
fill_grid (gpointer data, int y, int rows, guint8 *rgb)
{
  MapFill *f = data;
  const gsize plane = (gsize) f->mh * f->mw;

  for (int r = 0; r < rows; r++)
    for (int x = 0; x < f->width; x++)
      {
        const int ty = (y + r) * f->rows / f->height;
        const int tx = x * f->cols / f->width;
        const int tile = ty * f->cols + tx;
        guint8 v = 0;

        if (tile < f->n)
          {
            const float *m = f->maps + f->channels[tile] * plane;
            /* nearest sample inside the tile keeps each map crisp */
            const int tile_y0 = ty * f->height / f->rows;
            const int tile_y1 = (ty + 1) * f->height / f->rows;
            const int tile_x0 = tx * f->width / f->cols;
            const int tile_x1 = (tx + 1) * f->width / f->cols;
            const int my = MIN (f->mh - 1, (y + r - tile_y0) * f->mh
                                           / MAX (1, tile_y1 - tile_y0));
            const int mx = MIN (f->mw - 1, (x - tile_x0) * f->mw
                                           / MAX (1, tile_x1 - tile_x0));
            float lo, hi;
            channel_range (m, plane, &lo, &hi);
            v = to_level (m[my * f->mw + mx], lo, hi);
          }
        rgb[((gsize) r * f->width + x) * 3] =
          rgb[((gsize) r * f->width + x) * 3 + 1] =
            rgb[((gsize) r * f->width + x) * 3 + 2] = v;
      }
}

gint32
plugin_feature_maps (gint32 image, gint32 drawable, ConvnetModel *model,
                     const char *model_name, const char *node,
                     int max_channels, gboolean as_grid, GError **error)
{
  int x, y, w, h, *order = NULL;
  float *input, *maps = NULL;
  ConvnetShape shape;
  MapFill fill = { 0 };
  char *title;
  gint32 group = -1;

  input = plugin_model_input (model, drawable, &x, &y, &w, &h, error);
  if (!input)
    return -1;
  if (!convnet_feature_maps (model, input, node, &maps, &shape, &order,
                             error))
    goto out;
  fill.maps = maps;
  fill.mh = shape.h;
  fill.mw = shape.w;
  fill.width = w;
  fill.height = h;
  fill.n = max_channels > 0 ? MIN (max_channels, shape.c) : shape.c;
  title = g_strdup_printf ("%s: %s", model_name, node);

  if (as_grid)
    {
      fill.channels = order;
      fill.cols = (int) ceil (sqrt (fill.n));
      fill.rows = (fill.n + fill.cols - 1) / fill.cols;
      group = plugin_new_layer (image, title, w, h, 100.0,
                                GIMP_LAYER_MODE_NORMAL);
      plugin_insert_above (image, group, drawable);
      gimp_layer_set_offsets (group, x, y);
      plugin_fill_layer (group, w, h, fill_grid, &fill);
    }
  else
    {
      group = gimp_layer_group_new (image);
      gimp_item_set_name (group, title);
      plugin_insert_above (image, group, drawable);
      for (int k = 0; k < fill.n; k++)
        {
          char *name = g_strdup_printf ("%s ch %d", node, order[k]);
          gint32 layer = plugin_new_layer (image, name, w, h, 100.0,
                                           GIMP_LAYER_MODE_NORMAL);
          fill.channels = order + k;
          channel_range (maps + (gsize) order[k] * shape.h * shape.w,
                         (gsize) shape.h * shape.w, &fill.lo, &fill.hi);
          gimp_image_insert_layer (image, layer, group, k);
          gimp_layer_set_offsets (layer, x, y);
          plugin_fill_layer (layer, w, h, fill_channel, &fill);
          gimp_progress_update ((k + 1.0) / fill.n);
          g_free (name);
        }
    }
  g_free (title);

out:
  g_free (input);
  g_free (maps);
  g_free (order);
  return group;
}
