/* conv_winograd.c: Y = A^T [ (G g G^T) . (B^T d B) ] A over the image's
 * m x m output tiles.  For each of the T^2 transform positions p the
 * elementwise products summed over input channels are one matrix product,
 *   M[p][oc][tile] = sum_ic U[p][oc][ic] V[p][ic][tile],
 * run on the micro-kernel with U packed once as its A panels and V
 * written by the input transform straight into its B panel layout.
 *
 * In the tiles' order a work item is one panel of NR tiles (all samples'
 * tiles numbered together) and a range of output channels: it transforms
 * the panel's input, multiplies block by block of output channels into a
 * buffer that stays in L2, and transforms each block back into the output
 * with the epilogue, so the transformed planes never go out to memory.
 * Where U is megabytes (deep layers) that order reads all of U once per
 * panel; the weights' order instead transforms a group of panels first
 * and makes a work item one block of U over the group (weight_major). */
#include "conv_winograd.h"
#include "winograd_transforms.h"

#include <string.h>

/* depth of a K block, as in conv_gemm.c */
#define KC 256
/* bound of one output-channel block's products, T^2 x rows x NR floats:
 * 256 KB, a quarter of L2 */
#define PRODUCT_FLOATS 65536
/* bound of the share of U a weight-major work item keeps in L2 while the
 * tile panels pass through it: 512 KB, half of L2 */
#define U_BLOCK_FLOATS 131072
/* U from this size on is read in the weight-major order (see
 * weight_major): 12 MB, or 4 MB when the tile panels are few */
#define WEIGHT_MAJOR_FLOATS 3145728
#define FEW_PANELS_WEIGHT_MAJOR_FLOATS 1048576
/* bound of a group of tile panels' transformed input in that order: 4 MB,
 * which stays in the shared cache while every block of U passes over it */
#define GROUP_FLOATS 1048576

struct ConvnetWinogradConv
{
  const ConvnetKernels     *kernels;
  const WinogradTransforms *transforms;
  ConvGeometry              geo;
  int                       m;          /* output tile side */
  int                       positions;  /* T^2, T = m + r - 1 */
  int                       m_panels;
  float                    *u;          /* positions x m_panels x c_in x mr */
  float                    *bias;       /* c_out, or NULL */
  gboolean                  relu;
  gboolean                  borrowed;   /* U is the caller's */
  ConvnetWinogradOrder      order;
  int                       group_panels; /* 0: by GROUP_FLOATS */
  ConvnetPixelOrder         pixels;
};

/* The filter transform G g G^T's matrices G, for F(2,3), F(4,3) and
 * F(2,5): row p of F(m,r)'s is (1, p, .., p^(r-1)) / prod over the other
 * finite points q of (p - q), for the points 0, +-1, +-2, and the last
 * (infinity) is (0, .., 0, 1). */
static const double g_f23[4][3] = {
  { 1, 0, 0 }, { 0.5, 0.5, 0.5 }, { 0.5, -0.5, 0.5 }, { 0, 0, 1 },
};
static const double g_f43[6][3] = {
  { 1.0 / 4, 0, 0 },
  { -1.0 / 6, -1.0 / 6, -1.0 / 6 },
  { -1.0 / 6, 1.0 / 6, -1.0 / 6 },
  { 1.0 / 24, 1.0 / 12, 1.0 / 6 },
  { 1.0 / 24, -1.0 / 12, 1.0 / 6 },
  { 0, 0, 1 },
};
static const double g_f25[6][5] = {
  { 1.0 / 4, 0, 0, 0, 0 },
  { -1.0 / 6, -1.0 / 6, -1.0 / 6, -1.0 / 6, -1.0 / 6 },
  { -1.0 / 6, 1.0 / 6, -1.0 / 6, 1.0 / 6, -1.0 / 6 },
  { 1.0 / 24, 1.0 / 12, 1.0 / 6, 1.0 / 3, 2.0 / 3 },
  { 1.0 / 24, -1.0 / 12, 1.0 / 6, -1.0 / 3, 2.0 / 3 },
  { 0, 0, 0, 0, 1 },
};

gboolean
convnet_winograd_applies (const ConvGeometry *geo)
{
  return (geo->kh == 3 || geo->kh == 5) && geo->kw == geo->kh
         && geo->sh == 1 && geo->sw == 1
         && geo->dh == 1 && geo->dw == 1 && geo->groups == 1
         && geo->ph >= 0 && geo->pw >= 0 && geo->c_in > 0 && geo->c_out > 0
         && geo->h_out > 0 && geo->w_out > 0
         && geo->h_out == geo->h_in + 2 * geo->ph - (geo->kh - 1)
         && geo->w_out == geo->w_in + 2 * geo->pw - (geo->kw - 1);
}

/* Measured on each layer alone (bench/winograd_variants.c, fastest of
 * 40-60 rounds); with weight_major's rule below, resnet18 at batch 1 went
 * from 16.9 to 15.9 ms and googlenet from 15.8 to 14.4 (medians of 8
 * alternating runs of each build):
 * - F(4x4,3x3) makes 4x fewer products than the direct sum but its
 *   filters are 4x larger and its tiles cover a map whose side is not a
 *   multiple of 4 with wasted outputs (14x14: 16x16); F(2x2,3x3) makes
 *   2.25x fewer, with filters 1.8x larger.  At batch 1 to 3, F(4,3) wins
 *   on maps whose sides are multiples of 4 (28x28, 96 -> 128 channels:
 *   0.37-0.46 ms against F(2,3)'s 0.59-0.64; 128 -> 192: 0.66-0.77
 *   against 1.02-1.19), and loses where they are not (13x13, 14x14).
 * - With fewer than 32 input channels at batch 1 to 3 (googlenet's
 *   narrow 3x3 branches), the transforms cost more than the products
 *   they save: 16 -> 48 on 14x14 took 0.021-0.023 ms packed against
 *   F(2,3)'s 0.026-0.071.
 * - On 7x7 maps at batch 1 the packed product wins or ties: 512 -> 512
 *   took 1.19-1.36 ms against F(2,3)'s 1.12-1.26 alone, but F(2,3)'s
 *   16.8 MB of filters against 9.4 leave it behind when they come from
 *   memory; 192 -> 384 0.37-0.46 against 0.30-0.54.  At batch 2 and 3
 *   their tiles fill F(2,3)'s products (four sweeps): 512 -> 512 took
 *   1.86-1.98 ms against the packed product's 2.44-2.72 at batch 2 and
 *   2.42-4.53 against 3.49-6.85 at batch 3, googlenet's 160 -> 320
 *   0.39-0.57 against 0.53-0.87 at batch 2.  Smaller maps were not
 *   measured and keep the packed product.
 * - The widest layers take F(2,3), which keeps vgg16's filters near
 *   120 MB instead of 235 and its peak memory within the weights +
 *   200 MB.
 * - A 5x5 kernel (alexnet's second layer) takes F(2x2,5x5), 2.8x fewer
 *   products. */
int
convnet_winograd_variant (const ConvGeometry *geo, int batch)
{
  const int pixels = geo->h_out * geo->w_out;
  const gboolean few = batch < 4;

  if (!convnet_winograd_applies (geo) || geo->c_in < 8)
    return 0;
  if (few && geo->c_in < 32)
    return 0;
  if (few && pixels < 10 * 10)
    return batch > 1 && pixels >= 7 * 7 ? 2 : 0;
  if (geo->kh == 5)
    return 2;
  if ((gint64) geo->c_in * geo->c_out > 256 * 256)
    return 2;
  if (few && pixels < 40 * 40
      && (geo->h_out % 4 != 0 || geo->w_out % 4 != 0))
    return 2;
  return 4;
}

static const WinogradTransforms *
transforms_for (const ConvnetKernels *kernels)
{
  const WinogradTransforms *t = NULL;

  if (strcmp (kernels->isa, "generic") == 0)
    t = &convnet_winograd_generic;
#ifdef CONVNET_HAVE_X86_KERNELS
  else if (strcmp (kernels->isa, "avx2") == 0)
    t = &convnet_winograd_avx2;
  else if (strcmp (kernels->isa, "avx512") == 0)
    t = &convnet_winograd_avx512;
#endif
  return t && t->lanes == kernels->nr ? t : NULL;
}

/* A transform of GEO for KERNELS and OUTPUT_TILE without its filters
 * yet; NULL when they do not apply. */
static ConvnetWinogradConv *
winograd_conv_shell (const ConvnetKernels *kernels, const ConvGeometry *geo,
                     gboolean relu, int output_tile)
{
  const WinogradTransforms *transforms = transforms_for (kernels);
  const int mr = kernels->mr;
  ConvnetWinogradConv *wc;
  int t;

  if (!transforms || !convnet_winograd_applies (geo)
      || !(output_tile == 2 || (output_tile == 4 && geo->kh == 3)))
    return NULL;
  t = output_tile + geo->kh - 1;
  wc = g_new0 (ConvnetWinogradConv, 1);
  wc->kernels = kernels;
  wc->transforms = transforms;
  wc->geo = *geo;
  wc->m = output_tile;
  wc->positions = t * t;
  wc->m_panels = (geo->c_out + mr - 1) / mr;
  wc->relu = relu;
  return wc;
}

gsize
convnet_winograd_conv_packed_bytes (const ConvnetKernels *kernels,
                                    const ConvGeometry *geo, int output_tile)
{
  const int mr = kernels->mr;
  const int t = output_tile + geo->kh - 1;

  return (gsize) t * t * ((geo->c_out + mr - 1) / mr) * geo->c_in * mr
         * sizeof (float);
}

ConvnetWinogradConv *
convnet_winograd_conv_new_from (const ConvnetKernels *kernels,
                                const ConvGeometry *geo, const float *packed,
                                const float *bias, gboolean relu,
                                int output_tile)
{
  ConvnetWinogradConv *wc = winograd_conv_shell (kernels, geo, relu,
                                                 output_tile);

  if (!wc)
    return NULL;
  wc->u = (float *) packed;
  wc->borrowed = TRUE;
  if (bias)
    wc->bias = g_memdup2 (bias, geo->c_out * sizeof (float));
  return wc;
}

const float *
convnet_winograd_conv_packed (const ConvnetWinogradConv *wc,
                              const float **bias)
{
  *bias = wc->bias;
  return wc->u;
}

ConvnetWinogradConv *
convnet_winograd_conv_new (const ConvnetKernels *kernels,
                           const ConvGeometry *geo, const float *weight,
                           const float *bias, const double *scale,
                           const double *shift, gboolean relu,
                           int output_tile)
{
  ConvnetWinogradConv *wc = winograd_conv_shell (kernels, geo, relu,
                                                 output_tile);
  const int mr = kernels->mr;
  const int r = geo->kh, t = output_tile + r - 1;
  const double *g_matrix = r == 5 ? &g_f25[0][0]
                           : t == 4 ? &g_f23[0][0] : &g_f43[0][0];

  if (!wc)
    return NULL;
  wc->u = convnet_packed_alloc (convnet_winograd_conv_packed_bytes (
                                  kernels, geo, output_tile));
  if (!wc->u)
    {
      g_free (wc);
      return NULL;
    }
  for (int oc = 0; oc < geo->c_out; oc++)
    for (int ic = 0; ic < geo->c_in; ic++)
      {
        const float *g = weight + ((gsize) oc * geo->c_in + ic) * r * r;
        const double s = scale ? scale[oc] : 1.0;
        double gg[6][5];   /* G g */

        for (int i = 0; i < t; i++)
          for (int j = 0; j < r; j++)
            {
              gg[i][j] = 0;
              for (int k = 0; k < r; k++)
                gg[i][j] += g_matrix[i * r + k] * g[k * r + j];
            }
        for (int i = 0; i < t; i++)
          for (int j = 0; j < t; j++)
            {
              double u = 0;
              for (int k = 0; k < r; k++)
                u += gg[i][k] * g_matrix[j * r + k];
              wc->u[(((gsize) (i * t + j) * wc->m_panels + oc / mr) * geo->c_in
                     + ic) * mr + oc % mr] = (float) (u * s);
            }
      }
  if (bias || scale)
    {
      wc->bias = g_new (float, geo->c_out);
      for (int oc = 0; oc < geo->c_out; oc++)
        {
          const double b = bias ? bias[oc] : 0.0;
          wc->bias[oc] = scale ? (float) (b * scale[oc] + shift[oc])
                               : (float) b;
        }
    }
  return wc;
}

void
convnet_winograd_conv_free (ConvnetWinogradConv *wc)
{
  if (!wc)
    return;
  if (!wc->borrowed)
    convnet_packed_free (wc->u);
  g_free (wc->bias);
  g_free (wc);
}

gsize
convnet_winograd_conv_bytes (const ConvnetWinogradConv *wc)
{
  return (gsize) wc->positions * wc->m_panels * wc->geo.c_in
         * wc->kernels->mr * sizeof (float)
         + (wc->bias ? wc->geo.c_out * sizeof (float) : 0);
}

/* Whether to pass U (positions x c_out x c_in) over the tiles block by
 * block, rather than pass each tile panel over all of U: U is then read
 * from memory once per group of tile panels (GROUP_FLOATS of transformed
 * input) rather than once per panel, and with few panels no input is
 * transformed twice.  Measured on resnet18 and vgg16 (bench/conv_layers.c
 * and per-node profiles): a gain when U is more than the shared cache
 * keeps between panels (512 channels: 16.8 MB), or when U is megabytes
 * and the panels too few to share out (256 channels at 14 x 14, batch
 * 1); a loss for 128 channels, and for 256 over many panels.  With fewer
 * panels than two a thread (batch 1 on 13x13 to 28x28 maps) the tiles'
 * order transforms each panel's input again for each range of output
 * channels; there the weights' order took 0.25-0.36 ms against 0.33-0.46
 * on googlenet's 14x14 layers and 0.74-1.00 against 0.94-1.29 on
 * alexnet's 13x13 (bench/winograd_variants.c, fastest of 40-80). */
static gboolean
weight_major (const ConvnetWinogradConv *wc, int panels, int threads)
{
  const gsize u = (gsize) wc->positions * wc->geo.c_out * wc->geo.c_in;

  if (wc->order != CONVNET_WINOGRAD_ORDER_AUTO)
    return wc->order == CONVNET_WINOGRAD_ORDER_WEIGHTS;
  return u >= WEIGHT_MAJOR_FLOATS || panels < 2 * threads
         || (u >= FEW_PANELS_WEIGHT_MAJOR_FLOATS && panels < 4 * threads);
}

void
convnet_winograd_conv_set_order (ConvnetWinogradConv *wc,
                                 ConvnetWinogradOrder order, int group_panels)
{
  wc->order = order;
  wc->group_panels = MAX (group_panels, 0);
}

typedef struct
{
  const ConvnetWinogradConv *wc;
  WinogradShape              shape;
  float                     *out;
  const float               *in;
  const float               *residual;
  int                        m_splits;    /* channel ranges per tile panel */
  int                        block_panels; /* output-channel panels a block */
  /* weight-major order: a group of tile panels from FIRST_PANEL, their
   * transformed input, and the input channel ranges a panel's transform
   * is shared out in */
  int                        first_panel, group_panels;
  float                     *v_group;
  int                        c_splits;
  /* tiles a panel holds: NR, or with TILE_ROWS 4 groups of
   * CONVNET_ROWS_MR, so that no group spans two panels */
  int                        panel_tiles;
  gboolean                   tile_rows;
} ForwardJob;

/* multiply_block with the tiles as gemm_rows's broadcast rows, seven at
 * a time, for the TILES (at most 4 CONVNET_ROWS_MR) of the panel: each
 * block of three weight panels' U passes over the groups of seven, and
 * gemm_rows stores each group's products into PRODUCTS' lanes. */
static void
multiply_block_rows (const ConvnetWinogradConv *wc, const float *v,
                     float *products, int mb, int mb_end, int tiles)
{
  const int mr = wc->kernels->mr, nr = wc->kernels->nr;
  const int c_in = wc->geo.c_in, c_out = wc->geo.c_out;
  const int rows = MIN (mb_end * mr, c_out) - mb * mr;
  const int groups = (tiles + CONVNET_ROWS_MR - 1) / CONVNET_ROWS_MR;
  const gsize tile_floats = CONVNET_ROWS_MR * CONVNET_ROWS_NR;
  float sums[4 * CONVNET_ROWS_MR * CONVNET_ROWS_NR];

  for (int p = 0; p < wc->positions; p++)
    for (int mp = mb; mp < mb_end; mp += CONVNET_ROWS_PANELS)
      {
        const int panels = MIN (CONVNET_ROWS_PANELS, mb_end - mp);
        const int channels = MIN (mr * panels, c_out - mp * mr);
        float *m = products + ((gsize) p * rows + (mp - mb) * mr) * nr;

        for (int k0 = 0; k0 < c_in; k0 += KC)
          {
            const int kc = MIN (KC, c_in - k0);
            const float *u = wc->u + (((gsize) p * wc->m_panels + mp) * c_in
                                      + k0) * mr;

            for (int q = 0; q < groups; q++)
              wc->kernels->gemm_rows (
                kc, v + ((gsize) p * c_in + k0) * nr + q * CONVNET_ROWS_MR,
                nr, u, (gsize) c_in * mr, panels, sums + q * tile_floats,
                k0 > 0, k0 + kc >= c_in ? m + q * CONVNET_ROWS_MR : NULL, nr,
                CONVNET_ROWS_MR, channels, NULL);
          }
      }
}

/* PRODUCTS[p][row][tile] for the output-channel panels MB .. MB_END of a
 * tile panel of TILES tiles whose transformed input is V. */
static void
multiply_block (const ForwardJob *job, const float *v, float *products,
                int mb, int mb_end, int tiles)
{
  const ConvnetWinogradConv *wc = job->wc;
  const int mr = wc->kernels->mr, nr = wc->kernels->nr;
  const int c_in = wc->geo.c_in, c_out = wc->geo.c_out;
  const int rows = MIN (mb_end * mr, c_out) - mb * mr;

  if (job->tile_rows)
    {
      multiply_block_rows (wc, v, products, mb, mb_end, tiles);
      return;
    }
  for (int p = 0; p < wc->positions; p++)
    for (int k0 = 0; k0 < c_in; k0 += KC)
      {
        const int kc = MIN (KC, c_in - k0);
        const float *b = v + ((gsize) p * c_in + k0) * nr;

        for (int mp = mb; mp < mb_end; mp++)
          wc->kernels->gemm_tile (
            kc, wc->u + (((gsize) p * wc->m_panels + mp) * c_in + k0) * mr,
            b, products + ((gsize) p * rows + (mp - mb) * mr) * nr, nr,
            MIN (mr, c_out - mp * mr), nr, k0 > 0, NULL);
      }
}

/* The weight panels the channel ranges and blocks are whole multiples of:
 * with the tiles in rows gemm_rows's CONVNET_ROWS_PANELS, else 1. */
static int
panel_unit (const ForwardJob *job)
{
  return job->tile_rows ? CONVNET_ROWS_PANELS : 1;
}

/* PANELS rounded down to whole units, and at least one unit. */
static int
whole_units (const ForwardJob *job, int panels)
{
  const int unit = panel_unit (job);

  return MAX (unit, panels / unit * unit);
}

/* The shape of the forward clipped to the panel from tile FIRST: with
 * the tiles in rows a panel holds fewer tiles than its NR lanes, and
 * the transforms must neither compute nor store the next panel's. */
static WinogradShape
panel_shape (const ForwardJob *job, int first)
{
  WinogradShape shape = job->shape;

  shape.tiles = MIN (shape.tiles, first + job->panel_tiles);
  return shape;
}

/* One work item: a panel of tiles (NR, or PANEL_TILES in rows) times one
 * range of the output channels' panels. */
static void
forward_items (gpointer data, int begin, int end)
{
  const ForwardJob *job = data;
  const ConvnetWinogradConv *wc = job->wc;
  const int mr = wc->kernels->mr, nr = wc->kernels->nr;
  const int c_in = wc->geo.c_in, c_out = wc->geo.c_out;
  const int positions = wc->positions;
  const int block_rows = job->block_panels * mr;
  float *v = convnet_thread_scratch (0, (gsize) positions * c_in * nr);
  float *products = convnet_thread_scratch (1, (gsize) positions * block_rows
                                               * nr);

  for (int item = begin; item < end; item++)
    {
      const int split = item % job->m_splits;
      const int first = item / job->m_splits * job->panel_tiles;
      const int unit = panel_unit (job);
      const int units = (wc->m_panels + unit - 1) / unit;
      const int mp_begin = MIN (units * split / job->m_splits * unit,
                                wc->m_panels);
      const int mp_end = MIN (units * (split + 1) / job->m_splits * unit,
                              wc->m_panels);
      const WinogradShape shape = panel_shape (job, first);

      wc->transforms->input (&shape, v, job->in, first, 0, c_in);
      for (int mb = mp_begin; mb < mp_end; mb += job->block_panels)
        {
          const int mb_end = MIN (mb + job->block_panels, mp_end);
          const int rows = MIN (mb_end * mr, c_out) - mb * mr;

          multiply_block (job, v, products, mb, mb_end, shape.tiles - first);
          wc->transforms->output (&shape, job->out, products, rows,
                                  mb * mr, first, wc->bias, job->residual,
                                  wc->relu);
        }
    }
}

/* The weight-major order's first step: a tile panel's input transform
 * for one range of the input channels. */
static void
transform_items (gpointer data, int begin, int end)
{
  const ForwardJob *job = data;
  const ConvnetWinogradConv *wc = job->wc;
  const int nr = wc->kernels->nr, c_in = wc->geo.c_in;

  for (int item = begin; item < end; item++)
    {
      const int panel = item / job->c_splits, split = item % job->c_splits;
      const int first = (job->first_panel + panel) * job->panel_tiles;
      const WinogradShape shape = panel_shape (job, first);

      wc->transforms->input (&shape,
                             job->v_group + (gsize) panel * wc->positions
                                            * c_in * nr,
                             job->in, first, c_in * split / job->c_splits,
                             c_in * (split + 1) / job->c_splits);
    }
}

/* Its second: one block of output channels' panels over the group's tile
 * panels, so that the block's share of U is read from memory once a group
 * and stays in L2 while the panels pass. */
static void
weight_major_items (gpointer data, int begin, int end)
{
  const ForwardJob *job = data;
  const ConvnetWinogradConv *wc = job->wc;
  const int mr = wc->kernels->mr, nr = wc->kernels->nr;
  const gsize panel_floats = (gsize) wc->positions * wc->geo.c_in * nr;
  float *products = convnet_thread_scratch (1, (gsize) wc->positions
                                               * job->block_panels * mr * nr);

  for (int item = begin; item < end; item++)
    {
      const int mb = item * job->block_panels;
      const int mb_end = MIN (mb + job->block_panels, wc->m_panels);
      const int rows = MIN (mb_end * mr, wc->geo.c_out) - mb * mr;

      for (int panel = 0; panel < job->group_panels; panel++)
        {
          const int first = (job->first_panel + panel) * job->panel_tiles;
          const WinogradShape shape = panel_shape (job, first);

          multiply_block (job, job->v_group + panel * panel_floats, products,
                          mb, mb_end, shape.tiles - first);
          wc->transforms->output (&shape, job->out, products, rows, mb * mr,
                                  first, wc->bias, job->residual, wc->relu);
        }
    }
}

void
convnet_winograd_conv_set_pixels (ConvnetWinogradConv *wc,
                                  ConvnetPixelOrder order)
{
  wc->pixels = order;
}

/* The tiles of a forward of BATCH samples, all numbered together. */
static gint64
batch_tiles (const ConvnetWinogradConv *wc, int batch)
{
  return (gint64) batch * ((wc->geo.h_out + wc->m - 1) / wc->m)
         * ((wc->geo.w_out + wc->m - 1) / wc->m);
}

/* As convnet_packed_conv_pixel_rows decides for the packed product, for
 * CONVNET_ROWS_MIN_CHANNELS output channels or more, but only where the
 * rows compute 15 % fewer lanes: a panel of rows holds 28 tiles, and the
 * transforms still work on 32 lanes, 4 of them empty.  Timed alternately at batch 1, fastest of
 * 60: on 49 tiles (14x14 and 13x13 maps in F(2,3)) the rows took 0.82
 * to 0.97 of the lanes' time; on 196 (28x28 in F(2,3), 56x56 in F(4,3),
 * 87.5 % of the lanes used) 0.85 to 1.08, and at batch 2 1.02 to 1.07. */
gboolean
convnet_winograd_conv_tile_rows (const ConvnetWinogradConv *wc, int batch)
{
  /* the batch's tiles are numbered together, so one "sample" of them */
  return convnet_rows_chosen (wc->kernels, wc->pixels, 1,
                              batch_tiles (wc, batch), wc->geo.c_out, 85);
}

/* Tiles a panel holds: the micro-kernel's lanes, or in rows four groups
 * of its rows (multiply_block_rows). */
static int
panel_tiles (const ConvnetWinogradConv *wc, gboolean tile_rows)
{
  return tile_rows ? 4 * CONVNET_ROWS_MR : wc->kernels->nr;
}

/* The panels of tiles a forward of BATCH samples works through. */
static int
tile_panels (const ConvnetWinogradConv *wc, int batch, gboolean tile_rows)
{
  const int per_panel = panel_tiles (wc, tile_rows);

  return (int) ((batch_tiles (wc, batch) + per_panel - 1) / per_panel);
}

gboolean
convnet_winograd_conv_weight_order (const ConvnetWinogradConv *wc, int batch,
                                    int threads)
{
  return weight_major (
    wc, tile_panels (wc, batch, convnet_winograd_conv_tile_rows (wc, batch)),
    threads);
}

void
convnet_winograd_conv_forward (const ConvnetWinogradConv *wc, float *out,
                               const float *in, const float *residual,
                               int batch, gsize out_sample)
{
  const ConvGeometry *geo = &wc->geo;
  const int nr = wc->kernels->nr, mr = wc->kernels->mr;
  const int threads = convnet_parallel_threads ();
  const int tiles_h = (geo->h_out + wc->m - 1) / wc->m;
  const int tiles_w = (geo->w_out + wc->m - 1) / wc->m;
  ForwardJob job = {
    .wc = wc, .out = out, .in = in, .residual = residual,
    .shape = {
      .m = wc->m, .r = geo->kh,
      .c_in = geo->c_in, .h_in = geo->h_in, .w_in = geo->w_in,
      .c_out = geo->c_out, .h_out = geo->h_out, .w_out = geo->w_out,
      .ph = geo->ph, .pw = geo->pw,
      .tiles_w = tiles_w, .tiles_per_sample = tiles_h * tiles_w,
      .tiles = batch * tiles_h * tiles_w,
      .out_sample = out_sample ? out_sample
                               : (gsize) geo->c_out * geo->h_out * geo->w_out,
    },
    .m_splits = 1,
    .block_panels = MAX (1, PRODUCT_FLOATS / (wc->positions * nr * mr)),
  };
  int panels;

  job.tile_rows = convnet_winograd_conv_tile_rows (wc, batch);
  job.panel_tiles = panel_tiles (wc, job.tile_rows);
  job.block_panels = whole_units (&job, job.block_panels);
  panels = tile_panels (wc, batch, job.tile_rows);
  if (weight_major (wc, panels, threads))
    {
      const gsize panel_floats = (gsize) wc->positions * geo->c_in * nr;
      const gsize u_panel = (gsize) wc->positions * mr * geo->c_in;
      const int group = CLAMP (wc->group_panels > 0
                               ? wc->group_panels
                               : (int) (GROUP_FLOATS / panel_floats),
                               1, panels);

      /* blocks of U within L2, and at least four for each thread */
      job.block_panels = whole_units (
        &job, CLAMP ((int) (U_BLOCK_FLOATS / u_panel), 1,
                     MAX (wc->m_panels / (4 * threads), 1)));
      job.v_group = convnet_thread_scratch (3, group * panel_floats);
      for (job.first_panel = 0; job.first_panel < panels;
           job.first_panel += group)
        {
          job.group_panels = MIN (group, panels - job.first_panel);
          job.c_splits = CLAMP ((2 * threads + job.group_panels - 1)
                                / job.group_panels, 1,
                                MAX (geo->c_in / 16, 1));
          convnet_parallel_for (job.group_panels * job.c_splits,
                                transform_items, &job);
          convnet_parallel_for ((wc->m_panels + job.block_panels - 1)
                                / job.block_panels, weight_major_items, &job);
        }
      return;
    }
  /* too few tile panels to share evenly: split the output channels too,
   * each range transforming the same input panel again */
  if (panels < 4 * threads)
    job.m_splits = CLAMP ((4 * threads + panels - 1) / panels, 1,
                          (wc->m_panels + panel_unit (&job) - 1)
                          / panel_unit (&job));
  convnet_parallel_for (panels * job.m_splits, forward_items, &job);
}
