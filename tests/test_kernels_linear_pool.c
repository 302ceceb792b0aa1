/* test_kernels_linear_pool.c: the kernels' fully connected rows (fp32 and
 * half) and MaxPool2d planes on every instruction set this machine runs,
 * with one and two threads, against definitions written out below in
 * double precision (independent of the kernels, of ops/ and of OpenBLAS),
 * on odd sizes: feature counts that are no multiple of the vector width,
 * batches 1, 3 and 8, pools with padding, ceil_mode, dilation, 1x1
 * inputs, NaN and -inf.  Then a small network through the graph, with and
 * without CONVNET_EXACT=1. */
#include "convnet.h"
#include "graph.h"
#include "kernels/fc.h"
#include "kernels/kernels.h"
#include "kernels/pool.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *const isas[] = { "generic", "avx2", "avx512" };

static void
fill (float *x, gsize n, guint32 seed)
{
  GRand *rand = g_rand_new_with_seed (seed);

  for (gsize i = 0; i < n; i++)
    x[i] = (float) g_rand_double_range (rand, -1.0, 1.0);
  g_rand_free (rand);
}

/* --------------------------------------------------------------- linear */

typedef struct
{
  int in, out, batch;
} FcCase;

static const FcCase fc_cases[] = {
  { 1, 1, 1 },          /* one weight */
  { 7, 5, 1 },          /* shorter than any vector */
  { 37, 29, 3 },        /* odd everything */
  { 100, 41, 8 },       /* the largest batch */
  { 257, 130, 2 },      /* a 1-element tail, rows past several passes */
  { 1031, 300, 1 },     /* enough weights to run on both threads */
  { 513, 200, 5 },
};

/* out[n][o] = bias[o] + sum_i x[n][i] w[o][i] in double, and the bound of
 * the float rounding: sum_i |x w| (times a few float epsilons). */
static void
reference_fc (double *want, double *magnitude, const float *x,
              const float *w, const float *bias, const FcCase *c)
{
  for (int n = 0; n < c->batch; n++)
    for (int o = 0; o < c->out; o++)
      {
        double s = bias ? bias[o] : 0.0, m = bias ? fabs (bias[o]) : 0.0;
        for (int i = 0; i < c->in; i++)
          {
            const double p = (double) x[(gsize) n * c->in + i]
                             * w[(gsize) o * c->in + i];
            s += p;
            m += fabs (p);
          }
        want[(gsize) n * c->out + o] = s;
        magnitude[(gsize) n * c->out + o] = m;
      }
}

static void
check_fc (const ConvnetKernels *kernels, gboolean half)
{
  for (guint k = 0; k < G_N_ELEMENTS (fc_cases); k++)
    for (int with_bias = 0; with_bias < 2; with_bias++)
      {
        const FcCase *c = &fc_cases[k];
        const gsize nw = (gsize) c->in * c->out;
        float *w = g_new (float, nw);
        float *x = g_new (float, (gsize) c->batch * c->in);
        float *bias = g_new (float, c->out);
        float *out = g_new (float, (gsize) c->batch * c->out);
        double *want = g_new (double, (gsize) c->batch * c->out);
        double *magnitude = g_new (double, (gsize) c->batch * c->out);
        /* float rounding of a sum; half's 2^-11 on each weight */
        const double relative = half ? 1.0 / 2048 : 1e-6;

        fill (w, nw, 10 + k);
        fill (x, (gsize) c->batch * c->in, 20 + k);
        fill (bias, c->out, 30 + k);
        for (gsize i = 0; i < (gsize) c->batch * c->out; i++)
          out[i] = NAN;   /* every output must be written */

        if (half)
          {
            ConvnetFcHalf *h = convnet_fc_half_new (kernels, w, c->in,
                                                    c->out);
            g_assert_nonnull (h);
            g_assert_cmpuint (convnet_fc_half_bytes (h), ==, nw * 2);
            convnet_fc_half_forward (kernels, h, out, x,
                                     with_bias ? bias : NULL, c->batch);
            convnet_fc_half_free (h);
          }
        else
          convnet_fc_forward (kernels, out, x, w, with_bias ? bias : NULL,
                              c->batch, c->in, c->out);
        reference_fc (want, magnitude, x, w, with_bias ? bias : NULL, c);

        for (gsize i = 0; i < (gsize) c->batch * c->out; i++)
          if (!(fabs (out[i] - want[i]) <= relative * magnitude[i] + 1e-7))
            g_error ("%s %s fc in=%d out=%d batch=%d bias=%d: [%d][%d] %g, "
                     "want %g", kernels->isa, half ? "half" : "fp32",
                     c->in, c->out, c->batch, with_bias,
                     (int) (i / c->out), (int) (i % c->out), out[i],
                     want[i]);
        g_free (w); g_free (x); g_free (bias); g_free (out);
        g_free (want); g_free (magnitude);
      }
}

static const ConvnetKernels *
kernels_or_skip (const char *isa)
{
  const ConvnetKernels *kernels = convnet_kernels_for (isa);

  if (!kernels)
    g_test_skip ("this CPU or build lacks the instruction set");
  else
    g_assert_cmpstr (kernels->isa, ==, isa);
  return kernels;
}

static void
test_fc_isa (gconstpointer isa)
{
  const ConvnetKernels *kernels = kernels_or_skip (isa);

  if (!kernels)
    return;
  for (int threads = 1; threads <= 2; threads++)
    {
      convnet_parallel_set_threads (threads);
      check_fc (kernels, FALSE);
      check_fc (kernels, TRUE);
    }
}

/* Half rounds to nearest, ties to even, on every path alike: values at,
 * between and past half's steps, subnormals, the largest half. */
static void
test_to_half_rounding (void)
{
  static const struct { float f; guint16 h; } table[] = {
    { 0.0f, 0x0000 }, { -0.0f, 0x8000 }, { 1.0f, 0x3c00 },
    { -2.0f, 0xc000 }, { 65504.0f, 0x7bff },
    { 1.0f + 1.0f / 2048, 0x3c00 },        /* a tie: to even (down) */
    { 1.0f + 3.0f / 2048, 0x3c02 },        /* a tie: to even (up) */
    { 1.0f + 1.0f / 2048 + 1.0f / 65536, 0x3c01 },  /* past the tie */
    { 5.9604645e-8f, 0x0001 },             /* the smallest subnormal */
    { 2.9802322e-8f, 0x0000 },             /* half of it: a tie, to 0 */
    { 6.1035156e-5f, 0x0400 },             /* the smallest normal */
    { 0.333333343f, 0x3555 },
    { 65520.0f, 0x7c00 },                  /* rounds past 65504: inf */
    { INFINITY, 0x7c00 }, { -INFINITY, 0xfc00 },
  };
  /* three rounds of the table: whole vectors and a tail */
  const gsize n = 3 * G_N_ELEMENTS (table);

  for (guint k = 0; k < G_N_ELEMENTS (isas); k++)
    {
      const ConvnetKernels *kernels = convnet_kernels_for (isas[k]);
      float src[3 * G_N_ELEMENTS (table)];
      guint16 dst[3 * G_N_ELEMENTS (table)];

      if (!kernels)
        continue;
      for (gsize i = 0; i < n; i++)
        src[i] = table[i % G_N_ELEMENTS (table)].f;
      kernels->to_half (dst, src, n);
      for (gsize i = 0; i < n; i++)
        if (dst[i] != table[i % G_N_ELEMENTS (table)].h)
          g_error ("%s: element %u, %.9g, to half gave 0x%04x, want 0x%04x",
                   isas[k], (guint) i, src[i], dst[i],
                   table[i % G_N_ELEMENTS (table)].h);
    }
}

/* A weight beyond half's range keeps the layer in single precision. */
static void
test_half_refuses_out_of_range (void)
{
  float w[6] = { 0.5f, -1.0f, 70000.0f, 0.0f, 1.0f, 2.0f };

  g_assert_null (convnet_fc_half_new (convnet_kernels (), w, 3, 2));
  w[2] = -65504.0f;
  convnet_fc_half_free (convnet_fc_half_new (convnet_kernels (), w, 3, 2));
}

/* ----------------------------------------------------------------- pool */

typedef struct
{
  int c, h, w, k, stride, pad, dilation;
  gboolean ceil_mode;
  int batch;
} PoolCase;

static const PoolCase pool_cases[] = {
  { 3, 9, 11, 3, 2, 1, 1, FALSE, 1 },   /* ResNet's stem pool, odd sizes */
  { 2, 9, 11, 3, 2, 1, 1, TRUE, 3 },    /* ceil_mode: a last, cut window */
  { 4, 10, 13, 3, 1, 1, 1, TRUE, 1 },   /* GoogLeNet's branch pool */
  { 3, 13, 13, 3, 2, 0, 1, FALSE, 2 },  /* AlexNet's */
  { 5, 7, 7, 2, 2, 0, 1, TRUE, 1 },     /* 2x2 with ceil on odd sizes */
  { 2, 1, 1, 1, 1, 0, 1, FALSE, 2 },    /* a 1x1 input */
  { 2, 1, 1, 3, 2, 1, 1, TRUE, 1 },     /* a 1x1 input under 3x3 padded */
  { 3, 12, 10, 3, 3, 1, 2, FALSE, 1 },  /* dilation 2, stride 3 */
  { 2, 8, 6, 4, 3, 2, 1, TRUE, 1 },     /* even window, padding 2 */
  { 96, 20, 21, 3, 2, 0, 1, TRUE, 2 },  /* planes enough for two threads */
  { 1, 40, 37, 5, 1, 2, 1, FALSE, 1 },  /* a wide 5x5, stride 1 */
  { 40, 7, 7, 3, 1, 1, 1, TRUE, 3 },    /* GoogLeNet's 7x7 branch pools,
                                           planes for two threads */
  { 3, 14, 14, 3, 1, 1, 1, FALSE, 2 },  /* 14x14: a plane ends mid-vector */
  { 2, 3, 40, 3, 1, 1, 1, FALSE, 1 },   /* rows wider than a vector */
  { 2, 64, 64, 3, 1, 1, 1, FALSE, 1 },  /* the largest whole-plane pool */
  { 1, 65, 64, 3, 1, 1, 1, FALSE, 1 },  /* past it: row by row */
  { 2, 112, 112, 3, 2, 1, 1, FALSE, 1 }, /* ResNet's stem pool: rows of
                                            3.5 vectors of outputs */
  { 2, 112, 112, 3, 2, 0, 1, TRUE, 1 },  /* GoogLeNet's maxpool1 */
  { 2, 55, 55, 3, 2, 0, 1, FALSE, 1 },   /* AlexNet's first */
  { 3, 14, 14, 2, 2, 0, 1, TRUE, 2 },    /* GoogLeNet's maxpool4 */
  { 2, 1, 40, 3, 2, 1, 1, FALSE, 1 },    /* one row, wider than a vector */
  { 1, 230, 224, 3, 2, 1, 1, FALSE, 1 }, /* a stride-2 pool's row maxima
                                            past the stack: on the heap */
};

static ConvGeometry
pool_geometry (const PoolCase *c)
{
  ConvGeometry geo = {
    .c_in = c->c, .h_in = c->h, .w_in = c->w, .c_out = c->c,
    .kh = c->k, .kw = c->k, .sh = c->stride, .sw = c->stride,
    .ph = c->pad, .pw = c->pad, .dh = c->dilation, .dw = c->dilation,
    .groups = 1,
  };
  /* torch's rule: with ceil_mode the last window must start inside the
   * input or its left padding */
  for (int axis = 0; axis < 2; axis++)
    {
      const int in = axis ? c->w : c->h;
      const int span = in + 2 * c->pad - c->dilation * (c->k - 1) - 1;
      int out = (c->ceil_mode ? span + c->stride - 1 : span) / c->stride + 1;
      if (c->ceil_mode && (out - 1) * c->stride >= in + c->pad)
        out--;
      if (axis)
        geo.w_out = out;
      else
        geo.h_out = out;
    }
  return geo;
}

/* The pool as torch defines it, in its scan order: the window's elements
 * inside the input, row by row; NaN wins and stays (the last NaN's bits);
 * otherwise the first strictly greater value; -inf if none. */
static float
reference_window (const float *plane, const ConvGeometry *geo, int oy, int ox)
{
  float best = -INFINITY;

  for (int ky = 0; ky < geo->kh; ky++)
    for (int kx = 0; kx < geo->kw; kx++)
      {
        const int iy = oy * geo->sh - geo->ph + ky * geo->dh;
        const int ix = ox * geo->sw - geo->pw + kx * geo->dw;
        float v;
        if (iy < 0 || iy >= geo->h_in || ix < 0 || ix >= geo->w_in)
          continue;
        v = plane[iy * geo->w_in + ix];
        if (isnan (v))
          best = v;
        else if (!isnan (best) && (double) v > (double) best)
          best = v;
      }
  return best;
}

/* Inputs with ties (values on a coarse grid, +0 and -0), NaN of distinct
 * payloads and -inf, so that bits, not just values, are compared. */
static void
fill_pool_input (float *x, gsize n, guint32 seed)
{
  GRand *rand = g_rand_new_with_seed (seed);

  for (gsize i = 0; i < n; i++)
    {
      const int r = g_rand_int_range (rand, 0, 100);
      if (r < 3)
        {
          const guint32 bits = 0x7fc00000u | g_rand_int_range (rand, 1, 1000);
          memcpy (&x[i], &bits, sizeof bits);
        }
      else if (r < 6)
        x[i] = -INFINITY;
      else if (r < 12)
        x[i] = r % 2 ? 0.0f : -0.0f;
      else
        x[i] = (float) g_rand_int_range (rand, -8, 8) / 4.0f;
    }
  g_rand_free (rand);
}

static void
check_pools (const ConvnetKernels *kernels)
{
  for (guint k = 0; k < G_N_ELEMENTS (pool_cases); k++)
    {
      const PoolCase *c = &pool_cases[k];
      const ConvGeometry geo = pool_geometry (c);
      const gsize planes = (gsize) c->batch * c->c;
      const gsize in_plane = (gsize) c->h * c->w;
      const gsize out_plane = (gsize) geo.h_out * geo.w_out;
      float *in = g_new (float, planes * in_plane);
      float *out = g_new (float, planes * out_plane);

      g_assert_cmpint (geo.h_out, >, 0);
      g_assert_cmpint (geo.w_out, >, 0);
      fill_pool_input (in, planes * in_plane, 40 + k);
      memset (out, 0xff, planes * out_plane * sizeof *out);
      convnet_maxpool2d_fast (kernels, out, in, c->batch, &geo);

      for (gsize p = 0; p < planes; p++)
        for (int oy = 0; oy < geo.h_out; oy++)
          for (int ox = 0; ox < geo.w_out; ox++)
            {
              const float want = reference_window (in + p * in_plane, &geo,
                                                   oy, ox);
              const float got = out[p * out_plane + oy * geo.w_out + ox];
              guint32 want_bits, got_bits;

              memcpy (&want_bits, &want, sizeof want_bits);
              memcpy (&got_bits, &got, sizeof got_bits);
              if (want_bits != got_bits)
                g_error ("%s pool case %u plane %u (%d, %d): %g (0x%08x), "
                         "want %g (0x%08x)", kernels->isa, k, (guint) p,
                         oy, ox, got, got_bits, want, want_bits);
            }
      g_free (in);
      g_free (out);
    }
}

static void
test_pool_isa (gconstpointer isa)
{
  const ConvnetKernels *kernels = kernels_or_skip (isa);

  if (!kernels)
    return;
  for (int threads = 1; threads <= 2; threads++)
    {
      convnet_parallel_set_threads (threads);
      check_pools (kernels);
    }
}

/* ---------------------------------------------------------------- graph */

/* conv -> ReLU -> maxpool (3x3 s2, ceil) -> Linear 37 -> ReLU -> Linear 10,
 * a small version of AlexNet's layout with odd feature counts. */
static ConvnetGraph *
small_net (void)
{
  GError *error = NULL;
  ConvnetGraph *g = convnet_graph_new ("small", 3, 15, 15);
  int x = convnet_conv2d (g, "conv", 0, 6, 3, 1, 1, 1, 1, TRUE, &error);

  x = convnet_activation (g, CONVNET_OP_RELU, "relu", x);
  x = convnet_maxpool2d (g, "pool", x, 3, 2, 0, TRUE, &error);
  x = convnet_flatten (g, "flat", x);
  x = convnet_linear (g, "fc1", x, 37, TRUE, &error);
  x = convnet_activation (g, CONVNET_OP_RELU, "relu2", x);
  x = convnet_linear (g, "fc2", x, 10, TRUE, &error);
  g_assert_no_error (error);
  g_assert_true (convnet_graph_finish (g, &error));
  g_assert_no_error (error);
  convnet_graph_init_random (g, 11);
  return g;
}

static float *
run_small_net (gboolean exact, const float *input, int batch)
{
  GError *error = NULL;
  ConvnetGraph *g;
  float *out;

  /* before the plan is made: the planner may read it there */
  if (exact)
    g_setenv ("CONVNET_EXACT", "1", TRUE);
  else
    g_unsetenv ("CONVNET_EXACT");
  g = small_net ();
  g_assert_true (convnet_graph_forward (g, input, batch, &error));
  g_assert_no_error (error);
  out = g_memdup2 (convnet_graph_output (g), (gsize) batch * 10 * sizeof *out);
  convnet_graph_free (g);
  g_unsetenv ("CONVNET_EXACT");
  return out;
}

static void
test_graph_matches_exact (void)
{
  static const int batches[] = { 1, 3, 8, 9 };
  float *input = g_new (float, 9 * 3 * 15 * 15);

  fill (input, 9 * 3 * 15 * 15, 99);
  convnet_parallel_set_threads (2);
  for (guint b = 0; b < G_N_ELEMENTS (batches); b++)
    {
      const int batch = batches[b];
      float *exact = run_small_net (TRUE, input, batch);
      float *fast = run_small_net (FALSE, input, batch);
      double scale = 0.0;

      for (int i = 0; i < batch * 10; i++)
        scale = MAX (scale, fabs (exact[i]));
      g_assert_cmpfloat (scale, >, 0.0);
      for (int i = 0; i < batch * 10; i++)
        if (!(fabs (fast[i] - exact[i]) <= 1e-5 * scale))
          g_error ("batch %d output %d: %g, CONVNET_EXACT gives %g", batch,
                   i, fast[i], exact[i]);
      g_free (exact);
      g_free (fast);
    }
  g_free (input);
}

/* CONVNET_EXACT=1 runs a Linear layer on the reference code of
 * engine/ops, and without it on the kernels: each path's output is its
 * own code's to the bit, and the two differ in their roundings, so that
 * a layer on the wrong path cannot pass. */
static void
test_linear_exact_switch (void)
{
  enum { IN = 1000, OUT = 37, BATCH = 2 };
  float input[BATCH * IN], reference[BATCH * OUT], kernel[BATCH * OUT];
  float *got[2];
  GError *error = NULL;

  fill (input, BATCH * IN, 5);
  for (int exact = 0; exact < 2; exact++)
    {
      ConvnetGraph *g = convnet_graph_new ("linear", IN, 1, 1);
      int x = convnet_flatten (g, "flat", 0);
      const ConvnetParam *w, *b;

      if (exact)
        g_setenv ("CONVNET_EXACT", "1", TRUE);
      else
        g_unsetenv ("CONVNET_EXACT");
      x = convnet_linear (g, "fc", x, OUT, TRUE, &error);
      g_assert_no_error (error);
      g_assert_true (convnet_graph_finish (g, &error));
      convnet_graph_init_random (g, 3);
      g_assert_true (convnet_graph_forward (g, input, BATCH, &error));
      g_assert_no_error (error);
      got[exact] = g_memdup2 (convnet_graph_output (g), sizeof kernel);
      w = convnet_graph_find_param (g, "fc.weight");
      b = convnet_graph_find_param (g, "fc.bias");
      if (exact)
        {
          linear_forward (reference, input, w->data, b->data, BATCH, IN, OUT);
          g_assert_cmpmem (got[1], sizeof reference, reference,
                           sizeof reference);
        }
      else
        {
          convnet_fc_forward (convnet_kernels (), kernel, input, w->data,
                              b->data, BATCH, IN, OUT);
          g_assert_cmpmem (got[0], sizeof kernel, kernel, sizeof kernel);
        }
      convnet_graph_free (g);
    }
  g_unsetenv ("CONVNET_EXACT");
  g_assert_cmpint (memcmp (got[0], got[1], sizeof kernel), !=, 0);
  g_free (got[0]);
  g_free (got[1]);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  for (guint k = 0; k < G_N_ELEMENTS (isas); k++)
    {
      char *fc = g_strdup_printf ("/kernels/linear/%s", isas[k]);
      char *pool = g_strdup_printf ("/kernels/maxpool/%s", isas[k]);
      g_test_add_data_func (fc, isas[k], test_fc_isa);
      g_test_add_data_func (pool, isas[k], test_pool_isa);
      g_free (fc);
      g_free (pool);
    }
  g_test_add_func ("/kernels/linear/to-half-rounding", test_to_half_rounding);
  g_test_add_func ("/kernels/linear/half-out-of-range",
                   test_half_refuses_out_of_range);
  g_test_add_func ("/kernels/graph-matches-exact", test_graph_matches_exact);
  g_test_add_func ("/kernels/linear/exact-switch", test_linear_exact_switch);
  return g_test_run ();
}
