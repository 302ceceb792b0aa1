/* test_augment.c: seeded augmentation against torchvision.
 *
 * Each 8-bit building block (brightness, contrast, saturation, rotation,
 * resized crop) is compared with torchvision.transforms.functional on
 * the same PIL image (fixtures/data/augment/cases.txt, made by
 * generate_data.py); the pipeline is then checked to be those blocks
 * composed, with the same random draws, and to be preprocessing itself
 * when nothing is enabled.  Random parameters are checked for their
 * bounds over many draws.  Timings: test_augment -m perf. */
#include "data/data.h"
#include "test_util.h"

#include <gio/gio.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const ConvnetPreprocess imagenet_pre = {
  FALSE, 36, 32, 32, { 0.485f, 0.456f, 0.406f }, { 0.229f, 0.224f, 0.225f }, FALSE
};
static const ConvnetPreprocess lenet_pre = {
  TRUE, 0, 28, 28, { 0, 0, 0 }, { 1, 1, 1 }, FALSE
};

static char *
augment_path (const char *name)
{
  const char *dir = g_getenv ("CONVNET_FIXTURES");

  if (dir != NULL)
    return g_build_filename (dir, "data", "augment", name, NULL);
  return g_test_build_filename (G_TEST_DIST, "fixtures", "data", "augment",
                                name, NULL);
}

static ConvnetImage *
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
static ConvnetImage *
to_one_channel (const ConvnetImage *image)
{
  ConvnetImage *gray = convnet_image_new (image->width, image->height, 1);
  gsize         i, n = (gsize) image->width * image->height;

  for (i = 0; i < n; i++)
    gray->pixels[i] = image->pixels[i * image->channels];
  return gray;
}

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
check_equal (const float *a,
             const float *b,
             gsize        n)
{
  gsize i;

  for (i = 0; i < n; i++)
    if (a[i] != b[i])
      g_error ("value %" G_GSIZE_FORMAT ": %.9g != %.9g", i, a[i], b[i]);
}

static gsize
sample_size (const ConvnetPreprocess *pre)
{
  return (gsize) (pre->grayscale ? 1 : 3) * pre->crop_width * pre->crop_height;
}

/* convnet_augment_sample into a new buffer, asserting success. */
static float *
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

static float *
preprocess (const ConvnetPreprocess *pre,
            const ConvnetImage      *image)
{
  float  *out = g_new (float, sample_size (pre));
  GError *error = NULL;

  g_assert_true (convnet_preprocess_image (pre, image, out, &error));
  g_assert_no_error (error);
  return out;
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

  g_test_add_func ("/augment/defaults", test_defaults);
  g_test_add_func ("/augment/identity", test_identity);
  g_test_add_func ("/augment/flip", test_flip);
  g_test_add_func ("/augment/composition", test_composition);
  g_test_add_func ("/augment/composition/every-transform",
                   test_composition_every_transform);
  g_test_add_func ("/augment/determinism", test_determinism);
  g_test_add_func ("/augment/crop-rect", test_crop_rect);
  g_test_add_func ("/augment/erase", test_erase);
  g_test_add_func ("/augment/gray", test_gray);
  g_test_add_func ("/augment/errors", test_errors);
  if (g_test_perf ())
    g_test_add_func ("/augment/timing", test_timing);
  add_reference_cases ();
  g_test_add_func ("/augment/shift", test_shift);
  return g_test_run ();
}
