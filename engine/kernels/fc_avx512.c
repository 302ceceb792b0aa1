/* fc_avx512.c: the fully connected rows of fc.h with AVX-512, compiled
 * with -mavx512f and friends; reached only through convnet_kernels().
 * Each pass over the inputs takes several weight rows at once, so that one
 * load of a sample's inputs serves them all, with one accumulator per row
 * and sample; the weights stream from memory once. */
#include "kernels.h"

#include <immintrin.h>

#define LANES 16
/* how far ahead of the loads each weight row is prefetched, in floats */
#define PREFETCH_AHEAD 256

static inline __attribute__ ((always_inline)) __m512
load_weights (const float *w, __mmask16 mask)
{
  return _mm512_maskz_loadu_ps (mask, w);
}

static inline __attribute__ ((always_inline)) __m512
load_weights_half (const guint16 *w, __mmask16 mask)
{
  return _mm512_cvtph_ps (_mm256_maskz_loadu_epi16 (mask, w));
}

/* ROWS rows from ROW for BATCH samples (both constants once inlined). */
#define DEFINE_FC_BLOCK(name, wtype, load)                                   \
  static inline __attribute__ ((always_inline)) void                         \
  name (const wtype *w, const float *x, const float *bias, float *out,       \
        int batch, int in, int out_features, int row, int rows)              \
  {                                                                          \
    __m512 acc[8][8];                                                        \
    int i = 0;                                                               \
                                                                             \
    for (int r = 0; r < rows; r++)                                           \
      for (int b = 0; b < batch; b++)                                        \
        acc[r][b] = _mm512_setzero_ps ();                                    \
    for (;; i += LANES)                                                      \
      {                                                                      \
        const __mmask16 mask = in - i >= LANES                               \
                               ? (__mmask16) 0xffff                          \
                               : (__mmask16) ((1u << MAX (in - i, 0)) - 1);  \
        __m512 wv[8];                                                        \
                                                                             \
        if (i >= in)                                                         \
          break;                                                             \
        for (int r = 0; r < rows; r++)                                       \
          {                                                                  \
            const wtype *wr = w + (gsize) (row + r) * in + i;                \
            _mm_prefetch ((const char *) (wr + PREFETCH_AHEAD),              \
                          _MM_HINT_T0);                                      \
            wv[r] = load (wr, mask);                                         \
          }                                                                  \
        for (int b = 0; b < batch; b++)                                      \
          {                                                                  \
            const __m512 xv = _mm512_maskz_loadu_ps (mask,                   \
                                                     x + (gsize) b * in + i);\
            for (int r = 0; r < rows; r++)                                   \
              acc[r][b] = _mm512_fmadd_ps (wv[r], xv, acc[r][b]);            \
          }                                                                  \
      }                                                                      \
    for (int r = 0; r < rows; r++)                                           \
      for (int b = 0; b < batch; b++)                                        \
        out[(gsize) b * out_features + row + r]                              \
          = _mm512_reduce_add_ps (acc[r][b]) + (bias ? bias[row + r] : 0.0f);\
  }

DEFINE_FC_BLOCK (fc_block, float, load_weights)
DEFINE_FC_BLOCK (fc_block_half, guint16, load_weights_half)

/* Samples are taken two at a time (more would spill the accumulators):
 * each block of rows is read from memory for the first pair and from the
 * cache for the next ones. */
#define ROWS_FOR(batch) ((batch) == 1 ? 8 : 6)

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

DEFINE_FC_ROWS (convnet_fc_rows_avx512, float, fc_block)
DEFINE_FC_ROWS (convnet_fc_rows_half_avx512, guint16, fc_block_half)

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
