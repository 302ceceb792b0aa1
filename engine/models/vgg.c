/* vgg.c: torchvision's VGG 11/13/16/19, with and without BatchNorm.  The
 * layer list of each depth is torchvision's configuration A, B, D or E:
 * a channel count is a 3x3 convolution, 0 a 2x2 max pool. */
#include "models.h"

#include <string.h>

static const int vgg11_layers[] = {
  64, 0, 128, 0, 256, 256, 0, 512, 512, 0, 512, 512, 0, -1 };
static const int vgg13_layers[] = {
  64, 64, 0, 128, 128, 0, 256, 256, 0, 512, 512, 0, 512, 512, 0, -1 };
static const int vgg16_layers[] = {
  64, 64, 0, 128, 128, 0, 256, 256, 256, 0, 512, 512, 512, 0,
  512, 512, 512, 0, -1 };
static const int vgg19_layers[] = {
  64, 64, 0, 128, 128, 0, 256, 256, 256, 256, 0, 512, 512, 512, 512, 0,
  512, 512, 512, 512, 0, -1 };

int
build_vgg (ConvnetGraph *g, const ConvnetArch *arch, int num_classes,
           GError **error)
{
  const gboolean bn = g_str_has_suffix (arch->name, "_bn");
  const int *layers = strncmp (arch->name, "vgg11", 5) == 0 ? vgg11_layers
                      : strncmp (arch->name, "vgg13", 5) == 0 ? vgg13_layers
                      : strncmp (arch->name, "vgg16", 5) == 0 ? vgg16_layers
                      : vgg19_layers;
  int x = 0, index = 0;
  char name[16];

#define NEXT_NAME() (g_snprintf (name, sizeof name, "%d", index++), name)
  convnet_graph_push_scope (g, "features");
  for (int i = 0; layers[i] >= 0; i++)
    {
      if (layers[i] == 0)
        {
          TRY_NODE (x, convnet_maxpool2d (g, NEXT_NAME (), x, 2, 2, 0, FALSE,
                                          error));
          continue;
        }
      TRY_NODE (x, convnet_conv2d (g, NEXT_NAME (), x, layers[i], 3, 1, 1, 1,
                                   1, TRUE, error));
      if (bn)
        TRY_NODE (x, convnet_batchnorm2d (g, NEXT_NAME (), x, 1e-5f, error));
      x = convnet_activation (g, CONVNET_OP_RELU, NEXT_NAME (), x);
    }
  convnet_graph_pop_scope (g);
#undef NEXT_NAME

  TRY_NODE (x, convnet_adaptive_avgpool2d (g, "avgpool", x, 7, 7, error));
  x = convnet_flatten (g, "flatten", x);

  convnet_graph_push_scope (g, "classifier");
  TRY_NODE (x, convnet_linear (g, "0", x, 4096, TRUE, error));
  x = convnet_activation (g, CONVNET_OP_RELU, "1", x);
  x = convnet_dropout (g, "2", x, 0.5f);
  TRY_NODE (x, convnet_linear (g, "3", x, 4096, TRUE, error));
  x = convnet_activation (g, CONVNET_OP_RELU, "4", x);
  x = convnet_dropout (g, "5", x, 0.5f);
  TRY_NODE (x, convnet_linear (g, "6", x, num_classes, TRUE, error));
  convnet_graph_pop_scope (g);
  return x;
}
