/* pool.c: MaxPool2d at inference on the kernels' threads; see pool.h. */
#include "pool.h"

/* below this many input floats a pool is not worth waking a thread for */
#define PARALLEL_MIN_FLOATS 16384
/* a workspace this small lives on the stack */
#define STACK_WORK_FLOATS 2048

/* planes up to this many floats take the kernels' whole-plane 3x3 pool */
#define SAME3_MAX_FLOATS 4096

typedef struct
{
  const ConvnetKernels    *kernels;
  const ConvGeometry      *geo;
  const float             *in;
  float                   *out;
  const ConvnetPlaneLanes *lanes;   /* for maxpool_same3, or NULL */
  ConvnetMaxPoolPlane      plane;   /* the others: a plane's kernel */
  gsize                    work_floats;   /* and its workspace */
} PoolJob;

/* Whether GEO is a 3x3, stride 1, padding 1 pool the kernels' whole-plane
 * path takes. */
static gboolean
fits_same3 (const ConvnetKernels *kernels, const ConvGeometry *geo)
{
  return kernels->maxpool_same3 && geo->kh == 3 && geo->kw == 3
         && geo->sh == 1 && geo->sw == 1 && geo->ph == 1 && geo->pw == 1
         && geo->dh == 1 && geo->dw == 1 && geo->h_out == geo->h_in
         && geo->w_out == geo->w_in
         && (gsize) geo->h_in * geo->w_in <= SAME3_MAX_FLOATS;
}

/* Whether GEO is a pool the kernels' stride-2 path takes. */
static gboolean
fits_stride2 (const ConvnetKernels *kernels, const ConvGeometry *geo)
{
  return kernels->maxpool_stride2 && geo->sh == 2 && geo->sw == 2
         && (geo->kh == 2 || geo->kh == 3) && geo->kw == geo->kh
         && geo->dh == 1 && geo->dw == 1;
}

static void
describe_plane_lanes (ConvnetPlaneLanes *lanes, int h, int w)
{
  const int n = h * w;

  for (int i = 0; i < n; i++)
    {
      ConvnetPlaneLanes *l = &lanes[i / 16];
      const guint16 bit = 1u << (i % 16);
      const int y = i / w, x = i % w;

      if (i % 16 == 0)
        *l = (ConvnetPlaneLanes) { 0 };
      l->inside |= bit;
      if (x > 0)
        l->left |= bit;
      if (x < w - 1)
        l->right |= bit;
      if (y > 0)
        l->up |= bit;
      if (y < h - 1)
        l->down |= bit;
    }
}

static void
pool_same3_planes (gpointer data, int begin, int end)
{
  const PoolJob *job = data;
  const ConvGeometry *geo = job->geo;
  const gsize plane = (gsize) geo->h_in * geo->w_in;
  float rows[SAME3_MAX_FLOATS];

  for (int p = begin; p < end; p++)
    job->kernels->maxpool_same3 (job->out + p * plane, job->in + p * plane,
                                 geo->h_in, geo->w_in, job->lanes, rows);
}

static void
pool_planes (gpointer data, int begin, int end)
{
  const PoolJob *job = data;
  const ConvGeometry *geo = job->geo;
  const gsize in_plane = (gsize) geo->h_in * geo->w_in;
  const gsize out_plane = (gsize) geo->h_out * geo->w_out;
  float stack_work[STACK_WORK_FLOATS];
  float *work = job->work_floats <= STACK_WORK_FLOATS
                ? stack_work : g_new (float, job->work_floats);

  for (int p = begin; p < end; p++)
    job->plane (job->out + p * out_plane, job->in + p * in_plane, geo, work);
  if (work != stack_work)
    g_free (work);
}

void
convnet_maxpool2d_fast (const ConvnetKernels *kernels, float *out,
                        const float *in, int batch, const ConvGeometry *geo)
{
  const int planes = batch * geo->c_in;
  PoolJob job = { kernels, geo, in, out, NULL, kernels->maxpool_plane,
                  convnet_maxpool_work_floats (geo) };
  ConvnetPlaneLanes lanes[SAME3_MAX_FLOATS / 16];
  ConvnetParallelFunc run = pool_planes;

  if (fits_same3 (kernels, geo))
    {
      describe_plane_lanes (lanes, geo->h_in, geo->w_in);
      job.lanes = lanes;
      run = pool_same3_planes;
    }
  else if (fits_stride2 (kernels, geo))
    {
      job.plane = kernels->maxpool_stride2;
      job.work_floats = (gsize) geo->h_in * geo->w_out;
    }
  if ((gsize) planes * geo->h_in * geo->w_in < PARALLEL_MIN_FLOATS)
    run (&job, 0, planes);
  else
    convnet_parallel_for (planes, run, &job);
}
