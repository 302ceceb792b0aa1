/* preprocess.c: an image to the float tensor a torchvision model expects.
 *
 * Reproduces, for PIL images,
 *   Compose ([Resize (s), CenterCrop ((h, w)), ToTensor (), Normalize (m, d)])
 * and for the grayscale models
 *   Compose ([Grayscale (), Resize ((h, w)), ToTensor ()])
 * including torchvision's integer choices: the long side is
 * int (s * long / short), the crop offset is Python's round () (half to
 * even), and a crop larger than the image pads with black pixels before
 * normalisation.  Only the cropped window is ever resized. */
#include "convnet.h"

#include <math.h>
#include <string.h>

/* Far beyond any network input; keeps every size product in range. */
#define MAX_SIDE 65536

/* One axis of the resize + center crop: output positions
 * DST_OFFSET .. DST_OFFSET + N - 1 of the crop come from resized positions
 * SRC_OFFSET .. SRC_OFFSET + N - 1; the rest of the crop is padding. */
typedef struct
{
  int src_offset;
  int dst_offset;
  int n;
} CropAxis;

static CropAxis
crop_axis (int resized,
           int crop)
{
  CropAxis axis;

  if (crop > resized)
    {
      /* torchvision pads (crop - size) // 2 before, the rest after, and
       * then crops at offset 0. */
      axis.src_offset = 0;
      axis.dst_offset = (crop - resized) / 2;
      axis.n = resized;
    }
  else
    {
      int diff = resized - crop;
      int half = diff / 2;

      /* int (round (diff / 2.0)): an odd difference lands on .5, which
       * Python rounds to the even neighbour. */
      if (diff % 2 == 1 && half % 2 == 1)
        half++;
      axis.src_offset = half;
      axis.dst_offset = 0;
      axis.n = crop;
    }
  return axis;
}

/* PIL's convert ("L"): ITU-R 601-2 luma in 16-bit fixed point, rounded.
 * The weights are 0.299, 0.587, 0.114 scaled by 65536 so that they sum to
 * exactly 65536; this is the rounding Pillow 9 uses, verified over all
 * 2^24 colours. */
static guint8 *
rgb_to_luma (const ConvnetImage *image)
{
  gsize   n = (gsize) image->width * image->height;
  guint8 *gray = g_new (guint8, n);
  const guint8 *p = image->pixels;
  gsize   i;

  for (i = 0; i < n; i++, p += 3)
    gray[i] = (guint8) ((p[0] * 19595 + p[1] * 38470 + p[2] * 7471 + 0x8000)
                        >> 16);
  return gray;
}

/* The mean of the outermost rows and columns, all channels: a photo of a
 * garment on a light background has a light border. */
static double
border_mean (const guint8 *pixels, int width, int height, int channels)
{
  double sum = 0.0;
  gsize count = 0;

  for (int y = 0; y < height; y++)
    {
      const gboolean edge_row = y == 0 || y == height - 1;
      for (int x = 0; x < width; x += edge_row ? 1 : MAX (1, width - 1))
        {
          for (int c = 0; c < channels; c++)
            sum += pixels[((gsize) y * width + x) * channels + c];
          count += channels;
        }
    }
  return count ? sum / count : 0.0;
}

/* The size Resize gives an image of WIDTH x HEIGHT before the crop. */
static gboolean
resized_size (const ConvnetPreprocess *pre,
              int                      width,
              int                      height,
              int                     *rw,
              int                     *rh,
              GError                 **error)
{
  if (pre->resize_shorter > 0)
    {
      int     shorter = MIN (width, height);
      int     longer = MAX (width, height);
      /* Python's int (size * long / short): the product is exact in a
       * double and the division correctly rounded, as in Python. */
      double  scaled = (double) pre->resize_shorter * longer / shorter;

      if (scaled >= (double) G_MAXINT / 4)
        {
          g_set_error (error, CONVNET_ERROR, CONVNET_ERROR_LIMIT,
                       "Image of %d x %d is too elongated to resize",
                       width, height);
          return FALSE;
        }
      if (width <= height)
        {
          *rw = pre->resize_shorter;
          *rh = (int) scaled;
        }
      else
        {
          *rw = (int) scaled;
          *rh = pre->resize_shorter;
        }
    }
  else
    {
      *rw = pre->crop_width;
      *rh = pre->crop_height;
    }
  return TRUE;
}

static gboolean
check_arguments (const ConvnetPreprocess *pre,
                 const ConvnetImage      *image,
                 int                      out_channels,
                 GError                 **error)
{
  int c;

  if (pre->crop_height <= 0 || pre->crop_width <= 0 ||
      pre->crop_height > MAX_SIDE || pre->crop_width > MAX_SIDE ||
      pre->resize_shorter < 0 || pre->resize_shorter > MAX_SIDE)
    {
      g_set_error (error, CONVNET_ERROR, CONVNET_ERROR_ARGUMENT,
                   "Invalid preprocessing sizes: resize %d, crop %d x %d",
                   pre->resize_shorter, pre->crop_width, pre->crop_height);
      return FALSE;
    }
  if (image->width <= 0 || image->height <= 0 || image->pixels == NULL ||
      (image->channels != 1 && image->channels != 3))
    {
      g_set_error (error, CONVNET_ERROR, CONVNET_ERROR_ARGUMENT,
                   "Invalid image: %d x %d with %d channels",
                   image->width, image->height, image->channels);
      return FALSE;
    }
  for (c = 0; c < out_channels; c++)
    if (!isfinite (pre->mean[c]) || !isfinite (pre->std[c]) ||
        pre->std[c] == 0.0f)
      {
        g_set_error (error, CONVNET_ERROR, CONVNET_ERROR_ARGUMENT,
                     "Invalid normalisation for channel %d: mean %g, std %g",
                     c, pre->mean[c], pre->std[c]);
        return FALSE;
      }
  return TRUE;
}

gboolean
convnet_preprocess_image (const ConvnetPreprocess *pre,
                          const ConvnetImage      *image,
                          float                   *out,
                          GError                 **error)
{
  const guint8 *src;
  guint8       *gray = NULL;
  guint8       *window;
  int           src_channels, out_channels;
  int           rw, rh, c, y, x;
  gsize         plane, i;
  CropAxis      ax, ay;
  float         lut[3][256], pad[3];
  gboolean      invert;

  g_return_val_if_fail (pre != NULL && image != NULL && out != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  out_channels = pre->grayscale ? 1 : 3;
  if (!check_arguments (pre, image, out_channels, error))
    return FALSE;

  /* Gray conversion comes before the resize, as in torchvision's lenet
   * pipeline; a gray image for a colour model is resized as one channel
   * and replicated, which equals PIL's convert ("RGB") then resize. */
  src = image->pixels;
  src_channels = image->channels;
  if (pre->grayscale && image->channels == 3)
    {
      gray = rgb_to_luma (image);
      src = gray;
      src_channels = 1;
    }

  if (!resized_size (pre, image->width, image->height, &rw, &rh, error))
    {
      g_free (gray);
      return FALSE;
    }

  ax = crop_axis (rw, pre->crop_width);
  ay = crop_axis (rh, pre->crop_height);

  window = g_new (guint8, (gsize) ax.n * ay.n * src_channels);
  convnet_resize_bilinear_u8_window (src, image->width, image->height,
                                     rw, rh, ax.src_offset, ay.src_offset,
                                     ax.n, ay.n, window, src_channels);

  /* ToTensor then Normalize, in float32 and in torch's order, so that
   * every value is bit-identical to torchvision's: (v / 255 - m) / s. */
  invert = pre->invert_light_background
           && border_mean (src, image->width, image->height, src_channels)
              > 127.5;
  for (c = 0; c < out_channels; c++)
    {
      int v;

      for (v = 0; v < 256; v++)
        lut[c][invert ? 255 - v : v] =
          ((float) v / 255.0f - pre->mean[c]) / pre->std[c];
      pad[c] = ((float) 0 / 255.0f - pre->mean[c]) / pre->std[c];
    }

  plane = (gsize) pre->crop_height * pre->crop_width;
  for (c = 0; c < out_channels; c++)
    {
      float        *dst = out + c * plane;
      const guint8 *row_src;
      int           sc = src_channels == 1 ? 0 : c;

      if (ax.n != pre->crop_width || ay.n != pre->crop_height)
        for (i = 0; i < plane; i++)
          dst[i] = pad[c];

      for (y = 0; y < ay.n; y++)
        {
          float *row = dst + (gsize) (ay.dst_offset + y) * pre->crop_width
                       + ax.dst_offset;

          row_src = window + ((gsize) y * ax.n) * src_channels + sc;
          for (x = 0; x < ax.n; x++, row_src += src_channels)
            row[x] = lut[c][*row_src];
        }
    }

  g_free (window);
  g_free (gray);
  return TRUE;
}

gboolean
convnet_preprocess_window (const ConvnetPreprocess *pre,
                           int                      width,
                           int                      height,
                           ConvnetWindow           *window,
                           GError                 **error)
{
  int      rw, rh;
  CropAxis ax, ay;
  double   sx, sy;

  g_return_val_if_fail (pre != NULL && window != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (pre->crop_height <= 0 || pre->crop_width <= 0 ||
      pre->crop_height > MAX_SIDE || pre->crop_width > MAX_SIDE ||
      pre->resize_shorter < 0 || pre->resize_shorter > MAX_SIDE ||
      width <= 0 || height <= 0)
    {
      g_set_error (error, CONVNET_ERROR, CONVNET_ERROR_ARGUMENT,
                   "Invalid preprocessing window: image %d x %d, resize %d, "
                   "crop %d x %d", width, height, pre->resize_shorter,
                   pre->crop_width, pre->crop_height);
      return FALSE;
    }
  if (!resized_size (pre, width, height, &rw, &rh, error))
    return FALSE;

  ax = crop_axis (rw, pre->crop_width);
  ay = crop_axis (rh, pre->crop_height);
  /* PIL maps resized pixel i onto source [i, i + 1) * size / resized; a
   * padded crop starts dst_offset pixels before the resized image. */
  sx = (double) width / rw;
  sy = (double) height / rh;
  window->x = (ax.src_offset - ax.dst_offset) * sx;
  window->y = (ay.src_offset - ay.dst_offset) * sy;
  window->width = pre->crop_width * sx;
  window->height = pre->crop_height * sy;
  return TRUE;
}

/* One axis of a window in whole pixels: both edges rounded to the nearest
 * pixel edge, at least one pixel wide. */
static void
round_span (double start, double size, int origin, int *pixel_start,
            int *pixel_size)
{
  double first = floor (start + 0.5);
  double last = floor (start + size + 0.5);

  *pixel_start = origin + (int) first;
  *pixel_size = MAX (1, (int) (last - first));
}

gboolean
convnet_preprocess_window_rect (const ConvnetPreprocess *pre,
                                int                      region_x,
                                int                      region_y,
                                int                      region_width,
                                int                      region_height,
                                int                     *x,
                                int                     *y,
                                int                     *width,
                                int                     *height,
                                GError                 **error)
{
  ConvnetWindow window;

  if (!convnet_preprocess_window (pre, region_width, region_height, &window,
                                  error))
    return FALSE;
  round_span (window.x, window.width, region_x, x, width);
  round_span (window.y, window.height, region_y, y, height);
  return TRUE;
}
