/* op_case.c: an op configured from JSON settings, run forward and
 * backward through ops/ops.h (op_case.h). */
#include "op_case.h"

#include <math.h>
#include <string.h>

static const char *const op_kind_names[N_KINDS] = {
  "conv2d", "maxpool2d", "avgpool2d", "adaptive_avgpool2d", "batchnorm2d",
  "batchnorm2d_train", "relu", "sigmoid", "tanh", "linear", "softmax", "lrn",
  "concat", "add", "channel_affine", "cross_entropy", "dropout"
};

static int
get_int (const Op *op, const char *key, int fallback)
{
  return json_object_has_member (op->settings, key)
         ? (int) json_object_get_int_member (op->settings, key) : fallback;
}

static double
get_double (const Op *op, const char *key)
{
  return json_object_get_double_member (op->settings, key);
}

static gboolean
get_bool (const Op *op, const char *key)
{
  return json_object_has_member (op->settings, key)
         && json_object_get_boolean_member (op->settings, key);
}

static void
add_tensor (Op *op, const char *role, gsize len)
{
  g_assert_cmpint (op->n_t, <, MAX_T);
  g_strlcpy (op->role[op->n_t], role, sizeof op->role[0]);
  op->len[op->n_t] = len;
  op->t[op->n_t] = g_new0 (float, MAX (len, 1));
  op->n_t++;
}

void
op_layout (Op *op)
{
  const char *kind = json_object_get_string_member (op->settings, "op");
  const gsize hw = (gsize) op->h * op->w;
  const gsize nx = (gsize) op->n * op->c * hw;
  const gboolean bias = get_bool (op, "bias");

  op->kind = N_KINDS;
  for (int k = 0; k < N_KINDS; k++)
    if (strcmp (kind, op_kind_names[k]) == 0)
      op->kind = k;
  g_assert_cmpint (op->kind, <, N_KINDS);

  if (op->kind == K_CONV || op->kind == K_MAXPOOL || op->kind == K_AVGPOOL)
    {
      const int k = get_int (op, "kernel", 1), s = get_int (op, "stride", 1);
      const int p = get_int (op, "padding", 0), d = get_int (op, "dilation", 1);
      const gboolean ceil = get_bool (op, "ceil_mode");
      op->geo = (ConvGeometry) {
        .c_in = op->c, .h_in = op->h, .w_in = op->w,
        .c_out = op->kind == K_CONV ? get_int (op, "out_channels", 0) : op->c,
        .kh = k, .kw = k, .sh = s, .sw = s, .ph = p, .pw = p, .dh = d, .dw = d,
        .groups = get_int (op, "groups", 1)
      };
      op->geo.h_out = window_output_size (op->h, k, s, p, d, ceil);
      op->geo.w_out = window_output_size (op->w, k, s, p, d, ceil);
      op->n_out = (gsize) op->n * op->geo.c_out * op->geo.h_out * op->geo.w_out;
    }
  else
    op->n_out = nx;

  if (op->kind != K_CONCAT && op->kind != K_ADD)
    add_tensor (op, "x", nx);
  if (op->kind == K_BN || op->kind == K_BN_TRAIN || op->kind == K_AFFINE)
    {
      op->consts[0] = g_new0 (float, op->c);
      op->consts[1] = g_new0 (float, op->c);
    }
  switch (op->kind)
    {
    case K_CONV:
      add_tensor (op, "weight", (gsize) op->geo.c_out * op->c / op->geo.groups
                                * op->geo.kh * op->geo.kw);
      if (bias)
        add_tensor (op, "bias", op->geo.c_out);
      op->scratch = g_new (float, MAX (conv2d_scratch_floats (&op->geo),
                                       conv2d_backward_scratch_floats (&op->geo))
                                  + 1);
      break;
    case K_ADAPTIVE:
      op->out_h = get_int (op, "out_h", 1);
      op->out_w = get_int (op, "out_w", 1);
      op->n_out = (gsize) op->n * op->c * op->out_h * op->out_w;
      break;
    case K_BN:
    case K_BN_TRAIN:
      add_tensor (op, "weight", op->c);
      add_tensor (op, "bias", op->c);
      op->saved[0] = g_new0 (float, op->c);
      op->saved[1] = g_new0 (float, op->c);
      break;
    case K_LINEAR:
      op->out_features = get_int (op, "out_features", 1);
      op->n_out = (gsize) op->n * op->out_features;
      add_tensor (op, "weight", (gsize) op->out_features * op->c);
      if (bias)
        add_tensor (op, "bias", op->out_features);
      break;
    case K_CONCAT:
      {
        JsonArray *a = json_object_get_array_member (op->settings, "channels");
        int total = 0;
        for (guint i = 0; i < json_array_get_length (a); i++)
          {
            char role[8];
            op->channels[i] = (int) json_array_get_int_element (a, i);
            total += op->channels[i];
            g_snprintf (role, sizeof role, "x%u", i);
            add_tensor (op, role, (gsize) op->n * op->channels[i] * hw);
          }
        op->n_out = (gsize) op->n * total * hw;
      }
      break;
    case K_ADD:
      add_tensor (op, "x0", nx);
      add_tensor (op, "x1", nx);
      break;
    case K_CE:
      op->targets = g_new0 (int, op->n);
      op->saved[0] = g_new0 (float, nx);
      op->n_out = 1;
      break;
    case K_DROPOUT:
      op->mask = g_new0 (float, nx);
      break;
    default:
      break;
    }
}

void
op_free (Op *op)
{
  for (int i = 0; i < op->n_t; i++)
    g_free (op->t[i]);
  for (int k = 0; k < 2; k++)
    {
      g_free (op->consts[k]);
      g_free (op->saved[k]);
    }
  g_free (op->mask);
  g_free (op->targets);
  g_free (op->scratch);
  json_object_unref (op->settings);
  g_free (op->name);
  g_free (op);
}

void
op_forward (Op *op, float *out)
{
  float **t = op->t;
  const int hw = op->h * op->w;

  switch (op->kind)
    {
    case K_CONV:
      conv2d_forward (out, t[0], t[1], op->n_t > 2 ? t[2] : NULL, op->n,
                      &op->geo, op->scratch);
      break;
    case K_MAXPOOL:
      maxpool2d_forward (out, t[0], op->n, &op->geo);
      break;
    case K_AVGPOOL:
      avgpool2d_forward (out, t[0], op->n, &op->geo,
                         get_bool (op, "count_include_pad"));
      break;
    case K_ADAPTIVE:
      adaptive_avgpool2d_forward (out, t[0], op->n, op->c, op->h, op->w,
                                  op->out_h, op->out_w);
      break;
    case K_BN:
      batchnorm2d_forward_inference (out, t[0], t[1], t[2], op->consts[0],
                                     op->consts[1], get_double (op, "eps"),
                                     op->n, op->c, hw);
      break;
    case K_BN_TRAIN:
      batchnorm2d_forward_train (out, op->saved[0], op->saved[1], t[0], t[1],
                                 t[2], NULL, NULL, 0.1f, get_double (op, "eps"),
                                 op->n, op->c, hw);
      break;
    case K_RELU:
      relu_forward (out, t[0], op->n_out);
      break;
    case K_SIGMOID:
      sigmoid_forward (out, t[0], op->n_out);
      break;
    case K_TANH:
      tanh_forward (out, t[0], op->n_out);
      break;
    case K_LINEAR:
      linear_forward (out, t[0], t[1], op->n_t > 2 ? t[2] : NULL, op->n,
                      op->c, op->out_features);
      break;
    case K_SOFTMAX:
      softmax_forward (out, t[0], op->n, op->c, hw);
      break;
    case K_LRN:
      lrn_forward (out, t[0], op->n, op->c, hw, get_int (op, "size", 1),
                   get_double (op, "alpha"), get_double (op, "beta"),
                   get_double (op, "k"));
      break;
    case K_CONCAT:
      concat_forward (out, (const float *const *) t, op->channels, op->n_t,
                      op->n, hw);
      break;
    case K_ADD:
      add_forward (out, t[0], t[1], op->n_out);
      break;
    case K_AFFINE:
      channel_affine_forward (out, t[0], op->consts[0], op->consts[1], op->n,
                              op->c, hw);
      break;
    case K_CE:
      out[0] = softmax_cross_entropy_forward (op->saved[0], t[0], op->targets,
                                              op->n,
                                              op->c,
                                              get_double (op, "label_smoothing"));
      break;
    case K_DROPOUT:
      {
        /* the same seed every time: the same mask */
        ConvnetRng rng;
        convnet_rng_seed (&rng, 1234);
        dropout_forward_train (out, op->mask, t[0], op->len[0],
                               get_double (op, "p"), &rng);
      }
      break;
    default:
      g_assert_not_reached ();
    }
}

void
op_backward (Op *op, const float *dy, float **g)
{
  float **t = op->t;
  const int hw = op->h * op->w;
  float *y = g_new (float, op->n_out);

  if (!op->mask_given)
    op_forward (op, y);

  switch (op->kind)
    {
    case K_CONV:
      conv2d_backward (g[0], g[1], op->n_t > 2 ? g[2] : NULL, dy, t[0], t[1],
                       op->n, &op->geo, op->scratch);
      break;
    case K_MAXPOOL:
      maxpool2d_backward (g[0], dy, t[0], op->n, &op->geo);
      break;
    case K_AVGPOOL:
      avgpool2d_backward (g[0], dy, op->n, &op->geo,
                          get_bool (op, "count_include_pad"));
      break;
    case K_ADAPTIVE:
      adaptive_avgpool2d_backward (g[0], dy, op->n, op->c, op->h, op->w,
                                   op->out_h, op->out_w);
      break;
    case K_BN:
      batchnorm2d_backward_inference (g[0], g[1], g[2], dy, t[0], t[1],
                                      op->consts[0], op->consts[1],
                                      get_double (op, "eps"), op->n, op->c, hw);
      break;
    case K_BN_TRAIN:
      batchnorm2d_backward (g[0], g[1], g[2], dy, t[0], t[1], op->saved[0],
                            op->saved[1], op->n, op->c, hw);
      break;
    case K_RELU:
      relu_backward (g[0], dy, y, op->n_out);
      break;
    case K_SIGMOID:
      sigmoid_backward (g[0], dy, y, op->n_out);
      break;
    case K_TANH:
      tanh_backward (g[0], dy, y, op->n_out);
      break;
    case K_LINEAR:
      linear_backward (g[0], g[1], op->n_t > 2 ? g[2] : NULL, dy, t[0], t[1],
                       op->n, op->c, op->out_features);
      break;
    case K_SOFTMAX:
      softmax_backward (g[0], dy, y, op->n, op->c, hw);
      break;
    case K_LRN:
      lrn_backward (g[0], dy, t[0], op->n, op->c, hw, get_int (op, "size", 1),
                    get_double (op, "alpha"), get_double (op, "beta"),
                    get_double (op, "k"));
      break;
    case K_CONCAT:
      concat_backward (g, op->channels, op->n_t, dy, op->n, hw);
      break;
    case K_ADD:
      add_backward (g[0], g[1], dy, op->n_out);
      break;
    case K_AFFINE:
      channel_affine_backward (g[0], dy, op->consts[0], op->n, op->c, hw);
      break;
    case K_CE:
      g_assert_cmpfloat (dy[0], ==, 1.0f);
      softmax_cross_entropy_backward (g[0], op->saved[0], op->targets, op->n,
                                      op->c, get_double (op, "label_smoothing"));
      break;
    case K_DROPOUT:
      dropout_backward (g[0], dy, op->mask, op->len[0]);
      break;
    default:
      g_assert_not_reached ();
    }
  g_free (y);
}

Op *
op_new (const char *name, const char *json)
{
  Op *op = g_new0 (Op, 1);
  JsonParser *p = json_parser_new ();
  GError *error = NULL;

  op->name = g_strdup (name);
  g_assert_true (json_parser_load_from_data (p, json, -1, &error));
  g_assert_no_error (error);
  op->settings = json_object_ref (json_node_get_object (json_parser_get_root (p)));
  g_object_unref (p);
  return op;
}


float **
new_grads (const Op *op)
{
  float **g = g_new0 (float *, MAX_T);

  for (int i = 0; i < op->n_t; i++)
    g[i] = g_new0 (float, MAX (op->len[i], 1));
  return g;
}

void
free_grads (float **g)
{
  for (int i = 0; i < MAX_T; i++)
    g_free (g[i]);
  g_free (g);
}
