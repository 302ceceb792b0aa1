/* googlenet.c: torchvision's GoogLeNet (Inception v1) as configured for its
 * IMAGENET1K_V1 weights: transform_input on, auxiliary classifiers dropped
 * at inference (their aux1.* and aux2.* tensors are accepted and unused).
 * torchvision's "5x5" branch is a 3x3 convolution; so is ours.  The narrow
 * 28x28 variant is the same network with every width scaled and a small
 * stem; it keeps the 1x1 reductions and the names. */
#include "models.h"

/* BasicConv2d: convolution without bias, BatchNorm (eps 0.001), ReLU.  The
 * ReLU is a function call in torch, so the block name reads its output. */
static int
basic_conv (ConvnetGraph *g, const char *scope, int x, int out_c, int kernel,
            int stride, int padding, GError **error)
{
  convnet_graph_push_scope (g, "%s", scope);
  TRY_NODE (x, convnet_conv2d (g, "conv", x, out_c, kernel, stride, padding,
                               1, 1, FALSE, error));
  TRY_NODE (x, convnet_batchnorm2d (g, "bn", x, 0.001f, error));
  x = convnet_activation (g, CONVNET_OP_RELU, NULL, x);
  convnet_graph_pop_scope (g);
  return x;
}

/* Channels scaled by the architecture's width against torchvision's 64,
 * never below one. */
static int
scaled (const ConvnetArch *arch, int channels)
{
  const int width = arch->width ? arch->width : 64;

  return MAX (1, channels * width / 64);
}

static int
inception (ConvnetGraph *g, const ConvnetArch *arch, const char *name, int x,
           int ch1x1, int ch3x3red, int ch3x3, int ch5x5red, int ch5x5,
           int pool_proj, GError **error)
{
  int branches[4];

  ch1x1 = scaled (arch, ch1x1);
  ch3x3red = scaled (arch, ch3x3red);
  ch3x3 = scaled (arch, ch3x3);
  ch5x5red = scaled (arch, ch5x5red);
  ch5x5 = scaled (arch, ch5x5);
  pool_proj = scaled (arch, pool_proj);

  convnet_graph_push_scope (g, "%s", name);
  TRY_NODE (branches[0], basic_conv (g, "branch1", x, ch1x1, 1, 1, 0, error));

  convnet_graph_push_scope (g, "branch2");
  TRY_NODE (branches[1], basic_conv (g, "0", x, ch3x3red, 1, 1, 0, error));
  TRY_NODE (branches[1], basic_conv (g, "1", branches[1], ch3x3, 3, 1, 1,
                                     error));
  convnet_graph_pop_scope (g);

  convnet_graph_push_scope (g, "branch3");
  TRY_NODE (branches[2], basic_conv (g, "0", x, ch5x5red, 1, 1, 0, error));
  TRY_NODE (branches[2], basic_conv (g, "1", branches[2], ch5x5, 3, 1, 1,
                                     error));
  convnet_graph_pop_scope (g);

  convnet_graph_push_scope (g, "branch4");
  TRY_NODE (branches[3], convnet_maxpool2d (g, "0", x, 3, 1, 1, TRUE, error));
  TRY_NODE (branches[3], basic_conv (g, "1", branches[3], pool_proj, 1, 1, 0,
                                     error));
  convnet_graph_pop_scope (g);

  TRY_NODE (x, convnet_concat (g, NULL, branches, 4, error));
  convnet_graph_pop_scope (g);
  return x;
}

int
build_googlenet (ConvnetGraph *g, const ConvnetArch *arch, int num_classes,
                 GError **error)
{
  /* transform_input: from ImageNet normalisation to the (x - 0.5) / 0.5
   * the original weights were trained with */
  const float scale[3] = { 0.229f / 0.5f, 0.224f / 0.5f, 0.225f / 0.5f };
  const float shift[3] = { (0.485f - 0.5f) / 0.5f, (0.456f - 0.5f) / 0.5f,
                           (0.406f - 0.5f) / 0.5f };
  int x = 0;

  convnet_graph_ignore_prefix (g, "aux1.");
  convnet_graph_ignore_prefix (g, "aux2.");

  /* the official weights' own input convention; networks trained here
   * take the preprocessed input as it is */
  if (arch->checkpoint)
    TRY_NODE (x, convnet_channel_affine (g, NULL, x, scale, shift, error));
  if (arch->small_input)
    TRY_NODE (x, basic_conv (g, "conv1", x, scaled (arch, 64), 3, 1, 1,
                             error));
  else
    {
      TRY_NODE (x, basic_conv (g, "conv1", x, 64, 7, 2, 3, error));
      TRY_NODE (x, convnet_maxpool2d (g, "maxpool1", x, 3, 2, 0, TRUE,
                                      error));
    }
  TRY_NODE (x, basic_conv (g, "conv2", x, scaled (arch, 64), 1, 1, 0, error));
  TRY_NODE (x, basic_conv (g, "conv3", x, scaled (arch, 192), 3, 1, 1,
                           error));
  TRY_NODE (x, convnet_maxpool2d (g, "maxpool2", x, 3, 2, 0, TRUE, error));

  TRY_NODE (x, inception (g, arch, "inception3a", x, 64, 96, 128, 16, 32, 32,
                          error));
  TRY_NODE (x, inception (g, arch, "inception3b", x, 128, 128, 192, 32, 96, 64,
                          error));
  TRY_NODE (x, convnet_maxpool2d (g, "maxpool3", x, 3, 2, 0, TRUE, error));

  TRY_NODE (x, inception (g, arch, "inception4a", x, 192, 96, 208, 16, 48, 64,
                          error));
  TRY_NODE (x, inception (g, arch, "inception4b", x, 160, 112, 224, 24, 64, 64,
                          error));
  TRY_NODE (x, inception (g, arch, "inception4c", x, 128, 128, 256, 24, 64, 64,
                          error));
  TRY_NODE (x, inception (g, arch, "inception4d", x, 112, 144, 288, 32, 64, 64,
                          error));
  TRY_NODE (x, inception (g, arch, "inception4e", x, 256, 160, 320, 32, 128,
                          128, error));
  TRY_NODE (x, convnet_maxpool2d (g, "maxpool4", x, 2, 2, 0, TRUE, error));

  TRY_NODE (x, inception (g, arch, "inception5a", x, 256, 160, 320, 32, 128,
                          128, error));
  TRY_NODE (x, inception (g, arch, "inception5b", x, 384, 192, 384, 48, 128,
                          128, error));

  TRY_NODE (x, convnet_adaptive_avgpool2d (g, "avgpool", x, 1, 1, error));
  x = convnet_flatten (g, "flatten", x);
  x = convnet_dropout (g, "dropout", x, 0.2f);
  TRY_NODE (x, convnet_linear (g, "fc", x, num_classes, TRUE, error));
  return x;
}
