/* lrn.c: LocalResponseNorm across channels, as torch defines it:
 * y = x / (k + alpha/size * sum(x^2 over the window))^beta, the window
 * running from c - size/2 to c + (size-1)/2, zero outside. */
#include "ops.h"

#include <math.h>

void
lrn_forward (float *out, const float *in, int batch, int c, int hw,
             int size, float alpha, float beta, float k)
{
  const int before = size / 2;
  const int after = (size - 1) / 2;

  for (int n = 0; n < batch; n++)
    for (int p = 0; p < hw; p++)
      {
        const float *x = in + (gsize) n * c * hw + p;
        float *y = out + (gsize) n * c * hw + p;

        for (int ch = 0; ch < c; ch++)
          {
            float sum = 0.0f;
            for (int j = MAX (0, ch - before); j <= MIN (c - 1, ch + after); j++)
              sum += x[(gsize) j * hw] * x[(gsize) j * hw];
            y[(gsize) ch * hw] = x[(gsize) ch * hw]
                                 / powf (k + alpha * sum / size, beta);
          }
      }
}

/* With s_c = k + alpha/size * sum over c's window of x^2 and y_c = x_c
 * s_c^-beta, x_j reaches y_j directly and every y_c whose window holds j
 * through s_c:
 *   dx_j = dy_j s_j^-beta - 2 alpha beta / size * x_j
 *          * sum over those c of dy_c x_c s_c^(-beta-1).
 * Each channel c computes s_c once and scatters its term onto its own
 * window, which needs no buffer for the sums over c. */
void
lrn_backward (float *dx, const float *dy, const float *x, int batch, int c,
              int hw, int size, float alpha, float beta, float k)
{
  const int before = size / 2;
  const int after = (size - 1) / 2;
  const float coef = 2.0f * alpha * beta / size;

  if (!dx)
    return;
  for (int n = 0; n < batch; n++)
    for (int p = 0; p < hw; p++)
      {
        const gsize base = (gsize) n * c * hw + p;
        const float *xp = x + base;
        const float *g = dy + base;
        float *d = dx + base;

        for (int ch = 0; ch < c; ch++)
          {
            const int lo = MAX (0, ch - before), hi = MIN (c - 1, ch + after);
            float sum = 0.0f;

            for (int j = lo; j <= hi; j++)
              sum += xp[(gsize) j * hw] * xp[(gsize) j * hw];
            const float s = k + alpha * sum / size;
            const float inv = 1.0f / powf (s, beta);
            const float gc = g[(gsize) ch * hw];
            const float t = coef * gc * xp[(gsize) ch * hw] * inv / s;

            d[(gsize) ch * hw] += gc * inv;
            for (int j = lo; j <= hi; j++)
              d[(gsize) j * hw] -= t * xp[(gsize) j * hw];
          }
      }
}
