/* fc_avx2.c: the fully connected rows of fc.h with AVX2, FMA and F16C,
 * compiled with their flags; reached only through convnet_kernels().  As
 * fc_avx512.c with 8 lanes and fewer rows a pass (16 registers). */
#include "kernels.h"

#include <immintrin.h>
#include <string.h>

#define LANES 8
#define PREFETCH_AHEAD 256

/* lanes below N on, as _mm256_maskload_ps wants them */
static inline __attribute__ ((always_inline)) __m256i
lanes_below (int n)
{
  return _mm256_cmpgt_epi32 (_mm256_set1_epi32 (n),
                             _mm256_setr_epi32 (0, 1, 2, 3, 4, 5, 6, 7));
}

static inline __attribute__ ((always_inline)) __m256
load_weights (const float *w, int n, __m256i mask)
{
  return n >= LANES ? _mm256_loadu_ps (w) : _mm256_maskload_ps (w, mask);
}

static inline __attribute__ ((always_inline)) __m256
load_weights_half (const guint16 *w, int n, __m256i mask G_GNUC_UNUSED)
{
  guint16 tail[LANES] = { 0 };

  if (n >= LANES)
    return _mm256_cvtph_ps (_mm_loadu_si128 ((const __m128i *) w));
  memcpy (tail, w, n * sizeof *w);
  return _mm256_cvtph_ps (_mm_loadu_si128 ((const __m128i *) tail));
}

static inline __attribute__ ((always_inline)) float
sum_lanes (__m256 v)
{
  __m128 s = _mm_add_ps (_mm256_castps256_ps128 (v),
                         _mm256_extractf128_ps (v, 1));
  s = _mm_add_ps (s, _mm_movehl_ps (s, s));
  s = _mm_add_ss (s, _mm_movehdup_ps (s));
  return _mm_cvtss_f32 (s);
}

#define DEFINE_FC_BLOCK(name, wtype, load)                                   \
  static inline __attribute__ ((always_inline)) void                         \
  name (const wtype *w, const float *x, const float *bias, float *out,       \
        int batch, int in, int out_features, int row, int rows)              \
  {                                                                          \
    __m256 acc[8][8];                                                        \
                                                                             \
    for (int r = 0; r < rows; r++)                                           \
      for (int b = 0; b < batch; b++)                                        \
        acc[r][b] = _mm256_setzero_ps ();                                    \
    for (int i = 0; i < in; i += LANES)                                      \
      {                                                                      \
        const int n = in - i;                                                \
        const __m256i mask = lanes_below (n);                                \
        __m256 wv[8];                                                        \
                                                                             \
        for (int r = 0; r < rows; r++)                                       \
          {                                                                  \
            const wtype *wr = w + (gsize) (row + r) * in + i;                \
            _mm_prefetch ((const char *) (wr + PREFETCH_AHEAD),              \
                          _MM_HINT_T0);                                      \
            wv[r] = load (wr, n, mask);                                      \
          }                                                                  \
        for (int b = 0; b < batch; b++)                                      \
          {                                                                  \
            const float *xb = x + (gsize) b * in + i;                        \
            const __m256 xv = n >= LANES ? _mm256_loadu_ps (xb)              \
                                         : _mm256_maskload_ps (xb, mask);    \
            for (int r = 0; r < rows; r++)                                   \
              acc[r][b] = _mm256_fmadd_ps (wv[r], xv, acc[r][b]);            \
          }                                                                  \
      }                                                                      \
    for (int r = 0; r < rows; r++)                                           \
      for (int b = 0; b < batch; b++)                                        \
        out[(gsize) b * out_features + row + r]                              \
          = sum_lanes (acc[r][b]) + (bias ? bias[row + r] : 0.0f);           \
  }

DEFINE_FC_BLOCK (fc_block, float, load_weights)
DEFINE_FC_BLOCK (fc_block_half, guint16, load_weights_half)

/* Samples are taken two at a time (more would spill the accumulators):
 * each block of rows is read from memory for the first pair and from the
 * cache for the next ones. */
#define ROWS_FOR(batch) ((batch) == 1 ? 6 : 4)

#define DEFINE_FC_ROWS(name, wtype, block)                                   \
  static inline __attribute__ ((always_inline)) void                         \
  name##_for (const wtype *w, const float *x, const float *bias, float *out, \
              int pair, int in, int out_features, int row, int rows)         \
  {                                                                          \
    block (w, x, bias, out, pair, in, out_features, row, rows);              \
  }                                                                          \
                                                                             \
  static void                                                                \
  name##_block (const wtype *w, const float *x, const float *bias,           \
                float *out, int batch, int in, int out_features, int row,    \
                int rows)                                                    \
  {                                                                          \
    for (int b = 0; b < batch; b += 2)                                       \
      {                                                                      \
        const float *xb = x + (gsize) b * in;                                \
        float *ob = out + (gsize) b * out_features;                          \
        if (batch - b == 1)                                                  \
          {                                                                  \
            if (rows == ROWS_FOR (1))                                        \
              name##_for (w, xb, bias, ob, 1, in, out_features, row,         \
                          ROWS_FOR (1));                                     \
            else if (rows == ROWS_FOR (2))                                   \
              name##_for (w, xb, bias, ob, 1, in, out_features, row,         \
                          ROWS_FOR (2));                                     \
            else                                                             \
              name##_for (w, xb, bias, ob, 1, in, out_features, row, 1);     \
          }                                                                  \
        else if (rows == ROWS_FOR (2))                                       \
          name##_for (w, xb, bias, ob, 2, in, out_features, row,             \
                      ROWS_FOR (2));                                         \
        else                                                                 \
          name##_for (w, xb, bias, ob, 2, in, out_features, row, 1);         \
      }                                                                      \
  }                                                                          \
                                                                             \
  void                                                                       \
  name (const wtype *w, const float *x, const float *bias, float *out,       \
        int batch, int in, int out_features, int begin, int end)             \
  {                                                                          \
    const int rows = ROWS_FOR (batch);                                       \
    int row = begin;                                                         \
                                                                             \
    for (; row + rows <= end; row += rows)                                   \
      name##_block (w, x, bias, out, batch, in, out_features, row, rows);    \
    for (; row < end; row++)                                                 \
      name##_block (w, x, bias, out, batch, in, out_features, row, 1);       \
  }

DEFINE_FC_ROWS (convnet_fc_rows_avx2, float, fc_block)
DEFINE_FC_ROWS (convnet_fc_rows_half_avx2, guint16, fc_block_half)

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
