/* pool.c: MaxPool2d at inference on the kernels' threads; see pool.h. */
#include "pool.h"

/* below this many input floats a pool is not worth waking a thread for */
#define PARALLEL_MIN_FLOATS 16384
/* a workspace this small lives on the stack */
#define STACK_WORK_FLOATS 2048

typedef struct
{
  const ConvnetKernels *kernels;
  const ConvGeometry   *geo;
  const float          *in;
  float                *out;
} PoolJob;

static void
pool_planes (gpointer data, int begin, int end)
{
  const PoolJob *job = data;
  const ConvGeometry *geo = job->geo;
  const gsize in_plane = (gsize) geo->h_in * geo->w_in;
  const gsize out_plane = (gsize) geo->h_out * geo->w_out;
  const gsize work_floats = convnet_maxpool_work_floats (geo);
  float stack_work[STACK_WORK_FLOATS];
  float *work = work_floats <= STACK_WORK_FLOATS
                ? stack_work : g_new (float, work_floats);

  for (int p = begin; p < end; p++)
    job->kernels->maxpool_plane (job->out + p * out_plane,
                                 job->in + p * in_plane, geo, work);
  if (work != stack_work)
    g_free (work);
}

void
convnet_maxpool2d_fast (const ConvnetKernels *kernels, float *out,
                        const float *in, int batch, const ConvGeometry *geo)
{
  const int planes = batch * geo->c_in;
  PoolJob job = { kernels, geo, in, out };

  if ((gsize) planes * geo->h_in * geo->w_in < PARALLEL_MIN_FLOATS)
    pool_planes (&job, 0, planes);
  else
    convnet_parallel_for (planes, pool_planes, &job);
}
