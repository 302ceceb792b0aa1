/* batchnorm.c: BatchNorm2d.  Inference uses the running statistics;
 * training normalises with the batch's own and updates the running ones.
 * Per-channel sums run over batch x plane values, so they are kept in
 * double. */
#include "ops.h"

#include <math.h>

void
batchnorm2d_forward_inference (float *out, const float *in,
                               const float *weight, const float *bias,
                               const float *running_mean,
                               const float *running_var, float eps,
                               int batch, int c, int hw)
{
  for (int n = 0; n < batch; n++)
    for (int ch = 0; ch < c; ch++)
      {
        const float scale = weight[ch] / sqrtf (running_var[ch] + eps);
        const float shift = bias[ch] - running_mean[ch] * scale;
        const gsize base = ((gsize) n * c + ch) * hw;
        const float *x = in + base;
        float *y = out + base;

        for (int i = 0; i < hw; i++)
          y[i] = x[i] * scale + shift;
      }
}

void
batchnorm2d_forward_train (float *out, float *save_mean, float *save_invstd,
                           const float *x, const float *weight,
                           const float *bias, float *running_mean,
                           float *running_var, float momentum, float eps,
                           int batch, int c, int hw)
{
  batchnorm2d_forward_train_channels (out, save_mean, save_invstd, x, weight,
                                      bias, running_mean, running_var,
                                      momentum, eps, batch, c, hw, 0, c);
}

void
batchnorm2d_forward_train_channels (float *out, float *save_mean,
                                    float *save_invstd, const float *x,
                                    const float *weight, const float *bias,
                                    float *running_mean, float *running_var,
                                    float momentum, float eps, int batch,
                                    int c, int hw, int first, int end)
{
  const gsize count = (gsize) batch * hw;
  const gsize sample = (gsize) c * hw;

  for (int ch = first; ch < end; ch++)
    {
      double sum = 0.0, var_sum = 0.0, var, invstd;
      float mean;

      for (int n = 0; n < batch; n++)
        {
          const float *xp = x + n * sample + (gsize) ch * hw;
          for (int i = 0; i < hw; i++)
            sum += xp[i];
        }
      /* torch keeps the mean as a float and centres with it */
      mean = (float) (sum / count);
      /* two passes: the one-pass E[x^2] - E[x]^2 cancels badly */
      for (int n = 0; n < batch; n++)
        {
          const float *xp = x + n * sample + (gsize) ch * hw;
          for (int i = 0; i < hw; i++)
            {
              const double d = (double) xp[i] - mean;
              var_sum += d * d;
            }
        }
      var = var_sum / count;
      /* torch's convention for a constant channel with eps = 0 */
      invstd = var + eps == 0.0 ? 0.0 : 1.0 / sqrt (var + eps);

      if (save_mean)
        save_mean[ch] = mean;
      if (save_invstd)
        save_invstd[ch] = (float) invstd;
      if (running_mean)
        running_mean[ch] = (float) (momentum * (double) mean
                                    + (1.0 - momentum) * running_mean[ch]);
      if (running_var)
        {
          const double unbiased = count > 1 ? var_sum / (count - 1) : var;
          running_var[ch] = (float) (momentum * unbiased
                                     + (1.0 - momentum) * running_var[ch]);
        }

      const float scale = (float) (weight[ch] * invstd);
      const float shift = bias[ch] - mean * scale;
      for (int n = 0; n < batch; n++)
        {
          const gsize base = n * sample + (gsize) ch * hw;
          for (int i = 0; i < hw; i++)
            out[base + i] = x[base + i] * scale + shift;
        }
    }
}

/* With xhat = (x - mean) * invstd and m = batch x plane values:
 *   dbias = sum dy,  dweight = sum dy xhat,
 *   dx = weight invstd (dy - sum dy / m - xhat sum (dy xhat) / m),
 * the last two terms being the gradient through the batch mean and
 * variance. */
void
batchnorm2d_backward (float *dx, float *dweight, float *dbias,
                      const float *dy, const float *x, const float *weight,
                      const float *save_mean, const float *save_invstd,
                      int batch, int c, int hw)
{
  batchnorm2d_backward_channels (dx, dweight, dbias, dy, x, weight, save_mean,
                                 save_invstd, batch, c, hw, 0, c, FALSE);
}

void
batchnorm2d_backward_channels (float *dx, float *dweight, float *dbias,
                               const float *dy, const float *x,
                               const float *weight, const float *save_mean,
                               const float *save_invstd, int batch, int c,
                               int hw, int first, int end, gboolean store)
{
  const gsize count = (gsize) batch * hw;
  const gsize sample = (gsize) c * hw;

  for (int ch = first; ch < end; ch++)
    {
      const float mean = save_mean[ch];
      const double invstd = save_invstd[ch];
      double sum_dy = 0.0, dot = 0.0;

      for (int n = 0; n < batch; n++)
        {
          const gsize base = n * sample + (gsize) ch * hw;
          for (int i = 0; i < hw; i++)
            {
              sum_dy += dy[base + i];
              dot += (double) dy[base + i] * (x[base + i] - mean);
            }
        }
      if (dbias)
        dbias[ch] += (float) sum_dy;
      if (dweight)
        dweight[ch] += (float) (dot * invstd);
      if (!dx)
        continue;

      /* dx = (dy - mean_dy - (x - mean) * proj) * weight * invstd */
      const float mean_dy = (float) (sum_dy / count);
      const float proj = (float) (dot * invstd * invstd / count);
      const float scale = (float) (weight[ch] * invstd);
      for (int n = 0; n < batch; n++)
        {
          const gsize base = n * sample + (gsize) ch * hw;
          if (store)
            for (int i = 0; i < hw; i++)
              dx[base + i] = (dy[base + i] - mean_dy
                              - (x[base + i] - mean) * proj) * scale;
          else
            for (int i = 0; i < hw; i++)
              dx[base + i] += (dy[base + i] - mean_dy
                               - (x[base + i] - mean) * proj) * scale;
        }
    }
}

/* The statistics are constants: y = x * weight * invstd + const. */
void
batchnorm2d_backward_inference (float *dx, float *dweight, float *dbias,
                                const float *dy, const float *x,
                                const float *weight,
                                const float *running_mean,
                                const float *running_var, float eps,
                                int batch, int c, int hw)
{
  const gsize sample = (gsize) c * hw;

  for (int ch = 0; ch < c; ch++)
    {
      const float invstd = 1.0f / sqrtf (running_var[ch] + eps);

      if (dbias || dweight)
        {
          const float mean = running_mean[ch];
          double sum_dy = 0.0, dot = 0.0;

          for (int n = 0; n < batch; n++)
            {
              const gsize base = n * sample + (gsize) ch * hw;
              for (int i = 0; i < hw; i++)
                {
                  sum_dy += dy[base + i];
                  dot += (double) dy[base + i] * (x[base + i] - mean);
                }
            }
          if (dbias)
            dbias[ch] += (float) sum_dy;
          if (dweight)
            dweight[ch] += (float) (dot * invstd);
        }
      if (dx)
        {
          const float scale = weight[ch] * invstd;
          for (int n = 0; n < batch; n++)
            {
              const gsize base = n * sample + (gsize) ch * hw;
              for (int i = 0; i < hw; i++)
                dx[base + i] += dy[base + i] * scale;
            }
        }
    }
}
