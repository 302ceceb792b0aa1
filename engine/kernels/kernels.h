/* kernels.h: the engine's own vectorised kernels, chosen once at run time
 * for the CPU found (AVX-512, AVX2 or portable C), and the small thread
 * pool they run on.  The graph reaches them through convnet_kernels();
 * nothing outside engine/ sees them.
 *
 * CONVNET_ISA=generic|avx2|avx512 forces a path (an unsupported one falls
 * back to the best the CPU has, with a warning), so that the test suite
 * runs every path on one machine.  CONVNET_EXACT=1 turns the fast paths
 * off: the graph then runs the reference kernels of engine/ops/. */
#ifndef CONVNET_KERNELS_H
#define CONVNET_KERNELS_H

#include <glib.h>

#include "ops/ops.h"

/* What the micro-kernel does with its tile before storing it: add
 * BIAS[row] (may be NULL), add RESIDUAL (same layout as the output, may be
 * NULL), clamp at 0 when RELU.  Applied once, after the last K block. */
typedef struct
{
  const float *bias;
  const float *residual;
  gsize        residual_stride;   /* between rows, like the output's */
  gboolean     relu;
  /* the rows go to memory past the caches (non-temporal stores) where a
   * tile's row is whole and 64-byte aligned; in tables with
   * streamed_stores, ignored in the others */
  gboolean     stream;
} ConvnetEpilogue;

/* C[r][c] for r < MR_USED, c < NR_USED (row stride LDC) gets
 *   (ACCUMULATE ? C[r][c] : 0) + sum_k A[k][r] * B[k][c]
 * and, when EPILOGUE is not NULL, the epilogue (its bias and residual
 * indexed from this tile's first row and column).
 * A is a packed panel: K groups of MR floats (rows past the matrix are 0);
 * B is a packed panel: K groups of NR floats (columns past it are 0). */
typedef void (*ConvnetMicroKernel) (int k, const float *a, const float *b,
                                    float *c, gsize ldc, int mr_used,
                                    int nr_used, gboolean accumulate,
                                    const ConvnetEpilogue *epilogue);

/* The same product with the roles turned round, for small images, whose
 * pixels fill vector-wide panels badly (a 7x7 map's 49 pixels fill two
 * panels of 32 to 77 %): pixels are the broadcast rows, seven at a time,
 * and output channels the vector lanes.  The tile T[r][c], r <
 * CONVNET_ROWS_MR pixels, c < 8 PANELS channels, is
 *   (ACCUMULATE ? C[r][c] : 0) + sum_k A[k LDA + r] * B[c / 8][k][c % 8]
 * where C is a workspace of row stride CONVNET_ROWS_NR, A seven columns
 * of a packed input panel (LDA its NR) and B[v] = B + v PANEL_STRIDE the
 * table's packed weight panels, MR = 8 rows each: the weights keep the
 * one packing both products read.  Without OUT, T goes to C; with it (the
 * last K block), OUT[c LDO + r] gets T[r][c] and the epilogue (its bias
 * indexed from the tile's first channel, its residual laid out as OUT)
 * for r < ROWS_USED and c < CHANNELS_USED.  NULL in a table without it. */
#define CONVNET_ROWS_MR     7
#define CONVNET_ROWS_PANELS 3
#define CONVNET_ROWS_NR     (8 * CONVNET_ROWS_PANELS)
typedef void (*ConvnetRowsKernel) (int k, const float *a, gsize lda,
                                   const float *b, gsize panel_stride,
                                   int panels, float *c, gboolean accumulate,
                                   float *out, gsize ldo, int rows_used,
                                   int channels_used,
                                   const ConvnetEpilogue *epilogue);

/* Which operand a convolution's pixels (Winograd's tiles) are: the
 * vector lanes of gemm_tile, panels of NR, or the broadcast rows of
 * gemm_rows, seven at a time; AUTO takes the rows on small images, where
 * they waste fewer lanes, when the table has gemm_rows. */
typedef enum
{
  CONVNET_PIXELS_AUTO,
  CONVNET_PIXELS_IN_LANES,
  CONVNET_PIXELS_IN_ROWS,
} ConvnetPixelOrder;

/* Whether a convolution's stores go past the caches (ConvnetEpilogue's
 * stream): as its output's size says, or forced either way. */
typedef enum
{
  CONVNET_STREAMING_AUTO,
  CONVNET_STREAMING_ALWAYS,
  CONVNET_STREAMING_NEVER,
} ConvnetStreaming;

/* Rows [ROW_BEGIN, ROW_END) of a fully connected layer over BATCH samples
 * (1 to CONVNET_FC_MAX_BATCH):
 *   OUT[n][o] = (BIAS ? BIAS[o] : 0) + sum_i X[n][i] * W[o][i]
 * with W out_features x in_features, row-major, read in place; OUT has
 * OUT_FEATURES floats a sample.  fc.h runs them on the threads. */
#define CONVNET_FC_MAX_BATCH 8
typedef void (*ConvnetFcRows) (const float *w, const float *x,
                               const float *bias, float *out, int batch,
                               int in_features, int out_features,
                               int row_begin, int row_end);
/* The same with W in IEEE half precision. */
typedef void (*ConvnetFcRowsHalf) (const guint16 *w, const float *x,
                                   const float *bias, float *out, int batch,
                                   int in_features, int out_features,
                                   int row_begin, int row_end);
/* DST[i] = SRC[i] in half precision, rounded to nearest, ties to even. */
typedef void (*ConvnetToHalf) (guint16 *dst, const float *src, gsize n);
/* One plane of MaxPool2d: Y (h_out x w_out) from X (h_in x w_in), equal
 * to maxpool2d_forward's to the bit; WORK holds
 * convnet_maxpool_work_floats (GEO) floats (pool.h). */
typedef void (*ConvnetMaxPoolPlane) (float *y, const float *x,
                                     const ConvGeometry *geo, float *work);
/* Which lanes of 16 consecutive floats of an H x W plane are in it, and
 * which have a left, right, upper and lower neighbour in it. */
typedef struct
{
  guint16 inside, left, right, up, down;
} ConvnetPlaneLanes;
/* One plane of a 3x3, stride 1, padding 1 MaxPool2d (GoogLeNet's branch
 * pools), H x W, equal to ConvnetMaxPoolPlane's to the bit: the same scans
 * in the same order, each over the whole plane at once rather than row by
 * row, which on 7x7 to 28x28 planes was mostly loop overhead.  LANES
 * describes the plane's floats 16 at a time, ROWS is H W floats of
 * workspace.  NULL in a table that lacks it (pool.c then uses the plane
 * kernel). */
typedef void (*ConvnetMaxPoolSame3) (float *y, const float *x, int h, int w,
                                     const ConvnetPlaneLanes *lanes,
                                     float *rows);

/* Where one panel of at most CONVNET_UNFOLD_MAX_NR output pixels of a
 * convolution of column stride 1 to 4 reads its windows.  The panel's
 * pixels fall in runs along output rows, and within a run pixel j reads
 * from RUN_START[r] + STRIDE j: so each row of the unfolded panel is a
 * few masked loads a run, reading straight from the image (no copy
 * through a call per run).  Window position t is TAP_OFFSET[t] further,
 * and bit j of INSIDE[t] says whether pixel j's position t lies inside
 * the image (else it is 0).  Built once a panel (conv_gemm.c). */
#define CONVNET_UNFOLD_MAX_NR   32
#define CONVNET_UNFOLD_MAX_TAPS 128
#define CONVNET_UNFOLD_MAX_STRIDE 4
typedef struct
{
  gint32  run_start[CONVNET_UNFOLD_MAX_NR];
  guint32 run_lanes[CONVNET_UNFOLD_MAX_NR];   /* bit j: pixel j is in run r */
  int     runs;
  int     stride;                 /* between a run's columns, 1 to 4 */
  /* the panel's pixels' windows start in [SPAN_FIRST[s], SPAN_END[s]),
   * one span a sample, which the masked loads ask for AHEAD_PLANES planes
   * early (convnet_unfold_prefetch) */
  gint32  span_first[2], span_end[2];
  int     spans;
  int     ahead_planes;
  gint32  tap_offset[CONVNET_UNFOLD_MAX_TAPS];
  guint32 inside[CONVNET_UNFOLD_MAX_TAPS];
  int     taps;                   /* kh kw */
  gsize   plane;                  /* floats in an input plane */
} ConvnetUnfoldWindows;

/* Rows K0 .. K0+KC of the unfolded input X (one sample) for a panel
 * described by WINDOWS into DST (KC x NR, the table's NR; zero where a
 * window position is outside the image or a pixel past the panel). */
typedef void (*ConvnetUnfoldRows) (float *dst, const float *x,
                                   const ConvnetUnfoldWindows *windows,
                                   int k0, int kc);

/* Asks for what a panel's row SRC (one plane at one window position)
 * will read WINDOWS->ahead_planes planes later.  The hardware prefetchers
 * follow plain loads but not masked ones on this machine's cores: without
 * this a pointwise layer whose input has left the cache ran 40 % slower
 * by masked loads than by memcpy. */
/* Always inlined: GCC 12 takes a function that only prefetches for one
 * without side effects and drops the call when it is not inlined. */
static inline __attribute__ ((always_inline)) void
convnet_unfold_prefetch (const float *src, const ConvnetUnfoldWindows *windows)
{
  const float *ahead = src + windows->ahead_planes * windows->plane;

  for (int s = 0; s < windows->spans; s++)
    {
      const float *first = ahead + windows->span_first[s];
      const float *end = ahead + windows->span_end[s];

      for (const float *at = first; at < end; at += 16)
        __builtin_prefetch (at, 0);
      __builtin_prefetch (end - 1, 0);
    }
}

/* LANE[j] = FROM[j STRIDE] for the pixels j < NR set in LANES: a run
 * read one float at a time, for the strides the vector loads do not
 * serve (and all of them in portable C). */
static inline void
convnet_unfold_run_by_floats (float *lane, int nr, guint32 lanes,
                              const float *from, int stride)
{
  for (int j = 0; j < nr; j++)
    if (lanes >> j & 1)
      lane[j] = from[stride * j];
}

typedef struct
{
  const char        *isa;       /* "avx512", "avx2", "generic" */
  int                mr, nr;    /* the micro-kernel's tile */
  ConvnetMicroKernel gemm_tile;
  ConvnetRowsKernel  gemm_rows;    /* needs MR 8; may be NULL */
  gboolean           streamed_stores;  /* gemm_tile heeds epilogue->stream */
  ConvnetFcRows       fc_rows;
  ConvnetFcRowsHalf   fc_rows_half;
  ConvnetToHalf       to_half;
  ConvnetMaxPoolPlane maxpool_plane;
  ConvnetMaxPoolSame3 maxpool_same3;
  /* A plane of a MaxPool2d of stride 2, a 2x2 or 3x3 window and any
   * padding (the stem and stage pools of ResNet, GoogLeNet and AlexNet),
   * equal to maxpool_plane's to the bit: each input row's window maxima
   * for all the output columns at once, 16 at a time from the row's
   * elements split into even and odd columns in registers, then three (or
   * two) of those rows down.  Its WORK is h_in x w_out floats.  NULL in a
   * table that lacks it (pool.c then uses maxpool_plane). */
  ConvnetMaxPoolPlane maxpool_stride2;
  ConvnetUnfoldRows   unfold_rows;
} ConvnetKernels;

/* Layers narrower than this many output channels keep their pixels in
 * lanes under CONVNET_PIXELS_AUTO: their weights are the smaller operand,
 * and the rows read the input again for every CONVNET_ROWS_PANELS weight
 * panels (conv_gemm.c's convnet_packed_conv_pixel_rows measured it). */
#define CONVNET_ROWS_MIN_CHANNELS 96

/* Whether SAMPLES x PER_SAMPLE pixels (or tiles) of a layer of C_OUT
 * channels go in gemm_rows's rows under ORDER, on KERNELS: forced either
 * way where the table has gemm_rows, or with AUTO where the rows (seven
 * at a time, each sample's apart) compute fewer than PERCENT % of the
 * lanes that panels of NR would.  The callers add what else their AUTO
 * needs. */
static inline gboolean
convnet_rows_chosen (const ConvnetKernels *kernels, ConvnetPixelOrder order,
                     gint64 samples, gint64 per_sample, int c_out,
                     int percent)
{
  const int nr = kernels->nr;
  const gint64 lanes = samples * ((per_sample + nr - 1) / nr) * nr;
  const gint64 rows = samples * ((per_sample + CONVNET_ROWS_MR - 1)
                                 / CONVNET_ROWS_MR) * CONVNET_ROWS_MR;

  if (!kernels->gemm_rows || kernels->mr != 8
      || order == CONVNET_PIXELS_IN_LANES)
    return FALSE;
  return order == CONVNET_PIXELS_IN_ROWS
         || (rows * 100 < lanes * percent
             && c_out >= CONVNET_ROWS_MIN_CHANNELS);
}

/* The fully connected and pooling kernels of each table (fc_*.c,
 * pool_*.c, each compiled with its instruction set's flags). */
#define CONVNET_DECLARE_DENSE_KERNELS(isa)                                   \
  void convnet_fc_rows_##isa (const float *w, const float *x,               \
                              const float *bias, float *out, int batch,     \
                              int in_features, int out_features,            \
                              int row_begin, int row_end);                  \
  void convnet_fc_rows_half_##isa (const guint16 *w, const float *x,        \
                                   const float *bias, float *out,           \
                                   int batch, int in_features,              \
                                   int out_features, int row_begin,         \
                                   int row_end);                            \
  void convnet_to_half_##isa (guint16 *dst, const float *src, gsize n);     \
  void convnet_maxpool_plane_##isa (float *y, const float *x,               \
                                    const ConvGeometry *geo, float *work);
/* Only AVX-512 has maxpool_same3 and maxpool_stride2 (pool_avx512.c):
 * with AVX2 and in portable C the plane kernel serves. */
void convnet_maxpool_same3_avx512 (float *y, const float *x, int h, int w,
                                   const ConvnetPlaneLanes *lanes,
                                   float *rows);
void convnet_maxpool_stride2_avx512 (float *y, const float *x,
                                     const ConvGeometry *geo, float *rows);
CONVNET_DECLARE_DENSE_KERNELS (generic)
CONVNET_DECLARE_DENSE_KERNELS (avx2)
CONVNET_DECLARE_DENSE_KERNELS (avx512)

/* The table for this CPU (or CONVNET_ISA), chosen once. */
const ConvnetKernels *convnet_kernels (void);
/* The table of one instruction set, or NULL if this CPU lacks it or the
 * engine was built without it; for tests that compare the paths. */
const ConvnetKernels *convnet_kernels_for (const char *isa);
/* Whether the CPU runs ISA ("generic", "avx2", "avx512"). */
gboolean convnet_cpu_supports (const char *isa);
/* CONVNET_EXACT=1 in the environment: the reference kernels only. */
gboolean convnet_kernels_exact (void);

extern const ConvnetKernels convnet_kernels_generic;
extern const ConvnetKernels convnet_kernels_avx2;
extern const ConvnetKernels convnet_kernels_avx512;

/* ------------------------------------------------------------ threads */

/* Runs FN (CTX, begin, end) over [0, N_ITEMS) on the pool's threads, the
 * calling one included, in contiguous runs of items claimed as threads
 * come free; returns when all are done.  An FN that calls it again, or a
 * second thread calling it meanwhile, runs that job alone. */
typedef void (*ConvnetParallelFunc) (gpointer ctx, int begin, int end);

void convnet_parallel_for (int n_items, ConvnetParallelFunc fn,
                           gpointer ctx);

/* Runs FN (CTX, from, to) over the floats [0, N) of an element-wise job,
 * cut into blocks of CONVNET_RANGE_BLOCK floats shared by the threads; a
 * job of fewer than two blocks stays on the calling thread.  Each element
 * is computed as on one thread. */
#define CONVNET_RANGE_BLOCK 16384
typedef void (*ConvnetRangeFunc) (gpointer ctx, gsize from, gsize to);

void convnet_parallel_range (gsize n, ConvnetRangeFunc fn, gpointer ctx);
/* Zeroed, 64-byte aligned memory for packed weights, in huge pages where
 * the system gives them: packing a network's weights would otherwise take
 * a page fault per 4 KB (resnet50: 25000, about 15 us each in a virtual
 * machine), which is most of a first inference.  NULL if memory runs out;
 * free with convnet_packed_free(). */
gpointer convnet_packed_alloc    (gsize bytes);
/* The same with its pages not yet faulted in: they come, zeroed, where
 * they are first written.  For parameters, gradients and optimizer state,
 * of which a checkpoint used in place leaves most untouched. */
gpointer convnet_packed_alloc_unfaulted (gsize bytes);
/* Like convnet_packed_alloc in whole huge pages (2 MB or more), for
 * buffers written anew by every forward: in this virtual machine the first
 * touch of each 4 KB page of a mapping costs 2-5 us even when the page is
 * already faulted in, which a megabyte-sized activation or workspace pays
 * at every plan, while a huge page pays it once. */
gpointer convnet_workspace_alloc (gsize bytes);
/* How many bytes the memory convnet_workspace_alloc (BYTES) gives holds:
 * BYTES rounded up to fill its huge pages. */
gsize    convnet_workspace_usable (gsize bytes);
/* Frees what any of these gave. */
void     convnet_packed_free     (gpointer memory);
/* The first BYTES of the file open as FD, mapped read-only and private
 * from a huge page boundary, advised into huge pages and mapped in now;
 * NULL when it cannot be mapped.  Where the page cache holds the file in
 * 2 MB pieces (a file written 2 MB at a time, or read through such a
 * mapping), each is one page of the mapping: in this virtual machine the
 * first touch of a mapped page traps to the hypervisor.  Mapping
 * resnet50's 114 MB of packings and reading them once took 4.5-6 ms this
 * way, 26 ms in 4 KB pages, and 18-20 ms by read() into fresh memory in
 * huge pages, most of that the kernel zeroing the memory (one pass over
 * memory already in place: 3.5 ms).
 * Unmap with convnet_file_unmap (the view, BYTES). */
const void *convnet_file_map_huge (int fd, gsize bytes);
void        convnet_file_unmap    (const void *view, gsize bytes);
/* FALSE under AddressSanitizer, where they all come from malloc at their
 * exact size so that its red zones guard them. */
gboolean convnet_packed_memory_mapped (void);

/* Workspace number SLOT (0 to 4) of the calling thread, at least FLOATS
 * long and 64-byte aligned, kept for the thread's next calls: kernels
 * that need megabytes per call would otherwise map and fault in fresh
 * pages every time.  Valid until the thread asks for that slot again. */
float *convnet_thread_scratch (int slot, gsize floats);

/* The threads the pool uses (the calling one included): the processors
 * online unless convnet_set_threads() said fewer. */
int  convnet_parallel_threads (void);
void convnet_parallel_set_threads (int threads);

#endif
