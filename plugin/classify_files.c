/* classify_files.c: plug-in-convnet-classify-files: every image a glob or
 * a folder names, classified in this one process with the model loaded
 * once, into a CSV.  The engine decodes what gdk-pixbuf reads on a thread
 * of its own while the network runs; only the files it cannot read (XCF,
 * and WebP where no pixbuf loader is installed) go through GIMP's loaders,
 * one by one, afterwards. */
#include "config.h"

#include "plugin.h"

/* How many failed files a message names before it only counts them. */
#define MESSAGE_FILES 10
/* How many images GIMP's loaders decode before they are classified. */
#define GIMP_DECODED_AT_ONCE 4

static gboolean
show_progress (int done, int total, G_GNUC_UNUSED gpointer user_data)
{
  gimp_progress_update (total > 0 ? (double) done / total : 1.0);
  return TRUE;
}

/* Classifies the files the engine cannot decode through GIMP's loaders,
 * a few at a time, so that a folder of large XCFs is never held decoded
 * all at once. */
static gboolean
classify_with_gimp (ConvnetModel *model, ConvnetBatchItem *items,
                    int n_items, int top_k, GError **error)
{
  int decoded = 0;

  for (int i = 0; i <= n_items; i++)
    {
      if (i < n_items && g_error_matches (items[i].error, CONVNET_ERROR,
                                          CONVNET_ERROR_UNSUPPORTED))
        {
          g_clear_error (&items[i].error);
          items[i].image = plugin_image_load_any (items[i].path,
                                                  &items[i].error);
          decoded += items[i].image != NULL;
        }
      if (decoded == GIMP_DECODED_AT_ONCE || (i == n_items && decoded > 0))
        {
          if (!convnet_classify_batch (model, items, n_items, top_k,
                                       show_progress, NULL, error))
            return FALSE;
          for (int k = 0; k < i && k < n_items; k++)
            g_clear_pointer (&items[k].image, convnet_image_free);
          decoded = 0;
        }
    }
  return TRUE;
}

static void
report_failures (const ConvnetBatchItem *items, int n_items, int failed)
{
  GString *text;
  int told = 0;

  if (failed == 0)
    return;
  text = g_string_new (NULL);
  g_string_printf (text, _("Files that could not be classified: %d"),
                   failed);
  for (int i = 0; i < n_items && told < MESSAGE_FILES; i++)
    if (items[i].n_top == 0)
      {
        g_string_append_printf (text, "\n%s", items[i].error
                                ? items[i].error->message : items[i].path);
        told++;
      }
  if (failed > told)
    g_string_append_printf (text, "\n…");
  gimp_message (text->str);
  g_string_free (text, TRUE);
}

gboolean
plugin_classify_files (ConvnetModel *model, const char *files, int top_k,
                       const char *csv_path, int *classified, int *failed,
                       GError **error)
{
  GPtrArray *paths;
  ConvnetBatchItem *items;
  int n;
  gboolean ok;

  *classified = *failed = 0;
  if (!csv_path || !*csv_path)
    {
      g_set_error_literal (error, CONVNET_ERROR, CONVNET_ERROR_ARGUMENT,
                           _("No CSV file given to write the classes to"));
      return FALSE;
    }
  paths = convnet_batch_files (files, error);
  if (!paths)
    return FALSE;
  n = (int) paths->len;
  items = convnet_batch_items_new ((const char *const *) paths->pdata, n);
  g_ptr_array_unref (paths);

  gimp_progress_set_text_printf (_("Files to classify: %d"), n);
  ok = convnet_classify_batch (model, items, n, top_k, show_progress, NULL,
                               error);
  if (ok)
    ok = classify_with_gimp (model, items, n, top_k, error);
  if (ok)
    ok = convnet_batch_write_csv (model, items, n, csv_path, error);
  if (ok)
    {
      for (int i = 0; i < n; i++)
        {
          if (items[i].n_top > 0)
            (*classified)++;
          else
            (*failed)++;
        }
      report_failures (items, n, *failed);
    }
  convnet_batch_items_free (items, n);
  gimp_progress_update (1.0);
  return ok;
}
