/* kernel_reference.c: the fast-kernel suites' reference computations. */
#include "kernel_reference.h"

ConvGeometry
reference_conv_geometry (const ReferenceConvCase *c)
{
  ConvGeometry geo = {
    .c_in = c->c_in, .h_in = c->h, .w_in = c->w, .c_out = c->c_out,
    .kh = c->k, .kw = c->k, .sh = c->stride, .sw = c->stride,
    .ph = c->pad, .pw = c->pad, .dh = c->dilation, .dw = c->dilation,
    .groups = 1,
  };
  geo.h_out = (c->h + 2 * c->pad - c->dilation * (c->k - 1) - 1) / c->stride + 1;
  geo.w_out = (c->w + 2 * c->pad - c->dilation * (c->k - 1) - 1) / c->stride + 1;
  return geo;
}

void
reference_fill (float *x, gsize n, guint32 seed)
{
  GRand *rand = g_rand_new_with_seed (seed);

  for (gsize i = 0; i < n; i++)
    x[i] = (float) g_rand_double_range (rand, -1.0, 1.0);
  g_rand_free (rand);
}

void
reference_conv (double *out, const float *in, const float *w,
                const float *bias, const double *scale, const double *shift,
                const float *residual, gboolean relu, int batch,
                const ConvGeometry *g)
{
  for (int n = 0; n < batch; n++)
    for (int o = 0; o < g->c_out; o++)
      for (int oy = 0; oy < g->h_out; oy++)
        for (int ox = 0; ox < g->w_out; ox++)
          {
            double sum = bias ? bias[o] : 0.0;
            gsize at = (((gsize) n * g->c_out + o) * g->h_out + oy) * g->w_out + ox;

            for (int c = 0; c < g->c_in; c++)
              for (int ky = 0; ky < g->kh; ky++)
                for (int kx = 0; kx < g->kw; kx++)
                  {
                    int iy = oy * g->sh - g->ph + ky * g->dh;
                    int ix = ox * g->sw - g->pw + kx * g->dw;
                    if (iy < 0 || iy >= g->h_in || ix < 0 || ix >= g->w_in)
                      continue;
                    sum += (double) w[((o * g->c_in + c) * g->kh + ky) * g->kw + kx]
                           * in[(((gsize) n * g->c_in + c) * g->h_in + iy) * g->w_in + ix];
                  }
            if (scale)
              sum = sum * scale[o] + shift[o];
            if (residual)
              sum += residual[at];
            if (relu && sum < 0)
              sum = 0;
            out[at] = sum;
          }
}

gsize
reference_wider_sample (int c_out, gsize hw)
{
  return (gsize) (c_out + REFERENCE_WIDER_EXTRA) * hw;
}

gsize
reference_wider_index (gsize j, int c_out, gsize hw)
{
  const gsize sample = (gsize) c_out * hw;

  return j / sample * reference_wider_sample (c_out, hw)
         + REFERENCE_WIDER_OFFSET * hw + j % sample;
}
