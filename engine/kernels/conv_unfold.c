/* conv_unfold.c: the unfolded input of a packed product (conv_gemm.c),
 * a panel of output pixels at a time: what each pixel's window reads, and
 * the panel's rows written from it. */
#include "conv_unfold.h"

#include <string.h>

/* TO[t] = SRC[FIRST + t STRIDE] for t < COUNT, and 0 where that column
 * lies outside the row's WIDTH floats (the padding): a run of a panel's
 * row, or a row of a phase plane. */
static void
copy_strided_run (float *restrict to, const float *restrict src, int first,
                  int stride, int count, int width)
{
  /* the first and one past the last t whose column lies inside the row */
  const int lo = first >= 0 ? 0 : MIN ((-first + stride - 1) / stride, count);
  const int hi = first >= width ? lo
                 : CLAMP ((width - first + stride - 1) / stride, lo, count);

  memset (to, 0, sizeof (float) * lo);
  if (stride == 1)
    memcpy (to + lo, src + first + lo, sizeof (float) * (hi - lo));
  else
    for (int t = lo; t < hi; t++)
      to[t] = src[first + t * stride];
  memset (to + hi, 0, sizeof (float) * (count - hi));
}

/* Writes rows K0 .. K0+KC of the unfolded input for output pixels
 * P0 .. P0+NR_USED into DST (KC x NR, zero past NR_USED), a run of
 * pixels along an output row at a time: for column strides above
 * CONVNET_UNFOLD_MAX_STRIDE and windows of more positions than
 * ConvnetUnfoldWindows holds. */
static void
unfold_panel_by_runs (float *dst, int nr, const float *in,
                      const ConvGeometry *geo, int k0, int kc, int p0,
                      int nr_used)
{
  const int window = geo->kh * geo->kw;
  const gsize plane_size = (gsize) geo->h_in * geo->w_in;

  /* the window position of row K0, then stepped along without the
   * divisions, which cost more than copying a row of a panel */
  const int oy0 = p0 / geo->w_out, ox0 = p0 % geo->w_out;
  int c = k0 / window, ky = (k0 % window) / geo->kw, kx = k0 % geo->kw;

  for (int kk = 0; kk < kc; kk++)
    {
      const float *plane = in + (gsize) c * plane_size;
      float *row = dst + (gsize) kk * nr;
      int j = 0, oy = oy0, ox = ox0;

      while (j < nr_used)
        {
          const int run = MIN (nr_used - j, geo->w_out - ox);
          const int iy = oy * geo->sh - geo->ph + ky * geo->dh;

          if (iy < 0 || iy >= geo->h_in)
            memset (row + j, 0, sizeof (float) * run);
          else
            {
              copy_strided_run (row + j, plane + (gsize) iy * geo->w_in,
                                ox * geo->sw - geo->pw + kx * geo->dw,
                                geo->sw, run, geo->w_in);
            }
          j += run;
          ox = 0;
          oy++;
        }
      memset (row + nr_used, 0, sizeof (float) * (nr - nr_used));
      /* the next row's window position */
      if (++kx == geo->kw)
        {
          kx = 0;
          if (++ky == geo->kh)
            {
              ky = 0;
              c++;
            }
        }
    }
}

/* Input channels up to which a strided convolution splits its input into
 * phases: an image's.  The stems read their few planes kh kw times over,
 * and the stride's loads (a permute or a float at a time) took a fifth
 * of resnet's 7x7 stride-2 stem; a layer of many channels would copy
 * its whole input once more to save less. */
#define PHASES_MAX_CHANNELS 4

/* The sides of a phase plane: the output's, and the rows and columns the
 * window reaches past it. */
static void
phase_sides (const ConvGeometry *geo, int *h, int *w)
{
  *h = geo->h_out + (geo->kh - 1) / geo->sh;
  *w = geo->w_out + (geo->kw - 1) / geo->sw;
}

gsize
convnet_unfold_phases_floats (const ConvGeometry *geo)
{
  int h, w;

  phase_sides (geo, &h, &w);
  return (gsize) geo->c_in * geo->sh * geo->sw * h * w;
}

typedef struct
{
  const ConvGeometry *geo;
  float              *dst;
  const float        *in;
} SplitJob;

/* Writes phase rows: item (n, c, a) is every plane (a, b) of channel c
 * of sample n. */
static void
split_phase_items (gpointer data, int begin, int end)
{
  const SplitJob *job = data;
  const ConvGeometry *geo = job->geo;
  const int s = geo->sw;
  int h, w;

  phase_sides (geo, &h, &w);
  for (int item = begin; item < end; item++)
    {
      const int a = item % s, plane_of = item / s;   /* n c_in + c */
      const float *channel = job->in + (gsize) plane_of * geo->h_in
                                       * geo->w_in;

      for (int b = 0; b < s; b++)
        {
          float *plane = job->dst + ((gsize) plane_of * s * s + a * s + b)
                                    * h * w;

          for (int y = 0; y < h; y++)
            {
              const int iy = s * y + a - geo->ph;
              float *to = plane + (gsize) y * w;

              if (iy < 0 || iy >= geo->h_in)
                memset (to, 0, sizeof (float) * w);
              else
                copy_strided_run (to, channel + (gsize) iy * geo->w_in,
                                  b - geo->pw, s, w, geo->w_in);
            }
        }
    }
}

void
convnet_unfold_split_phases (const ConvGeometry *geo, float *dst,
                             const float *in, int batch)
{
  SplitJob job = { geo, dst, in };

  convnet_parallel_for (batch * geo->c_in * geo->sw, split_phase_items, &job);
}

ConvnetUnfoldWay
convnet_unfold_way (const ConvGeometry *geo)
{
  if (geo->sh == geo->sw && geo->sw > 1 && geo->c_in <= PHASES_MAX_CHANNELS
      && geo->dh == 1 && geo->dw == 1
      && geo->kh * geo->kw <= CONVNET_UNFOLD_MAX_TAPS
      && convnet_unfold_phases_floats (geo) < G_MAXINT32 / 2)
    return CONVNET_UNFOLD_PHASES;
  /* the loads' offsets are 32-bit */
  if (geo->sw <= CONVNET_UNFOLD_MAX_STRIDE
      && geo->kh * geo->kw <= CONVNET_UNFOLD_MAX_TAPS
      && (gint64) (geo->h_in + 2 * geo->ph + geo->kh * geo->dh)
         * (geo->w_in + 2 * geo->pw + geo->kw * geo->dw) < G_MAXINT32)
    return CONVNET_UNFOLD_LOADS;
  return CONVNET_UNFOLD_RUNS;
}

/* Position (ky, kx) of pixel j is inside the image when its row ky is
 * and its column kx is, so a pixel is looked at kh + kw times, not
 * kh kw. */
void
convnet_unfold_describe (ConvnetUnfoldWindows *windows,
                         const ConvGeometry *geo, ConvnetUnfoldWay way,
                         int p0, int nr_used, gsize sample_floats)
{
  const int hw = geo->h_out * geo->w_out;
  const gboolean phases = way == CONVNET_UNFOLD_PHASES;
  /* from one output pixel's window to the next one's along a row */
  const int step = phases ? 1 : geo->sw;
  guint32 row_inside[CONVNET_UNFOLD_MAX_TAPS] = { 0 };
  guint32 column_inside[CONVNET_UNFOLD_MAX_TAPS] = { 0 };
  int n = p0 / hw, oy = p0 % hw / geo->w_out, ox = p0 % geo->w_out;
  int span = -1, last_n = -1, phase_h = 0, phase_w = 0;
  gint32 next_origin = 0;

  if (phases)
    phase_sides (geo, &phase_h, &phase_w);
  windows->runs = 0;
  for (int j = 0; j < nr_used; j++)
    {
      const int iy0 = oy * geo->sh - geo->ph, ix0 = ox * geo->sw - geo->pw;
      const gint32 origin = (gint32) (n * sample_floats)
                            + (phases ? oy * phase_w + ox
                                      : iy0 * geo->w_in + ix0);

      /* a pointwise convolution's panel is one run whatever its rows */
      if (j == 0 || origin != next_origin)
        {
          windows->run_start[windows->runs] = origin - step * j;
          windows->run_lanes[windows->runs++] = 0;
        }
      windows->run_lanes[windows->runs - 1] |= 1u << j;
      next_origin = origin + step;
      /* the reads of each sample's pixels, for the prefetch */
      if (n != last_n)
        {
          windows->span_first[++span] = origin;
          last_n = n;
        }
      windows->span_end[span] = origin + 1;
      /* the split input holds the padding's zeros: every pixel is inside */
      if (!phases)
        {
          for (int ky = 0; ky < geo->kh; ky++)
            {
              const int iy = iy0 + ky * geo->dh;
              if (iy >= 0 && iy < geo->h_in)
                row_inside[ky] |= 1u << j;
            }
          for (int kx = 0; kx < geo->kw; kx++)
            {
              const int ix = ix0 + kx * geo->dw;
              if (ix >= 0 && ix < geo->w_in)
                column_inside[kx] |= 1u << j;
            }
        }
      if (++ox == geo->w_out)
        {
          ox = 0;
          if (++oy == geo->h_out)
            {
              oy = 0;
              n++;
            }
        }
    }
  for (int ky = 0; ky < geo->kh; ky++)
    for (int kx = 0; kx < geo->kw; kx++)
      {
        const int t = ky * geo->kw + kx;
        const int s = geo->sw;

        if (phases)
          {
            windows->tap_offset[t] = ((ky % s * s + kx % s) * phase_h
                                      + ky / s) * phase_w + kx / s;
            windows->inside[t] = nr_used < 32 ? (1u << nr_used) - 1
                                              : 0xffffffffu;
            continue;
          }
        windows->tap_offset[t] = ky * geo->dh * geo->w_in + kx * geo->dw;
        windows->inside[t] = row_inside[ky] & column_inside[kx];
      }
  windows->taps = geo->kh * geo->kw;
  windows->plane = phases ? (gsize) geo->sh * geo->sw * phase_h * phase_w
                          : (gsize) geo->h_in * geo->w_in;
  windows->spans = span + 1;
  windows->stride = step;
  /* 16 rows of a pointwise layer's panel ahead, 18 of a 3x3's: the
   * fastest of 8 to 144 rows, timed on layers whose input had left the
   * cache */
  windows->ahead_planes = MAX (2, 16 / windows->taps);
}

void
convnet_unfold_panel (float *dst, const ConvnetKernels *kernels,
                      const ConvGeometry *geo, ConvnetUnfoldWay way,
                      const ConvnetUnfoldWindows *windows, const float *in,
                      int k0, int kc, int p0, int nr_used)
{
  if (way != CONVNET_UNFOLD_RUNS)
    kernels->unfold_rows (dst, in, windows, k0, kc);
  else
    unfold_panel_by_runs (dst, kernels->nr, in, geo, k0, kc, p0, nr_used);
}
