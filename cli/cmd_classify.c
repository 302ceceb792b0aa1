/* cmd_classify.c: `convnet classify`: decode, preprocess as the model's
 * weights expect, run, and print the top-K classes of each image. */
#include "cli.h"

#include <stdio.h>
#include <string.h>

static void
print_json_string (const char *s)
{
  putchar ('"');
  for (; *s; s++)
    {
      if (*s == '"' || *s == '\\')
        printf ("\\%c", *s);
      else if ((unsigned char) *s < 0x20)
        printf ("\\u%04x", *s);
      else
        putchar (*s);
    }
  putchar ('"');
}

int
cmd_classify (int argc, char **argv)
{
  char *model = NULL, *weights = NULL, *csv = NULL;
  int top = 5, threads = 0;
  gboolean json = FALSE;
  GOptionEntry entries[] = {
    { "model", 'm', 0, G_OPTION_ARG_STRING, &model, "architecture", "MODEL" },
    { "weights", 'w', 0, G_OPTION_ARG_FILENAME, &weights, "checkpoint", "FILE" },
    { "top", 'k', 0, G_OPTION_ARG_INT, &top, "classes to print (5)", "K" },
    { "json", 'j', 0, G_OPTION_ARG_NONE, &json, "print JSON", NULL },
    { "csv", 0, 0, G_OPTION_ARG_FILENAME, &csv,
      "also write file,rank,label,probability rows (an unreadable image: "
      "FILE,error,WHY,) to FILE", "FILE" },
    { "threads", 't', 0, G_OPTION_ARG_INT, &threads, "BLAS threads", "T" },
    { 0 }
  };
  GOptionContext *context = g_option_context_new (
    "IMAGE... - classify images (a folder or a pattern such as "
    "'photos/*.png' names many)");
  GError *error = NULL;
  ConvnetModel *m = NULL;
  GPtrArray *paths = g_ptr_array_new_with_free_func (g_free);
  ConvnetBatchItem *items = NULL;
  int status = 1, failures = 0;

  g_option_context_add_main_entries (context, entries, NULL);
  if (!cli_parse (context, &argc, &argv))
    return 1;
  g_option_context_free (context);
  if (!weights)
    return cli_fail ("classify needs --weights (and --model for a "
                     "torchvision checkpoint)");
  if (argc < 2)
    return cli_fail ("classify needs at least one IMAGE");
  if (top < 1)
    return cli_fail ("--top must be at least 1, got %d", top);
  convnet_set_threads (threads);

  /* a file is taken as named; a folder or a pattern is expanded */
  for (int i = 1; i < argc; i++)
    {
      GPtrArray *found;

      if (!g_file_test (argv[i], G_FILE_TEST_IS_DIR)
          && !strpbrk (argv[i], "*?["))
        {
          g_ptr_array_add (paths, g_strdup (argv[i]));
          continue;
        }
      found = convnet_batch_files (argv[i], &error);
      if (!found)
        goto out;
      for (guint k = 0; k < found->len; k++)
        g_ptr_array_add (paths, g_strdup (found->pdata[k]));
      g_ptr_array_unref (found);
    }

  m = cli_load_model (model, weights, 0, 0, &error);
  if (!m)
    goto out;
  top = MIN (top, m->n_classes);
  items = convnet_batch_items_new ((const char *const *) paths->pdata,
                                   (int) paths->len);
  if (!convnet_classify_batch (m, items, (int) paths->len, top, NULL, NULL,
                               &error))
    goto out;

  if (json)
    printf ("[");
  for (guint i = 0; i < paths->len; i++)
    {
      const ConvnetBatchItem *item = &items[i];

      if (item->n_top == 0)
        {
          /* one unreadable image does not stop the others */
          if (json)
            {
              printf ("%s\n  {\"image\": ", i ? "," : "");
              print_json_string (item->path);
              printf (", \"error\": ");
              print_json_string (item->error->message);
              printf ("}");
            }
          cli_fail ("%s", item->error->message);
          failures++;
          continue;
        }
      if (json)
        {
          printf ("%s\n  {\"image\": ", i ? "," : "");
          print_json_string (item->path);
          printf (", \"top\": [");
          for (int k = 0; k < item->n_top; k++)
            {
              printf ("%s{\"index\": %d, \"label\": ", k ? ", " : "",
                      item->indices[k]);
              print_json_string (m->labels[item->indices[k]]);
              printf (", \"probability\": %.6f}", item->probabilities[k]);
            }
          printf ("]}");
        }
      else
        {
          printf ("%s\n", item->path);
          for (int k = 0; k < item->n_top; k++)
            printf ("  %2d. %6.2f%%  %s\n", k + 1,
                    100.0 * item->probabilities[k],
                    m->labels[item->indices[k]]);
        }
    }
  if (json)
    printf ("\n]\n");
  if (csv && !convnet_batch_write_csv (m, items, (int) paths->len, csv,
                                       &error))
    goto out;
  status = failures ? 1 : 0;

out:
  if (error)
    status = cli_fail_error (error);
  convnet_batch_items_free (items, (int) paths->len);
  g_ptr_array_unref (paths);
  convnet_model_free (m);
  g_free (model);
  g_free (weights);
  g_free (csv);
  return status;
}
