/* activation.c: element-wise nonlinearities. */
#include "ops.h"
#include "fast_exp.h"

#include <math.h>

void
relu_forward (float *out, const float *in, gsize n)
{
  for (gsize i = 0; i < n; i++)
    out[i] = in[i] > 0.0f ? in[i] : (isnan (in[i]) ? in[i] : 0.0f);
}

void
sigmoid_forward (float *out, const float *in, gsize n)
{
  for (gsize i = 0; i < n; i++)
    out[i] = 1.0f / (1.0f + fast_expf (-in[i]));
}

void
tanh_forward (float *out, const float *in, gsize n)
{
  for (gsize i = 0; i < n; i++)
    out[i] = tanhf (in[i]);
}

/* The backward passes read the forward's output, which is all they need,
 * so that the forward may overwrite its input. */

void
relu_backward (float *dx, const float *dy, const float *y, gsize n)
{
  if (!dx)
    return;
  /* torch blocks the gradient where y <= 0: a NaN output passes it */
  for (gsize i = 0; i < n; i++)
    dx[i] += y[i] <= 0.0f ? 0.0f : dy[i];
}

/* The same into a DX nothing has been added to yet: it stores. */
void
relu_backward_store (float *dx, const float *dy, const float *y, gsize n)
{
  if (!dx)
    return;
  for (gsize i = 0; i < n; i++)
    dx[i] = y[i] <= 0.0f ? 0.0f : dy[i];
}

void
sigmoid_backward (float *dx, const float *dy, const float *y, gsize n)
{
  if (!dx)
    return;
  for (gsize i = 0; i < n; i++)
    dx[i] += dy[i] * y[i] * (1.0f - y[i]);
}

void
tanh_backward (float *dx, const float *dy, const float *y, gsize n)
{
  if (!dx)
    return;
  for (gsize i = 0; i < n; i++)
    dx[i] += dy[i] * (1.0f - y[i] * y[i]);
}
