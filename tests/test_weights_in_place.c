/* test_weights_in_place.c: float32 tensors used where they lie in the
 * weights file's mapping (torch zip, aligned safetensors) against copies
 * (misaligned, F16, tensors sharing bytes): the same values and outputs,
 * writes that stay in one graph and off the file, a second load over the
 * first, and training with the same results. */
#include "graph.h"
#include "train/train.h"
#include "test_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *
fixture (const char *name)
{
  return g_build_filename (g_getenv ("CONVNET_FIXTURES"), "models", name,
                           NULL);
}

static ConvnetGraph *
build (const char *arch, int h, int w)
{
  GError *error = NULL;
  ConvnetGraph *g = convnet_model_build (arch, 0, h, w, &error);

  g_assert_no_error (error);
  g_assert_nonnull (g);
  return g;
}

/* The mappings of the file PATH in this process (/proc/self/maps), and
 * whether ADDRESS lies in a private one, as a parameter used in place
 * from that file does. */
static guint
mappings_of (const char *path, const void *address, gboolean *in_private)
{
  char *real = realpath (path, NULL), *maps = NULL;
  char **lines;
  guint n = 0;

  g_assert_nonnull (real);
  g_assert_true (g_file_get_contents ("/proc/self/maps", &maps, NULL, NULL));
  lines = g_strsplit (maps, "\n", -1);
  if (in_private)
    *in_private = FALSE;
  for (char **l = lines; *l; l++)
    {
      guintptr start, end;
      char perms[5];
      int name_at = 0;

      if (sscanf (*l, "%" G_GINTPTR_MODIFIER "x-%" G_GINTPTR_MODIFIER
                  "x %4s %*s %*s %*s %n", &start, &end, perms, &name_at) < 3
          || name_at == 0 || strcmp (g_strstrip (*l + name_at), real) != 0)
        continue;
      n++;
      if (in_private && perms[3] == 'p' && (guintptr) address >= start
          && (guintptr) address < end)
        *in_private = TRUE;
    }
  g_strfreev (lines);
  g_free (maps);
  free (real);
  return n;
}

static gboolean
in_mapping_of (const ConvnetParam *p, const char *path)
{
  gboolean in_private;

  mappings_of (path, p->data, &in_private);
  return in_private;
}

static gsize
param_numel (const ConvnetParam *p)
{
  gsize n = 1;

  for (int d = 0; d < p->ndim; d++)
    n *= p->shape[d];
  return n;
}

/* Every parameter of G, concatenated. */
static float *
param_values (const ConvnetGraph *g, gsize *total)
{
  GArray *all = g_array_new (FALSE, FALSE, sizeof (float));

  for (guint i = 0; i < convnet_graph_n_params (g); i++)
    {
      const ConvnetParam *p = convnet_graph_param (g, i);
      g_array_append_vals (all, p->data, param_numel (p));
    }
  *total = all->len;
  return (float *) g_array_free (all, FALSE);
}

static void
assert_same_params (const ConvnetGraph *g, const float *want, gsize n)
{
  gsize got_n;
  float *got = param_values (g, &got_n);

  g_assert_cmpuint (got_n, ==, n);
  g_assert_cmpmem (got, n * sizeof (float), want, n * sizeof (float));
  g_free (got);
}

static ConvnetGraph *
load_lenet5 (const char *path)
{
  GError *error = NULL;
  ConvnetGraph *g = build ("lenet5", 0, 0);

  convnet_graph_load_weights (g, path, &error);
  g_assert_no_error (error);
  return g;
}

/* The halves an F16 file holds, cycled, and the floats they stand for. */
static const guint16 halves[] = { 0x3c00, 0xbc00, 0x3800, 0x0001, 0x7bff,
                                  0xb400 };
static const float halves_as_floats[] = { 1.0f, -1.0f, 0.5f, 0x1p-24f,
                                          65504.0f, -0.25f };

/* Writes a safetensors file named NAME in DIR with SOURCE's parameters:
 * float32 values times SCALE, or the halves above; its data starts SHIFT
 * bytes past a multiple of 8 (0: aligned as writers make it). */
static char *
write_safetensors (const char *dir, const char *name,
                   const ConvnetGraph *source, float scale, gboolean half,
                   int shift)
{
  GString *header = g_string_new ("{");
  GByteArray *data = g_byte_array_new ();
  char *path = g_build_filename (dir, name, NULL);
  guint64 header_len;
  GError *error = NULL;
  GByteArray *out;

  for (guint i = 0; i < convnet_graph_n_params (source); i++)
    {
      const ConvnetParam *p = convnet_graph_param (source, i);
      guint begin = data->len;

      for (gsize k = 0; k < param_numel (p); k++)
        {
          if (half)
            {
              guint16 h = GUINT16_TO_LE (halves[k % G_N_ELEMENTS (halves)]);
              g_byte_array_append (data, (guint8 *) &h, 2);
            }
          else
            {
              float v = p->data[k] * scale;
              g_byte_array_append (data, (guint8 *) &v, 4);
            }
        }
      g_string_append_printf (header, "%s\"%s\":{\"dtype\":\"%s\",\"shape\":[",
                              i ? "," : "", p->name, half ? "F16" : "F32");
      for (int d = 0; d < p->ndim; d++)
        g_string_append_printf (header, "%s%" G_GINT64_FORMAT, d ? "," : "",
                                p->shape[d]);
      g_string_append_printf (header, "],\"data_offsets\":[%u,%u]}", begin,
                              data->len);
    }
  g_string_append_c (header, '}');
  while (header->len % 8 != (guint) shift)
    g_string_append_c (header, ' ');
  header_len = GUINT64_TO_LE (header->len);
  out = g_byte_array_new ();
  g_byte_array_append (out, (guint8 *) &header_len, 8);
  g_byte_array_append (out, (guint8 *) header->str, header->len);
  g_byte_array_append (out, data->data, data->len);
  g_file_set_contents (path, (char *) out->data, out->len, &error);
  g_assert_no_error (error);
  g_byte_array_unref (out);
  g_byte_array_unref (data);
  g_string_free (header, TRUE);
  return path;
}

static char *
file_checksum (const char *path)
{
  char *contents;
  gsize length;
  char *sum;

  g_assert_true (g_file_get_contents (path, &contents, &length, NULL));
  sum = g_compute_checksum_for_data (G_CHECKSUM_SHA256, (guint8 *) contents,
                                     length);
  g_free (contents);
  return sum;
}

/* lenet5.pth copied into DIR, its parameters (REFERENCE, N floats), and
 * safetensors of them: aligned, misaligned, and misaligned doubled. */
typedef struct
{
  char  *dir;
  char  *pth;
  char  *aligned;
  char  *misaligned;
  char  *doubled;
  float *reference;
  gsize  n;
} InPlaceFiles;

static void
in_place_files_make (InPlaceFiles *f)
{
  char *fixture_path = fixture ("lenet5.pth"), *contents;
  gsize length;
  ConvnetGraph *g;

  f->dir = test_make_folder ("convnet-in-place");
  f->pth = g_build_filename (f->dir, "lenet5.pth", NULL);
  g_assert_true (g_file_get_contents (fixture_path, &contents, &length,
                                      NULL));
  g_assert_true (g_file_set_contents (f->pth, contents, length, NULL));
  g_free (contents);
  g_free (fixture_path);

  g = load_lenet5 (f->pth);
  f->reference = param_values (g, &f->n);
  f->aligned = write_safetensors (f->dir, "aligned.safetensors", g, 1.0f,
                                  FALSE, 0);
  f->misaligned = write_safetensors (f->dir, "misaligned.safetensors", g,
                                     1.0f, FALSE, 2);
  f->doubled = write_safetensors (f->dir, "doubled.safetensors", g, 2.0f,
                                  FALSE, 2);
  convnet_graph_free (g);
}

static void
in_place_files_clear (InPlaceFiles *f)
{
  g_free (f->pth);
  g_free (f->aligned);
  g_free (f->misaligned);
  g_free (f->doubled);
  g_free (f->reference);
  test_remove_folder (f->dir);
}

static const float *
forward_once (ConvnetGraph *g)
{
  float input[28 * 28];
  GError *error = NULL;

  for (int i = 0; i < 28 * 28; i++)
    input[i] = (float) (i % 29) / 29.0f;
  convnet_graph_forward (g, input, 1, &error);
  g_assert_no_error (error);
  return convnet_graph_output (g);
}

/* Float32 tensors of a torch zip and of an aligned safetensors file are
 * used where they lie, with the values a copy gives; a misaligned or F16
 * file is copied and converted. */
static void
test_weights_in_place (void)
{
  InPlaceFiles f;
  const char *mapped[] = { NULL, NULL };
  ConvnetGraph *copied, *g;
  float copied_out[10];
  char *half_path;

  in_place_files_make (&f);
  mapped[0] = f.pth;
  mapped[1] = f.aligned;

  copied = load_lenet5 (f.misaligned);
  for (guint i = 0; i < convnet_graph_n_params (copied); i++)
    g_assert_false (in_mapping_of (convnet_graph_param (copied, i),
                                   f.misaligned));
  assert_same_params (copied, f.reference, f.n);
  memcpy (copied_out, forward_once (copied), sizeof copied_out);

  for (guint m = 0; m < G_N_ELEMENTS (mapped); m++)
    {
      g = load_lenet5 (mapped[m]);
      for (guint i = 0; i < convnet_graph_n_params (g); i++)
        if (!in_mapping_of (convnet_graph_param (g, i), mapped[m]))
          g_error ("%s: %s was copied", mapped[m],
                   convnet_graph_param (g, i)->name);
      assert_same_params (g, f.reference, f.n);
      g_assert_cmpmem (forward_once (g), sizeof copied_out, copied_out,
                       sizeof copied_out);
      convnet_graph_free (g);
      g_assert_cmpuint (mappings_of (mapped[m], NULL, NULL), ==, 0);
    }

  half_path = write_safetensors (f.dir, "half.safetensors", copied, 1.0f,
                                 TRUE, 0);
  g = load_lenet5 (half_path);
  for (guint i = 0; i < convnet_graph_n_params (g); i++)
    {
      const ConvnetParam *p = convnet_graph_param (g, i);

      g_assert_false (in_mapping_of (p, half_path));
      for (gsize k = 0; k < param_numel (p); k++)
        g_assert_cmpfloat (p->data[k], ==,
                           halves_as_floats[k % G_N_ELEMENTS (halves)]);
    }
  convnet_graph_free (g);
  g_free (half_path);
  convnet_graph_free (copied);
  in_place_files_clear (&f);
}

/* Writing into parameters used in place (as a test, init_random or an
 * optimizer does) changes that graph alone: not the file on disk, not
 * another graph loaded from it, not the open file's tensors. */
static void
test_weights_writes_stay_private (void)
{
  InPlaceFiles f;
  const char *paths[2];
  GError *error = NULL;

  in_place_files_make (&f);
  paths[0] = f.pth;
  paths[1] = f.aligned;
  for (guint m = 0; m < G_N_ELEMENTS (paths); m++)
    {
      char *before = file_checksum (paths[m]), *after;
      ConvnetGraph *written = load_lenet5 (paths[m]);
      ConvnetGraph *other = load_lenet5 (paths[m]);
      ConvnetWeightFile *file = convnet_weight_file_open (paths[m], &error);
      ConvnetGraph *randomised = build ("lenet5", 0, 0);
      ConvnetGraph *sibling = build ("lenet5", 0, 0);
      gsize n;
      float *in_file;

      g_assert_no_error (error);
      g_assert_true (convnet_graph_load_weight_file (randomised, file, NULL));
      g_assert_true (convnet_graph_load_weight_file (sibling, file, NULL));
      for (guint i = 0; i < convnet_graph_n_params (written); i++)
        {
          const ConvnetParam *p = convnet_graph_param (written, i);
          g_assert_true (in_mapping_of (p, paths[m]));
          for (gsize k = 0; k < param_numel (p); k++)
            p->data[k] = 7.0f;
        }
      convnet_graph_init_random (randomised, 3);

      assert_same_params (other, f.reference, f.n);
      assert_same_params (sibling, f.reference, f.n);
      in_file = test_tensor_f32 (file, "0.weight", &n, NULL);
      g_assert_cmpmem (in_file, n * sizeof (float), f.reference,
                       n * sizeof (float));
      g_assert_cmpfloat (convnet_graph_param (written, 0)->data[0], ==, 7.0f);
      g_assert_cmpfloat (convnet_graph_param (randomised, 0)->data[0], !=,
                         f.reference[0]);
      after = file_checksum (paths[m]);
      g_assert_cmpstr (after, ==, before);

      g_free (in_file);
      g_free (before);
      g_free (after);
      convnet_weight_file_free (file);
      convnet_graph_free (written);
      convnet_graph_free (other);
      convnet_graph_free (randomised);
      convnet_graph_free (sibling);
    }
  in_place_files_clear (&f);
}

/* A second file replaces the first one's values, whether it is used in
 * place or copied, and lets the first one's mapping go. */
static void
test_weights_second_load (void)
{
  InPlaceFiles f;
  ConvnetGraph *g;
  float *doubled = NULL;
  GError *error = NULL;

  in_place_files_make (&f);
  doubled = g_new (float, f.n);
  for (gsize i = 0; i < f.n; i++)
    doubled[i] = f.reference[i] * 2.0f;

  g = load_lenet5 (f.pth);
  convnet_graph_load_weights (g, f.doubled, &error);
  g_assert_no_error (error);
  assert_same_params (g, doubled, f.n);
  g_assert_cmpuint (mappings_of (f.pth, NULL, NULL), ==, 0);

  convnet_graph_load_weights (g, f.aligned, &error);
  g_assert_no_error (error);
  assert_same_params (g, f.reference, f.n);
  g_assert_true (in_mapping_of (convnet_graph_param (g, 0), f.aligned));

  convnet_graph_load_weights (g, f.pth, &error);
  g_assert_no_error (error);
  assert_same_params (g, f.reference, f.n);
  g_assert_cmpuint (mappings_of (f.aligned, NULL, NULL), ==, 0);
  g_assert_true (in_mapping_of (convnet_graph_param (g, 0), f.pth));

  convnet_graph_free (g);
  g_free (doubled);
  in_place_files_clear (&f);
}

/* Tensors that share bytes in the file (views of one storage) stay
 * apart, as separate copies kept them. */
static void
test_weights_shared_storage_copied (void)
{
  char *path = fixture ("lenet5-shared-storage.pth");
  ConvnetGraph *g = load_lenet5 (path);
  const ConvnetParam *first = convnet_graph_find_param (g, "0.bias");
  const ConvnetParam *second = convnet_graph_find_param (g, "3.bias");
  const float second_1 = second->data[1];

  /* the fixture makes 3.bias[1] the same element as 0.bias[4] */
  g_assert_cmpfloat (first->data[4], ==, second_1);
  g_assert_false (in_mapping_of (first, path));
  g_assert_false (in_mapping_of (second, path));
  g_assert_true (in_mapping_of (convnet_graph_find_param (g, "7.weight"),
                                path));
  first->data[4] = second_1 + 1.0f;
  g_assert_cmpfloat (second->data[1], ==, second_1);
  convnet_graph_free (g);
  g_free (path);
}

/* A small labelled set of LeNet-sized images. */
static ConvnetDataset *
tiny_dataset (void)
{
  ConvnetDataset *d = g_new0 (ConvnetDataset, 1);

  d->n = 16;
  d->n_classes = 10;
  d->images = g_new0 (ConvnetImage *, d->n);
  d->labels = g_new0 (int, d->n);
  d->class_names = g_new0 (char *, d->n_classes + 1);
  for (int c = 0; c < d->n_classes; c++)
    d->class_names[c] = g_strdup_printf ("%d", c);
  for (guint i = 0; i < d->n; i++)
    {
      d->images[i] = convnet_image_new (28, 28, 1);
      for (int k = 0; k < 28 * 28; k++)
        d->images[i]->pixels[k] = (guint8) ((k * (i + 3) + i * 17) % 251);
      d->labels[i] = i % d->n_classes;
    }
  return d;
}

/* Training a model used in place gives bit for bit what training a
 * copied one gives, moving average and best epoch included, and leaves
 * the file alone. */
static void
test_weights_train_after_load (void)
{
  const ConvnetPreprocess pre = { TRUE, 0, 28, 28, { 0.5f, 0.5f, 0.5f },
                                  { 0.5f, 0.5f, 0.5f }, FALSE };
  InPlaceFiles f;
  ConvnetDataset *data = tiny_dataset ();
  GArray *train = g_array_new (FALSE, FALSE, sizeof (guint));
  ConvnetTrainSettings settings;
  float *results[3];
  const char *paths[3];

  in_place_files_make (&f);
  paths[0] = f.misaligned;   /* the copy path, the reference */
  paths[1] = f.pth;
  paths[2] = f.aligned;
  for (guint i = 0; i < data->n; i++)
    g_array_append_val (train, i);
  convnet_train_defaults (&settings);
  settings.epochs = 2;
  settings.batch_size = 4;
  settings.ema_decay = 0.5;
  settings.keep_best_validation = TRUE;
  settings.seed = 11;

  for (guint m = 0; m < G_N_ELEMENTS (paths); m++)
    {
      char *before = file_checksum (paths[m]), *after;
      ConvnetGraph *g = load_lenet5 (paths[m]);
      ConvnetEvaluation eval = { 0 };
      GError *error = NULL;
      gsize n;

      convnet_train (g, &pre, data, train, data, train, &settings, &eval,
                     &error);
      g_assert_no_error (error);
      results[m] = param_values (g, &n);
      g_assert_cmpuint (n, ==, f.n);
      g_assert_cmpmem (results[m], n * sizeof (float), results[0],
                       n * sizeof (float));
      g_assert_false (memcmp (results[m], f.reference, n * sizeof (float))
                      == 0);
      after = file_checksum (paths[m]);
      g_assert_cmpstr (after, ==, before);
      convnet_evaluation_clear (&eval);
      convnet_graph_free (g);
      g_free (before);
      g_free (after);
    }
  for (guint m = 0; m < G_N_ELEMENTS (paths); m++)
    g_free (results[m]);
  g_array_unref (train);
  convnet_dataset_free (data);
  in_place_files_clear (&f);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/weights-in-place/values", test_weights_in_place);
  g_test_add_func ("/weights-in-place/writes-stay-private",
                   test_weights_writes_stay_private);
  g_test_add_func ("/weights-in-place/second-load", test_weights_second_load);
  g_test_add_func ("/weights-in-place/shared-storage-copied",
                   test_weights_shared_storage_copied);
  g_test_add_func ("/weights-in-place/train-after-load",
                   test_weights_train_after_load);
  return g_test_run ();
}
