/* png_save.c: writing RGBA pixels as a PNG with gdk-pixbuf, atomically:
 * the file is written under a temporary name in the destination's folder
 * and renamed over PATH only once complete, so a reader never sees half a
 * PNG and a failure leaves nothing behind. */
#include "convnet.h"

#include <errno.h>
#include <fcntl.h>
#include <gdk-pixbuf/gdk-pixbuf.h>
#include <glib/gstdio.h>
#include <string.h>
#include <unistd.h>

static void
set_io_error (GError    **error,
              const char *path,
              const char *why)
{
  char *name = g_filename_display_name (path);

  g_set_error (error, CONVNET_ERROR, CONVNET_ERROR_IO,
               "Cannot write PNG “%s”: %s", name, why);
  g_free (name);
}

gboolean
convnet_png_save_rgba (const guint8 *rgba,
                       int           width,
                       int           height,
                       const char   *path,
                       GError      **error)
{
  GdkPixbuf *pixbuf;
  GError    *inner = NULL;
  char      *temp;
  gboolean   ok;
  int        fd;

  g_return_val_if_fail (rgba != NULL && path != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (width <= 0 || height <= 0 || width > G_MAXINT / 4)
    {
      char *name = g_filename_display_name (path);

      g_set_error (error, CONVNET_ERROR, CONVNET_ERROR_ARGUMENT,
                   "Cannot write PNG “%s” of %d x %d pixels", name, width,
                   height);
      g_free (name);
      return FALSE;
    }

  /* same folder as PATH, so that the rename cannot cross file systems */
  temp = g_strconcat (path, ".XXXXXX", NULL);
  fd = g_mkstemp_full (temp, O_WRONLY, 0644);
  if (fd < 0)
    {
      set_io_error (error, path, g_strerror (errno));
      g_free (temp);
      return FALSE;
    }
  close (fd);

  pixbuf = gdk_pixbuf_new_from_data ((guint8 *) rgba, GDK_COLORSPACE_RGB, TRUE, 8,
                                     width, height, width * 4, NULL, NULL);
  ok = gdk_pixbuf_save (pixbuf, temp, "png", &inner, NULL);
  g_object_unref (pixbuf);
  if (!ok)
    {
      set_io_error (error, path, inner->message);
      g_error_free (inner);
    }
  else if (g_rename (temp, path) != 0)
    {
      set_io_error (error, path, g_strerror (errno));
      ok = FALSE;
    }
  if (!ok)
    g_unlink (temp);
  g_free (temp);
  return ok;
}
