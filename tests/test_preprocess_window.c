/* test_preprocess_window.c: the source pixels the network sees
 * (convnet_preprocess_window) against torchvision's Resize + CenterCrop,
 * and their placement in whole pixels (convnet_preprocess_window_rect),
 * where the plug-in puts its saliency and feature-map layers.  Expected
 * windows come from tests/fixtures/generate_window.py. */
#include "convnet.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

typedef struct
{
  char   preset[16];
  int    resize, crop_w, crop_h, width, height;
  double x, y, w, h;
} WindowCase;

static GArray *
load_cases (void)
{
  const char *dir = g_getenv ("CONVNET_FIXTURES");
  char *path, *text = NULL;
  char **lines;
  GArray *cases = g_array_new (FALSE, TRUE, sizeof (WindowCase));
  GError *error = NULL;

  g_assert_nonnull (dir);
  path = g_build_filename (dir, "window", "cases.txt", NULL);
  g_assert_true (g_file_get_contents (path, &text, NULL, &error));
  g_assert_no_error (error);
  lines = g_strsplit (text, "\n", -1);
  for (char **line = lines; *line; line++)
    {
      WindowCase c = { 0 };

      if (**line == '#' || **line == '\0')
        continue;
      g_assert_cmpint (sscanf (*line, "%15s %d %d %d %d %d %lf %lf %lf %lf",
                               c.preset, &c.resize, &c.crop_w, &c.crop_h,
                               &c.width, &c.height, &c.x, &c.y, &c.w,
                               &c.h), ==, 10);
      g_array_append_val (cases, c);
    }
  g_strfreev (lines);
  g_free (text);
  g_free (path);
  return cases;
}

/* The settings a case was generated with; for the two model presets the
 * models' own, so that the test also holds them to torchvision's. */
static ConvnetPreprocess
case_preprocess (const WindowCase *c)
{
  ConvnetPreprocess pre = { 0 };

  if (strcmp (c->preset, "imagenet") == 0)
    pre = convnet_arch_lookup ("resnet18")->preprocess;
  else if (strcmp (c->preset, "lenet5") == 0)
    pre = convnet_arch_lookup ("lenet5")->preprocess;
  else
    {
      pre.resize_shorter = c->resize;
      pre.crop_width = c->crop_w;
      pre.crop_height = c->crop_h;
    }
  g_assert_cmpint (pre.resize_shorter, ==, c->resize);
  g_assert_cmpint (pre.crop_width, ==, c->crop_w);
  g_assert_cmpint (pre.crop_height, ==, c->crop_h);
  return pre;
}

static void
test_window_torchvision (void)
{
  GArray *cases = load_cases ();

  g_assert_cmpuint (cases->len, >=, 30);
  for (guint i = 0; i < cases->len; i++)
    {
      const WindowCase *c = &g_array_index (cases, WindowCase, i);
      ConvnetPreprocess pre = case_preprocess (c);
      ConvnetWindow window;
      GError *error = NULL;

      g_test_message ("%s %d x %d", c->preset, c->width, c->height);
      g_assert_true (convnet_preprocess_window (&pre, c->width, c->height,
                                                &window, &error));
      g_assert_no_error (error);
      g_assert_cmpfloat_with_epsilon (window.x, c->x, 1e-6);
      g_assert_cmpfloat_with_epsilon (window.y, c->y, 1e-6);
      g_assert_cmpfloat_with_epsilon (window.width, c->w, 1e-6);
      g_assert_cmpfloat_with_epsilon (window.height, c->h, 1e-6);
    }
  g_array_unref (cases);
}

/* Each edge of torchvision's window rounded to the nearest pixel edge,
 * moved by the region's offset. */
static void
test_window_rect (void)
{
  GArray *cases = load_cases ();

  for (guint i = 0; i < cases->len; i++)
    {
      const WindowCase *c = &g_array_index (cases, WindowCase, i);
      ConvnetPreprocess pre = case_preprocess (c);
      const int rx = 10, ry = 20;
      int x, y, w, h;
      GError *error = NULL;
      const double left = floor (c->x + 0.5), top = floor (c->y + 0.5);

      g_test_message ("%s %d x %d", c->preset, c->width, c->height);
      g_assert_true (convnet_preprocess_window_rect (&pre, rx, ry, c->width,
                                                     c->height, &x, &y, &w,
                                                     &h, &error));
      g_assert_no_error (error);
      g_assert_cmpint (x, ==, rx + (int) left);
      g_assert_cmpint (y, ==, ry + (int) top);
      g_assert_cmpint (w, ==, MAX (1, (int) (floor (c->x + c->w + 0.5) - left)));
      g_assert_cmpint (h, ==, MAX (1, (int) (floor (c->y + c->h + 0.5) - top)));
    }
  g_array_unref (cases);
}

/* The plug-in's saliency of a resnet18 on a 320 x 200 region at (10, 20):
 * torchvision's window there is x 71.98..247.24, y 12.5..187.5. */
static void
test_window_rect_resnet18 (void)
{
  const ConvnetPreprocess *pre = &convnet_arch_lookup ("resnet18")->preprocess;
  const ConvnetPreprocess *lenet = &convnet_arch_lookup ("lenet5")->preprocess;
  int x, y, w, h;

  g_assert_true (convnet_preprocess_window_rect (pre, 10, 20, 320, 200, &x,
                                                 &y, &w, &h, NULL));
  g_assert_cmpint (x, ==, 10 + 72);
  g_assert_cmpint (y, ==, 20 + 13);
  g_assert_cmpint (w, ==, 175);
  g_assert_cmpint (h, ==, 175);

  /* lenet5 sees the whole region */
  g_assert_true (convnet_preprocess_window_rect (lenet, 10, 20, 320, 200,
                                                 &x, &y, &w, &h, NULL));
  g_assert_cmpint (x, ==, 10);
  g_assert_cmpint (y, ==, 20);
  g_assert_cmpint (w, ==, 320);
  g_assert_cmpint (h, ==, 200);
}

static void
test_window_errors (void)
{
  ConvnetPreprocess pre = convnet_arch_lookup ("resnet18")->preprocess;
  ConvnetWindow window;
  GError *error = NULL;

  g_assert_false (convnet_preprocess_window (&pre, 0, 10, &window, &error));
  g_assert_error (error, CONVNET_ERROR, CONVNET_ERROR_ARGUMENT);
  g_assert_nonnull (strstr (error->message, "0 x 10"));
  g_clear_error (&error);

  g_assert_false (convnet_preprocess_window (&pre, 1, 1 << 30, &window,
                                             &error));
  g_assert_error (error, CONVNET_ERROR, CONVNET_ERROR_LIMIT);
  g_clear_error (&error);

  pre.crop_width = 0;
  g_assert_false (convnet_preprocess_window (&pre, 64, 64, &window, &error));
  g_assert_error (error, CONVNET_ERROR, CONVNET_ERROR_ARGUMENT);
  g_clear_error (&error);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/preprocess-window/torchvision", test_window_torchvision);
  g_test_add_func ("/preprocess-window/rect", test_window_rect);
  g_test_add_func ("/preprocess-window/rect-resnet18",
                   test_window_rect_resnet18);
  g_test_add_func ("/preprocess-window/errors", test_window_errors);
  return g_test_run ();
}
