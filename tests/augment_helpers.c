/* augment_helpers.c: see augment_helpers.h. */
#include "augment_helpers.h"

#include <string.h>

const ConvnetPreprocess imagenet_pre = {
  FALSE, 36, 32, 32, { 0.485f, 0.456f, 0.406f }, { 0.229f, 0.224f, 0.225f }, FALSE
};
const ConvnetPreprocess lenet_pre = {
  TRUE, 0, 28, 28, { 0, 0, 0 }, { 1, 1, 1 }, FALSE
};

char *
augment_path (const char *name)
{
  const char *dir = g_getenv ("CONVNET_FIXTURES");

  if (dir != NULL)
    return g_build_filename (dir, "data", "augment", name, NULL);
  return g_test_build_filename (G_TEST_DIST, "fixtures", "data", "augment",
                                name, NULL);
}

ConvnetImage *
load_fixture (const char *name)
{
  char         *path = augment_path (name);
  GError       *error = NULL;
  ConvnetImage *image = convnet_image_load (path, &error);

  g_assert_no_error (error);
  g_free (path);
  return image;
}

/* The first channel only, for images Pillow holds as "L". */
ConvnetImage *
to_one_channel (const ConvnetImage *image)
{
  ConvnetImage *gray = convnet_image_new (image->width, image->height, 1);
  gsize         i, n = (gsize) image->width * image->height;

  for (i = 0; i < n; i++)
    gray->pixels[i] = image->pixels[i * image->channels];
  return gray;
}

void
check_equal (const float *a,
             const float *b,
             gsize        n)
{
  gsize i;

  for (i = 0; i < n; i++)
    if (a[i] != b[i])
      g_error ("value %" G_GSIZE_FORMAT ": %.9g != %.9g", i, a[i], b[i]);
}

gsize
sample_size (const ConvnetPreprocess *pre)
{
  return (gsize) (pre->grayscale ? 1 : 3) * pre->crop_width * pre->crop_height;
}

/* convnet_augment_sample into a new buffer, asserting success. */
float *
augment (const ConvnetAugment    *aug,
         const ConvnetPreprocess *pre,
         const ConvnetImage      *image,
         guint64                  seed)
{
  float     *out = g_new (float, sample_size (pre));
  ConvnetRng rng;
  GError    *error = NULL;

  convnet_rng_seed (&rng, seed);
  g_assert_true (convnet_augment_sample (aug, pre, image, &rng, out, &error));
  g_assert_no_error (error);
  return out;
}

float *
preprocess (const ConvnetPreprocess *pre,
            const ConvnetImage      *image)
{
  float  *out = g_new (float, sample_size (pre));
  GError *error = NULL;

  g_assert_true (convnet_preprocess_image (pre, image, out, &error));
  g_assert_no_error (error);
  return out;
}
