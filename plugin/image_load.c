/* image_load.c: image files decoded for batch jobs, whatever their
 * format: the engine's decoder is fast and reads what gdk-pixbuf reads;
 * GIMP's own loaders read the rest (XCF, WebP, PSD, ...) at the cost of
 * a PDB call and an image in GIMP's memory while it is read. */
#include "config.h"

#include "host.h"
#include "plugin.h"

/* The engine refuses larger images too (20000 x 20000 pixels) */
#define MAX_SIDE 20000

static ConvnetImage *
load_with_gimp (const char *path, GError **error)
{
  const gint32 image = plugin_host_image_load (path, error);
  ConvnetImage *pixels = NULL;
  gint32 layer;
  int x, y, width, height;

  if (image < 0)
    return NULL;
  layer = plugin_host_image_flatten (image);
  if (layer < 0)
    {
      char *name = g_filename_display_name (path);

      g_set_error (error, CONVNET_ERROR, CONVNET_ERROR_FORMAT,
                   _("“%s” has no visible pixels"), name);
      g_free (name);
    }
  else
    pixels = plugin_read_drawable (layer, FALSE, MAX_SIDE, &x, &y, &width,
                                   &height, error);
  plugin_host_image_delete (image);
  return pixels;
}

ConvnetImage *
plugin_image_load_any (const char *path, GError **error)
{
  GError *inner = NULL;
  ConvnetImage *image = convnet_image_load (path, &inner);

  if (image)
    return image;
  if (!g_error_matches (inner, CONVNET_ERROR, CONVNET_ERROR_UNSUPPORTED))
    {
      g_propagate_error (error, inner);
      return NULL;
    }
  g_error_free (inner);
  return load_with_gimp (path, error);
}
