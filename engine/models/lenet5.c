/* lenet5.c: the classic LeNet-5 with sigmoids and average pooling, as the
 * PyTorch course writes it: one nn.Sequential, so its parameters are named
 * 0.*, 3.*, 7.*, 9.*, 11.*. */
#include "models.h"

int
build_lenet5 (ConvnetGraph *g, const ConvnetArch *arch, int num_classes,
              GError **error)
{
  int x = 0;

  (void) arch;
  TRY_NODE (x, convnet_conv2d (g, "0", x, 6, 5, 1, 2, 1, 1, TRUE, error));
  x = convnet_activation (g, CONVNET_OP_SIGMOID, "1", x);
  TRY_NODE (x, convnet_avgpool2d (g, "2", x, 2, 2, 0, FALSE, TRUE, error));
  TRY_NODE (x, convnet_conv2d (g, "3", x, 16, 5, 1, 0, 1, 1, TRUE, error));
  x = convnet_activation (g, CONVNET_OP_SIGMOID, "4", x);
  TRY_NODE (x, convnet_avgpool2d (g, "5", x, 2, 2, 0, FALSE, TRUE, error));
  x = convnet_flatten (g, "6", x);
  if (convnet_graph_node (g, x)->shape.c != 16 * 5 * 5)
    {
      g_set_error (error, CONVNET_ERROR, CONVNET_ERROR_ARGUMENT,
                   "lenet5: the input must give 16 x 5 x 5 features before "
                   "the first linear layer (28 x 28 to 31 x 31 inputs), "
                   "got %d", convnet_graph_node (g, x)->shape.c);
      return -1;
    }
  TRY_NODE (x, convnet_linear (g, "7", x, 120, TRUE, error));
  x = convnet_activation (g, CONVNET_OP_SIGMOID, "8", x);
  TRY_NODE (x, convnet_linear (g, "9", x, 84, TRUE, error));
  x = convnet_activation (g, CONVNET_OP_SIGMOID, "10", x);
  TRY_NODE (x, convnet_linear (g, "11", x, num_classes, TRUE, error));
  return x;
}
