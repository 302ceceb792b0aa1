/* arch.c: the architectures this engine builds, with what each needs
 * around it: default input, preprocessing of its torchvision weights,
 * label set, official checkpoint file and default class-activation node. */
#include "models.h"

#include <string.h>

#define IMAGENET_PREPROCESS \
  { FALSE, 256, 224, 224, { 0.485f, 0.456f, 0.406f }, \
    { 0.229f, 0.224f, 0.225f }, FALSE }
#define IMAGENET(name, family, min, checkpoint, cam, head, features, last) \
  { name, family, 1000, 3, 224, 224, min, IMAGENET_PREPROCESS, \
    "imagenet.txt", checkpoint, cam, head, features, last, 0, FALSE, FALSE }

/* A quarter of torchvision's widths, a 3x3 stem and no first max-pool, on
 * lenet5's input: 28x28, one channel in [0, 1]. */
#define FASHION_PREPROCESS \
  { TRUE, 0, 28, 28, { 0, 0, 0 }, { 1, 1, 1 }, TRUE }
#define SMALL(name, family, cam, features, last, plain) \
  { name, family, 10, 1, 28, 28, 8, FASHION_PREPROCESS, "fashion-mnist.txt", \
    NULL, cam, "fc", features, last, 16, TRUE, plain }

static const ConvnetArch archs[] = {
  { "lenet5", "lenet", 10, 1, 28, 28, 28, FASHION_PREPROCESS,
    "fashion-mnist.txt", NULL, "4", "11", "10", "6", 0, FALSE, FALSE },
  IMAGENET ("alexnet", "alexnet", 63, "alexnet-owt-7be5be79.pth", "features.11",
            "classifier.6", "classifier.5", "flatten"),
  IMAGENET ("vgg11", "vgg", 32, "vgg11-8a719046.pth", "features.19",
            "classifier.6", "classifier.5", "flatten"),
  IMAGENET ("vgg11_bn", "vgg", 32, "vgg11_bn-6002323d.pth", "features.27",
            "classifier.6", "classifier.5", "flatten"),
  IMAGENET ("vgg13", "vgg", 32, "vgg13-19584684.pth", "features.23",
            "classifier.6", "classifier.5", "flatten"),
  IMAGENET ("vgg13_bn", "vgg", 32, "vgg13_bn-abd245e5.pth", "features.33",
            "classifier.6", "classifier.5", "flatten"),
  IMAGENET ("vgg16", "vgg", 32, "vgg16-397923af.pth", "features.29",
            "classifier.6", "classifier.5", "flatten"),
  IMAGENET ("vgg16_bn", "vgg", 32, "vgg16_bn-6c64b313.pth", "features.42",
            "classifier.6", "classifier.5", "flatten"),
  IMAGENET ("vgg19", "vgg", 32, "vgg19-dcbb9e9d.pth", "features.35",
            "classifier.6", "classifier.5", "flatten"),
  IMAGENET ("vgg19_bn", "vgg", 32, "vgg19_bn-c79401a0.pth", "features.51",
            "classifier.6", "classifier.5", "flatten"),
  IMAGENET ("resnet18", "resnet", 1, "resnet18-f37072fd.pth", "layer4",
            "fc", "flatten", "layer4.0"),
  IMAGENET ("resnet34", "resnet", 1, "resnet34-b627a593.pth", "layer4",
            "fc", "flatten", "layer4.1"),
  IMAGENET ("resnet50", "resnet", 1, "resnet50-0676ba61.pth", "layer4",
            "fc", "flatten", "layer4.1"),
  IMAGENET ("resnet101", "resnet", 1, "resnet101-63fe2227.pth", "layer4",
            "fc", "flatten", "layer4.1"),
  IMAGENET ("resnet152", "resnet", 1, "resnet152-394f9c45.pth", "layer4",
            "fc", "flatten", "layer4.1"),
  IMAGENET ("googlenet", "googlenet", 15, "googlenet-1378be20.pth", "inception5b",
            "fc", "dropout", "inception5a"),
  /* narrow networks for 28x28 grayscale pictures, trained here; their
   * heatmaps come from the last 7x7 stage, the 4x4 one being too coarse
   * to show where in the picture the network looks */
  SMALL ("resnet18_small", "resnet", "layer3", "flatten", "layer4.0", FALSE),
  SMALL ("resnet34_small", "resnet", "layer3", "flatten", "layer4.1", FALSE),
  SMALL ("plain18_small", "resnet", "layer3", "flatten", "layer4.0", TRUE),
  SMALL ("plain34_small", "resnet", "layer3", "flatten", "layer4.1", TRUE),
  SMALL ("googlenet_small", "googlenet", "inception4e", "dropout",
         "inception5a", FALSE),
};

guint
convnet_arch_count (void)
{
  return G_N_ELEMENTS (archs);
}

const ConvnetArch *
convnet_arch_nth (guint index)
{
  return index < G_N_ELEMENTS (archs) ? &archs[index] : NULL;
}

const ConvnetArch *
convnet_arch_lookup (const char *name)
{
  for (guint i = 0; i < G_N_ELEMENTS (archs); i++)
    if (strcmp (archs[i].name, name) == 0)
      return &archs[i];
  return NULL;
}

static ConvnetBuilder
builder_for (const ConvnetArch *arch)
{
  if (strcmp (arch->family, "lenet") == 0)
    return build_lenet5;
  if (strcmp (arch->family, "alexnet") == 0)
    return build_alexnet;
  if (strcmp (arch->family, "vgg") == 0)
    return build_vgg;
  if (strcmp (arch->family, "resnet") == 0)
    return build_resnet;
  return build_googlenet;
}

/* Sizes past this are refused before anything is allocated. */
#define MAX_INPUT_SIDE 8192
#define MAX_CLASSES 1000000

ConvnetGraph *
convnet_model_build (const char *name, int num_classes, int height, int width,
                     GError **error)
{
  const ConvnetArch *arch = convnet_arch_lookup (name);
  ConvnetGraph *g;

  if (!arch)
    {
      GString *known = g_string_new (NULL);
      for (guint i = 0; i < G_N_ELEMENTS (archs); i++)
        g_string_append_printf (known, "%s%s", i ? ", " : "", archs[i].name);
      g_set_error (error, CONVNET_ERROR, CONVNET_ERROR_ARGUMENT,
                   "unknown model '%s' (known: %s)", name, known->str);
      g_string_free (known, TRUE);
      return NULL;
    }
  if (num_classes <= 0)
    num_classes = arch->default_classes;
  if (height <= 0)
    height = arch->default_height;
  if (width <= 0)
    width = arch->default_width;
  if (num_classes > MAX_CLASSES)
    {
      g_set_error (error, CONVNET_ERROR, CONVNET_ERROR_LIMIT,
                   "%s: %d classes is more than the %d allowed", name,
                   num_classes, MAX_CLASSES);
      return NULL;
    }
  if (height < arch->min_size || width < arch->min_size
      || height > MAX_INPUT_SIDE || width > MAX_INPUT_SIDE)
    {
      g_set_error (error, CONVNET_ERROR, CONVNET_ERROR_ARGUMENT,
                   "%s: input %d x %d is outside %d..%d pixels a side", name,
                   height, width, arch->min_size, MAX_INPUT_SIDE);
      return NULL;
    }

  g = convnet_graph_new (arch->name, arch->input_channels, height, width);
  if (builder_for (arch) (g, arch, num_classes, error) < 0
      || !convnet_graph_finish (g, error))
    {
      convnet_graph_free (g);
      return NULL;
    }
  return g;
}
