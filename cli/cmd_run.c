/* cmd_run.c: `convnet run`, the parity interface: a preprocessed float32
 * NCHW batch in, the logits or one node's activation out, as .npy. */
#include "cli.h"

int
cmd_run (int argc, char **argv)
{
  char *model = NULL, *weights = NULL, *input = NULL, *output = NULL;
  char *layer = NULL;
  int threads = 0;
  GOptionEntry entries[] = {
    { "model", 'm', 0, G_OPTION_ARG_STRING, &model, "architecture", "MODEL" },
    { "weights", 'w', 0, G_OPTION_ARG_FILENAME, &weights, "checkpoint", "FILE" },
    { "input", 'i', 0, G_OPTION_ARG_FILENAME, &input,
      "float32 NCHW batch, preprocessed", "IN.npy" },
    { "output", 'o', 0, G_OPTION_ARG_FILENAME, &output, "where to write",
      "OUT.npy" },
    { "layer", 'l', 0, G_OPTION_ARG_STRING, &layer,
      "write this node's activation instead of the logits", "NODE" },
    { "threads", 't', 0, G_OPTION_ARG_INT, &threads, "BLAS threads", "T" },
    { 0 }
  };
  GOptionContext *context = g_option_context_new ("- run a preprocessed batch");
  GError *error = NULL;
  ConvnetModel *m = NULL;
  ConvnetGraph *g = NULL;
  int ndim, status = 1;
  int64_t shape[CONVNET_MAX_DIMS], out_shape[4];
  float *data = NULL;
  const float *result;
  ConvnetShape in, out;
  int out_ndim;

  g_option_context_add_main_entries (context, entries, NULL);
  if (!cli_parse (context, &argc, &argv))
    return 1;
  g_option_context_free (context);
  if (!weights || !input || !output)
    return cli_fail ("run needs --weights, --input and --output (and --model "
                     "for a torchvision checkpoint)");
  convnet_set_threads (threads);

  if (!convnet_npy_read (input, &ndim, shape, &data, &error))
    goto fail;
  if (ndim != 4 || shape[0] < 1 || shape[0] > G_MAXINT
      || shape[2] > G_MAXINT || shape[3] > G_MAXINT)
    {
      g_set_error (&error, CONVNET_ERROR, CONVNET_ERROR_ARGUMENT,
                   "%s: expected a 4-D N x C x H x W array", input);
      goto fail;
    }
  m = cli_load_model (model, weights, (int) shape[2], (int) shape[3], &error);
  if (!m)
    goto fail;
  g = m->graph;
  in = convnet_graph_input_shape (g);
  if (shape[1] != in.c)
    {
      g_set_error (&error, CONVNET_ERROR, CONVNET_ERROR_ARGUMENT,
                   "%s: %s takes %d input channels, the array has %"
                   G_GINT64_FORMAT, input, m->arch, in.c, shape[1]);
      goto fail;
    }
  if (layer && !convnet_graph_retain (g, layer, &error))
    goto fail;
  if (!convnet_graph_forward (g, data, (int) shape[0], &error))
    goto fail;

  if (layer)
    {
      const ConvnetNodeInfo *info = convnet_graph_lookup (g, layer);
      result = convnet_graph_activation (g, layer, &out, &error);
      if (!result)
        goto fail;
      out_ndim = info->flat ? 2 : 4;
    }
  else
    {
      result = convnet_graph_output (g);
      out = convnet_graph_output_shape (g);
      out_ndim = 2;
    }
  out_shape[0] = shape[0];
  out_shape[1] = out.c;
  out_shape[2] = out.h;
  out_shape[3] = out.w;
  if (!convnet_npy_write (output, out_ndim, out_shape, result, &error))
    goto fail;
  status = 0;

fail:
  if (error)
    status = cli_fail_error (error);
  convnet_model_free (m);
  g_free (data);
  g_free (model);
  g_free (weights);
  g_free (input);
  g_free (output);
  g_free (layer);
  return status;
}
