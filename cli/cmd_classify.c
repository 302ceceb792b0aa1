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
  char *model = NULL, *weights = NULL;
  int top = 5, threads = 0;
  gboolean json = FALSE;
  GOptionEntry entries[] = {
    { "model", 'm', 0, G_OPTION_ARG_STRING, &model, "architecture", "MODEL" },
    { "weights", 'w', 0, G_OPTION_ARG_FILENAME, &weights, "checkpoint", "FILE" },
    { "top", 'k', 0, G_OPTION_ARG_INT, &top, "classes to print (5)", "K" },
    { "json", 'j', 0, G_OPTION_ARG_NONE, &json, "print JSON", NULL },
    { "threads", 't', 0, G_OPTION_ARG_INT, &threads, "BLAS threads", "T" },
    { 0 }
  };
  GOptionContext *context = g_option_context_new ("IMAGE... - classify images");
  GError *error = NULL;
  ConvnetModel *m = NULL;
  ConvnetGraph *g;
  float *input = NULL;
  int *indices = NULL;
  float *probabilities = NULL;
  int status = 1, classes, n_images, failures = 0;
  gsize sample;

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

  m = cli_load_model (model, weights, 0, 0, &error);
  if (!m)
    goto out;
  g = m->graph;
  classes = m->n_classes;
  top = MIN (top, classes);
  n_images = argc - 1;
  {
    const ConvnetShape in = convnet_graph_input_shape (g);
    sample = (gsize) in.c * in.h * in.w;
  }
  input = g_new (float, sample);
  indices = g_new (int, classes);
  probabilities = g_new (float, classes);

  if (json)
    printf ("[");
  for (int i = 0; i < n_images; i++)
    {
      const char *path = argv[i + 1];
      ConvnetImage *image = convnet_image_load (path, &error);
      const float *logits;

      if (!image
          || !convnet_preprocess_image (&m->preprocess, image, input,
                                        &error))
        {
          /* one unreadable image does not stop the others */
          convnet_image_free (image);
          if (json)
            {
              printf ("%s\n  {\"image\": ", i ? "," : "");
              print_json_string (path);
              printf (", \"error\": ");
              print_json_string (error->message);
              printf ("}");
            }
          cli_fail ("%s", error->message);
          g_clear_error (&error);
          failures++;
          continue;
        }
      convnet_image_free (image);
      /* one image at a time: a batch of 4000x3000 photos would not fit */
      if (!convnet_graph_forward (g, input, 1, &error))
        goto out;
      logits = convnet_graph_output (g);
      convnet_top_classes (logits, classes, top, indices, probabilities);

      if (json)
        {
          printf ("%s\n  {\"image\": ", i ? "," : "");
          print_json_string (path);
          printf (", \"top\": [");
          for (int k = 0; k < top; k++)
            {
              printf ("%s{\"index\": %d, \"label\": ", k ? ", " : "",
                      indices[k]);
              print_json_string (m->labels[indices[k]]);
              printf (", \"probability\": %.6f}", probabilities[k]);
            }
          printf ("]}");
        }
      else
        {
          printf ("%s\n", path);
          for (int k = 0; k < top; k++)
            printf ("  %2d. %6.2f%%  %s\n", k + 1,
                    100.0 * probabilities[k], m->labels[indices[k]]);
        }
    }
  if (json)
    printf ("\n]\n");
  status = failures ? 1 : 0;

out:
  if (error)
    status = cli_fail_error (error);
  g_free (indices);
  g_free (probabilities);
  g_free (input);
  convnet_model_free (m);
  g_free (model);
  g_free (weights);
  return status;
}
