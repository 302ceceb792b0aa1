/* ops.h: the kernels.  Every op is a plain function over flat float
 * arrays in NCHW order; the graph calls them, and so do the op tests.
 *
 * Backward functions ACCUMULATE (+=) into their gradient outputs, which
 * the caller zeroes, and every gradient pointer may be NULL to skip that
 * gradient (a frozen parameter, or the first layer's input).  They take
 * what the forward saw (its input or output, as each says) and never
 * allocate. */
#ifndef CONVNET_OPS_H
#define CONVNET_OPS_H

#include <glib.h>

#include "convnet.h"

/* Geometry of a convolution or pooling window over one NCHW tensor. */
typedef struct
{
  int c_in, h_in, w_in;
  int c_out, h_out, w_out;
  int kh, kw;
  int sh, sw;
  int ph, pw;
  int dh, dw;
  int groups;
} ConvGeometry;

/* Output length of a sliding window as torch computes it; with ceil_mode
 * the last window must still start inside the input or left padding.
 * Returns <= 0 when the input is too small. */
int   window_output_size (int in, int kernel, int stride, int padding,
                          int dilation, gboolean ceil_mode);

gsize conv2d_scratch_floats (const ConvGeometry *geo);
void  conv2d_forward (float *out, const float *in, const float *weight,
                      const float *bias, int batch, const ConvGeometry *geo,
                      float *scratch);
/* SCRATCH holds conv2d_backward_scratch_floats() floats (may be NULL when
 * that is 0).  X is needed for DWEIGHT, WEIGHT for DX. */
gsize conv2d_backward_scratch_floats (const ConvGeometry *geo);
/* One sample's CHANNELS input planes IN unfolded into COL, (CHANNELS * kh
 * * kw) x (h_out * w_out), and that matrix's adjoint added back onto IN. */
void  conv2d_im2col (float *col, const float *in, int channels,
                     const ConvGeometry *geo);
void  conv2d_col2im_add (float *in, const float *col, int channels,
                         const ConvGeometry *geo);
/* conv2d_im2col with COL's rows LD floats apart. */
void  conv2d_im2col_ld (float *col, gsize ld, const float *in, int channels,
                        const ConvGeometry *geo);
void  conv2d_backward (float *dx, float *dweight, float *dbias,
                       const float *dy, const float *x, const float *weight,
                       int batch, const ConvGeometry *geo, float *scratch);

void  maxpool2d_forward (float *out, const float *in, int batch,
                         const ConvGeometry *geo);
void  avgpool2d_forward (float *out, const float *in, int batch,
                         const ConvGeometry *geo, gboolean count_include_pad);
void  adaptive_avgpool2d_forward (float *out, const float *in, int batch,
                                  int c, int h, int w, int out_h, int out_w);
/* The gradient of each window goes to its maximum, found again in X as the
 * forward (and torch) finds it: the first in scan order among equals, the
 * last NaN, the first element inside the image if all are -inf. */
void  maxpool2d_backward (float *dx, const float *dy, const float *x,
                          int batch, const ConvGeometry *geo);
void  avgpool2d_backward (float *dx, const float *dy, int batch,
                          const ConvGeometry *geo, gboolean count_include_pad);
void  adaptive_avgpool2d_backward (float *dx, const float *dy, int batch,
                                   int c, int h, int w, int out_h, int out_w);

void  batchnorm2d_forward_inference (float *out, const float *in,
                                     const float *weight, const float *bias,
                                     const float *running_mean,
                                     const float *running_var, float eps,
                                     int batch, int c, int hw);
/* Training mode: normalises with the batch statistics (biased variance)
 * and saves the per-channel mean and 1/sqrt(var + eps) for the backward.
 * RUNNING_MEAN and RUNNING_VAR (either may be NULL) move by MOMENTUM
 * towards the batch mean and the UNBIASED variance, as torch's do; with a
 * single value per channel (torch refuses it) the biased one, 0, is used. */
void  batchnorm2d_forward_train (float *out, float *save_mean,
                                 float *save_invstd, const float *x,
                                 const float *weight, const float *bias,
                                 float *running_mean, float *running_var,
                                 float momentum, float eps,
                                 int batch, int c, int hw);
void  batchnorm2d_backward (float *dx, float *dweight, float *dbias,
                            const float *dy, const float *x,
                            const float *weight, const float *save_mean,
                            const float *save_invstd,
                            int batch, int c, int hw);
/* The same for channels FIRST to END - 1 of the C: each channel's
 * statistics and values are its own, so that threads may share them out.
 * STORE: DX holds nothing yet and is stored into, not added to. */
void  batchnorm2d_forward_train_channels (float *out, float *save_mean,
                                          float *save_invstd, const float *x,
                                          const float *weight,
                                          const float *bias,
                                          float *running_mean,
                                          float *running_var, float momentum,
                                          float eps, int batch, int c, int hw,
                                          int first, int end);
void  batchnorm2d_backward_channels (float *dx, float *dweight, float *dbias,
                                     const float *dy, const float *x,
                                     const float *weight,
                                     const float *save_mean,
                                     const float *save_invstd, int batch,
                                     int c, int hw, int first, int end,
                                     gboolean store);
/* Evaluation mode (the statistics are constants). */
void  batchnorm2d_backward_inference (float *dx, float *dweight, float *dbias,
                                      const float *dy, const float *x,
                                      const float *weight,
                                      const float *running_mean,
                                      const float *running_var, float eps,
                                      int batch, int c, int hw);

void  relu_forward    (float *out, const float *in, gsize n);
void  sigmoid_forward (float *out, const float *in, gsize n);
void  tanh_forward    (float *out, const float *in, gsize n);
/* From the forward's OUTPUT Y, so that the forward may run in place. */
void  relu_backward    (float *dx, const float *dy, const float *y, gsize n);
void  relu_backward_store (float *dx, const float *dy, const float *y,
                           gsize n);
void  sigmoid_backward (float *dx, const float *dy, const float *y, gsize n);
void  tanh_backward    (float *dx, const float *dy, const float *y, gsize n);

void  linear_forward (float *out, const float *in, const float *weight,
                      const float *bias, int batch, int in_features,
                      int out_features);
void  linear_backward (float *dx, float *dweight, float *dbias,
                       const float *dy, const float *x, const float *weight,
                       int batch, int in_features, int out_features);

/* Inverted dropout as torch's: MASK (may be NULL) receives 0 or 1/(1-p)
 * per element and OUT = X * MASK; p = 0 copies without drawing, p = 1
 * zeroes.  OUT may be X.  The same RNG state gives the same mask. */
void  dropout_forward_train (float *out, float *mask, const float *x, gsize n,
                             float p, ConvnetRng *rng);
void  dropout_backward (float *dx, const float *dy, const float *mask,
                        gsize n);

/* F.cross_entropy (logits, targets, label_smoothing) with the mean over
 * the batch: returns the loss and saves the softmax in PROBS (may be NULL
 * when no backward follows).  TARGETS are class indices in [0, classes). */
float softmax_cross_entropy_forward (float *probs, const float *logits,
                                     const int *targets, int batch,
                                     int classes, float label_smoothing);
/* The gradient of that mean loss with respect to the logits. */
void  softmax_cross_entropy_backward (float *dlogits, const float *probs,
                                      const int *targets, int batch,
                                      int classes, float label_smoothing);

void  softmax_forward (float *out, const float *in, int batch, int c, int hw);
/* From the forward's output Y. */
void  softmax_backward (float *dx, const float *dy, const float *y,
                        int batch, int c, int hw);

void  lrn_forward (float *out, const float *in, int batch, int c, int hw,
                   int size, float alpha, float beta, float k);
void  lrn_backward (float *dx, const float *dy, const float *x, int batch,
                    int c, int hw, int size, float alpha, float beta, float k);

/* Any of INS[i] may be NULL: those channels of OUT are already written. */
void  concat_forward (float *out, const float *const *ins, const int *channels,
                      int n, int batch, int hw);
void  add_forward (float *out, const float *a, const float *b, gsize n);
void  channel_affine_forward (float *out, const float *in, const float *scale,
                              const float *shift, int batch, int c, int hw);
/* Any of DXS[i] may be NULL. */
void  concat_backward (float *const *dxs, const int *channels, int n,
                       const float *dy, int batch, int hw);
void  add_backward (float *da, float *db, const float *dy, gsize n);
/* SCALE and SHIFT are constants: only the input has a gradient. */
void  channel_affine_backward (float *dx, const float *dy, const float *scale,
                               int batch, int c, int hw);

#endif
