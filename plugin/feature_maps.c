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
/* rows of the grid in memory at once while a layer is written */
#define GRID_STRIP_ROWS 256

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

/* Every channel in a grid of tiles, each normalised on its own; the gaps
 * and the tiles past the last channel are transparent. */
static void
grid_rows (const MapFill *f, int y, int rows, guint8 *rgba)
{
  const gsize plane = (gsize) f->mh * f->mw;

  for (int r = 0; r < rows; r++)
    {
      const int ty = tile_at (y + r, f->rows, f->height, f->gap);

      for (int x = 0; x < f->width; x++)
        {
          const int tx = tile_at (x, f->cols, f->width, f->gap);
          const int tile = ty * f->cols + tx;
          guint8 *p = rgba + ((gsize) r * f->width + x) * 4;
          guint8 v = 0, alpha = 0;

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
              alpha = 255;
            }
          p[0] = p[1] = p[2] = v;
          p[3] = alpha;
        }
    }
}

struct _PluginFeatureGrid
{
  MapFill  fill;
  float   *maps;
  int     *order;
  char    *node;
};

/* "" names the architecture's default node, its last convolutional
 * block (the one Grad-CAM reads). */
static const char *
resolve_node (ConvnetModel *model, const char *node)
{
  const ConvnetArch *arch = convnet_arch_lookup (model->arch);

  return (!node || !*node) && arch && arch->cam_node ? arch->cam_node : node;
}

PluginFeatureGrid *
plugin_feature_grid_new (ConvnetModel *model, const float *input,
                         const char *node, int max_channels, int width,
                         int height, GError **error)
{
  PluginFeatureGrid *grid = g_new0 (PluginFeatureGrid, 1);
  MapFill *f = &grid->fill;
  ConvnetShape shape;
  gsize plane;

  grid->node = g_strdup (resolve_node (model, node));
  if (!convnet_feature_maps (model, input, grid->node, &grid->maps, &shape,
                             &grid->order, error))
    {
      plugin_feature_grid_free (grid);
      return NULL;
    }
  plane = (gsize) shape.h * shape.w;
  f->maps = grid->maps;
  f->mh = shape.h;
  f->mw = shape.w;
  f->width = width;
  f->height = height;
  f->channels = grid->order;
  f->n = max_channels > 0 ? MIN (max_channels, shape.c) : shape.c;
  f->cols = (int) ceil (sqrt (f->n));
  f->rows = (f->n + f->cols - 1) / f->cols;
  f->gap = MIN (GRID_GAP, MIN (width / f->cols, height / f->rows) / 8);
  f->tile_lo = g_new (float, f->n);
  f->tile_hi = g_new (float, f->n);
  for (int k = 0; k < f->n; k++)
    channel_range (grid->maps + grid->order[k] * plane, plane,
                   f->tile_lo + k, f->tile_hi + k);
  return grid;
}

const char *
plugin_feature_grid_node (const PluginFeatureGrid *grid)
{
  return grid->node;
}

void
plugin_feature_grid_rows (const PluginFeatureGrid *grid, int y, int rows,
                          guint8 *rgba)
{
  grid_rows (&grid->fill, y, rows, rgba);
}

void
plugin_feature_grid_free (PluginFeatureGrid *grid)
{
  if (!grid)
    return;
  g_free (grid->fill.tile_lo);
  g_free (grid->fill.tile_hi);
  g_free (grid->maps);
  g_free (grid->order);
  g_free (grid->node);
  g_free (grid);
}

gint32
plugin_feature_grid_layer (gint32 image, gint32 drawable,
                           const PluginFeatureGrid *grid, const char *name,
                           int x, int y)
{
  const int width = grid->fill.width, height = grid->fill.height;
  const int strip = MAX (1, MIN (GRID_STRIP_ROWS, height));
  gint32 layer = new_grid_layer (image, name, width, height);
  GeglBuffer *buffer;
  guint8 *rgba;

  plugin_insert_above (image, layer, drawable);
  plugin_host_layer_set_offsets (layer, x, y);
  buffer = plugin_host_drawable_buffer (layer);
  rgba = g_new (guint8, (gsize) width * strip * 4);
  for (int row = 0; row < height; row += strip)
    {
      const int n = MIN (strip, height - row);

      grid_rows (&grid->fill, row, n, rgba);
      gegl_buffer_set (buffer, GEGL_RECTANGLE (0, row, width, n), 0,
                       babl_format ("R'G'B'A u8"), rgba, width * 4);
    }
  g_free (rgba);
  g_object_unref (buffer);
  return layer;
}

/* One layer per channel in a new layer group. */
static gint32
channel_layers (gint32 image, gint32 drawable, ConvnetModel *model,
                const float *input, const char *node, const char *title,
                int max_channels, int x, int y, int w, int h, GError **error)
{
  int *order = NULL;
  float *maps = NULL;
  ConvnetShape shape;
  MapFill fill = { 0 };
  gint32 group;

  if (!convnet_feature_maps (model, input, node, &maps, &shape, &order,
                             error))
    return -1;
  fill.maps = maps;
  fill.mh = shape.h;
  fill.mw = shape.w;
  fill.width = w;
  fill.height = h;
  fill.n = max_channels > 0 ? MIN (max_channels, shape.c) : shape.c;
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
  g_free (maps);
  g_free (order);
  return group;
}

gint32
plugin_feature_maps (gint32 image, gint32 drawable, ConvnetModel *model,
                     const char *model_name, const char *node,
                     int max_channels, gboolean as_grid, GError **error)
{
  int x, y, w, h;
  float *input;
  char *title;
  gint32 layer = -1;

  node = resolve_node (model, node);
  input = plugin_model_input_window (model, drawable, &x, &y, &w, &h, error);
  if (!input)
    return -1;
  title = g_strdup_printf ("%s: %s", model_name, node);
  if (as_grid)
    {
      PluginFeatureGrid *grid = plugin_feature_grid_new (model, input, node,
                                                         max_channels, w, h,
                                                         error);
      if (grid)
        layer = plugin_feature_grid_layer (image, drawable, grid, title, x,
                                           y);
      plugin_feature_grid_free (grid);
    }
  else
    layer = channel_layers (image, drawable, model, input, node, title,
                            max_channels, x, y, w, h, error);
  g_free (title);
  g_free (input);
  return layer;
}
