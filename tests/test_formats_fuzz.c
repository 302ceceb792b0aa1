/* test_formats_fuzz.c: the readers on damaged copies of the good
 * fixtures.  Every truncation must be refused; random byte changes may be
 * accepted or refused, but never crash or read outside the file (run under
 * AddressSanitizer to check the latter), and a refusal must be a
 * CONVNET_ERROR naming the file. */
#include <stdlib.h>
#include <string.h>

#include <json-glib/json-glib.h>
#include <glib/gstdio.h>

#include "convnet.h"

static char *weights_dir;
static char *work_dir;
static int rounds = 400;   /* $CONVNET_FUZZ_ROUNDS for a longer run */

typedef struct
{
  char    *file;
  gboolean npy;
} Fixture;

static GPtrArray *fixtures;   /* every Fixture, each shared by two tests */

static void
fixture_free (gpointer data)
{
  Fixture *fx = data;

  g_free (fx->file);
  g_free (fx);
}

/* Opens PATH and, if that works, converts every tensor.  Returns whether
 * it opened. */
static gboolean
try_open (const char *path,
          gboolean    npy)
{
  GError *error = NULL;
  gboolean ok;

  if (npy)
    {
      int64_t shape[CONVNET_MAX_DIMS];
      float *values = NULL;
      int ndim;

      ok = convnet_npy_read (path, &ndim, shape, &values, &error);
      g_free (values);
    }
  else
    {
      ConvnetWeightFile *file = convnet_weight_file_open (path, &error);

      ok = file != NULL;
      for (guint i = 0; ok && i < convnet_weight_file_n_tensors (file); i++)
        {
          const ConvnetTensorEntry *e = convnet_weight_file_tensor (file, i);
          gsize n = convnet_tensor_entry_numel (e);
          float *values = g_try_new (float, MAX (n, 1));

          g_assert_nonnull (values);
          g_assert_true (convnet_tensor_entry_to_f32 (e, values, n, NULL));
          g_free (values);
        }
      convnet_weight_file_free (file);
    }
  if (!ok)
    {
      g_assert_nonnull (error);
      g_assert_true (error->domain == CONVNET_ERROR);
      g_assert_nonnull (strstr (error->message, path));
      g_error_free (error);
    }
  return ok;
}

static void
put (const char   *path,
     const guint8 *data,
     gsize         len)
{
  GError *error = NULL;

  /* No fsync: thousands of copies are written, and none must survive. */
  g_file_set_contents_full (path, (const char *) data, len,
                            G_FILE_SET_CONTENTS_NONE, 0644, &error);
  g_assert_no_error (error);
}

static void
test_truncated (gconstpointer data)
{
  const Fixture *fx = data;
  char *src = g_build_filename (weights_dir, fx->file, NULL);
  char *dst = g_build_filename (work_dir, fx->npy ? "cut.npy" : "cut.bin",
                                NULL);
  char *contents;
  gsize len;

  g_assert_true (g_file_get_contents (src, &contents, &len, NULL));
  g_assert_true (try_open (src, fx->npy));
  /* Every length near either end, a sample in between. */
  for (gsize cut = 0; cut < len; cut += (cut < 256 || len - cut < 256) ? 1
                                          : 1 + len / 300)
    {
      put (dst, (const guint8 *) contents, cut);
      if (try_open (dst, fx->npy))
        g_test_fail_printf ("%s cut to %" G_GSIZE_FORMAT " bytes opened",
                            fx->file, cut);
    }
  g_unlink (dst);
  g_free (contents);
  g_free (dst);
  g_free (src);
}

static void
test_corrupted (gconstpointer data)
{
  const Fixture *fx = data;
  char *src = g_build_filename (weights_dir, fx->file, NULL);
  char *dst = g_build_filename (work_dir, fx->npy ? "bad.npy" : "bad.bin",
                                NULL);
  GRand *rand = g_rand_new_with_seed (g_str_hash (fx->file));
  guint8 *copy;
  char *contents;
  gsize len;
  guint opened = 0;

  g_assert_true (g_file_get_contents (src, &contents, &len, NULL));
  copy = g_malloc (len);
  for (int round = 0; round < rounds; round++)
    {
      int changes = g_rand_int_range (rand, 1, 5);

      memcpy (copy, contents, len);
      for (int c = 0; c < changes; c++)
        {
          gsize at = g_rand_int_range (rand, 0, (gint32) len);

          /* Small integers and 0xff are what sizes and counts are made of. */
          switch (g_rand_int_range (rand, 0, 4))
            {
            case 0: copy[at] = 0xff; break;
            case 1: copy[at] ^= 1u << g_rand_int_range (rand, 0, 8); break;
            case 2: copy[at] = 0; break;
            default: copy[at] = g_rand_int_range (rand, 0, 256); break;
            }
        }
      put (dst, copy, len);
      opened += try_open (dst, fx->npy);
    }
  g_test_message ("%s: %u of %d damaged copies opened", fx->file, opened,
                  rounds);
  g_unlink (dst);
  g_rand_free (rand);
  g_free (copy);
  g_free (contents);
  g_free (dst);
  g_free (src);
}

/* Mutants of a valid state_dict program: the state_dict pickle of a
 * legacy file whose storage '0' holds six floats, with a few of its
 * opcodes replaced, dropped, repeated or joined by random ones.  They reach
 * REDUCE, BINPERSID and the tensor checks far more often than byte flips
 * of a whole file do. */
static const char *template_ops[] = {
  "}", "\x8c\x01w", "ctorch._utils\n_rebuild_tensor_v2\n", "(", "(",
  "\x8c\x07storage", "ctorch\nFloatStorage\n", "\x8c\x01\x30",
  "\x8c\x03\x63pu", "K\x06", "N", "t", "Q", "K\x01", "K\x02", "K\x02",
  "\x86", "K\x02", "K\x01", "\x86", "\x89", "ccollections\nOrderedDict\n",
  ")", "R", "t", "R", "s",
};

/* A random opcode with plausible arguments. */
static GBytes *
random_op (GRand *rand)
{
  static const char *fixed[] = {
    "(", "0", "1", "2", "}", ")", "]", "\x85", "\x86", "\x87", "t", "l", "d",
    "N", "\x88", "\x89", "R", "b", "Q", "\x81", "s", "u", "a", "e", "\x94",
    "\x93", "K\x00", "K\x01", "K\x06", "K\xff", "q\x00", "h\x00", "q\x01",
    "h\x01", "\x8c\x01\x30", "\x8c\x07storage", "\x8c\x0astate_dict",
    "ctorch\nHalfStorage\n", "ctorch._utils\n_rebuild_parameter\n",
    "ctorch._utils\n_rebuild_tensor\n",
  };
  guint8 op[10];

  switch (g_rand_int_range (rand, 0, 4))
    {
    case 0:
      /* LONG1 of 8 random bytes: huge or negative sizes and strides */
      op[0] = 0x8a;
      op[1] = 8;
      for (int i = 2; i < 10; i++)
        op[i] = (guint8) g_rand_int_range (rand, 0, 256);
      return g_bytes_new (op, 10);
    case 1:
      op[0] = 'J';
      for (int i = 1; i < 5; i++)
        op[i] = (guint8) g_rand_int_range (rand, 0, 256);
      return g_bytes_new (op, 5);
    case 2:
      op[0] = (guint8) g_rand_int_range (rand, 0, 256);
      return g_bytes_new (op, 1);
    default:
      {
        const char *f = fixed[g_rand_int_range (rand, 0, G_N_ELEMENTS (fixed))];

        /* strlen stops at the NUL of "K\x00"; those are two bytes */
        return g_bytes_new (f, f[0] == 'K' || f[0] == 'q' || f[0] == 'h'
                               ? 2 : strlen (f));
      }
    }
}

static void
test_pickle_mutants (void)
{
  static const guint8 header[] =
    "\x80\x02\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19."
    "\x80\x02M\xe9\x03.\x80\x02}.\x80\x02";
  static const guint8 tail[] = ".\x80\x02]X\x01\x00\x00\x00" "0a."
                               "\x06\0\0\0\0\0\0\0";
  char *path = g_build_filename (work_dir, "mutant.pth", NULL);
  GRand *rand = g_rand_new_with_seed (20240229);
  float six[6] = { 1, 2, 3, 4, 5, 6 };
  guint opened = 0;

  for (int round = 0; round < rounds * 10; round++)
    {
      GPtrArray *ops = g_ptr_array_new_with_free_func (
        (GDestroyNotify) g_bytes_unref);
      GByteArray *b = g_byte_array_new ();
      int mutations = round == 0 ? 0 : g_rand_int_range (rand, 1, 4);

      for (guint i = 0; i < G_N_ELEMENTS (template_ops); i++)
        g_ptr_array_add (ops, g_bytes_new_static (template_ops[i],
                                                  strlen (template_ops[i])));
      for (int m = 0; m < mutations; m++)
        {
          guint at = g_rand_int_range (rand, 0, ops->len);

          switch (g_rand_int_range (rand, 0, 4))
            {
            case 0: g_ptr_array_remove_index (ops, at); break;
            case 1: g_ptr_array_insert (ops, at, random_op (rand)); break;
            case 2:
              g_ptr_array_insert (ops, at, g_bytes_ref (ops->pdata[at]));
              break;
            default:
              g_bytes_unref (ops->pdata[at]);
              ops->pdata[at] = random_op (rand);
              break;
            }
        }
      g_byte_array_append (b, header, sizeof header - 1);
      for (guint i = 0; i < ops->len; i++)
        {
          gsize len;
          const guint8 *d = g_bytes_get_data (ops->pdata[i], &len);

          g_byte_array_append (b, d, len);
        }
      g_byte_array_append (b, tail, sizeof tail - 1);
      g_byte_array_append (b, (const guint8 *) six, sizeof six);
      put (path, b->data, b->len);
      if (try_open (path, FALSE))
        opened++;
      else if (round == 0)
        g_test_fail_printf ("the unmutated program does not open");
      g_byte_array_unref (b);
      g_ptr_array_unref (ops);
    }
  g_test_message ("%u of %d programs opened", opened, rounds * 10);
  g_unlink (path);
  g_rand_free (rand);
  g_free (path);
}

static void
add (JsonArray *items,
     gboolean   npy)
{
  for (guint i = 0; i < json_array_get_length (items); i++)
    {
      JsonObject *item = json_array_get_object_element (items, i);
      Fixture *fx = g_new0 (Fixture, 1);
      char *name;

      fx->file = g_strdup (json_object_get_string_member (item, "file"));
      fx->npy = npy;
      g_ptr_array_add (fixtures, fx);
      name = g_strdup_printf ("/formats/fuzz/truncated/%s", fx->file);
      g_test_add_data_func (name, fx, test_truncated);
      g_free (name);
      name = g_strdup_printf ("/formats/fuzz/corrupted/%s", fx->file);
      g_test_add_data_func (name, fx, test_corrupted);
      g_free (name);
    }
}

int
main (int   argc,
      char *argv[])
{
  JsonParser *parser = json_parser_new ();
  const char *dir = g_getenv ("CONVNET_FIXTURES");
  JsonObject *manifest;
  GError *error = NULL;
  char *path;
  int status;

  g_test_init (&argc, &argv, NULL);
  if (g_getenv ("CONVNET_FUZZ_ROUNDS") != NULL)
    rounds = MAX (1, atoi (g_getenv ("CONVNET_FUZZ_ROUNDS")));
  weights_dir = dir != NULL ? g_build_filename (dir, "weights", NULL)
                            : g_test_build_filename (G_TEST_DIST, "fixtures",
                                                     "weights", NULL);
  work_dir = g_dir_make_tmp ("convnet-fuzz-XXXXXX", &error);
  g_assert_no_error (error);
  path = g_build_filename (weights_dir, "manifest.json", NULL);
  if (!json_parser_load_from_file (parser, path, &error))
    g_error ("%s", error->message);
  fixtures = g_ptr_array_new_with_free_func (fixture_free);
  manifest = json_node_get_object (json_parser_get_root (parser));
  add (json_object_get_array_member (manifest, "good"), FALSE);
  add (json_object_get_array_member (manifest, "npy"), TRUE);
  g_test_add_func ("/formats/fuzz/pickle-mutants", test_pickle_mutants);

  status = g_test_run ();
  g_ptr_array_unref (fixtures);
  g_rmdir (work_dir);
  g_free (work_dir);
  g_free (path);
  g_object_unref (parser);
  g_free (weights_dir);
  return status;
}
