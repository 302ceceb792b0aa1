/* test_augment.c: seeded augmentation against torchvision.
 *
 * Each 8-bit building block (brightness, contrast, saturation, rotation,
 * resized crop) is compared with torchvision.transforms.functional on
 * the same PIL image (fixtures/data/augment/cases.txt, made by
 * generate_data.py); the pipeline is then checked to be those blocks
 * composed, with the same random draws, and to be preprocessing itself
 * when nothing is enabled.  Random parameters are checked for their
 * bounds over many draws.  The random regions, erasing, gray images,
 * bad arguments and timings are in test_augment_regions.c. */
#include "data/data.h"
#include "augment_helpers.h"
#include "test_util.h"

#include <gio/gio.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static guint8 *
read_reference (const char *name,
                gsize       size)
{
  char    *path = augment_path (name);
  gpointer out = test_read_gzip (path, size);

  g_free (path);
  return out;
}

/* One line of cases.txt: op image params... width height channels ref */
static void
test_reference (gconstpointer data)
{
  char        **tok = g_strsplit (data, " ", -1);
  guint         n = g_strv_length (tok);
  const char   *op = tok[0];
  int           width = atoi (tok[n - 4]), height = atoi (tok[n - 3]);
  int           channels = atoi (tok[n - 2]);
  gsize         size = (gsize) width * height * channels, i, n_diff = 0;
  ConvnetImage *image = load_fixture (tok[1]);
  ConvnetImage *result;
  guint8       *ref = read_reference (tok[n - 1], size);
  int           max_diff = 0;

  if (channels == 1 && strcmp (op, "crop_gray") != 0)
    {
      ConvnetImage *gray = to_one_channel (image);

      convnet_image_free (image);
      image = gray;
    }

  if (g_str_has_prefix (op, "crop"))
    {
      ConvnetRect rect = { atoi (tok[2]), atoi (tok[3]),
                           atoi (tok[4]), atoi (tok[5]) };

      result = convnet_image_resized_crop (image, &rect, width, height,
                                           strcmp (op, "crop_gray") == 0);
    }
  else if (strcmp (op, "rotate") == 0)
    {
      result = convnet_image_new (image->width, image->height,
                                  image->channels);
      convnet_image_rotate (image, g_ascii_strtod (tok[2], NULL), result);
    }
  else
    {
      double factor = g_ascii_strtod (tok[2], NULL);

      result = image;
      image = NULL;
      if (strcmp (op, "brightness") == 0)
        convnet_image_adjust_brightness (result, factor);
      else if (strcmp (op, "contrast") == 0)
        convnet_image_adjust_contrast (result, factor);
      else if (strcmp (op, "saturation") == 0)
        convnet_image_adjust_saturation (result, factor);
      else
        g_assert_not_reached ();
    }

  g_assert_cmpint (result->width, ==, width);
  g_assert_cmpint (result->height, ==, height);
  g_assert_cmpint (result->channels, ==, channels);
  for (i = 0; i < size; i++)
    {
      int d = ABS ((int) result->pixels[i] - (int) ref[i]);

      max_diff = MAX (max_diff, d);
      n_diff += d != 0;
    }
  g_test_message ("%s: max difference %d, %" G_GSIZE_FORMAT " of %"
                  G_GSIZE_FORMAT " values differ", tok[n - 1], max_diff,
                  n_diff, size);
  /* Pillow's own arithmetic is reproduced: no tolerance. */
  g_assert_cmpint (max_diff, ==, 0);

  convnet_image_free (result);
  convnet_image_free (image);
  g_free (ref);
  g_strfreev (tok);
}

static void
add_reference_cases (void)
{
  char   *path = augment_path ("cases.txt");
  GError *error = NULL;
  char   *text;
  char  **lines;
  guint   i;

  g_file_get_contents (path, &text, NULL, &error);
  g_assert_no_error (error);
  lines = g_strsplit (text, "\n", -1);
  for (i = 0; lines[i] != NULL; i++)
    {
      char **tok;
      char  *name;

      if (lines[i][0] == '\0' || lines[i][0] == '#')
        continue;
      tok = g_strsplit (lines[i], " ", -1);
      name = g_strdup_printf ("/augment/reference/%s",
                              tok[g_strv_length (tok) - 1]);
      g_test_add_data_func_full (name, g_strdup (lines[i]), test_reference,
                                 g_free);
      g_free (name);
      g_strfreev (tok);
    }
  g_strfreev (lines);
  g_free (text);
  g_free (path);
}

static void
test_defaults (void)
{
  ConvnetAugment aug;
  GError        *error = NULL;

  /* The GIMP procedure's "augment" mask depends on these values. */
  g_assert_cmpint (CONVNET_AUGMENT_FLIP, ==, 1);
  g_assert_cmpint (CONVNET_AUGMENT_CROP, ==, 2);
  g_assert_cmpint (CONVNET_AUGMENT_COLOR, ==, 4);
  g_assert_cmpint (CONVNET_AUGMENT_ROTATE, ==, 8);
  g_assert_cmpint (CONVNET_AUGMENT_ERASE, ==, 16);
  g_assert_cmpint (CONVNET_AUGMENT_SHIFT, ==, 32);

  convnet_augment_defaults (&aug, CONVNET_AUGMENT_ALL);
  g_assert_cmpuint (aug.flags, ==, 63);
  g_assert_cmpfloat (aug.crop_scale[0], ==, 0.5);
  g_assert_cmpfloat (aug.crop_scale[1], ==, 1.0);
  g_assert_cmpfloat (aug.crop_ratio[0], ==, 0.75);
  g_assert_cmpfloat (aug.flip_p, ==, 0.5);
  g_assert_cmpfloat (aug.rotate_degrees, ==, 10.0);
  g_assert_cmpfloat (aug.brightness, ==, 0.2);
  g_assert_cmpfloat (aug.erase_scale[1], ==, 0.33);
  g_assert_cmpfloat (aug.erase_ratio[1], ==, 3.3);
  g_assert_true (convnet_augment_check (&aug, &error));
  g_assert_no_error (error);

  aug.flags = 64;
  g_assert_false (convnet_augment_check (&aug, &error));
  g_assert_error (error, CONVNET_ERROR, CONVNET_ERROR_ARGUMENT);
  g_assert_nonnull (strstr (error->message, "0x40"));
  g_clear_error (&error);

  convnet_augment_defaults (&aug, CONVNET_AUGMENT_CROP);
  aug.crop_scale[0] = 0.0;
  g_assert_false (convnet_augment_check (&aug, &error));
  g_assert_nonnull (strstr (error->message, "crop scale"));
  g_test_message ("%s", error->message);
  g_clear_error (&error);
  /* A disabled transform's settings are not looked at. */
  aug.flags = CONVNET_AUGMENT_FLIP;
  g_assert_true (convnet_augment_check (&aug, NULL));
  aug.flip_p = 1.5;
  g_assert_false (convnet_augment_check (&aug, &error));
  g_assert_nonnull (strstr (error->message, "1.5"));
  g_clear_error (&error);
}

static void
test_identity (void)
{
  static const char *const images[] = {
    "photo_40x30.png", "photo_21x31.png", "gray_29x23.png"
  };
  ConvnetPreprocess pres[5] = { imagenet_pre, lenet_pre, imagenet_pre,
                                imagenet_pre, lenet_pre };
  guint             i, p, k;

  /* A crop larger than the resize: padding goes through too. */
  pres[2].resize_shorter = 20;
  pres[2].crop_width = 26;
  /* The input size itself, which is not resized, in colour and gray. */
  pres[3].resize_shorter = pres[4].resize_shorter = 0;
  pres[3].crop_width = pres[4].crop_width = 40;
  pres[3].crop_height = pres[4].crop_height = 30;
  for (i = 0; i < G_N_ELEMENTS (images); i++)
    for (p = 0; p < G_N_ELEMENTS (pres); p++)
      {
        ConvnetImage *image = load_fixture (images[i]);
        float        *expected = preprocess (&pres[p], image);

        /* No flag, and enabled transforms that cannot change anything:
         * the 8-bit path must give preprocessing's floats too. */
        for (k = 0; k < 6; k++)
          {
            ConvnetAugment aug;
            float         *got;

            convnet_augment_defaults (&aug, k == 0 ? 0 : 1u << (k - 1));
            aug.flip_p = 0.0;                 /* FLIP */
            aug.crop_scale[0] = 1.0;          /* CROP: the whole image... */
            aug.crop_ratio[0] = aug.crop_ratio[1] = 40.0 / 30.0;
            aug.brightness = aug.contrast = aug.saturation = 0.0;  /* COLOR */
            aug.rotate_degrees = 0.0;         /* ROTATE */
            aug.erase_p = 0.0;                /* ERASE */
            /* ...which is preprocessing only for an unresized input. */
            if (k == 2 && !(p >= 3 && strcmp (images[i], "photo_40x30.png") == 0))
              continue;
            got = augment (&aug, &pres[p], image, 99);
            check_equal (got, expected, sample_size (&pres[p]));
            g_free (got);
          }
        g_free (expected);
        convnet_image_free (image);
      }
}

static void
test_flip (void)
{
  ConvnetImage  *image = load_fixture ("photo_40x30.png");
  float         *expected = preprocess (&imagenet_pre, image);
  ConvnetAugment aug;
  float         *got;
  int            c, y, x, w = imagenet_pre.crop_width;

  convnet_augment_defaults (&aug, CONVNET_AUGMENT_FLIP);
  aug.flip_p = 1.0;
  got = augment (&aug, &imagenet_pre, image, 1);
  for (c = 0; c < 3; c++)
    for (y = 0; y < imagenet_pre.crop_height; y++)
      for (x = 0; x < w; x++)
        g_assert_cmpfloat (got[(c * imagenet_pre.crop_height + y) * w + x], ==,
                           expected[(c * imagenet_pre.crop_height + y) * w
                                    + w - 1 - x]);
  g_free (got);
  g_free (expected);
  convnet_image_free (image);
}

/* The normalisation of the pipeline, for composing the blocks by hand. */
static void
normalise (const ConvnetPreprocess *pre,
           const ConvnetImage      *image,
           float                   *out)
{
  gsize plane = (gsize) image->width * image->height, i;
  int   c;

  for (c = 0; c < (pre->grayscale ? 1 : 3); c++)
    for (i = 0; i < plane; i++)
      {
        guint8 v = image->pixels[i * image->channels +
                                 (image->channels == 1 ? 0 : c)];

        out[c * plane + i] = ((float) v / 255.0f - pre->mean[c]) / pre->std[c];
      }
}

/* The pipeline with CROP and ROTATE is the crop block, then the rotation
 * block, fed with the same draws: a crop rectangle, then an angle. */
static void
test_composition (void)
{
  static const char *const images[] = { "photo_40x30.png", "gray_29x23.png" };
  const ConvnetPreprocess *pres[] = { &imagenet_pre, &lenet_pre };
  guint                    i, p, seed;

  for (i = 0; i < G_N_ELEMENTS (images); i++)
    for (p = 0; p < G_N_ELEMENTS (pres); p++)
      for (seed = 0; seed < 20; seed++)
        {
          const ConvnetPreprocess *pre = pres[p];
          ConvnetImage            *image = load_fixture (images[i]);
          ConvnetAugment           aug;
          ConvnetRng               rng;
          ConvnetRect              rect;
          ConvnetImage            *cropped, *rotated;
          float                   *expected, *got;
          double                   angle;

          if (strstr (images[i], "gray") != NULL)
            {
              ConvnetImage *gray = to_one_channel (image);

              convnet_image_free (image);
              image = gray;
            }
          convnet_augment_defaults (&aug, CONVNET_AUGMENT_CROP |
                                          CONVNET_AUGMENT_ROTATE);
          convnet_rng_seed (&rng, seed);
          convnet_augment_crop_rect (&aug, image->width, image->height, &rng,
                                     &rect);
          angle = -10.0 + 20.0 * convnet_rng_uniform (&rng);
          cropped = convnet_image_resized_crop (image, &rect, pre->crop_width,
                                                pre->crop_height,
                                                pre->grayscale);
          rotated = convnet_image_new (cropped->width, cropped->height,
                                       cropped->channels);
          convnet_image_rotate (cropped, angle, rotated);
          expected = g_new (float, sample_size (pre));
          normalise (pre, rotated, expected);

          got = augment (&aug, pre, image, seed);
          check_equal (got, expected, sample_size (pre));
          g_free (got);
          g_free (expected);
          convnet_image_free (rotated);
          convnet_image_free (cropped);
          convnet_image_free (image);
        }
}

/* ColorJitter by hand from RNG's draws: the order, then a factor for each
 * adjustment, applied in that order. */
static void
jitter_by_hand (const ConvnetAugment *aug,
                ConvnetImage         *image,
                ConvnetRng           *rng)
{
  const double jitter[3] = { aug->brightness, aug->contrast, aug->saturation };
  double       factor[3];
  guint        order[3] = { 0, 1, 2 };
  int          k;

  convnet_shuffle (order, 3, rng);
  for (k = 0; k < 3; k++)
    {
      double low = MAX (0.0, 1.0 - jitter[k]), high = 1.0 + jitter[k];

      factor[k] = low + (high - low) * convnet_rng_uniform (rng);
    }
  for (k = 0; k < 3; k++)
    if (order[k] == 0)
      convnet_image_adjust_brightness (image, factor[0]);
    else if (order[k] == 1)
      convnet_image_adjust_contrast (image, factor[1]);
    else
      convnet_image_adjust_saturation (image, factor[2]);
}

/* With every transform but erasing (test_erase's), the pipeline is the
 * blocks in torchvision's order fed with the same draws: the crop
 * rectangle, the flip, the shift, the angle, then ColorJitter's order and
 * factors.  A pipeline that skipped a step, or took them in another order,
 * gives other samples. */
static void
test_composition_every_transform (void)
{
  static const char *const images[] = { "photo_40x30.png", "gray_29x23.png" };
  const ConvnetPreprocess *pres[] = { &imagenet_pre, &lenet_pre };
  const guint              flags = CONVNET_AUGMENT_CROP | CONVNET_AUGMENT_FLIP |
                                   CONVNET_AUGMENT_SHIFT |
                                   CONVNET_AUGMENT_ROTATE |
                                   CONVNET_AUGMENT_COLOR;
  guint                    i, p, seed, flipped = 0, shifted = 0, jittered = 0;

  for (i = 0; i < G_N_ELEMENTS (images); i++)
    for (p = 0; p < G_N_ELEMENTS (pres); p++)
      for (seed = 0; seed < 20; seed++)
        {
          const ConvnetPreprocess *pre = pres[p];
          ConvnetImage            *image = load_fixture (images[i]);
          ConvnetAugment           aug;
          ConvnetRng               rng;
          ConvnetRect              rect;
          ConvnetImage            *work, *moved, *rotated;
          float                   *expected, *got;
          gsize                    bytes;
          guint8                  *before;
          int                      sx, sy, dx, dy;

          if (strstr (images[i], "gray") != NULL)
            {
              ConvnetImage *gray = to_one_channel (image);

              convnet_image_free (image);
              image = gray;
            }
          convnet_augment_defaults (&aug, flags);
          convnet_rng_seed (&rng, seed);
          convnet_augment_crop_rect (&aug, image->width, image->height, &rng,
                                     &rect);
          work = convnet_image_resized_crop (image, &rect, pre->crop_width,
                                             pre->crop_height,
                                             pre->grayscale);
          if (convnet_rng_uniform (&rng) < aug.flip_p)
            {
              convnet_image_flip_horizontal (work);
              flipped++;
            }
          sx = (int) lround (aug.shift_fraction * work->width);
          sy = (int) lround (aug.shift_fraction * work->height);
          dx = (int) convnet_rng_below (&rng, 2 * sx + 1) - sx;
          dy = (int) convnet_rng_below (&rng, 2 * sy + 1) - sy;
          shifted += dx != 0 || dy != 0;
          moved = convnet_image_new (work->width, work->height,
                                     work->channels);
          convnet_image_shift (work, dx, dy, moved);
          rotated = convnet_image_new (work->width, work->height,
                                       work->channels);
          convnet_image_rotate (moved, -aug.rotate_degrees + 2.0 *
                                aug.rotate_degrees *
                                convnet_rng_uniform (&rng), rotated);
          bytes = (gsize) rotated->width * rotated->height * rotated->channels;
          before = g_memdup2 (rotated->pixels, bytes);
          jitter_by_hand (&aug, rotated, &rng);
          jittered += memcmp (before, rotated->pixels, bytes) != 0;
          expected = g_new (float, sample_size (pre));
          normalise (pre, rotated, expected);

          got = augment (&aug, pre, image, seed);
          check_equal (got, expected, sample_size (pre));
          g_free (got);
          g_free (expected);
          g_free (before);
          convnet_image_free (rotated);
          convnet_image_free (moved);
          convnet_image_free (work);
          convnet_image_free (image);
        }
  /* every step did something in most samples, so none can be left out */
  g_test_message ("of 80 samples: %u flipped, %u shifted, %u jittered",
                  flipped, shifted, jittered);
  g_assert_cmpuint (flipped, >, 20);
  g_assert_cmpuint (shifted, >, 40);
  g_assert_cmpuint (jittered, >, 60);
}

static void
test_determinism (void)
{
  ConvnetImage  *image = load_fixture ("photo_40x30.png");
  ConvnetAugment aug;
  gsize          n = sample_size (&imagenet_pre);
  guint64        seed;
  guint          n_same = 0;

  convnet_augment_defaults (&aug, CONVNET_AUGMENT_ALL);
  for (seed = 0; seed < 50; seed++)
    {
      float *a = augment (&aug, &imagenet_pre, image, seed);
      float *b = augment (&aug, &imagenet_pre, image, seed);
      float *c = augment (&aug, &imagenet_pre, image, seed + 1000);

      g_assert_cmpmem (a, n * sizeof (float), b, n * sizeof (float));
      n_same += memcmp (a, c, n * sizeof (float)) == 0;
      g_free (a);
      g_free (b);
      g_free (c);
    }
  g_assert_cmpuint (n_same, ==, 0);

  /* Successive samples from one generator differ too. */
  {
    ConvnetRng rng;
    float     *a = g_new (float, n), *b = g_new (float, n);

    convnet_rng_seed (&rng, 3);
    g_assert_true (convnet_augment_sample (&aug, &imagenet_pre, image, &rng,
                                           a, NULL));
    g_assert_true (convnet_augment_sample (&aug, &imagenet_pre, image, &rng,
                                           b, NULL));
    g_assert_true (memcmp (a, b, n * sizeof (float)) != 0);
    g_free (a);
    g_free (b);
  }
  convnet_image_free (image);
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/augment/defaults", test_defaults);
  g_test_add_func ("/augment/identity", test_identity);
  g_test_add_func ("/augment/flip", test_flip);
  g_test_add_func ("/augment/composition", test_composition);
  g_test_add_func ("/augment/composition/every-transform",
                   test_composition_every_transform);
  g_test_add_func ("/augment/determinism", test_determinism);
  add_reference_cases ();
  return g_test_run ();
}
