/* pool_avx512.c: MaxPool2d planes vectorised for AVX-512; see
 * pool_plane.inc, and below the whole-plane 3x3 stride-1 pool and the
 * stride-2 pool. */
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

/* how many input rows ahead the stride-2 pool prefetches */
#define PREFETCH_ROWS 4

/* Which of the 16 columns from START on lie in a row of W. */
static inline __mmask16
columns_inside (int start, int w)
{
  const int lo = start < 0 ? -start : 0;
  const int hi = MIN (16, w - start);

  if (hi <= lo)
    return 0;
  return (__mmask16) (((1u << hi) - 1) & ~((1u << lo) - 1));
}

/* The row's elements at columns START + 2 j, j < 16, -inf outside it. */
static inline __m512
every_other (const float *row, int start, int w)
{
  const __m512 minus_inf = _mm512_set1_ps (-INFINITY);
  const __m512i even = _mm512_setr_epi32 (0, 2, 4, 6, 8, 10, 12, 14, 16, 18,
                                          20, 22, 24, 26, 28, 30);
  __m512 low, high;

  /* inside the row, plain loads: the masks cost more than the loads */
  if (start >= 0 && start + 32 <= w)
    {
      low = _mm512_loadu_ps (row + start);
      high = _mm512_loadu_ps (row + start + 16);
    }
  else
    {
      low = _mm512_mask_loadu_ps (minus_inf, columns_inside (start, w),
                                  row + start);
      high = _mm512_mask_loadu_ps (minus_inf, columns_inside (start + 16, w),
                                   row + start + 16);
    }
  return _mm512_permutex2var_ps (low, even, high);
}

void
convnet_maxpool_stride2_avx512 (float *y, const float *x,
                                const ConvGeometry *geo, float *rows)
{
  const int w_out = geo->w_out;
  /* the input rows some window covers */
  const int first_row = MAX (0, -geo->ph);
  const int end_row = MIN (geo->h_in, (geo->h_out - 1) * 2 - geo->ph
                                      + geo->kh);

  for (int iy = first_row; iy < end_row; iy++)
    {
      const float *row = x + (gsize) iy * geo->w_in;
      float *maxima = rows + (gsize) iy * w_out;

      /* masked loads do not train the hardware prefetchers, and the
       * input mostly comes from memory */
      if (iy + PREFETCH_ROWS < end_row)
        for (int i = 0; i < geo->w_in; i += 16)
          _mm_prefetch ((const char *) (row + PREFETCH_ROWS * geo->w_in + i),
                        _MM_HINT_T0);

      for (int ox = 0; ox < w_out; ox += 16)
        {
          const int start = 2 * ox - geo->pw;
          __m512 best = every_other (row, start, geo->w_in);

          for (int kx = 1; kx < geo->kw; kx++)
            best = take (best, every_other (row, start + kx, geo->w_in));
          _mm512_mask_storeu_ps (maxima + ox, columns_inside (ox, w_out),
                                 best);
        }
    }
  for (int oy = 0; oy < geo->h_out; oy++)
    {
      /* the window's rows inside the input; a row of padding is -inf,
       * which the test never takes */
      const int top = 2 * oy - geo->ph;
      const int begin = MAX (top, 0);
      const int end = MIN (top + geo->kh, geo->h_in);

      for (int ox = 0; ox < w_out; ox += 16)
        {
          const __mmask16 inside = columns_inside (ox, w_out);
          __m512 best = _mm512_set1_ps (-INFINITY);

          if (begin < end)
            best = _mm512_maskz_loadu_ps (inside,
                                          rows + (gsize) begin * w_out + ox);
          for (int iy = begin + 1; iy < end; iy++)
            best = take (best, _mm512_maskz_loadu_ps (
                                 inside, rows + (gsize) iy * w_out + ox));
          _mm512_mask_storeu_ps (y + (gsize) oy * w_out + ox, inside, best);
        }
    }
}
