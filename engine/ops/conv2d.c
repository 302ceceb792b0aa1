/* conv2d.c: 2-D convolution (stride, padding, dilation, groups, optional
 * bias) as im2col + one SGEMM per sample and group. */
#include "ops.h"
#include "blas.h"

#include <string.h>

int
window_output_size (int in, int kernel, int stride, int padding,
                    int dilation, gboolean ceil_mode)
{
  gint64 span = (gint64) in + 2 * (gint64) padding
                - (gint64) dilation * (kernel - 1) - 1;
  gint64 out;

  if (span < 0 || stride <= 0)
    return 0;
  out = (ceil_mode ? (span + stride - 1) / stride : span / stride) + 1;
  /* torch drops a last window that would start inside the right padding */
  if (ceil_mode && (out - 1) * stride >= (gint64) in + padding)
    out--;
  return out > G_MAXINT ? 0 : (int) out;
}

static gboolean
conv2d_is_pointwise (const ConvGeometry *geo)
{
  return geo->kh == 1 && geo->kw == 1 && geo->sh == 1 && geo->sw == 1
         && geo->ph == 0 && geo->pw == 0;
}

gsize
conv2d_scratch_floats (const ConvGeometry *geo)
{
  if (conv2d_is_pointwise (geo))
    return 0;
  return (gsize) (geo->c_in / geo->groups) * geo->kh * geo->kw
         * geo->h_out * geo->w_out;
}

/* Unfolds the input channels of one group into a (C*KH*KW) x (OH*OW)
 * matrix so that the convolution is one matrix product. */
void
conv2d_im2col (float *col, const float *in, int channels,
               const ConvGeometry *geo)
{
  conv2d_im2col_ld (col, (gsize) geo->h_out * geo->w_out, in, channels, geo);
}

/* The same with rows LD floats apart. */
void
conv2d_im2col_ld (float *col, gsize ld, const float *in, int channels,
                  const ConvGeometry *geo)
{

  for (int c = 0; c < channels; c++)
    for (int ky = 0; ky < geo->kh; ky++)
      for (int kx = 0; kx < geo->kw; kx++)
        {
          const float *plane = in + (gsize) c * geo->h_in * geo->w_in;
          float *row = col + ((gsize) (c * geo->kh + ky) * geo->kw + kx) * ld;
          const int x_off = kx * geo->dw - geo->pw;
          /* the output columns whose input column lies inside the image */
          int ox_lo = 0, ox_hi = geo->w_out;

          while (ox_lo < geo->w_out && ox_lo * geo->sw + x_off < 0)
            ox_lo++;
          while (ox_hi > ox_lo && (ox_hi - 1) * geo->sw + x_off >= geo->w_in)
            ox_hi--;

          for (int oy = 0; oy < geo->h_out; oy++)
            {
              const int iy = oy * geo->sh - geo->ph + ky * geo->dh;
              float *dst = row + (gsize) oy * geo->w_out;

              if (iy < 0 || iy >= geo->h_in || ox_lo >= ox_hi)
                {
                  memset (dst, 0, sizeof (float) * geo->w_out);
                  continue;
                }
              const float *src = plane + (gsize) iy * geo->w_in + x_off;
              for (int ox = 0; ox < ox_lo; ox++)
                dst[ox] = 0.0f;
              if (geo->sw == 1)
                memcpy (dst + ox_lo, src + ox_lo,
                        sizeof (float) * (ox_hi - ox_lo));
              else
                for (int ox = ox_lo; ox < ox_hi; ox++)
                  dst[ox] = src[ox * geo->sw];
              for (int ox = ox_hi; ox < geo->w_out; ox++)
                dst[ox] = 0.0f;
            }
        }
}

void
conv2d_forward (float *out, const float *in, const float *weight,
                const float *bias, int batch, const ConvGeometry *geo,
                float *scratch)
{
  const int cin_g = geo->c_in / geo->groups;
  const int cout_g = geo->c_out / geo->groups;
  const int k = cin_g * geo->kh * geo->kw;
  const int hw_out = geo->h_out * geo->w_out;
  const gsize in_sample = (gsize) geo->c_in * geo->h_in * geo->w_in;
  const gsize out_sample = (gsize) geo->c_out * hw_out;
  const gboolean pointwise = conv2d_is_pointwise (geo);

  for (int n = 0; n < batch; n++)
    {
      float *y = out + n * out_sample;

      if (bias)
        for (int oc = 0; oc < geo->c_out; oc++)
          {
            float *plane = y + (gsize) oc * hw_out;
            for (int i = 0; i < hw_out; i++)
              plane[i] = bias[oc];
          }

      for (int g = 0; g < geo->groups; g++)
        {
          const float *x = in + n * in_sample
                           + (gsize) g * cin_g * geo->h_in * geo->w_in;
          const float *col = x;

          if (!pointwise)
            {
              conv2d_im2col (scratch, x, cin_g, geo);
              col = scratch;
            }
          convnet_sgemm (CblasRowMajor, CblasNoTrans, CblasNoTrans,
                         cout_g, hw_out, k,
                         1.0f, weight + (gsize) g * cout_g * k, k,
                         col, hw_out,
                         bias ? 1.0f : 0.0f, y + (gsize) g * cout_g * hw_out,
                         hw_out);
        }
    }
}

/* ------------------------------------------------------------ backward */

gsize
conv2d_backward_scratch_floats (const ConvGeometry *geo)
{
  /* one column matrix, holding first the unfolded input (for dweight) and
   * then the gradient of the columns (for dx) */
  return conv2d_scratch_floats (geo);
}

/* The adjoint of im2col: adds every column entry back onto the input
 * element it was copied from. */
void
conv2d_col2im_add (float *in, const float *col, int channels,
            const ConvGeometry *geo)
{
  const int hw_out = geo->h_out * geo->w_out;

  for (int c = 0; c < channels; c++)
    for (int ky = 0; ky < geo->kh; ky++)
      for (int kx = 0; kx < geo->kw; kx++)
        {
          float *plane = in + (gsize) c * geo->h_in * geo->w_in;
          const float *row = col
                             + ((gsize) (c * geo->kh + ky) * geo->kw + kx) * hw_out;
          const int x_off = kx * geo->dw - geo->pw;
          int ox_lo = 0, ox_hi = geo->w_out;

          while (ox_lo < geo->w_out && ox_lo * geo->sw + x_off < 0)
            ox_lo++;
          while (ox_hi > ox_lo && (ox_hi - 1) * geo->sw + x_off >= geo->w_in)
            ox_hi--;
          if (ox_lo >= ox_hi)
            continue;

          for (int oy = 0; oy < geo->h_out; oy++)
            {
              const int iy = oy * geo->sh - geo->ph + ky * geo->dh;
              const float *src = row + (gsize) oy * geo->w_out;

              if (iy < 0 || iy >= geo->h_in)
                continue;
              float *dst = plane + (gsize) iy * geo->w_in + x_off;
              if (geo->sw == 1)
                for (int ox = ox_lo; ox < ox_hi; ox++)
                  dst[ox] += src[ox];
              else
                for (int ox = ox_lo; ox < ox_hi; ox++)
                  dst[ox * geo->sw] += src[ox];
            }
        }
}

/* Per sample and group, with Y = W . col(X):
 *   dW += dY . col(X)^T      dcol = W^T . dY,  dX += col2im(dcol)
 * A 1x1 stride-1 unpadded convolution is its own column matrix, so both
 * products then read and write X's layout directly. */
void
conv2d_backward (float *dx, float *dweight, float *dbias, const float *dy,
                 const float *x, const float *weight, int batch,
                 const ConvGeometry *geo, float *scratch)
{
  const int cin_g = geo->c_in / geo->groups;
  const int cout_g = geo->c_out / geo->groups;
  const int k = cin_g * geo->kh * geo->kw;
  const int hw_in = geo->h_in * geo->w_in;
  const int hw_out = geo->h_out * geo->w_out;
  const gsize in_sample = (gsize) geo->c_in * hw_in;
  const gsize out_sample = (gsize) geo->c_out * hw_out;
  const gboolean pointwise = conv2d_is_pointwise (geo);

  if (dbias)
    for (int oc = 0; oc < geo->c_out; oc++)
      {
        /* batch x plane terms: a float sum would lose digits */
        double sum = 0.0;
        for (int n = 0; n < batch; n++)
          {
            const float *g = dy + n * out_sample + (gsize) oc * hw_out;
            for (int i = 0; i < hw_out; i++)
              sum += g[i];
          }
        dbias[oc] += (float) sum;
      }

  if (!dx && !dweight)
    return;

  for (int n = 0; n < batch; n++)
    for (int g = 0; g < geo->groups; g++)
      {
        const float *gy = dy + n * out_sample + (gsize) g * cout_g * hw_out;
        const gsize in_off = n * in_sample + (gsize) g * cin_g * hw_in;
        const gsize w_off = (gsize) g * cout_g * k;

        if (dweight)
          {
            const float *col = x + in_off;
            if (!pointwise)
              {
                conv2d_im2col (scratch, col, cin_g, geo);
                col = scratch;
              }
            convnet_sgemm (CblasRowMajor, CblasNoTrans, CblasTrans,
                           cout_g, k, hw_out,
                           1.0f, gy, hw_out, col, hw_out,
                           1.0f, dweight + w_off, k);
          }
        if (dx)
          {
            if (pointwise)
              convnet_sgemm (CblasRowMajor, CblasTrans, CblasNoTrans,
                             k, hw_out, cout_g,
                             1.0f, weight + w_off, k, gy, hw_out,
                             1.0f, dx + in_off, hw_out);
            else
              {
                convnet_sgemm (CblasRowMajor, CblasTrans, CblasNoTrans,
                               k, hw_out, cout_g,
                               1.0f, weight + w_off, k, gy, hw_out,
                               0.0f, scratch, hw_out);
                conv2d_col2im_add (dx + in_off, scratch, cin_g, geo);
              }
          }
      }
}
