/* test_finetune.c: the shipped LeNet-5 on the real Fashion-MNIST test set,
 * and transfer learning on it: a 3-class regrouping of Fashion-MNIST test
 * images (tops, footwear, other), 20 images a class written as PNG files,
 * fine-tuned from the shipped network's features and from a random
 * backbone, both scored on 300 held-out images.  Needs the Debian package
 * dataset-fashion-mnist (CONVNET_REQUIRE_DATASETS=1 makes its absence a
 * failure, as in CI). */
#include "train/train.h"

#include <gdk-pixbuf/gdk-pixbuf.h>
#include <glib/gstdio.h>
#include <string.h>

#define FASHION_DIR "/usr/share/datasets/fashion-mnist"
#define PER_CLASS 20
#define HELD_OUT 100

/* tops, footwear, other: Fashion-MNIST class -> new class */
static const int regroup[10] = { 0, 2, 0, 2, 0, 1, 0, 1, 2, 1 };
static const char *const group_names[3] = { "tops", "footwear", "other" };

static ConvnetDataset *
fashion_test_set (void)
{
  const char *dir = g_getenv ("CONVNET_FASHION_MNIST");
  GError *error = NULL;
  ConvnetDataset *d;

  if (!dir)
    dir = FASHION_DIR;
  if (!g_file_test (dir, G_FILE_TEST_IS_DIR))
    {
      if (g_strcmp0 (g_getenv ("CONVNET_REQUIRE_DATASETS"), "1") == 0)
        g_error ("Fashion-MNIST is not in %s (apt-get install "
                 "dataset-fashion-mnist)", dir);
      g_test_skip ("Fashion-MNIST is not installed (dataset-fashion-mnist)");
      return NULL;
    }
  d = convnet_dataset_load_mnist (dir, FALSE, &error);
  g_assert_no_error (error);
  return d;
}

static char *
shipped_model (void)
{
  return g_build_filename (convnet_data_dir (), "lenet5-fashion.safetensors",
                           NULL);
}

/* The shipped model reaches its recorded accuracy on the 10,000 test
 * images, with nothing but its own file. */
static void
test_shipped_accuracy (void)
{
  ConvnetDataset *d = fashion_test_set ();
  char *path = shipped_model ();
  GError *error = NULL;
  ConvnetModel *m;
  ConvnetEvaluation e = { 0 };

  if (!d)
    return;
  m = convnet_model_load (path, NULL, 0, 0, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (m->arch, ==, "lenet5");
  g_assert_cmpstr (m->labels[9], ==, "Ankle boot");
  g_assert_true (convnet_evaluate (m->graph, &m->preprocess, d, NULL, &e,
                                   &error));
  g_assert_no_error (error);
  g_test_message ("lenet5-fashion: test accuracy %.4f", e.accuracy);
  g_assert_cmpfloat (e.accuracy, >=, 0.90);
  convnet_evaluation_clear (&e);
  convnet_model_free (m);
  convnet_dataset_free (d);
  g_free (path);
}

static void
write_png (const ConvnetImage *image, const char *path)
{
  GdkPixbuf *pixbuf = gdk_pixbuf_new (GDK_COLORSPACE_RGB, FALSE, 8,
                                      image->width, image->height);
  guint8 *pixels = gdk_pixbuf_get_pixels (pixbuf);
  const int stride = gdk_pixbuf_get_rowstride (pixbuf);
  GError *error = NULL;

  for (int y = 0; y < image->height; y++)
    for (int x = 0; x < image->width; x++)
      for (int c = 0; c < 3; c++)
        pixels[y * stride + x * 3 + c] =
          image->pixels[(y * image->width + x) * image->channels
                        + (image->channels == 3 ? c : 0)];
  g_assert_true (gdk_pixbuf_save (pixbuf, path, "png", &error, NULL));
  g_object_unref (pixbuf);
}

/* Writes ROOT/<group>/<n>.png: the first COUNT images of each group after
 * skipping the first SKIP of it. */
static void
write_folder (const ConvnetDataset *d, const char *root, int skip, int count)
{
  int seen[3] = { 0 }, written[3] = { 0 };

  for (int g = 0; g < 3; g++)
    {
      char *dir = g_build_filename (root, group_names[g], NULL);
      g_assert_cmpint (g_mkdir_with_parents (dir, 0755), ==, 0);
      g_free (dir);
    }
  for (guint i = 0; i < d->n; i++)
    {
      const int g = regroup[d->labels[i]];
      char *name, *path;

      if (seen[g]++ < skip || written[g] >= count)
        continue;
      name = g_strdup_printf ("%05u.png", i);
      path = g_build_filename (root, group_names[g], name, NULL);
      write_png (d->images[i], path);
      written[g]++;
      g_free (name);
      g_free (path);
    }
  for (int g = 0; g < 3; g++)
    g_assert_cmpint (written[g], ==, count);
}

static void
remove_tree (const char *path)
{
  GDir *dir = g_dir_open (path, 0, NULL);
  const char *name;

  while (dir && (name = g_dir_read_name (dir)))
    {
      char *child = g_build_filename (path, name, NULL);
      if (g_file_test (child, G_FILE_TEST_IS_DIR))
        remove_tree (child);
      else
        g_unlink (child);
      g_free (child);
    }
  if (dir)
    g_dir_close (dir);
  g_rmdir (path);
}

/* Fine-tunes from BASE, then scores the saved model on HELD_OUT. */
static double
finetune_and_score (const char *base, const ConvnetDataset *train,
                    const ConvnetDataset *held_out, const char *out)
{
  ConvnetFinetuneSettings s;
  ConvnetFinetuneResult r;
  ConvnetEvaluation e = { 0 };
  GError *error = NULL;
  ConvnetModel *m;
  double accuracy;
  gint64 start = g_get_monotonic_time ();

  convnet_finetune_defaults (&s);
  s.base_weights = base;
  s.epochs = 40;
  s.lr = 1e-2;
  s.seed = 7;
  g_assert_true (convnet_finetune (&s, train, out, &r, &error));
  g_assert_no_error (error);
  g_test_message ("%s: %u training images, validation accuracy %.3f, %.2f s",
                  base, r.n_train, r.validation.accuracy,
                  (g_get_monotonic_time () - start) / 1e6);

  m = convnet_model_load (out, NULL, 0, 0, &error);
  g_assert_no_error (error);
  g_assert_cmpint (m->n_classes, ==, 3);
  /* ImageFolder order: sorted names */
  g_assert_cmpstr (m->labels[0], ==, "footwear");
  g_assert_cmpstr (g_hash_table_lookup (m->metadata, "base_checkpoint"), !=,
                   NULL);
  g_assert_true (convnet_evaluate (m->graph, &m->preprocess, held_out, NULL,
                                   &e, &error));
  accuracy = e.accuracy;
  convnet_evaluation_clear (&e);
  convnet_finetune_result_clear (&r);
  convnet_model_free (m);
  return accuracy;
}

static void
test_transfer_beats_random_backbone (void)
{
  ConvnetDataset *d = fashion_test_set ();
  char *tmp, *train_dir, *held_dir, *random_base, *out, *shipped;
  ConvnetDataset *train, *held_out;
  ConvnetModel *random_model;
  GError *error = NULL;
  double from_shipped, from_random;
  const char *labels[11];

  if (!d)
    return;
  tmp = g_dir_make_tmp ("convnet-finetune-XXXXXX", &error);
  g_assert_no_error (error);
  train_dir = g_build_filename (tmp, "train", NULL);
  held_dir = g_build_filename (tmp, "held-out", NULL);
  write_folder (d, train_dir, 0, PER_CLASS);
  write_folder (d, held_dir, PER_CLASS, HELD_OUT);
  train = convnet_dataset_load_folder (train_dir, NULL, &error);
  g_assert_no_error (error);
  held_out = convnet_dataset_load_folder (held_dir, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (train->n, ==, 3 * PER_CLASS);

  /* the same architecture, never trained */
  random_model = convnet_model_new_random ("lenet5", 0, 0, 99, &error);
  g_assert_no_error (error);
  for (int i = 0; i < 10; i++)
    labels[i] = random_model->labels[i];
  labels[10] = NULL;
  random_base = g_build_filename (tmp, "random.safetensors", NULL);
  g_assert_true (convnet_model_save (random_model->graph, "lenet5", labels,
                                     &random_model->preprocess, NULL,
                                     random_base, &error));
  g_assert_no_error (error);

  out = g_build_filename (tmp, "tuned.safetensors", NULL);
  shipped = shipped_model ();
  from_shipped = finetune_and_score (shipped, train, held_out, out);
  from_random = finetune_and_score (random_base, train, held_out, out);
  g_test_message ("held-out accuracy: %.3f from the shipped features, %.3f "
                  "from a random backbone", from_shipped, from_random);
  g_assert_cmpfloat (from_shipped, >=, 0.85);
  g_assert_cmpfloat (from_shipped, >=, from_random + 0.10);

  convnet_model_free (random_model);
  convnet_dataset_free (train);
  convnet_dataset_free (held_out);
  convnet_dataset_free (d);
  remove_tree (tmp);
  g_free (tmp);
  g_free (train_dir);
  g_free (held_dir);
  g_free (random_base);
  g_free (out);
  g_free (shipped);
}

static gboolean
cancel_at_second_epoch (const ConvnetTrainProgress *p, gpointer user_data)
{
  (void) user_data;
  return !(p->epoch_done && p->epoch == 2);
}

/* A cancelled fine-tune reports CANCELLED and writes no file; too few
 * images in a class is refused before any work. */
static void
test_cancel_and_bad_input (void)
{
  ConvnetDataset *d = fashion_test_set ();
  char *tmp, *dir, *out, *shipped;
  ConvnetDataset *train;
  ConvnetFinetuneSettings s;
  ConvnetFinetuneResult r;
  GError *error = NULL;

  if (!d)
    return;
  tmp = g_dir_make_tmp ("convnet-finetune-XXXXXX", &error);
  dir = g_build_filename (tmp, "train", NULL);
  out = g_build_filename (tmp, "out.safetensors", NULL);
  shipped = shipped_model ();
  write_folder (d, dir, 0, 4);
  train = convnet_dataset_load_folder (dir, NULL, &error);
  g_assert_no_error (error);

  convnet_finetune_defaults (&s);
  s.base_weights = shipped;
  s.epochs = 5;
  s.callback = cancel_at_second_epoch;
  g_assert_false (convnet_finetune (&s, train, out, &r, &error));
  g_assert_error (error, CONVNET_ERROR, CONVNET_ERROR_CANCELLED);
  g_clear_error (&error);
  g_assert_false (g_file_test (out, G_FILE_TEST_EXISTS));

  /* one class left with a single image */
  for (guint i = 1; i < train->n; i++)
    if (train->labels[i] == 0)
      train->labels[i] = 1;
  s.callback = NULL;
  g_assert_false (convnet_finetune (&s, train, out, &r, &error));
  g_assert_error (error, CONVNET_ERROR, CONVNET_ERROR_ARGUMENT);
  g_assert_nonnull (strstr (error->message, train->class_names[0]));
  g_clear_error (&error);
  g_assert_false (g_file_test (out, G_FILE_TEST_EXISTS));

  /* the dialog's way in: lists of files per class */
  {
    const char *names[2] = { "first", "second" };
    GPtrArray *files[2] = { g_ptr_array_new_with_free_func (g_free),
                            g_ptr_array_new_with_free_func (g_free) };
    GPtrArray *skipped = g_ptr_array_new_with_free_func (g_free);
    ConvnetDataset *from_files;

    g_ptr_array_add (files[0], g_strdup (train->paths[0]));
    g_ptr_array_add (files[0], g_build_filename (tmp, "missing.png", NULL));
    g_ptr_array_add (files[1], g_strdup (train->paths[1]));
    from_files = convnet_dataset_from_files (names, files, 2, skipped, &error);
    g_assert_no_error (error);
    g_assert_cmpuint (from_files->n, ==, 2);
    g_assert_cmpint (from_files->labels[1], ==, 1);
    g_assert_cmpuint (skipped->len, ==, 1);
    g_assert_nonnull (strstr (g_ptr_array_index (skipped, 0), "missing.png"));
    convnet_dataset_free (from_files);

    g_ptr_array_set_size (files[1], 0);
    g_assert_null (convnet_dataset_from_files (names, files, 2, NULL, &error));
    g_assert_nonnull (strstr (error->message, "second"));
    g_clear_error (&error);
    g_assert_null (convnet_dataset_from_files (names, files, 1, NULL, &error));
    g_assert_error (error, CONVNET_ERROR, CONVNET_ERROR_ARGUMENT);
    g_clear_error (&error);
    g_ptr_array_unref (files[0]);
    g_ptr_array_unref (files[1]);
    g_ptr_array_unref (skipped);
  }

  convnet_dataset_free (train);
  convnet_dataset_free (d);
  remove_tree (tmp);
  g_free (tmp);
  g_free (dir);
  g_free (out);
  g_free (shipped);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/finetune/shipped-accuracy", test_shipped_accuracy);
  g_test_add_func ("/finetune/transfer-beats-random-backbone",
                   test_transfer_beats_random_backbone);
  g_test_add_func ("/finetune/cancel-and-bad-input", test_cancel_and_bad_input);
  return g_test_run ();
}
