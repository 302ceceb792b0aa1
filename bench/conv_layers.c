/* conv_layers.c: one 3x3 stride-1 convolution layer at a time, the
 * engine's packed GEMM (conv_gemm) beside Winograd F(2x2,3x3) and
 * F(4x4,3x3) (conv_winograd), on resnet18's four 3x3 sizes at batch 1
 * and 8; prints milliseconds (the fastest of REPEATS runs: the machine is
 * shared, and interference only ever adds time), effective GFLOP/s (a direct
 * convolution's 2 c_in c_out 9 h w flops over the time) and Winograd's
 * largest difference from the packed GEMM relative to its largest value.
 *
 * Build (after meson compile -C BUILD), from the source root:
 *   cc -O2 -Iengine bench/conv_layers.c BUILD/engine/libconvnet.a \
 *      $(pkg-config --cflags --libs glib-2.0 gio-2.0 gdk-pixbuf-2.0 \
 *        json-glib-1.0 openblas) -lm -o /tmp/conv_layers
 * Run: /tmp/conv_layers [REPEATS]  (CONVNET_ISA and the thread count as
 * the engine takes them; CONVNET_THREADS=N sets the pool's threads;
 * WINOGRAD_ORDER=tiles or weights runs Winograd in that order of its work
 * instead of the one it picks, conv_winograd.h). */
#include "kernels/conv_gemm.h"
#include "kernels/conv_winograd.h"
#include "kernels/kernels.h"

#include "bench_fill.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct
{
  int channels, size;
} Layer;

static const Layer layers[] = {
  { 64, 56 }, { 128, 28 }, { 256, 14 }, { 512, 7 },
};

static int
compare_doubles (const void *a, const void *b)
{
  const double x = *(const double *) a, y = *(const double *) b;
  return (x > y) - (x < y);
}

typedef void (*ForwardFunc) (gconstpointer conv, float *out, const float *in,
                             int batch);

static void
packed_forward (gconstpointer conv, float *out, const float *in, int batch)
{
  convnet_packed_conv_forward (conv, out, in, NULL, batch, 0);
}

static void
winograd_forward (gconstpointer conv, float *out, const float *in, int batch)
{
  convnet_winograd_conv_forward (conv, out, in, NULL, batch, 0);
}

/* the fastest of REPEATS runs after two warm-up runs, in milliseconds */
static double
fastest_ms (ForwardFunc forward, gconstpointer conv, float *out,
           const float *in, int batch, int repeats)
{
  double *times = g_new (double, repeats), fastest;

  for (int r = 0; r < 2; r++)
    forward (conv, out, in, batch);
  for (int r = 0; r < repeats; r++)
    {
      const gint64 start = g_get_monotonic_time ();
      forward (conv, out, in, batch);
      times[r] = (g_get_monotonic_time () - start) / 1000.0;
    }
  qsort (times, repeats, sizeof (double), compare_doubles);
  fastest = times[0];
  g_free (times);
  return fastest;
}

static double
relative_difference (const float *a, const float *b, gsize n)
{
  double largest = 0, worst = 0;

  for (gsize i = 0; i < n; i++)
    {
      largest = MAX (largest, fabs (a[i]));
      worst = MAX (worst, fabs ((double) a[i] - b[i]));
    }
  return worst / MAX (largest, 1e-30);
}

int
main (int argc, char **argv)
{
  const ConvnetKernels *kernels = convnet_kernels ();
  const int repeats = argc > 1 ? atoi (argv[1]) : 20;
  static const int batches[] = { 1, 8 };
  const char *order_name = g_getenv ("WINOGRAD_ORDER");
  const ConvnetWinogradOrder order
    = !order_name ? CONVNET_WINOGRAD_ORDER_AUTO
      : strcmp (order_name, "tiles") == 0 ? CONVNET_WINOGRAD_ORDER_TILES
      : strcmp (order_name, "weights") == 0 ? CONVNET_WINOGRAD_ORDER_WEIGHTS
      : CONVNET_WINOGRAD_ORDER_AUTO;

  if (g_getenv ("CONVNET_THREADS"))
    convnet_parallel_set_threads (atoi (g_getenv ("CONVNET_THREADS")));
  printf ("isa %s, %d threads, fastest of %d, Winograd order %s\n",
          kernels->isa, convnet_parallel_threads (), repeats,
          order_name ? order_name : "as picked");
  printf ("| layer | batch | gemm ms | GFLOP/s | F(2,3) ms | GFLOP/s | F(4,3) ms"
          " | GFLOP/s | F23 err | F43 err |\n|---|---:|---:|---:|---:|---:|---:"
          "|---:|---:|---:|\n");
  for (guint i = 0; i < G_N_ELEMENTS (layers); i++)
    for (guint bi = 0; bi < G_N_ELEMENTS (batches); bi++)
      {
        const int c = layers[i].channels, s = layers[i].size, batch = batches[bi];
        const ConvGeometry geo = {
          .c_in = c, .h_in = s, .w_in = s, .c_out = c, .h_out = s, .w_out = s,
          .kh = 3, .kw = 3, .sh = 1, .sw = 1, .ph = 1, .pw = 1, .dh = 1,
          .dw = 1, .groups = 1,
        };
        const gsize n = (gsize) batch * c * s * s;
        const double gflop = 2.0 * c * c * 9 * s * s * batch / 1e9;
        float *in = g_new (float, n), *w = g_new (float, (gsize) c * c * 9);
        float *bias = g_new (float, c);
        float *ref = g_new (float, n), *out = g_new (float, n);
        ConvnetPackedConv *pc;
        ConvnetWinogradConv *wc[2];
        double ms[3], err[2];

        bench_fill (in, n, 1);
        bench_fill (w, (gsize) c * c * 9, 2);
        bench_fill (bias, c, 3);
        for (gsize j = 0; j < (gsize) c * c * 9; j++)
          w[j] *= sqrtf (2.0f / (9 * c));   /* He scale, as trained nets */
        pc = convnet_packed_conv_new (kernels, &geo, w, bias, NULL, NULL, TRUE);
        ms[0] = fastest_ms (packed_forward, pc, ref, in, batch, repeats);
        for (int t = 0; t < 2; t++)
          {
            wc[t] = convnet_winograd_conv_new (kernels, &geo, w, bias, NULL,
                                               NULL, TRUE, 2 + 2 * t);
            convnet_winograd_conv_set_order (wc[t], order, 0);
            ms[1 + t] = fastest_ms (winograd_forward, wc[t], out, in, batch,
                                   repeats);
            err[t] = relative_difference (ref, out, n);
            convnet_winograd_conv_free (wc[t]);
          }
        printf ("| %dch %dx%d | %d | %.3f | %.0f | %.3f | %.0f | %.3f | %.0f"
                " | %.1e | %.1e |\n", c, s, s, batch, ms[0], gflop / ms[0] * 1e3,
                ms[1], gflop / ms[1] * 1e3, ms[2], gflop / ms[2] * 1e3,
                err[0], err[1]);
        convnet_packed_conv_free (pc);
        g_free (in); g_free (w); g_free (bias); g_free (ref); g_free (out);
      }
  return 0;
}
