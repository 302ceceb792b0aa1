/* resnet.c: torchvision's ResNet 18/34 (basic blocks) and 50/101/152
 * (bottleneck blocks, stride on the 3x3 convolution as in V1.5).  A block
 * reuses one ReLU module several times; its first use carries the name
 * "relu", the last one is the block's own output (layer2.1).  The same
 * builder makes the narrow 28x28 variants and their plain twins, whose
 * blocks keep every layer and name but add no shortcut. */
#include "models.h"

#include <string.h>

typedef struct
{
  int       width;        /* the first stage's channels */
  const int *blocks;      /* blocks per stage, 4 stages */
  gboolean  bottleneck;
  gboolean  small_input;  /* 3x3 stem at stride 1, no max-pool */
  gboolean  plain;        /* no shortcuts */
} ResnetShape;

static int
basic_block (ConvnetGraph *g, int x, int planes, int stride,
             gboolean downsample, gboolean plain, GError **error)
{
  int y, shortcut = x;

  TRY_NODE (y, convnet_conv2d (g, "conv1", x, planes, 3, stride, 1, 1, 1,
                               FALSE, error));
  TRY_NODE (y, convnet_batchnorm2d (g, "bn1", y, 1e-5f, error));
  y = convnet_activation (g, CONVNET_OP_RELU, "relu", y);
  TRY_NODE (y, convnet_conv2d (g, "conv2", y, planes, 3, 1, 1, 1, 1, FALSE,
                               error));
  TRY_NODE (y, convnet_batchnorm2d (g, "bn2", y, 1e-5f, error));
  if (plain)
    return convnet_activation (g, CONVNET_OP_RELU, NULL, y);
  if (downsample)
    {
      convnet_graph_push_scope (g, "downsample");
      TRY_NODE (shortcut, convnet_conv2d (g, "0", x, planes, 1, stride, 0, 1,
                                          1, FALSE, error));
      TRY_NODE (shortcut, convnet_batchnorm2d (g, "1", shortcut, 1e-5f,
                                               error));
      convnet_graph_pop_scope (g);
    }
  TRY_NODE (y, convnet_add (g, NULL, y, shortcut, error));
  return convnet_activation (g, CONVNET_OP_RELU, NULL, y);
}

static int
bottleneck_block (ConvnetGraph *g, int x, int planes, int stride,
                  gboolean downsample, gboolean plain, GError **error)
{
  int y, shortcut = x;

  TRY_NODE (y, convnet_conv2d (g, "conv1", x, planes, 1, 1, 0, 1, 1, FALSE,
                               error));
  TRY_NODE (y, convnet_batchnorm2d (g, "bn1", y, 1e-5f, error));
  y = convnet_activation (g, CONVNET_OP_RELU, "relu", y);
  TRY_NODE (y, convnet_conv2d (g, "conv2", y, planes, 3, stride, 1, 1, 1,
                               FALSE, error));
  TRY_NODE (y, convnet_batchnorm2d (g, "bn2", y, 1e-5f, error));
  y = convnet_activation (g, CONVNET_OP_RELU, NULL, y);
  TRY_NODE (y, convnet_conv2d (g, "conv3", y, planes * 4, 1, 1, 0, 1, 1,
                               FALSE, error));
  TRY_NODE (y, convnet_batchnorm2d (g, "bn3", y, 1e-5f, error));
  if (plain)
    return convnet_activation (g, CONVNET_OP_RELU, NULL, y);
  if (downsample)
    {
      convnet_graph_push_scope (g, "downsample");
      TRY_NODE (shortcut, convnet_conv2d (g, "0", x, planes * 4, 1, stride,
                                          0, 1, 1, FALSE, error));
      TRY_NODE (shortcut, convnet_batchnorm2d (g, "1", shortcut, 1e-5f,
                                               error));
      convnet_graph_pop_scope (g);
    }
  TRY_NODE (y, convnet_add (g, NULL, y, shortcut, error));
  return convnet_activation (g, CONVNET_OP_RELU, NULL, y);
}

static int
build_shape (ConvnetGraph *g, const ResnetShape *shape, int num_classes,
             GError **error)
{
  const int width = shape->width;
  int x = 0, in_channels = width;

  if (shape->small_input)
    TRY_NODE (x, convnet_conv2d (g, "conv1", x, width, 3, 1, 1, 1, 1, FALSE,
                                 error));
  else
    TRY_NODE (x, convnet_conv2d (g, "conv1", x, width, 7, 2, 3, 1, 1, FALSE,
                                 error));
  TRY_NODE (x, convnet_batchnorm2d (g, "bn1", x, 1e-5f, error));
  x = convnet_activation (g, CONVNET_OP_RELU, "relu", x);
  if (!shape->small_input)
    TRY_NODE (x, convnet_maxpool2d (g, "maxpool", x, 3, 2, 1, FALSE, error));

  for (int layer = 0; layer < 4; layer++)
    {
      const int planes = width << layer;
      const int out_channels = shape->bottleneck ? planes * 4 : planes;

      convnet_graph_push_scope (g, "layer%d", layer + 1);
      for (int b = 0; b < shape->blocks[layer]; b++)
        {
          const int stride = (b == 0 && layer > 0) ? 2 : 1;
          const gboolean downsample = b == 0
                                      && (stride != 1
                                          || in_channels != out_channels);

          convnet_graph_push_scope (g, "%d", b);
          TRY_NODE (x, shape->bottleneck
                       ? bottleneck_block (g, x, planes, stride, downsample,
                                           shape->plain, error)
                       : basic_block (g, x, planes, stride, downsample,
                                      shape->plain, error));
          convnet_graph_pop_scope (g);
          in_channels = out_channels;
        }
      convnet_graph_pop_scope (g);
    }

  TRY_NODE (x, convnet_adaptive_avgpool2d (g, "avgpool", x, 1, 1, error));
  x = convnet_flatten (g, "flatten", x);
  TRY_NODE (x, convnet_linear (g, "fc", x, num_classes, TRUE, error));
  return x;
}

int
build_resnet_custom (ConvnetGraph *g, int width, const int blocks[4],
                     gboolean bottleneck, int num_classes, GError **error)
{
  const ResnetShape shape = { width, blocks, bottleneck, FALSE, FALSE };

  return build_shape (g, &shape, num_classes, error);
}

int
build_resnet (ConvnetGraph *g, const ConvnetArch *arch, int num_classes,
              GError **error)
{
  static const struct { const char *depth; int blocks[4]; gboolean bottleneck; }
  depths[] = {
    { "18",  { 2, 2, 2, 2 },  FALSE },
    { "34",  { 3, 4, 6, 3 },  FALSE },
    { "50",  { 3, 4, 6, 3 },  TRUE },
    { "101", { 3, 4, 23, 3 }, TRUE },
    { "152", { 3, 8, 36, 3 }, TRUE },
  };
  /* resnet18, plain34_small: the depth follows the letters */
  const char *digits = arch->name + strcspn (arch->name, "0123456789");
  const gsize n_digits = strspn (digits, "0123456789");

  for (guint i = 0; i < G_N_ELEMENTS (depths); i++)
    if (strlen (depths[i].depth) == n_digits
        && strncmp (depths[i].depth, digits, n_digits) == 0)
      {
        const ResnetShape shape = { arch->width ? arch->width : 64,
                                    depths[i].blocks, depths[i].bottleneck,
                                    arch->small_input, arch->plain };

        return build_shape (g, &shape, num_classes, error);
      }
  g_return_val_if_reached (-1);
}
