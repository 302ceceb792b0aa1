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

static gboolean
show_progress (int done, int total, G_GNUC_UNUSED gpointer user_data)
{
  gimp_progress_update (total > 0 ? (double) done / total : 1.0);
  return TRUE;
}

/* Hands the files the engine cannot decode to GIMP's loaders; TRUE when
 * any of them was decoded. */
static gboolean
decode_with_gimp (ConvnetBatchItem *items, int n_items)
{
  gboolean any = FALSE;

  for (int i = 0; i < n_items; i++)
    {
      ConvnetBatchItem *item = &items[i];

      if (!g_error_matches (item->error, CONVNET_ERROR,
                            CONVNET_ERROR_UNSUPPORTED))
        continue;
      g_clear_error (&item->error);
      item->image = plugin_image_load_any (item->path, &item->error);
      any = any || item->image != NULL;
    }
  return any;
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
  if (ok && decode_with_gimp (items, n))
    ok = convnet_classify_batch (model, items, n, top_k, show_progress, NULL,
                                 error);
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
