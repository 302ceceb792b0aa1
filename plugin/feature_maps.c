/* feature_maps.c: plug-in-convnet-feature-maps: a node's activations as
 * layers over the part of the region the network sees (an ImageNet
 * model's centre crop), one per channel (most active first) or tiled in
 * one layer with transparent gaps between the tiles. */
#include "config.h"

#include <gegl.h>
#include <math.h>

#include "host.h"
#include "plugin.h"

/* Gap between tiles, in pixels: at most GRID_GAP, and at most an eighth
 * of a tile's side, so that small regions keep their pixels for maps. */
#define GRID_GAP 4

typedef struct
{
  const float *maps;      /* channels x mh x mw */
  int          mh, mw;
  const int   *channels;  /* which channel each tile shows */
  int          n, cols, rows, gap;
  int          width, height;
  float        lo, hi;    /* of the one channel of a layer */
  float       *tile_lo, *tile_hi;  /* of each tile's channel */
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

/* A layer of IMAGE's base type with an alpha channel, for the grid. */
static gint32
new_grid_layer (gint32 image, const char *name, int width, int height)
{
  GimpImageType type;

  switch (plugin_host_image_base_type (image))
    {
    case GIMP_GRAY:
      type = GIMP_GRAYA_IMAGE;
      break;
    case GIMP_INDEXED:
      type = GIMP_INDEXEDA_IMAGE;
      break;
    default:
      type = GIMP_RGBA_IMAGE;
      break;
    }
  return plugin_host_layer_new (image, name, width, height, type, 100.0,
                                GIMP_LAYER_MODE_NORMAL);
}

/* Where tile K of N starts along an axis of SIZE pixels: the tiles and
 * the N - 1 gaps between them fill the axis edge to edge. */
static int
tile_start (int k, int n, int size, int gap)
{
  return (int) ((gint64) k * (size + gap) / n);
}

/* The tile holding pixel P along an axis, or -1 for a gap. */
static int
tile_at (int p, int n, int size, int gap)
{
  int k = MIN (n - 1, (int) ((gint64) p * n / (size + gap)));

  while (k + 1 < n && tile_start (k + 1, n, size, gap) <= p)
    k++;
  while (k > 0 && tile_start (k, n, size, gap) > p)
    k--;
  return p < tile_start (k + 1, n, size, gap) - gap ? k : -1;
}

/* Every channel in a grid of tiles, each normalised on its own; gaps and
 * tiles without a channel are left for clear_gaps. */
static void
fill_grid (gpointer data, int y, int rows, guint8 *rgb)
{
  MapFill *f = data;
  const gsize plane = (gsize) f->mh * f->mw;

  for (int r = 0; r < rows; r++)
    {
      const int ty = tile_at (y + r, f->rows, f->height, f->gap);

      for (int x = 0; x < f->width; x++)
        {
          const int tx = tile_at (x, f->cols, f->width, f->gap);
          const int tile = ty * f->cols + tx;
          guint8 v = 0;

          if (ty >= 0 && tx >= 0 && tile < f->n)
            {
              const float *m = f->maps + f->channels[tile] * plane;
              /* nearest sample inside the tile keeps each map crisp */
              const int y0 = tile_start (ty, f->rows, f->height, f->gap);
              const int y1 = tile_start (ty + 1, f->rows, f->height, f->gap)
                             - f->gap;
              const int x0 = tile_start (tx, f->cols, f->width, f->gap);
              const int x1 = tile_start (tx + 1, f->cols, f->width, f->gap)
                             - f->gap;
              const int my = MIN (f->mh - 1, (y + r - y0) * f->mh / (y1 - y0));
              const int mx = MIN (f->mw - 1, (x - x0) * f->mw / (x1 - x0));

              v = to_level (m[my * f->mw + mx], f->tile_lo[tile],
                            f->tile_hi[tile]);
            }
          rgb[((gsize) r * f->width + x) * 3] =
            rgb[((gsize) r * f->width + x) * 3 + 1] =
              rgb[((gsize) r * f->width + x) * 3 + 2] = v;
        }
    }
}

/* Makes the gaps between tiles, and the tiles past the last channel,
 * transparent. */
static void
clear_gaps (gint32 layer, const MapFill *f)
{
  GeglBuffer *buffer = plugin_host_drawable_buffer (layer);
  GeglColor *none = gegl_color_new (NULL);

  gegl_color_set_rgba (none, 0.0, 0.0, 0.0, 0.0);
  for (int k = 1; k < f->cols && f->gap > 0; k++)
    gegl_buffer_set_color (buffer,
                           GEGL_RECTANGLE (tile_start (k, f->cols, f->width,
                                                       f->gap) - f->gap,
                                           0, f->gap, f->height), none);
  for (int k = 1; k < f->rows && f->gap > 0; k++)
    gegl_buffer_set_color (buffer,
                           GEGL_RECTANGLE (0, tile_start (k, f->rows,
                                                          f->height, f->gap)
                                              - f->gap,
                                           f->width, f->gap), none);
  for (int tile = f->n; tile < f->rows * f->cols; tile++)
    {
      const int tx = tile % f->cols, ty = tile / f->cols;
      const int x0 = tile_start (tx, f->cols, f->width, f->gap);
      const int y0 = tile_start (ty, f->rows, f->height, f->gap);

      gegl_buffer_set_color (
        buffer,
        GEGL_RECTANGLE (x0, y0,
                        tile_start (tx + 1, f->cols, f->width, f->gap)
                        - f->gap - x0,
                        tile_start (ty + 1, f->rows, f->height, f->gap)
                        - f->gap - y0),
        none);
    }
  g_object_unref (none);
  g_object_unref (buffer);
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
  if (!convnet_preprocess_window_rect (&model->preprocess, x, y, w, h, &x, &y,
                                       &w, &h, error) ||
      !convnet_feature_maps (model, input, node, &maps, &shape, &order,
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
      const gsize plane = (gsize) shape.h * shape.w;

      fill.channels = order;
      fill.cols = (int) ceil (sqrt (fill.n));
      fill.rows = (fill.n + fill.cols - 1) / fill.cols;
      fill.gap = MIN (GRID_GAP, MIN (w / fill.cols, h / fill.rows) / 8);
      fill.tile_lo = g_new (float, fill.n);
      fill.tile_hi = g_new (float, fill.n);
      for (int k = 0; k < fill.n; k++)
        channel_range (maps + order[k] * plane, plane, fill.tile_lo + k,
                       fill.tile_hi + k);
      group = new_grid_layer (image, title, w, h);
      plugin_insert_above (image, group, drawable);
      plugin_host_layer_set_offsets (group, x, y);
      plugin_fill_layer (group, w, h, fill_grid, &fill);
      clear_gaps (group, &fill);
      g_free (fill.tile_lo);
      g_free (fill.tile_hi);
    }
  else
    {
      group = plugin_host_layer_group_new (image);
      plugin_host_item_set_name (group, title);
      plugin_insert_above (image, group, drawable);
      for (int k = 0; k < fill.n; k++)
        {
          char *name = g_strdup_printf ("%s ch %d", node, order[k]);
          gint32 layer = plugin_new_layer (image, name, w, h, 100.0,
                                           GIMP_LAYER_MODE_NORMAL);
          fill.channels = order + k;
          channel_range (maps + (gsize) order[k] * shape.h * shape.w,
                         (gsize) shape.h * shape.w, &fill.lo, &fill.hi);
          plugin_host_insert_layer (image, layer, group, k);
          plugin_host_layer_set_offsets (layer, x, y);
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
