/* test_batch.c: batch jobs: which files a folder or a pattern names, the
 * decoding thread and the batched network against one image at a time
 * and against Fashion-MNIST's own labels, unreadable files as errors of
 * their items, cancelling, and the CSV. */
#include <gdk-pixbuf/gdk-pixbuf.h>
#include <glib/gstdio.h>
#include <string.h>

#include "convnet.h"
#include "data/data.h"
#include "test_util.h"

#define FASHION_DIR "/usr/share/datasets/fashion-mnist"
#define N_IMAGES    70   /* two full batches of 32 and a partial one */

static void
touch (const char *dir,
       const char *name)
{
  char *path = g_build_filename (dir, name, NULL);

  g_assert_true (g_file_set_contents (path, "x", 1, NULL));
  g_free (path);
}

static void
remove_tree (const char *path)
{
  if (g_file_test (path, G_FILE_TEST_IS_DIR))
    {
      GDir       *dir = g_dir_open (path, 0, NULL);
      const char *name;

      while ((name = g_dir_read_name (dir)) != NULL)
        {
          char *child = g_build_filename (path, name, NULL);

          remove_tree (child);
          g_free (child);
        }
      g_dir_close (dir);
      g_rmdir (path);
    }
  else
    g_unlink (path);
}

static char *
joined (GPtrArray  *paths,
        const char *root)
{
  GString *out = g_string_new (NULL);

  for (guint i = 0; i < paths->len; i++)
    {
      const char *p = paths->pdata[i];

      g_assert_true (g_str_has_prefix (p, root));
      g_string_append_printf (out, "%s%s", i ? " " : "", p + strlen (root) + 1);
    }
  return g_string_free (out, FALSE);
}

static void
test_files (void)
{
  char      *root = test_make_folder ("convnet-batch-files");
  char      *sub = g_build_filename (root, "sub", NULL);
  char      *deeper = g_build_filename (sub, "deeper", NULL);
  char      *pattern, *got, *one;
  GPtrArray *found;
  GError    *error = NULL;

  g_assert_cmpint (g_mkdir_with_parents (deeper, 0755), ==, 0);
  touch (root, "b.png");
  touch (root, "a.JPG");
  touch (root, "notes.txt");
  touch (root, ".hidden.png");
  touch (root, "c.xcf");
  touch (sub, "d.webp");
  touch (deeper, "e.tif");

  /* a folder: recursively, image extensions only, sorted */
  found = convnet_batch_files (root, &error);
  g_assert_no_error (error);
  got = joined (found, root);
  g_assert_cmpstr (got, ==, "a.JPG b.png c.xcf sub/d.webp sub/deeper/e.tif");
  g_free (got);
  g_ptr_array_unref (found);

  /* a pattern: the last component only, image extensions only */
  pattern = g_build_filename (root, "*", NULL);
  found = convnet_batch_files (pattern, &error);
  g_assert_no_error (error);
  got = joined (found, root);
  g_assert_cmpstr (got, ==, "a.JPG b.png c.xcf");
  g_free (got);
  g_ptr_array_unref (found);
  g_free (pattern);

  /* one file is taken whatever its name */
  one = g_build_filename (root, "notes.txt", NULL);
  found = convnet_batch_files (one, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (found->len, ==, 1);
  g_assert_cmpstr (found->pdata[0], ==, one);
  g_ptr_array_unref (found);
  g_free (one);

  /* nothing found is an error naming what was asked */
  pattern = g_build_filename (root, "*.gif", NULL);
  g_assert_null (convnet_batch_files (pattern, &error));
  g_assert_error (error, CONVNET_ERROR, CONVNET_ERROR_IO);
  g_assert_nonnull (strstr (error->message, pattern));
  g_clear_error (&error);
  g_free (pattern);
  one = g_build_filename (root, "missing.png", NULL);
  g_assert_null (convnet_batch_files (one, &error));
  g_assert_nonnull (strstr (error->message, one));
  g_clear_error (&error);
  g_free (one);
  g_assert_null (convnet_batch_files ("", &error));
  g_assert_error (error, CONVNET_ERROR, CONVNET_ERROR_ARGUMENT);
  g_clear_error (&error);

  remove_tree (root);
  g_free (root);
  g_free (sub);
  g_free (deeper);
}

/* Fashion-MNIST test images 0..N_IMAGES-1 as gray PNGs in DIR. */
static GPtrArray *
write_fashion (const char *dir,
               int       **labels)
{
  GError         *error = NULL;
  ConvnetDataset *data = convnet_dataset_load_mnist (FASHION_DIR, FALSE,
                                                     &error);
  GPtrArray      *paths = g_ptr_array_new_with_free_func (g_free);

  g_assert_no_error (error);
  *labels = g_new (int, N_IMAGES);
  for (int i = 0; i < N_IMAGES; i++)
    {
      const ConvnetImage *image = data->images[i];
      GdkPixbuf *pixbuf = gdk_pixbuf_new (GDK_COLORSPACE_RGB, FALSE, 8,
                                          image->width, image->height);
      guint8 *rgb = gdk_pixbuf_get_pixels (pixbuf);
      const int stride = gdk_pixbuf_get_rowstride (pixbuf);
      char *path = g_strdup_printf ("%s/fashion-%02d.png", dir, i);

      for (int y = 0; y < image->height; y++)
        for (int x = 0; x < image->width; x++)
          {
            const int p = (y * image->width + x) * image->channels;

            memset (rgb + y * stride + x * 3, image->pixels[p], 3);
          }
      g_assert_true (gdk_pixbuf_save (pixbuf, path, "png", &error, NULL));
      g_object_unref (pixbuf);
      g_ptr_array_add (paths, path);
      (*labels)[i] = data->labels[i];
    }
  convnet_dataset_free (data);
  return paths;
}

static ConvnetModel *
lenet (void)
{
  GError       *error = NULL;
  char         *path = g_build_filename (convnet_data_dir (),
                                         "lenet5-fashion.safetensors", NULL);
  ConvnetModel *model = convnet_model_load (path, NULL, 0, 0, &error);

  g_assert_no_error (error);
  g_free (path);
  return model;
}

static gboolean
count_progress (int done, int total, gpointer data)
{
  int *calls = data;

  g_assert_cmpint (done, <=, total);
  calls[0]++;
  calls[1] = done;
  return TRUE;
}

/* The batched job gives each image what a forward of that image alone
 * gives, and Fashion-MNIST's own labels for most. */
static void
test_classify (void)
{
  char             *dir;
  GPtrArray        *paths;
  int              *labels, right = 0, calls[2] = { 0, 0 };
  ConvnetModel     *model;
  ConvnetBatchItem *items;
  GError           *error = NULL;
  float            *input;
  const ConvnetShape shape = { 1, 28, 28 };

  if (!g_file_test (FASHION_DIR, G_FILE_TEST_IS_DIR))
    {
      if (g_getenv ("CONVNET_REQUIRE_DATASETS"))
        g_error ("needs dataset-fashion-mnist in " FASHION_DIR);
      g_test_skip ("needs dataset-fashion-mnist");
      return;
    }
  dir = test_make_folder ("convnet-batch");
  paths = write_fashion (dir, &labels);
  model = lenet ();
  items = convnet_batch_items_new ((const char *const *) paths->pdata,
                                   N_IMAGES);
  g_assert_true (convnet_classify_batch (model, items, N_IMAGES, 3,
                                         count_progress, calls, &error));
  g_assert_no_error (error);
  g_assert_cmpint (calls[1], ==, N_IMAGES);
  g_assert_cmpint (calls[0], >=, 3);

  input = g_new (float, (gsize) shape.c * shape.h * shape.w);
  for (int i = 0; i < N_IMAGES; i++)
    {
      ConvnetImage *image = convnet_image_load (items[i].path, &error);
      const float  *logits;
      int           best = 0;

      g_assert_no_error (error);
      g_assert_no_error (items[i].error);
      g_assert_cmpint (items[i].n_top, ==, 3);
      g_assert_true (convnet_preprocess_image (&model->preprocess, image,
                                               input, &error));
      convnet_image_free (image);
      g_assert_true (convnet_graph_forward (model->graph, input, 1, &error));
      logits = convnet_graph_output (model->graph);
      for (int c = 1; c < model->n_classes; c++)
        if (logits[c] > logits[best])
          best = c;
      g_assert_cmpint (items[i].indices[0], ==, best);
      g_assert_cmpfloat (items[i].probabilities[0], >=,
                         items[i].probabilities[1]);
      right += best == labels[i];
    }
  /* the shipped model labels 90 % of the test set right */
  g_assert_cmpint (right, >=, N_IMAGES * 8 / 10);

  convnet_batch_items_free (items, N_IMAGES);
  convnet_model_free (model);
  g_free (input);
  g_free (labels);
  g_ptr_array_unref (paths);
  remove_tree (dir);
  g_free (dir);
}

/* Unreadable files are errors of their items, naming them; the others are
 * classified; an image decoded by the caller is used as given. */
static void
test_errors (void)
{
  char             *dir = test_make_folder ("convnet-batch-errors");
  char             *paths[5];
  ConvnetModel     *model = lenet ();
  ConvnetBatchItem *items;
  GError           *error = NULL;
  GdkPixbuf        *pixbuf = gdk_pixbuf_new (GDK_COLORSPACE_RGB, FALSE, 8,
                                             28, 28);
  gchar            *png;
  gsize             size;

  gdk_pixbuf_fill (pixbuf, 0x808080ff);
  paths[0] = g_build_filename (dir, "good.png", NULL);
  paths[1] = g_build_filename (dir, "truncated.png", NULL);
  paths[2] = g_build_filename (dir, "text.png", NULL);
  paths[3] = g_build_filename (dir, "unknown.xcf", NULL);
  paths[4] = g_build_filename (dir, "given-by-caller.xcf", NULL);
  g_assert_true (gdk_pixbuf_save (pixbuf, paths[0], "png", &error, NULL));
  g_assert_true (gdk_pixbuf_save_to_buffer (pixbuf, &png, &size, "png",
                                            &error, NULL));
  g_assert_true (g_file_set_contents (paths[1], png, (gssize) size / 2,
                                      NULL));
  g_assert_true (g_file_set_contents (paths[2], "not an image", -1, NULL));
  g_assert_true (g_file_set_contents (paths[3], "gimp xcf file\0\0\0\0\0", 18,
                                      NULL));

  items = convnet_batch_items_new ((const char *const *) paths, 5);
  items[4].image = convnet_image_new (28, 28, 1);
  g_assert_true (convnet_classify_batch (model, items, 5, 2, NULL, NULL,
                                         &error));
  g_assert_no_error (error);
  g_assert_no_error (items[0].error);
  g_assert_cmpint (items[0].n_top, ==, 2);
  for (int i = 1; i <= 3; i++)
    {
      g_assert_nonnull (items[i].error);
      g_assert_cmpint (items[i].n_top, ==, 0);
      g_assert_nonnull (strstr (items[i].error->message, paths[i]));
    }
  g_assert_error (items[1].error, CONVNET_ERROR, CONVNET_ERROR_FORMAT);
  /* a format another decoder (GIMP's) may read */
  g_assert_error (items[3].error, CONVNET_ERROR, CONVNET_ERROR_UNSUPPORTED);
  g_assert_no_error (items[4].error);
  g_assert_cmpint (items[4].n_top, ==, 2);

  /* a second run classifies only what is left: the caller's decoding of
   * the unsupported file */
  g_clear_error (&items[3].error);
  items[3].image = convnet_image_new (28, 28, 3);
  g_assert_true (convnet_classify_batch (model, items, 5, 2, NULL, NULL,
                                         &error));
  g_assert_cmpint (items[3].n_top, ==, 2);
  g_assert_nonnull (items[1].error);

  convnet_batch_items_free (items, 5);
  convnet_model_free (model);
  g_object_unref (pixbuf);
  g_free (png);
  for (int i = 0; i < 5; i++)
    g_free (paths[i]);
  remove_tree (dir);
  g_free (dir);
}

static gboolean
cancel_after_first (int done, G_GNUC_UNUSED int total, G_GNUC_UNUSED gpointer data)
{
  return done == 0;
}

static void
test_cancel (void)
{
  char             *dir = test_make_folder ("convnet-batch-cancel");
  char             *paths[40];
  ConvnetModel     *model = lenet ();
  ConvnetBatchItem *items;
  GError           *error = NULL;
  GdkPixbuf        *pixbuf = gdk_pixbuf_new (GDK_COLORSPACE_RGB, FALSE, 8,
                                             28, 28);

  gdk_pixbuf_fill (pixbuf, 0x404040ff);
  for (int i = 0; i < 40; i++)
    {
      paths[i] = g_strdup_printf ("%s/%02d.png", dir, i);
      g_assert_true (gdk_pixbuf_save (pixbuf, paths[i], "png", &error, NULL));
    }
  items = convnet_batch_items_new ((const char *const *) paths, 40);
  g_assert_false (convnet_classify_batch (model, items, 40, 1,
                                          cancel_after_first, NULL, &error));
  g_assert_error (error, CONVNET_ERROR, CONVNET_ERROR_CANCELLED);
  g_clear_error (&error);
  /* the first batch of 32 ran; the rest has neither result nor error */
  g_assert_cmpint (items[0].n_top, ==, 1);
  for (int i = 32; i < 40; i++)
    {
      g_assert_cmpint (items[i].n_top, ==, 0);
      g_assert_no_error (items[i].error);
    }
  convnet_batch_items_free (items, 40);
  convnet_model_free (model);
  g_object_unref (pixbuf);
  for (int i = 0; i < 40; i++)
    g_free (paths[i]);
  remove_tree (dir);
  g_free (dir);
}

static void
test_csv (void)
{
  const char       *paths[2] = { "dir/a \"quoted\", name.png", "b.png" };
  char             *dir = test_make_folder ("convnet-batch-csv");
  char             *csv = g_build_filename (dir, "out.csv", NULL);
  char             *missing = g_build_filename (dir, "no", "out.csv", NULL);
  ConvnetModel     *model = lenet ();
  ConvnetBatchItem *items = convnet_batch_items_new (paths, 2);
  GError           *error = NULL;
  char             *text;

  items[0].n_top = 2;
  items[0].indices = g_new (int, 2);
  items[0].probabilities = g_new (float, 2);
  items[0].indices[0] = 9;
  items[0].indices[1] = 5;
  items[0].probabilities[0] = 0.75f;
  items[0].probabilities[1] = 0.125f;
  g_set_error_literal (&items[1].error, CONVNET_ERROR, CONVNET_ERROR_FORMAT,
                       "Image “b.png” is truncated");
  g_assert_true (convnet_batch_write_csv (model, items, 2, csv, &error));
  g_assert_no_error (error);
  g_assert_true (g_file_get_contents (csv, &text, NULL, NULL));
  g_assert_cmpstr (text, ==,
                   "file,rank,label,probability\n"
                   "\"dir/a \"\"quoted\"\", name.png\",1,Ankle boot,0.75\n"
                   "\"dir/a \"\"quoted\"\", name.png\",2,Sandal,0.125\n"
                   "b.png,error,Image “b.png” is truncated,\n");
  g_free (text);

  /* a folder that is not there: an error naming the file, nothing left */
  g_assert_false (convnet_batch_write_csv (model, items, 2, missing, &error));
  g_assert_error (error, CONVNET_ERROR, CONVNET_ERROR_IO);
  g_assert_nonnull (strstr (error->message, missing));
  g_clear_error (&error);
  g_assert_cmpuint (test_count_files (dir), ==, 1);

  convnet_batch_items_free (items, 2);
  convnet_model_free (model);
  g_free (missing);
  g_free (csv);
  remove_tree (dir);
  g_free (dir);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/batch/files", test_files);
  g_test_add_func ("/batch/classify", test_classify);
  g_test_add_func ("/batch/errors", test_errors);
  g_test_add_func ("/batch/cancel", test_cancel);
  g_test_add_func ("/batch/csv", test_csv);
  return g_test_run ();
}
