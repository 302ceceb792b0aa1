/* gemm_generic.c: the portable 4 x 16 SGEMM micro-kernel in plain C, for
 * CPUs without AVX2 (the compiler vectorises it for the baseline ISA). */
#include "kernels.h"

#define MR 4
#define NR 16

static void
gemm_tile_generic (int k, const float *a, const float *b, float *c,
                   gsize ldc, int mr_used, int nr_used, gboolean accumulate,
                   const ConvnetEpilogue *epilogue)
{
  float acc[MR][NR] = { { 0 } };

  for (int p = 0; p < k; p++)
    for (int r = 0; r < MR; r++)
      {
        const float ar = a[(gsize) p * MR + r];
        for (int j = 0; j < NR; j++)
          acc[r][j] += ar * b[(gsize) p * NR + j];
      }

  for (int r = 0; r < mr_used; r++)
    {
      float *row = c + (gsize) r * ldc;
      const float *res = epilogue && epilogue->residual
                         ? epilogue->residual
                           + (gsize) r * epilogue->residual_stride
                         : NULL;

      for (int j = 0; j < nr_used; j++)
        {
          float v = acc[r][j] + (accumulate ? row[j] : 0.0f);
          if (epilogue)
            {
              if (epilogue->bias)
                v += epilogue->bias[r];
              if (res)
                v += res[j];
              if (epilogue->relu)
                v = v > 0.0f || v != v ? v : 0.0f;
            }
          row[j] = v;
        }
    }
}

/* Reads each run one float at a time: the portable path. */
static void
unfold_rows_generic (float *dst, const float *x,
                     const ConvnetUnfoldWindows *windows, int k0, int kc)
{
  int c = k0 / windows->taps, t = k0 % windows->taps;

  for (int kk = 0; kk < kc; kk++)
    {
      const float *src = x + c * windows->plane + windows->tap_offset[t];
      float *row = dst + (gsize) kk * NR;

      for (int j = 0; j < NR; j++)
        row[j] = 0.0f;
      for (int r = 0; r < windows->runs; r++)
        {
          convnet_unfold_run_by_floats (row, NR,
                                        windows->inside[t]
                                        & windows->run_lanes[r],
                                        src + windows->run_start[r],
                                        windows->stride);
        }
      if (++t == windows->taps)
        {
          t = 0;
          c++;
        }
    }
}

const ConvnetKernels convnet_kernels_generic = {
  .isa = "generic",
  .mr = MR,
  .nr = NR,
  .gemm_tile = gemm_tile_generic,
  .fc_rows = convnet_fc_rows_generic,
  .fc_rows_half = convnet_fc_rows_half_generic,
  .to_half = convnet_to_half_generic,
  .maxpool_plane = convnet_maxpool_plane_generic,
  .unfold_rows = unfold_rows_generic,
};
