/* bench_fill.h: what the single-file benchmarks (conv_layers.c,
 * pixel_rows.c) fill their inputs and weights with: floats uniform in
 * [-1, 1) from a fixed seed, so that every run times the same numbers. */
#ifndef CONVNET_BENCH_FILL_H
#define CONVNET_BENCH_FILL_H

#include <glib.h>

static inline void
bench_fill (float *x, gsize n, guint32 seed)
{
  GRand *rand = g_rand_new_with_seed (seed);

  for (gsize i = 0; i < n; i++)
    x[i] = (float) g_rand_double_range (rand, -1.0, 1.0);
  g_rand_free (rand);
}

#endif
