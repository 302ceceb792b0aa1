/* batch.c: classifying many files in one process.  Decoding a photo takes
 * longer than running a small network on it, so one thread decodes and
 * preprocesses the next images while the calling thread runs the network
 * on batches of the ones ready; a file that cannot be read becomes that
 * item's error and the job goes on. */
#include "convnet.h"

#include <string.h>

#include "kernels/kernels.h"

/* The extensions taken from a folder or a pattern: what gdk-pixbuf reads
 * here, and what GIMP users keep that only GIMP's loaders read. */
static const char *const image_extensions[] = {
  "png", "jpg", "jpeg", "jpe", "jfif", "tif", "tiff", "webp", "bmp", "gif",
  "xcf", "psd", "ora", "pnm", "ppm", "pgm", "pbm", "tga", "ico", "heic",
  "heif", "avif", "jxl", "exr", "hdr", "kra", NULL
};

/* Images past this many floats of input a batch are run one at a time;
 * below it, up to MAX_BATCH at once (LeNet-5's 28 x 28 inputs). */
#define BATCH_FLOATS (1 << 20)
#define MAX_BATCH    32

static gboolean
has_image_extension (const char *name)
{
  const char *dot = strrchr (name, '.');

  if (dot == NULL)
    return FALSE;
  for (int i = 0; image_extensions[i]; i++)
    if (g_ascii_strcasecmp (dot + 1, image_extensions[i]) == 0)
      return TRUE;
  return FALSE;
}

static gboolean
add_folder (GPtrArray  *found,
            const char *folder,
            int         depth,
            GError    **error)
{
  GDir       *dir;
  const char *name;

  /* a symlink loop must not recurse for ever */
  if (depth > 64)
    return TRUE;
  dir = g_dir_open (folder, 0, error);
  if (dir == NULL)
    return FALSE;
  while ((name = g_dir_read_name (dir)) != NULL)
    {
      char *path = g_build_filename (folder, name, NULL);

      if (g_file_test (path, G_FILE_TEST_IS_DIR))
        {
          GError *inner = NULL;

          /* an unreadable subfolder is skipped, not the whole job */
          if (!add_folder (found, path, depth + 1, &inner))
            g_clear_error (&inner);
          g_free (path);
        }
      else if (name[0] != '.' && has_image_extension (name))
        g_ptr_array_add (found, path);
      else
        g_free (path);
    }
  g_dir_close (dir);
  return TRUE;
}

static gboolean
add_pattern (GPtrArray  *found,
             const char *pattern,
             GError    **error)
{
  char         *folder = g_path_get_dirname (pattern);
  char         *glob = g_path_get_basename (pattern);
  GPatternSpec *spec = g_pattern_spec_new (glob);
  GDir         *dir = g_dir_open (folder, 0, error);
  const char   *name;

  if (dir != NULL)
    {
      while ((name = g_dir_read_name (dir)) != NULL)
        {
          char *path;

          /* as a shell's glob: hidden files only when asked for */
          if ((name[0] == '.' && glob[0] != '.') ||
              !g_pattern_spec_match_string (spec, name) ||
              !has_image_extension (name))
            continue;
          path = g_build_filename (folder, name, NULL);
          if (g_file_test (path, G_FILE_TEST_IS_REGULAR))
            g_ptr_array_add (found, path);
          else
            g_free (path);
        }
      g_dir_close (dir);
    }
  g_pattern_spec_free (spec);
  g_free (glob);
  g_free (folder);
  return dir != NULL;
}

static int
compare_paths (gconstpointer a,
               gconstpointer b)
{
  return strcmp (*(const char *const *) a, *(const char *const *) b);
}

GPtrArray *
convnet_batch_files (const char *files,
                     GError    **error)
{
  GPtrArray *found;
  char      *base;
  gboolean   pattern, ok = TRUE;

  g_return_val_if_fail (files != NULL, NULL);

  if (*files == '\0')
    {
      g_set_error_literal (error, CONVNET_ERROR, CONVNET_ERROR_ARGUMENT,
                           "No files given: name a folder, a pattern such "
                           "as photos/*.png, or a file");
      return NULL;
    }
  found = g_ptr_array_new_with_free_func (g_free);
  base = g_path_get_basename (files);
  pattern = strpbrk (base, "*?[") != NULL;
  g_free (base);

  if (g_file_test (files, G_FILE_TEST_IS_DIR))
    ok = add_folder (found, files, 0, error);
  else if (pattern)
    ok = add_pattern (found, files, error);
  else if (g_file_test (files, G_FILE_TEST_EXISTS))
    g_ptr_array_add (found, g_strdup (files));

  if (ok && found->len == 0)
    {
      char *name = g_filename_display_name (files);

      g_set_error (error, CONVNET_ERROR, CONVNET_ERROR_IO,
                   pattern ? "No image file matches “%s”"
                   : g_file_test (files, G_FILE_TEST_IS_DIR)
                   ? "No image file in the folder “%s”"
                   : "No such file: “%s”", name);
      g_free (name);
      ok = FALSE;
    }
  if (!ok)
    {
      g_ptr_array_unref (found);
      return NULL;
    }
  g_ptr_array_sort (found, compare_paths);
  return found;
}

ConvnetBatchItem *
convnet_batch_items_new (const char *const *paths,
                         int                n_paths)
{
  ConvnetBatchItem *items = g_new0 (ConvnetBatchItem, MAX (n_paths, 1));

  for (int i = 0; i < n_paths; i++)
    items[i].path = g_strdup (paths[i]);
  return items;
}

void
convnet_batch_items_free (ConvnetBatchItem *items,
                          int               n_items)
{
  if (items == NULL)
    return;
  for (int i = 0; i < n_items; i++)
    {
      g_free (items[i].path);
      convnet_image_free (items[i].image);
      g_free (items[i].indices);
      g_free (items[i].probabilities);
      g_clear_error (&items[i].error);
    }
  g_free (items);
}

/* ------------------------------------------------------ the decoder thread */

typedef struct
{
  int     index;
  float  *buffer;  /* the slot's buffer, given back once read */
  float  *input;   /* BUFFER holding the preprocessed sample, or NULL with
                      ERROR */
  GError *error;
} Decoded;

typedef struct
{
  const ConvnetPreprocess *preprocess;
  ConvnetBatchItem        *items;
  const int               *pending;   /* indices of the items to run */
  int                      n_pending;
  gsize                    sample;    /* floats an input */
  GAsyncQueue             *ready;     /* Decoded, in the items' order */
  GAsyncQueue             *slots;     /* the free buffers of a sample, in
                                         huge pages: a fresh buffer in 4 KB
                                         pages cost a fresh process 150
                                         page faults, 2-3 ms, twice */
  gint                     cancelled;
} Decoder;

static gpointer
decode_all (gpointer data)
{
  Decoder *d = data;

  for (int k = 0; k < d->n_pending; k++)
    {
      ConvnetBatchItem *item = &d->items[d->pending[k]];
      Decoded          *out = g_new0 (Decoded, 1);
      ConvnetImage     *own = NULL;
      const ConvnetImage *image = item->image;

      /* a free slot first, so that decoding never runs far ahead */
      out->buffer = g_async_queue_pop (d->slots);
      out->index = d->pending[k];
      if (g_atomic_int_get (&d->cancelled))
        {
          g_set_error_literal (&out->error, CONVNET_ERROR,
                               CONVNET_ERROR_CANCELLED, "Cancelled");
          g_async_queue_push (d->ready, out);
          continue;
        }
      if (image == NULL)
        image = own = convnet_image_load (item->path, &out->error);
      if (image != NULL)
        {
          out->input = out->buffer;
          if (!convnet_preprocess_image (d->preprocess, image, out->input,
                                         &out->error))
            out->input = NULL;
        }
      convnet_image_free (own);
      g_async_queue_push (d->ready, out);
    }
  return NULL;
}

/* -------------------------------------------------------------- the job */

static void
set_result (ConvnetModel     *model,
            ConvnetBatchItem *item,
            const float      *logits,
            int               top_k)
{
  const int classes = model->n_classes;
  int      *indices = g_new (int, classes);
  float    *probabilities = g_new (float, classes);

  item->n_top = convnet_top_classes (logits, classes, top_k, indices,
                                     probabilities);
  item->indices = g_memdup2 (indices, sizeof (int) * item->n_top);
  item->probabilities = g_memdup2 (probabilities,
                                   sizeof (float) * item->n_top);
  g_free (indices);
  g_free (probabilities);
}

/* Runs the network on the N inputs of INPUTS (for the items INDICES). */
static gboolean
run_batch (ConvnetModel     *model,
           ConvnetBatchItem *items,
           const float      *inputs,
           const int        *indices,
           int               n,
           int               top_k,
           GError          **error)
{
  const float *logits;

  if (!convnet_graph_forward (model->graph, inputs, n, error))
    return FALSE;
  logits = convnet_graph_output (model->graph);
  for (int b = 0; b < n; b++)
    set_result (model, &items[indices[b]],
                logits + (gsize) b * model->n_classes, top_k);
  return TRUE;
}

gboolean
convnet_classify_batch (ConvnetModel        *model,
                        ConvnetBatchItem    *items,
                        int                  n_items,
                        int                  top_k,
                        ConvnetBatchProgress progress,
                        gpointer             user_data,
                        GError             **error)
{
  const ConvnetShape shape = convnet_graph_input_shape (model->graph);
  Decoder  decoder = { 0 };
  GThread *thread;
  int     *pending, *batch_items;
  float   *inputs, *buffers;
  int      batch, filled = 0, done = 0;
  gboolean ok = TRUE;

  g_return_val_if_fail (model != NULL && (items != NULL || n_items == 0),
                        FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  top_k = CLAMP (top_k, 1, model->n_classes);
  pending = g_new (int, MAX (n_items, 1));
  for (int i = 0; i < n_items; i++)
    {
      if (items[i].error == NULL && items[i].n_top == 0)
        pending[decoder.n_pending++] = i;
      else
        done++;
    }
  decoder.preprocess = &model->preprocess;
  decoder.items = items;
  decoder.pending = pending;
  decoder.sample = (gsize) shape.c * shape.h * shape.w;
  batch = (int) CLAMP (BATCH_FLOATS / decoder.sample, 1, MAX_BATCH);
  batch = MIN (batch, MAX (decoder.n_pending, 1));
  /* the batch's inputs, then two buffers a sample for the decoder */
  inputs = convnet_workspace_alloc (sizeof (float) * decoder.sample
                                    * 3 * batch);
  if (!inputs)
    {
      g_set_error (error, CONVNET_ERROR, CONVNET_ERROR_LIMIT,
                   "Cannot allocate the inputs of a batch of %d", batch);
      g_free (pending);
      return FALSE;
    }
  buffers = inputs + decoder.sample * batch;
  decoder.ready = g_async_queue_new ();
  decoder.slots = g_async_queue_new ();
  for (int s = 0; s < 2 * batch; s++)
    g_async_queue_push (decoder.slots, buffers + decoder.sample * s);
  batch_items = g_new (int, batch);
  thread = g_thread_new ("convnet-decode", decode_all, &decoder);
  /* the plan of the first batch is made while its images are decoded: a
   * fresh process reads its packed weights then (a failed image only
   * makes that batch smaller, and then planned again) */
  if (decoder.n_pending > 0)
    ok = convnet_graph_prepare (model->graph, batch, error);
  if (!ok)
    g_atomic_int_set (&decoder.cancelled, 1);

  for (int k = 0; k < decoder.n_pending; k++)
    {
      Decoded *in = g_async_queue_pop (decoder.ready);

      if (in->input == NULL)
        {
          ConvnetBatchItem *item = &items[in->index];

          item->error = in->error;
          done++;
        }
      else if (ok)
        {
          memcpy (inputs + decoder.sample * filled, in->input,
                  sizeof (float) * decoder.sample);
          batch_items[filled++] = in->index;
        }
      g_async_queue_push (decoder.slots, in->buffer);
      g_free (in);

      if (ok && filled > 0 && (filled == batch || k == decoder.n_pending - 1))
        {
          ok = run_batch (model, items, inputs, batch_items, filled, top_k,
                          error);
          done += filled;
          filled = 0;
        }
      if (ok && progress && !progress (done, n_items, user_data))
        {
          g_set_error_literal (error, CONVNET_ERROR, CONVNET_ERROR_CANCELLED,
                               "The batch job was cancelled");
          ok = FALSE;
        }
      if (!ok)
        g_atomic_int_set (&decoder.cancelled, 1);
    }
  g_thread_join (thread);
  if (!ok)
    {
      /* a job that stopped leaves no half of a result behind */
      for (int i = 0; i < n_items; i++)
        if (items[i].error != NULL &&
            g_error_matches (items[i].error, CONVNET_ERROR,
                             CONVNET_ERROR_CANCELLED))
          g_clear_error (&items[i].error);
    }
  g_async_queue_unref (decoder.ready);
  g_async_queue_unref (decoder.slots);
  convnet_packed_free (inputs);
  g_free (batch_items);
  g_free (pending);
  return ok;
}

/* ------------------------------------------------------------------ CSV */

static void
append_field (GString    *out,
              const char *text)
{
  if (strpbrk (text, ",\"\r\n") == NULL)
    {
      g_string_append (out, text);
      return;
    }
  g_string_append_c (out, '"');
  for (const char *c = text; *c; c++)
    {
      if (*c == '"')
        g_string_append_c (out, '"');
      g_string_append_c (out, *c);
    }
  g_string_append_c (out, '"');
}

gboolean
convnet_batch_write_csv (const ConvnetModel     *model,
                         const ConvnetBatchItem *items,
                         int                     n_items,
                         const char             *path,
                         GError                **error)
{
  GString *out = g_string_new ("file,rank,label,probability\n");
  gboolean ok;

  for (int i = 0; i < n_items; i++)
    {
      const ConvnetBatchItem *item = &items[i];

      if (item->n_top == 0)
        {
          append_field (out, item->path);
          g_string_append (out, ",error,");
          append_field (out, item->error ? item->error->message
                                         : "not classified");
          g_string_append (out, ",\n");
          continue;
        }
      for (int k = 0; k < item->n_top; k++)
        {
          char probability[G_ASCII_DTOSTR_BUF_SIZE];

          append_field (out, item->path);
          g_string_append_printf (out, ",%d,", k + 1);
          append_field (out, model->labels[item->indices[k]]);
          g_ascii_formatd (probability, sizeof probability, "%.6g",
                           item->probabilities[k]);
          g_string_append_printf (out, ",%s\n", probability);
        }
    }
  ok = convnet_text_file_write (path, "CSV", out, error);
  g_string_free (out, TRUE);
  return ok;
}
