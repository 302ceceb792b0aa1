/* cross_entropy.c: the softmax cross-entropy loss of F.cross_entropy,
 * averaged over the batch, with optional label smoothing: the target
 * distribution puts 1 - eps + eps/C on the label and eps/C elsewhere, so
 *   loss_i = logsumexp(z_i) - (1 - eps) z_it - eps/C sum_j z_ij. */
#include "ops.h"

#include <math.h>

float
softmax_cross_entropy_forward (float *probs, const float *logits,
                               const int *targets, int batch, int classes,
                               float label_smoothing)
{
  const double eps = label_smoothing;
  double total = 0.0;

  if (batch <= 0)
    return 0.0f;
  for (int b = 0; b < batch; b++)
    {
      const float *z = logits + (gsize) b * classes;
      float *p = probs ? probs + (gsize) b * classes : NULL;
      const int t = targets[b];
      float max = -INFINITY;
      double sum = 0.0, sum_z = 0.0;

      g_return_val_if_fail (t >= 0 && t < classes, NAN);
      /* shifting by the largest logit keeps every exponential <= 1 */
      for (int c = 0; c < classes; c++)
        max = fmaxf (max, z[c]);
      for (int c = 0; c < classes; c++)
        {
          const float e = expf (z[c] - max);
          sum += e;
          sum_z += z[c];
          if (p)
            p[c] = e;
        }
      if (p)
        for (int c = 0; c < classes; c++)
          p[c] = (float) (p[c] / sum);

      /* logsumexp - z, with both near max: subtracting in double before
       * adding the log keeps large logits from cancelling digits away */
      const double log_sum = log (sum);
      total += (1.0 - eps) * ((max - (double) z[t]) + log_sum)
               + eps * ((max - sum_z / classes) + log_sum);
    }
  return (float) (total / batch);
}

/* d loss / d z_ij = (softmax_ij - target distribution_ij) / batch. */
void
softmax_cross_entropy_backward (float *dlogits, const float *probs,
                                const int *targets, int batch, int classes,
                                float label_smoothing)
{
  const float off = label_smoothing / classes / batch;
  const float hit = (1.0f - label_smoothing) / batch;
  const float inv_batch = 1.0f / batch;

  if (!dlogits)
    return;
  for (int b = 0; b < batch; b++)
    {
      const float *p = probs + (gsize) b * classes;
      float *d = dlogits + (gsize) b * classes;

      for (int c = 0; c < classes; c++)
        d[c] += p[c] * inv_batch - off;
      d[targets[b]] -= hit;
    }
}
