/* resize.c: antialiased bilinear resampling of 8-bit images.
 *
 * torchvision's Resize on a PIL image is Pillow's Image.resize (BILINEAR),
 * and the networks were trained on its output, so this reproduces it pixel
 * for pixel: a triangle filter widened by the downscale factor, weights
 * computed in double then rounded to 22-bit fixed point, a horizontal pass
 * into an 8-bit intermediate, then a vertical pass, each rounding half up.
 * Any other order or precision drifts by a level here and there.
 *
 * The window entry point computes only the output pixels a crop keeps:
 * each output pixel depends on its own taps alone, so the crop of a full
 * resize and the resize of the window are the same bytes. */
#include "convnet.h"

#include <math.h>
#include <string.h>

/* Pillow keeps 8 bits for the pixel and 2 for filter overshoot in a
 * 32-bit accumulator, which leaves 22 bits of weight. */
#define WEIGHT_BITS 22
#define ROUND_HALF  (1 << (WEIGHT_BITS - 1))

/* The taps of a run of consecutive outputs along one axis. */
typedef struct
{
  int     ksize;     /* stride of WEIGHTS: the most taps any output has */
  int    *first;     /* per output: first source index */
  int    *count;     /* per output: number of source samples */
  gint32 *weights;   /* per output: KSIZE fixed-point weights */
} Taps;

static double
triangle (double x)
{
  x = fabs (x);
  return x < 1.0 ? 1.0 - x : 0.0;
}

/* Taps of outputs START .. START + N - 1 of an IN_SIZE to OUT_SIZE
 * resize.  Every double operation follows Pillow's order: reordering them
 * moves some weights by one unit in the last place and, after rounding to
 * fixed point, some pixels by one level. */
static void
taps_init (Taps *taps,
           int   in_size,
           int   out_size,
           int   start,
           int   n)
{
  /* Pillow receives the source box as floats; going through float keeps
   * its scale for sizes beyond 2^24 too. */
  double  scale = (double) (float) in_size / out_size;
  double  filterscale = MAX (scale, 1.0);
  double  support = 1.0 * filterscale;
  double  inv = 1.0 / filterscale;
  double *w;
  int     i;

  taps->ksize = (int) ceil (support) * 2 + 1;
  taps->first = g_new (int, n);
  taps->count = g_new (int, n);
  taps->weights = g_new0 (gint32, (gsize) n * taps->ksize);
  w = g_new (double, taps->ksize);

  for (i = 0; i < n; i++)
    {
      double  center = (start + i + 0.5) * scale;
      double  sum = 0.0;
      gint32 *fixed = taps->weights + (gsize) i * taps->ksize;
      int     lo, hi, k;

      /* Truncation towards zero, as Pillow rounds the window ends. */
      lo = (int) (center - support + 0.5);
      hi = (int) (center + support + 0.5);
      lo = MAX (lo, 0);
      hi = MIN (hi, in_size);
      hi = MIN (hi, lo + taps->ksize);
      hi = MAX (hi, lo);

      for (k = 0; k < hi - lo; k++)
        {
          w[k] = triangle ((k + lo - center + 0.5) * inv);
          sum += w[k];
        }
      for (k = 0; k < hi - lo; k++)
        {
          double v = sum != 0.0 ? w[k] / sum : w[k];

          /* The triangle is never negative, so rounding half up is
           * Pillow's rounding for every weight. */
          fixed[k] = (gint32) (0.5 + v * (1 << WEIGHT_BITS));
        }
      taps->first[i] = lo;
      taps->count[i] = hi - lo;
    }
  g_free (w);
}

static void
taps_clear (Taps *taps)
{
  g_free (taps->first);
  g_free (taps->count);
  g_free (taps->weights);
}

static inline guint8
clip8 (gint32 acc)
{
  acc >>= WEIGHT_BITS;
  return (guint8) CLAMP (acc, 0, 255);
}

/* Horizontal pass: N_ROWS rows of SRC (SW pixels wide, from ROW0) into
 * DST rows of the TAPS' outputs. */
static void
resample_rows (const guint8 *src,
               int           sw,
               int           channels,
               int           row0,
               int           n_rows,
               const Taps   *taps,
               int           nx,
               guint8       *dst)
{
  gsize in_stride = (gsize) sw * channels;
  gsize out_stride = (gsize) nx * channels;
  int   r;

  for (r = 0; r < n_rows; r++)
    {
      const guint8 *in = src + (gsize) (row0 + r) * in_stride;
      guint8       *out = dst + (gsize) r * out_stride;
      int           i, k, c;

      /* The common channel counts get their own loops so the
       * accumulators stay in registers. */
      if (channels == 3)
        {
          for (i = 0; i < nx; i++)
            {
              const gint32 *w = taps->weights + (gsize) i * taps->ksize;
              const guint8 *p = in + (gsize) taps->first[i] * 3;
              gint32        a0 = ROUND_HALF, a1 = ROUND_HALF, a2 = ROUND_HALF;

              for (k = 0; k < taps->count[i]; k++, p += 3)
                {
                  a0 += p[0] * w[k];
                  a1 += p[1] * w[k];
                  a2 += p[2] * w[k];
                }
              out[3 * i + 0] = clip8 (a0);
              out[3 * i + 1] = clip8 (a1);
              out[3 * i + 2] = clip8 (a2);
            }
        }
      else if (channels == 1)
        {
          for (i = 0; i < nx; i++)
            {
              const gint32 *w = taps->weights + (gsize) i * taps->ksize;
              const guint8 *p = in + taps->first[i];
              gint32        a = ROUND_HALF;

              for (k = 0; k < taps->count[i]; k++)
                a += p[k] * w[k];
              out[i] = clip8 (a);
            }
        }
      else
        {
          for (i = 0; i < nx; i++)
            {
              const gint32 *w = taps->weights + (gsize) i * taps->ksize;

              for (c = 0; c < channels; c++)
                {
                  const guint8 *p = in + (gsize) taps->first[i] * channels + c;
                  gint32        a = ROUND_HALF;

                  for (k = 0; k < taps->count[i]; k++, p += channels)
                    a += *p * w[k];
                  out[i * channels + c] = clip8 (a);
                }
            }
        }
    }
}

/* Vertical pass: each output row is a weighted sum of whole rows of SRC
 * (WIDTH bytes each, SRC's row 0 being source row ROW0), accumulated row
 * by row so the inner loop runs over contiguous bytes. */
static void
resample_columns (const guint8 *src,
                  gsize         width,
                  int           row0,
                  const Taps   *taps,
                  int           ny,
                  guint8       *dst)
{
  gint32 *acc = g_new (gint32, width);
  int     j;

  for (j = 0; j < ny; j++)
    {
      const gint32 *w = taps->weights + (gsize) j * taps->ksize;
      guint8       *out = dst + (gsize) j * width;
      gsize         e;
      int           k;

      for (e = 0; e < width; e++)
        acc[e] = ROUND_HALF;
      for (k = 0; k < taps->count[j]; k++)
        {
          const guint8 *row = src + (gsize) (taps->first[j] + k - row0) * width;
          gint32        wk = w[k];

          for (e = 0; e < width; e++)
            acc[e] += row[e] * wk;
        }
      for (e = 0; e < width; e++)
        out[e] = clip8 (acc[e]);
    }
  g_free (acc);
}

void
convnet_resize_bilinear_u8_window (const guint8 *src,
                                   int           sw,
                                   int           sh,
                                   int           dw,
                                   int           dh,
                                   int           x0,
                                   int           y0,
                                   int           nx,
                                   int           ny,
                                   guint8       *dst,
                                   int           channels)
{
  gsize   in_stride, out_stride;
  Taps    vert;
  guint8 *rows;
  int     row0, row1, j;

  g_return_if_fail (src != NULL && dst != NULL);
  g_return_if_fail (sw > 0 && sh > 0 && dw > 0 && dh > 0);
  g_return_if_fail (channels >= 1 && channels <= 4);
  g_return_if_fail (nx > 0 && ny > 0);
  g_return_if_fail (x0 >= 0 && x0 <= dw - nx && y0 >= 0 && y0 <= dh - ny);

  in_stride = (gsize) sw * channels;
  out_stride = (gsize) nx * channels;

  /* At the same height Pillow skips the vertical pass (its taps would be
   * the identity anyway): copy the window's rows of the horizontal pass. */
  if (dh == sh)
    {
      if (dw == sw)
        {
          for (j = 0; j < ny; j++)
            memcpy (dst + (gsize) j * out_stride,
                    src + (gsize) (y0 + j) * in_stride + (gsize) x0 * channels,
                    out_stride);
        }
      else
        {
          Taps horiz;

          taps_init (&horiz, sw, dw, x0, nx);
          resample_rows (src, sw, channels, y0, ny, &horiz, nx, dst);
          taps_clear (&horiz);
        }
      return;
    }

  taps_init (&vert, sh, dh, y0, ny);
  /* Only the source rows some output row reads go through the
   * horizontal pass. */
  row0 = vert.first[0];
  row1 = vert.first[ny - 1] + vert.count[ny - 1];
  row1 = MAX (row1, row0 + 1);

  if (dw == sw)
    {
      rows = g_new (guint8, (gsize) (row1 - row0) * out_stride);
      for (j = row0; j < row1; j++)
        memcpy (rows + (gsize) (j - row0) * out_stride,
                src + (gsize) j * in_stride + (gsize) x0 * channels,
                out_stride);
    }
  else
    {
      Taps horiz;

      taps_init (&horiz, sw, dw, x0, nx);
      rows = g_new (guint8, (gsize) (row1 - row0) * out_stride);
      resample_rows (src, sw, channels, row0, row1 - row0, &horiz, nx, rows);
      taps_clear (&horiz);
    }

  resample_columns (rows, out_stride, row0, &vert, ny, dst);
  g_free (rows);
  taps_clear (&vert);
}

void
convnet_resize_bilinear_u8 (const guint8 *src,
                            int           sw,
                            int           sh,
                            guint8       *dst,
                            int           dw,
                            int           dh,
                            int           channels)
{
  convnet_resize_bilinear_u8_window (src, sw, sh, dw, dh, 0, 0, dw, dh,
                                     dst, channels);
}
