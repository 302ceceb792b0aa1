/* elementwise.c: channel concatenation, residual addition and the fixed
 * per-channel affine map (GoogLeNet's transform_input). */
#include "ops.h"

#include <string.h>

void
concat_forward (float *out, const float *const *ins, const int *channels,
                int n, int batch, int hw)
{
  int total = 0;

  for (int i = 0; i < n; i++)
    total += channels[i];
  for (int b = 0; b < batch; b++)
    {
      float *y = out + (gsize) b * total * hw;
      for (int i = 0; i < n; i++)
        {
          const gsize len = (gsize) channels[i] * hw;
          if (ins[i])
            memcpy (y, ins[i] + b * len, sizeof (float) * len);
          y += len;
        }
    }
}

void
add_forward (float *out, const float *a, const float *b, gsize n)
{
  for (gsize i = 0; i < n; i++)
    out[i] = a[i] + b[i];
}

void
channel_affine_forward (float *out, const float *in, const float *scale,
                        const float *shift, int batch, int c, int hw)
{
  for (int n = 0; n < batch; n++)
    for (int ch = 0; ch < c; ch++)
      {
        const gsize base = ((gsize) n * c + ch) * hw;
        for (int i = 0; i < hw; i++)
          out[base + i] = in[base + i] * scale[ch] + shift[ch];
      }
}

/* ------------------------------------------------------------ backward */

void
concat_backward (float *const *dxs, const int *channels, int n,
                 const float *dy, int batch, int hw)
{
  int total = 0;

  for (int i = 0; i < n; i++)
    total += channels[i];
  for (int b = 0; b < batch; b++)
    {
      const float *g = dy + (gsize) b * total * hw;
      for (int i = 0; i < n; i++)
        {
          const gsize len = (gsize) channels[i] * hw;
          if (dxs[i])
            {
              float *d = dxs[i] + b * len;
              for (gsize j = 0; j < len; j++)
                d[j] += g[j];
            }
          g += len;
        }
    }
}

/* DA and DB may be the same array (x + x), which then receives 2 dy. */
void
add_backward (float *da, float *db, const float *dy, gsize n)
{
  if (da)
    for (gsize i = 0; i < n; i++)
      da[i] += dy[i];
  if (db)
    for (gsize i = 0; i < n; i++)
      db[i] += dy[i];
}

void
channel_affine_backward (float *dx, const float *dy, const float *scale,
                         int batch, int c, int hw)
{
  if (!dx)
    return;
  for (int n = 0; n < batch; n++)
    for (int ch = 0; ch < c; ch++)
      {
        const gsize base = ((gsize) n * c + ch) * hw;
        for (int i = 0; i < hw; i++)
          dx[base + i] += dy[base + i] * scale[ch];
      }
}
