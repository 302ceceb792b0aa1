/* fc_generic.c: the fully connected rows of fc.h in portable C, for CPUs
 * without AVX2: 4 rows a pass, each with 8 partial sums per sample that
 * the compiler can keep in the baseline ISA's vectors. */
#include "kernels.h"

#include <string.h>

#define ROWS 4
#define LANES 8

/* IEEE half <-> single by their bits, round to nearest even. */
static guint16
float_to_half (float f)
{
  guint32 bits, sign, mag;

  memcpy (&bits, &f, sizeof bits);
  sign = (bits >> 16) & 0x8000u;
  mag = bits & 0x7fffffffu;
  if (mag >= 0x7f800000u)                    /* inf, NaN (kept quiet) */
    return (guint16) (sign | 0x7c00u | (mag > 0x7f800000u ? 0x200u | ((mag >> 13) & 0x3ffu) : 0));
  if (mag >= 0x477ff000u)                    /* rounds past 65504 */
    return (guint16) (sign | 0x7c00u);
  if (mag < 0x38800000u)                     /* below 2^-14: subnormal */
    {
      const guint32 shift = 126 - (mag >> 23);    /* 14 .. */
      guint32 m, half, rest;

      if (shift > 24)
        return (guint16) sign;
      m = (mag & 0x7fffffu) | 0x800000u;
      half = m >> (shift);
      rest = m & ((1u << shift) - 1);
      if (rest > (1u << (shift - 1))
          || (rest == (1u << (shift - 1)) && (half & 1)))
        half++;
      return (guint16) (sign | half);
    }
  {
    guint32 h = ((mag - 0x38000000u) >> 13);
    const guint32 rest = mag & 0x1fffu;

    if (rest > 0x1000u || (rest == 0x1000u && (h & 1)))
      h++;
    return (guint16) (sign | h);
  }
}

static float
half_to_float (guint16 h)
{
  const guint32 sign = (guint32) (h & 0x8000u) << 16;
  const guint32 exp = (h >> 10) & 0x1f, mant = h & 0x3ffu;
  guint32 bits;
  float f;

  if (exp == 0x1f)
    bits = sign | 0x7f800000u | (mant << 13);
  else if (exp != 0)
    bits = sign | ((exp + 112) << 23) | (mant << 13);
  else
    {
      /* subnormal (or zero): mant x 2^-24, exact in float */
      f = (float) mant * (1.0f / 16777216.0f);
      return sign ? -f : f;
    }
  memcpy (&f, &bits, sizeof f);
  return f;
}

void
convnet_to_half_generic (guint16 *dst, const float *src, gsize n)
{
  for (gsize i = 0; i < n; i++)
    dst[i] = float_to_half (src[i]);
}

static inline float
weight_f32 (const float *w, gsize i)
{
  return w[i];
}

static inline float
weight_f16 (const guint16 *w, gsize i)
{
  return half_to_float (w[i]);
}

#define DEFINE_FC_ROWS(name, wtype, weight)                                  \
  void                                                                       \
  name (const wtype *w, const float *x, const float *bias, float *out,       \
        int batch, int in, int out_features, int begin, int end)             \
  {                                                                          \
    for (int row = begin; row < end; row += ROWS)                            \
      {                                                                      \
        const int rows = MIN (ROWS, end - row);                              \
        float acc[ROWS][CONVNET_FC_MAX_BATCH][LANES];                        \
                                                                             \
        memset (acc, 0, sizeof acc);                                         \
        for (int i = 0; i < in; i += LANES)                                  \
          {                                                                  \
            const int n = MIN (LANES, in - i);                               \
            for (int r = 0; r < rows; r++)                                   \
              {                                                              \
                const wtype *wr = w + (gsize) (row + r) * in + i;            \
                float wv[LANES] = { 0 };                                     \
                for (int l = 0; l < n; l++)                                  \
                  wv[l] = weight (wr, l);                                    \
                for (int b = 0; b < batch; b++)                              \
                  {                                                          \
                    const float *xb = x + (gsize) b * in + i;                \
                    for (int l = 0; l < n; l++)                              \
                      acc[r][b][l] += wv[l] * xb[l];                         \
                  }                                                          \
              }                                                              \
          }                                                                  \
        for (int r = 0; r < rows; r++)                                       \
          for (int b = 0; b < batch; b++)                                    \
            {                                                                \
              float s = 0.0f;                                                \
              for (int l = 0; l < LANES; l++)                                \
                s += acc[r][b][l];                                           \
              out[(gsize) b * out_features + row + r]                        \
                = s + (bias ? bias[row + r] : 0.0f);                         \
            }                                                            \
      }                                                                      \
  }

DEFINE_FC_ROWS (convnet_fc_rows_generic, float, weight_f32)
DEFINE_FC_ROWS (convnet_fc_rows_half_generic, guint16, weight_f16)
