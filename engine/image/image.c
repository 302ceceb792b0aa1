/* image.c: decoding image files into 8-bit RGB with gdk-pixbuf.
 *
 * The result must be what torchvision's pipelines see after
 * PIL.Image.open (path).convert ("RGB"): alpha is dropped, not composited;
 * gray comes out as three equal channels; no EXIF rotation is applied
 * (PIL does not apply it either). */
#include "convnet.h"

#include <gdk-pixbuf/gdk-pixbuf.h>
#include <string.h>

/* 20000 x 20000.  Beyond that a photo is almost surely a hostile or broken
 * header, and 3 bytes a pixel still fit comfortably in an int. */
#define MAX_PIXELS ((gint64) 400 * 1000 * 1000)

ConvnetImage *
convnet_image_new (int width,
                   int height,
                   int channels)
{
  ConvnetImage *image;
  gsize         n_pixels, n_bytes;

  g_return_val_if_fail (width > 0 && height > 0, NULL);
  g_return_val_if_fail (channels == 1 || channels == 3, NULL);

  if (!g_size_checked_mul (&n_pixels, (gsize) width, (gsize) height) ||
      !g_size_checked_mul (&n_bytes, n_pixels, (gsize) channels))
    return NULL;

  image = g_new0 (ConvnetImage, 1);
  image->width = width;
  image->height = height;
  image->channels = channels;
  image->pixels = g_malloc0 (n_bytes);
  return image;
}

void
convnet_image_free (ConvnetImage *image)
{
  if (image == NULL)
    return;
  g_free (image->pixels);
  g_free (image);
}

static gboolean
check_size (const char *path,
            int         width,
            int         height,
            GError    **error)
{
  if (width <= 0 || height <= 0)
    {
      char *name = g_filename_display_name (path);

      g_set_error (error, CONVNET_ERROR, CONVNET_ERROR_FORMAT,
                   "Image “%s” has an invalid size %d x %d",
                   name, width, height);
      g_free (name);
      return FALSE;
    }
  if ((gint64) width * height > MAX_PIXELS)
    {
      char *name = g_filename_display_name (path);

      g_set_error (error, CONVNET_ERROR, CONVNET_ERROR_LIMIT,
                   "Image “%s” is %d x %d pixels, more than the %"
                   G_GINT64_FORMAT " million accepted",
                   name, width, height, MAX_PIXELS / 1000000);
      g_free (name);
      return FALSE;
    }
  return TRUE;
}

/* gdk-pixbuf's JPEG loader turns a truncated file into an image whose
 * missing rows are gray, without an error, where PIL refuses it ("image
 * file is truncated").  A complete file reaches its end-of-image marker:
 * walk the marker segments, and the entropy-coded data after each
 * start-of-scan, to find it.  Data after the marker (as in phones' motion
 * photos) is fine. */
static gboolean
jpeg_is_complete (const guint8 *d,
                  gsize         n)
{
  gsize i = 2;

  if (n < 4 || d[0] != 0xFF || d[1] != 0xD8)
    return FALSE;

  while (i < n)
    {
      guint8 marker;
      gsize  length;

      /* libjpeg skips stray bytes before a marker, and so do we. */
      while (i < n && d[i] != 0xFF)
        i++;
      while (i < n && d[i] == 0xFF)
        i++;
      if (i >= n)
        return FALSE;
      marker = d[i++];
      if (marker == 0xD9)
        return TRUE;
      if (marker == 0x00 || marker == 0x01 ||
          (marker >= 0xD0 && marker <= 0xD7))
        continue;   /* no length field */
      if (i + 2 > n)
        return FALSE;
      length = ((gsize) d[i] << 8) | d[i + 1];
      if (length < 2 || length > n - i)
        return FALSE;
      i += length;
      if (marker != 0xDA)
        continue;
      /* Entropy-coded data: an 0xFF there is a stuffed zero or a restart
       * marker, or else the start of the next marker. */
      while (i + 1 < n)
        {
          if (d[i] == 0xFF && d[i + 1] != 0x00 &&
              !(d[i + 1] >= 0xD0 && d[i + 1] <= 0xD7))
            break;
          i += d[i] == 0xFF ? 2 : 1;
        }
    }
  return FALSE;
}

static gboolean
check_jpeg_complete (const char *path,
                     GError    **error)
{
  GMappedFile *file = g_mapped_file_new (path, FALSE, NULL);
  gboolean     complete;

  /* The decoder has just read the file: if it cannot be mapped now,
   * there is nothing better to report than the image itself. */
  if (file == NULL)
    return TRUE;
  complete = jpeg_is_complete ((const guint8 *) g_mapped_file_get_contents (file),
                               g_mapped_file_get_length (file));
  g_mapped_file_unref (file);
  if (!complete)
    {
      char *name = g_filename_display_name (path);

      g_set_error (error, CONVNET_ERROR, CONVNET_ERROR_FORMAT,
                   "Image “%s” is truncated: its JPEG data ends early", name);
      g_free (name);
    }
  return complete;
}

/* Moves a gdk-pixbuf or file error into CONVNET_ERROR, making sure the
 * message names the file: gdk-pixbuf names it for some failures only. */
static void
propagate_load_error (const char *path,
                      GError     *inner,
                      GError    **error)
{
  char *name = g_filename_display_name (path);
  int   code = CONVNET_ERROR_FORMAT;

  if (inner->domain == G_FILE_ERROR)
    code = CONVNET_ERROR_IO;
  else if (inner->domain == GDK_PIXBUF_ERROR &&
           inner->code == GDK_PIXBUF_ERROR_INSUFFICIENT_MEMORY)
    code = CONVNET_ERROR_LIMIT;
  else if (inner->domain == GDK_PIXBUF_ERROR &&
           inner->code == GDK_PIXBUF_ERROR_UNKNOWN_TYPE)
    code = CONVNET_ERROR_UNSUPPORTED;   /* another decoder may read it */

  if (strstr (inner->message, name) != NULL)
    g_set_error_literal (error, CONVNET_ERROR, code, inner->message);
  else
    g_set_error (error, CONVNET_ERROR, code, "Cannot read image “%s”: %s",
                 name, inner->message);
  g_free (name);
  g_error_free (inner);
}

ConvnetImage *
convnet_image_load (const char *path,
                    GError    **error)
{
  GdkPixbufFormat *format;
  GdkPixbuf       *pixbuf;
  ConvnetImage    *image;
  GError          *inner = NULL;
  const guint8    *pixels;
  int              width = 0, height = 0;
  int              n_channels, rowstride, y;

  g_return_val_if_fail (path != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  /* Refuse a huge image from its header, before the decoder allocates
   * for it.  When the header cannot be read, the full load below reports
   * why. */
  format = gdk_pixbuf_get_file_info (path, &width, &height);
  if (format != NULL && width > 0 && height > 0 &&
      !check_size (path, width, height, error))
    return NULL;

  pixbuf = gdk_pixbuf_new_from_file (path, &inner);
  if (pixbuf == NULL)
    {
      if (inner == NULL)
        g_set_error (&inner, GDK_PIXBUF_ERROR, GDK_PIXBUF_ERROR_FAILED,
                     "the decoder gave no image");
      propagate_load_error (path, inner, error);
      return NULL;
    }

  if (format != NULL)
    {
      char *format_name = gdk_pixbuf_format_get_name (format);
      gboolean jpeg = g_strcmp0 (format_name, "jpeg") == 0;

      g_free (format_name);
      if (jpeg && !check_jpeg_complete (path, error))
        {
          g_object_unref (pixbuf);
          return NULL;
        }
    }

  width = gdk_pixbuf_get_width (pixbuf);
  height = gdk_pixbuf_get_height (pixbuf);
  n_channels = gdk_pixbuf_get_n_channels (pixbuf);
  if (!check_size (path, width, height, error))
    {
      g_object_unref (pixbuf);
      return NULL;
    }
  if (gdk_pixbuf_get_colorspace (pixbuf) != GDK_COLORSPACE_RGB ||
      gdk_pixbuf_get_bits_per_sample (pixbuf) != 8 ||
      n_channels < 3)
    {
      char *name = g_filename_display_name (path);

      g_set_error (error, CONVNET_ERROR, CONVNET_ERROR_FORMAT,
                   "Image “%s” decodes to an unsupported pixel layout", name);
      g_free (name);
      g_object_unref (pixbuf);
      return NULL;
    }

  image = convnet_image_new (width, height, 3);
  pixels = gdk_pixbuf_read_pixels (pixbuf);
  rowstride = gdk_pixbuf_get_rowstride (pixbuf);
  for (y = 0; y < height; y++)
    {
      const guint8 *in = pixels + (gsize) y * rowstride;
      guint8       *out = image->pixels + (gsize) y * width * 3;
      int           x;

      if (n_channels == 3)
        {
          memcpy (out, in, (gsize) width * 3);
          continue;
        }
      /* gdk-pixbuf's alpha is not premultiplied: dropping it leaves the
       * stored colour, as PIL's convert ("RGB") does. */
      for (x = 0; x < width; x++, in += n_channels, out += 3)
        {
          out[0] = in[0];
          out[1] = in[1];
          out[2] = in[2];
        }
    }

  g_object_unref (pixbuf);
  return image;
}
