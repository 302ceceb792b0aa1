/* augment_helpers.h: what the augmentation suites (test_augment.c,
 * test_augment_regions.c) share: fixtures, the two preprocessings they
 * use, and augmenting or preprocessing into a new buffer. */
#ifndef CONVNET_AUGMENT_HELPERS_H
#define CONVNET_AUGMENT_HELPERS_H

#include "convnet.h"
#include "data/data.h"

/* a small ImageNet-like preprocessing (36 -> 32) and LeNet-5's */
extern const ConvnetPreprocess imagenet_pre;
extern const ConvnetPreprocess lenet_pre;

/* fixtures/data/augment/NAME; g_free () it */
char         *augment_path   (const char *name);
ConvnetImage *load_fixture   (const char *name);
/* The first channel only, for images Pillow holds as "L". */
ConvnetImage *to_one_channel (const ConvnetImage *image);
/* A[i] == B[i] for every i < N, or a g_error naming the first that is not */
void          check_equal    (const float *a, const float *b, gsize n);
gsize         sample_size    (const ConvnetPreprocess *pre);
/* convnet_augment_sample into a new buffer, asserting success. */
float        *augment        (const ConvnetAugment    *aug,
                              const ConvnetPreprocess *pre,
                              const ConvnetImage      *image,
                              guint64                  seed);
float        *preprocess     (const ConvnetPreprocess *pre,
                              const ConvnetImage      *image);

#endif
