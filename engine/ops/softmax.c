/* softmax.c: softmax over the channel dimension at every position. */
#include "ops.h"

#include <math.h>

void
softmax_forward (float *out, const float *in, int batch, int c, int hw)
{
  for (int n = 0; n < batch; n++)
    for (int p = 0; p < hw; p++)
      {
        const float *x = in + (gsize) n * c * hw + p;
        float *y = out + (gsize) n * c * hw + p;
        float max = -INFINITY;
        double sum = 0.0;

        for (int ch = 0; ch < c; ch++)
          max = fmaxf (max, x[(gsize) ch * hw]);
        for (int ch = 0; ch < c; ch++)
          {
            y[(gsize) ch * hw] = expf (x[(gsize) ch * hw] - max);
            sum += y[(gsize) ch * hw];
          }
        for (int ch = 0; ch < c; ch++)
          y[(gsize) ch * hw] = (float) (y[(gsize) ch * hw] / sum);
      }
}

/* dx_c = y_c (dy_c - sum_k dy_k y_k) at every position. */
void
softmax_backward (float *dx, const float *dy, const float *y, int batch,
                  int c, int hw)
{
  if (!dx)
    return;
  for (int n = 0; n < batch; n++)
    for (int p = 0; p < hw; p++)
      {
        const gsize base = (gsize) n * c * hw + p;
        double dot = 0.0;

        for (int ch = 0; ch < c; ch++)
          dot += (double) dy[base + (gsize) ch * hw] * y[base + (gsize) ch * hw];
        const float d = (float) dot;
        for (int ch = 0; ch < c; ch++)
          {
            const gsize i = base + (gsize) ch * hw;
            dx[i] += y[i] * (dy[i] - d);
          }
      }
}
