/* gemm_avx2.c: the 6 x 16 SGEMM micro-kernel for AVX2 + FMA (built with
 * -mavx2 -mfma; reached only through convnet_kernels() after the CPU was
 * checked).  Six rows of A broadcast against two vectors of B make 12
 * accumulators of the 16 ymm registers. */
#include "kernels.h"

#include <immintrin.h>

#define MR 6
#define NR 16

/* A load/store mask of the first LANES of 8 lanes. */
static inline __m256i
lane_mask (int lanes)
{
  const __m256i index = _mm256_setr_epi32 (0, 1, 2, 3, 4, 5, 6, 7);

  return _mm256_cmpgt_epi32 (_mm256_set1_epi32 (lanes), index);
}

static void
gemm_tile_avx2 (int k, const float *a, const float *b, float *c, gsize ldc,
                int mr_used, int nr_used, gboolean accumulate,
                const ConvnetEpilogue *epilogue)
{
  __m256 acc[MR][2];
  const __m256i mask0 = lane_mask (nr_used), mask1 = lane_mask (nr_used - 8);

#pragma GCC unroll 6
  for (int r = 0; r < MR; r++)
    acc[r][0] = acc[r][1] = _mm256_setzero_ps ();

  for (int p = 0; p < k; p++)
    {
      const __m256 b0 = _mm256_load_ps (b + (gsize) p * NR);
      const __m256 b1 = _mm256_load_ps (b + (gsize) p * NR + 8);
      const float *ap = a + (gsize) p * MR;
#pragma GCC unroll 6
      for (int r = 0; r < MR; r++)
        {
          const __m256 ar = _mm256_broadcast_ss (ap + r);
          acc[r][0] = _mm256_fmadd_ps (ar, b0, acc[r][0]);
          acc[r][1] = _mm256_fmadd_ps (ar, b1, acc[r][1]);
        }
    }

#pragma GCC unroll 6
  for (int r = 0; r < MR; r++)
    {
      float *row = c + (gsize) r * ldc;
      __m256 v0 = acc[r][0], v1 = acc[r][1];

      if (r >= mr_used)
        break;
      if (accumulate)
        {
          v0 = _mm256_add_ps (v0, _mm256_maskload_ps (row, mask0));
          v1 = _mm256_add_ps (v1, _mm256_maskload_ps (row + 8, mask1));
        }
      if (epilogue)
        {
          if (epilogue->bias)
            {
              const __m256 bias = _mm256_set1_ps (epilogue->bias[r]);
              v0 = _mm256_add_ps (v0, bias);
              v1 = _mm256_add_ps (v1, bias);
            }
          if (epilogue->residual)
            {
              const float *res = epilogue->residual
                                 + (gsize) r * epilogue->residual_stride;
              v0 = _mm256_add_ps (v0, _mm256_maskload_ps (res, mask0));
              v1 = _mm256_add_ps (v1, _mm256_maskload_ps (res + 8, mask1));
            }
          if (epilogue->relu)
            {
              v0 = _mm256_max_ps (_mm256_setzero_ps (), v0);
              v1 = _mm256_max_ps (_mm256_setzero_ps (), v1);
            }
        }
      _mm256_maskstore_ps (row, mask0, v0);
      _mm256_maskstore_ps (row + 8, mask1, v1);
    }
}

/* A mask of the lanes of 8 whose bit in LANES is set; BIT holds each
 * lane's bit (a bit LANES never has makes a lane always off). */
static inline __m256
lanes_of (guint32 lanes, __m256i bit)
{
  return _mm256_castsi256_ps (_mm256_cmpeq_epi32 (
    _mm256_and_si256 (_mm256_set1_epi32 ((int) lanes), bit), bit));
}

/* Lanes LANES (8 bits, a run's, inside the image) of 8 from a run at FROM
 * whose pixels read every other float: two masked loads of the 16 floats
 * they span, the even ones picked out (the others are zero). */
static inline __m256
load_every_other (guint32 lanes, const float *from)
{
  /* source float i of each load belongs to lane i / 2 (of the load's 4)
   * when i is even; bit 8 is never in LANES */
  const __m256i low_bit = _mm256_setr_epi32 (1, 256, 2, 256, 4, 256, 8, 256);
  const __m256i high_bit = _mm256_setr_epi32 (16, 256, 32, 256, 64, 256,
                                              128, 256);
  const __m256 low = _mm256_maskload_ps (
    from, _mm256_castps_si256 (lanes_of (lanes, low_bit)));
  const __m256 high = _mm256_maskload_ps (
    from + 8, _mm256_castps_si256 (lanes_of (lanes, high_bit)));
  /* a0 a2 h0 h2 | a4 a6 h4 h6, then the middle 64-bit pairs swapped */
  const __m256 evens = _mm256_shuffle_ps (low, high, 0x88);

  return _mm256_castpd_ps (_mm256_permute4x64_pd (_mm256_castps_pd (evens),
                                                  0xd8));
}

/* Each half of a row of 16 pixels is one masked load a run (two at
 * stride 2), the runs' lanes put together with an OR (a masked lane reads
 * as zero and cannot fault); other strides read a float at a time. */
static void
unfold_rows_avx2 (float *dst, const float *x,
                  const ConvnetUnfoldWindows *windows, int k0, int kc)
{
  const __m256i bit = _mm256_setr_epi32 (1, 2, 4, 8, 16, 32, 64, 128);
  int c = k0 / windows->taps, t = k0 % windows->taps;

  for (int kk = 0; kk < kc; kk++)
    {
      const float *src = x + c * windows->plane + windows->tap_offset[t];
      const guint32 inside = windows->inside[t];
      __m256 v0 = _mm256_setzero_ps (), v1 = _mm256_setzero_ps ();

      convnet_unfold_prefetch (src, windows);
      for (int r = 0; r < windows->runs; r++)
        {
          const guint32 lanes = inside & windows->run_lanes[r];
          const float *from = src + windows->run_start[r];

          if (windows->stride == 1)
            {
              v0 = _mm256_or_ps (v0, _mm256_maskload_ps (
                from, _mm256_castps_si256 (lanes_of (lanes & 0xff, bit))));
              v1 = _mm256_or_ps (v1, _mm256_maskload_ps (
                from + 8,
                _mm256_castps_si256 (lanes_of (lanes >> 8 & 0xff, bit))));
            }
          else if (windows->stride == 2)
            {
              v0 = _mm256_or_ps (v0, load_every_other (lanes & 0xff, from));
              v1 = _mm256_or_ps (v1, load_every_other (lanes >> 8 & 0xff,
                                                       from + 16));
            }
          else
            {
              float lane[NR] __attribute__ ((aligned (32)));

              _mm256_store_ps (lane, v0);
              _mm256_store_ps (lane + 8, v1);
              convnet_unfold_run_by_floats (lane, NR, lanes, from,
                                            windows->stride);
              v0 = _mm256_load_ps (lane);
              v1 = _mm256_load_ps (lane + 8);
            }
        }
      _mm256_store_ps (dst + (gsize) kk * NR, v0);
      _mm256_store_ps (dst + (gsize) kk * NR + 8, v1);
      if (++t == windows->taps)
        {
          t = 0;
          c++;
        }
    }
}

const ConvnetKernels convnet_kernels_avx2 = {
  .isa = "avx2",
  .mr = MR,
  .nr = NR,
  .gemm_tile = gemm_tile_avx2,
  .fc_rows = convnet_fc_rows_avx2,
  .fc_rows_half = convnet_fc_rows_half_avx2,
  .to_half = convnet_to_half_avx2,
  .maxpool_plane = convnet_maxpool_plane_avx2,
  .unfold_rows = unfold_rows_avx2,
};
