/* alexnet.c: torchvision's AlexNet (the one-GPU variant, no LRN). */
#include "models.h"

int
build_alexnet (ConvnetGraph *g, const ConvnetArch *arch, int num_classes,
               GError **error)
{
  int x = 0;

  (void) arch;
  convnet_graph_push_scope (g, "features");
  TRY_NODE (x, convnet_conv2d (g, "0", x, 64, 11, 4, 2, 1, 1, TRUE, error));
  x = convnet_activation (g, CONVNET_OP_RELU, "1", x);
  TRY_NODE (x, convnet_maxpool2d (g, "2", x, 3, 2, 0, FALSE, error));
  TRY_NODE (x, convnet_conv2d (g, "3", x, 192, 5, 1, 2, 1, 1, TRUE, error));
  x = convnet_activation (g, CONVNET_OP_RELU, "4", x);
  TRY_NODE (x, convnet_maxpool2d (g, "5", x, 3, 2, 0, FALSE, error));
  TRY_NODE (x, convnet_conv2d (g, "6", x, 384, 3, 1, 1, 1, 1, TRUE, error));
  x = convnet_activation (g, CONVNET_OP_RELU, "7", x);
  TRY_NODE (x, convnet_conv2d (g, "8", x, 256, 3, 1, 1, 1, 1, TRUE, error));
  x = convnet_activation (g, CONVNET_OP_RELU, "9", x);
  TRY_NODE (x, convnet_conv2d (g, "10", x, 256, 3, 1, 1, 1, 1, TRUE, error));
  x = convnet_activation (g, CONVNET_OP_RELU, "11", x);
  TRY_NODE (x, convnet_maxpool2d (g, "12", x, 3, 2, 0, FALSE, error));
  convnet_graph_pop_scope (g);

  TRY_NODE (x, convnet_adaptive_avgpool2d (g, "avgpool", x, 6, 6, error));
  x = convnet_flatten (g, "flatten", x);

  convnet_graph_push_scope (g, "classifier");
  x = convnet_dropout (g, "0", x, 0.5f);
  TRY_NODE (x, convnet_linear (g, "1", x, 4096, TRUE, error));
  x = convnet_activation (g, CONVNET_OP_RELU, "2", x);
  x = convnet_dropout (g, "3", x, 0.5f);
  TRY_NODE (x, convnet_linear (g, "4", x, 4096, TRUE, error));
  x = convnet_activation (g, CONVNET_OP_RELU, "5", x);
  TRY_NODE (x, convnet_linear (g, "6", x, num_classes, TRUE, error));
  convnet_graph_pop_scope (g);
  return x;
}
