/* augment.c: seeded data augmentation, one training sample at a time.
 *
 * The pipeline is torchvision's usual training transform,
 *   RandomResizedCrop, RandomHorizontalFlip, RandomRotation, ColorJitter,
 *   ToTensor, Normalize, RandomErasing
 * with each step's sampling (ten tries then a fallback for the crop and
 * the erasing, a random order for the colour adjustments) and Pillow's
 * arithmetic for the 8-bit steps.  Random numbers come from a
 * ConvnetRng, not torch's generator: a seed reproduces our samples, not
 * torchvision's.
 *
 * It runs for every sample of every epoch, so it works on the crop-sized
 * image only: the random crop is resized straight to the network's input
 * size, and everything after it touches crop_width x crop_height
 * pixels. */
#include "data.h"

#include <math.h>
#include <string.h>

#define GEOMETRY_FLAGS (CONVNET_AUGMENT_CROP | CONVNET_AUGMENT_FLIP | \
                        CONVNET_AUGMENT_ROTATE | CONVNET_AUGMENT_COLOR | \
                        CONVNET_AUGMENT_SHIFT)

/* As in preprocessing: far beyond any network input. */
#define MAX_SIDE 65536

void
convnet_augment_defaults (ConvnetAugment *aug,
                          guint           flags)
{
  g_return_if_fail (aug != NULL);

  memset (aug, 0, sizeof *aug);
  aug->flags = flags;
  /* torchvision's ImageNet recipe crops down to 8% of the image, which
   * suits 90 epochs from scratch on large photos.  Here the inputs are
   * often small (28 x 28 idx images: 8% is an 8 x 8 patch, blown up) and
   * training is short fine-tuning on few images, where such crops lose
   * the object more often than they teach anything: keep at least half
   * of the image. */
  aug->crop_scale[0] = 0.5;
  aug->crop_scale[1] = 1.0;
  aug->crop_ratio[0] = 3.0 / 4.0;
  aug->crop_ratio[1] = 4.0 / 3.0;
  aug->flip_p = 0.5;
  aug->rotate_degrees = 10.0;
  /* 2 pixels on a 28 x 28 image: the classic padding-and-crop of MNIST */
  aug->shift_fraction = 0.075;
  aug->brightness = 0.2;
  aug->contrast = 0.2;
  aug->saturation = 0.2;
  aug->erase_p = 0.5;
  aug->erase_scale[0] = 0.02;
  aug->erase_scale[1] = 0.33;
  aug->erase_ratio[0] = 0.3;
  aug->erase_ratio[1] = 3.3;
  aug->erase_value = 0.0f;
}

static gboolean
check_range (const char *what,
             const double range[2],
             double       lowest,
             gboolean     lowest_allowed,
             double       highest,
             GError     **error)
{
  if (!isfinite (range[0]) || !isfinite (range[1]) ||
      range[0] > range[1] || range[1] > highest ||
      range[0] < lowest || (range[0] == lowest && !lowest_allowed))
    {
      g_set_error (error, CONVNET_ERROR, CONVNET_ERROR_ARGUMENT,
                   "Invalid augmentation %s range (%g, %g): it must lie in "
                   "%s%g, %g] with min <= max", what, range[0], range[1],
                   lowest_allowed ? "[" : "(", lowest, highest);
      return FALSE;
    }
  return TRUE;
}

static gboolean
check_value (const char *what,
             double      value,
             double      highest,
             GError    **error)
{
  if (!isfinite (value) || value < 0.0 || value > highest)
    {
      g_set_error (error, CONVNET_ERROR, CONVNET_ERROR_ARGUMENT,
                   "Invalid augmentation %s %g: it must lie in [0, %g]",
                   what, value, highest);
      return FALSE;
    }
  return TRUE;
}

gboolean
convnet_augment_check (const ConvnetAugment *aug,
                       GError              **error)
{
  guint f;

  g_return_val_if_fail (aug != NULL, FALSE);

  f = aug->flags;
  if (f & ~(guint) CONVNET_AUGMENT_ALL)
    {
      g_set_error (error, CONVNET_ERROR, CONVNET_ERROR_ARGUMENT,
                   "Unknown augmentation flags 0x%x (known: 0x%x)",
                   f & ~(guint) CONVNET_AUGMENT_ALL, CONVNET_AUGMENT_ALL);
      return FALSE;
    }
  if ((f & CONVNET_AUGMENT_CROP) &&
      (!check_range ("crop scale", aug->crop_scale, 0.0, FALSE, 1.0, error) ||
       !check_range ("crop ratio", aug->crop_ratio, 0.0, FALSE, 100.0, error)))
    return FALSE;
  if ((f & CONVNET_AUGMENT_FLIP) &&
      !check_value ("flip probability", aug->flip_p, 1.0, error))
    return FALSE;
  if ((f & CONVNET_AUGMENT_ROTATE) &&
      !check_value ("rotation", aug->rotate_degrees, 180.0, error))
    return FALSE;
  if ((f & CONVNET_AUGMENT_SHIFT) &&
      !check_value ("shift", aug->shift_fraction, 0.5, error))
    return FALSE;
  if ((f & CONVNET_AUGMENT_COLOR) &&
      (!check_value ("brightness", aug->brightness, 100.0, error) ||
       !check_value ("contrast", aug->contrast, 100.0, error) ||
       !check_value ("saturation", aug->saturation, 100.0, error)))
    return FALSE;
  if ((f & CONVNET_AUGMENT_ERASE) &&
      (!check_value ("erasing probability", aug->erase_p, 1.0, error) ||
       !check_range ("erasing scale", aug->erase_scale, 0.0, TRUE, 1.0, error) ||
       !check_range ("erasing ratio", aug->erase_ratio, 0.0, FALSE, 100.0,
                     error)))
    return FALSE;
  if ((f & CONVNET_AUGMENT_ERASE) && !isfinite (aug->erase_value))
    {
      g_set_error (error, CONVNET_ERROR, CONVNET_ERROR_ARGUMENT,
                   "Invalid augmentation erasing value %g", aug->erase_value);
      return FALSE;
    }
  return TRUE;
}

static inline double
uniform (ConvnetRng *rng,
         double      low,
         double      high)
{
  return low + (high - low) * convnet_rng_uniform (rng);
}

/* One try of RandomResizedCrop and RandomErasing: an area share and a
 * log-uniform aspect ratio, made into sides with Python's round (). */
static void
draw_box (ConvnetRng   *rng,
          double        area,
          const double  scale[2],
          const double  ratio[2],
          double       *times_ratio,
          double       *over_ratio)
{
  double target = area * uniform (rng, scale[0], scale[1]);
  double aspect = exp (uniform (rng, log (ratio[0]), log (ratio[1])));

  *times_ratio = nearbyint (sqrt (target * aspect));
  *over_ratio = nearbyint (sqrt (target / aspect));
}

void
convnet_augment_crop_rect (const ConvnetAugment *aug,
                           int                   width,
                           int                   height,
                           ConvnetRng           *rng,
                           ConvnetRect          *rect)
{
  double in_ratio;
  int    attempt, w, h;

  g_return_if_fail (aug != NULL && rng != NULL && rect != NULL);
  g_return_if_fail (width > 0 && height > 0);

  for (attempt = 0; attempt < 10; attempt++)
    {
      double fw, fh;

      /* The ratio is width / height here. */
      draw_box (rng, (double) width * height, aug->crop_scale,
                aug->crop_ratio, &fw, &fh);
      if (fw > 0.0 && fw <= width && fh > 0.0 && fh <= height)
        {
          rect->width = (int) fw;
          rect->height = (int) fh;
          rect->y = (int) convnet_rng_below (rng, height - rect->height + 1);
          rect->x = (int) convnet_rng_below (rng, width - rect->width + 1);
          return;
        }
    }

  /* The largest center crop within the ratio range. */
  in_ratio = (double) width / height;
  w = width;
  h = height;
  if (in_ratio < aug->crop_ratio[0])
    h = (int) nearbyint (w / aug->crop_ratio[0]);
  else if (in_ratio > aug->crop_ratio[1])
    w = (int) nearbyint (h * aug->crop_ratio[1]);
  /* An extreme ratio range on a one-pixel side would round to nothing,
   * where torchvision fails. */
  rect->width = CLAMP (w, 1, width);
  rect->height = CLAMP (h, 1, height);
  rect->x = (width - rect->width) / 2;
  rect->y = (height - rect->height) / 2;
}

gboolean
convnet_augment_erase_rect (const ConvnetAugment *aug,
                            int                   width,
                            int                   height,
                            ConvnetRng           *rng,
                            ConvnetRect          *rect)
{
  int attempt;

  g_return_val_if_fail (aug != NULL && rng != NULL && rect != NULL, FALSE);
  g_return_val_if_fail (width > 0 && height > 0, FALSE);

  for (attempt = 0; attempt < 10; attempt++)
    {
      double fh, fw;

      /* Unlike the crop, the ratio is height / width here. */
      draw_box (rng, (double) width * height, aug->erase_scale,
                aug->erase_ratio, &fh, &fw);
      if (fh < height && fw < width)
        {
          rect->width = (int) fw;
          rect->height = (int) fh;
          rect->y = (int) convnet_rng_below (rng, height - rect->height + 1);
          rect->x = (int) convnet_rng_below (rng, width - rect->width + 1);
          return TRUE;
        }
    }
  rect->x = rect->y = rect->width = rect->height = 0;
  return FALSE;
}

/* RECT of IMAGE into DST as contiguous rows of CHANNELS bytes a pixel,
 * converted to luma when CHANNELS is 1 and the image has 3. */
static void
copy_rect (const ConvnetImage *image,
           const ConvnetRect  *rect,
           int                 channels,
           guint8             *dst)
{
  gsize in_stride = (gsize) image->width * image->channels;
  gsize out_stride = (gsize) rect->width * channels;
  int   y, x;

  for (y = 0; y < rect->height; y++)
    {
      const guint8 *in = image->pixels + (gsize) (rect->y + y) * in_stride
                         + (gsize) rect->x * image->channels;
      guint8       *out = dst + (gsize) y * out_stride;

      if (channels == image->channels)
        memcpy (out, in, out_stride);
      else
        /* Grayscale () comes first in the gray models' pipeline; on the
         * crop alone it gives the same pixels for less work. */
        for (x = 0; x < rect->width; x++, in += 3)
          out[x] = (guint8) ((in[0] * 19595 + in[1] * 38470 + in[2] * 7471 +
                              0x8000) >> 16);
    }
}

/* RECT of IMAGE into DST, WIDTH x HEIGHT x CHANNELS bytes, where CHANNELS
 * is 1 for a gray working image. */
static void
resized_crop (const ConvnetImage *image,
              const ConvnetRect  *rect,
              int                 channels,
              int                 width,
              int                 height,
              guint8             *dst)
{
  const guint8 *src;
  guint8       *copy = NULL;

  if (channels == image->channels && rect->width == image->width)
    /* Whole rows: the crop is already contiguous. */
    src = image->pixels + (gsize) rect->y * image->width * channels;
  else
    {
      copy = g_malloc ((gsize) rect->width * rect->height * channels);
      copy_rect (image, rect, channels, copy);
      src = copy;
    }
  convnet_resize_bilinear_u8 (src, rect->width, rect->height,
                              dst, width, height, channels);
  g_free (copy);
}

ConvnetImage *
convnet_image_resized_crop (const ConvnetImage *image,
                            const ConvnetRect  *rect,
                            int                 width,
                            int                 height,
                            gboolean            grayscale)
{
  ConvnetImage *out;

  g_return_val_if_fail (image != NULL && rect != NULL, NULL);
  g_return_val_if_fail (image->channels == 1 || image->channels == 3, NULL);
  g_return_val_if_fail (rect->x >= 0 && rect->y >= 0 && rect->width > 0 &&
                        rect->height > 0 &&
                        rect->width <= image->width - rect->x &&
                        rect->height <= image->height - rect->y, NULL);
  g_return_val_if_fail (width > 0 && height > 0, NULL);

  out = convnet_image_new (width, height,
                           grayscale || image->channels == 1 ? 1 : 3);
  if (out != NULL)
    resized_crop (image, rect, out->channels, width, height, out->pixels);
  return out;
}

/* PRE's resize and center crop, as 8-bit pixels: convnet_preprocess_image
 * with an identity normalisation gives v / 255.0f, and v / 255.0f * 255
 * rounds back to v exactly (the error is under 2^-16), so the geometry
 * is preprocessing's own, padding included, without a copy of its
 * code. */
static gboolean
fixed_geometry (const ConvnetPreprocess *pre,
                const ConvnetImage      *image,
                int                      channels,
                guint8                  *dst,
                GError                 **error)
{
  ConvnetPreprocess identity = *pre;
  gsize             plane = (gsize) pre->crop_width * pre->crop_height;
  float            *planes;
  gsize             i;
  int               c;

  /* An image of the input size (idx digits for LeNet) is not resized:
   * Pillow copies an image resized to its own size. */
  if (pre->resize_shorter == 0 && image->width == pre->crop_width &&
      image->height == pre->crop_height)
    {
      ConvnetRect whole = { 0, 0, image->width, image->height };

      copy_rect (image, &whole, channels, dst);
      return TRUE;
    }

  for (c = 0; c < 3; c++)
    {
      identity.mean[c] = 0.0f;
      identity.std[c] = 1.0f;
    }
  planes = g_new (float, plane * (pre->grayscale ? 1 : 3));
  if (!convnet_preprocess_image (&identity, image, planes, error))
    {
      g_free (planes);
      return FALSE;
    }
  /* A gray image for a colour model comes out as three equal planes. */
  for (c = 0; c < channels; c++)
    for (i = 0; i < plane; i++)
      dst[i * channels + c] = (guint8) (planes[c * plane + i] * 255.0f + 0.5f);
  g_free (planes);
  return TRUE;
}

static gboolean
check_input (const ConvnetPreprocess *pre,
             const ConvnetImage      *image,
             GError                 **error)
{
  int c;

  if (pre->crop_height <= 0 || pre->crop_width <= 0 ||
      pre->crop_height > MAX_SIDE || pre->crop_width > MAX_SIDE)
    {
      g_set_error (error, CONVNET_ERROR, CONVNET_ERROR_ARGUMENT,
                   "Invalid augmentation output size %d x %d",
                   pre->crop_width, pre->crop_height);
      return FALSE;
    }
  if (image->width <= 0 || image->height <= 0 || image->pixels == NULL ||
      (image->channels != 1 && image->channels != 3))
    {
      g_set_error (error, CONVNET_ERROR, CONVNET_ERROR_ARGUMENT,
                   "Invalid image: %d x %d with %d channels",
                   image->width, image->height, image->channels);
      return FALSE;
    }
  for (c = 0; c < (pre->grayscale ? 1 : 3); c++)
    if (!isfinite (pre->mean[c]) || !isfinite (pre->std[c]) ||
        pre->std[c] == 0.0f)
      {
        g_set_error (error, CONVNET_ERROR, CONVNET_ERROR_ARGUMENT,
                     "Invalid normalisation for channel %d: mean %g, std %g",
                     c, pre->mean[c], pre->std[c]);
        return FALSE;
      }
  return TRUE;
}

/* ColorJitter: the factors are drawn after the order, each in
 * [max (0, 1 - j), 1 + j]; a zero jitter leaves its adjustment out. */
static void
color_jitter (const ConvnetAugment *aug,
              ConvnetImage         *image,
              ConvnetRng           *rng)
{
  const double jitter[3] = { aug->brightness, aug->contrast, aug->saturation };
  double       factor[3];
  guint        order[3] = { 0, 1, 2 };
  int          k;

  convnet_shuffle (order, 3, rng);
  for (k = 0; k < 3; k++)
    factor[k] = jitter[k] > 0.0
                ? uniform (rng, MAX (0.0, 1.0 - jitter[k]), 1.0 + jitter[k])
                : 1.0;
  for (k = 0; k < 3; k++)
    {
      guint op = order[k];

      if (jitter[op] <= 0.0)
        continue;
      if (op == 0)
        convnet_image_adjust_brightness (image, factor[0]);
      else if (op == 1)
        convnet_image_adjust_contrast (image, factor[1]);
      else
        convnet_image_adjust_saturation (image, factor[2]);
    }
}

/* The normalisation table of one channel: preprocessing's expression,
 * so that equal pixels give bit-equal floats.  Its 256 divisions cost as
 * much as the rest of a 28 x 28 sample, and the mean and std rarely
 * change, so each thread keeps the last table of each channel. */
typedef struct
{
  float mean, std;
  float lut[256];
} NormTable;

static _Thread_local NormTable norm_tables[3];

static const float *
norm_table (int   c,
            float mean,
            float std)
{
  NormTable *t = &norm_tables[c];
  int        v;

  /* Bit patterns, not values: 0.0f and -0.0f are different keys.  The
   * zeroed initial table has std 0, which no valid request has. */
  if (memcmp (&t->mean, &mean, sizeof mean) == 0 &&
      memcmp (&t->std, &std, sizeof std) == 0)
    return t->lut;
  for (v = 0; v < 256; v++)
    t->lut[v] = ((float) v / 255.0f - mean) / std;
  t->mean = mean;
  t->std = std;
  return t->lut;
}

/* ToTensor and Normalize. */
static void
normalise (const ConvnetPreprocess *pre,
           const ConvnetImage      *image,
           float                   *out)
{
  gsize plane = (gsize) image->width * image->height;
  int   out_channels = pre->grayscale ? 1 : 3;
  int   c;

  for (c = 0; c < out_channels; c++)
    {
      const guint8 *src = image->pixels + (image->channels == 1 ? 0 : c);
      const float  *lut = norm_table (c, pre->mean[c], pre->std[c]);
      float        *dst = out + c * plane;
      gsize         i;

      if (image->channels == 1)
        for (i = 0; i < plane; i++)
          dst[i] = lut[src[i]];
      else
        for (i = 0; i < plane; i++)
          dst[i] = lut[src[i * 3]];
    }
}

static void
erase (const ConvnetAugment    *aug,
       const ConvnetPreprocess *pre,
       ConvnetRng              *rng,
       float                   *out)
{
  ConvnetRect rect;
  gsize       plane = (gsize) pre->crop_width * pre->crop_height;
  int         c, y, x;

  if (!(convnet_rng_uniform (rng) < aug->erase_p) ||
      !convnet_augment_erase_rect (aug, pre->crop_width, pre->crop_height,
                                   rng, &rect))
    return;
  for (c = 0; c < (pre->grayscale ? 1 : 3); c++)
    for (y = rect.y; y < rect.y + rect.height; y++)
      {
        float *row = out + c * plane + (gsize) y * pre->crop_width;

        for (x = rect.x; x < rect.x + rect.width; x++)
          row[x] = aug->erase_value;
      }
}

gboolean
convnet_augment_sample (const ConvnetAugment    *aug,
                        const ConvnetPreprocess *pre,
                        const ConvnetImage      *image,
                        ConvnetRng              *rng,
                        float                   *out,
                        GError                 **error)
{
  ConvnetImage work, scratch;
  guint        flags;
  gsize        size;
  guint8      *buffer;

  g_return_val_if_fail (aug != NULL && pre != NULL && image != NULL, FALSE);
  g_return_val_if_fail (rng != NULL && out != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!convnet_augment_check (aug, error))
    return FALSE;
  flags = aug->flags;

  /* Nothing to do on pixels: preprocessing itself, for exact equality. */
  if (!(flags & GEOMETRY_FLAGS))
    {
      if (!convnet_preprocess_image (pre, image, out, error))
        return FALSE;
      if (flags & CONVNET_AUGMENT_ERASE)
        erase (aug, pre, rng, out);
      return TRUE;
    }

  if (!check_input (pre, image, error))
    return FALSE;

  /* The working image has one channel when the model or the image is
   * gray: every step then gives what it would on three equal channels. */
  work.width = scratch.width = pre->crop_width;
  work.height = scratch.height = pre->crop_height;
  work.channels = scratch.channels =
    pre->grayscale || image->channels == 1 ? 1 : 3;
  size = (gsize) work.width * work.height * work.channels;
  buffer = g_malloc (2 * size);
  work.pixels = buffer;
  scratch.pixels = buffer + size;

  if (flags & CONVNET_AUGMENT_CROP)
    {
      ConvnetRect rect;

      convnet_augment_crop_rect (aug, image->width, image->height, rng, &rect);
      resized_crop (image, &rect, work.channels, work.width, work.height,
                    work.pixels);
    }
  else if (!fixed_geometry (pre, image, work.channels, work.pixels, error))
    {
      g_free (buffer);
      return FALSE;
    }

  if ((flags & CONVNET_AUGMENT_FLIP) &&
      convnet_rng_uniform (rng) < aug->flip_p)
    convnet_image_flip_horizontal (&work);

  if (flags & CONVNET_AUGMENT_SHIFT)
    {
      const int sx = (int) lround (aug->shift_fraction * work.width);
      const int sy = (int) lround (aug->shift_fraction * work.height);
      const int dx = (int) convnet_rng_below (rng, 2 * sx + 1) - sx;
      const int dy = (int) convnet_rng_below (rng, 2 * sy + 1) - sy;
      guint8 *t;

      convnet_image_shift (&work, dx, dy, &scratch);
      t = work.pixels;
      work.pixels = scratch.pixels;
      scratch.pixels = t;
    }

  if (flags & CONVNET_AUGMENT_ROTATE)
    {
      guint8 *t;

      convnet_image_rotate (&work, uniform (rng, -aug->rotate_degrees,
                                            aug->rotate_degrees), &scratch);
      t = work.pixels;
      work.pixels = scratch.pixels;
      scratch.pixels = t;
    }

  if (flags & CONVNET_AUGMENT_COLOR)
    color_jitter (aug, &work, rng);

  normalise (pre, &work, out);
  g_free (buffer);

  if (flags & CONVNET_AUGMENT_ERASE)
    erase (aug, pre, rng, out);
  return TRUE;
}
