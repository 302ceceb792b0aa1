/* test_data.c: datasets (idx files, image folders), splits and shuffling,
 * on the fixtures of fixtures/generate_data.py and, when installed,
 * Debian's Fashion-MNIST (dataset-fashion-mnist).
 *
 * CONVNET_REQUIRE_DATASETS=1 turns a missing Fashion-MNIST into a failure,
 * so that CI cannot pass by silently skipping the real data;
 * CONVNET_FASHION_MNIST points elsewhere than Debian's folder. */
#include "data/data.h"

#include <math.h>
#include <string.h>

#define FASHION_DIR "/usr/share/datasets/fashion-mnist"

static char *
data_path (const char *first,
           ...)
{
  const char *dir = g_getenv ("CONVNET_FIXTURES");
  char       *base, *path;
  va_list     args;
  GPtrArray  *parts = g_ptr_array_new ();
  const char *part;

  base = dir != NULL ? g_build_filename (dir, "data", NULL)
                     : g_test_build_filename (G_TEST_DIST, "fixtures", "data",
                                              NULL);
  g_ptr_array_add (parts, base);
  va_start (args, first);
  for (part = first; part != NULL; part = va_arg (args, const char *))
    g_ptr_array_add (parts, (gpointer) part);
  va_end (args);
  g_ptr_array_add (parts, NULL);
  path = g_build_filenamev ((char **) parts->pdata);
  g_ptr_array_free (parts, TRUE);
  g_free (base);
  return path;
}

static void
check_histogram (const ConvnetDataset *d,
                 guint                 per_class)
{
  guint *counts = g_new0 (guint, d->n_classes);
  guint  i;
  int    c;

  for (i = 0; i < d->n; i++)
    {
      g_assert_cmpint (d->labels[i], >=, 0);
      g_assert_cmpint (d->labels[i], <, d->n_classes);
      counts[d->labels[i]]++;
    }
  for (c = 0; c < d->n_classes; c++)
    g_assert_cmpuint (counts[c], ==, per_class);
  g_free (counts);
}

/* Sample INDEX of D has LABEL, and its pixels add up to SUM. */
static void
check_sample (const ConvnetDataset *d,
              guint                 index,
              int                   label,
              guint                 sum)
{
  const ConvnetImage *image = d->images[index];
  guint               total = 0, i;

  for (i = 0; i < 28 * 28; i++)
    total += image->pixels[i];
  g_assert_cmpint (d->labels[index], ==, label);
  g_assert_cmpuint (total, ==, sum);
}

/* The known content of Debian's Fashion-MNIST, read with numpy (gzip,
 * offsets 16 and 8), not with the loader under test: the first labels,
 * a row, and pixel sums at both ends and in the middle. */
static void
check_fashion_content (const ConvnetDataset *d,
                       gboolean              train)
{
  static const int test_labels[10] = { 9, 2, 1, 1, 6, 1, 4, 6, 5, 7 };
  static const int train_labels[10] = { 9, 0, 0, 3, 0, 2, 7, 2, 5, 5 };
  static const guint8 test_row14[28] = {
    0, 0, 0, 0, 0, 0, 2, 4, 1, 0, 0, 0, 98, 136, 110, 109, 110, 162, 135,
    144, 149, 159, 167, 144, 158, 169, 119, 0
  };
  static const guint8 train_row14[28] = {
    0, 0, 1, 4, 6, 7, 2, 0, 0, 0, 0, 0, 237, 226, 217, 223, 222, 219, 222,
    221, 216, 223, 229, 215, 218, 255, 77, 0
  };
  guint i;

  for (i = 0; i < 10; i++)
    g_assert_cmpint (d->labels[i], ==, (train ? train_labels : test_labels)[i]);
  g_assert_cmpmem (d->images[0]->pixels + 14 * 28, 28,
                   train ? train_row14 : test_row14, 28);
  if (train)
    {
      check_sample (d, 0, 9, 76247);
      check_sample (d, 30000, 3, 59127);
      check_sample (d, 59999, 5, 16684);
    }
  else
    {
      check_sample (d, 0, 9, 33456);
      check_sample (d, 5000, 2, 86069);
      check_sample (d, 9999, 5, 24390);
    }
}

static void
test_fashion_mnist (void)
{
  const char     *require = g_getenv ("CONVNET_REQUIRE_DATASETS");
  const char     *dir = g_getenv ("CONVNET_FASHION_MNIST");
  ConvnetDataset *d;
  GError         *error = NULL;
  char           *labels_path;
  char          **names;
  guint           n_names, i;
  gint64          start;

  if (dir == NULL || dir[0] == '\0')
    dir = FASHION_DIR;
  if (!g_file_test (dir, G_FILE_TEST_IS_DIR))
    {
      if (g_strcmp0 (require, "1") == 0)
        {
          g_test_fail_printf ("%s is missing (install dataset-fashion-mnist) "
                              "and CONVNET_REQUIRE_DATASETS=1", dir);
          return;
        }
      g_test_skip ("Fashion-MNIST is not installed (dataset-fashion-mnist)");
      return;
    }

  start = g_get_monotonic_time ();
  d = convnet_dataset_load_mnist (dir, FALSE, &error);
  g_assert_no_error (error);
  g_test_message ("Fashion-MNIST test set loaded in %.0f ms",
                  (g_get_monotonic_time () - start) / 1000.0);
  g_assert_cmpuint (d->n, ==, 10000);
  g_assert_cmpint (d->n_classes, ==, 10);
  g_assert_null (d->paths);
  for (i = 0; i < d->n; i++)
    {
      g_assert_cmpint (d->images[i]->width, ==, 28);
      g_assert_cmpint (d->images[i]->height, ==, 28);
      g_assert_cmpint (d->images[i]->channels, ==, 1);
    }
  check_histogram (d, 1000);
  check_fashion_content (d, FALSE);
  /* The names are the ones the shipped label file gives the model's
   * outputs. */
  labels_path = g_build_filename (convnet_data_dir (), "labels",
                                  "fashion-mnist.txt", NULL);
  names = convnet_labels_load (labels_path, &n_names, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (n_names, ==, 10);
  for (i = 0; i < n_names; i++)
    g_assert_cmpstr (d->class_names[i], ==, names[i]);
  g_assert_null (d->class_names[10]);
  g_strfreev (names);
  g_free (labels_path);
  convnet_dataset_free (d);

  start = g_get_monotonic_time ();
  d = convnet_dataset_load_mnist (dir, TRUE, &error);
  g_assert_no_error (error);
  g_test_message ("Fashion-MNIST training set loaded in %.0f ms",
                  (g_get_monotonic_time () - start) / 1000.0);
  g_assert_cmpuint (d->n, ==, 60000);
  check_histogram (d, 6000);
  check_fashion_content (d, TRUE);
  convnet_dataset_free (d);
}

/* The fixture pixels: (i * 7 + r * 3 + c * 5) % 256. */
static void
check_idx_pixels (const ConvnetDataset *d,
                  int                   rows,
                  int                   cols)
{
  guint i;
  int   r, c;

  for (i = 0; i < d->n; i++)
    {
      const ConvnetImage *image = d->images[i];

      g_assert_cmpint (image->width, ==, cols);
      g_assert_cmpint (image->height, ==, rows);
      g_assert_cmpint (image->channels, ==, 1);
      for (r = 0; r < rows; r++)
        for (c = 0; c < cols; c++)
          g_assert_cmpint (image->pixels[r * cols + c], ==,
                           (int) ((i * 7 + r * 3 + c * 5) % 256));
    }
}

static void
test_idx_raw (void)
{
  char           *dir = data_path ("idx", "digits-raw", NULL);
  GError         *error = NULL;
  ConvnetDataset *d = convnet_dataset_load_mnist (dir, TRUE, &error);
  guint           i;

  g_assert_no_error (error);
  g_assert_cmpuint (d->n, ==, 20);
  g_assert_cmpint (d->n_classes, ==, 10);
  for (i = 0; i < 10; i++)
    {
      char name[4];

      g_snprintf (name, sizeof name, "%u", i);
      g_assert_cmpstr (d->class_names[i], ==, name);
    }
  for (i = 0; i < d->n; i++)
    g_assert_cmpint (d->labels[i], ==, (int) (i % 10));
  check_idx_pixels (d, 28, 28);
  convnet_dataset_free (d);

  /* Only the training pair is there. */
  d = convnet_dataset_load_mnist (dir, FALSE, &error);
  g_assert_null (d);
  g_assert_error (error, CONVNET_ERROR, CONVNET_ERROR_IO);
  g_assert_nonnull (strstr (error->message, "t10k-images-idx3-ubyte"));
  g_assert_nonnull (strstr (error->message, "digits-raw"));
  g_test_message ("%s", error->message);
  g_clear_error (&error);
  g_free (dir);
}

static void
test_idx_gzip (void)
{
  static const char *const fashion[] = {
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"
  };
  char           *dir = data_path ("idx", "fashion-gz", NULL);
  GError         *error = NULL;
  ConvnetDataset *d = convnet_dataset_load_mnist (dir, FALSE, &error);
  guint           i;

  g_assert_no_error (error);
  g_assert_cmpuint (d->n, ==, 12);
  for (i = 0; i < 10; i++)
    g_assert_cmpstr (d->class_names[i], ==, fashion[i]);
  for (i = 0; i < d->n; i++)
    g_assert_cmpint (d->labels[i], ==, (int) ((i * 3) % 10));
  check_idx_pixels (d, 28, 28);
  convnet_dataset_free (d);
  g_free (dir);

  /* Two gzip members make one file. */
  dir = data_path ("idx", "gz-members", NULL);
  d = convnet_dataset_load_mnist (dir, TRUE, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (d->n, ==, 10);
  check_idx_pixels (d, 4, 3);
  convnet_dataset_free (d);
  g_free (dir);
}

static void
test_idx_classes_file (void)
{
  static const int labels[] = { 2, 0, 1, 1, 0, 2 };
  char           *dir = data_path ("idx", "classes", NULL);
  GError         *error = NULL;
  ConvnetDataset *d = convnet_dataset_load_mnist (dir, TRUE, &error);
  guint           i;

  g_assert_no_error (error);
  g_assert_cmpuint (d->n, ==, 6);
  g_assert_cmpint (d->n_classes, ==, 3);
  g_assert_cmpstr (d->class_names[0], ==, "circle");
  g_assert_cmpstr (d->class_names[2], ==, "triangle");
  g_assert_null (d->class_names[3]);
  for (i = 0; i < d->n; i++)
    g_assert_cmpint (d->labels[i], ==, labels[i]);
  check_idx_pixels (d, 5, 7);
  convnet_dataset_free (d);
  g_free (dir);
}

static void
test_idx_malformed (void)
{
  /* folder, the file the error must name, a phrase it must contain */
  static const struct
  {
    const char *dir, *file, *phrase;
  } cases[] = {
    { "bad-magic", "train-images-idx3-ubyte", "0x00000802" },
    { "bad-labels-magic", "train-labels-idx1-ubyte", "0x00000803" },
    { "truncated-raw", "train-images-idx3-ubyte", "truncated: 131 bytes" },
    { "truncated-header", "train-images-idx3-ubyte", "truncated: 10 bytes" },
    { "too-long", "train-images-idx3-ubyte", "too long: 137 bytes" },
    { "count-mismatch", "train-images-idx3-ubyte", "9 labels" },
    { "label-range", "train-labels-idx1-ubyte", "label 10 of sample 5" },
    { "zero-size", "train-images-idx3-ubyte", "size 3 x 0" },
    { "truncated-gz", "train-images-idx3-ubyte.gz", "truncated" },
    { "gz-garbage", "train-images-idx3-ubyte.gz", "4 bytes of garbage" },
    { "no-such-folder", "no-such-folder", "train-images-idx3-ubyte" },
  };
  guint i;

  for (i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      char           *dir = data_path ("idx", cases[i].dir, NULL);
      GError         *error = NULL;
      ConvnetDataset *d = convnet_dataset_load_mnist (dir, TRUE, &error);

      g_assert_null (d);
      g_assert_nonnull (error);
      g_assert_true (error->domain == CONVNET_ERROR);
      g_test_message ("%s: %s", cases[i].dir, error->message);
      g_assert_nonnull (strstr (error->message, cases[i].file));
      g_assert_nonnull (strstr (error->message, cases[i].phrase));
      g_error_free (error);
      g_free (dir);
    }
}

static void
test_folder_tree (void)
{
  static const char *const files[] = {
    "Zebra/z1.png", "Zebra/z2.jpg", "Zebra/sub/z3.png",
    "apple/a1.png", "apple/a2.png", "banana/b1.jpg", "banana/b2.png"
  };
  static const int labels[] = { 0, 0, 0, 1, 1, 2, 2 };
  static const int sizes[][2] = {
    { 8, 6 }, { 10, 7 }, { 5, 5 }, { 6, 9 }, { 7, 4 }, { 9, 9 }, { 4, 6 }
  };
  char           *dir = data_path ("folder", NULL);
  GPtrArray      *skipped = g_ptr_array_new_with_free_func (g_free);
  GError         *error = NULL;
  ConvnetDataset *d = convnet_dataset_load_folder (dir, skipped, &error);
  guint           i;

  g_assert_no_error (error);
  /* Python's sorted (): upper case before lower case. */
  g_assert_cmpint (d->n_classes, ==, 3);
  g_assert_cmpstr (d->class_names[0], ==, "Zebra");
  g_assert_cmpstr (d->class_names[1], ==, "apple");
  g_assert_cmpstr (d->class_names[2], ==, "banana");
  g_assert_null (d->class_names[3]);
  g_assert_cmpuint (d->n, ==, G_N_ELEMENTS (files));
  for (i = 0; i < d->n; i++)
    {
      char *expected = g_build_filename (dir, files[i], NULL);

      g_assert_cmpstr (d->paths[i], ==, expected);
      g_assert_cmpint (d->labels[i], ==, labels[i]);
      g_assert_cmpint (d->images[i]->width, ==, sizes[i][0]);
      g_assert_cmpint (d->images[i]->height, ==, sizes[i][1]);
      g_assert_cmpint (d->images[i]->channels, ==, 3);
      g_free (expected);
    }
  g_assert_null (d->paths[d->n]);

  /* The text files are reported, the hidden ones are not. */
  g_assert_cmpuint (skipped->len, ==, 2);
  g_assert_nonnull (strstr (skipped->pdata[0], "apple/notes.png: "));
  g_assert_nonnull (strstr (skipped->pdata[1], "apple/readme.txt: "));
  for (i = 0; i < skipped->len; i++)
    g_test_message ("skipped %s", (char *) skipped->pdata[i]);
  g_ptr_array_free (skipped, TRUE);
  convnet_dataset_free (d);

  /* SKIPPED is optional. */
  d = convnet_dataset_load_folder (dir, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (d->n, ==, G_N_ELEMENTS (files));
  convnet_dataset_free (d);
  g_free (dir);
}

static void
test_folder_errors (void)
{
  GPtrArray      *skipped = g_ptr_array_new_with_free_func (g_free);
  GError         *error = NULL;
  char           *dir;
  ConvnetDataset *d;

  dir = data_path ("folder-empty-class", NULL);
  d = convnet_dataset_load_folder (dir, skipped, &error);
  g_assert_null (d);
  g_assert_error (error, CONVNET_ERROR, CONVNET_ERROR_FORMAT);
  g_assert_nonnull (strstr (error->message, "folder-empty-class/empty"));
  g_test_message ("%s", error->message);
  g_clear_error (&error);
  g_assert_cmpuint (skipped->len, ==, 1);
  g_assert_nonnull (strstr (skipped->pdata[0], "empty/broken.jpg: "));
  g_free (dir);

  dir = data_path ("folder-one-class", NULL);
  d = convnet_dataset_load_folder (dir, NULL, &error);
  g_assert_null (d);
  g_assert_error (error, CONVNET_ERROR, CONVNET_ERROR_FORMAT);
  g_assert_nonnull (strstr (error->message, "folder-one-class"));
  g_assert_nonnull (strstr (error->message, "1 class"));
  g_test_message ("%s", error->message);
  g_clear_error (&error);
  g_free (dir);

  dir = data_path ("no-such-folder", NULL);
  d = convnet_dataset_load_folder (dir, NULL, &error);
  g_assert_null (d);
  g_assert_error (error, CONVNET_ERROR, CONVNET_ERROR_IO);
  g_assert_nonnull (strstr (error->message, "no-such-folder"));
  g_clear_error (&error);
  g_free (dir);
  g_ptr_array_free (skipped, TRUE);
}

/* A dataset of labels only, which is all a split reads. */
static ConvnetDataset *
labels_only (const guint *class_sizes,
             int          n_classes)
{
  ConvnetDataset *d = g_new0 (ConvnetDataset, 1);
  guint           total = 0, i, k;
  int             c;

  for (c = 0; c < n_classes; c++)
    total += class_sizes[c];
  d->n = total;
  d->n_classes = n_classes;
  d->labels = g_new (int, MAX (total, 1));
  /* Interleaved, so that a class's samples are not contiguous. */
  for (i = 0, k = 0; i < total; k++)
    for (c = 0; c < n_classes; c++)
      if (k < class_sizes[c])
        d->labels[i++] = c;
  return d;
}

static void
check_split (const ConvnetDataset *d,
             GArray               *train,
             GArray               *validation,
             const guint          *expected_validation)
{
  guint8 *seen = g_new0 (guint8, d->n);
  guint  *per_class = g_new0 (guint, d->n_classes);
  guint   i;
  int     c;

  g_assert_cmpuint (train->len + validation->len, ==, d->n);
  for (i = 0; i < train->len; i++)
    {
      guint s = g_array_index (train, guint, i);

      g_assert_cmpuint (s, <, d->n);
      g_assert_cmpuint (seen[s]++, ==, 0);
      if (i > 0)
        g_assert_cmpuint (s, >, g_array_index (train, guint, i - 1));
    }
  for (i = 0; i < validation->len; i++)
    {
      guint s = g_array_index (validation, guint, i);

      g_assert_cmpuint (s, <, d->n);
      g_assert_cmpuint (seen[s]++, ==, 0);   /* disjoint */
      if (i > 0)
        g_assert_cmpuint (s, >, g_array_index (validation, guint, i - 1));
      per_class[d->labels[s]]++;
    }
  for (i = 0; i < d->n; i++)
    g_assert_cmpuint (seen[i], ==, 1);       /* covering */
  for (c = 0; c < d->n_classes; c++)
    g_assert_cmpuint (per_class[c], ==, expected_validation[c]);
  g_free (per_class);
  g_free (seen);
}

static gboolean
arrays_equal (GArray *a,
              GArray *b)
{
  return a->len == b->len &&
         memcmp (a->data, b->data, a->len * sizeof (guint)) == 0;
}

static void
test_split (void)
{
  /* 0.2 of each: 20, 7.4 -> 7, 0.4 -> at least 1, 0.2 -> 0 (a single
   * sample cannot be in both), 0 */
  static const guint sizes[] = { 100, 37, 2, 1, 0, 10 };
  static const guint expected[] = { 20, 7, 1, 0, 0, 2 };
  static const guint expected_half[] = { 50, 18, 1, 0, 0, 5 };
  static const guint none[] = { 0, 0, 0, 0, 0, 0 };
  ConvnetDataset *d = labels_only (sizes, G_N_ELEMENTS (sizes));
  GArray         *train, *validation, *train2, *validation2;
  guint           i;

  convnet_dataset_split (d, 0.2, 7, &train, &validation);
  check_split (d, train, validation, expected);

  /* Deterministic for a seed, different for another. */
  convnet_dataset_split (d, 0.2, 7, &train2, &validation2);
  g_assert_true (arrays_equal (train, train2));
  g_assert_true (arrays_equal (validation, validation2));
  g_array_free (train2, TRUE);
  g_array_free (validation2, TRUE);
  convnet_dataset_split (d, 0.2, 8, &train2, &validation2);
  check_split (d, train2, validation2, expected);
  g_assert_false (arrays_equal (validation, validation2));
  g_array_free (train2, TRUE);
  g_array_free (validation2, TRUE);
  g_array_free (train, TRUE);
  g_array_free (validation, TRUE);

  /* 18.5 rounds half to even. */
  convnet_dataset_split (d, 0.5, 1, &train, &validation);
  check_split (d, train, validation, expected_half);
  g_array_free (train, TRUE);
  g_array_free (validation, TRUE);

  convnet_dataset_split (d, 0.0, 1, &train, &validation);
  check_split (d, train, validation, none);
  g_assert_cmpuint (validation->len, ==, 0);
  g_array_free (train, TRUE);
  g_array_free (validation, TRUE);

  convnet_dataset_split (d, 1.0, 1, &train, &validation);
  g_assert_cmpuint (train->len, ==, 0);
  g_assert_cmpuint (validation->len, ==, d->n);
  g_array_free (train, TRUE);
  g_array_free (validation, TRUE);

  /* Samples of one class come and go without moving the others'. */
  convnet_dataset_split (d, 0.2, 7, &train, &validation);
  {
    guint           more[G_N_ELEMENTS (sizes)];
    ConvnetDataset *d2;
    GArray         *v0 = g_array_new (FALSE, FALSE, sizeof (guint));
    GArray         *v1 = g_array_new (FALSE, FALSE, sizeof (guint));

    memcpy (more, sizes, sizeof more);
    more[1] += 20;
    d2 = labels_only (more, G_N_ELEMENTS (more));
    convnet_dataset_split (d2, 0.2, 7, &train2, &validation2);
    /* Class 0's validation members, by rank within the class. */
    for (i = 0; i < validation->len; i++)
      {
        guint s = g_array_index (validation, guint, i), rank = 0, j;

        if (d->labels[s] == 0)
          {
            for (j = 0; j < s; j++)
              rank += d->labels[j] == 0;
            g_array_append_val (v0, rank);
          }
      }
    for (i = 0; i < validation2->len; i++)
      {
        guint s = g_array_index (validation2, guint, i), rank = 0, j;

        if (d2->labels[s] == 0)
          {
            for (j = 0; j < s; j++)
              rank += d2->labels[j] == 0;
            g_array_append_val (v1, rank);
          }
      }
    g_assert_true (arrays_equal (v0, v1));
    g_array_free (v0, TRUE);
    g_array_free (v1, TRUE);
    g_array_free (train2, TRUE);
    g_array_free (validation2, TRUE);
    convnet_dataset_free (d2);
  }
  g_array_free (train, TRUE);
  g_array_free (validation, TRUE);
  convnet_dataset_free (d);
}

static void
test_shuffle (void)
{
  ConvnetRng rng, again;
  guint      counts[6] = { 0 };
  guint      a[1000], b[1000];
  guint      i, round;
  guint8     seen[1000] = { 0 };

  for (i = 0; i < 1000; i++)
    a[i] = b[i] = i;
  convnet_rng_seed (&rng, 5);
  convnet_rng_seed (&again, 5);
  convnet_shuffle (a, 1000, &rng);
  convnet_shuffle (b, 1000, &again);
  g_assert_cmpmem (a, sizeof a, b, sizeof b);
  for (i = 0; i < 1000; i++)
    g_assert_cmpuint (seen[a[i]]++, ==, 0);
  convnet_shuffle (b, 0, &rng);
  convnet_shuffle (b, 1, &rng);

  /* All six orders of three, equally often: 60000 draws give each
   * 10000 +- 91 (one standard deviation). */
  for (round = 0; round < 60000; round++)
    {
      guint p[3] = { 0, 1, 2 };

      convnet_shuffle (p, 3, &rng);
      counts[p[0] * 2 + (p[1] > p[2])]++;
    }
  for (i = 0; i < 6; i++)
    {
      g_test_message ("order %u: %u", i, counts[i]);
      g_assert_cmpuint (counts[i], >, 9500);
      g_assert_cmpuint (counts[i], <, 10500);
    }
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/data/idx/fashion-mnist", test_fashion_mnist);
  g_test_add_func ("/data/idx/raw", test_idx_raw);
  g_test_add_func ("/data/idx/gzip", test_idx_gzip);
  g_test_add_func ("/data/idx/classes-file", test_idx_classes_file);
  g_test_add_func ("/data/idx/malformed", test_idx_malformed);
  g_test_add_func ("/data/folder/tree", test_folder_tree);
  g_test_add_func ("/data/folder/errors", test_folder_errors);
  g_test_add_func ("/data/split", test_split);
  g_test_add_func ("/data/shuffle", test_shuffle);
  return g_test_run ();
}
