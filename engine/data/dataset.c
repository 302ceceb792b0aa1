/* dataset.c: image-folder datasets, splits and shuffling.
 *
 * The folder layout and orders are torchvision's ImageFolder, so that a
 * model trained here and one trained there agree on which output is
 * which class: classes are the sorted sub-folder names, and each class's
 * files come from a sorted walk of its folder. */
#include "data.h"

#include <math.h>
#include <string.h>

/* Deeper than any real class folder; stops a symbolic-link loop. */
#define MAX_DEPTH 32

static gboolean
is_hidden (const char *name)
{
  return name[0] == '.';
}

static int
compare_strings (gconstpointer a,
                 gconstpointer b)
{
  return strcmp (*(char *const *) a, *(char *const *) b);
}

/* The non-hidden entries of DIR that are folders (WANT_DIRS) or not,
 * sorted; NULL when DIR cannot be read. */
static GPtrArray *
list_entries (const char  *dir,
              gboolean     want_dirs,
              GError     **error)
{
  GPtrArray  *entries;
  GDir       *handle;
  const char *name;

  handle = g_dir_open (dir, 0, error);
  if (handle == NULL)
    return NULL;
  entries = g_ptr_array_new_with_free_func (g_free);
  while ((name = g_dir_read_name (handle)) != NULL)
    {
      char     *path;
      gboolean  is_dir;

      if (is_hidden (name))
        continue;
      path = g_build_filename (dir, name, NULL);
      /* Follows symbolic links, as os.scandir's is_dir () does. */
      is_dir = g_file_test (path, G_FILE_TEST_IS_DIR);
      if (is_dir == want_dirs)
        g_ptr_array_add (entries, path);
      else
        g_free (path);
    }
  g_dir_close (handle);
  g_ptr_array_sort (entries, compare_strings);
  return entries;
}

/* DIR and every non-hidden folder below it.  os.walk sorted by path is
 * not a depth-first order ("a/b-c" sorts before "a/b/c"), so the caller
 * sorts the whole list. */
static void
collect_dirs (const char *dir,
              int         depth,
              GPtrArray  *dirs)
{
  GPtrArray *subdirs;
  guint      i;

  g_ptr_array_add (dirs, g_strdup (dir));
  if (depth >= MAX_DEPTH)
    return;
  subdirs = list_entries (dir, TRUE, NULL);
  if (subdirs == NULL)
    return;
  for (i = 0; i < subdirs->len; i++)
    collect_dirs (subdirs->pdata[i], depth + 1, dirs);
  g_ptr_array_free (subdirs, TRUE);
}

static void
report_skipped (GPtrArray  *skipped,
                const char *path,
                const char *reason)
{
  if (skipped != NULL)
    {
      char *name = g_filename_display_name (path);

      g_ptr_array_add (skipped, g_strdup_printf ("%s: %s", name, reason));
      g_free (name);
    }
}

/* Decodes every file under CLASS_DIR into IMAGES and PATHS; returns how
 * many were added. */
static guint
load_class (const char *class_dir,
            GPtrArray  *images,
            GPtrArray  *paths,
            GPtrArray  *skipped)
{
  GPtrArray *dirs = g_ptr_array_new_with_free_func (g_free);
  guint      added = 0, i, j;

  collect_dirs (class_dir, 0, dirs);
  g_ptr_array_sort (dirs, compare_strings);
  for (i = 0; i < dirs->len; i++)
    {
      GError    *inner = NULL;
      GPtrArray *files = list_entries (dirs->pdata[i], FALSE, &inner);

      if (files == NULL)
        {
          report_skipped (skipped, dirs->pdata[i], inner->message);
          g_error_free (inner);
          continue;
        }
      for (j = 0; j < files->len; j++)
        {
          const char   *path = files->pdata[j];
          ConvnetImage *image;

          if (!g_file_test (path, G_FILE_TEST_IS_REGULAR))
            {
              report_skipped (skipped, path, "not a regular file");
              continue;
            }
          image = convnet_image_load (path, &inner);
          if (image == NULL)
            {
              report_skipped (skipped, path, inner->message);
              g_clear_error (&inner);
              continue;
            }
          g_ptr_array_add (images, image);
          g_ptr_array_add (paths, g_strdup (path));
          added++;
        }
      g_ptr_array_free (files, TRUE);
    }
  g_ptr_array_free (dirs, TRUE);
  return added;
}

static void
set_folder_error (GError    **error,
                  const char *dir,
                  const char *what)
{
  char *name = g_filename_display_name (dir);

  g_set_error (error, CONVNET_ERROR, CONVNET_ERROR_FORMAT,
               "Image folder “%s”: %s", name, what);
  g_free (name);
}

ConvnetDataset *
convnet_dataset_load_folder (const char *dir,
                             GPtrArray  *skipped,
                             GError    **error)
{
  ConvnetDataset *d;
  GPtrArray      *classes, *images, *paths;
  GArray         *labels;
  GError         *inner = NULL;
  guint           c;

  g_return_val_if_fail (dir != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  classes = list_entries (dir, TRUE, &inner);
  if (classes == NULL)
    {
      char *name = g_filename_display_name (dir);

      g_set_error (error, CONVNET_ERROR, CONVNET_ERROR_IO,
                   "Cannot read image folder “%s”: %s", name, inner->message);
      g_free (name);
      g_error_free (inner);
      return NULL;
    }
  if (classes->len < 2)
    {
      char *what = g_strdup_printf ("%u class sub-folders, at least 2 are "
                                    "needed", classes->len);

      set_folder_error (error, dir, what);
      g_free (what);
      g_ptr_array_free (classes, TRUE);
      return NULL;
    }

  images = g_ptr_array_new_with_free_func ((GDestroyNotify) convnet_image_free);
  paths = g_ptr_array_new_with_free_func (g_free);
  labels = g_array_new (FALSE, FALSE, sizeof (int));
  for (c = 0; c < classes->len; c++)
    {
      guint added = load_class (classes->pdata[c], images, paths, skipped);
      int   label = (int) c;

      if (added == 0)
        {
          char *name = g_filename_display_name (classes->pdata[c]);

          g_set_error (error, CONVNET_ERROR, CONVNET_ERROR_FORMAT,
                       "Class folder “%s” has no readable image", name);
          g_free (name);
          g_ptr_array_free (images, TRUE);
          g_ptr_array_free (paths, TRUE);
          g_array_free (labels, TRUE);
          g_ptr_array_free (classes, TRUE);
          return NULL;
        }
      while (added-- > 0)
        g_array_append_val (labels, label);
    }

  d = g_new0 (ConvnetDataset, 1);
  d->n = images->len;
  d->n_classes = (int) classes->len;
  d->class_names = g_new0 (char *, classes->len + 1);
  for (c = 0; c < classes->len; c++)
    {
      char *base = g_path_get_basename (classes->pdata[c]);

      /* Names become labels shown to people: UTF-8 whatever the file
       * system's encoding. */
      d->class_names[c] = g_filename_display_name (base);
      g_free (base);
    }
  g_ptr_array_free (classes, TRUE);

  g_ptr_array_set_free_func (images, NULL);
  d->images = (ConvnetImage **) g_ptr_array_free (images, FALSE);
  g_ptr_array_add (paths, NULL);
  d->paths = (char **) g_ptr_array_free (paths, FALSE);
  d->labels = (int *) (gpointer) g_array_free (labels, FALSE);
  return d;
}

ConvnetDataset *
convnet_dataset_from_files (const char *const *class_names,
                            GPtrArray *const  *files,
                            int                n_classes,
                            GPtrArray         *skipped,
                            GError           **error)
{
  ConvnetDataset *d;
  GPtrArray      *images, *paths;
  GArray         *labels;

  if (n_classes < 2)
    {
      g_set_error (error, CONVNET_ERROR, CONVNET_ERROR_ARGUMENT,
                   "%d class%s: at least 2 are needed", n_classes,
                   n_classes == 1 ? "" : "es");
      return NULL;
    }
  images = g_ptr_array_new_with_free_func ((GDestroyNotify) convnet_image_free);
  paths = g_ptr_array_new_with_free_func (g_free);
  labels = g_array_new (FALSE, FALSE, sizeof (int));
  for (int c = 0; c < n_classes; c++)
    {
      guint added = 0;

      for (guint i = 0; files[c] && i < files[c]->len; i++)
        {
          const char *path = g_ptr_array_index (files[c], i);
          GError *inner = NULL;
          ConvnetImage *image = convnet_image_load (path, &inner);

          if (image == NULL)
            {
              report_skipped (skipped, path, inner->message);
              g_error_free (inner);
              continue;
            }
          g_ptr_array_add (images, image);
          g_ptr_array_add (paths, g_strdup (path));
          g_array_append_val (labels, c);
          added++;
        }
      if (added == 0)
        {
          g_set_error (error, CONVNET_ERROR, CONVNET_ERROR_ARGUMENT,
                       "class “%s” has no readable image", class_names[c]);
          g_ptr_array_free (images, TRUE);
          g_ptr_array_free (paths, TRUE);
          g_array_free (labels, TRUE);
          return NULL;
        }
    }

  d = g_new0 (ConvnetDataset, 1);
  d->n = images->len;
  d->n_classes = n_classes;
  d->class_names = g_new0 (char *, n_classes + 1);
  for (int c = 0; c < n_classes; c++)
    d->class_names[c] = g_strdup (class_names[c]);
  g_ptr_array_set_free_func (images, NULL);
  d->images = (ConvnetImage **) g_ptr_array_free (images, FALSE);
  g_ptr_array_add (paths, NULL);
  d->paths = (char **) g_ptr_array_free (paths, FALSE);
  d->labels = (int *) (gpointer) g_array_free (labels, FALSE);
  return d;
}

void
convnet_dataset_free (ConvnetDataset *dataset)
{
  guint i;

  if (dataset == NULL)
    return;
  if (dataset->image_block != NULL)
    {
      g_free (dataset->image_block);
      g_free (dataset->pixel_block);
    }
  else if (dataset->images != NULL)
    for (i = 0; i < dataset->n; i++)
      convnet_image_free (dataset->images[i]);
  g_free (dataset->images);
  g_free (dataset->labels);
  g_strfreev (dataset->paths);
  g_strfreev (dataset->class_names);
  g_free (dataset);
}

void
convnet_shuffle (guint      *indices,
                 guint       n,
                 ConvnetRng *rng)
{
  guint i;

  g_return_if_fail (n == 0 || indices != NULL);
  g_return_if_fail (rng != NULL);

  for (i = n; i > 1; i--)
    {
      guint j = (guint) convnet_rng_below (rng, i);
      guint t = indices[i - 1];

      indices[i - 1] = indices[j];
      indices[j] = t;
    }
}

static int
compare_uints (gconstpointer a,
               gconstpointer b)
{
  guint x = *(const guint *) a, y = *(const guint *) b;

  return x < y ? -1 : x > y;
}

void
convnet_dataset_split (const ConvnetDataset *d,
                       double                validation_share,
                       guint64               seed,
                       GArray              **train,
                       GArray              **validation)
{
  ConvnetRng seeds, rng;
  guint     *by_class, *start;
  guint      i;
  int        c;

  g_return_if_fail (d != NULL && train != NULL && validation != NULL);
  g_return_if_fail (validation_share >= 0.0 && validation_share <= 1.0);

  /* The samples grouped by class, each group in sample order: START[c]
   * is where class c's group begins. */
  start = g_new0 (guint, d->n_classes + 1);
  for (i = 0; i < d->n; i++)
    start[d->labels[i] + 1]++;
  for (c = 0; c < d->n_classes; c++)
    start[c + 1] += start[c];
  by_class = g_new (guint, MAX (d->n, 1));
  for (i = 0; i < d->n; i++)
    by_class[start[d->labels[i]]++] = i;
  /* Filling moved each start to the next group's: shift them back. */
  for (c = d->n_classes; c > 0; c--)
    start[c] = start[c - 1];
  start[0] = 0;

  *train = g_array_sized_new (FALSE, FALSE, sizeof (guint), d->n);
  *validation = g_array_new (FALSE, FALSE, sizeof (guint));
  convnet_rng_seed (&seeds, seed);
  for (c = 0; c < d->n_classes; c++)
    {
      guint *members = by_class + start[c];
      guint  n = start[c + 1] - start[c];
      guint  k;

      /* Half to even, as Python's round (). */
      k = (guint) nearbyint (n * validation_share);
      if (validation_share > 0.0 && validation_share < 1.0 && n >= 2)
        k = CLAMP (k, 1, n - 1);

      /* Each class has its own stream, so that adding samples to one
       * class leaves the split of the others as it was. */
      convnet_rng_seed (&rng, convnet_rng_next (&seeds));
      convnet_shuffle (members, n, &rng);
      g_array_append_vals (*validation, members, k);
      g_array_append_vals (*train, members + k, n - k);
    }
  g_free (by_class);
  g_free (start);

  /* Ascending order: the trainer shuffles every epoch anyway, and a
   * sorted list is easy to compare and to save. */
  g_array_sort (*train, compare_uints);
  g_array_sort (*validation, compare_uints);
}
