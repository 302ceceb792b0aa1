/* fc_avx512.c: the fully connected rows of fc.h (fc_rows.inc) with
 * AVX-512, compiled with -mavx512f and friends; reached only through
 * convnet_kernels().  Masked loads take the tail of a row. */
#include "kernels.h"

#include <immintrin.h>

#define LANES 16
#define ROWS_ONE 8
#define ROWS_PAIR 6
#define FC_ROWS convnet_fc_rows_avx512
#define FC_ROWS_HALF convnet_fc_rows_half_avx512

typedef __m512 Vec;
typedef __mmask16 Mask;

#define ALWAYS_INLINE static inline __attribute__ ((always_inline))

ALWAYS_INLINE Vec
vec_zero (void)
{
  return _mm512_setzero_ps ();
}

ALWAYS_INLINE Mask
tail_mask (int n)
{
  return n >= LANES ? (Mask) 0xffff : (Mask) ((1u << n) - 1);
}

ALWAYS_INLINE Vec
load_floats (const float *p, int n G_GNUC_UNUSED, Mask mask)
{
  return _mm512_maskz_loadu_ps (mask, p);
}

ALWAYS_INLINE Vec
load_halves (const guint16 *p, int n G_GNUC_UNUSED, Mask mask)
{
  return _mm512_cvtph_ps (_mm256_maskz_loadu_epi16 (mask, p));
}

ALWAYS_INLINE Vec
vec_fma (Vec a, Vec b, Vec c)
{
  return _mm512_fmadd_ps (a, b, c);
}

ALWAYS_INLINE float
vec_sum (Vec v)
{
  return _mm512_reduce_add_ps (v);
}

#include "fc_rows.inc"

void
convnet_to_half_avx512 (guint16 *dst, const float *src, gsize n)
{
  gsize i = 0;

  for (; i + LANES <= n; i += LANES)
    _mm256_storeu_si256 ((__m256i *) (dst + i),
                         _mm512_cvtps_ph (_mm512_loadu_ps (src + i),
                                          _MM_FROUND_TO_NEAREST_INT
                                          | _MM_FROUND_NO_EXC));
  if (i < n)
    {
      const __mmask16 mask = (__mmask16) ((1u << (n - i)) - 1);
      _mm256_mask_storeu_epi16 (dst + i, mask,
                                _mm512_cvtps_ph (_mm512_maskz_loadu_ps (mask,
                                                                        src + i),
                                                 _MM_FROUND_TO_NEAREST_INT
                                                 | _MM_FROUND_NO_EXC));
    }
}
