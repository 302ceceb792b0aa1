/* test_kernels.c: the engine's own fast kernels on every instruction set
 * this machine runs, against a direct convolution written out below in
 * double precision (independent of the kernels and of OpenBLAS), on the
 * odd sizes that break blocked code: 1x1 images, channel counts that are
 * no multiple of the tile or vector width, padding larger than the
 * kernel, K deeper than one K block, strides, dilation and batches. */
#include "convnet.h"
#include "kernels/conv_gemm.h"
#include "kernels/conv_unfold.h"
#include "kernels/kernels.h"
#include "ops/blas.h"

#include "kernel_reference.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const ReferenceConvCase cases[] = {
  { 3, 9, 11, 5, 3, 1, 1, 1, 1 },      /* everything odd */
  { 1, 1, 1, 7, 1, 1, 0, 1, 2 },       /* a 1x1 image, pointwise */
  { 2, 1, 1, 9, 3, 1, 1, 1, 1 },       /* 1x1 image under a 3x3 kernel */
  { 4, 5, 4, 6, 3, 1, 4, 1, 1 },       /* padding larger than the kernel */
  { 40, 7, 7, 17, 3, 1, 1, 1, 1 },     /* K = 360 > one K block */
  { 33, 13, 13, 70, 1, 1, 0, 1, 3 },   /* 1x1, odd channels, batch 3 */
  { 3, 23, 21, 12, 7, 2, 3, 1, 2 },    /* a stem, 7x7 stride 2: split into
                                          phases */
  { 8, 10, 12, 16, 3, 2, 1, 1, 1 },    /* 3x3 stride 2 */
  { 5, 12, 12, 8, 3, 1, 2, 2, 1 },     /* dilation 2 */
  { 16, 15, 15, 24, 5, 1, 2, 1, 1 },   /* 5x5 */
  { 64, 28, 28, 64, 3, 1, 1, 1, 2 },   /* many pixel panels, two samples */
  { 2, 9, 40, 4, 5, 1, 2, 1, 1 },      /* rows wider than a pixel panel */
  { 3, 31, 29, 10, 11, 4, 2, 1, 1 },   /* alexnet's stem, 11x11 stride 4:
                                          split into phases */
  { 2, 14, 13, 5, 12, 1, 6, 1, 1 },    /* 144 window positions: unfolded
                                          run by run, not by masked loads */
  { 9, 15, 15, 11, 1, 2, 0, 1, 2 },    /* a downsample: 1x1 stride 2 */
  { 5, 5, 70, 3, 3, 2, 1, 1, 1 },      /* stride 2, rows wider than a panel */
  { 5, 11, 13, 5, 3, 3, 1, 1, 1 },     /* stride 3: a float at a time */
  { 5, 16, 27, 3, 5, 5, 2, 1, 1 },     /* stride 5: run by run */
  { 5, 19, 17, 3, 5, 4, 2, 1, 1 },     /* stride 4 by masked loads */
  { 20, 5, 6, 50, 3, 1, 1, 1, 2 },     /* 30 pixels, not whole groups of 7;
                                          50 channels, a part weight panel
                                          and two of three in the last
                                          rows tile */
  { 300, 7, 7, 96, 1, 1, 0, 1, 1 },    /* a 7x7 pointwise layer, K over one
                                          block: pixel rows when AUTO */
  { 20, 2, 7, 40, 1, 1, 0, 1, 3 },     /* pointwise, whole groups of 7 and
                                          three samples: the rows read the
                                          input unpacked */
  { 2, 9, 9, 3, 1, 2, 0, 1, 2 },       /* split into phases, a kernel
                                          smaller than the stride */
  { 1, 6, 7, 4, 3, 2, 4, 1, 1 },       /* split into phases, padding larger
                                          than the kernel */
  { 4, 11, 13, 5, 3, 3, 1, 1, 1 },     /* split into phases: stride 3 */
  { 2, 5, 70, 3, 3, 2, 1, 1, 1 },      /* split into phases, rows wider
                                          than a panel */
};

/* Runs every case through KERNELS with the pixels in ORDER (the rows
 * only where the table has gemm_rows), with bias, folded scale and shift,
 * residual and ReLU switched on in turn, then with all of them into a
 * wider tensor (kernel_reference.h), and compares with the direct
 * convolution: within 1e-5 of the largest absolute value, since only
 * the order of the float additions differs.  The wider tensor's other
 * channels must keep their bytes. */
static void
check_kernels (const ConvnetKernels *kernels, ConvnetPixelOrder order,
               ConvnetStreaming streaming)
{
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    for (int variant = 0; variant < REFERENCE_VARIANTS; variant++)
      {
        const ConvGeometry geo = reference_conv_geometry (&cases[i]);
        char *what = g_strdup_printf ("%s, pixels in %s%s, case %u variant %d",
                                      kernels->isa,
                                      order == CONVNET_PIXELS_IN_ROWS
                                      ? "rows" : "lanes",
                                      streaming == CONVNET_STREAMING_ALWAYS
                                      ? ", streamed" : "", i, variant);
        ReferenceRun run;
        ConvnetPackedConv *pc;
        double worst;

        reference_run_init (&run, &geo, cases[i].batch, variant, i);
        pc = convnet_packed_conv_new (kernels, &geo, run.w,
                                      run.with_bias ? run.bias : NULL,
                                      run.with_bn ? run.scale : NULL,
                                      run.with_bn ? run.shift : NULL,
                                      run.relu);
        g_assert_nonnull (pc);
        convnet_packed_conv_set_pixels (pc, order);
        convnet_packed_conv_set_streaming (pc, streaming);
        g_assert_true (convnet_packed_conv_pixel_rows (pc, cases[i].batch)
                       == (order == CONVNET_PIXELS_IN_ROWS
                           && kernels->gemm_rows != NULL));
        reference_run_reset (&run);
        convnet_packed_conv_forward (
          pc, run.out + run.first, run.in,
          run.residual ? run.residual + run.first : NULL, cases[i].batch,
          run.out_sample);
        worst = reference_run_worst (&run, what);
        if (worst > 1e-5 * MAX (run.largest, 1.0))
          g_error ("%s: worst error %g (largest %g)", what, worst,
                   run.largest);
        convnet_packed_conv_free (pc);
        reference_run_clear (&run);
        g_free (what);
      }
}

static void
test_conv_isa (gconstpointer isa)
{
  const ConvnetKernels *kernels = convnet_kernels_for (isa);

  if (!kernels)
    {
      g_test_skip ("this CPU or build lacks the instruction set");
      return;
    }
  g_assert_cmpstr (kernels->isa, ==, isa);
  for (int threads = 1; threads <= 2; threads++)
    {
      convnet_parallel_set_threads (threads);
      check_kernels (kernels, CONVNET_PIXELS_IN_LANES,
                     CONVNET_STREAMING_NEVER);
      if (kernels->gemm_rows)
        check_kernels (kernels, CONVNET_PIXELS_IN_ROWS,
                       CONVNET_STREAMING_NEVER);
    }
  /* the output stored past the caches, where one K block covers K */
  if (kernels->streamed_stores)
    check_kernels (kernels, CONVNET_PIXELS_IN_LANES, CONVNET_STREAMING_ALWAYS);
}

/* A choice a packing makes by itself for a forward of BATCH samples. */
typedef gboolean (*PackingChoice) (const ConvnetPackedConv *conv, int batch);

typedef struct
{
  ReferenceConvCase geometry;
  int               batch;
  gboolean          chosen;   /* where the table can make it */
} Pick;

/* Checks CHOICE against each of PICKS on every instruction set here:
 * what the pick says where the table can (CAN), else never. */
static void
check_picks (const Pick *picks, guint n, PackingChoice choice,
             gboolean (*can) (const ConvnetKernels *kernels))
{
  static const char *const isas[] = { "generic", "avx2", "avx512" };

  convnet_parallel_set_threads (2);
  for (guint t = 0; t < G_N_ELEMENTS (isas); t++)
    {
      const ConvnetKernels *kernels = convnet_kernels_for (isas[t]);

      for (guint i = 0; kernels && i < n; i++)
        {
          const ConvGeometry geo = reference_conv_geometry (&picks[i].geometry);
          float *w = g_new0 (float, (gsize) geo.c_out * geo.c_in * geo.kh
                                    * geo.kw);
          ConvnetPackedConv *pc = convnet_packed_conv_new (kernels, &geo, w,
                                                           NULL, NULL, NULL,
                                                           FALSE);

          if (choice (pc, picks[i].batch) != (picks[i].chosen && can (kernels)))
            g_error ("%s, pick %u: chosen %d", kernels->isa, i,
                     choice (pc, picks[i].batch));
          convnet_packed_conv_free (pc);
          g_free (w);
        }
    }
}

static gboolean
has_streamed_stores (const ConvnetKernels *kernels)
{
  return kernels->streamed_stores;
}

static gboolean
has_gemm_rows (const ConvnetKernels *kernels)
{
  return kernels->gemm_rows != NULL;
}

/* Which outputs a forward streams past the caches by itself: 4 MB or
 * more, in one K block, and only in a table that can. */
static void
test_conv_streaming_picked (void)
{
  static const Pick picks[] = {
    { { 64, 56, 56, 256, 1, 1, 0, 1, 8 }, 8, TRUE },   /* 25.7 MB */
    { { 64, 56, 56, 256, 1, 1, 0, 1, 1 }, 1, FALSE },  /* 3.2 MB */
    { { 256, 28, 28, 512, 3, 1, 1, 1, 8 }, 8, FALSE }, /* K in 9 blocks */
    { { 3, 224, 224, 64, 7, 2, 3, 1, 8 }, 8, TRUE },   /* a stem, K 147 */
  };

  check_picks (picks, G_N_ELEMENTS (picks), convnet_packed_conv_streams,
               has_streamed_stores);
}

/* Which order a forward picks by itself: the pixel rows on small maps
 * with 96 output channels or more, where whole panels of 32 pixels waste
 * lanes; never on a table without gemm_rows. */
static void
test_conv_pixel_order_picked (void)
{
  static const Pick picks[] = {
    { { 512, 7, 7, 512, 3, 1, 1, 1, 1 }, 1, TRUE },   /* 49 pixels: 64 lanes */
    { { 256, 14, 14, 256, 1, 1, 0, 1, 1 }, 1, TRUE }, /* 196: 224 lanes */
    { { 512, 7, 7, 512, 3, 1, 1, 1, 1 }, 8, FALSE },  /* 392: panels to share */
    { { 64, 56, 56, 64, 1, 1, 0, 1, 1 }, 1, FALSE },  /* 3136: whole panels */
    { { 512, 7, 7, 64, 1, 1, 0, 1, 1 }, 1, FALSE },   /* too few channels */
    { { 512, 8, 8, 512, 1, 1, 0, 1, 1 }, 1, FALSE },  /* 64: whole panels */
  };

  check_picks (picks, G_N_ELEMENTS (picks), convnet_packed_conv_pixel_rows,
               has_gemm_rows);
}

/* How the unfolded input is read: the stems (an image's few channels at
 * a stride) split it into phases first; wider layers and dilated ones
 * load their strided windows as they are, and windows of more than 128
 * positions or strides over 4 go run by run. */
static void
test_conv_unfold_way_picked (void)
{
  static const struct
  {
    ReferenceConvCase geometry;
    ConvnetUnfoldWay  way;
  } picks[] = {
    { { 3, 224, 224, 64, 7, 2, 3, 1, 1 }, CONVNET_UNFOLD_PHASES },
    { { 3, 224, 224, 64, 11, 4, 2, 1, 1 }, CONVNET_UNFOLD_PHASES },
    { { 64, 56, 56, 128, 3, 2, 1, 1, 1 }, CONVNET_UNFOLD_LOADS },
    { { 3, 56, 56, 8, 3, 2, 2, 2, 1 }, CONVNET_UNFOLD_LOADS },
    { { 3, 56, 56, 8, 3, 1, 1, 1, 1 }, CONVNET_UNFOLD_LOADS },
    { { 5, 16, 27, 3, 5, 5, 2, 1, 1 }, CONVNET_UNFOLD_RUNS },
    { { 2, 14, 13, 5, 12, 1, 6, 1, 1 }, CONVNET_UNFOLD_RUNS },
  };

  for (guint i = 0; i < G_N_ELEMENTS (picks); i++)
    {
      const ConvGeometry geo = reference_conv_geometry (&picks[i].geometry);

      if (convnet_unfold_way (&geo) != picks[i].way)
        g_error ("pick %u: way %d, not %d", i, convnet_unfold_way (&geo),
                 picks[i].way);
    }
}

/* A groups > 1 convolution is not packed (the graph keeps the reference
 * kernel for it). */
static void
test_conv_groups_refused (void)
{
  ReferenceConvCase c = { 4, 5, 5, 4, 3, 1, 1, 1, 1 };
  ConvGeometry geo = reference_conv_geometry (&c);
  float w[4 * 2 * 9] = { 0 };

  geo.groups = 2;
  g_assert_null (convnet_packed_conv_new (convnet_kernels (), &geo, w, NULL,
                                          NULL, NULL, FALSE));
}

typedef struct
{
  int *hits;
} CountJob;

static void
count_items (gpointer data, int begin, int end)
{
  CountJob *job = data;

  for (int i = begin; i < end; i++)
    g_atomic_int_inc (&job->hits[i]);
}

/* Every item runs exactly once, for counts below, at and above the
 * thread count, and again after the workers have gone to sleep. */
static void
test_parallel_for_each_item_once (void)
{
  static const int counts[] = { 1, 2, 3, 7, 64, 1000 };

  convnet_parallel_set_threads (2);
  for (int round = 0; round < 2; round++)
    {
      for (guint i = 0; i < G_N_ELEMENTS (counts); i++)
        {
          CountJob job = { g_new0 (int, counts[i]) };
          convnet_parallel_for (counts[i], count_items, &job);
          for (int j = 0; j < counts[i]; j++)
            g_assert_cmpint (job.hits[j], ==, 1);
          g_free (job.hits);
        }
      g_usleep (20000);   /* past the spin: the worker sleeps */
    }
}

typedef struct
{
  int            *hits;
  volatile gint  *returned;  /* set once convnet_parallel_for is back */
  volatile gint  *late;      /* items run after that */
} BackToBackJob;

static void
count_back_to_back (gpointer data, int begin, int end)
{
  BackToBackJob *job = data;

  if (g_atomic_int_get (job->returned))
    g_atomic_int_inc (job->late);
  for (int i = begin; i < end; i++)
    g_atomic_int_inc (&job->hits[i]);
}

/* Jobs of 4 and 256 items back to back, as a BatchNorm over 64 channels
 * and then a convolution: a worker finishing one job must never take
 * items of the next for the old one, which made the next job end before
 * its last chunk (a crash in training, once in about a million jobs).
 * Each job must run each item exactly once, all before it returns. */
static void
test_parallel_for_back_to_back (void)
{
  enum { JOBS = 400000, SLOTS = 64 };
  static int hits[SLOTS][256];
  static volatile gint returned[SLOTS];
  volatile gint late = 0;
  int wrong = 0;

  convnet_parallel_set_threads (2);
  for (int j = 0; j < JOBS; j++)
    {
      const int slot = j % SLOTS, n = j % 2 ? 256 : 4;
      BackToBackJob job = { hits[slot], &returned[slot], &late };

      memset (hits[slot], 0, sizeof hits[slot]);
      g_atomic_int_set (&returned[slot], 0);
      convnet_parallel_for (n, count_back_to_back, &job);
      g_atomic_int_set (&returned[slot], 1);
      for (int i = 0; i < n; i++)
        wrong += g_atomic_int_get (&hits[slot][i]) != 1;
    }
  g_test_message ("%d items not run exactly once, %d run late", wrong,
                  (int) late);
  g_assert_cmpint (wrong, ==, 0);
  g_assert_cmpint (late, ==, 0);
}

typedef struct
{
  GThread       *caller;
  volatile gint  other_first;   /* the first item another thread ran, + 1 */
} ShareJob;

static void
note_first_other (gpointer data, int begin, G_GNUC_UNUSED int end)
{
  ShareJob *job = data;

  if (g_thread_self () != job->caller)
    {
      g_atomic_int_compare_and_exchange (&job->other_first, 0, begin + 1);
      return;
    }
  /* the caller holds its first chunk until another thread has claimed
   * one (or 5 s have gone by), so that it cannot take the worker's share
   * before the worker has started */
  for (gint64 give_up = g_get_monotonic_time () + 5 * G_USEC_PER_SEC;
       !g_atomic_int_get (&job->other_first)
       && g_get_monotonic_time () < give_up;)
    g_thread_yield ();
}

/* With two threads, the worker starts on the second half of the items,
 * its own share, and not where the caller is: the same thread then does
 * the same part of every layer, in the caches it left it in. */
static void
test_parallel_for_own_share_first (void)
{
  convnet_parallel_set_threads (2);
  for (int round = 0; round < 3; round++)
    {
      ShareJob job = { g_thread_self (), 0 };

      convnet_parallel_for (64, note_first_other, &job);
      g_assert_cmpint (job.other_first, ==, 32 + 1);
      g_usleep (round == 1 ? 20000 : 0);   /* and once the worker slept */
    }
}

/* Threads of this process named like its main thread, the main one left
 * out: OpenBLAS's workers, since GLib and the kernels' pool name theirs. */
static int
threads_named_like_main (void)
{
  g_autofree char *main_name = NULL;
  GDir *tasks = g_dir_open ("/proc/self/task", 0, NULL);
  const char *tid;
  int count = 0;

  g_assert_nonnull (tasks);
  g_assert_true (g_file_get_contents ("/proc/self/comm", &main_name, NULL,
                                      NULL));
  while ((tid = g_dir_read_name (tasks)))
    {
      g_autofree char *path = g_strdup_printf ("/proc/self/task/%s/comm",
                                               tid);
      g_autofree char *name = NULL;

      if (atoi (tid) != getpid ()
          && g_file_get_contents (path, &name, NULL, NULL)
          && strcmp (name, main_name) == 0)
        count++;
    }
  g_dir_close (tasks);
  return count;
}

/* The same once ended threads have left /proc: a joined thread may still
 * be listed for a moment.  A worker that merely went to sleep stays. */
static int
threads_named_like_main_settled (void)
{
  int count = threads_named_like_main ();

  for (int tries = 0; count > 0 && tries < 100; tries++)
    {
      g_usleep (10000);
      count = threads_named_like_main ();
    }
  return count;
}

/* OpenBLAS serves only the reference paths, so a forward on the fast
 * paths runs without it: none of its workers (each would spin for about
 * 0.1 s after it starts, through a fresh process's first forward).  Once
 * it has multiplied, right, convnet_set_threads() leaves no idle worker
 * of it behind.  Runs before anything else in this program. */
static void
test_blas_threads_stopped (void)
{
  enum { N = 256 };
  float *a = g_new (float, N * N), *b = g_new (float, N * N);
  float *c = g_new (float, N * N);
  float input[28 * 28] = { 0 };
  double worst = 0.0;
  GError *error = NULL;
  ConvnetModel *m = convnet_model_new_random ("lenet5", 0, 0, 1, &error);

  g_assert_no_error (error);
  g_assert_true (convnet_graph_forward (m->graph, input, 1, &error));
  g_assert_no_error (error);
  g_assert_cmpint (threads_named_like_main_settled (), ==, 0);
  convnet_model_free (m);

  for (int i = 0; i < N * N; i++)
    {
      a[i] = (float) (i % 13) - 6.0f;
      b[i] = (float) (i % 11) - 5.0f;
    }
  convnet_sgemm (CblasRowMajor, CblasNoTrans, CblasNoTrans, N, N, N, 1.0f,
                 a, N, b, N, 0.0f, c, N);
  for (int i = 0; i < N; i += 17)
    for (int j = 0; j < N; j += 13)
      {
        double want = 0.0;

        for (int k = 0; k < N; k++)
          want += (double) a[i * N + k] * b[k * N + j];
        worst = MAX (worst, fabs (want - c[i * N + j]));
      }
  g_assert_cmpfloat (worst, ==, 0.0);   /* small integers: exact */

  convnet_set_threads (2);
  g_assert_cmpint (threads_named_like_main_settled (), ==, 0);
  g_free (a);
  g_free (b);
  g_free (c);
}

/* CONVNET_ISA picks the path; the chosen one is one this CPU runs. */
static void
test_chosen_isa_runs_here (void)
{
  const ConvnetKernels *chosen = convnet_kernels ();

  g_assert_true (convnet_cpu_supports (chosen->isa));
  g_assert_true (convnet_cpu_supports ("generic"));
  if (g_getenv ("CONVNET_ISA"))
    g_assert_cmpstr (chosen->isa, ==, g_getenv ("CONVNET_ISA"));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/kernels/blas-threads-stopped",
                   test_blas_threads_stopped);
  g_test_add_data_func ("/kernels/conv/generic", "generic", test_conv_isa);
  g_test_add_data_func ("/kernels/conv/avx2", "avx2", test_conv_isa);
  g_test_add_data_func ("/kernels/conv/avx512", "avx512", test_conv_isa);
  g_test_add_func ("/kernels/conv/groups-refused", test_conv_groups_refused);
  g_test_add_func ("/kernels/conv/pixel-order-picked",
                   test_conv_pixel_order_picked);
  g_test_add_func ("/kernels/conv/streaming-picked",
                   test_conv_streaming_picked);
  g_test_add_func ("/kernels/conv/unfold-way-picked",
                   test_conv_unfold_way_picked);
  g_test_add_func ("/kernels/parallel-for", test_parallel_for_each_item_once);
  g_test_add_func ("/kernels/parallel-for/own-share-first",
                   test_parallel_for_own_share_first);
  g_test_add_func ("/kernels/parallel-for/back-to-back",
                   test_parallel_for_back_to_back);
  g_test_add_func ("/kernels/chosen-isa", test_chosen_isa_runs_here);
  return g_test_run ();
}
