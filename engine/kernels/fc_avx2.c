/* fc_avx2.c: the fully connected rows of fc.h (fc_rows.inc) with AVX2,
 * FMA and F16C, compiled with their flags; reached only through
 * convnet_kernels().  Tails are masked loads, and a copy for halves. */
#include "kernels.h"

#include <immintrin.h>
#include <string.h>

#define LANES 8
/* 16 registers: fewer rows a pass than AVX-512's 32 allow */
#define ROWS_ONE 6
#define ROWS_PAIR 4
#define FC_ROWS convnet_fc_rows_avx2
#define FC_ROWS_HALF convnet_fc_rows_half_avx2

typedef __m256 Vec;
typedef __m256i Mask;   /* lanes on, as _mm256_maskload_ps wants them */

#define ALWAYS_INLINE static inline __attribute__ ((always_inline))

ALWAYS_INLINE Vec
vec_zero (void)
{
  return _mm256_setzero_ps ();
}

ALWAYS_INLINE Mask
tail_mask (int n)
{
  return _mm256_cmpgt_epi32 (_mm256_set1_epi32 (n),
                             _mm256_setr_epi32 (0, 1, 2, 3, 4, 5, 6, 7));
}

ALWAYS_INLINE Vec
load_floats (const float *p, int n, Mask mask)
{
  return n >= LANES ? _mm256_loadu_ps (p) : _mm256_maskload_ps (p, mask);
}

ALWAYS_INLINE Vec
load_halves (const guint16 *p, int n, Mask mask G_GNUC_UNUSED)
{
  guint16 tail[LANES] = { 0 };

  if (n >= LANES)
    return _mm256_cvtph_ps (_mm_loadu_si128 ((const __m128i *) p));
  memcpy (tail, p, n * sizeof *p);
  return _mm256_cvtph_ps (_mm_loadu_si128 ((const __m128i *) tail));
}

ALWAYS_INLINE Vec
vec_fma (Vec a, Vec b, Vec c)
{
  return _mm256_fmadd_ps (a, b, c);
}

ALWAYS_INLINE float
vec_sum (Vec v)
{
  __m128 s = _mm_add_ps (_mm256_castps256_ps128 (v),
                         _mm256_extractf128_ps (v, 1));
  s = _mm_add_ps (s, _mm_movehl_ps (s, s));
  s = _mm_add_ss (s, _mm_movehdup_ps (s));
  return _mm_cvtss_f32 (s);
}

#include "fc_rows.inc"

void
convnet_to_half_avx2 (guint16 *dst, const float *src, gsize n)
{
  gsize i = 0;

  for (; i + LANES <= n; i += LANES)
    _mm_storeu_si128 ((__m128i *) (dst + i),
                      _mm256_cvtps_ph (_mm256_loadu_ps (src + i),
                                       _MM_FROUND_TO_NEAREST_INT
                                       | _MM_FROUND_NO_EXC));
  if (i < n)
    {
      float tail[LANES] = { 0 };
      guint16 halves[LANES];

      memcpy (tail, src + i, (n - i) * sizeof *src);
      _mm_storeu_si128 ((__m128i *) halves,
                        _mm256_cvtps_ph (_mm256_loadu_ps (tail),
                                         _MM_FROUND_TO_NEAREST_INT
                                         | _MM_FROUND_NO_EXC));
      memcpy (dst + i, halves, (n - i) * sizeof *dst);
    }
}
