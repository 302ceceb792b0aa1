/* test_memory.c: where the engine keeps what every forward writes anew
 * (activations, the kernels' per-thread workspaces).  This virtual
 * machine charges the first touch of each 4 KB page of a mapping, so
 * these live in whole huge pages: the test reads the process's own
 * mappings (/proc/self/maps) to see that an allocation starts and ends
 * on a 2 MB boundary, and that the memory up to that end is there. */
#include "convnet.h"
#include "graph.h"
#include "kernels/kernels.h"

#include <stdio.h>
#include <string.h>

#define HUGE_PAGE ((guintptr) 2 << 20)

/* The mapping of this process that holds ADDRESS: its start and end. */
static gboolean
mapping_of (gconstpointer address, guintptr *start, guintptr *end)
{
  char *maps = NULL;
  gboolean found = FALSE;

  g_assert_true (g_file_get_contents ("/proc/self/maps", &maps, NULL, NULL));
  for (char *line = maps; line && *line && !found;)
    {
      char *next = strchr (line, '\n');
      guint64 from, to;

      if (sscanf (line, "%" G_GINT64_MODIFIER "x-%" G_GINT64_MODIFIER "x",
                  &from, &to) == 2
          && (guintptr) address >= from && (guintptr) address < to)
        {
          *start = from;
          *end = to;
          found = TRUE;
        }
      line = next ? next + 1 : NULL;
    }
  g_free (maps);
  return found;
}

/* MEMORY, which holds USABLE bytes, lies in huge pages from the boundary
 * at or below it to the boundary where its usable bytes end. */
static void
assert_whole_huge_pages (gconstpointer memory, gsize usable)
{
  const guintptr first = (guintptr) memory & ~(HUGE_PAGE - 1);
  const guintptr last = (guintptr) memory + usable;
  guintptr start, end;

  if (!convnet_packed_memory_mapped ())
    return;

  g_assert_cmpuint (last % HUGE_PAGE, ==, 0);
  g_assert_true (mapping_of (memory, &start, &end));
  g_assert_cmpuint (start, <=, first);
  g_assert_cmpuint (end, >=, last);
  /* and the allocation is less than a huge page from its boundary */
  g_assert_cmpuint ((guintptr) memory - first, <, 4096);
}

static void
test_workspace_whole_huge_pages (void)
{
  const gsize sizes[] = { 1, 100 << 10, (2 << 20) - 64, (2 << 20) - 63,
                          3 << 20, 9633792 };

  for (guint i = 0; i < G_N_ELEMENTS (sizes); i++)
    {
      const gsize usable = convnet_workspace_usable (sizes[i]);
      guint8 *memory = convnet_workspace_alloc (sizes[i]);

      g_assert_nonnull (memory);
      g_assert_cmpuint (usable, >=, sizes[i]);
      g_assert_cmpuint (usable, <, sizes[i] + HUGE_PAGE);
      assert_whole_huge_pages (memory, usable);
      /* zeroed and writable to the last usable byte */
      g_assert_cmpint (memory[0], ==, 0);
      g_assert_cmpint (memory[usable - 1], ==, 0);
      memset (memory, 0x5a, usable);
      convnet_packed_free (memory);
    }
}

/* Packed weights are not rounded: a network has a packing per layer. */
static void
test_packed_not_rounded (void)
{
  guint8 *memory;
  guintptr start, end;

  if (!convnet_packed_memory_mapped ())
    {
      g_test_skip ("AddressSanitizer: the memory comes from malloc");
      return;
    }
  memory = convnet_packed_alloc (100 << 10);
  g_assert_nonnull (memory);
  g_assert_true (mapping_of (memory, &start, &end));
  g_assert_cmpuint (end - (guintptr) memory, <, 200 << 10);
  convnet_packed_free (memory);
}

/* A thread's workspace keeps the pages it was given: a request that fits
 * in them maps nothing new (so keeps what was written), and one that does not gets whole huge pages
 * again. */
static void
test_thread_scratch_keeps_its_pages (void)
{
  const gsize usable = convnet_workspace_usable (1000 * sizeof (float))
                       / sizeof (float);
  float *first = convnet_thread_scratch (0, 1000);
  float *again, *grown;

  assert_whole_huge_pages (first, usable * sizeof (float));
  /* fresh pages would be zero (and may come back at the same address) */
  first[0] = 42.0f;
  again = convnet_thread_scratch (0, usable);
  g_assert_true (again == first);
  g_assert_cmpfloat (again[0], ==, 42.0f);
  again[usable - 1] = 1.0f;
  grown = convnet_thread_scratch (0, usable + 1);
  assert_whole_huge_pages (grown, convnet_workspace_usable ((usable + 1)
                                                           * sizeof (float)));
  grown[usable] = 1.0f;
}

/* A plan's activation buffers share one allocation in whole huge pages. */
static void
test_activations_in_whole_huge_pages (void)
{
  GError *error = NULL;
  ConvnetGraph *g = convnet_model_build ("resnet18", 10, 64, 64, &error);
  float *input = g_new0 (float, 2 * 3 * 64 * 64);
  const char *names[] = { "conv1", "layer4.1.conv2" };

  g_assert_no_error (error);
  convnet_graph_init_random_prefix (g, "", 1);
  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    g_assert_true (convnet_graph_retain (g, names[i], NULL));
  g_assert_true (convnet_graph_forward (g, input, 2, &error));
  g_assert_no_error (error);
  g_assert_nonnull (g->arena);
  assert_whole_huge_pages (g->arena, convnet_workspace_usable (g->arena_bytes));
  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    {
      ConvnetShape shape;
      const guint8 *buffer = (const guint8 *) convnet_graph_activation (
        g, names[i], &shape, &error);

      g_assert_no_error (error);
      g_assert_true (buffer >= (const guint8 *) g->arena);
      g_assert_true (buffer < (const guint8 *) g->arena + g->arena_bytes);
    }
  g_free (input);
  convnet_graph_free (g);
}

/* Whether the mapping that holds ADDRESS was advised into huge pages
 * (MADV_HUGEPAGE shows as "hg" among its VmFlags). */
static gboolean
advised_huge (gconstpointer address)
{
  char *smaps = NULL;
  gboolean inside = FALSE, advised = FALSE;
  char **lines;

  g_assert_true (g_file_get_contents ("/proc/self/smaps", &smaps, NULL,
                                      NULL));
  lines = g_strsplit (smaps, "\n", -1);
  for (char **line = lines; *line; line++)
    {
      guint64 from, to;

      if (sscanf (*line, "%" G_GINT64_MODIFIER "x-%" G_GINT64_MODIFIER "x ",
                  &from, &to) == 2 && strchr (*line, ' ') > strchr (*line, '-'))
        inside = (guintptr) address >= from && (guintptr) address < to;
      else if (inside && g_str_has_prefix (*line, "VmFlags:"))
        advised = strstr (*line, " hg") != NULL;
    }
  g_strfreev (lines);
  g_free (smaps);
  return advised;
}

/* A network's parameters are streamed whole by every forward (alexnet's
 * classifier: 234 MB a pass), so they live in huge pages too, faulted in
 * where they are written: a checkpoint's tensors used in place from the
 * file leave their part of the block untouched. */
static void
test_parameters_in_huge_pages (void)
{
  GError *error = NULL;
  ConvnetGraph *g;

  if (!convnet_packed_memory_mapped ())
    {
      g_test_skip ("AddressSanitizer: the memory comes from malloc");
      return;
    }
  g = convnet_model_build ("resnet18", 10, 64, 64, &error);
  g_assert_no_error (error);
  g_assert_cmpuint ((guintptr) g->param_block % 64, ==, 0);
  g_assert_true (advised_huge (g->param_block));
  g_assert_true (advised_huge (g->param_block + g->param_floats - 1));
  /* and so are their gradients, which every optimizer step streams */
  convnet_graph_set_training (g, TRUE, 1);
  g_assert_nonnull (g->grad_block);
  g_assert_true (advised_huge (g->grad_block));
  convnet_graph_free (g);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/memory/workspace/whole-huge-pages",
                   test_workspace_whole_huge_pages);
  g_test_add_func ("/memory/packed/not-rounded", test_packed_not_rounded);
  g_test_add_func ("/memory/thread-scratch/keeps-its-pages",
                   test_thread_scratch_keeps_its_pages);
  g_test_add_func ("/memory/activations/whole-huge-pages",
                   test_activations_in_whole_huge_pages);
  g_test_add_func ("/memory/parameters/huge-pages",
                   test_parameters_in_huge_pages);
  return g_test_run ();
}
