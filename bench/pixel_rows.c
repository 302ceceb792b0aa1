/* pixel_rows.c: the small-map layers of resnet, googlenet and alexnet at
 * batch 1 and 2, each run with its pixels (Winograd: its tiles) in the
 * micro-kernel's lanes and in gemm_rows's rows, alternately; prints the
 * fastest of REPEATS runs of each (the machine is shared, and interference
 * only ever adds time), their ratio, which order the engine picks by
 * itself, and the largest difference between the two outputs.
 *
 * Build (after meson compile -C BUILD), from the source root:
 *   cc -O2 -Iengine bench/pixel_rows.c BUILD/engine/libconvnet.a \
 *      $(pkg-config --cflags --libs glib-2.0 gio-2.0 gdk-pixbuf-2.0 \
 *        json-glib-1.0 openblas) -lm -o /tmp/pixel_rows
 * Run: /tmp/pixel_rows [REPEATS] */
#include "kernels/conv_gemm.h"
#include "kernels/conv_winograd.h"
#include "kernels/kernels.h"

#include "bench_fill.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

typedef struct
{
  const char *name;
  int         c_in, c_out, size_out, k, stride;
  int         winograd_tile;     /* 0: the packed product */
} Layer;

static const Layer layers[] = {
  { "resnet layer4 3x3", 512, 512, 7, 3, 1, 0 },
  { "resnet18 layer4.0.conv1", 256, 512, 7, 3, 2, 0 },
  { "resnet50 layer4 1x1 in", 2048, 512, 7, 1, 1, 0 },
  { "resnet50 layer4 1x1 out", 512, 2048, 7, 1, 1, 0 },
  { "resnet50 layer3 1x1 in", 1024, 256, 14, 1, 1, 0 },
  { "resnet50 layer3 1x1 out", 256, 1024, 14, 1, 1, 0 },
  { "googlenet 5b 1x1", 832, 384, 7, 1, 1, 0 },
  { "googlenet 4a 1x1, 64", 480, 64, 14, 1, 1, 0 },
  { "resnet layer3 3x3", 256, 256, 14, 3, 1, 2 },
  { "resnet layer2 3x3", 128, 128, 28, 3, 1, 2 },
  { "googlenet 4e 3x3", 160, 320, 14, 3, 1, 2 },
  { "googlenet 5b 3x3", 192, 384, 7, 3, 1, 2 },
  { "alexnet features.8", 384, 256, 13, 3, 1, 2 },
};

/* One forward of LAYER's packing PC or WC in ORDER into OUT; its ms. */
static double
timed_forward (ConvnetPackedConv *pc, ConvnetWinogradConv *wc,
               ConvnetPixelOrder order, float *out, const float *in,
               int batch)
{
  gint64 start;

  if (pc)
    convnet_packed_conv_set_pixels (pc, order);
  else
    convnet_winograd_conv_set_pixels (wc, order);
  start = g_get_monotonic_time ();
  if (pc)
    convnet_packed_conv_forward (pc, out, in, NULL, batch, 0);
  else
    convnet_winograd_conv_forward (wc, out, in, NULL, batch, 0);
  return (g_get_monotonic_time () - start) / 1e3;
}

int
main (int argc, char **argv)
{
  const ConvnetKernels *kernels = convnet_kernels ();
  const int repeats = argc > 1 ? atoi (argv[1]) : 40;

  printf ("isa %s, %d threads, fastest of %d\n\n", kernels->isa,
          convnet_parallel_threads (), repeats);
  printf ("| layer | batch | lanes ms | rows ms | rows / lanes | picked |"
          " max diff / max |\n|---|---:|---:|---:|---:|---|---:|\n");
  for (guint i = 0; i < G_N_ELEMENTS (layers); i++)
    for (int batch = 1; batch <= 2; batch++)
      {
        const Layer *l = &layers[i];
        const int pad = l->k / 2, size_in = l->size_out * l->stride;
        const ConvGeometry geo = {
          .c_in = l->c_in, .h_in = size_in, .w_in = size_in,
          .c_out = l->c_out, .h_out = l->size_out, .w_out = l->size_out,
          .kh = l->k, .kw = l->k, .sh = l->stride, .sw = l->stride,
          .ph = pad, .pw = pad, .dh = 1, .dw = 1, .groups = 1,
        };
        const gsize n_in = (gsize) batch * l->c_in * size_in * size_in;
        const gsize n_out = (gsize) batch * l->c_out * l->size_out
                            * l->size_out;
        const gsize n_w = (gsize) l->c_out * l->c_in * l->k * l->k;
        float *in = g_new (float, n_in), *w = g_new (float, n_w);
        float *bias = g_new (float, l->c_out);
        float *lanes = g_new (float, n_out), *rows = g_new (float, n_out);
        ConvnetPackedConv *pc = NULL;
        ConvnetWinogradConv *wc = NULL;
        double best[2] = { G_MAXDOUBLE, G_MAXDOUBLE }, diff = 0, largest = 0;
        gboolean picked;

        bench_fill (in, n_in, 1);
        bench_fill (w, n_w, 2);
        bench_fill (bias, l->c_out, 3);
        for (gsize j = 0; j < n_w; j++)
          w[j] *= sqrtf (2.0f / (l->k * l->k * l->c_in));
        if (l->winograd_tile)
          wc = convnet_winograd_conv_new (kernels, &geo, w, bias, NULL, NULL,
                                          TRUE, l->winograd_tile);
        else
          pc = convnet_packed_conv_new (kernels, &geo, w, bias, NULL, NULL,
                                        TRUE);
        for (int r = 0; r < repeats; r++)
          {
            best[0] = MIN (best[0], timed_forward (pc, wc,
                                                   CONVNET_PIXELS_IN_LANES,
                                                   lanes, in, batch));
            best[1] = MIN (best[1], timed_forward (pc, wc,
                                                   CONVNET_PIXELS_IN_ROWS,
                                                   rows, in, batch));
          }
        for (gsize j = 0; j < n_out; j++)
          {
            diff = MAX (diff, fabs (lanes[j] - rows[j]));
            largest = MAX (largest, fabs (lanes[j]));
          }
        if (pc)
          {
            convnet_packed_conv_set_pixels (pc, CONVNET_PIXELS_AUTO);
            picked = convnet_packed_conv_pixel_rows (pc, batch);
          }
        else
          {
            convnet_winograd_conv_set_pixels (wc, CONVNET_PIXELS_AUTO);
            picked = convnet_winograd_conv_tile_rows (wc, batch);
          }
        printf ("| %s, %d -> %d, %dx%d%s | %d | %.3f | %.3f | %.2f | %s |"
                " %.1e |\n", l->name, l->c_in, l->c_out, l->size_out,
                l->size_out, l->winograd_tile ? ", F(2,3)" : "", batch,
                best[0], best[1], best[1] / best[0],
                picked ? "rows" : "lanes", diff / MAX (largest, 1e-30));
        convnet_packed_conv_free (pc);
        convnet_winograd_conv_free (wc);
        g_free (in);
        g_free (w);
        g_free (bias);
        g_free (lanes);
        g_free (rows);
      }
  return 0;
}
