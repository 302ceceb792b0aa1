/* models.h: the architecture builders behind convnet_model_build.  Each
 * appends its layers to a graph whose input node (0) is already there and
 * names every node with torchvision's module path. */
#ifndef CONVNET_MODELS_H
#define CONVNET_MODELS_H

#include "../graph.h"

/* Stops a builder at the first node that could not be added. */
#define TRY_NODE(var, expr) \
  G_STMT_START { if (((var) = (expr)) < 0) return -1; } G_STMT_END

typedef int (*ConvnetBuilder) (ConvnetGraph *g, const ConvnetArch *arch,
                               int num_classes, GError **error);

/* Each returns the output node, or -1 with *ERROR set. */
int build_lenet5    (ConvnetGraph *g, const ConvnetArch *arch,
                     int num_classes, GError **error);
int build_alexnet   (ConvnetGraph *g, const ConvnetArch *arch,
                     int num_classes, GError **error);
int build_vgg       (ConvnetGraph *g, const ConvnetArch *arch,
                     int num_classes, GError **error);
int build_resnet    (ConvnetGraph *g, const ConvnetArch *arch,
                     int num_classes, GError **error);
/* A ResNet of any width (64 in torchvision) and depth, for tests of small
 * networks with torchvision's structure and names. */
int build_resnet_custom (ConvnetGraph *g, int width, const int blocks[4],
                         gboolean bottleneck, int num_classes,
                         GError **error);
int build_googlenet (ConvnetGraph *g, const ConvnetArch *arch,
                     int num_classes, GError **error);

#endif
