/* test_train_kernels.c: the kernels training runs on (matmul.h, the
 * training convolution's backward in conv_train.h, the batched Linear of
 * linear_train.h) on every instruction set this machine runs, one and two
 * threads, against definitions written out below in double precision
 * (independent of the kernels and of OpenBLAS), on odd sizes: 1x1 images,
 * channels no multiple of the tile, padding larger than the kernel, K
 * deeper than one K block, strides, dilation, 1x1 convolutions. */
#include "convnet.h"
#include "kernels/conv_train.h"
#include "kernels/linear_train.h"
#include "kernels/matmul.h"
#include "kernels/sigmoid.h"

#include "kernel_reference.h"

#include <math.h>
#include <string.h>

/* GOT against WANT within 1e-5 of WANT's largest magnitude (at least 1):
 * only the order of float additions differs. */
static void
assert_close (const float *got, const double *want, gsize n, const char *what,
              const char *isa, int threads, int index)
{
  double largest = 1.0, worst = 0.0;

  for (gsize i = 0; i < n; i++)
    {
      largest = MAX (largest, fabs (want[i]));
      worst = MAX (worst, isnan (got[i]) ? INFINITY : fabs (got[i] - want[i]));
    }
  if (worst > 1e-5 * largest)
    g_error ("%s, %s, %d threads, case %d: worst error %g (largest %g)",
             what, isa, threads, index, worst, largest);
}

/* ------------------------------------------------------------ matmul */

typedef struct
{
  int m, n, k;
  gboolean a_transposed, b_transposed, accumulate;
} MatmulCase;

static const MatmulCase matmul_cases[] = {
  { 1, 1, 1, FALSE, FALSE, FALSE },
  { 7, 13, 5, FALSE, FALSE, TRUE },
  { 9, 33, 300, TRUE, FALSE, FALSE },     /* K over one block */
  { 17, 5, 513, FALSE, TRUE, TRUE },
  { 25, 70, 19, TRUE, TRUE, FALSE },
  { 3, 100, 0, FALSE, FALSE, FALSE },     /* empty sum: zeros */
};

static void
check_matmul (const ConvnetKernels *kernels, int threads)
{
  for (guint i = 0; i < G_N_ELEMENTS (matmul_cases); i++)
    {
      const MatmulCase *t = &matmul_cases[i];
      const gsize ldc = t->n + 3;
      float *a = g_new (float, MAX (t->m * t->k, 1));
      float *b = g_new (float, MAX (t->k * t->n, 1));
      float *c = g_new (float, t->m * ldc), *got = g_new (float, t->m * t->n);
      double *want = g_new (double, t->m * t->n);
      float *work = g_aligned_alloc (convnet_matmul_work_floats (kernels, t->m),
                                     sizeof (float), 64);
      /* a transposed operand is stored the other way round */
      const ConvnetMatrixView av = t->a_transposed
        ? (ConvnetMatrixView) { a, 1, t->m } : (ConvnetMatrixView) { a, t->k, 1 };
      const ConvnetMatrixView bv = t->b_transposed
        ? (ConvnetMatrixView) { b, 1, t->k } : (ConvnetMatrixView) { b, t->n, 1 };

      reference_fill (a, MAX (t->m * t->k, 1), 10 + i);
      reference_fill (b, MAX (t->k * t->n, 1), 20 + i);
      reference_fill (c, t->m * ldc, 30 + i);
      for (int r = 0; r < t->m; r++)
        for (int j = 0; j < t->n; j++)
          {
            double sum = t->accumulate ? c[r * ldc + j] : 0.0;
            for (int p = 0; p < t->k; p++)
              sum += (double) (t->a_transposed ? a[p * t->m + r] : a[r * t->k + p])
                     * (t->b_transposed ? b[j * t->k + p] : b[p * t->n + j]);
            want[r * t->n + j] = sum;
          }
      convnet_matmul (kernels, t->m, t->n, t->k, av, bv, c, ldc,
                      t->accumulate, work);
      for (int r = 0; r < t->m; r++)
        memcpy (got + r * t->n, c + r * ldc, sizeof (float) * t->n);
      assert_close (got, want, t->m * t->n, "matmul", kernels->isa, threads, i);
      g_aligned_free (work);
      g_free (a); g_free (b); g_free (c); g_free (got); g_free (want);
    }
}

/* ------------------------------------------------ convolution backward */

static const ReferenceConvCase conv_cases[] = {
  { 3, 9, 11, 5, 3, 1, 1, 1, 3 },      /* everything odd */
  { 1, 1, 1, 7, 1, 1, 0, 1, 2 },       /* a 1x1 image, pointwise */
  { 2, 1, 1, 9, 3, 1, 1, 1, 1 },       /* 1x1 image under a 3x3 kernel */
  { 4, 5, 4, 6, 3, 1, 4, 1, 2 },       /* padding larger than the kernel */
  { 40, 7, 7, 17, 3, 1, 1, 1, 2 },     /* K = 360 > one K block */
  { 33, 6, 5, 20, 1, 1, 0, 1, 3 },     /* 1x1, odd channels, batch 3 */
  { 3, 23, 21, 12, 7, 2, 3, 1, 2 },    /* a stem: 7x7 stride 2 */
  { 5, 12, 12, 8, 3, 1, 2, 2, 1 },     /* dilation 2 */
  { 1, 28, 28, 6, 5, 1, 2, 1, 5 },     /* lenet5's first layer */
  { 6, 14, 14, 16, 5, 1, 0, 1, 4 },    /* and its second */
  /* direct kernels: 11 output channels (a block of 8 and one of 3), rows
   * of 19 (a vector and a part), an odd number of rows */
  { 2, 5, 19, 11, 5, 1, 2, 1, 3 },
  { 3, 6, 7, 9, 4, 1, 1, 1, 2 },       /* taps no multiple of five */
};

/* The definitions, from y[n][o][oy][ox] = b[o] + sum w[o][c][ky][kx]
 * x[n][c][iy][ix]: each product adds dy * x to dw, dy * w to dx, and dy
 * to db; DX, DW and DB start from the float buffers' values. */
static void
direct_backward (double *dx, double *dw, double *db, const float *dy,
                 const float *x, const float *w, int batch,
                 const ConvGeometry *g)
{
  for (int n = 0; n < batch; n++)
    for (int o = 0; o < g->c_out; o++)
      for (int oy = 0; oy < g->h_out; oy++)
        for (int ox = 0; ox < g->w_out; ox++)
          {
            const double gy = dy[(((gsize) n * g->c_out + o) * g->h_out + oy)
                                 * g->w_out + ox];
            db[o] += gy;
            for (int c = 0; c < g->c_in; c++)
              for (int ky = 0; ky < g->kh; ky++)
                for (int kx = 0; kx < g->kw; kx++)
                  {
                    const int iy = oy * g->sh - g->ph + ky * g->dh;
                    const int ix = ox * g->sw - g->pw + kx * g->dw;
                    const gsize wi = ((gsize) (o * g->c_in + c) * g->kh + ky)
                                     * g->kw + kx;
                    gsize xi;
                    if (iy < 0 || iy >= g->h_in || ix < 0 || ix >= g->w_in)
                      continue;
                    xi = (((gsize) n * g->c_in + c) * g->h_in + iy) * g->w_in
                         + ix;
                    dw[wi] += gy * x[xi];
                    dx[xi] += gy * w[wi];
                  }
          }
}

/* y = b + sum w x, in double */
static void
direct_forward (double *y, const float *x, const float *w, const float *b,
                int batch, const ConvGeometry *g)
{
  for (int n = 0; n < batch; n++)
    for (int o = 0; o < g->c_out; o++)
      for (int oy = 0; oy < g->h_out; oy++)
        for (int ox = 0; ox < g->w_out; ox++)
          {
            double sum = b[o];
            for (int c = 0; c < g->c_in; c++)
              for (int ky = 0; ky < g->kh; ky++)
                for (int kx = 0; kx < g->kw; kx++)
                  {
                    const int iy = oy * g->sh - g->ph + ky * g->dh;
                    const int ix = ox * g->sw - g->pw + kx * g->dw;
                    if (iy < 0 || iy >= g->h_in || ix < 0 || ix >= g->w_in)
                      continue;
                    sum += (double) w[((o * g->c_in + c) * g->kh + ky) * g->kw + kx]
                           * x[(((gsize) n * g->c_in + c) * g->h_in + iy)
                               * g->w_in + ix];
                  }
            y[(((gsize) n * g->c_out + o) * g->h_out + oy) * g->w_out + ox] = sum;
          }
}

static double *
to_double (const float *x, gsize n)
{
  double *d = g_new (double, n);

  for (gsize i = 0; i < n; i++)
    d[i] = x[i];
  return d;
}

static void
check_conv_backward (const ConvnetKernels *kernels, int threads)
{
  for (guint i = 0; i < G_N_ELEMENTS (conv_cases); i++)
    {
      const ReferenceConvCase *c = &conv_cases[i];
      const ConvGeometry geo = reference_conv_geometry (c);
      const gsize n_x = (gsize) c->batch * c->c_in * c->h * c->w;
      const gsize n_y = (gsize) c->batch * c->c_out * geo.h_out * geo.w_out;
      const gsize n_w = (gsize) c->c_out * c->c_in * c->k * c->k;
      const gsize n_scratch = convnet_conv2d_backward_fast_scratch (kernels,
                                                                    &geo,
                                                                    threads);
      float *x = g_new (float, n_x), *w = g_new (float, n_w);
      float *dy = g_new (float, n_y), *dx = g_new (float, n_x);
      float *dw = g_new (float, n_w), *db = g_new (float, c->c_out);
      float *scratch = g_new (float, n_scratch);
      double *want_dx, *want_dw, *want_db;

      reference_fill (x, n_x, 1 + i);
      reference_fill (w, n_w, 100 + i);
      reference_fill (dy, n_y, 200 + i);
      /* the gradients are added to what the buffers hold */
      reference_fill (dx, n_x, 300 + i);
      reference_fill (dw, n_w, 400 + i);
      reference_fill (db, c->c_out, 500 + i);
      want_dx = to_double (dx, n_x);
      want_dw = to_double (dw, n_w);
      want_db = to_double (db, c->c_out);
      direct_backward (want_dx, want_dw, want_db, dy, x, w, c->batch, &geo);
      {
        /* the forward, packed or direct, and again after the weights
         * changed in place (as an optimizer step changes them) */
        float *y = g_new (float, n_y);
        double *want_y = g_new (double, n_y);
        ConvnetTrainConv *cache = NULL;

        for (int pass = 0; pass < 2; pass++)
          {
            if (pass == 1)
              w[0] += 0.5f;
            direct_forward (want_y, x, w, db, c->batch, &geo);
            memset (y, 0xff, sizeof (float) * n_y);   /* NaN everywhere */
            g_assert_true (convnet_train_conv_forward (&cache, kernels, &geo,
                                                       w, db, 1, TRUE, y, x,
                                                       c->batch));
            assert_close (y, want_y, n_y, "conv forward", kernels->isa,
                          threads, i);
          }
        w[0] -= 0.5f;
        convnet_train_conv_free (cache);
        g_free (y);
        g_free (want_y);
      }
      {
        /* what the sums add to dx, for the store below */
        double *want_stored = g_new (double, n_x);

        for (gsize j = 0; j < n_x; j++)
          want_stored[j] = want_dx[j] - dx[j];
        g_assert_true (convnet_conv2d_backward_fast (kernels, dx, FALSE, dw,
                                                     db, dy, x, w, c->batch,
                                                     &geo, scratch,
                                                     n_scratch));
        assert_close (dx, want_dx, n_x, "conv dx", kernels->isa, threads, i);
        assert_close (dw, want_dw, n_w, "conv dw", kernels->isa, threads, i);
        assert_close (db, want_db, c->c_out, "conv db", kernels->isa,
                      threads, i);
        /* stored: what dx held before (NaN here) does not matter */
        memset (dx, 0xff, sizeof (float) * n_x);
        g_assert_true (convnet_conv2d_backward_fast (kernels, dx, TRUE, NULL,
                                                     NULL, dy, x, w, c->batch,
                                                     &geo, scratch,
                                                     n_scratch));
        assert_close (dx, want_stored, n_x, "conv dx stored", kernels->isa,
                      threads, i);
        g_free (want_stored);
      }
      g_free (x); g_free (w); g_free (dy); g_free (dx); g_free (dw);
      g_free (db); g_free (scratch);
      g_free (want_dx); g_free (want_dw); g_free (want_db);
    }
}

/* ------------------------------------------------------------ linear */

typedef struct
{
  int batch, in_features, out_features;
} LinearCase;

static const LinearCase linear_cases[] = {
  { 1, 1, 1 }, { 3, 7, 5 }, { 13, 400, 17 }, { 33, 9, 300 }, { 128, 84, 10 },
};

static void
check_linear (const ConvnetKernels *kernels, int threads)
{
  for (guint i = 0; i < G_N_ELEMENTS (linear_cases); i++)
    {
      const LinearCase *t = &linear_cases[i];
      const int nb = t->batch, ni = t->in_features, no = t->out_features;
      float *x = g_new (float, nb * ni), *w = g_new (float, no * ni);
      float *b = g_new (float, no), *y = g_new (float, nb * no);
      float *dy = g_new (float, nb * no), *dx = g_new (float, nb * ni);
      float *dw = g_new (float, no * ni), *db = g_new (float, no);
      double *want_y = g_new0 (double, nb * no), *want_dx, *want_dw, *want_db;

      reference_fill (x, nb * ni, 1 + i);
      reference_fill (w, no * ni, 2 + i);
      reference_fill (b, no, 3 + i);
      reference_fill (dy, nb * no, 4 + i);
      reference_fill (dx, nb * ni, 5 + i);
      reference_fill (dw, no * ni, 6 + i);
      reference_fill (db, no, 7 + i);
      want_dx = to_double (dx, nb * ni);
      want_dw = to_double (dw, no * ni);
      want_db = to_double (db, no);
      for (int n = 0; n < nb; n++)
        for (int o = 0; o < no; o++)
          {
            const double g = dy[n * no + o];
            want_y[n * no + o] = b[o];
            want_db[o] += g;
            for (int j = 0; j < ni; j++)
              {
                want_y[n * no + o] += (double) x[n * ni + j] * w[o * ni + j];
                want_dx[n * ni + j] += g * w[o * ni + j];
                want_dw[o * ni + j] += g * x[n * ni + j];
              }
          }
      memset (y, 0xff, sizeof (float) * nb * no);   /* NaN everywhere */
      convnet_linear_forward_batch (kernels, y, x, w, b, nb, ni, no);
      assert_close (y, want_y, nb * no, "linear y", kernels->isa, threads, i);
      convnet_linear_forward_batch (kernels, y, x, w, NULL, nb, ni, no);
      for (int n = 0; n < nb; n++)
        for (int o = 0; o < no; o++)
          want_y[n * no + o] -= b[o];
      assert_close (y, want_y, nb * no, "linear y without bias", kernels->isa,
                    threads, i);
      convnet_linear_backward_batch (kernels, dx, dw, db, dy, x, w, nb, ni, no);
      assert_close (dx, want_dx, nb * ni, "linear dx", kernels->isa, threads, i);
      assert_close (dw, want_dw, no * ni, "linear dw", kernels->isa, threads, i);
      assert_close (db, want_db, no, "linear db", kernels->isa, threads, i);
      g_free (x); g_free (w); g_free (b); g_free (y); g_free (dy);
      g_free (dx); g_free (dw); g_free (db);
      g_free (want_y); g_free (want_dx); g_free (want_dw); g_free (want_db);
    }
}

static void
test_isa (gconstpointer isa)
{
  const ConvnetKernels *kernels = convnet_kernels_for (isa);

  if (!kernels)
    {
      g_test_skip ("this CPU or build lacks the instruction set");
      return;
    }
  for (int threads = 1; threads <= 2; threads++)
    {
      convnet_parallel_set_threads (threads);
      check_matmul (kernels, threads);
      check_conv_backward (kernels, threads);
      check_linear (kernels, threads);
    }
}

/* Sigmoid of each ISA: within 2e-7 of 1 / (1 + e^-x) in double, and the
 * reference kernel's values to the bit, on lengths around the vector
 * widths and inputs out to where e^-x overflows. */
static void
test_sigmoid (gconstpointer isa)
{
  const ConvnetKernels *kernels = convnet_kernels_for (isa);
  const gsize lengths[] = { 1, 3, 15, 17, 33, 1001 };

  if (!kernels)
    {
      g_test_skip ("this CPU or build lacks the instruction set");
      return;
    }
  for (guint i = 0; i < G_N_ELEMENTS (lengths); i++)
    {
      const gsize n = lengths[i];
      float *x = g_new (float, n), *got = g_new (float, n);
      float *reference = g_new (float, n);

      reference_fill (x, n, 40 + i);
      for (gsize j = 0; j < n; j++)
        x[j] *= 1 + (j % 7) * 20;    /* up to +-121 */
      memset (got, 0xff, sizeof (float) * n);
      convnet_sigmoid_forward_for (kernels) (got, x, n);
      sigmoid_forward (reference, x, n);
      for (gsize j = 0; j < n; j++)
        {
          const double want = 1.0 / (1.0 + exp (-(double) x[j]));
          if (fabs (got[j] - want) > 2e-7 || got[j] != reference[j])
            g_error ("sigmoid %s, n %" G_GSIZE_FORMAT ", x %g: %.9g, "
                     "want %.9g, reference %.9g", kernels->isa, n, x[j],
                     got[j], want, reference[j]);
        }
      g_free (x); g_free (got); g_free (reference);
    }
}

/* Too little workspace for one thread, or groups, leave the gradients to
 * the reference kernel untouched. */
static void
test_conv_backward_refused (void)
{
  ReferenceConvCase c = { 4, 5, 5, 4, 3, 1, 1, 1, 1 };
  ConvGeometry geo = reference_conv_geometry (&c);
  float x[100] = { 0 }, w[144] = { 0 }, dy[100] = { 1 }, dw[144] = { 0 };
  float scratch[64];

  g_assert_false (convnet_conv2d_backward_fast (convnet_kernels (), NULL,
                                                FALSE, dw, NULL, dy, x, w, 1,
                                                &geo, scratch, 64));
  geo.groups = 2;
  g_assert_false (convnet_conv2d_backward_fast (convnet_kernels (), NULL,
                                                FALSE, dw, NULL, dy, x, w, 1,
                                                &geo, scratch, 64));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_data_func ("/train-kernels/generic", "generic", test_isa);
  g_test_add_data_func ("/train-kernels/avx2", "avx2", test_isa);
  g_test_add_data_func ("/train-kernels/avx512", "avx512", test_isa);
  g_test_add_func ("/train-kernels/refused", test_conv_backward_refused);
  g_test_add_data_func ("/train-kernels/sigmoid/generic", "generic",
                        test_sigmoid);
  g_test_add_data_func ("/train-kernels/sigmoid/avx2", "avx2", test_sigmoid);
  g_test_add_data_func ("/train-kernels/sigmoid/avx512", "avx512",
                        test_sigmoid);
  return g_test_run ();
}
