/* explain_files.c: plug-in-convnet-explain-files: many image files
 * explained in one run of the plug-in, the model loaded once: each
 * file's feature-map grid and Grad-CAM heatmap as PNGs, and optionally an
 * XCF with the photo and both as layers, as the filters make them. */
#include "config.h"

#include <errno.h>
#include <sys/stat.h>
#include <glib/gstdio.h>
#include <string.h>
#include <unistd.h>

#include "host.h"
#include "plugin.h"

/* What one image gives: over the window the network sees (X, Y, WIDTH,
 * HEIGHT in the photo), its grid, the heatmap's colours, and the heatmap
 * over the photo. */
typedef struct
{
  int                x, y, width, height;
  PluginFeatureGrid *grid;
  guint8            *grid_rgba;
  guint8            *heat_rgb;
  guint8            *composite_rgba;
  char              *class_label;
} Explanation;

static void
explanation_clear (Explanation *e)
{
  plugin_feature_grid_free (e->grid);
  g_free (e->grid_rgba);
  g_free (e->heat_rgb);
  g_free (e->composite_rgba);
  g_free (e->class_label);
  memset (e, 0, sizeof *e);
}

/* The heatmap at OPACITY over the photo's pixels, as GIMP's normal mode
 * shows a layer of that opacity; where the window passes the photo's
 * edge (a centre crop's padding) the photo is black. */
static void
composite_heat (Explanation *e, const ConvnetImage *photo)
{
  const double a = PLUGIN_HEATMAP_OPACITY / 100.0;

  e->composite_rgba = g_new (guint8, (gsize) e->width * e->height * 4);
  for (int y = 0; y < e->height; y++)
    for (int x = 0; x < e->width; x++)
      {
        const int px = e->x + x, py = e->y + y;
        const gboolean inside = px >= 0 && py >= 0 && px < photo->width
                                && py < photo->height;
        const gsize i = (gsize) y * e->width + x;
        /* only a pixel inside the photo has an address */
        const guint8 *src = inside
                            ? photo->pixels + ((gsize) py * photo->width + px)
                                              * photo->channels
                            : NULL;

        for (int c = 0; c < 3; c++)
          {
            const double under = inside
                                 ? src[photo->channels == 3 ? c : 0] : 0.0;

            e->composite_rgba[i * 4 + c] =
              (guint8) (under * (1.0 - a) + e->heat_rgb[i * 3 + c] * a + 0.5);
          }
        e->composite_rgba[i * 4 + 3] = 255;
      }
}

static gboolean
explain_image (ConvnetModel *model, const ConvnetImage *photo,
               const char *node, Explanation *e, GError **error)
{
  const ConvnetShape in = convnet_graph_input_shape (model->graph);
  float *input = g_new (float, (gsize) in.c * in.h * in.w);
  float *cam = NULL, *values = NULL;
  int class_index = -1, ch, cw;
  gboolean ok = FALSE;

  if (!convnet_preprocess_image (&model->preprocess, photo, input, error)
      || !convnet_preprocess_window_rect (&model->preprocess, 0, 0,
                                          photo->width, photo->height,
                                          &e->x, &e->y, &e->width,
                                          &e->height, error))
    goto out;
  e->grid = plugin_feature_grid_new (model, input, node, 0, e->width,
                                     e->height, error);
  if (!e->grid)
    goto out;
  e->grid_rgba = g_new (guint8, (gsize) e->width * e->height * 4);
  plugin_feature_grid_rows (e->grid, 0, e->height, e->grid_rgba);

  /* Grad-CAM at the architecture's own node, of the top class */
  if (!convnet_gradcam (model, input, NULL, &class_index, &cam, &ch, &cw,
                        error))
    goto out;
  values = g_new (float, (gsize) e->width * e->height);
  convnet_resize_plane (cam, cw, ch, values, e->width, e->height);
  e->heat_rgb = g_new (guint8, (gsize) e->width * e->height * 3);
  for (gsize i = 0; i < (gsize) e->width * e->height; i++)
    convnet_colormap (values[i], e->heat_rgb + i * 3);
  e->class_label = g_strdup (model->labels[class_index]);
  composite_heat (e, photo);
  ok = TRUE;

out:
  g_free (input);
  g_free (cam);
  g_free (values);
  return ok;
}

typedef struct
{
  const guint8 *pixels;
  int           channels, width;
} RowSource;

static void
copy_rows (gpointer data, int y, int rows, guint8 *rgb)
{
  const RowSource *s = data;

  for (gsize i = 0; i < (gsize) s->width * rows; i++)
    for (int c = 0; c < 3; c++)
      rgb[i * 3 + c] = s->pixels[((gsize) y * s->width + i) * s->channels
                                 + (s->channels == 3 ? c : 0)];
}

/* The photo with the grid and the heatmap layers above it, as
 * plug-in-convnet-feature-maps (as-grid) and plug-in-convnet-saliency
 * make them, saved as an XCF at PATH (atomically: GIMP writes a
 * temporary file beside it, renamed once complete). */
static gboolean
save_xcf (const ConvnetImage *photo, const Explanation *e,
          const char *model_name, const char *title, const char *path,
          GError **error)
{
  const gint32 image = plugin_host_image_new (photo->width, photo->height,
                                              GIMP_RGB);
  RowSource source = { photo->pixels, photo->channels, photo->width };
  RowSource heat = { e->heat_rgb, 3, e->width };
  char *temp = g_strconcat (path, ".XXXXXX.xcf", NULL);
  char *grid_name, *heat_name;
  gint32 layer, grid, heatmap;
  gboolean ok;
  int fd;

  if (image < 0)
    {
      g_set_error (error, CONVNET_ERROR, CONVNET_ERROR_IO,
                   _("GIMP cannot make an image for “%s”"), title);
      g_free (temp);
      return FALSE;
    }
  layer = plugin_new_layer (image, title, photo->width, photo->height, 100.0,
                            GIMP_LAYER_MODE_NORMAL);
  plugin_host_insert_layer (image, layer, -1, 0);
  plugin_fill_layer (layer, photo->width, photo->height, copy_rows, &source);

  grid_name = g_strdup_printf ("%s: %s", model_name,
                               plugin_feature_grid_node (e->grid));
  grid = plugin_feature_grid_layer (image, layer, e->grid, grid_name, e->x,
                                    e->y);
  heat_name = g_strdup_printf ("Grad-CAM: %s", e->class_label);
  heatmap = plugin_new_layer (image, heat_name, e->width, e->height,
                              PLUGIN_HEATMAP_OPACITY, GIMP_LAYER_MODE_NORMAL);
  plugin_insert_above (image, heatmap, grid);
  plugin_host_layer_set_offsets (heatmap, e->x, e->y);
  plugin_fill_layer (heatmap, e->width, e->height, copy_rows, &heat);

  fd = g_mkstemp (temp);
  if (fd < 0)
    {
      char *name = g_filename_display_name (path);

      g_set_error (error, CONVNET_ERROR, CONVNET_ERROR_IO,
                   _("Cannot write “%s”: %s"), name, g_strerror (errno));
      g_free (name);
      ok = FALSE;
    }
  else
    {
      const mode_t mask = umask (0);

      /* the temporary file is private; the XCF gets the usual mode */
      umask (mask);
      close (fd);
      ok = plugin_host_image_save (image, temp, error);
      if (ok && (g_chmod (temp, 0666 & ~mask) != 0
                 || g_rename (temp, path) != 0))
        {
          char *name = g_filename_display_name (path);

          g_set_error (error, CONVNET_ERROR, CONVNET_ERROR_IO,
                       _("Cannot write “%s”: %s"), name, g_strerror (errno));
          g_free (name);
          ok = FALSE;
        }
      if (!ok)
        g_unlink (temp);
    }
  plugin_host_image_delete (image);
  g_free (grid_name);
  g_free (heat_name);
  g_free (temp);
  return ok;
}

/* FILE's name without its folder and extension, made unique within the
 * job: a second a.png (in another folder, or a.jpg beside it) becomes
 * a-2, a third a-3, in the order the files are listed (sorted). */
static char *
unique_stem (const char *file, GHashTable *taken)
{
  char *base = g_path_get_basename (file);
  char *dot = strrchr (base, '.');
  char *stem;

  if (dot && dot != base)
    *dot = '\0';
  stem = g_strdup (base);
  for (int n = 2; g_hash_table_contains (taken, stem); n++)
    {
      g_free (stem);
      stem = g_strdup_printf ("%s-%d", base, n);
    }
  g_hash_table_add (taken, g_strdup (stem));
  g_free (base);
  return stem;
}

/* Explains FILE; writes nothing, or removes what it wrote, on failure. */
static gboolean
explain_file (ConvnetModel *model, const char *model_name, const char *file,
              const char *node, const char *folder, const char *stem,
              gboolean with_xcf, GError **error)
{
  char *name = g_strconcat (stem, "-feature-maps.png", NULL);
  char *grid_png = g_build_filename (folder, name, NULL);
  char *heat_png, *xcf;
  Explanation e = { 0 };
  ConvnetImage *photo;
  gboolean ok = FALSE;

  g_free (name);
  name = g_strconcat (stem, "-heatmap.png", NULL);
  heat_png = g_build_filename (folder, name, NULL);
  g_free (name);
  name = g_strconcat (stem, ".xcf", NULL);
  xcf = g_build_filename (folder, name, NULL);
  g_free (name);

  photo = plugin_image_load_any (file, error);
  if (photo && explain_image (model, photo, node, &e, error)
      && convnet_png_save_rgba (e.grid_rgba, e.width, e.height, grid_png,
                                error)
      && convnet_png_save_rgba (e.composite_rgba, e.width, e.height,
                                heat_png, error)
      && (!with_xcf || save_xcf (photo, &e, model_name, stem, xcf, error)))
    ok = TRUE;
  if (!ok && photo)
    {
      g_unlink (grid_png);
      g_unlink (heat_png);
    }
  explanation_clear (&e);
  convnet_image_free (photo);
  g_free (grid_png);
  g_free (heat_png);
  g_free (xcf);
  return ok;
}

gboolean
plugin_explain_files (ConvnetModel *model, const char *model_name,
                      const char *files, const char *node,
                      const char *out_folder, gboolean save_xcf,
                      int *explained, int *failed, GError **error)
{
  GPtrArray *paths;
  GHashTable *taken;
  gboolean cancelled = FALSE;

  *explained = *failed = 0;
  if (!*out_folder)
    {
      g_set_error (error, CONVNET_ERROR, CONVNET_ERROR_ARGUMENT,
                   _("Name a folder for the explanations (out-folder)"));
      return FALSE;
    }
  if (g_mkdir_with_parents (out_folder, 0755) != 0)
    {
      char *name = g_filename_display_name (out_folder);

      g_set_error (error, CONVNET_ERROR, CONVNET_ERROR_IO,
                   _("Cannot make the folder “%s”: %s"), name,
                   g_strerror (errno));
      g_free (name);
      return FALSE;
    }
  paths = convnet_batch_files (files, error);
  if (!paths)
    return FALSE;

  taken = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  gimp_progress_init (_("Explaining images"));
  for (guint i = 0; i < paths->len && !cancelled; i++)
    {
      const char *file = g_ptr_array_index (paths, i);
      char *stem = unique_stem (file, taken);
      char *shown = g_filename_display_name (file);
      GError *why = NULL;

      gimp_progress_set_text_printf (_("Explaining %s"), shown);
      if (explain_file (model, model_name, file, node, out_folder, stem,
                        save_xcf, &why))
        (*explained)++;
      else
        {
          char *text = g_strdup_printf (_("Cannot explain “%s”: %s"),
                                        shown, why->message);

          gimp_message (text);
          g_free (text);
          g_clear_error (&why);
          (*failed)++;
        }
      /* a host that lets the user cancel the progress says so here */
      cancelled = !gimp_progress_update ((i + 1.0) / paths->len);
      g_free (stem);
      g_free (shown);
    }
  g_hash_table_unref (taken);
  g_ptr_array_unref (paths);
  return !cancelled;
}
