/* pool.c: max, average and adaptive average pooling, with torch's window
 * rules (ceil_mode, count_include_pad, adaptive bins). */
#include "ops.h"

#include <math.h>

void
maxpool2d_forward (float *out, const float *in, int batch,
                   const ConvGeometry *geo)
{
  const gsize planes = (gsize) batch * geo->c_in;

  for (gsize p = 0; p < planes; p++)
    {
      const float *x = in + p * geo->h_in * geo->w_in;
      float *y = out + p * geo->h_out * geo->w_out;

      for (int oy = 0; oy < geo->h_out; oy++)
        for (int ox = 0; ox < geo->w_out; ox++)
          {
            float best = -INFINITY;
            for (int ky = 0; ky < geo->kh; ky++)
              {
                const int iy = oy * geo->sh - geo->ph + ky * geo->dh;
                if (iy < 0 || iy >= geo->h_in)
                  continue;
                for (int kx = 0; kx < geo->kw; kx++)
                  {
                    const int ix = ox * geo->sw - geo->pw + kx * geo->dw;
                    if (ix < 0 || ix >= geo->w_in)
                      continue;
                    const float v = x[iy * geo->w_in + ix];
                    /* NaN propagates, as in torch */
                    if (v > best || isnan (v))
                      best = v;
                  }
              }
            y[oy * geo->w_out + ox] = best;
          }
    }
}

/* LeNet's pools: 2x2 windows, stride 2, no padding, every window inside
 * the input.  The general loops spend most of their time on clipping. */
static gboolean
is_plain_2x2 (const ConvGeometry *geo)
{
  return geo->kh == 2 && geo->kw == 2 && geo->sh == 2 && geo->sw == 2
         && geo->ph == 0 && geo->pw == 0 && 2 * geo->h_out <= geo->h_in
         && 2 * geo->w_out <= geo->w_in;
}

void
avgpool2d_forward (float *out, const float *in, int batch,
                   const ConvGeometry *geo, gboolean count_include_pad)
{
  const gsize planes = (gsize) batch * geo->c_in;

  if (is_plain_2x2 (geo))
    {
      for (gsize p = 0; p < planes; p++)
        {
          const float *x = in + p * geo->h_in * geo->w_in;
          float *y = out + p * geo->h_out * geo->w_out;
          for (int oy = 0; oy < geo->h_out; oy++)
            {
              const float *r0 = x + (gsize) 2 * oy * geo->w_in;
              const float *r1 = r0 + geo->w_in;
              for (int ox = 0; ox < geo->w_out; ox++)
                y[oy * geo->w_out + ox] = (r0[2 * ox] + r0[2 * ox + 1]
                                           + r1[2 * ox] + r1[2 * ox + 1])
                                          / 4.0f;
            }
        }
      return;
    }

  for (gsize p = 0; p < planes; p++)
    {
      const float *x = in + p * geo->h_in * geo->w_in;
      float *y = out + p * geo->h_out * geo->w_out;

      for (int oy = 0; oy < geo->h_out; oy++)
        for (int ox = 0; ox < geo->w_out; ox++)
          {
            int y0 = oy * geo->sh - geo->ph;
            int x0 = ox * geo->sw - geo->pw;
            int y1 = MIN (y0 + geo->kh, geo->h_in + geo->ph);
            int x1 = MIN (x0 + geo->kw, geo->w_in + geo->pw);
            /* the padded window, before clipping to the image */
            const int padded_area = (y1 - y0) * (x1 - x0);
            float sum = 0.0f;

            y0 = MAX (y0, 0);
            x0 = MAX (x0, 0);
            y1 = MIN (y1, geo->h_in);
            x1 = MIN (x1, geo->w_in);
            for (int iy = y0; iy < y1; iy++)
              for (int ix = x0; ix < x1; ix++)
                sum += x[iy * geo->w_in + ix];
            const int divisor = count_include_pad ? padded_area
                                                  : (y1 - y0) * (x1 - x0);
            y[oy * geo->w_out + ox] = divisor > 0 ? sum / divisor : 0.0f;
          }
    }
}

/* torch's adaptive bins along one axis of N into OUT:
 * [floor(i*n/out), ceil((i+1)*n/out)) */
static void
adaptive_bins (int *begin, int *end, int n, int out)
{
  for (int i = 0; i < out; i++)
    {
      begin[i] = (int) (((gint64) i * n) / out);
      end[i] = (int) (((gint64) (i + 1) * n + out - 1) / out);
    }
}

/* planes summed side by side: each plane's sum is a chain of dependent
 * additions, and several chains at once keep the adder busy */
#define ADAPTIVE_GROUP 8

void
adaptive_avgpool2d_forward (float *out, const float *in, int batch, int c,
                            int h, int w, int out_h, int out_w)
{
  const gsize planes = (gsize) batch * c;
  const gsize in_plane = (gsize) h * w, out_plane = (gsize) out_h * out_w;
  int *y0 = g_new (int, 2 * (out_h + out_w)), *y1 = y0 + out_h;
  int *x0 = y1 + out_h, *x1 = x0 + out_w;

  adaptive_bins (y0, y1, h, out_h);
  adaptive_bins (x0, x1, w, out_w);
  for (gsize p = 0; p < planes; p += ADAPTIVE_GROUP)
    {
      const int n = (int) MIN ((gsize) ADAPTIVE_GROUP, planes - p);
      const float *x = in + p * in_plane;
      float *y = out + p * out_plane;

      for (int oy = 0; oy < out_h; oy++)
        for (int ox = 0; ox < out_w; ox++)
          {
            const float area = (float) ((y1[oy] - y0[oy])
                                        * (x1[ox] - x0[ox]));
            float sum[ADAPTIVE_GROUP] = { 0 };

            /* each plane's elements in the same order as alone */
            for (int iy = y0[oy]; iy < y1[oy]; iy++)
              for (int ix = x0[ox]; ix < x1[ox]; ix++)
                for (int k = 0; k < n; k++)
                  sum[k] += x[k * in_plane + iy * w + ix];
            for (int k = 0; k < n; k++)
              y[k * out_plane + oy * out_w + ox] = sum[k] / area;
          }
    }
  g_free (y0);
}

/* ------------------------------------------------------------ backward */

void
maxpool2d_backward (float *dx, const float *dy, const float *x, int batch,
                    const ConvGeometry *geo)
{
  const gsize planes = (gsize) batch * geo->c_in;

  if (!dx)
    return;
  for (gsize p = 0; p < planes; p++)
    {
      const float *xp = x + p * geo->h_in * geo->w_in;
      const float *g = dy + p * geo->h_out * geo->w_out;
      float *d = dx + p * geo->h_in * geo->w_in;

      for (int oy = 0; oy < geo->h_out; oy++)
        {
          /* the first row and column of the window inside the image: where
           * torch sends the gradient when nothing beats -inf */
          int y0 = oy * geo->sh - geo->ph;
          while (y0 < 0)
            y0 += geo->dh;

          for (int ox = 0; ox < geo->w_out; ox++)
            {
              int x0 = ox * geo->sw - geo->pw;
              while (x0 < 0)
                x0 += geo->dw;
              int arg = y0 * geo->w_in + x0;
              float best = -INFINITY;

              /* only a geometry torch refuses has a window outside */
              if (y0 >= geo->h_in || x0 >= geo->w_in)
                continue;

              for (int ky = 0; ky < geo->kh; ky++)
                {
                  const int iy = oy * geo->sh - geo->ph + ky * geo->dh;
                  if (iy < 0 || iy >= geo->h_in)
                    continue;
                  for (int kx = 0; kx < geo->kw; kx++)
                    {
                      const int ix = ox * geo->sw - geo->pw + kx * geo->dw;
                      if (ix < 0 || ix >= geo->w_in)
                        continue;
                      const float v = xp[iy * geo->w_in + ix];
                      /* the forward's test: strict, so ties keep the first;
                       * every NaN wins, so the last NaN keeps it */
                      if (v > best || isnan (v))
                        {
                          best = v;
                          arg = iy * geo->w_in + ix;
                        }
                    }
                }
              d[arg] += g[oy * geo->w_out + ox];
            }
        }
    }
}

void
avgpool2d_backward (float *dx, const float *dy, int batch,
                    const ConvGeometry *geo, gboolean count_include_pad)
{
  const gsize planes = (gsize) batch * geo->c_in;

  if (!dx)
    return;
  if (is_plain_2x2 (geo))
    {
      for (gsize p = 0; p < planes; p++)
        {
          const float *g = dy + p * geo->h_out * geo->w_out;
          float *d = dx + p * geo->h_in * geo->w_in;
          for (int oy = 0; oy < geo->h_out; oy++)
            {
              float *r0 = d + (gsize) 2 * oy * geo->w_in;
              float *r1 = r0 + geo->w_in;
              for (int ox = 0; ox < geo->w_out; ox++)
                {
                  const float share = g[oy * geo->w_out + ox] / 4.0f;
                  r0[2 * ox] += share;
                  r0[2 * ox + 1] += share;
                  r1[2 * ox] += share;
                  r1[2 * ox + 1] += share;
                }
            }
        }
      return;
    }
  for (gsize p = 0; p < planes; p++)
    {
      const float *g = dy + p * geo->h_out * geo->w_out;
      float *d = dx + p * geo->h_in * geo->w_in;

      for (int oy = 0; oy < geo->h_out; oy++)
        for (int ox = 0; ox < geo->w_out; ox++)
          {
            /* the forward's window and divisor */
            int y0 = oy * geo->sh - geo->ph;
            int x0 = ox * geo->sw - geo->pw;
            int y1 = MIN (y0 + geo->kh, geo->h_in + geo->ph);
            int x1 = MIN (x0 + geo->kw, geo->w_in + geo->pw);
            const int padded_area = (y1 - y0) * (x1 - x0);

            y0 = MAX (y0, 0);
            x0 = MAX (x0, 0);
            y1 = MIN (y1, geo->h_in);
            x1 = MIN (x1, geo->w_in);
            const int divisor = count_include_pad ? padded_area
                                                  : (y1 - y0) * (x1 - x0);
            if (divisor <= 0)
              continue;
            const float share = g[oy * geo->w_out + ox] / divisor;
            for (int iy = y0; iy < y1; iy++)
              for (int ix = x0; ix < x1; ix++)
                d[iy * geo->w_in + ix] += share;
          }
    }
}

void
adaptive_avgpool2d_backward (float *dx, const float *dy, int batch, int c,
                             int h, int w, int out_h, int out_w)
{
  const gsize planes = (gsize) batch * c;

  if (!dx)
    return;
  for (gsize p = 0; p < planes; p++)
    {
      const float *g = dy + p * out_h * out_w;
      float *d = dx + p * h * w;

      for (int oy = 0; oy < out_h; oy++)
        {
          const int y0 = (int) (((gint64) oy * h) / out_h);
          const int y1 = (int) (((gint64) (oy + 1) * h + out_h - 1) / out_h);
          for (int ox = 0; ox < out_w; ox++)
            {
              const int x0 = (int) (((gint64) ox * w) / out_w);
              const int x1 = (int) (((gint64) (ox + 1) * w + out_w - 1) / out_w);
              const float share = g[oy * out_w + ox]
                                  / (float) ((y1 - y0) * (x1 - x0));
              for (int iy = y0; iy < y1; iy++)
                for (int ix = x0; ix < x1; ix++)
                  d[iy * w + ix] += share;
            }
        }
    }
}
