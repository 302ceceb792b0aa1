/* test_pack_cache.c: packed weights kept on disk between loads
 * (engine/pack_cache.c).  A second load of the same weights file takes
 * every packing from the cache and gives the same outputs to the bit;
 * weights rewritten in place, a damaged cache file, weights changed after
 * the load or a cache that cannot be written never give wrong outputs,
 * and the damaged file is written anew. */
#include "graph.h"
#include "pack_cache.h"
#include "test_util.h"

#include <fcntl.h>
#include <glib/gstdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <utime.h>

/* resnet18_small at 28x28 has Winograd F(4,3) and F(2,3) layers,
 * packed-product ones (the 7x7 and 4x4 maps at batch 1, the strided and
 * 1x1 convolutions) and BatchNorms folded into all of them */
#define ARCH "resnet18_small"
#define SIZE 28
#define CHANNELS 1

typedef struct
{
  char  *cache_dir;
  char  *weights_dir;
  char  *weights;
  float *input;
  gsize  input_floats;
} Fixture;

static ConvnetGraph *
build (void)
{
  GError *error = NULL;
  ConvnetGraph *g = convnet_model_build (ARCH, 0, SIZE, SIZE, &error);

  g_assert_no_error (error);
  return g;
}

/* Writes random weights (SEED) to F's weights file, as a new file. */
static void
write_weights (Fixture *f, guint64 seed)
{
  GError *error = NULL;
  ConvnetGraph *g = build ();
  const int classes = convnet_graph_output_shape (g).c;
  char **labels = g_new0 (char *, classes + 1);

  for (int k = 0; k < classes; k++)
    labels[k] = g_strdup_printf ("class %d", k);
  convnet_graph_init_random (g, seed);
  g_assert_true (convnet_model_save (g, ARCH, (const char *const *) labels,
                                     &convnet_arch_lookup (ARCH)->preprocess,
                                     NULL, f->weights, &error));
  g_assert_no_error (error);
  g_strfreev (labels);
  convnet_graph_free (g);
}

static void
fixture_set_up (Fixture *f, G_GNUC_UNUSED gconstpointer data)
{
  GRand *rand = g_rand_new_with_seed (7);

  f->cache_dir = test_make_folder ("convnet-pack-cache");
  f->weights_dir = test_make_folder ("convnet-pack-weights");
  f->weights = g_build_filename (f->weights_dir, "net.safetensors", NULL);
  g_setenv ("CONVNET_PACK_CACHE", f->cache_dir, TRUE);
  write_weights (f, 1);
  f->input_floats = 2 * CHANNELS * SIZE * SIZE;
  f->input = g_new (float, f->input_floats);
  for (gsize i = 0; i < f->input_floats; i++)
    f->input[i] = (float) g_rand_double_range (rand, -2, 2);
  g_rand_free (rand);
}

static void
fixture_tear_down (Fixture *f, G_GNUC_UNUSED gconstpointer data)
{
  test_remove_folder (f->cache_dir);
  test_remove_folder (f->weights_dir);
  g_free (f->weights);
  g_free (f->input);
  g_unsetenv ("CONVNET_PACK_CACHE");
}

/* A graph with F's weights loaded. */
static ConvnetGraph *
loaded (Fixture *f)
{
  GError *error = NULL;
  ConvnetGraph *g = build ();

  g_assert_true (convnet_graph_load_weights (g, f->weights, &error));
  g_assert_no_error (error);
  return g;
}

/* G's logits for F's input at BATCH, as a new array. */
static float *
logits (Fixture *f, ConvnetGraph *g, int batch)
{
  const gsize n = (gsize) batch * convnet_graph_output_shape (g).c;

  g_assert_true (convnet_graph_forward (g, f->input, batch, NULL));
  return g_memdup2 (convnet_graph_output (g), n * sizeof (float));
}

static void
assert_same (const float *a, const float *b, gsize n)
{
  g_assert_cmpmem (a, n * sizeof (float), b, n * sizeof (float));
}

/* Whether Linear node NODE's weights are read in place from the weights
 * file's mapping. */
static gboolean
linear_in_place (const ConvnetGraph *g, const ConvnetNode *node)
{
  return node->op == CONVNET_OP_LINEAR
         && convnet_graph_param_slot (g, node->first_param)->mapping;
}

/* The entries one plan uses: each packed convolution's weights and bias,
 * counted from its fast nodes, and the weights of each Linear node that
 * reads them in place from the file. */
static guint
expected_entries (const ConvnetGraph *g)
{
  guint n = 0;

  for (guint i = 0; i < g->nodes->len; i++)
    {
      const ConvnetNode *node = convnet_graph_node (g, i);

      if (node->op == CONVNET_OP_CONV2D && node->fast)
        n += 2;
      n += linear_in_place (g, node);
    }
  return n;
}

/* How many Linear nodes of G read their weights from another place than
 * their parameter (the pack cache's copy). */
static guint
linear_from_cache (const ConvnetGraph *g)
{
  guint n = 0;

  for (guint i = 0; i < g->nodes->len; i++)
    {
      const ConvnetNode *node = convnet_graph_node (g, i);

      if (node->op == CONVNET_OP_LINEAR)
        n += convnet_graph_linear_weights (g, node)
             != convnet_graph_param_slot (g, node->first_param)->pub.data;
    }
  return n;
}

/* The only file in F's cache folder. */
static char *
cache_file (Fixture *f)
{
  GDir *dir = g_dir_open (f->cache_dir, 0, NULL);
  const char *name = g_dir_read_name (dir);
  char *path;

  g_assert_nonnull (name);
  g_assert_true (g_str_has_prefix (name, "net.safetensors-"));
  g_assert_true (g_str_has_suffix (name, ".pack"));
  path = g_build_filename (f->cache_dir, name, NULL);
  g_assert_null (g_dir_read_name (dir));
  g_dir_close (dir);
  return path;
}

/* The second load of a file takes every packing from the cache written
 * by the first, and the fully connected weights it reads in place from
 * the file too, and its outputs are the first's to the bit. */
static void
test_reuse (Fixture *f, G_GNUC_UNUSED gconstpointer data)
{
  ConvnetGraph *first = loaded (f), *second;
  float *fresh, *cached;
  const gsize n = 2 * convnet_graph_output_shape (first).c;
  guint entries;

  fresh = logits (f, first, 2);
  g_assert_cmpuint (convnet_pack_cache_hits (first->pack_cache), ==, 0);
  entries = expected_entries (first);
  g_assert_cmpuint (entries, >=, 2 * 20 + 1);
  g_assert_cmpuint (linear_from_cache (first), ==, 0);
  g_free (cache_file (f));

  second = loaded (f);
  cached = logits (f, second, 2);
  g_assert_cmpuint (convnet_pack_cache_hits (second->pack_cache), ==,
                    entries);
  g_assert_cmpuint (linear_from_cache (second), ==, 1);
  assert_same (fresh, cached, n);
  g_free (fresh);
  g_free (cached);
  convnet_graph_free (first);
  convnet_graph_free (second);
}

/* A plan at another batch that packs some convolutions another way adds
 * them to the file, which keeps the entries of the first plan. */
static void
test_second_plan_adds (Fixture *f, G_GNUC_UNUSED gconstpointer data)
{
  ConvnetGraph *g = loaded (f), *later;
  float *one, *eight, *again;
  const int classes = convnet_graph_output_shape (g).c;
  float *input = g_new0 (float, 8 * CHANNELS * SIZE * SIZE);

  one = logits (f, g, 1);
  memcpy (input, f->input, f->input_floats * sizeof (float));
  g_free (f->input);
  f->input = input;
  eight = logits (f, g, 8);
  convnet_graph_free (g);

  later = loaded (f);
  again = logits (f, later, 1);
  assert_same (one, again, classes);
  g_free (again);
  again = logits (f, later, 8);
  assert_same (eight, again, 8 * classes);
  /* batch 8 takes F(4,3) where batch 1 took F(2,3) or the product */
  g_assert_cmpuint (convnet_pack_cache_hits (later->pack_cache), >,
                    expected_entries (later));
  g_free (one);
  g_free (eight);
  g_free (again);
  convnet_graph_free (later);
}

/* Weights rewritten under the same name make the cache stale: the next
 * load packs the new weights and gives their outputs. */
static void
test_rewritten_weights (Fixture *f, G_GNUC_UNUSED gconstpointer data)
{
  ConvnetGraph *g = loaded (f), *reference;
  float *old, *now, *expected;
  const gsize n = convnet_graph_output_shape (g).c;

  old = logits (f, g, 1);
  convnet_graph_free (g);
  write_weights (f, 2);

  g = loaded (f);
  now = logits (f, g, 1);
  g_assert_cmpuint (convnet_pack_cache_hits (g->pack_cache), ==, 0);
  g_setenv ("CONVNET_PACK_CACHE", "0", TRUE);
  reference = loaded (f);
  g_assert_null (reference->pack_cache);
  expected = logits (f, reference, 1);
  assert_same (expected, now, n);
  g_assert_cmpint (memcmp (old, now, n * sizeof (float)), !=, 0);
  g_free (old);
  g_free (now);
  g_free (expected);
  convnet_graph_free (g);
  convnet_graph_free (reference);
}

/* Damaged cache files: cut short, a header of another file, an entry
 * that points past the end, and a file of an older packing layout.  None
 * is used, the outputs are right, and the file is written anew for the
 * next load. */
static void
test_damaged_file (Fixture *f, G_GNUC_UNUSED gconstpointer data)
{
  ConvnetGraph *g = loaded (f);
  float *expected = logits (f, g, 1);
  const gsize n = convnet_graph_output_shape (g).c;
  char *path = cache_file (f), *contents;
  gsize length;

  convnet_graph_free (g);
  g_assert_true (g_file_get_contents (path, &contents, &length, NULL));
  for (int damage = 0; damage < 5; damage++)
    {
      char *bad = g_memdup2 (contents, length);
      gsize bad_length = length;
      float *got;

      if (damage == 0)
        bad_length = length / 2;          /* cut inside the data */
      else if (damage == 1)
        bad_length = 40;                  /* cut inside the header */
      else if (damage == 2)
        bad[20] ^= 0x55;                  /* another weights file's size */
      else if (damage == 3)
        /* the first entry's offset (after the 104-byte header and its
         * 56-byte key) far past the end */
        memset (bad + 104 + 56, 0x7f, 8);
      else
        /* written by an engine whose packings had the first layout: the
         * version after the 8-byte magic */
        memcpy (bad + 8, &(guint32) { 1 }, sizeof (guint32));
      g_assert_true (g_file_set_contents (path, bad, bad_length, NULL));
      g = loaded (f);
      got = logits (f, g, 1);
      g_assert_cmpuint (convnet_pack_cache_hits (g->pack_cache), ==, 0);
      assert_same (expected, got, n);
      convnet_graph_free (g);
      g_free (got);
      g_free (bad);

      /* written anew: the next load finds everything */
      g = loaded (f);
      got = logits (f, g, 1);
      g_assert_cmpuint (convnet_pack_cache_hits (g->pack_cache), ==,
                        expected_entries (g));
      assert_same (expected, got, n);
      convnet_graph_free (g);
      g_free (got);
    }
  g_free (contents);
  g_free (path);
  g_free (expected);
}

/* Weights changed after the load (initialised, or said changed) are not
 * the file's: the cache is neither read nor written. */
static void
test_weights_changed_after_load (Fixture *f, G_GNUC_UNUSED gconstpointer data)
{
  ConvnetGraph *g = loaded (f), *reference;
  float *got, *expected;
  const gsize n = convnet_graph_output_shape (g).c;

  g_free (logits (f, g, 1));   /* fills the cache */
  convnet_graph_free (g);

  g = loaded (f);
  convnet_graph_init_random (g, 3);
  got = logits (f, g, 1);
  g_assert_cmpuint (convnet_pack_cache_hits (g->pack_cache), ==, 0);
  g_setenv ("CONVNET_PACK_CACHE", "0", TRUE);
  reference = build ();
  convnet_graph_init_random (reference, 3);
  expected = logits (f, reference, 1);
  assert_same (expected, got, n);
  g_free (got);
  g_free (expected);
  convnet_graph_free (g);
  convnet_graph_free (reference);
}

/* A cache folder that cannot be made costs nothing but the cache. */
static void
test_unwritable_folder (Fixture *f, G_GNUC_UNUSED gconstpointer data)
{
  char *blocker = g_build_filename (f->cache_dir, "file", NULL);
  char *inside = g_build_filename (blocker, "cache", NULL);
  ConvnetGraph *g, *again;
  float *first, *second;
  const gsize classes = 10;

  g_assert_true (g_file_set_contents (blocker, "", 0, NULL));
  g_setenv ("CONVNET_PACK_CACHE", inside, TRUE);
  g = loaded (f);
  first = logits (f, g, 1);
  again = loaded (f);
  second = logits (f, again, 1);
  g_assert_cmpuint (convnet_pack_cache_hits (again->pack_cache), ==, 0);
  assert_same (first, second, classes);
  g_assert_cmpuint (test_count_files (f->cache_dir), ==, 1);
  convnet_graph_free (g);
  convnet_graph_free (again);
  g_free (first);
  g_free (second);
  g_free (inside);
  g_free (blocker);
}

/* CONVNET_PACK_CACHE=0 writes nothing. */
static void
test_off (Fixture *f, G_GNUC_UNUSED gconstpointer data)
{
  ConvnetGraph *g;

  g_setenv ("CONVNET_PACK_CACHE", "0", TRUE);
  g = loaded (f);
  g_free (logits (f, g, 1));
  g_assert_null (g->pack_cache);
  g_assert_cmpuint (test_count_files (f->cache_dir), ==, 0);
  convnet_graph_free (g);
}

/* Entries of 2 MB and more, and ones that straddle the 2 MB pieces the
 * file is written in, read back byte for byte by a later cache of the
 * same weights file; a second save that replaces every other entry keeps
 * the others. */
static void
test_large_entries (Fixture *f, G_GNUC_UNUSED gconstpointer data)
{
  /* a whole piece, one that starts mid-piece and is long enough to be
   * written past the next boundary, a small one, a piece plus one byte */
  const gsize sizes[] = { (gsize) 2 << 20, (gsize) 5 << 20 | 12345, 100,
                          ((gsize) 2 << 20) + 1 };
  enum { N = G_N_ELEMENTS (sizes) };
  guint8 *blobs[N];
  char key[32];
  ConvnetPackCache *cache;
  GError *error = NULL;
  GRand *rand = g_rand_new_with_seed (11);
  int fd = g_open (f->weights, O_RDONLY, 0);

  g_assert_cmpint (fd, >=, 0);
  for (int pass = 0; pass < 2; pass++)
    {
      cache = convnet_pack_cache_open (f->weights, fd, ARCH, "test");
      g_assert_nonnull (cache);
      for (int i = 0; i < N; i++)
        {
          g_snprintf (key, sizeof key, "entry %d", i);
          /* in the second pass only every other entry is replaced */
          if (pass == 1 && i % 2 == 0)
            {
              g_assert_cmpmem (convnet_pack_cache_lookup (cache, key,
                                                          sizes[i]),
                               sizes[i], blobs[i], sizes[i]);
              continue;
            }
          if (pass == 1)
            g_free (blobs[i]);
          blobs[i] = g_malloc (sizes[i]);
          for (gsize b = 0; b < sizes[i]; b++)
            blobs[i][b] = (guint8) g_rand_int (rand);
          convnet_pack_cache_add (cache, key, blobs[i], sizes[i]);
        }
      g_assert_true (convnet_pack_cache_save (cache, &error));
      g_assert_no_error (error);
      convnet_pack_cache_free (cache);
    }

  cache = convnet_pack_cache_open (f->weights, fd, ARCH, "test");
  for (int i = 0; i < N; i++)
    {
      g_snprintf (key, sizeof key, "entry %d", i);
      g_assert_cmpmem (convnet_pack_cache_lookup (cache, key, sizes[i]),
                       sizes[i], blobs[i], sizes[i]);
      /* another size is another packing */
      g_assert_null (convnet_pack_cache_lookup (cache, key, sizes[i] + 1));
      g_free (blobs[i]);
    }
  g_assert_cmpuint (convnet_pack_cache_hits (cache), ==, N);
  convnet_pack_cache_free (cache);
  close (fd);
  g_rand_free (rand);
}

/* A file of BYTES bytes in FOLDER, last modified AGE seconds ago. */
static char *
folder_file (const char *folder, const char *name, gsize bytes, int age)
{
  char *path = g_build_filename (folder, name, NULL);
  char *zeros = g_malloc0 (bytes);
  struct utimbuf when;

  g_assert_true (g_file_set_contents (path, zeros, bytes, NULL));
  when.actime = when.modtime = time (NULL) - age;
  g_assert_cmpint (g_utime (path, &when), ==, 0);
  g_free (zeros);
  return path;
}

/* The folder is pruned from its least recently used cache file on, down
 * to the bound, never touching the file being kept or what is not a
 * cache file. */
static void
test_prune (Fixture *f, G_GNUC_UNUSED gconstpointer data)
{
  char *kept = folder_file (f->cache_dir, "kept.pack", 1000, 400);
  char *old = folder_file (f->cache_dir, "old.pack", 1000, 300);
  char *middle = folder_file (f->cache_dir, "middle.pack", 1000, 200);
  char *recent = folder_file (f->cache_dir, "recent.pack", 1000, 100);
  char *other = folder_file (f->cache_dir, "notes.txt", 5000, 500);

  /* 4000 bytes of cache files: the two oldest but the kept one go */
  g_assert_cmpuint (convnet_pack_cache_prune (f->cache_dir, kept, 2500), ==,
                    2);
  g_assert_true (g_file_test (kept, G_FILE_TEST_EXISTS));
  g_assert_false (g_file_test (old, G_FILE_TEST_EXISTS));
  g_assert_false (g_file_test (middle, G_FILE_TEST_EXISTS));
  g_assert_true (g_file_test (recent, G_FILE_TEST_EXISTS));
  g_assert_true (g_file_test (other, G_FILE_TEST_EXISTS));
  /* within the bound: nothing more */
  g_assert_cmpuint (convnet_pack_cache_prune (f->cache_dir, kept, 2500), ==,
                    0);
  g_free (kept);
  g_free (old);
  g_free (middle);
  g_free (recent);
  g_free (other);
}

/* A lookup that reads a cache file marks it used, so that a prune takes
 * an unread file modified after it first. */
static void
test_read_marks_used (Fixture *f, G_GNUC_UNUSED gconstpointer data)
{
  static const guint8 blob[100] = { 1, 2, 3 };
  GError *error = NULL;
  int fd = g_open (f->weights, O_RDONLY, 0);
  ConvnetPackCache *cache;
  struct utimbuf when;
  GStatBuf st;
  char *unread, *read;

  g_assert_cmpint (fd, >=, 0);
  cache = convnet_pack_cache_open (f->weights, fd, ARCH, "test");
  convnet_pack_cache_add (cache, "entry", blob, sizeof blob);
  g_assert_true (convnet_pack_cache_save (cache, &error));
  g_assert_no_error (error);
  read = g_strdup (convnet_pack_cache_path (cache));
  convnet_pack_cache_free (cache);
  when.actime = when.modtime = time (NULL) - 300;
  g_assert_cmpint (g_utime (read, &when), ==, 0);
  unread = folder_file (f->cache_dir, "unread.pack", 100, 200);

  cache = convnet_pack_cache_open (f->weights, fd, ARCH, "test");
  g_assert_nonnull (convnet_pack_cache_lookup (cache, "entry", sizeof blob));
  convnet_pack_cache_free (cache);
  /* room for one of the two: the one read stays */
  g_assert_cmpint (g_stat (read, &st), ==, 0);
  g_assert_cmpuint (convnet_pack_cache_prune (f->cache_dir, NULL,
                                              st.st_size), ==, 1);
  g_assert_true (g_file_test (read, G_FILE_TEST_EXISTS));
  g_assert_false (g_file_test (unread, G_FILE_TEST_EXISTS));
  close (fd);
  g_free (read);
  g_free (unread);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
#define ADD(path, fn) \
  g_test_add ("/pack-cache/" path, Fixture, NULL, fixture_set_up, fn, \
              fixture_tear_down)
  ADD ("reuse", test_reuse);
  ADD ("second-plan-adds", test_second_plan_adds);
  ADD ("rewritten-weights", test_rewritten_weights);
  ADD ("damaged-file", test_damaged_file);
  ADD ("weights-changed-after-load", test_weights_changed_after_load);
  ADD ("unwritable-folder", test_unwritable_folder);
  ADD ("off", test_off);
  ADD ("large-entries", test_large_entries);
  ADD ("prune", test_prune);
  ADD ("read-marks-used", test_read_marks_used);
#undef ADD
  return g_test_run ();
}
