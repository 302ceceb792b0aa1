/* kernel_reference.c: the fast-kernel suites' reference computations. */
#include "kernel_reference.h"

#include <math.h>
#include <string.h>

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

static gsize
wider_sample (int c_out, gsize hw)
{
  return (gsize) (c_out + REFERENCE_WIDER_EXTRA) * hw;
}

/* Where element J of a BATCH x C_OUT x HW tensor lies in the wider one,
 * counted from the wider tensor's start. */
static gsize
wider_index (gsize j, int c_out, gsize hw)
{
  const gsize sample = (gsize) c_out * hw;

  return j / sample * wider_sample (c_out, hw)
         + REFERENCE_WIDER_OFFSET * hw + j % sample;
}

void
reference_run_init (ReferenceRun *run, const ConvGeometry *geo, int batch,
                    int variant, guint32 seed)
{
  const gsize hw = (gsize) geo->h_out * geo->w_out;
  const int epilogue = variant == 4 ? 3 : variant;
  float *residual;

  memset (run, 0, sizeof *run);
  run->wider = variant == 4;
  run->with_bias = epilogue & 1;
  run->with_bn = epilogue >= 2;
  run->with_residual = epilogue == 3;
  run->relu = epilogue != 0;
  run->n_in = (gsize) batch * geo->c_in * geo->h_in * geo->w_in;
  run->n_w = (gsize) geo->c_out * geo->c_in * geo->kh * geo->kw;
  run->n_out = (gsize) batch * geo->c_out * hw;
  run->n_stored = run->wider ? batch * wider_sample (geo->c_out, hw)
                             : run->n_out;
  run->first = run->wider ? REFERENCE_WIDER_OFFSET * hw : 0;
  run->out_sample = run->wider ? wider_sample (geo->c_out, hw) : 0;

  run->in = g_new (float, run->n_in);
  run->w = g_new (float, run->n_w);
  run->bias = g_new (float, geo->c_out);
  run->scale = g_new (double, geo->c_out);
  run->shift = g_new (double, geo->c_out);
  run->out = g_new (float, run->n_stored);
  run->want = g_new (double, run->n_out);
  residual = g_new (float, run->n_out);
  reference_fill (run->in, run->n_in, seed + 1);
  reference_fill (run->w, run->n_w, seed + 100);
  reference_fill (run->bias, geo->c_out, seed + 200);
  reference_fill (residual, run->n_out, seed + 300);
  for (int o = 0; o < geo->c_out; o++)
    {
      run->scale[o] = 0.5 + 0.1 * o;
      run->shift[o] = 0.25 - 0.05 * o;
    }
  reference_conv (run->want, run->in, run->w,
                  run->with_bias ? run->bias : NULL,
                  run->with_bn ? run->scale : NULL,
                  run->with_bn ? run->shift : NULL,
                  run->with_residual ? residual : NULL, run->relu, batch,
                  geo);
  for (gsize j = 0; j < run->n_out; j++)
    run->largest = MAX (run->largest, fabs (run->want[j]));
  if (run->with_residual)
    {
      /* the floats between a wider tensor's outputs are not the
       * residual's: other values there must not reach the output */
      run->residual = g_new (float, run->n_stored);
      reference_fill (run->residual, run->n_stored, seed + 400);
      for (gsize j = 0; j < run->n_out; j++)
        run->residual[run->wider ? wider_index (j, geo->c_out, hw) : j]
          = residual[j];
    }
  g_free (residual);
  run->c_out = geo->c_out;
  run->hw = hw;
}

void
reference_run_reset (ReferenceRun *run)
{
  memset (run->out, 0xff, run->n_stored * sizeof (float));   /* NaN */
}

double
reference_run_worst (ReferenceRun *run, const char *what)
{
  double worst = 0;

  for (gsize j = 0; j < run->n_out; j++)
    {
      const gsize at = run->wider ? wider_index (j, run->c_out, run->hw) : j;

      worst = MAX (worst, isnan (run->out[at])
                          ? INFINITY : fabs (run->out[at] - run->want[j]));
      run->out[at] = NAN;
    }
  /* the outputs are NaN again: any other float that is not was written
   * outside them */
  for (gsize j = 0; j < run->n_stored; j++)
    if (!isnan (run->out[j]))
      g_error ("%s: float %" G_GSIZE_FORMAT " of %" G_GSIZE_FORMAT
               " written outside the output", what, j, run->n_stored);
  return worst;
}

void
reference_run_clear (ReferenceRun *run)
{
  g_free (run->in);
  g_free (run->w);
  g_free (run->bias);
  g_free (run->scale);
  g_free (run->shift);
  g_free (run->residual);
  g_free (run->out);
  g_free (run->want);
  memset (run, 0, sizeof *run);
}
