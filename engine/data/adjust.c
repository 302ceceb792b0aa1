/* adjust.c: the 8-bit image operations of augmentation, as torchvision
 * performs them on PIL images, down to Pillow's rounding.
 *
 * torchvision's transforms call Pillow for PIL images: ColorJitter is
 * ImageEnhance (an Image.blend with a "degenerate" image, computed in
 * float and truncated), RandomRotation is Image.rotate (an affine map
 * evaluated in double, bilinear taps, truncated).  Reproducing the
 * arithmetic rather than its intent keeps our samples the ones those
 * pipelines would feed the network, which the tests check byte for
 * byte. */
#include "data.h"

#include <math.h>
#include <string.h>

/* PIL's convert ("L"), as in preprocessing: ITU-R 601-2 luma in 16-bit
 * fixed point. */
static inline int
luma (const guint8 *p)
{
  return (p[0] * 19595 + p[1] * 38470 + p[2] * 7471 + 0x8000) >> 16;
}

/* Image.blend (degenerate, image, factor) for one byte.  Pillow takes the
 * factor as a C float and computes in float; the interpolating branch
 * truncates, the extrapolating one clips then truncates, and both are
 * this. */
static inline guint8
blend (int   degenerate,
       int   value,
       float factor)
{
  float v = (float) degenerate + factor * (float) (value - degenerate);

  if (v <= 0.0f)
    return 0;
  if (v >= 255.0f)
    return 255;
  return (guint8) v;
}

static void
apply_lut (ConvnetImage *image,
           const guint8  lut[256])
{
  gsize   n = (gsize) image->width * image->height * image->channels;
  guint8 *p = image->pixels;
  gsize   i;

  for (i = 0; i < n; i++)
    p[i] = lut[p[i]];
}

void
convnet_image_adjust_brightness (ConvnetImage *image,
                                 double        factor)
{
  guint8 lut[256];
  int    v;

  g_return_if_fail (image != NULL && image->pixels != NULL);

  /* The degenerate image is black. */
  for (v = 0; v < 256; v++)
    lut[v] = blend (0, v, (float) factor);
  apply_lut (image, lut);
}

void
convnet_image_adjust_contrast (ConvnetImage *image,
                               double        factor)
{
  gsize         n, i;
  const guint8 *p;
  guint64       sum = 0;
  guint8        lut[256];
  int           mean, v;

  g_return_if_fail (image != NULL && image->pixels != NULL);

  /* The degenerate image is flat gray at the mean of the luma, which
   * ImageStat computes as a double from the histogram and Contrast
   * rounds with int (mean + 0.5). */
  n = (gsize) image->width * image->height;
  p = image->pixels;
  if (image->channels == 3)
    for (i = 0; i < n; i++, p += 3)
      sum += luma (p);
  else
    for (i = 0; i < n; i++)
      sum += p[i];
  mean = (int) ((double) sum / (double) n + 0.5);

  for (v = 0; v < 256; v++)
    lut[v] = blend (mean, v, (float) factor);
  apply_lut (image, lut);
}

void
convnet_image_adjust_saturation (ConvnetImage *image,
                                 double        factor)
{
  gsize   n, i;
  guint8 *p;
  float   f = (float) factor;

  g_return_if_fail (image != NULL && image->pixels != NULL);

  /* One channel is its own luma: blending with itself changes nothing,
   * as Color leaves an "L" image unchanged. */
  if (image->channels != 3)
    return;

  n = (gsize) image->width * image->height;
  p = image->pixels;
  for (i = 0; i < n; i++, p += 3)
    {
      int l = luma (p);

      p[0] = blend (l, p[0], f);
      p[1] = blend (l, p[1], f);
      p[2] = blend (l, p[2], f);
    }
}

void
convnet_image_flip_horizontal (ConvnetImage *image)
{
  int y;

  g_return_if_fail (image != NULL && image->pixels != NULL);

  for (y = 0; y < image->height; y++)
    {
      guint8 *row = image->pixels + (gsize) y * image->width * image->channels;
      guint8 *a = row;
      guint8 *b = row + (gsize) (image->width - 1) * image->channels;
      int     c;

      for (; a < b; a += image->channels, b -= image->channels)
        for (c = 0; c < image->channels; c++)
          {
            guint8 t = a[c];

            a[c] = b[c];
            b[c] = t;
          }
    }
}

/* Python's round (x, 15), which Image.rotate applies to the matrix:
 * the double nearest to N / 10^15, N the correctly rounded integer
 * nearest to x 10^15.  A plain nearbyint (x * 1e15) picks another N when
 * x 10^15 is within rounding error of a half, and a sample point on a
 * pixel boundary then moves a level. */
static double
round15 (double x)
{
  char   buffer[G_ASCII_DTOSTR_BUF_SIZE];
  double scaled = x * 1e15;

  /* For |x| <= 1 the product is within 1/16 of x 10^15 (its ulp is at
   * most 1/8), so away from a half its nearest integer is N; and
   * N / 1e15, one correctly rounded division of exact values, is the
   * double nearest to N / 10^15. */
  if (fabs (x) <= 1.0 && fabs (scaled - floor (scaled) - 0.5) > 0.125)
    return nearbyint (scaled) / 1e15;
  /* Else glibc's printf, which rounds the exact binary value. */
  return g_ascii_strtod (g_ascii_formatd (buffer, sizeof buffer, "%.15f", x),
                         NULL);
}

/* Image.transpose for the exact multiples of 90 degrees that
 * Image.rotate special-cases; QUARTERS counter-clockwise. */
static void
rotate_quarters (const ConvnetImage *src,
                 int                 quarters,
                 ConvnetImage       *dst)
{
  int w = src->width, h = src->height, ch = src->channels;
  int x, y;

  for (y = 0; y < h; y++)
    for (x = 0; x < w; x++)
      {
        int sx, sy;

        if (quarters == 2)
          {
            sx = w - 1 - x;
            sy = h - 1 - y;
          }
        else if (quarters == 1)
          {
            sx = w - 1 - y;
            sy = x;
          }
        else
          {
            sx = y;
            sy = h - 1 - x;
          }
        memcpy (dst->pixels + ((gsize) y * w + x) * ch,
                src->pixels + ((gsize) sy * w + sx) * ch, ch);
      }
}

#define BYTES4(n)   (n), (n) + 1, (n) + 2, (n) + 3
#define BYTES16(n)  BYTES4 (n), BYTES4 ((n) + 4), BYTES4 ((n) + 8), \
                    BYTES4 ((n) + 12)
#define BYTES64(n)  BYTES16 (n), BYTES16 ((n) + 16), BYTES16 ((n) + 32), \
                    BYTES16 ((n) + 48)

static const double byte_value[256] = {
  BYTES64 (0.0), BYTES64 (64.0), BYTES64 (128.0), BYTES64 (192.0)
};

/* The bilinear taps of Geometry.c for one output pixel whose sample
 * point (SX, SY) lies inside the image; CH is a constant where inlined,
 * so the channel loop unrolls. */
G_ALWAYS_INLINE static inline void
rotate_pixel (const guint8 *in,
              int           w,
              int           h,
              int           ch,
              double        sx,
              double        sy,
              guint8       *out)
{
  gsize         stride = (gsize) w * ch;
  const guint8 *r0, *r1;
  double        dx, dy;
  int           ix, iy, x0, x1, k;

  sx -= 0.5;
  sy -= 0.5;
  /* Here sx, sy >= -0.5: truncation is the floor except on [-0.5, 0). */
  ix = sx < 0.0 ? -1 : (int) sx;
  iy = sy < 0.0 ? -1 : (int) sy;
  dx = sx - ix;
  dy = sy - iy;
  if (ix >= 0 && iy >= 0 && ix + 1 < w && iy + 1 < h)
    {
      x0 = ix * ch;
      x1 = x0 + ch;
      r0 = in + (gsize) iy * stride;
      r1 = r0 + stride;
    }
  else
    {
      /* Taps beyond an edge repeat the edge pixel.  Below the last row
       * Pillow uses the first row's value as the second's, which is what
       * reading the first row twice computes. */
      x0 = MAX (ix, 0) * ch;
      x1 = MIN (ix + 1, w - 1) * ch;
      r0 = in + (gsize) MAX (iy, 0) * stride;
      r1 = iy + 1 < h ? r0 + (iy < 0 ? 0 : stride) : r0;
    }

  /* The bytes as doubles from a table rather than converted: the same
   * exact values, a third fewer instructions in the hottest loop. */
  for (k = 0; k < ch; k++)
    {
      double a = byte_value[r0[x0 + k]], b = byte_value[r0[x1 + k]];
      double c = byte_value[r1[x0 + k]], d = byte_value[r1[x1 + k]];
      double v1 = a + (b - a) * dx;
      double v2 = c + (d - c) * dx;

      v1 = v1 + (v2 - v1) * dy;
      out[k] = (guint8) v1;
    }
}

/* Rows of an affine rotation with output-to-input matrix M.  Pillow
 * evaluates m0 (x + 0.5) + m1 (y + 0.5) + m2 for every pixel; the
 * products by x are the same doubles on every row, so they are made
 * once, and the sums keep Pillow's order. */
G_ALWAYS_INLINE static inline void
rotate_rows (const ConvnetImage *src,
             const double        m[6],
             const double       *column_x,
             const double       *column_y,
             int                 ch,
             ConvnetImage       *dst)
{
  int w = src->width, h = src->height, x, y;

  for (y = 0; y < h; y++)
    {
      guint8 *out = dst->pixels + (gsize) y * w * ch;
      double  row_x = m[1] * (y + 0.5);
      double  row_y = m[4] * (y + 0.5);

      for (x = 0; x < w; x++, out += ch)
        {
          double sx = column_x[x] + row_x + m[2];
          double sy = column_y[x] + row_y + m[5];

          /* A sample point outside the image keeps the fill colour. */
          if (sx < 0.0 || sx >= w || sy < 0.0 || sy >= h)
            {
              int k;

              for (k = 0; k < ch; k++)
                out[k] = 0;
              continue;
            }
          rotate_pixel (src->pixels, w, h, ch, sx, sy, out);
        }
    }
}

void
convnet_image_rotate (const ConvnetImage *src,
                      double              degrees,
                      ConvnetImage       *dst)
{
  int     w, h, x;
  double  angle, cx, cy, m[6];
  double  stack[2 * 256];
  double *column;

  g_return_if_fail (src != NULL && dst != NULL && src != dst);
  g_return_if_fail (src->width == dst->width && src->height == dst->height &&
                    src->channels == dst->channels);

  w = src->width;
  h = src->height;

  /* Python's angle % 360.0. */
  angle = fmod (degrees, 360.0);
  if (angle < 0.0)
    angle += 360.0;
  if (angle == 0.0)
    {
      memcpy (dst->pixels, src->pixels, (gsize) w * h * src->channels);
      return;
    }
  if (angle == 180.0 || ((angle == 90.0 || angle == 270.0) && w == h))
    {
      rotate_quarters (src, (int) (angle / 90.0), dst);
      return;
    }

  /* The output-to-input matrix of Image.rotate, in its order of
   * operations: a rotation by -angle about the center (w / 2, h / 2).
   * round15 is odd, so -sin rounds to minus the rounded sin. */
  angle = -(angle * (G_PI / 180.0));
  m[0] = round15 (cos (angle));
  m[1] = round15 (sin (angle));
  m[3] = -m[1];
  m[4] = m[0];
  cx = w / 2.0;
  cy = h / 2.0;
  m[2] = m[0] * -cx + m[1] * -cy + 0.0;
  m[2] += cx;
  m[5] = m[3] * -cx + m[4] * -cy + 0.0;
  m[5] += cy;

  column = w <= 256 ? stack : g_new (double, 2 * (gsize) w);
  for (x = 0; x < w; x++)
    {
      column[x] = m[0] * (x + 0.5);
      column[w + x] = m[3] * (x + 0.5);
    }
  if (src->channels == 1)
    rotate_rows (src, m, column, column + w, 1, dst);
  else if (src->channels == 3)
    rotate_rows (src, m, column, column + w, 3, dst);
  else
    rotate_rows (src, m, column, column + w, src->channels, dst);
  if (column != stack)
    g_free (column);
}

void
convnet_image_shift (const ConvnetImage *src, int dx, int dy,
                     ConvnetImage *dst)
{
  const int c = src->channels, w = src->width, h = src->height;

  g_return_if_fail (dst->width == w && dst->height == h
                    && dst->channels == c);
  memset (dst->pixels, 0, (gsize) w * h * c);
  for (int y = MAX (0, dy); y < MIN (h, h + dy); y++)
    {
      const int x0 = MAX (0, dx), x1 = MIN (w, w + dx);
      if (x1 > x0)
        memcpy (dst->pixels + ((gsize) y * w + x0) * c,
                src->pixels + ((gsize) (y - dy) * w + (x0 - dx)) * c,
                (gsize) (x1 - x0) * c);
    }
}
