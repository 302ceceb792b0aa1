/* test_winograd.c: Winograd convolution, F(2x2,3x3), F(4x4,3x3) and
 * F(2x2,5x5), on
 * every instruction set this machine runs and on one and two threads,
 * against a direct convolution written out below in double precision (the
 * definition, independent of the transforms and the kernels), on the
 * sizes that break tiled code: 1x1 and 2x2 images, images that end in
 * partial tiles, channel counts that are no multiple of the tile or
 * vector width, K deeper than one K block, more output channels than one
 * block, padding 0, 1 and 2, batches; in both orders of the work. */
#include "convnet.h"
#include "kernels/conv_winograd.h"
#include "kernels/kernels.h"

#include "kernel_reference.h"

#include <math.h>
#include <string.h>

typedef struct
{
  int c_in, h, w, c_out, pad, batch, k;
} ConvCase;

static const ConvCase cases[] = {
  { 3, 1, 1, 5, 1, 1, 3 },        /* a 1x1 image: one tile, mostly padding */
  { 2, 2, 2, 3, 1, 2, 3 },        /* 2x2 */
  { 3, 3, 3, 17, 0, 1, 3 },       /* no padding: a 1x1 output */
  { 17, 5, 7, 3, 1, 3, 3 },       /* partial tiles at the right and bottom */
  { 17, 5, 7, 9, 0, 1, 3 },       /* partial tiles, no padding */
  { 300, 6, 5, 17, 1, 1, 3 },     /* c_in over one K block */
  { 8, 13, 11, 20, 1, 3, 3 },     /* tiles of three samples in one panel */
  { 4, 9, 9, 6, 2, 1, 3 },        /* padding 2 */
  { 5, 6, 6, 130, 1, 1, 3 },      /* output channels over one block */
  { 64, 28, 28, 64, 1, 2, 3 },    /* many tile panels */
  /* 5x5 */
  { 3, 1, 1, 4, 2, 1, 5 },        /* a 1x1 image under a 5x5 kernel */
  { 5, 5, 5, 3, 0, 2, 5 },        /* no padding: a 1x1 output */
  { 9, 7, 9, 11, 2, 3, 5 },       /* odd sizes, partial tiles, batch 3 */
  { 4, 6, 6, 5, 3, 1, 5 },        /* padding 3, larger than half the kernel */
  { 300, 8, 7, 17, 2, 1, 5 },     /* c_in over one K block */
  { 24, 27, 27, 40, 2, 1, 5 },    /* alexnet's second layer's map, narrower */
};

/* Both orders of the work (conv_winograd.h), whatever the size picks,
 * each with the tiles in the micro-kernel's lanes and, where the kernels
 * have gemm_rows, in its rows; groups of one tile panel make the last
 * case's panels several groups.  The first is what the size picks, run
 * on every variant. */
static const struct
{
  ConvnetWinogradOrder order;
  int                  group_panels;
  ConvnetPixelOrder    tiles;
  const char          *name;
} orders[] = {
  { CONVNET_WINOGRAD_ORDER_AUTO, 0, CONVNET_PIXELS_AUTO, "auto" },
  { CONVNET_WINOGRAD_ORDER_TILES, 0, CONVNET_PIXELS_IN_LANES, "tiles" },
  { CONVNET_WINOGRAD_ORDER_WEIGHTS, 0, CONVNET_PIXELS_IN_LANES, "weights" },
  { CONVNET_WINOGRAD_ORDER_WEIGHTS, 1, CONVNET_PIXELS_IN_LANES,
    "weights, groups of 1" },
  { CONVNET_WINOGRAD_ORDER_TILES, 0, CONVNET_PIXELS_IN_ROWS, "tiles, rows" },
  { CONVNET_WINOGRAD_ORDER_WEIGHTS, 0, CONVNET_PIXELS_IN_ROWS,
    "weights, rows" },
  { CONVNET_WINOGRAD_ORDER_WEIGHTS, 1, CONVNET_PIXELS_IN_ROWS,
    "weights, groups of 1, rows" },
};

static ConvGeometry
geometry (const ConvCase *c)
{
  ConvGeometry geo = {
    .c_in = c->c_in, .h_in = c->h, .w_in = c->w, .c_out = c->c_out,
    .kh = c->k, .kw = c->k, .sh = 1, .sw = 1, .ph = c->pad, .pw = c->pad,
    .dh = 1, .dw = 1, .groups = 1,
  };
  geo.h_out = c->h + 2 * c->pad - (c->k - 1);
  geo.w_out = c->w + 2 * c->pad - (c->k - 1);
  return geo;
}

/* Runs every case with bias, folded scale and shift, residual and ReLU
 * switched on in turn, then with all of them into a wider tensor
 * (kernel_reference.h), through every tile size of its kernel on KERNELS,
 * one and two threads, and compares with the direct convolution: within
 * 1e-5 of the largest absolute value for F(2,3), 1e-4 for F(4,3) and
 * F(2,5), whose transforms multiply by up to 8 and lose more of the
 * float's precision.  The wider tensor's other channels must keep their
 * bytes. */
static void
check_kernels (const ConvnetKernels *kernels)
{
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    for (int variant = 0; variant < REFERENCE_VARIANTS; variant++)
      {
        const ConvCase *c = &cases[i];
        const ConvGeometry geo = geometry (c);
        ReferenceRun run;

        reference_run_init (&run, &geo, c->batch, variant, i);
        for (int tile = 2; tile <= (c->k == 3 ? 4 : 2); tile += 2)
          for (int threads = 1; threads <= 2; threads++)
            /* the forced orders move tiles and channels between work
             * items, not the epilogue: they run on the variant with all of
             * it (valgrind's pass took 156 s with every variant) */
            for (guint order = 0;
                 order < (variant == 3 ? G_N_ELEMENTS (orders) : 1); order++)
            {
              const double tolerance = (tile == 2 && c->k == 3 ? 1e-5 : 1e-4)
                                       * MAX (run.largest, 1.0);
              char *what = g_strdup_printf (
                "%s, F(%d,%d), %d threads, %s, case %u variant %d",
                kernels->isa, tile, c->k, threads, orders[order].name, i,
                variant);
              ConvnetWinogradConv *wc;
              double worst;

              if (orders[order].tiles == CONVNET_PIXELS_IN_ROWS
                  && !kernels->gemm_rows)
                {
                  g_free (what);
                  continue;
                }
              convnet_parallel_set_threads (threads);
              wc = convnet_winograd_conv_new (kernels, &geo, run.w,
                                              run.with_bias ? run.bias : NULL,
                                              run.with_bn ? run.scale : NULL,
                                              run.with_bn ? run.shift : NULL,
                                              run.relu, tile);
              g_assert_nonnull (wc);
              convnet_winograd_conv_set_order (wc, orders[order].order,
                                               orders[order].group_panels);
              convnet_winograd_conv_set_pixels (wc, orders[order].tiles);
              g_assert_true (convnet_winograd_conv_tile_rows (wc, c->batch)
                             == (orders[order].tiles == CONVNET_PIXELS_IN_ROWS)
                             || orders[order].tiles == CONVNET_PIXELS_AUTO);
              g_assert_cmpuint (convnet_winograd_conv_bytes (wc), >=,
                                (gsize) (tile + c->k - 1) * (tile + c->k - 1)
                                * c->c_in * c->c_out * sizeof (float));
              reference_run_reset (&run);
              convnet_winograd_conv_forward (
                wc, run.out + run.first, run.in,
                run.residual ? run.residual + run.first : NULL, c->batch,
                run.out_sample);
              worst = reference_run_worst (&run, what);
              if (worst > tolerance)
                g_error ("%s: worst error %g (largest %g)", what, worst,
                         run.largest);
              convnet_winograd_conv_free (wc);
              g_free (what);
            }
        reference_run_clear (&run);
      }
}

static void
test_winograd_isa (gconstpointer isa)
{
  const ConvnetKernels *kernels = convnet_kernels_for (isa);

  if (!kernels)
    {
      g_test_skip ("this CPU or build lacks the instruction set");
      return;
    }
  g_assert_cmpstr (kernels->isa, ==, isa);
  check_kernels (kernels);
}

/* Winograd takes 3x3 and 5x5 stride-1 undilated ungrouped convolutions
 * only, tiles of 2 or 4 for 3x3 and of 2 for 5x5; everything else is
 * refused, not computed wrongly. */
static void
test_winograd_refuses (void)
{
  const ConvnetKernels *kernels = convnet_kernels ();
  const ConvCase c = { 4, 8, 8, 4, 1, 1, 3 };
  const ConvGeometry ok = geometry (&c);
  float w[4 * 4 * 25] = { 0 };
  ConvGeometry geo;
  ConvnetWinogradConv *wc;

  g_assert_true (convnet_winograd_applies (&ok));
  geo = ok; geo.ph = geo.pw = 0; geo.h_out = geo.w_out = 6;
  g_assert_true (convnet_winograd_applies (&geo));
  wc = convnet_winograd_conv_new (kernels, &ok, w, NULL, NULL, NULL, FALSE, 4);
  g_assert_nonnull (wc);
  convnet_winograd_conv_free (wc);

  g_assert_null (convnet_winograd_conv_new (kernels, &ok, w, NULL, NULL, NULL,
                                            FALSE, 3));
  g_assert_null (convnet_winograd_conv_new (kernels, &ok, w, NULL, NULL, NULL,
                                            FALSE, 6));
  geo = ok; geo.sh = geo.sw = 2; geo.h_out = geo.w_out = 4;
  g_assert_false (convnet_winograd_applies (&geo));
  g_assert_null (convnet_winograd_conv_new (kernels, &geo, w, NULL, NULL,
                                            NULL, FALSE, 2));
  /* 5x5 takes F(2x2,5x5) only */
  geo = ok; geo.kh = geo.kw = 5; geo.ph = geo.pw = 2;
  g_assert_true (convnet_winograd_applies (&geo));
  g_assert_null (convnet_winograd_conv_new (kernels, &geo, w, NULL, NULL,
                                            NULL, FALSE, 4));
  wc = convnet_winograd_conv_new (kernels, &geo, w, NULL, NULL, NULL, FALSE,
                                  2);
  g_assert_nonnull (wc);
  convnet_winograd_conv_free (wc);
  geo = ok; geo.kh = geo.kw = 7; geo.ph = geo.pw = 3;
  g_assert_false (convnet_winograd_applies (&geo));
  geo = ok; geo.kh = 5; geo.ph = 2;
  g_assert_false (convnet_winograd_applies (&geo));
  geo = ok; geo.kw = 1; geo.pw = 0;
  g_assert_false (convnet_winograd_applies (&geo));
  geo = ok; geo.dh = geo.dw = 2; geo.ph = geo.pw = 2;
  g_assert_false (convnet_winograd_applies (&geo));
  geo = ok; geo.groups = 2;
  g_assert_false (convnet_winograd_applies (&geo));
  geo = ok; geo.h_out = 9;   /* not the size the padding gives */
  g_assert_false (convnet_winograd_applies (&geo));
}

/* A layer and tile size, and what a forward of it should pick by itself. */
typedef struct
{
  ConvCase c;
  int      tile;
  gboolean picked;
} PickCase;

/* PICK's layer on KERNELS, with weights of zero: only its choices are
 * looked at. */
static ConvnetWinogradConv *
pick_conv (const ConvnetKernels *kernels, const PickCase *pick)
{
  const ConvCase *c = &pick->c;
  const ConvGeometry geo = geometry (c);
  float *w = g_new0 (float, (gsize) c->c_out * c->c_in * c->k * c->k);
  ConvnetWinogradConv *wc = convnet_winograd_conv_new (
    kernels, &geo, w, NULL, NULL, NULL, FALSE, pick->tile);

  g_free (w);
  g_assert_nonnull (wc);
  return wc;
}

/* Which order of the tiles a forward picks by itself: rows where they
 * compute 15 % fewer lanes than panels of 32, for 96 output channels or
 * more; never on a table without gemm_rows. */
static void
test_winograd_tile_order_picked (void)
{
  static const PickCase picks[] = {
    { { 256, 14, 14, 256, 1, 1, 3 }, 2, TRUE },  /* 49 tiles: 64 lanes */
    { { 256, 14, 14, 256, 1, 2, 3 }, 2, TRUE },  /* 98: 128 lanes */
    { { 128, 28, 28, 128, 1, 1, 3 }, 2, FALSE }, /* 196: 224, 87.5 % used */
    { { 64, 14, 14, 64, 1, 1, 3 }, 2, FALSE },   /* too few channels */
    { { 256, 16, 16, 256, 1, 1, 3 }, 2, FALSE }, /* 64: whole panels */
  };
  static const char *const isas[] = { "generic", "avx2", "avx512" };

  for (guint t = 0; t < G_N_ELEMENTS (isas); t++)
    {
      const ConvnetKernels *kernels = convnet_kernels_for (isas[t]);

      for (guint i = 0; kernels && i < G_N_ELEMENTS (picks); i++)
        {
          ConvnetWinogradConv *wc = pick_conv (kernels, &picks[i]);
          const int batch = picks[i].c.batch;

          if (convnet_winograd_conv_tile_rows (wc, batch)
              != (picks[i].picked && kernels->gemm_rows != NULL))
            g_error ("%s, pick %u: rows %d", kernels->isa, i,
                     convnet_winograd_conv_tile_rows (wc, batch));
          convnet_winograd_conv_free (wc);
        }
    }
}

/* Which variant a layer takes by itself (convnet_winograd_variant's
 * rules, as bench/winograd_variants.c measured them). */
static void
test_winograd_variant_picked (void)
{
  static const struct
  {
    ConvCase c;   /* the batch is the plan's */
    int      variant;
  } picks[] = {
    { { 64, 56, 56, 64, 1, 1, 3 }, 4 },
    { { 128, 28, 28, 128, 1, 1, 3 }, 4 },  /* sides multiples of 4 */
    { { 128, 28, 28, 192, 1, 3, 3 }, 4 },
    { { 256, 14, 14, 256, 1, 1, 3 }, 2 },  /* 14x14: F(4,3) wastes */
    { { 256, 13, 13, 256, 1, 1, 3 }, 2 },
    { { 256, 14, 14, 256, 1, 8, 3 }, 4 },  /* batch 8: F(4,3) */
    { { 16, 14, 14, 48, 1, 1, 3 }, 0 },    /* under 32 input channels */
    { { 24, 14, 14, 64, 1, 3, 3 }, 0 },
    { { 16, 14, 14, 48, 1, 4, 3 }, 4 },    /* but not at batch 4 */
    { { 32, 14, 14, 64, 1, 1, 3 }, 2 },
    { { 4, 28, 28, 64, 1, 8, 3 }, 0 },     /* under 8, at any batch */
    { { 192, 7, 7, 384, 1, 1, 3 }, 0 },    /* 7x7 at batch 1 */
    { { 192, 7, 7, 384, 1, 2, 3 }, 2 },    /* but F(2,3) at 2 and 3 */
    { { 512, 7, 7, 512, 1, 3, 3 }, 2 },
    { { 512, 4, 4, 512, 1, 2, 3 }, 0 },    /* a 4x4 map: packed */
    { { 512, 7, 7, 512, 1, 8, 3 }, 2 },    /* the widest take F(2,3) */
    { { 512, 28, 28, 512, 1, 8, 3 }, 2 },
    { { 64, 27, 27, 192, 2, 1, 5 }, 2 },   /* 5x5: F(2,5) */
  };

  for (guint i = 0; i < G_N_ELEMENTS (picks); i++)
    {
      const ConvGeometry geo = geometry (&picks[i].c);
      const int variant = convnet_winograd_variant (&geo, picks[i].c.batch);

      if (variant != picks[i].variant)
        g_error ("pick %u: variant %d, not %d", i, variant,
                 picks[i].variant);
    }
  {
    ConvGeometry geo = geometry (&picks[0].c);

    geo.sh = geo.sw = 2;   /* Winograd here is stride 1 only */
    g_assert_cmpint (convnet_winograd_variant (&geo, 8), ==, 0);
  }
}

/* Which order of the work a forward picks by itself on two threads, on
 * AVX-512's panels: the weights' where U is 12 MB, where it is 4 MB over
 * fewer than 8 tile panels, and over fewer than 4 panels whatever its
 * size. */
static void
test_winograd_weight_order_picked (void)
{
  static const PickCase picks[] = {
    { { 256, 14, 14, 256, 1, 1, 3 }, 2, TRUE },  /* 49 tiles: 2 panels */
    { { 128, 28, 28, 128, 1, 1, 3 }, 4, TRUE },  /* 49 tiles in rows */
    { { 128, 28, 28, 128, 1, 1, 3 }, 2, FALSE }, /* 196 tiles: 7 panels */
    { { 64, 56, 56, 64, 1, 1, 3 }, 4, FALSE },   /* 196 tiles */
    { { 128, 28, 28, 128, 1, 8, 3 }, 2, FALSE }, /* 49 panels */
    { { 128, 28, 28, 256, 1, 1, 3 }, 2, FALSE }, /* 2 MB, 7 panels */
    { { 256, 28, 28, 512, 1, 1, 3 }, 2, TRUE },  /* 8 MB, 7 panels */
    { { 512, 14, 14, 512, 1, 8, 3 }, 2, TRUE },  /* U 16.8 MB */
    { { 256, 14, 14, 256, 1, 2, 3 }, 4, TRUE },  /* 4 MB, 3 panels */
  };
  const ConvnetKernels *kernels = convnet_kernels_for ("avx512");

  if (!kernels)
    {
      g_test_skip ("no AVX-512 here");
      return;
    }
  for (guint i = 0; i < G_N_ELEMENTS (picks); i++)
    {
      ConvnetWinogradConv *wc = pick_conv (kernels, &picks[i]);

      if (convnet_winograd_conv_weight_order (wc, picks[i].c.batch, 2)
          != picks[i].picked)
        g_error ("pick %u: weights' order %d", i, !picks[i].picked);
      convnet_winograd_conv_free (wc);
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_data_func ("/winograd/generic", "generic", test_winograd_isa);
  g_test_add_data_func ("/winograd/avx2", "avx2", test_winograd_isa);
  g_test_add_data_func ("/winograd/avx512", "avx512", test_winograd_isa);
  g_test_add_func ("/winograd/refuses", test_winograd_refuses);
  g_test_add_func ("/winograd/tile-order-picked",
                   test_winograd_tile_order_picked);
  g_test_add_func ("/winograd/variant-picked", test_winograd_variant_picked);
  g_test_add_func ("/winograd/weight-order-picked",
                   test_winograd_weight_order_picked);
  return g_test_run ();
}
