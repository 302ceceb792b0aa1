/* pool_avx512.c: MaxPool2d planes vectorised for AVX-512; see
 * pool_plane.inc, and below the whole-plane 3x3 stride-1 pool. */
#define MAXPOOL_PLANE convnet_maxpool_plane_avx512
#include "pool_plane.inc"

#include <immintrin.h>

/* ops/pool.c's test, V > BEST || isnan (V), lane by lane */
static inline __m512
take (__m512 best, __m512 v)
{
  const __mmask16 wins = _mm512_cmp_ps_mask (v, best, _CMP_GT_OQ)
                         | _mm512_cmp_ps_mask (v, v, _CMP_UNORD_Q);

  return _mm512_mask_blend_ps (wins, best, v);
}

/* The row maxima of the whole plane, then the maxima of three of them
 * down: each window's elements in pool_plane.inc's order, the padding
 * -inf (a masked lane, which is never read). */
void
convnet_maxpool_same3_avx512 (float *y, const float *x, int h, int w,
                              const ConvnetPlaneLanes *lanes, float *rows)
{
  const __m512 minus_inf = _mm512_set1_ps (-INFINITY);
  const int n = h * w;

  for (int i = 0; i < n; i += 16)
    {
      const ConvnetPlaneLanes *l = &lanes[i / 16];
      const __m512 left = _mm512_mask_loadu_ps (minus_inf, l->left, x + i - 1);
      const __m512 middle = _mm512_mask_loadu_ps (minus_inf, l->inside, x + i);
      const __m512 right = _mm512_mask_loadu_ps (minus_inf, l->right,
                                                 x + i + 1);

      _mm512_mask_storeu_ps (rows + i, l->inside,
                             take (take (left, middle), right));
    }
  for (int i = 0; i < n; i += 16)
    {
      const ConvnetPlaneLanes *l = &lanes[i / 16];
      const __m512 up = _mm512_mask_loadu_ps (minus_inf, l->up, rows + i - w);
      const __m512 middle = _mm512_mask_loadu_ps (minus_inf, l->inside,
                                                  rows + i);
      const __m512 down = _mm512_mask_loadu_ps (minus_inf, l->down,
                                                rows + i + w);

      _mm512_mask_storeu_ps (y + i, l->inside, take (take (up, middle), down));
    }
}
