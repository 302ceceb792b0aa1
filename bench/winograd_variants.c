/* winograd_variants.c: the 3x3 stride-1 layers of resnet, googlenet and
 * alexnet, each run as the packed product and as Winograd F(2x2,3x3) and
 * F(4x4,3x3), Winograd in the order it picks, in the tiles' order and in
 * the weights' order (conv_winograd.h), all seven one after the other in
 * each round so that the host's speed, which drifts over minutes, weighs
 * on all alike; prints the fastest of ROUNDS rounds of each and what
 * convnet_winograd_variant picks.  It measured that function's rules and
 * weight_major's in conv_winograd.c.
 *
 * Build (after meson compile -C BUILD), from the source root:
 *   cc -O2 -Iengine bench/winograd_variants.c BUILD/engine/libconvnet.a \
 *      $(pkg-config --cflags --libs glib-2.0 gio-2.0 gdk-pixbuf-2.0 \
 *        json-glib-1.0 openblas) -lm -o /tmp/winograd_variants
 * Run: /tmp/winograd_variants [BATCH [ROUNDS]]  (batch 1, 40 rounds) */
#include "kernels/conv_gemm.h"
#include "kernels/conv_winograd.h"
#include "kernels/kernels.h"

#include "bench_fill.h"

#include <stdio.h>
#include <stdlib.h>

typedef struct
{
  int c_in, c_out, size;
} Layer;

static const Layer layers[] = {
  { 64, 64, 56 }, { 128, 128, 28 }, { 256, 256, 14 }, { 512, 512, 7 },
  { 64, 192, 56 }, { 96, 128, 28 }, { 128, 192, 28 }, { 16, 32, 28 },
  { 32, 96, 28 }, { 96, 208, 14 }, { 16, 48, 14 }, { 112, 224, 14 },
  { 24, 64, 14 }, { 128, 256, 14 }, { 144, 288, 14 }, { 32, 64, 14 },
  { 160, 320, 14 }, { 32, 128, 14 }, { 160, 320, 7 }, { 192, 384, 7 },
  { 48, 128, 7 },
  { 192, 384, 13 }, { 384, 256, 13 }, { 256, 256, 13 },
};

#define WAYS 7

static const char *const way_names[WAYS] = {
  "packed", "F(2,3)", "F(2,3) tiles", "F(2,3) weights",
  "F(4,3)", "F(4,3) tiles", "F(4,3) weights",
};

int
main (int argc, char **argv)
{
  const ConvnetKernels *kernels = convnet_kernels ();
  const int batch = argc > 1 ? MAX (atoi (argv[1]), 1) : 1;
  const int rounds = argc > 2 ? MAX (atoi (argv[2]), 1) : 40;

  printf ("isa %s, %d threads, batch %d, fastest of %d rounds, ms\n\n",
          kernels->isa, convnet_parallel_threads (), batch, rounds);
  printf ("| layer |");
  for (int w = 0; w < WAYS; w++)
    printf (" %s |", way_names[w]);
  printf (" picked |\n|---|");
  for (int w = 0; w < WAYS; w++)
    printf ("---:|");
  printf ("---|\n");
  for (guint i = 0; i < G_N_ELEMENTS (layers); i++)
    {
      const Layer *l = &layers[i];
      const ConvGeometry geo = {
        .c_in = l->c_in, .h_in = l->size, .w_in = l->size,
        .c_out = l->c_out, .h_out = l->size, .w_out = l->size,
        .kh = 3, .kw = 3, .sh = 1, .sw = 1, .ph = 1, .pw = 1,
        .dh = 1, .dw = 1, .groups = 1,
      };
      const gsize n_in = (gsize) batch * l->c_in * l->size * l->size;
      const gsize n_out = (gsize) batch * l->c_out * l->size * l->size;
      const gsize n_w = (gsize) l->c_out * l->c_in * 9;
      float *in = g_new (float, n_in), *w = g_new (float, n_w);
      float *bias = g_new (float, l->c_out), *out = g_new (float, n_out);
      ConvnetPackedConv *pc;
      ConvnetWinogradConv *f2, *f4;
      double best[WAYS];
      const int picked = convnet_winograd_variant (&geo, batch);

      bench_fill (in, n_in, 1);
      bench_fill (w, n_w, 2);
      bench_fill (bias, l->c_out, 3);
      pc = convnet_packed_conv_new (kernels, &geo, w, bias, NULL, NULL, TRUE);
      f2 = convnet_winograd_conv_new (kernels, &geo, w, bias, NULL, NULL,
                                      TRUE, 2);
      f4 = convnet_winograd_conv_new (kernels, &geo, w, bias, NULL, NULL,
                                      TRUE, 4);
      for (int way = 0; way < WAYS; way++)
        best[way] = G_MAXDOUBLE;
      for (int r = 0; r < rounds; r++)
        for (int way = 0; way < WAYS; way++)
          {
            ConvnetWinogradConv *wc = way == 0 ? NULL : way < 4 ? f2 : f4;
            gint64 start;

            /* ways 1-3 and 4-6: the order picked, the tiles', the
             * weights' (ConvnetWinogradOrder's values in turn) */
            if (wc)
              convnet_winograd_conv_set_order (wc, (way - 1) % 3, 0);
            start = g_get_monotonic_time ();
            if (wc)
              convnet_winograd_conv_forward (wc, out, in, NULL, batch, 0);
            else
              convnet_packed_conv_forward (pc, out, in, NULL, batch, 0);
            best[way] = MIN (best[way],
                             (g_get_monotonic_time () - start) / 1e3);
          }
      printf ("| %d -> %d, %dx%d |", l->c_in, l->c_out, l->size, l->size);
      for (int way = 0; way < WAYS; way++)
        printf (" %.3f |", best[way]);
      if (picked)
        {
          ConvnetWinogradConv *wc = picked == 2 ? f2 : f4;

          convnet_winograd_conv_set_order (wc, CONVNET_WINOGRAD_ORDER_AUTO, 0);
          printf (" F(%d,3), %s order |\n", picked,
                  convnet_winograd_conv_weight_order (
                    wc, batch, convnet_parallel_threads ())
                  ? "weights'" : "tiles'");
        }
      else
        printf (" packed |\n");
      convnet_packed_conv_free (pc);
      convnet_winograd_conv_free (f2);
      convnet_winograd_conv_free (f4);
      g_free (in);
      g_free (w);
      g_free (bias);
      g_free (out);
    }
  return 0;
}
