/* test_image.c: decoding, resizing, preprocessing and label files against
 * references made by Pillow and torchvision (fixtures/generate_images.py).
 *
 * The cases come from fixtures/images/cases.txt, one GTest case each, so
 * a new reference needs no C change.  Every comparison reports its largest
 * difference, which is the number worth watching when Pillow changes. */
#include "convnet.h"
#include "test_util.h"

#include <gdk-pixbuf/gdk-pixbuf.h>
#include <gio/gio.h>
#include <glib/gstdio.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef enum
{
  CASE_DECODE,
  CASE_RESIZE,
  CASE_PREPROCESS
} CaseKind;

typedef struct
{
  CaseKind           kind;
  char              *image;
  char              *ref;
  int                width, height;   /* decode: image; resize: output */
  int                channels;        /* resize */
  int                tolerance;       /* decode, in levels */
  ConvnetPreprocess  pre;             /* preprocess */
} Case;

static char *
images_path (const char *name)
{
  const char *dir = g_getenv ("CONVNET_FIXTURES");

  if (dir != NULL)
    return g_build_filename (dir, "images", name, NULL);
  return g_test_build_filename (G_TEST_DIST, "fixtures", "images", name, NULL);
}

static gpointer
read_reference (const char *name,
                gsize       size)
{
  char    *path = images_path (name);
  gpointer out = test_read_gzip (path, size);

  g_free (path);
  return out;
}

static ConvnetImage *
load_fixture (const char *name)
{
  char         *path = images_path (name);
  GError       *error = NULL;
  ConvnetImage *image = convnet_image_load (path, &error);

  g_assert_no_error (error);
  g_assert_nonnull (image);
  g_assert_cmpint (image->channels, ==, 3);
  g_free (path);
  return image;
}

/* Largest absolute difference of two byte arrays; *N_DIFF counts the
 * bytes that differ at all. */
static int
max_level_diff (const guint8 *a,
                const guint8 *b,
                gsize         n,
                gsize        *n_diff)
{
  int   worst = 0;
  gsize i;

  *n_diff = 0;
  for (i = 0; i < n; i++)
    {
      int d = abs ((int) a[i] - (int) b[i]);

      if (d > 0)
        (*n_diff)++;
      worst = MAX (worst, d);
    }
  return worst;
}

static void
test_decode (gconstpointer data)
{
  const Case   *c = data;
  ConvnetImage *image = load_fixture (c->image);
  gsize         n = (gsize) c->width * c->height * 3, n_diff;
  guint8       *ref;
  int           worst;

  g_assert_cmpint (image->width, ==, c->width);
  g_assert_cmpint (image->height, ==, c->height);
  ref = read_reference (c->ref, n);
  worst = max_level_diff (image->pixels, ref, n, &n_diff);
  g_test_message ("%s: max difference %d levels, %" G_GSIZE_FORMAT
                  " of %" G_GSIZE_FORMAT " samples differ",
                  c->image, worst, n_diff, n);
  g_assert_cmpint (worst, <=, c->tolerance);
  g_free (ref);
  convnet_image_free (image);
}

static void
test_resize (gconstpointer data)
{
  const Case   *c = data;
  ConvnetImage *image = load_fixture (c->image);
  const guint8 *src = image->pixels;
  guint8       *gray = NULL, *out, *ref, *window;
  gsize         n = (gsize) c->width * c->height * c->channels, n_diff;
  int           worst, x0, y0, nx, ny, y;

  if (c->channels == 1)
    {
      gsize i, n_src = (gsize) image->width * image->height;

      /* A gray PNG decodes to equal channels; any one is the L image. */
      gray = g_new (guint8, n_src);
      for (i = 0; i < n_src; i++)
        {
          g_assert_cmpint (image->pixels[3 * i], ==, image->pixels[3 * i + 1]);
          gray[i] = image->pixels[3 * i];
        }
      src = gray;
    }

  out = g_malloc (n);
  convnet_resize_bilinear_u8 (src, image->width, image->height,
                              out, c->width, c->height, c->channels);
  ref = read_reference (c->ref, n);
  worst = max_level_diff (out, ref, n, &n_diff);
  g_test_message ("%s to %dx%d: max difference %d levels, %" G_GSIZE_FORMAT
                  " of %" G_GSIZE_FORMAT " samples differ",
                  c->image, c->width, c->height, worst, n_diff, n);
  g_assert_cmpint (worst, <=, 1);

  /* A window must be exactly the crop of the full result. */
  x0 = c->width / 3;
  y0 = c->height / 4;
  nx = MAX (1, c->width / 2);
  ny = MAX (1, c->height / 2);
  window = g_malloc ((gsize) nx * ny * c->channels);
  convnet_resize_bilinear_u8_window (src, image->width, image->height,
                                     c->width, c->height, x0, y0, nx, ny,
                                     window, c->channels);
  for (y = 0; y < ny; y++)
    g_assert_cmpmem (window + (gsize) y * nx * c->channels,
                     (gsize) nx * c->channels,
                     out + ((gsize) (y0 + y) * c->width + x0) * c->channels,
                     (gsize) nx * c->channels);

  g_free (window);
  g_free (ref);
  g_free (out);
  g_free (gray);
  convnet_image_free (image);
}

static void
test_preprocess (gconstpointer data)
{
  const Case   *c = data;
  ConvnetImage *image = load_fixture (c->image);
  int           channels = c->pre.grayscale ? 1 : 3;
  gsize         plane = (gsize) c->pre.crop_height * c->pre.crop_width;
  GError       *error = NULL;
  float        *out, *ref;
  double        worst_levels = 0.0, worst_abs = 0.0;
  /* Torchvision's result is exact arithmetic on 8-bit pixels, so one
   * level is the most a faithful resize may miss by; a JPEG may add its
   * decoder's rounding. */
  double        allowed = g_str_has_suffix (c->image, ".jpg") ? 2.0 : 1.0;
  gsize         i;
  int           ch;

  out = g_new (float, channels * plane);
  g_assert_true (convnet_preprocess_image (&c->pre, image, out, &error));
  g_assert_no_error (error);
  ref = read_reference (c->ref, channels * plane * sizeof (float));

  for (ch = 0; ch < channels; ch++)
    {
      /* One level of the 8-bit image after ToTensor and Normalize. */
      double level = 1.0 / 255.0 / c->pre.std[ch];

      for (i = 0; i < plane; i++)
        {
          double d = fabs ((double) out[ch * plane + i] - ref[ch * plane + i]);

          worst_abs = MAX (worst_abs, d);
          worst_levels = MAX (worst_levels, d / level);
          if (d > allowed * level + 1e-5)
            g_error ("%s: channel %d, pixel %" G_GSIZE_FORMAT ": %.7g, "
                     "torchvision %.7g", c->image, ch, i,
                     out[ch * plane + i], ref[ch * plane + i]);
        }
    }
  g_test_message ("%s (%s, resize %d, crop %d high %d wide): max "
                  "|difference| %.3g (%.3f levels)", c->image,
                  c->pre.grayscale ? "gray" : "rgb", c->pre.resize_shorter,
                  c->pre.crop_height, c->pre.crop_width, worst_abs,
                  worst_levels);
  g_free (ref);
  g_free (out);
  convnet_image_free (image);
}

static void
case_free (gpointer data)
{
  Case *c = data;

  g_free (c->image);
  g_free (c->ref);
  g_free (c);
}

static Case *
parse_case (char **f,
            guint  n)
{
  Case *c = g_new0 (Case, 1);
  int   i;

  if (g_str_equal (f[0], "decode") && n == 6)
    {
      c->kind = CASE_DECODE;
      c->width = atoi (f[2]);
      c->height = atoi (f[3]);
      c->tolerance = atoi (f[4]);
      c->ref = g_strdup (f[5]);
    }
  else if (g_str_equal (f[0], "resize") && n == 6)
    {
      c->kind = CASE_RESIZE;
      c->channels = atoi (f[2]);
      c->width = atoi (f[3]);
      c->height = atoi (f[4]);
      c->ref = g_strdup (f[5]);
    }
  else if (g_str_equal (f[0], "preprocess") && n == 13)
    {
      c->kind = CASE_PREPROCESS;
      c->pre.grayscale = atoi (f[2]) != 0;
      c->pre.resize_shorter = atoi (f[3]);
      c->pre.crop_height = atoi (f[4]);
      c->pre.crop_width = atoi (f[5]);
      /* torch.as_tensor (mean, dtype=float32) rounds the same way. */
      for (i = 0; i < 3; i++)
        {
          c->pre.mean[i] = (float) g_ascii_strtod (f[6 + i], NULL);
          c->pre.std[i] = (float) g_ascii_strtod (f[9 + i], NULL);
        }
      c->ref = g_strdup (f[12]);
    }
  else
    {
      g_free (c);
      return NULL;
    }
  c->image = g_strdup (f[1]);
  return c;
}

/* Registers one test per line of cases.txt. */
static void
add_reference_cases (void)
{
  char   *path = images_path ("cases.txt");
  GError *error = NULL;
  char   *text, **lines;
  guint   i;

  g_file_get_contents (path, &text, NULL, &error);
  g_assert_no_error (error);
  lines = g_strsplit (text, "\n", -1);
  for (i = 0; lines[i] != NULL; i++)
    {
      char  **f;
      guint   n;
      Case   *c;
      char   *test_path;

      if (lines[i][0] == '\0' || lines[i][0] == '#')
        continue;
      f = g_strsplit_set (lines[i], " ", -1);
      n = g_strv_length (f);
      c = parse_case (f, n);
      if (c == NULL)
        g_error ("cases.txt:%u: cannot parse “%s”", i + 1, lines[i]);
      test_path = g_strdup_printf ("/image/%s/%s", f[0], c->ref);
      g_test_add_data_func_full (test_path, c,
                                 c->kind == CASE_DECODE ? test_decode :
                                 c->kind == CASE_RESIZE ? test_resize :
                                 test_preprocess, case_free);
      g_free (test_path);
      g_strfreev (f);
    }
  g_strfreev (lines);
  g_free (text);
  g_free (path);
}

/* ------------------------------------------------------------ failures */

static void
assert_load_fails (const char *name,
                   int         code)
{
  char         *path = images_path (name);
  GError       *error = NULL;
  ConvnetImage *image = convnet_image_load (path, &error);

  g_assert_null (image);
  g_assert_error (error, CONVNET_ERROR, code);
  g_test_message ("%s: %s", name, error->message);
  /* The message must say which file, for a user loading many. */
  g_assert_nonnull (strstr (error->message, name));
  g_error_free (error);
  g_free (path);
}

static void
test_load_errors (void)
{
  assert_load_fails ("missing.png", CONVNET_ERROR_IO);
  /* a format gdk-pixbuf does not know: GIMP's loaders may still read it */
  assert_load_fails ("not_an_image.txt", CONVNET_ERROR_UNSUPPORTED);
  assert_load_fails ("empty.png", CONVNET_ERROR_FORMAT);
  assert_load_fails ("truncated.png", CONVNET_ERROR_FORMAT);
  assert_load_fails ("bad_crc.png", CONVNET_ERROR_FORMAT);
  assert_load_fails ("truncated.jpg", CONVNET_ERROR_FORMAT);
  assert_load_fails ("no_end_marker.jpg", CONVNET_ERROR_FORMAT);
  assert_load_fails ("huge_30000x30000.png", CONVNET_ERROR_LIMIT);
}

static void
test_image_new (void)
{
  ConvnetImage *image = convnet_image_new (5, 3, 1);
  int           i;

  g_assert_cmpint (image->width, ==, 5);
  g_assert_cmpint (image->height, ==, 3);
  g_assert_cmpint (image->channels, ==, 1);
  for (i = 0; i < 15; i++)
    g_assert_cmpint (image->pixels[i], ==, 0);
  convnet_image_free (image);
  convnet_image_free (NULL);
}

/* ------------------------------------------------------ preprocess edges */

static const ConvnetPreprocess imagenet_pre = {
  FALSE, 256, 224, 224,
  { 0.485f, 0.456f, 0.406f }, { 0.229f, 0.224f, 0.225f }, FALSE
};

/* A gray image given as one channel is the same as its RGB expansion. */
static void
test_preprocess_gray_input (void)
{
  ConvnetImage *rgb = load_fixture ("gray_45x31.png");
  ConvnetImage *gray = convnet_image_new (rgb->width, rgb->height, 1);
  ConvnetPreprocess lenet = { TRUE, 0, 28, 28, { 0, 0, 0 }, { 1, 1, 1 }, FALSE };
  float        *a = g_new (float, 3 * 224 * 224);
  float        *b = g_new (float, 3 * 224 * 224);
  GError       *error = NULL;
  gsize         i;

  for (i = 0; i < (gsize) rgb->width * rgb->height; i++)
    gray->pixels[i] = rgb->pixels[3 * i];
  g_assert_true (convnet_preprocess_image (&imagenet_pre, rgb, a, &error));
  g_assert_true (convnet_preprocess_image (&imagenet_pre, gray, b, &error));
  g_assert_no_error (error);
  g_assert_cmpmem (a, 3 * 224 * 224 * sizeof (float),
                   b, 3 * 224 * 224 * sizeof (float));
  g_assert_true (convnet_preprocess_image (&lenet, rgb, a, &error));
  g_assert_true (convnet_preprocess_image (&lenet, gray, b, &error));
  g_assert_no_error (error);
  g_assert_cmpmem (a, 28 * 28 * sizeof (float), b, 28 * 28 * sizeof (float));
  g_free (a);
  g_free (b);
  convnet_image_free (gray);
  convnet_image_free (rgb);
}

static void
test_preprocess_bad_arguments (void)
{
  ConvnetImage     *image = convnet_image_new (4, 4, 3);
  ConvnetPreprocess pre = imagenet_pre;
  float            *out = g_new (float, 3 * 224 * 224);
  GError           *error = NULL;

  pre.std[1] = 0.0f;
  g_assert_false (convnet_preprocess_image (&pre, image, out, &error));
  g_assert_error (error, CONVNET_ERROR, CONVNET_ERROR_ARGUMENT);
  g_clear_error (&error);

  pre = imagenet_pre;
  pre.crop_width = 0;
  g_assert_false (convnet_preprocess_image (&pre, image, out, &error));
  g_assert_error (error, CONVNET_ERROR, CONVNET_ERROR_ARGUMENT);
  g_clear_error (&error);

  /* Only the channels used are checked: lenet needs one. */
  pre = (ConvnetPreprocess) { TRUE, 0, 28, 28, { 0, 0, 0 }, { 1, 0, 0 }, FALSE };
  g_assert_true (convnet_preprocess_image (&pre, image, out, &error));
  g_assert_no_error (error);

  g_free (out);
  convnet_image_free (image);
}

/* A camera-sized image: the path the plug-in takes for every photo.  The
 * resize of the kept window is Pillow's (every seventh row of it, from
 * generate_images.py), and the output its normalisation.  The timing is
 * informative only. */
static void
test_preprocess_large (void)
{
  ConvnetImage *image = convnet_image_new (4000, 3000, 3);
  float        *out = g_new (float, 3 * 224 * 224);
  guint8       *full, *window, *rows;
  GError       *error = NULL;
  GTimer       *timer;
  int           x, y;

  for (y = 0; y < image->height; y++)
    for (x = 0; x < image->width; x++)
      {
        guint8 *p = image->pixels + ((gsize) y * image->width + x) * 3;

        p[0] = (guint8) (x * 255 / 3999);
        p[1] = (guint8) ((x ^ y) & 0xff);
        p[2] = (guint8) (((x / 37) + (y / 23)) % 2 ? 230 : 20);
      }

  timer = g_timer_new ();
  g_assert_true (convnet_preprocess_image (&imagenet_pre, image, out, &error));
  g_assert_no_error (error);
  g_test_message ("preprocess 4000x3000 to 3x224x224: %.1f ms",
                  g_timer_elapsed (timer, NULL) * 1000.0);

  /* The window the preprocessing resized equals the crop of a full
   * resize to 341 x 256 (offsets 58 and 16). */
  full = g_malloc (341 * 256 * 3);
  g_timer_start (timer);
  convnet_resize_bilinear_u8 (image->pixels, 4000, 3000, full, 341, 256, 3);
  g_test_message ("resize 4000x3000 to 341x256: %.1f ms",
                  g_timer_elapsed (timer, NULL) * 1000.0);
  window = g_malloc (224 * 224 * 3);
  convnet_resize_bilinear_u8_window (image->pixels, 4000, 3000, 341, 256,
                                     58, 16, 224, 224, window, 3);
  rows = read_reference ("camera_4000x3000.crop_rows7.gz", 32 * 224 * 3);
  for (y = 0; y < 32; y++)
    {
      gsize n_diff;
      int   worst = max_level_diff (window + y * 7 * 224 * 3,
                                    rows + y * 224 * 3, 224 * 3, &n_diff);

      if (worst > 1)
        g_error ("row %d of the 4000x3000 window: %d levels from Pillow's",
                 y * 7, worst);
    }
  g_free (rows);
  for (y = 0; y < 224; y++)
    {
      g_assert_cmpmem (window + y * 224 * 3, 224 * 3,
                       full + ((y + 16) * 341 + 58) * 3, 224 * 3);
      for (x = 0; x < 224 * 3; x++)
        {
          float v = window[y * 224 * 3 + x] / 255.0f;
          int   c = x % 3;
          float expect = (v - imagenet_pre.mean[c]) / imagenet_pre.std[c];

          g_assert_cmpfloat (out[c * 224 * 224 + y * 224 + x / 3], ==, expect);
        }
    }

  g_timer_destroy (timer);
  g_free (window);
  g_free (full);
  g_free (out);
  convnet_image_free (image);
}

/* --------------------------------------------------------------- labels */

static void
test_labels_shipped (void)
{
  GError *error = NULL;
  char   *path;
  char  **labels;
  guint   n = 0;

  path = g_build_filename (convnet_data_dir (), "labels", "imagenet.txt", NULL);
  labels = convnet_labels_load (path, &n, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (n, ==, 1000);
  g_assert_cmpuint (g_strv_length (labels), ==, 1000);
  g_assert_cmpstr (labels[0], ==, "tench");
  g_assert_cmpstr (labels[999], ==, "toilet tissue");
  g_strfreev (labels);
  g_free (path);

  path = g_build_filename (convnet_data_dir (), "labels", "fashion-mnist.txt",
                           NULL);
  labels = convnet_labels_load (path, &n, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (n, ==, 10);
  g_assert_cmpstr (labels[0], ==, "T-shirt/top");
  g_assert_cmpstr (labels[9], ==, "Ankle boot");
  g_strfreev (labels);
  g_free (path);
}

static char *
write_temp (const char *dir,
            const char *name,
            const char *contents,
            gssize      length)
{
  char   *path = g_build_filename (dir, name, NULL);
  GError *error = NULL;

  g_file_set_contents (path, contents, length, &error);
  g_assert_no_error (error);
  return path;
}

static void
test_labels_files (void)
{
  static const struct
  {
    const char *name;
    const char *contents;
    int         line;       /* 0: valid */
    guint       n;
    const char *last;
  } files[] = {
    { "crlf.txt", "a b\r\nc\r\n", 0, 2, "c" },
    { "no-final-newline.txt", "x\ny", 0, 2, "y" },
    { "utf8.txt", "caf\xc3\xa9\n", 0, 1, "caf\xc3\xa9" },
    { "one.txt", "only\n", 0, 1, "only" },
    { "empty.txt", "", 1, 0, NULL },
    { "newline-only.txt", "\n", 1, 0, NULL },
    { "blank-middle.txt", "a\n\nb\n", 2, 0, NULL },
    { "blank-end.txt", "a\nb\n\n", 3, 0, NULL },
    { "spaces.txt", "a\n  \r\nb\n", 2, 0, NULL },
    { "latin1.txt", "a\nb\ncaf\xe9\n", 3, 0, NULL },
  };
  GError *error = NULL;
  char   *dir = g_dir_make_tmp ("test_image-XXXXXX", &error);
  char   *path;
  guint   i;

  g_assert_no_error (error);
  for (i = 0; i < G_N_ELEMENTS (files); i++)
    {
      char **labels;
      guint  n = 99;

      path = write_temp (dir, files[i].name, files[i].contents, -1);
      labels = convnet_labels_load (path, &n, &error);
      if (files[i].line == 0)
        {
          g_assert_no_error (error);
          g_assert_cmpuint (n, ==, files[i].n);
          g_assert_cmpstr (labels[n - 1], ==, files[i].last);
          g_assert_null (labels[n]);
          g_strfreev (labels);
        }
      else
        {
          char *where = g_strdup_printf ("%s:%d:", files[i].name,
                                         files[i].line);

          g_assert_null (labels);
          g_assert_error (error, CONVNET_ERROR, CONVNET_ERROR_FORMAT);
          g_test_message ("%s", error->message);
          g_assert_nonnull (strstr (error->message, where));
          g_clear_error (&error);
          g_free (where);
        }
      g_remove (path);
      g_free (path);
    }

  path = g_build_filename (dir, "missing.txt", NULL);
  g_assert_null (convnet_labels_load (path, NULL, &error));
  g_assert_error (error, CONVNET_ERROR, CONVNET_ERROR_IO);
  g_assert_nonnull (strstr (error->message, "missing.txt"));
  g_clear_error (&error);
  g_free (path);

  g_rmdir (dir);
  g_free (dir);
}

static void
test_data_dir (void)
{
  char *saved = g_strdup (g_getenv ("CONVNET_DATA_DIR"));

  g_setenv ("CONVNET_DATA_DIR", "/nonexistent/convnet-data", TRUE);
  g_assert_cmpstr (convnet_data_dir (), ==, "/nonexistent/convnet-data");
  g_unsetenv ("CONVNET_DATA_DIR");
  /* Without the variable: the installed folder, or else the source
   * tree's weights/, which exists while the tests run. */
  g_assert_true (g_file_test (convnet_data_dir (), G_FILE_TEST_IS_DIR));
  if (saved != NULL)
    g_setenv ("CONVNET_DATA_DIR", saved, TRUE);
  g_free (saved);
}

/* lenet5-style models see light garments on black: a picture with a light
 * border is inverted first, one with a dark border is not. */
static void
test_preprocess_inverts_light_background (void)
{
  ConvnetPreprocess pre = { TRUE, 0, 28, 28, { 0, 0, 0 }, { 1, 1, 1 }, TRUE };
  ConvnetPreprocess plain = pre;
  ConvnetImage *light = convnet_image_new (40, 30, 3);
  ConvnetImage *dark = convnet_image_new (40, 30, 3);
  float a[28 * 28], b[28 * 28];

  plain.invert_light_background = FALSE;
  for (int i = 0; i < 40 * 30 * 3; i++)
    {
      const int x = (i / 3) % 40, y = (i / 3) / 40;
      const guint8 v = (x > 10 && x < 30 && y > 5 && y < 25) ? 40 + x : 230;
      light->pixels[i] = v;
      dark->pixels[i] = 255 - v;
    }
  g_assert_true (convnet_preprocess_image (&pre, light, a, NULL));
  g_assert_true (convnet_preprocess_image (&plain, dark, b, NULL));
  for (int i = 0; i < 28 * 28; i++)
    g_assert_cmpfloat (fabsf (a[i] - b[i]), <=, 1.0f / 255.0f + 1e-6f);
  /* a dark border is left alone */
  g_assert_true (convnet_preprocess_image (&pre, dark, a, NULL));
  for (int i = 0; i < 28 * 28; i++)
    g_assert_cmpfloat (a[i], ==, b[i]);
  convnet_image_free (light);
  convnet_image_free (dark);
}

/* Entries of DIR whose name starts with PREFIX. */
static int
count_entries (const char *dir,
               const char *prefix)
{
  GDir       *listing = g_dir_open (dir, 0, NULL);
  const char *name;
  int         n = 0;

  g_assert_nonnull (listing);
  while ((name = g_dir_read_name (listing)))
    n += g_str_has_prefix (name, prefix);
  g_dir_close (listing);
  return n;
}

/* convnet_png_save_rgba: the pixels read back, alpha included; a PNG that
 * cannot be written is an error naming it, and leaves no file behind. */
static void
test_png_save (void)
{
  const int     width = 7, height = 5;
  char         *dir = g_dir_make_tmp ("convnet-png-XXXXXX", NULL);
  char         *path = g_build_filename (dir, "out.png", NULL);
  char         *missing = g_build_filename (dir, "missing", "out.png", NULL);
  char         *taken = g_build_filename (dir, "taken.png", NULL);
  char         *inside = g_build_filename (taken, "keep", NULL);
  guint8       *rgba = g_new (guint8, width * height * 4);
  GError       *error = NULL;
  ConvnetImage *image;
  GdkPixbuf    *pixbuf;

  for (int i = 0; i < width * height * 4; i++)
    rgba[i] = (guint8) (i * 37 + 11);
  g_assert_true (convnet_png_save_rgba (rgba, width, height, path, &error));
  g_assert_no_error (error);

  image = convnet_image_load (path, &error);
  g_assert_no_error (error);
  g_assert_cmpint (image->width, ==, width);
  g_assert_cmpint (image->height, ==, height);
  for (int p = 0; p < width * height; p++)
    for (int c = 0; c < 3; c++)
      g_assert_cmpint (image->pixels[p * 3 + c], ==, rgba[p * 4 + c]);
  convnet_image_free (image);

  /* the engine's decoder drops alpha: gdk-pixbuf shows it was kept */
  pixbuf = gdk_pixbuf_new_from_file (path, &error);
  g_assert_no_error (error);
  g_assert_true (gdk_pixbuf_get_has_alpha (pixbuf));
  for (int y = 0; y < height; y++)
    g_assert_cmpmem (gdk_pixbuf_get_pixels (pixbuf)
                     + y * gdk_pixbuf_get_rowstride (pixbuf), width * 4,
                     rgba + y * width * 4, width * 4);
  g_object_unref (pixbuf);

  g_assert_false (convnet_png_save_rgba (rgba, width, height, missing,
                                         &error));
  g_assert_error (error, CONVNET_ERROR, CONVNET_ERROR_IO);
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, "missing/out.png"));
  g_clear_error (&error);

  /* a folder in the way: the PNG is written, then cannot replace it */
  g_assert_cmpint (g_mkdir (taken, 0755), ==, 0);
  g_assert_true (g_file_set_contents (inside, "x", 1, NULL));
  g_assert_false (convnet_png_save_rgba (rgba, width, height, taken,
                                         &error));
  g_assert_error (error, CONVNET_ERROR, CONVNET_ERROR_IO);
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, "taken.png"));
  g_clear_error (&error);
  g_assert_cmpint (count_entries (dir, "taken.png."), ==, 0);
  g_assert_cmpint (count_entries (dir, "out.png."), ==, 0);
  g_assert_cmpint (count_entries (dir, ""), ==, 2);

  g_unlink (inside);
  g_rmdir (taken);
  g_unlink (path);
  g_rmdir (dir);
  g_free (rgba);
  g_free (inside);
  g_free (taken);
  g_free (missing);
  g_free (path);
  g_free (dir);
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);

  add_reference_cases ();
  g_test_add_func ("/image/load-errors", test_load_errors);
  g_test_add_func ("/image/new", test_image_new);
  g_test_add_func ("/image/png-save", test_png_save);
  g_test_add_func ("/image/preprocess-gray-input", test_preprocess_gray_input);
  g_test_add_func ("/image/preprocess-bad-arguments",
                   test_preprocess_bad_arguments);
  g_test_add_func ("/image/preprocess-large", test_preprocess_large);
  g_test_add_func ("/labels/shipped", test_labels_shipped);
  g_test_add_func ("/labels/files", test_labels_files);
  g_test_add_func ("/labels/data-dir", test_data_dir);

  g_test_add_func ("/image/preprocess-inverts-light-background",
                   test_preprocess_inverts_light_background);
  return g_test_run ();
}
