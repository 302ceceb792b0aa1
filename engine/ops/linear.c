/* linear.c: fully connected layer, y = x W^T + b, one SGEMM per batch. */
#include "ops.h"
#include "blas.h"

void
linear_forward (float *out, const float *in, const float *weight,
                const float *bias, int batch, int in_features,
                int out_features)
{
  if (bias)
    for (int n = 0; n < batch; n++)
      for (int o = 0; o < out_features; o++)
        out[(gsize) n * out_features + o] = bias[o];

  convnet_sgemm (CblasRowMajor, CblasNoTrans, CblasTrans,
                 batch, out_features, in_features,
                 1.0f, in, in_features, weight, in_features,
                 bias ? 1.0f : 0.0f, out, out_features);
}

/* dX += dY W,  dW += dY^T X,  db += column sums of dY. */
void
linear_backward (float *dx, float *dweight, float *dbias, const float *dy,
                 const float *x, const float *weight, int batch,
                 int in_features, int out_features)
{
  if (dx)
    convnet_sgemm (CblasRowMajor, CblasNoTrans, CblasNoTrans,
                   batch, in_features, out_features,
                   1.0f, dy, out_features, weight, in_features,
                   1.0f, dx, in_features);
  if (dweight)
    convnet_sgemm (CblasRowMajor, CblasTrans, CblasNoTrans,
                   out_features, in_features, batch,
                   1.0f, dy, out_features, x, in_features,
                   1.0f, dweight, in_features);
  /* row by row, in the order dY is stored: a sum over the batch only, short
   * enough for float */
  if (dbias)
    for (int n = 0; n < batch; n++)
      {
        const float *g = dy + (gsize) n * out_features;
        for (int o = 0; o < out_features; o++)
          dbias[o] += g[o];
      }
}
