/* gemm_avx512.c: the 8 x 32 SGEMM micro-kernel for AVX-512 (built with
 * -mavx512f and friends; reached only through convnet_kernels() after the
 * CPU was checked).  Eight rows of A are broadcast against two vectors of
 * B: 16 accumulators hide the FMA latency, and 8 rows divide every channel
 * count of the classic networks. */
#include "kernels.h"

#include <immintrin.h>

#define MR 8
#define NR 32

static inline __mmask16
lane_mask (int lanes)
{
  return lanes >= 16 ? (__mmask16) 0xffff
                     : (__mmask16) ((1u << MAX (lanes, 0)) - 1);
}

static void
gemm_tile_avx512 (int k, const float *a, const float *b, float *c, gsize ldc,
                  int mr_used, int nr_used, gboolean accumulate,
                  const ConvnetEpilogue *epilogue)
{
  __m512 acc[MR][2];
  const __mmask16 mask0 = lane_mask (nr_used), mask1 = lane_mask (nr_used - 16);

#pragma GCC unroll 8
  for (int r = 0; r < MR; r++)
    acc[r][0] = acc[r][1] = _mm512_setzero_ps ();

  for (int p = 0; p < k; p++)
    {
      const __m512 b0 = _mm512_load_ps (b + (gsize) p * NR);
      const __m512 b1 = _mm512_load_ps (b + (gsize) p * NR + 16);
      const float *ap = a + (gsize) p * MR;
#pragma GCC unroll 8
      for (int r = 0; r < MR; r++)
        {
          const __m512 ar = _mm512_set1_ps (ap[r]);
          acc[r][0] = _mm512_fmadd_ps (ar, b0, acc[r][0]);
          acc[r][1] = _mm512_fmadd_ps (ar, b1, acc[r][1]);
        }
    }

#pragma GCC unroll 8
  for (int r = 0; r < MR; r++)
    {
      float *row = c + (gsize) r * ldc;
      __m512 v0 = acc[r][0], v1 = acc[r][1];

      if (r >= mr_used)
        break;
      if (accumulate)
        {
          v0 = _mm512_add_ps (v0, _mm512_maskz_loadu_ps (mask0, row));
          v1 = _mm512_add_ps (v1, _mm512_maskz_loadu_ps (mask1, row + 16));
        }
      if (epilogue)
        {
          if (epilogue->bias)
            {
              const __m512 bias = _mm512_set1_ps (epilogue->bias[r]);
              v0 = _mm512_add_ps (v0, bias);
              v1 = _mm512_add_ps (v1, bias);
            }
          if (epilogue->residual)
            {
              const float *res = epilogue->residual
                                 + (gsize) r * epilogue->residual_stride;
              v0 = _mm512_add_ps (v0, _mm512_maskz_loadu_ps (mask0, res));
              v1 = _mm512_add_ps (v1, _mm512_maskz_loadu_ps (mask1, res + 16));
            }
          if (epilogue->relu)
            {
              v0 = _mm512_max_ps (_mm512_setzero_ps (), v0);
              v1 = _mm512_max_ps (_mm512_setzero_ps (), v1);
            }
        }
      if (epilogue && epilogue->stream && nr_used == NR
          && ((guintptr) row & 63) == 0)
        {
          /* no read for ownership of lines written whole */
          _mm512_stream_ps (row, v0);
          _mm512_stream_ps (row + 16, v1);
          continue;
        }
      _mm512_mask_storeu_ps (row, mask0, v0);
      _mm512_mask_storeu_ps (row + 16, mask1, v1);
    }
}

/* Pixels R[0..7] of 8 channels each into channels C[0..7] of 8 pixels
 * each: the usual three rounds of shuffles. */
static inline __attribute__ ((always_inline)) void
transpose_8x8 (__m256 *c, const __m256 *r)
{
  __m256 t[8], s[8];

  for (int i = 0; i < 4; i++)
    {
      t[2 * i] = _mm256_unpacklo_ps (r[2 * i], r[2 * i + 1]);
      t[2 * i + 1] = _mm256_unpackhi_ps (r[2 * i], r[2 * i + 1]);
    }
  for (int i = 0; i < 2; i++)
    {
      s[4 * i] = _mm256_shuffle_ps (t[4 * i], t[4 * i + 2], 0x44);
      s[4 * i + 1] = _mm256_shuffle_ps (t[4 * i], t[4 * i + 2], 0xee);
      s[4 * i + 2] = _mm256_shuffle_ps (t[4 * i + 1], t[4 * i + 3], 0x44);
      s[4 * i + 3] = _mm256_shuffle_ps (t[4 * i + 1], t[4 * i + 3], 0xee);
    }
  for (int i = 0; i < 4; i++)
    {
      c[i] = _mm256_permute2f128_ps (s[i], s[4 + i], 0x20);
      c[4 + i] = _mm256_permute2f128_ps (s[i], s[4 + i], 0x31);
    }
}

/* gemm_rows for PANELS (a constant once inlined) weight panels: 7 x 3
 * accumulators of 8 lanes.  In 256-bit vectors, since a weight panel's 8
 * rows are 8 floats a K step; AMD's Zen 4 splits a 512-bit FMA into two
 * 256-bit halves anyway, so on it these run at the same flops. */
static inline __attribute__ ((always_inline)) void
rows_tile (int panels, int k, const float *a, gsize lda, const float *b,
           gsize panel_stride, float *c, gboolean accumulate, float *out,
           gsize ldo, int rows_used, int channels_used,
           const ConvnetEpilogue *epilogue)
{
  __m256 acc[CONVNET_ROWS_MR][CONVNET_ROWS_PANELS];

#pragma GCC unroll 8
  for (int r = 0; r < CONVNET_ROWS_MR; r++)
#pragma GCC unroll 4
    for (int v = 0; v < panels; v++)
      acc[r][v] = _mm256_setzero_ps ();

  for (int p = 0; p < k; p++)
    {
      const float *ap = a + (gsize) p * lda;
      __m256 bv[CONVNET_ROWS_PANELS];

#pragma GCC unroll 4
      for (int v = 0; v < panels; v++)
        bv[v] = _mm256_load_ps (b + v * panel_stride + (gsize) p * 8);
#pragma GCC unroll 8
      for (int r = 0; r < CONVNET_ROWS_MR; r++)
        {
          const __m256 ar = _mm256_broadcast_ss (ap + r);
#pragma GCC unroll 4
          for (int v = 0; v < panels; v++)
            acc[r][v] = _mm256_fmadd_ps (ar, bv[v], acc[r][v]);
        }
    }

  if (accumulate)
#pragma GCC unroll 8
    for (int r = 0; r < CONVNET_ROWS_MR; r++)
#pragma GCC unroll 4
      for (int v = 0; v < panels; v++)
        acc[r][v] = _mm256_add_ps (
          acc[r][v], _mm256_loadu_ps (c + r * CONVNET_ROWS_NR + v * 8));
  if (!out)
    {
#pragma GCC unroll 8
      for (int r = 0; r < CONVNET_ROWS_MR; r++)
#pragma GCC unroll 4
        for (int v = 0; v < panels; v++)
          _mm256_storeu_ps (c + r * CONVNET_ROWS_NR + v * 8, acc[r][v]);
      return;
    }

  {
    const __mmask8 pixels = (__mmask8) ((1u << rows_used) - 1);

#pragma GCC unroll 4
    for (int v = 0; v < panels; v++)
      {
        __m256 rows[8], channel[8];

#pragma GCC unroll 8
        for (int r = 0; r < CONVNET_ROWS_MR; r++)
          rows[r] = acc[r][v];
        rows[7] = _mm256_setzero_ps ();
        transpose_8x8 (channel, rows);
#pragma GCC unroll 8
        for (int j = 0; j < 8; j++)
          {
            const int ch = 8 * v + j;
            __m256 x = channel[j];

            if (ch >= channels_used)
              break;
            if (epilogue && epilogue->bias)
              x = _mm256_add_ps (x, _mm256_set1_ps (epilogue->bias[ch]));
            if (epilogue && epilogue->residual)
              x = _mm256_add_ps (
                x, _mm256_maskz_loadu_ps (pixels, epilogue->residual
                                                  + ch * ldo));
            if (epilogue && epilogue->relu)
              x = _mm256_max_ps (x, _mm256_setzero_ps ());
            _mm256_mask_storeu_ps (out + ch * ldo, pixels, x);
          }
      }
  }
}

G_STATIC_ASSERT (CONVNET_ROWS_PANELS == 3 && CONVNET_ROWS_MR == 7 && MR == 8);

static void
gemm_rows_avx512 (int k, const float *a, gsize lda, const float *b,
                  gsize panel_stride, int panels, float *c,
                  gboolean accumulate, float *out, gsize ldo, int rows_used,
                  int channels_used, const ConvnetEpilogue *epilogue)
{
  if (panels >= 3)
    rows_tile (3, k, a, lda, b, panel_stride, c, accumulate, out, ldo,
               rows_used, channels_used, epilogue);
  else if (panels == 2)
    rows_tile (2, k, a, lda, b, panel_stride, c, accumulate, out, ldo,
               rows_used, channels_used, epilogue);
  else
    rows_tile (1, k, a, lda, b, panel_stride, c, accumulate, out, ldo,
               rows_used, channels_used, epilogue);
}

/* Lanes LANES (a run's, inside the image) of V from a run at FROM whose
 * pixels read every other float: two masked loads of the 32 floats the
 * 16 lanes span, the even ones picked out.  Only the floats the lanes
 * read are loaded, so none past the image's end is touched. */
static inline __m512
load_every_other (__m512 v, guint32 lanes, const float *from)
{
  const __m512i evens = _mm512_setr_epi32 (0, 2, 4, 6, 8, 10, 12, 14, 16, 18,
                                           20, 22, 24, 26, 28, 30);
  const __m512 low = _mm512_maskz_loadu_ps (
    (__mmask16) _pdep_u32 (lanes & 0xff, 0x5555), from);
  const __m512 high = _mm512_maskz_loadu_ps (
    (__mmask16) _pdep_u32 (lanes >> 8 & 0xff, 0x5555), from + 16);

  return _mm512_mask_mov_ps (v, (__mmask16) lanes,
                             _mm512_permutex2var_ps (low, evens, high));
}

/* The same for pixels four floats apart (alexnet's stem): four masked
 * loads of the 64 floats the 16 lanes span, every fourth picked out. */
static inline __m512
load_every_fourth (__m512 v, guint32 lanes, const float *from)
{
  const __m512i fourths = _mm512_setr_epi32 (0, 4, 8, 12, 16, 20, 24, 28, 0,
                                             4, 8, 12, 16, 20, 24, 28);
  __m512 quarter[4];

  for (int q = 0; q < 4; q++)
    quarter[q] = _mm512_maskz_loadu_ps (
      (__mmask16) _pdep_u32 (lanes >> 4 * q & 0xf, 0x1111), from + 16 * q);
  /* lanes 0-7 in the low half of the first, 8-15 in that of the second */
  return _mm512_mask_mov_ps (
    v, (__mmask16) lanes,
    _mm512_shuffle_f32x4 (
      _mm512_permutex2var_ps (quarter[0], fourths, quarter[1]),
      _mm512_permutex2var_ps (quarter[2], fourths, quarter[3]), 0x44));
}

/* Each half of a row of 32 pixels is one masked load a run (two at
 * stride 2, four at 4), merged into the same vector: the lanes outside
 * the image or the run are never read (a masked lane cannot fault) and
 * stay zero; other strides read a float at a time. */
static void
unfold_rows_avx512 (float *dst, const float *x,
                    const ConvnetUnfoldWindows *windows, int k0, int kc)
{
  int c = k0 / windows->taps, t = k0 % windows->taps;

  for (int kk = 0; kk < kc; kk++)
    {
      const float *src = x + c * windows->plane + windows->tap_offset[t];
      const guint32 inside = windows->inside[t];
      __m512 v0 = _mm512_setzero_ps (), v1 = _mm512_setzero_ps ();

      convnet_unfold_prefetch (src, windows);
      for (int r = 0; r < windows->runs; r++)
        {
          const guint32 lanes = inside & windows->run_lanes[r];
          const float *from = src + windows->run_start[r];

          if (windows->stride == 1)
            {
              v0 = _mm512_mask_loadu_ps (v0, (__mmask16) lanes, from);
              v1 = _mm512_mask_loadu_ps (v1, (__mmask16) (lanes >> 16),
                                         from + 16);
            }
          else if (windows->stride == 2)
            {
              if (lanes & 0xffff)
                v0 = load_every_other (v0, lanes & 0xffff, from);
              if (lanes >> 16)
                v1 = load_every_other (v1, lanes >> 16, from + 32);
            }
          else if (windows->stride == 4)
            {
              if (lanes & 0xffff)
                v0 = load_every_fourth (v0, lanes & 0xffff, from);
              if (lanes >> 16)
                v1 = load_every_fourth (v1, lanes >> 16, from + 64);
            }
          else
            {
              float lane[NR] __attribute__ ((aligned (64)));

              _mm512_store_ps (lane, v0);
              _mm512_store_ps (lane + 16, v1);
              convnet_unfold_run_by_floats (lane, NR, lanes, from,
                                            windows->stride);
              v0 = _mm512_load_ps (lane);
              v1 = _mm512_load_ps (lane + 16);
            }
        }
      _mm512_store_ps (dst + (gsize) kk * NR, v0);
      _mm512_store_ps (dst + (gsize) kk * NR + 16, v1);
      if (++t == windows->taps)
        {
          t = 0;
          c++;
        }
    }
}

const ConvnetKernels convnet_kernels_avx512 = {
  .isa = "avx512",
  .mr = MR,
  .nr = NR,
  .gemm_tile = gemm_tile_avx512,
  .gemm_rows = gemm_rows_avx512,
  .streamed_stores = TRUE,
  .fc_rows = convnet_fc_rows_avx512,
  .fc_rows_half = convnet_fc_rows_half_avx512,
  .to_half = convnet_to_half_avx512,
  .maxpool_plane = convnet_maxpool_plane_avx512,
  .maxpool_same3 = convnet_maxpool_same3_avx512,
  .maxpool_stride2 = convnet_maxpool_stride2_avx512,
  .unfold_rows = unfold_rows_avx512,
};
