/* conv_train.c: a training convolution's forward on packed weights and its
 * backward shared out over the threads by samples.  Per sample, with
 * Y = W . col(X) as in ops/conv2d.c:
 *   dW += dY . col(X)^T      dcol = W^T . dY,  dX += col2im (dcol)
 * each product on the micro-kernels; a 1x1 stride-1 unpadded convolution
 * reads and writes X's layout directly.  Convolutions with few channels
 * run on the direct kernels (conv_direct.h) instead, forward and
 * backward. */
#include "conv_train.h"

#include "conv_direct.h"
#include "conv_gemm.h"
#include "matmul.h"

#include <string.h>

struct ConvnetTrainConv
{
  ConvnetPackedConv    *packed;
  const ConvnetKernels *kernels;
  const float          *weight;
  const float          *bias;
  guint64               serial;
};

void
convnet_train_conv_free (ConvnetTrainConv *tc)
{
  if (!tc)
    return;
  convnet_packed_conv_free (tc->packed);
  g_free (tc);
}

typedef struct
{
  const ConvnetDirectKernels *direct;
  const ConvGeometry  *geo;
  float               *out;
  const float         *in, *weight, *bias;
} DirectForwardJob;

static void
direct_forward_samples (gpointer data, int begin, int end)
{
  const DirectForwardJob *job = data;
  const ConvGeometry *geo = job->geo;
  const gsize in_sample = (gsize) geo->c_in * geo->h_in * geo->w_in;
  const gsize out_sample = (gsize) geo->c_out * geo->h_out * geo->w_out;
  float *work = convnet_matmul_thread_work
                  (convnet_conv_direct_work_floats (geo));

  job->direct->forward (job->out + begin * out_sample,
                        job->in + begin * in_sample, job->weight, job->bias,
                        geo, end - begin, work);
}

gboolean
convnet_train_conv_forward (ConvnetTrainConv **cache,
                            const ConvnetKernels *kernels,
                            const ConvGeometry *geo, const float *weight,
                            const float *bias, guint64 serial,
                            gboolean repack, float *out, const float *in,
                            int batch)
{
  ConvnetTrainConv *tc = *cache;

  if (geo->groups != 1)
    return FALSE;
  if (convnet_conv_direct_fits (geo))
    {
      DirectForwardJob job = {
        .direct = convnet_conv_direct_for (kernels),
        .geo = geo, .out = out, .in = in, .weight = weight, .bias = bias,
      };
      convnet_parallel_for (batch, direct_forward_samples, &job);
      return TRUE;
    }
  if (!tc)
    tc = *cache = g_new0 (ConvnetTrainConv, 1);
  if (tc->packed && tc->kernels == kernels && tc->weight == weight
      && tc->bias == bias && (repack || tc->serial != serial))
    {
      convnet_packed_conv_repack (tc->packed, weight, bias);
      tc->serial = serial;
    }
  else if (!tc->packed || tc->kernels != kernels || tc->weight != weight
           || tc->bias != bias)
    {
      convnet_packed_conv_free (tc->packed);
      tc->packed = convnet_packed_conv_new (kernels, geo, weight, bias, NULL,
                                            NULL, FALSE);
      tc->kernels = kernels;
      tc->weight = weight;
      tc->bias = bias;
      tc->serial = serial;
      if (!tc->packed)
        return FALSE;
    }
  convnet_packed_conv_forward (tc->packed, out, in, NULL, batch, 0);
  return TRUE;
}

/* ------------------------------------------------------------ backward */

static gboolean
is_pointwise (const ConvGeometry *geo)
{
  return geo->kh == 1 && geo->kw == 1 && geo->sh == 1 && geo->sw == 1
         && geo->ph == 0 && geo->pw == 0;
}

/* floats, rounded up to whole cache lines */
static gsize
lines (gsize floats)
{
  return (floats + 15) & ~(gsize) 15;
}

/* Samples whose weight-gradient products are taken as one, so that the
 * sum runs over at least GROUP_PIXELS output pixels: in deep layers a
 * sample has a few dozen, too few to pay for loading and storing the
 * gradient's tiles once per sample. */
#define GROUP_PIXELS 256

static int
samples_per_group (const ConvGeometry *geo)
{
  const int hw = geo->h_out * geo->w_out;

  return hw >= GROUP_PIXELS ? 1 : (GROUP_PIXELS + hw - 1) / hw;
}

/* One thread's workspace: the column matrix (of a group of samples) and
 * the group's dY, the products' packing, the weight gradient (slices after
 * the first), the bias sums in double and the direct kernels' lanes. */
static gsize
slice_floats (const ConvnetKernels *kernels, const ConvGeometry *geo)
{
  const gsize k = (gsize) geo->c_in * geo->kh * geo->kw;
  const gsize hw = (gsize) geo->h_out * geo->w_out;

  const gsize group = samples_per_group (geo);

  return lines (is_pointwise (geo) && group == 1 ? 0 : k * hw * group)
         + lines (group > 1 ? (gsize) geo->c_out * hw * group : 0)
         + lines (convnet_matmul_work_floats (kernels,
                                              MAX (geo->c_out, (int) k)))
         + lines ((gsize) geo->c_out * k) + lines (2 * (gsize) geo->c_out)
         + (convnet_conv_direct_fits (geo)
            ? lines ((gsize) geo->c_out * k * CONVNET_DIRECT_MAX_LANES) : 0);
}

gsize
convnet_conv2d_backward_fast_scratch (const ConvnetKernels *kernels,
                                      const ConvGeometry *geo, int threads)
{
  /* + one line to align the start */
  return slice_floats (kernels, geo) * MAX (threads, 1) + 16;
}

typedef struct
{
  float  *col, *dy_group, *work, *dw;
  double *bias_sum;
  float  *lanes;      /* the direct kernels' per-lane weight gradient */
} SliceParts;

static SliceParts
slice_parts (const ConvnetKernels *kernels, const ConvGeometry *geo,
             float *slice)
{
  const gsize k = (gsize) geo->c_in * geo->kh * geo->kw;
  const gsize hw = (gsize) geo->h_out * geo->w_out;
  SliceParts parts;

  const gsize group = samples_per_group (geo);

  parts.col = slice;
  parts.dy_group = parts.col
                   + lines (is_pointwise (geo) && group == 1 ? 0
                                                            : k * hw * group);
  parts.work = parts.dy_group
               + lines (group > 1 ? (gsize) geo->c_out * hw * group : 0);
  parts.dw = parts.work
             + lines (convnet_matmul_work_floats (kernels,
                                                  MAX (geo->c_out, (int) k)));
  parts.bias_sum = (double *) (parts.dw + lines ((gsize) geo->c_out * k));
  parts.lanes = (float *) parts.bias_sum + lines (2 * (gsize) geo->c_out);
  return parts;
}

typedef struct
{
  const ConvnetKernels *kernels;
  const ConvGeometry   *geo;
  float                *dx, *dweight, *dbias;
  gboolean              dx_store;    /* dx holds stale values */
  const float          *dy, *x, *weight;
  int                   batch, slices;
  const ConvnetDirectKernels *direct; /* NULL: products */
  float                *scratch;     /* 64-byte aligned */
  gsize                 slice;       /* floats per slice */
} BackwardJob;

static void
backward_slice (const BackwardJob *job, int t)
{
  const ConvGeometry *geo = job->geo;
  const ConvnetKernels *kernels = job->kernels;
  const int k = geo->c_in * geo->kh * geo->kw;
  const int hw_in = geo->h_in * geo->w_in;
  const int hw = geo->h_out * geo->w_out;
  const int c_out = geo->c_out;
  const gboolean pointwise = is_pointwise (geo);
  const SliceParts parts = slice_parts (kernels, geo,
                                        job->scratch + job->slice * t);
  float *col = parts.col, *work = parts.work, *dw = parts.dw;
  double *bias_sum = parts.bias_sum;
  const int first = job->batch * t / job->slices;
  const int end = job->batch * (t + 1) / job->slices;
  const int group = samples_per_group (geo);

  /* the first slice adds straight onto the gradient */
  if (t == 0)
    dw = job->dweight;
  else if (job->dweight)
    memset (dw, 0, sizeof (float) * c_out * k);
  memset (bias_sum, 0, sizeof (double) * c_out);

  if (job->direct)
    {
      float *direct_work = convnet_matmul_thread_work
                             (convnet_conv_direct_work_floats (geo));
      float *lanes = parts.lanes;
      if (job->dweight)
        memset (lanes, 0,
                sizeof (float) * c_out * k * CONVNET_DIRECT_MAX_LANES);
      job->direct->backward (job->dx ? job->dx + (gsize) first * geo->c_in
                                                  * hw_in
                                     : NULL,
                             job->dx_store, job->dweight ? lanes : NULL,
                             job->dbias ? bias_sum : NULL,
                             job->dy + (gsize) first * c_out * hw,
                             job->x ? job->x + (gsize) first * geo->c_in
                                                * hw_in
                                    : NULL,
                             job->weight, geo, end - first, direct_work);
      if (job->dweight)
        job->direct->reduce (dw, lanes, (gsize) c_out * k);
      return;
    }
  for (int n0 = first; n0 < end; n0 += group)
    {
      const int samples = MIN (group, end - n0);
      const gsize ld = (gsize) samples * hw;

      if (job->dbias)
        for (int n = n0; n < n0 + samples; n++)
          for (int oc = 0; oc < c_out; oc++)
            {
              const float *g = job->dy + ((gsize) n * c_out + oc) * hw;
              double sum = 0.0;
              for (int i = 0; i < hw; i++)
                sum += g[i];
              bias_sum[oc] += sum;
            }
      if (job->dweight)
        {
          /* dW (c_out x k) += dY (c_out x ld) . col^T (ld x k), the
           * group's samples side by side */
          const float *gy = job->dy + (gsize) n0 * c_out * hw;
          const float *unfolded = job->x + (gsize) n0 * geo->c_in * hw_in;

          if (samples > 1 || !pointwise)
            {
              for (int s = 0; s < samples; s++)
                conv2d_im2col_ld (col + (gsize) s * hw, ld,
                                  job->x + (gsize) (n0 + s) * geo->c_in * hw_in,
                                  geo->c_in, geo);
              unfolded = col;
            }
          if (samples > 1)
            {
              for (int s = 0; s < samples; s++)
                for (int oc = 0; oc < c_out; oc++)
                  memcpy (parts.dy_group + oc * ld + (gsize) s * hw,
                          job->dy + ((gsize) (n0 + s) * c_out + oc) * hw,
                          sizeof (float) * hw);
              gy = parts.dy_group;
            }
          convnet_matmul (kernels, c_out, k, (int) ld,
                          (ConvnetMatrixView) { gy, ld, 1 },
                          (ConvnetMatrixView) { unfolded, 1, ld },
                          dw, k, TRUE, work);
        }
      for (int n = n0; job->dx && n < n0 + samples; n++)
        {
          /* dcol (k x hw) = W^T (k x c_out) . dY (c_out x hw) */
          const ConvnetMatrixView wt = { job->weight, 1, k };
          const ConvnetMatrixView g = { job->dy + (gsize) n * c_out * hw,
                                        hw, 1 };
          float *dxn = job->dx + (gsize) n * geo->c_in * hw_in;

          if (pointwise)
            convnet_matmul (kernels, k, hw, c_out, wt, g, dxn, hw,
                            !job->dx_store, work);
          else
            {
              convnet_matmul (kernels, k, hw, c_out, wt, g, col, hw, FALSE,
                              work);
              if (job->dx_store)
                memset (dxn, 0, sizeof (float) * geo->c_in * hw_in);
              conv2d_col2im_add (dxn, col, geo->c_in, geo);
            }
        }
    }
}

static void
backward_items (gpointer data, int begin, int end)
{
  for (int t = begin; t < end; t++)
    backward_slice (data, t);
}

gboolean
convnet_conv2d_backward_fast (const ConvnetKernels *kernels, float *dx,
                              gboolean dx_store, float *dweight,
                              float *dbias, const float *dy, const float *x,
                              const float *weight, int batch,
                              const ConvGeometry *geo, float *scratch,
                              gsize scratch_floats)
{
  const gsize k = (gsize) geo->c_in * geo->kh * geo->kw;
  const gsize slice = slice_floats (kernels, geo);
  float *aligned = (float *) (((guintptr) scratch + 63) & ~(guintptr) 63);
  const gsize usable = scratch_floats > 16 ? scratch_floats - 16 : 0;
  BackwardJob job = {
    .kernels = kernels, .geo = geo, .dx = dx, .dx_store = dx_store,
    .dweight = dweight,
    .dbias = dbias, .dy = dy, .x = x, .weight = weight, .batch = batch,
    .scratch = aligned, .slice = slice,
  };

  if (geo->groups != 1 || !scratch || usable < slice)
    return FALSE;
  if (batch <= 0 || (!dx && !dweight && !dbias))
    return TRUE;
  if (convnet_conv_direct_fits (geo))
    job.direct = convnet_conv_direct_for (kernels);
  job.slices = MIN ((int) MIN (usable / slice, G_MAXINT),
                    MIN (convnet_parallel_threads (), batch));
  convnet_parallel_for (job.slices, backward_items, &job);

  for (int t = 1; dweight && t < job.slices; t++)
    {
      const float *dw = slice_parts (kernels, geo, aligned + slice * t).dw;
      for (gsize i = 0; i < (gsize) geo->c_out * k; i++)
        dweight[i] += dw[i];
    }
  if (dbias)
    for (int oc = 0; oc < geo->c_out; oc++)
      {
        double sum = 0.0;
        for (int t = 0; t < job.slices; t++)
          sum += slice_parts (kernels, geo,
                              aligned + slice * t).bias_sum[oc];
        dbias[oc] += (float) sum;
      }
  return TRUE;
}
