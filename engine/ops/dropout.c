/* dropout.c: inverted dropout, as torch's in training: each element is
 * kept with probability 1 - p and scaled by 1/(1-p), so evaluation needs
 * no rescaling.  The mask comes from the seeded ConvnetRng, so a seed
 * reproduces it (torch's own generator is not reproduced). */
#include "ops.h"

#include <string.h>

void
dropout_forward_train (float *out, float *mask, const float *x, gsize n,
                       float p, ConvnetRng *rng)
{
  if (!(p > 0.0f))
    {
      if (out != x)
        memcpy (out, x, sizeof (float) * n);
      if (mask)
        for (gsize i = 0; i < n; i++)
          mask[i] = 1.0f;
      return;
    }
  if (p >= 1.0f)
    {
      /* torch multiplies by zeros: an infinite input still gives NaN */
      for (gsize i = 0; i < n; i++)
        out[i] = x[i] * 0.0f;
      if (mask)
        memset (mask, 0, sizeof (float) * n);
      return;
    }

  /* torch divides by 1 - p in float */
  const float scale = 1.0f / (float) (1.0 - (double) p);
  /* each 64-bit draw decides two elements by its 32-bit halves: an element
   * drops when its half is below p * 2^32, which is p to within 2^-32 */
  const guint64 threshold = (guint64) ((double) p * 4294967296.0);

  for (gsize i = 0; i < n; i += 2)
    {
      const guint64 bits = convnet_rng_next (rng);
      const float m0 = (bits & 0xffffffffu) < threshold ? 0.0f : scale;

      if (mask)
        mask[i] = m0;
      out[i] = x[i] * m0;
      if (i + 1 < n)
        {
          const float m1 = (bits >> 32) < threshold ? 0.0f : scale;
          if (mask)
            mask[i + 1] = m1;
          out[i + 1] = x[i + 1] * m1;
        }
    }
}

void
dropout_backward (float *dx, const float *dy, const float *mask, gsize n)
{
  if (!dx)
    return;
  for (gsize i = 0; i < n; i++)
    dx[i] += dy[i] * mask[i];
}
