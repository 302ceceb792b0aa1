/* finetune.c: plug-in-convnet-finetune: a new classifier for the classes
 * of an image folder on top of a model the user has, saved under a name
 * in the user's weights folder, where every other ConvNet filter then
 * finds it. */
#include "config.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <string.h>

#include <gdk-pixbuf/gdk-pixbuf.h>

#include "host.h"
#include "plugin.h"
#include "train/train.h"

static gboolean
report_progress (const ConvnetTrainProgress *p, gpointer user_data)
{
  (void) user_data;
  if (strcmp (p->stage, "features") == 0 && p->total)
    gimp_progress_update (0.5 * p->done / p->total);
  else if (p->epochs)
    gimp_progress_update (0.5 + 0.5 * (p->epoch - 1 + (p->total ? (double) p->done / p->total : 1.0))
                          / p->epochs);
  return TRUE;
}

static gboolean
valid_name (const char *name)
{
  if (!name || !*name || name[0] == '.' || strlen (name) > 100)
    return FALSE;
  for (const char *c = name; *c; c++)
    if (*c == '/' || *c == '\\' || (unsigned char) *c < 0x20)
      return FALSE;
  return TRUE;
}

gboolean
plugin_finetune (const char *base, const char *data_dir, const char *name,
                 int epochs, double lr, guint augment, gboolean last_block,
                 double *accuracy, GError **error)
{
  const char *const *folders = plugin_model_folders ();
  ConvnetFinetuneSettings s;
  ConvnetFinetuneResult r;
  ConvnetDataset *data;
  GPtrArray *skipped;
  const char *arch;
  char *base_path, *file, *out;
  gboolean ok;

  if (!valid_name (name))
    {
      g_set_error (error, CONVNET_ERROR, CONVNET_ERROR_ARGUMENT,
                   "'%s' cannot name a model: use letters, digits, '-' or "
                   "'_', no '/' and no leading '.'", name ? name : "");
      return FALSE;
    }
  if (convnet_arch_lookup (name))
    {
      g_set_error (error, CONVNET_ERROR, CONVNET_ERROR_ARGUMENT,
                   "'%s' is an architecture's name; choose another", name);
      return FALSE;
    }
  base_path = convnet_model_registry_resolve (folders, base, &arch, error);
  if (!base_path)
    return FALSE;

  gimp_progress_init_printf (_("Reading %s"), data_dir);
  skipped = g_ptr_array_new_with_free_func (g_free);
  data = convnet_dataset_load_folder (data_dir, skipped, error);
  for (guint i = 0; i < skipped->len; i++)
    gimp_message (g_ptr_array_index (skipped, i));
  g_ptr_array_unref (skipped);
  if (!data)
    {
      g_free (base_path);
      return FALSE;
    }

  if (g_mkdir_with_parents (folders[0], 0755) != 0)
    {
      g_set_error (error, CONVNET_ERROR, CONVNET_ERROR_IO,
                   "cannot create the weights folder %s: %s", folders[0],
                   g_strerror (errno));
      convnet_dataset_free (data);
      g_free (base_path);
      return FALSE;
    }
  file = g_strconcat (name, ".safetensors", NULL);
  out = g_build_filename (folders[0], file, NULL);

  convnet_finetune_defaults (&s);
  s.base_weights = base_path;
  s.base_arch = arch;
  s.train_last_block = last_block;
  if (epochs > 0)
    s.epochs = epochs;
  if (lr > 0.0)
    s.lr = lr;
  s.augment = augment;
  s.callback = report_progress;
  gimp_progress_set_text (_("Fine-tuning"));
  ok = convnet_finetune (&s, data, out, &r, error);
  if (ok)
    {
      *accuracy = r.validation.accuracy;
      convnet_finetune_result_clear (&r);
    }
  convnet_dataset_free (data);
  g_free (file);
  g_free (out);
  g_free (base_path);
  return ok;
}

char *
plugin_export_image (int image, gboolean selection, gpointer user_data,
                     GError **error)
{
  const gint32 drawable = plugin_host_image_drawable (image);
  char *dir = g_build_filename (gimp_directory (), "gimp-convnet", "regions",
                                NULL);
  char *name = NULL, *path = NULL;
  ConvnetImage *pixels;
  GdkPixbuf *pixbuf;
  int x, y, w, h;

  (void) user_data;
  pixels = drawable > 0
           ? plugin_read_drawable (drawable, selection, 1024, &x, &y, &w, &h,
                                   error)
           : NULL;
  if (!pixels)
    {
      if (error && !*error)
        g_set_error (error, CONVNET_ERROR, CONVNET_ERROR_ARGUMENT,
                     "the image has no layer to add");
      g_free (dir);
      return NULL;
    }
  g_mkdir_with_parents (dir, 0755);
  pixbuf = gdk_pixbuf_new_from_data (pixels->pixels, GDK_COLORSPACE_RGB,
                                     FALSE, 8, pixels->width, pixels->height,
                                     pixels->width * 3, NULL, NULL);
  /* a unique name: the same image may be added several times */
  name = g_strdup_printf ("image%d-%" G_GINT64_FORMAT ".png", image,
                          g_get_real_time ());
  path = g_build_filename (dir, name, NULL);
  if (!gdk_pixbuf_save (pixbuf, path, "png", error, NULL))
    g_clear_pointer (&path, g_free);
  g_object_unref (pixbuf);
  convnet_image_free (pixels);
  g_free (name);
  g_free (dir);
  return path;
}
