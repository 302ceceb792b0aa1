/* conv_gemm.c: convolution as a packed matrix product.  Out[M = c_out]
 * [N = pixels] = W[M][K = c_in kh kw] x Unfold(in)[K][N], blocked so that
 * one packed panel of the unfolded input (KC x NR, 32 KB; conv_unfold.c
 * writes it) stays in L1 while every panel of the weights passes over
 * it.  Small images turn the roles round (pixels as the broadcast rows of
 * gemm_rows), and large outputs are stored past the caches. */
#include "conv_gemm.h"
#include "conv_unfold.h"

#include <string.h>

/* depth of a K block: a KC x 32 float panel of the input fills 32 KB */
#define KC 256
#define MAX_NR 32
/* packed input a chunk of K blocks holds on small images: 256 KB */
#define CHUNK_FLOATS 65536
/* outputs from this size on are stored past the caches, when one K
 * block covers K: twice the two cores' L2 (see convnet_packed_conv_streams) */
#define STREAM_BYTES ((gsize) 4 << 20)

struct ConvnetPackedConv
{
  const ConvnetKernels *kernels;
  ConvGeometry          geo;
  int                   m, k;
  int                   m_panels;
  float                *a;       /* m_panels x k x mr, rows past m are 0 */
  float                *bias;    /* m, or NULL */
  gboolean              relu;
  gboolean              borrowed; /* A is the caller's, never freed here */
  ConvnetPixelOrder     pixels;
  ConvnetStreaming      streaming;
};

typedef struct
{
  ConvnetPackedConv *pc;
  const float       *weight;
  const double      *scale;
} PackJob;

/* Packs row panels [BEGIN, END) of the weights: each panel's K groups of
 * MR floats are written in order, reading MR rows side by side. */
static void
pack_weight_panels (gpointer data, int begin, int end)
{
  const PackJob *job = data;
  const ConvnetPackedConv *pc = job->pc;
  const int mr = pc->kernels->mr;

  for (int mp = begin; mp < end; mp++)
    {
      float *panel = pc->a + (gsize) mp * pc->k * mr;
      const int rows = MIN (mr, pc->m - mp * mr);
      float scale[32];

      for (int r = 0; r < rows; r++)
        scale[r] = job->scale ? (float) job->scale[mp * mr + r] : 1.0f;
      for (int p = 0; p < pc->k; p++)
        for (int r = 0; r < rows; r++)
          panel[(gsize) p * mr + r]
            = job->weight[(gsize) (mp * mr + r) * pc->k + p] * scale[r];
    }
}

/* A packing of GEO for KERNELS without its weights yet; NULL if GEO has
 * groups or the kernels' panels are wider than this file handles. */
static ConvnetPackedConv *
packed_conv_shell (const ConvnetKernels *kernels, const ConvGeometry *geo,
                   gboolean relu)
{
  ConvnetPackedConv *pc;
  const int mr = kernels->mr;

  if (geo->groups != 1 || kernels->nr > MAX_NR || kernels->mr > 32)
    return NULL;
  pc = g_new0 (ConvnetPackedConv, 1);
  pc->kernels = kernels;
  pc->geo = *geo;
  pc->m = geo->c_out;
  pc->k = geo->c_in * geo->kh * geo->kw;
  pc->m_panels = (pc->m + mr - 1) / mr;
  pc->relu = relu;
  return pc;
}

gsize
convnet_packed_conv_packed_bytes (const ConvnetKernels *kernels,
                                  const ConvGeometry *geo)
{
  const int mr = kernels->mr;

  return (gsize) ((geo->c_out + mr - 1) / mr) * geo->c_in * geo->kh * geo->kw
         * mr * sizeof (float);
}

ConvnetPackedConv *
convnet_packed_conv_new (const ConvnetKernels *kernels,
                         const ConvGeometry *geo, const float *weight,
                         const float *bias, const double *scale,
                         const double *shift, gboolean relu)
{
  ConvnetPackedConv *pc = packed_conv_shell (kernels, geo, relu);

  if (!pc)
    return NULL;
  pc->a = convnet_packed_alloc (convnet_packed_conv_packed_bytes (kernels,
                                                                  geo));
  if (!pc->a)
    {
      g_free (pc);
      return NULL;
    }
  {
    PackJob job = { pc, weight, scale };
    convnet_parallel_for (pc->m_panels, pack_weight_panels, &job);
  }
  if (bias || scale)
    {
      pc->bias = g_new (float, pc->m);
      for (int oc = 0; oc < pc->m; oc++)
        {
          const double b = bias ? bias[oc] : 0.0;
          pc->bias[oc] = scale ? (float) (b * scale[oc] + shift[oc])
                               : (float) b;
        }
    }
  return pc;
}

ConvnetPackedConv *
convnet_packed_conv_new_from (const ConvnetKernels *kernels,
                              const ConvGeometry *geo, const float *packed,
                              const float *bias, gboolean relu)
{
  ConvnetPackedConv *pc = packed_conv_shell (kernels, geo, relu);

  if (!pc)
    return NULL;
  pc->a = (float *) packed;
  pc->borrowed = TRUE;
  if (bias)
    pc->bias = g_memdup2 (bias, pc->m * sizeof (float));
  return pc;
}

const float *
convnet_packed_conv_packed (const ConvnetPackedConv *pc, const float **bias)
{
  *bias = pc->bias;
  return pc->a;
}

void
convnet_packed_conv_repack (ConvnetPackedConv *pc, const float *weight,
                            const float *bias)
{
  PackJob job = { pc, weight, NULL };

  convnet_parallel_for (pc->m_panels, pack_weight_panels, &job);
  if (bias && pc->bias)
    memcpy (pc->bias, bias, pc->m * sizeof (float));
}

void
convnet_packed_conv_free (ConvnetPackedConv *pc)
{
  if (!pc)
    return;
  if (!pc->borrowed)
    convnet_packed_free (pc->a);
  g_free (pc->bias);
  g_free (pc);
}

gsize
convnet_packed_conv_bytes (const ConvnetPackedConv *pc)
{
  return (gsize) pc->m_panels * pc->k * pc->kernels->mr * sizeof (float)
         + (pc->bias ? pc->m * sizeof (float) : 0);
}

typedef struct
{
  const ConvnetPackedConv *pc;
  float                   *out;
  const float             *in;         /* with CONVNET_UNFOLD_PHASES split
                                           into phases */
  gsize                    in_sample;   /* floats from one sample's IN to
                                           the next */
  const float             *residual;
  gsize                    out_sample;  /* floats from one sample's output
                                           (and residual) to the next */
  int                      n_panels;    /* of pixels, per sample */
  int                      panel_pixels; /* pixels a panel holds: NR, or
                                            with PIXEL_ROWS 4 groups of
                                            CONVNET_ROWS_MR, so that no
                                            group spans two panels */
  int                      pixel_splits; /* shares of the pixel panels
                                            (rows: of the pixel groups) */
  int                      m_splits;    /* weight row ranges (shared) */
  float                   *shared;      /* every panel packed, or NULL:
                                           each item packs its own (rows:
                                           the input read as it is) */
  int                      k_blocks;
  int                      batch;
  ConvnetUnfoldWay         way;
  gboolean                 across_samples;  /* panels run on into the
                                               next sample */
  gboolean                 stream;      /* the output past the caches */
} ForwardJob;

/* Where pixel panel P of sample N starts in the shared packing. */
static float *
shared_panel (const ForwardJob *job, int n, int p)
{
  return job->shared
         + ((gsize) n * job->n_panels + p) * job->pc->k * job->pc->kernels->nr;
}

/* Packs items of (sample, pixel panel, K block) into the shared panels. */
static void
pack_items (gpointer data, int begin, int end)
{
  const ForwardJob *job = data;
  const ConvnetPackedConv *pc = job->pc;
  const ConvGeometry *geo = &pc->geo;
  const int nr = pc->kernels->nr;
  const int hw = geo->h_out * geo->w_out;
  ConvnetUnfoldWindows windows;

  for (int item = begin; item < end; item++)
    {
      const int kb = item % job->k_blocks;
      const int pixel_item = item / job->k_blocks;
      const int n = pixel_item / job->n_panels, p = pixel_item % job->n_panels;
      const int k0 = kb * KC, kc = MIN (KC, pc->k - k0);
      const int p0 = p * job->panel_pixels;
      const int nr_used = MIN (job->panel_pixels, hw - p0);

      if (job->way != CONVNET_UNFOLD_RUNS)
        convnet_unfold_describe (&windows, geo, job->way, p0, nr_used,
                                 job->in_sample);
      convnet_unfold_panel (shared_panel (job, n, p) + (gsize) k0 * nr,
                            pc->kernels, geo, job->way, &windows,
                            job->in + n * job->in_sample, k0, kc, p0,
                            nr_used);
    }
}

/* OUT (+)= weights row panel MP, K block K0 (KC deep) times the packed
 * input panel B of NR_USED pixels; OUT and RESIDUAL (may be NULL) point at
 * the panel's first pixel of the sample's first channel, HW floats a
 * channel.  The last K block applies the epilogue as it stores. */
static inline void
multiply_tile (const ConvnetPackedConv *pc, int mp, int k0, int kc,
               const float *b, float *out, const float *residual, gsize hw,
               int nr_used, gboolean stream)
{
  const int mr = pc->kernels->mr;
  const int row0 = mp * mr;
  ConvnetEpilogue epilogue = {
    .bias = pc->bias ? pc->bias + row0 : NULL,
    .residual = residual ? residual + row0 * hw : NULL,
    .residual_stride = hw,
    .relu = pc->relu,
    .stream = stream,
  };

  pc->kernels->gemm_tile (kc, pc->a + ((gsize) mp * pc->k + k0) * mr, b,
                          out + row0 * hw, hw, MIN (mr, pc->m - row0),
                          nr_used, k0 > 0,
                          k0 + kc >= pc->k ? &epilogue : NULL);
}

/* How many row panels ahead of the one being multiplied the output and
 * residual rows are prefetched. */
#define PREFETCH_PANELS 2

/* Asks for the cache lines of ROWS rows from ROW0 of a tile NR_USED
 * floats wide at BASE (HW floats a row).  Each row lies in a different
 * channel plane, a jump the hardware prefetchers do not follow: waiting
 * on the residual's rows made resnet50's 56x56 pointwise layers that add
 * one take 5.8 ms at batch 8, against 3.1 for the same layer without
 * (3.8 with this). */
static inline void
prefetch_tile_rows (const float *base, gsize hw, int row0, int rows,
                    int nr_used, gboolean for_write)
{
  for (int r = row0; r < row0 + rows; r++)
    {
      const guintptr first = (guintptr) (base + (gsize) r * hw) & ~(guintptr) 63;
      const guintptr end = (guintptr) (base + (gsize) r * hw + nr_used);

      for (guintptr line = first; line < end; line += 64)
        if (for_write)
          __builtin_prefetch ((const void *) line, 1);
        else
          __builtin_prefetch ((const void *) line, 0);
    }
}

/* Stores a panel that runs on into the next sample, computed into TILE
 * (M x NR): its first FIRST_LANES pixels end sample N's map at OUT's
 * pixel LOCAL, the others start sample N + 1's; the epilogue (bias,
 * residual, ReLU) is applied here, as the micro-kernel would. */
static void
store_split_panel (const ForwardJob *job, const float *tile, int n,
                   int local, int first_lanes, int nr_used)
{
  const ConvnetPackedConv *pc = job->pc;
  const int nr = pc->kernels->nr;
  const gsize hw = (gsize) pc->geo.h_out * pc->geo.w_out;
  const gsize out_sample = job->out_sample;

  for (int m = 0; m < pc->m; m++)
    {
      const float bias = pc->bias ? pc->bias[m] : 0.0f;

      for (int j = 0; j < nr_used; j++)
        {
          const gsize at = j < first_lanes
                           ? n * out_sample + m * hw + local + j
                           : (n + 1) * out_sample + m * hw + j - first_lanes;
          float v = tile[(gsize) m * nr + j] + bias;

          if (job->residual)
            v += job->residual[at];
          job->out[at] = pc->relu ? MAX (v, 0.0f) : v;
        }
    }
}

/* One work item: a panel of NR pixels, packed here, times every row panel
 * of the weights.  Its pixels are one sample's, or with ACROSS_SAMPLES
 * the next NR of all the samples' maps one after the other: on 7x7 maps a
 * sample's 49 pixels fill two panels of 32 to 77 %, the batch's 392
 * pixels 13 panels to 94 %. */
static void
forward_items (gpointer data, int begin, int end)
{
  const ForwardJob *job = data;
  const ConvnetPackedConv *pc = job->pc;
  const ConvGeometry *geo = &pc->geo;
  const int nr = pc->kernels->nr, mr = pc->kernels->mr;
  const gsize hw = (gsize) geo->h_out * geo->w_out;
  const gsize in_sample = job->in_sample;
  const gsize out_sample = job->out_sample;
  const gsize pixels = job->across_samples ? job->batch * hw : hw;
  float panel[KC * MAX_NR] __attribute__ ((aligned (64)));
  ConvnetUnfoldWindows windows;

  for (int item = begin; item < end; item++)
    {
      const gsize flat = job->across_samples
                         ? (gsize) item * nr
                         : (gsize) (item / job->n_panels) * hw
                           + (gsize) (item % job->n_panels) * nr;
      const int n = flat / hw, p0 = flat % hw;
      const int nr_used = job->across_samples
                          ? (int) MIN ((gsize) nr, pixels - flat)
                          : MIN (nr, (int) hw - p0);
      const gboolean split = p0 + nr_used > (int) hw;
      const float *x = job->in + n * in_sample;
      float *y = job->out + n * out_sample + p0;
      const float *res = job->residual ? job->residual + n * out_sample + p0
                                       : NULL;
      float *tile = split ? convnet_thread_scratch (4, (gsize) pc->m_panels
                                                       * mr * nr)
                          : NULL;

      if (job->way != CONVNET_UNFOLD_RUNS)
        convnet_unfold_describe (&windows, geo, job->way, p0, nr_used,
                                 in_sample);
      for (int k0 = 0; k0 < pc->k; k0 += KC)
        {
          const int kc = MIN (KC, pc->k - k0);
          const gboolean first = k0 == 0, last = k0 + kc >= pc->k;

          convnet_unfold_panel (panel, pc->kernels, geo, job->way, &windows,
                                x, k0, kc, p0, nr_used);
          for (int mp = 0; mp < pc->m_panels; mp++)
            {
              const int ahead = (mp + PREFETCH_PANELS) * mr;

              if (split)
                {
                  pc->kernels->gemm_tile (
                    kc, pc->a + ((gsize) mp * pc->k + k0) * mr, panel,
                    tile + (gsize) mp * mr * nr, nr, mr, nr_used, k0 > 0,
                    NULL);
                  continue;
                }
              if (ahead < pc->m)
                {
                  const int rows = MIN (mr, pc->m - ahead);

                  if (first && !job->stream)
                    prefetch_tile_rows (y, hw, ahead, rows, nr_used, TRUE);
                  if (last && res)
                    prefetch_tile_rows (res, hw, ahead, rows, nr_used, FALSE);
                }
              multiply_tile (pc, mp, k0, kc, panel, y, res, hw, nr_used,
                             job->stream);
            }
        }
      if (split)
        store_split_panel (job, tile, n, p0, hw - p0, nr_used);
    }
#if defined(__x86_64__) || defined(__i386__)
  /* streamed stores are weakly ordered: all of them before the pool says
   * the job is done */
  if (job->stream)
    __builtin_ia32_sfence ();
#endif
}

/* With every pixel panel packed (small images), one work item is one
 * range of the weights' row panels times one share of the pixel panels
 * (all of them unless the weights' panels are too few to go round): each
 * weights panel is read from memory once and used for every pixel panel
 * of the share while it is in L1, instead of once per pixel panel.  On a
 * 7x7 map the weights are most of the bytes a layer reads (vgg16's and
 * resnet18's last layers: 9.4 MB against 0.9 MB of unfolded input). */
static void
forward_split_items (gpointer data, int begin, int end)
{
  const ForwardJob *job = data;
  const ConvnetPackedConv *pc = job->pc;
  const ConvGeometry *geo = &pc->geo;
  const int nr = pc->kernels->nr;
  const gsize hw = (gsize) geo->h_out * geo->w_out;
  const gsize out_sample = job->out_sample;
  const int pixel_items = job->batch * job->n_panels;
  const int chunk = KC * MAX (1, CHUNK_FLOATS / (pixel_items * KC * nr));

  for (int item = begin; item < end; item++)
    {
      const int split = item / job->pixel_splits;
      const int pixel_split = item % job->pixel_splits;
      const int mp_begin = pc->m_panels * split / job->m_splits;
      const int mp_end = pc->m_panels * (split + 1) / job->m_splits;
      const int pi_begin = pixel_items * pixel_split / job->pixel_splits;
      const int pi_end = pixel_items * (pixel_split + 1) / job->pixel_splits;

      /* the K blocks in chunks whose packed input stays in L2 (256 KB),
       * and within a chunk each panel of the weights read from end to
       * end: the hardware's prefetcher then follows one stream for a
       * while, where a K block of every panel in turn jumps between them */
      for (int c0 = 0; c0 < pc->k; c0 += chunk)
        for (int mp = mp_begin; mp < mp_end; mp++)
          for (int k0 = c0; k0 < MIN (c0 + chunk, pc->k); k0 += KC)
            {
              const int kc = MIN (KC, pc->k - k0);

              for (int pi = pi_begin; pi < pi_end; pi++)
                {
                  const int n = pi / job->n_panels;
                  const int p0 = (pi % job->n_panels) * nr;
                  const gsize at = n * out_sample + p0;

                  multiply_tile (pc, mp, k0, kc,
                                 shared_panel (job, n, p0 / nr)
                                 + (gsize) k0 * nr,
                                 job->out + at,
                                 job->residual ? job->residual + at : NULL, hw,
                                 MIN (nr, (int) hw - p0), FALSE);
                }
            }
    }
}

/* One work item of the pixel rows: CONVNET_ROWS_PANELS weight panels
 * times one share of the pixel groups, K block by K block, so that the
 * block's weights stay in L1 while every group passes over them; the
 * groups' tiles wait in a workspace until the last block stores them. */
static void
forward_rows_items (gpointer data, int begin, int end)
{
  const ForwardJob *job = data;
  const ConvnetPackedConv *pc = job->pc;
  const int nr = pc->kernels->nr, mr = pc->kernels->mr;
  const int hw = pc->geo.h_out * pc->geo.w_out;
  const int per_sample = (hw + CONVNET_ROWS_MR - 1) / CONVNET_ROWS_MR;
  const int groups = job->batch * per_sample;
  const gsize tile_floats = CONVNET_ROWS_MR * CONVNET_ROWS_NR;

  for (int item = begin; item < end; item++)
    {
      const int mp = item / job->pixel_splits * CONVNET_ROWS_PANELS;
      const int split = item % job->pixel_splits;
      const int panels = MIN (CONVNET_ROWS_PANELS, pc->m_panels - mp);
      const int channels = MIN (mr * panels, pc->m - mr * mp);
      const int g_begin = groups * split / job->pixel_splits;
      const int g_end = groups * (split + 1) / job->pixel_splits;
      float *tiles = pc->k > KC
                     ? convnet_thread_scratch (4, (gsize) (g_end - g_begin)
                                                  * tile_floats)
                     : NULL;

      for (int k0 = 0; k0 < pc->k; k0 += KC)
        {
          const int kc = MIN (KC, pc->k - k0);
          const gboolean last = k0 + kc >= pc->k;
          const float *b = pc->a + ((gsize) mp * pc->k + k0) * mr;

          for (int g = g_begin; g < g_end; g++)
            {
              const int n = g / per_sample, q = g % per_sample;
              const int p0 = q * CONVNET_ROWS_MR;
              const float *a = job->shared
                               ? shared_panel (job, n, q / 4)
                                 + (gsize) k0 * nr + q % 4 * CONVNET_ROWS_MR
                               : job->in + n * job->in_sample
                                 + (gsize) k0 * hw
                                 + p0;
              const gsize at = n * job->out_sample + (gsize) mr * mp * hw
                               + p0;
              const ConvnetEpilogue epilogue = {
                .bias = pc->bias ? pc->bias + mr * mp : NULL,
                .residual = job->residual ? job->residual + at : NULL,
                .residual_stride = hw,
                .relu = pc->relu,
              };

              pc->kernels->gemm_rows (
                kc, a, job->shared ? (gsize) nr : (gsize) hw, b,
                (gsize) pc->k * mr, panels,
                tiles ? tiles + (g - g_begin) * tile_floats : NULL, k0 > 0,
                last ? job->out + at : NULL, hw,
                MIN (CONVNET_ROWS_MR, hw - p0), channels, &epilogue);
            }
        }
    }
}

void
convnet_packed_conv_set_streaming (ConvnetPackedConv *pc,
                                   ConvnetStreaming streaming)
{
  pc->streaming = streaming;
}

/* Outputs of STREAM_BYTES or more, computed in one K block, are stored
 * past the caches: a store to a line not in the cache first reads it
 * from memory, and on outputs that large, written pixel panel by panel
 * over every channel, that read was a third of the traffic.  Timed
 * alternately at batch 8 (medians of 5): resnet50 341 -> 305 ms, its
 * layer1 pointwise layers 5.2-7.4 -> 4.2-5.3 ms each, googlenet 100 ->
 * 97 ms; at batch 1, where the outputs are at most 3.2 MB and the next
 * layer finds them in the cache, streaming them cost resnet50 2 %. */
gboolean
convnet_packed_conv_streams (const ConvnetPackedConv *pc, int batch)
{
  if (!pc->kernels->streamed_stores || pc->k > KC
      || pc->streaming == CONVNET_STREAMING_NEVER)
    return FALSE;
  return pc->streaming == CONVNET_STREAMING_ALWAYS
         || (gsize) batch * pc->m * pc->geo.h_out * pc->geo.w_out
            * sizeof (float) >= STREAM_BYTES;
}

void
convnet_packed_conv_set_pixels (ConvnetPackedConv *pc, ConvnetPixelOrder order)
{
  pc->pixels = order;
}

/* Whether a forward of BATCH samples has too few pixel panels to share
 * evenly (small images): every panel is then packed first, and the
 * threads share the weights' rows. */
static gboolean
few_pixel_panels (const ConvnetPackedConv *pc, int batch)
{
  const int nr = pc->kernels->nr;
  const int hw = pc->geo.h_out * pc->geo.w_out;

  return batch * ((hw + nr - 1) / nr) < 4 * convnet_parallel_threads ();
}

/* The rows are taken where they save a tenth of the lanes, on images with
 * few pixel panels, and for CONVNET_ROWS_MIN_CHANNELS output channels or
 * more.  A narrower layer's weights are the smaller operand, and the rows
 * read the input again for every three weight panels: at batch 1 on 14x14
 * maps, 480 -> 64 channels took 0.093 ms in rows against 0.079 in lanes,
 * 32 -> 128 on 7x7 0.025 against 0.028, and resnet's 512 -> 512 3x3 on
 * 7x7 1.21 against 1.46. */
gboolean
convnet_packed_conv_pixel_rows (const ConvnetPackedConv *pc, int batch)
{
  return convnet_rows_chosen (pc->kernels, pc->pixels, batch,
                              (gint64) pc->geo.h_out * pc->geo.w_out, pc->m,
                              90)
         && (pc->pixels == CONVNET_PIXELS_IN_ROWS
             || few_pixel_panels (pc, batch));
}

/* Whether the pixel rows read the input as it is, unpacked: a pointwise
 * layer's unfolded input is the input itself, each channel's plane one
 * row of K, so its groups of seven pixels are seven floats of a plane
 * (gemm_rows reads all seven, so the planes must hold whole groups).
 * Packing it first took a fifth of a 1024 -> 256 layer's time on a 14x14
 * map. */
static gboolean
rows_read_input (const ConvnetPackedConv *pc)
{
  const ConvGeometry *geo = &pc->geo;

  return geo->kh == 1 && geo->kw == 1 && geo->sh == 1 && geo->sw == 1
         && geo->ph == 0 && geo->pw == 0 && geo->groups == 1
         && geo->h_out * geo->w_out % CONVNET_ROWS_MR == 0;
}

void
convnet_packed_conv_forward (const ConvnetPackedConv *pc, float *out,
                             const float *in, const float *residual,
                             int batch, gsize out_sample)
{
  const int nr = pc->kernels->nr;
  const int hw = pc->geo.h_out * pc->geo.w_out;
  const int threads = convnet_parallel_threads ();
  ForwardJob job = {
    .pc = pc, .out = out, .in = in, .residual = residual,
    .out_sample = out_sample ? out_sample : (gsize) pc->m * hw,
    .n_panels = (hw + nr - 1) / nr,
    .panel_pixels = nr,
    .in_sample = (gsize) pc->geo.c_in * pc->geo.h_in * pc->geo.w_in,
    .batch = batch,
    .way = convnet_unfold_way (&pc->geo),
  };
  const int pixel_items = batch * job.n_panels;

  if (job.way == CONVNET_UNFOLD_PHASES)
    {
      float *split;

      job.in_sample = convnet_unfold_phases_floats (&pc->geo);
      split = convnet_thread_scratch (3, batch * job.in_sample);
      convnet_unfold_split_phases (&pc->geo, split, in, batch);
      job.in = split;
    }

  if (convnet_packed_conv_pixel_rows (pc, batch))
    {
      const int co_items = (pc->m_panels + CONVNET_ROWS_PANELS - 1)
                           / CONVNET_ROWS_PANELS;
      const int groups = batch * ((hw + CONVNET_ROWS_MR - 1)
                                  / CONVNET_ROWS_MR);

      job.panel_pixels = 4 * CONVNET_ROWS_MR;
      job.n_panels = (hw + job.panel_pixels - 1) / job.panel_pixels;
      job.k_blocks = (pc->k + KC - 1) / KC;
      /* few weight panels (a narrow layer) leave threads idle: split the
       * pixels' groups too */
      job.pixel_splits = CLAMP ((2 * threads + co_items - 1) / co_items, 1,
                                groups);
      if (!rows_read_input (pc))
        {
          job.shared = convnet_thread_scratch (2, (gsize) batch
                                                  * job.n_panels * pc->k
                                                  * nr);
          convnet_parallel_for (batch * job.n_panels * job.k_blocks,
                                pack_items, &job);
        }
      convnet_parallel_for (co_items * job.pixel_splits, forward_rows_items,
                            &job);
      return;
    }

  /* the threads first pack every panel together, then split the weights'
   * rows, each range over its share of the pixel panels */
  if (few_pixel_panels (pc, batch))
    {
      job.m_splits = MIN (4 * threads, pc->m_panels);
      /* a narrow layer's few weight panels, shared by the threads alone,
       * left one idle a third of the time (3 panels on 2 threads) */
      job.pixel_splits = CLAMP ((4 * threads + job.m_splits - 1)
                                / job.m_splits, 1, pixel_items);
      job.k_blocks = (pc->k + KC - 1) / KC;
      job.shared = convnet_thread_scratch (2, (gsize) pixel_items * pc->k
                                              * nr);
      convnet_parallel_for (pixel_items * job.k_blocks, pack_items, &job);
      convnet_parallel_for (job.m_splits * job.pixel_splits,
                            forward_split_items, &job);
      return;
    }
  job.stream = convnet_packed_conv_streams (pc, batch);
  /* a panel then ends in at most two samples; the loads' offsets are
   * 32-bit */
  job.across_samples = job.way == CONVNET_UNFOLD_LOADS && batch > 1 && hw >= nr
                       && hw % nr != 0
                       && (gint64) batch * job.in_sample < G_MAXINT32 / 2;
  if (job.across_samples)
    convnet_parallel_for (((gsize) batch * hw + nr - 1) / nr, forward_items,
                          &job);
  else
    convnet_parallel_for (pixel_items, forward_items, &job);
}
