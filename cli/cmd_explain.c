/* cmd_explain.c: `convnet explain`: the Grad-CAM map the saliency filter
 * colours, as numbers: at the node's resolution and, upsampled, at the
 * network input's.  The filter stretches the map over the window of the
 * image the network sees (convnet_preprocess_window), not the input. */
#include "cli.h"

#include <stdio.h>

/* One preprocessed sample for M (loaded here, sized to the input) from a
 * batch-1 .npy file or an image file. */
static float *
explain_input (const char *model, const char *weights, const char *npy,
               const char *image_path, ConvnetModel **m, GError **error)
{
  int ndim;
  int64_t shape[CONVNET_MAX_DIMS];
  float *data = NULL;
  ConvnetImage *image;
  ConvnetShape in;

  if (npy)
    {
      if (!convnet_npy_read (npy, &ndim, shape, &data, error))
        return NULL;
      if (ndim != 4 || shape[2] > G_MAXINT || shape[3] > G_MAXINT)
        {
          g_set_error (error, CONVNET_ERROR, CONVNET_ERROR_ARGUMENT,
                       "%s: expected a 4-D 1 x C x H x W array", npy);
          goto fail;
        }
      if (shape[0] != 1)
        {
          g_set_error (error, CONVNET_ERROR, CONVNET_ERROR_ARGUMENT,
                       "%s: explain takes a batch of 1, the array has %"
                       G_GINT64_FORMAT, npy, shape[0]);
          goto fail;
        }
      *m = cli_load_model (model, weights, (int) shape[2], (int) shape[3],
                           error);
      if (!*m)
        goto fail;
      in = convnet_graph_input_shape ((*m)->graph);
      if (shape[1] != in.c)
        {
          g_set_error (error, CONVNET_ERROR, CONVNET_ERROR_ARGUMENT,
                       "%s: %s takes %d input channels, the array has %"
                       G_GINT64_FORMAT, npy, (*m)->arch, in.c, shape[1]);
          goto fail;
        }
      return data;
    }

  *m = cli_load_model (model, weights, 0, 0, error);
  if (!*m)
    return NULL;
  image = convnet_image_load (image_path, error);
  if (!image)
    return NULL;
  in = convnet_graph_input_shape ((*m)->graph);
  data = g_new (float, (gsize) in.c * in.h * in.w);
  if (!convnet_preprocess_image (&(*m)->preprocess, image, data, error))
    g_clear_pointer (&data, g_free);
  convnet_image_free (image);
  return data;

fail:
  g_free (data);
  return NULL;
}

int
cmd_explain (int argc, char **argv)
{
  char *model = NULL, *weights = NULL, *npy = NULL, *output = NULL;
  char *upsampled = NULL, *node = NULL;
  int class_index = -1, threads = 0;
  GOptionEntry entries[] = {
    { "model", 'm', 0, G_OPTION_ARG_STRING, &model, "architecture", "MODEL" },
    { "weights", 'w', 0, G_OPTION_ARG_FILENAME, &weights, "checkpoint", "FILE" },
    { "input", 'i', 0, G_OPTION_ARG_FILENAME, &npy,
      "float32 1 x C x H x W, preprocessed (instead of IMAGE)", "IN.npy" },
    { "class", 'c', 0, G_OPTION_ARG_INT, &class_index,
      "class to explain (the top class)", "K" },
    { "node", 'n', 0, G_OPTION_ARG_STRING, &node,
      "convolutional node (the last block)", "NODE" },
    { "output", 'o', 0, G_OPTION_ARG_FILENAME, &output,
      "the map at the node's resolution, H x W", "CAM.npy" },
    { "upsampled", 'u', 0, G_OPTION_ARG_FILENAME, &upsampled,
      "also the map resized (bilinear) to the network input's H x W; it "
      "covers only the part of IMAGE the network sees (for ImageNet models "
      "the centre crop of IMAGE resized to 256 on its shorter side)",
      "UP.npy" },
    { "threads", 't', 0, G_OPTION_ARG_INT, &threads, "BLAS threads", "T" },
    { 0 }
  };
  GOptionContext *context
    = g_option_context_new ("[IMAGE] - Grad-CAM map of a class");
  GError *error = NULL;
  ConvnetModel *m = NULL;
  float *input = NULL, *cam = NULL, *big = NULL;
  int status = 1, h, w;
  int64_t shape[2];
  ConvnetShape in;

  g_option_context_add_main_entries (context, entries, NULL);
  if (!cli_parse (context, &argc, &argv))
    return 1;
  g_option_context_free (context);
  if (!weights || !output)
    return cli_fail ("explain needs --weights and --output (and --model for "
                     "a torchvision checkpoint)");
  if ((npy != NULL) == (argc == 2) || argc > 2)
    return cli_fail ("explain needs one IMAGE or --input IN.npy");
  if (class_index < -1)
    return cli_fail ("--class must be a class index, got %d", class_index);
  convnet_set_threads (threads);

  input = explain_input (model, weights, npy, npy ? NULL : argv[1], &m,
                         &error);
  if (!input)
    goto out;
  if (!convnet_gradcam (m, input, node, &class_index, &cam, &h, &w, &error))
    goto out;
  shape[0] = h;
  shape[1] = w;
  if (!convnet_npy_write (output, 2, shape, cam, &error))
    goto out;
  if (upsampled)
    {
      in = convnet_graph_input_shape (m->graph);
      big = g_new (float, (gsize) in.h * in.w);
      convnet_resize_plane (cam, w, h, big, in.w, in.h);
      shape[0] = in.h;
      shape[1] = in.w;
      if (!convnet_npy_write (upsampled, 2, shape, big, &error))
        goto out;
    }
  printf ("class %d (%s), node %s: %d x %d\n", class_index,
          m->labels[class_index],
          node ? node : convnet_arch_lookup (m->arch)->cam_node, h, w);
  status = 0;

out:
  if (error)
    status = cli_fail_error (error);
  convnet_model_free (m);
  g_free (input);
  g_free (cam);
  g_free (big);
  g_free (model);
  g_free (weights);
  g_free (npy);
  g_free (output);
  g_free (upsampled);
  g_free (node);
  return status;
}
