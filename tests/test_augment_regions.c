/* test_augment_regions.c: the random regions and the pixel-level
 * transforms of seeded augmentation: the random resized crop's box stays
 * within its scale and ratio, random erasing, gray images, bad arguments,
 * the shift (translation) transform; timings with -m perf.  The
 * comparisons with torchvision are in test_augment.c. */
#include "augment_helpers.h"
#include "test_util.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Rounded sides bound the area and the ratio they came from: with
 * w = round (sqrt (a * r)) and h = round (sqrt (a / r)),
 * (w - 1/2)(h - 1/2) <= a <= (w + 1/2)(h + 1/2), likewise for r. */
static gboolean
box_fits (double       w,
          double       h,
          double       area,
          const double scale[2],
          const double ratio[2])
{
  return (w + 0.5) * (h + 0.5) >= scale[0] * area &&
         (w - 0.5) * (h - 0.5) <= scale[1] * area &&
         (w + 0.5) / (h - 0.5) >= ratio[0] &&
         (w - 0.5) / (h + 0.5) <= ratio[1];
}

static void
test_crop_rect (void)
{
  static const int sizes[][2] = { { 200, 150 }, { 28, 28 }, { 97, 64 } };
  ConvnetAugment   aug;
  ConvnetRng       rng;
  ConvnetRect      rect;
  guint            s, i, k;

  convnet_rng_seed (&rng, 11);
  for (k = 0; k < 2; k++)
    for (s = 0; s < G_N_ELEMENTS (sizes); s++)
      {
        int    w = sizes[s][0], h = sizes[s][1];
        double area = (double) w * h, lo = 2, hi = 0;
        guint  at_left = 0, at_right = 0, fallbacks = 0;

        convnet_augment_defaults (&aug, CONVNET_AUGMENT_CROP);
        if (k == 1)
          aug.crop_scale[0] = 0.08;   /* torchvision's */
        for (i = 0; i < 20000; i++)
          {
            double share;

            convnet_augment_crop_rect (&aug, w, h, &rng, &rect);
            g_assert_cmpint (rect.x, >=, 0);
            g_assert_cmpint (rect.y, >=, 0);
            g_assert_cmpint (rect.width, >=, 1);
            g_assert_cmpint (rect.height, >=, 1);
            g_assert_cmpint (rect.x + rect.width, <=, w);
            g_assert_cmpint (rect.y + rect.height, <=, h);
            share = rect.width * (double) rect.height / area;
            /* Else ten tries failed: the fallback, the largest center
             * crop within the ratios. */
            if (!box_fits (rect.width, rect.height, area, aug.crop_scale,
                           aug.crop_ratio))
              {
                int fw = MIN (w, (int) nearbyint (h * aug.crop_ratio[1]));
                int fh = MIN (h, (int) nearbyint (w / aug.crop_ratio[0]));

                g_assert_cmpint (rect.width, ==, fw);
                g_assert_cmpint (rect.height, ==, fh);
                g_assert_cmpint (rect.x, ==, (w - fw) / 2);
                g_assert_cmpint (rect.y, ==, (h - fh) / 2);
                fallbacks++;
              }
            lo = MIN (lo, share);
            hi = MAX (hi, share);
            at_left += rect.x == 0;
            at_right += rect.x + rect.width == w;
          }
        g_test_message ("%d x %d, scale from %g: shares %.3f to %.3f, "
                        "%u fallbacks", w, h, aug.crop_scale[0], lo, hi,
                        fallbacks);
        /* The whole range is reached, and every position. */
        g_assert_cmpfloat (lo, <, aug.crop_scale[0] + 0.05);
        /* The largest crop within the ratios, 0.88 for 97 x 64. */
        g_assert_cmpfloat (hi, >, 0.95 * MIN (w, h * aug.crop_ratio[1]) *
                                  MIN (h, w / aug.crop_ratio[0]) / area);
        g_assert_cmpuint (at_left, >, 0);
        g_assert_cmpuint (at_right, >, 0);
      }

  /* No try fits a 1000 x 10 strip: the center crop of the widest ratio. */
  convnet_augment_defaults (&aug, CONVNET_AUGMENT_CROP);
  convnet_augment_crop_rect (&aug, 1000, 10, &rng, &rect);
  g_assert_cmpint (rect.width, ==, 13);
  g_assert_cmpint (rect.height, ==, 10);
  g_assert_cmpint (rect.x, ==, 493);
  g_assert_cmpint (rect.y, ==, 0);
  convnet_augment_crop_rect (&aug, 10, 1000, &rng, &rect);
  g_assert_cmpint (rect.width, ==, 10);
  g_assert_cmpint (rect.height, ==, 13);
  g_assert_cmpint (rect.y, ==, 493);
}

static void
test_erase (void)
{
  ConvnetImage  *image = load_fixture ("photo_40x30.png");
  float         *plain = preprocess (&imagenet_pre, image);
  ConvnetAugment aug;
  ConvnetRng     rng;
  ConvnetRect    rect;
  int            W = imagenet_pre.crop_width, H = imagenet_pre.crop_height;
  double         area = (double) W * H, lo = 1, hi = 0;
  guint          i, found = 0, erased = 0;
  guint64        seed;

  convnet_augment_defaults (&aug, CONVNET_AUGMENT_ERASE);
  convnet_rng_seed (&rng, 4);
  for (i = 0; i < 20000; i++)
    if (convnet_augment_erase_rect (&aug, W, H, &rng, &rect))
      {
        found++;
        g_assert_cmpint (rect.width, <, W);
        g_assert_cmpint (rect.height, <, H);
        g_assert_cmpint (rect.x + rect.width, <=, W);
        g_assert_cmpint (rect.y + rect.height, <=, H);
        /* The erasing ratio is height / width. */
        g_assert_true (box_fits (rect.height, rect.width, area,
                                 aug.erase_scale, aug.erase_ratio));
        lo = MIN (lo, rect.width * rect.height / area);
        hi = MAX (hi, rect.width * rect.height / area);
      }
  g_test_message ("erasing: %u boxes of 20000 tries, shares %.3f to %.3f",
                  found, lo, hi);
  g_assert_cmpuint (found, >, 19000);
  g_assert_cmpfloat (lo, <, 0.04);
  g_assert_cmpfloat (hi, >, 0.3);

  /* In a sample: one rectangle, in every channel, of the value, and
   * nothing else touched; about half of the samples with p = 0.5. */
  aug.erase_value = 5.0f;
  for (seed = 0; seed < 200; seed++)
    {
      float *got = augment (&aug, &imagenet_pre, image, seed);
      int    x0 = W, y0 = H, x1 = -1, y1 = -1, c, x, y;

      for (c = 0; c < 3; c++)
        for (y = 0; y < H; y++)
          for (x = 0; x < W; x++)
            if (got[(c * H + y) * W + x] != plain[(c * H + y) * W + x])
              {
                x0 = MIN (x0, x);
                y0 = MIN (y0, y);
                x1 = MAX (x1, x);
                y1 = MAX (y1, y);
              }
      if (x1 >= 0)
        {
          erased++;
          for (c = 0; c < 3; c++)
            for (y = y0; y <= y1; y++)
              for (x = x0; x <= x1; x++)
                g_assert_cmpfloat (got[(c * H + y) * W + x], ==, 5.0f);
          g_assert_true (box_fits (y1 - y0 + 1, x1 - x0 + 1, area,
                                   aug.erase_scale, aug.erase_ratio));
        }
      g_free (got);
    }
  g_test_message ("erasing: %u of 200 samples erased", erased);
  g_assert_cmpuint (erased, >, 70);
  g_assert_cmpuint (erased, <, 130);
  g_free (plain);
  convnet_image_free (image);
}

/* A gray image for a colour model stays gray through every transform. */
static void
test_gray (void)
{
  ConvnetImage     *rgb = load_fixture ("gray_29x23.png");
  ConvnetImage     *gray = to_one_channel (rgb);
  ConvnetPreprocess pre = imagenet_pre;
  ConvnetAugment    aug;
  gsize             plane = (gsize) pre.crop_width * pre.crop_height;
  guint64           seed;

  pre.mean[1] = pre.mean[2] = pre.mean[0];
  pre.std[1] = pre.std[2] = pre.std[0];
  convnet_augment_defaults (&aug, CONVNET_AUGMENT_ALL);
  for (seed = 0; seed < 20; seed++)
    {
      /* Its three-channel decoding gives the same sample. */
      float *a = augment (&aug, &pre, gray, seed);
      float *b = augment (&aug, &pre, rgb, seed);

      check_equal (a, b, 3 * plane);
      check_equal (a, a + plane, plane);
      check_equal (a, a + 2 * plane, plane);
      g_free (a);
      g_free (b);
    }
  convnet_image_free (gray);
  convnet_image_free (rgb);
}

static void
test_errors (void)
{
  ConvnetImage     *image = load_fixture ("photo_40x30.png");
  ConvnetPreprocess pre = imagenet_pre;
  ConvnetAugment    aug;
  ConvnetRng        rng;
  GError           *error = NULL;
  float             out[3 * 32 * 32];

  convnet_rng_seed (&rng, 1);
  convnet_augment_defaults (&aug, CONVNET_AUGMENT_ALL);
  pre.std[2] = 0.0f;
  g_assert_false (convnet_augment_sample (&aug, &pre, image, &rng, out,
                                          &error));
  g_assert_error (error, CONVNET_ERROR, CONVNET_ERROR_ARGUMENT);
  g_assert_nonnull (strstr (error->message, "channel 2"));
  g_clear_error (&error);

  pre = imagenet_pre;
  pre.crop_width = 0;
  g_assert_false (convnet_augment_sample (&aug, &pre, image, &rng, out,
                                          &error));
  g_assert_error (error, CONVNET_ERROR, CONVNET_ERROR_ARGUMENT);
  g_clear_error (&error);

  aug.rotate_degrees = -1.0;
  g_assert_false (convnet_augment_sample (&aug, &imagenet_pre, image, &rng,
                                          out, &error));
  g_assert_nonnull (strstr (error->message, "rotation -1"));
  g_clear_error (&error);
  convnet_image_free (image);
}

static ConvnetImage *
synthetic_photo (int width,
                 int height)
{
  ConvnetImage *image = convnet_image_new (width, height, 3);
  ConvnetRng    rng;
  int           x, y;

  convnet_rng_seed (&rng, 77);
  for (y = 0; y < height; y++)
    for (x = 0; x < width; x++)
      {
        guint8 *p = image->pixels + ((gsize) y * width + x) * 3;
        int     noise = (int) convnet_rng_below (&rng, 32);

        p[0] = (guint8) (x * 200 / width + noise);
        p[1] = (guint8) (y * 200 / height + noise);
        p[2] = (guint8) ((x ^ y) & 0xff);
      }
  return image;
}

/* Timings, reported and never asserted (machines differ), so no check of
 * the product: registered only for a performance run (-m perf). */
static void
test_timing (void)
{
  ConvnetDataset   *fashion = NULL;
  ConvnetImage     *digits[100];
  ConvnetImage     *photo;
  ConvnetAugment    aug;
  ConvnetRng        rng;
  ConvnetPreprocess pre = { FALSE, 256, 224, 224,
                            { 0.485f, 0.456f, 0.406f },
                            { 0.229f, 0.224f, 0.225f }, FALSE };
  float            *out = g_new (float, 3 * 224 * 224);
  gint64            start;
  double            ms;
  guint             i;

  if (g_file_test ("/usr/share/datasets/fashion-mnist", G_FILE_TEST_IS_DIR))
    fashion = convnet_dataset_load_mnist ("/usr/share/datasets/fashion-mnist",
                                          TRUE, NULL);
  for (i = 0; i < G_N_ELEMENTS (digits); i++)
    {
      ConvnetImage *rgb = synthetic_photo (28, 28);

      digits[i] = to_one_channel (rgb);
      convnet_image_free (rgb);
    }

  convnet_augment_defaults (&aug, CONVNET_AUGMENT_ALL);
  convnet_rng_seed (&rng, 1);
  start = g_get_monotonic_time ();
  for (i = 0; i < 60000; i++)
    {
      const ConvnetImage *image = fashion != NULL && i < fashion->n
                                  ? fashion->images[i] : digits[i % 100];

      g_assert_true (convnet_augment_sample (&aug, &lenet_pre, image, &rng,
                                             out, NULL));
    }
  ms = (g_get_monotonic_time () - start) / 1000.0;
  g_test_message ("timing: 60000 %s 28x28 samples, all transforms: %.0f ms "
                  "(%.1f us each)", fashion != NULL ? "Fashion-MNIST"
                  : "synthetic", ms, ms * 1000.0 / 60000);

  photo = synthetic_photo (1000, 750);
  for (i = 0; i < 2; i++)
    {
      guint k;

      convnet_augment_defaults (&aug, i == 0 ? 0 : CONVNET_AUGMENT_ALL);
      start = g_get_monotonic_time ();
      for (k = 0; k < 50; k++)
        g_assert_true (convnet_augment_sample (&aug, &pre, photo, &rng, out,
                                               NULL));
      ms = (g_get_monotonic_time () - start) / 1000.0 / 50;
      g_test_message ("timing: 224x224 sample of a 1000x750 photo, %s: "
                      "%.2f ms", i == 0 ? "no transform (preprocessing)"
                      : "all transforms", ms);
    }

  convnet_image_free (photo);
  for (i = 0; i < G_N_ELEMENTS (digits); i++)
    convnet_image_free (digits[i]);
  convnet_dataset_free (fashion);
  g_free (out);
}

/* A shift moves every pixel by (dx, dy) and fills with zeros. */
static void
test_shift (void)
{
  ConvnetImage *src = convnet_image_new (5, 4, 3), *dst = convnet_image_new (5, 4, 3);

  for (int i = 0; i < 5 * 4 * 3; i++)
    src->pixels[i] = (guint8) (i + 1);
  for (int dy = -4; dy <= 4; dy++)
    for (int dx = -5; dx <= 5; dx++)
      {
        convnet_image_shift (src, dx, dy, dst);
        for (int y = 0; y < 4; y++)
          for (int x = 0; x < 5; x++)
            for (int c = 0; c < 3; c++)
              {
                const int sx = x - dx, sy = y - dy;
                const guint8 want = (sx >= 0 && sx < 5 && sy >= 0 && sy < 4)
                                    ? src->pixels[(sy * 5 + sx) * 3 + c] : 0;
                g_assert_cmpuint (dst->pixels[(y * 5 + x) * 3 + c], ==, want);
              }
      }
  convnet_image_free (src);
  convnet_image_free (dst);
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/augment/crop-rect", test_crop_rect);
  g_test_add_func ("/augment/erase", test_erase);
  g_test_add_func ("/augment/gray", test_gray);
  g_test_add_func ("/augment/errors", test_errors);
  if (g_test_perf ())
    g_test_add_func ("/augment/timing", test_timing);
  g_test_add_func ("/augment/shift", test_shift);
  return g_test_run ();
}
