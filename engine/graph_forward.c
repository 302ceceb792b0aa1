/* graph_forward.c: running a built graph.  Before the first forward at a
 * batch size, a plan gives every node a buffer slot: a slot is reused as
 * soon as the last reader of its value has run, element-wise ops write
 * over an input nobody reads afterwards, and Flatten and inference Dropout
 * are views of their input (the op table's flags say which).  Retained
 * nodes keep their slot to the end. */
#include "graph_ops.h"
#include "kernels/kernels.h"
#include "ops/blas.h"

#include <unistd.h>

#include <string.h>

void
convnet_set_threads (int threads)
{
  convnet_parallel_set_threads (threads);
  convnet_blas_set_threads (threads);
}

/* Each slot starts on a cache line of its own. */
static gsize
slot_bytes (gsize floats)
{
  return (MAX (floats, 1) * sizeof (float) + 63) & ~(gsize) 63;
}

/* One mapping holds every activation buffer of a plan, in whole huge
 * pages where the system gives them, faulted in here: a first forward
 * would otherwise take a page fault per 4 KB it writes (resnet50: 5000,
 * vgg16: 30000, at about 15 microseconds each in a virtual machine). */
static gboolean
arena_new (ConvnetGraph *g, gsize bytes)
{
  gpointer arena = convnet_workspace_alloc (MAX (bytes, 1));

  if (!arena)
    return FALSE;
  g->arena = arena;
  g->arena_bytes = MAX (bytes, 1);
  return TRUE;
}

void
convnet_graph_free_activations (ConvnetGraph *g)
{
  convnet_packed_free (g->arena);
  g->arena = NULL;
  g->arena_bytes = 0;
  g_clear_pointer (&g->slot_buffers, g_free);
}

static void
release_plan (ConvnetGraph *g)
{
  convnet_graph_free_activations (g);
  g_clear_pointer (&g->slot_sizes, g_free);
  g->n_slots = 0;
  g->plan_valid = FALSE;
  g->batch = 0;
  convnet_graph_release_training (g);
}

static void
keep_to_the_end (ConvnetGraph *g, int i)
{
  convnet_graph_node (g, convnet_graph_node (g, i)->owner)->last_use = G_MAXINT;
}

/* Bytes of RAM, or 0 when the system will not say. */
static guint64
physical_memory (void)
{
  long pages = sysconf (_SC_PHYS_PAGES), page = sysconf (_SC_PAGESIZE);

  return pages > 0 && page > 0 ? (guint64) pages * (guint64) page : 0;
}

/* Whether node W's output can be written straight into its place in
 * Concat node C's buffer: W holds its own value (no view, no node fused
 * into another), read by C alone and once (READS), and kept by no one
 * after C (a retained node, a backward pass).  With more than one sample
 * the channels of a sample lie apart from the next sample's, which only
 * the fast convolutions' store writes (their residual would have to lie
 * so too). */
static gboolean
writes_into_concat (ConvnetGraph *g, int w, int c, int batch,
                    const int *reads)
{
  const ConvnetNode *node = convnet_graph_node (g, w);

  if (w <= g->start_node || node->owner != w || reads[w] != 1
      || node->last_use != c || node->concat_into >= 0)
    return FALSE;
  return batch == 1
         || (node->op == CONVNET_OP_CONV2D && node->residual < 0
             && convnet_graph_fast_conv_ready (node));
}

/* Lets every input of each Concat that can write its channels into the
 * Concat's buffer do so (concat_into, concat_offset, out_sample). */
static void
plan_concats_in_place (ConvnetGraph *g, int batch, const int *reads)
{
  /* a reference run (CONVNET_EXACT=1) copies, as it did before */
  if (g->exact)
    return;
  for (guint c = g->start_node + 1; c < g->nodes->len; c++)
    {
      const ConvnetNode *concat = convnet_graph_node (g, c);
      const gsize plane = (gsize) concat->shape.h * concat->shape.w;
      int offset = 0;

      if (concat->op != CONVNET_OP_CONCAT)
        continue;
      for (int k = 0; k < concat->n_inputs; k++)
        {
          const ConvnetNode *in = convnet_graph_node (g, concat->inputs[k]);
          ConvnetNode *writer = convnet_graph_node (g, in->owner);

          if (writes_into_concat (g, in->owner, c, batch, reads))
            {
              writer->concat_into = c;
              writer->concat_offset = offset;
              writer->out_sample = concat->shape.c * plane;
            }
          offset += in->shape.c;
        }
    }
}

/* The smallest free slot at node I that holds NEED floats, else the
 * largest free one grown to NEED, else a new one; busy until UNTIL. */
static int
take_slot (GArray *sizes, GArray *busy_until, int i, gsize need, int until)
{
  int fit = -1, largest = -1, slot;

  for (guint s = 0; s < sizes->len; s++)
    {
      const gsize size = g_array_index (sizes, gsize, s);
      if (g_array_index (busy_until, int, s) >= i)
        continue;
      if (size >= need
          && (fit < 0 || size < g_array_index (sizes, gsize, fit)))
        fit = s;
      if (largest < 0 || size > g_array_index (sizes, gsize, largest))
        largest = s;
    }
  slot = fit >= 0 ? fit : largest;
  if (slot < 0)
    {
      const gsize zero = 0;
      const int none = -1;
      g_array_append_val (sizes, zero);
      g_array_append_val (busy_until, none);
      slot = sizes->len - 1;
    }
  g_array_index (sizes, gsize, slot) =
    MAX (g_array_index (sizes, gsize, slot), need);
  g_array_index (busy_until, int, slot) = until;
  return slot;
}

static gboolean
make_plan (ConvnetGraph *g, int batch, GError **error)
{
  const int n = g->nodes->len;
  GArray *sizes = g_array_new (FALSE, TRUE, sizeof (gsize));
  GArray *busy_until = g_array_new (FALSE, TRUE, sizeof (int));
  int *reads = g_new0 (int, MAX (n, 1));
  gsize scratch = 0;

  release_plan (g);
  if (!convnet_graph_plan_fast (g, batch, error))
    {
      g_array_free (sizes, TRUE);
      g_array_free (busy_until, TRUE);
      g_free (reads);
      return FALSE;
    }

  for (int i = 0; i < n; i++)
    {
      ConvnetNode *node = convnet_graph_node (g, i);
      /* the node fed from outside owns its (foreign) buffer */
      if (node->fused_into >= 0)
        node->owner = convnet_graph_node (g, node->fused_into)->owner;
      else
        node->owner = (i > g->start_node && convnet_op_is_view (g, i))
                      ? convnet_graph_node (g, node->inputs[0])->owner : i;
      node->last_use = i;
      node->slot = -1;
      node->concat_into = -1;
      node->concat_offset = 0;
      node->out_sample = 0;
    }
  for (int i = g->start_node + 1; i < n; i++)
    {
      ConvnetNode *node = convnet_graph_node (g, i);
      for (int k = 0; k < node->n_inputs; k++)
        {
          const int owner = convnet_graph_node (g, node->inputs[k])->owner;
          ConvnetNode *value = convnet_graph_node (g, owner);

          value->last_use = MAX (value->last_use, i);
          /* a node fused into the value's convolution, or a view of it,
           * is part of the value, not a reader */
          if (node->owner != owner)
            reads[owner]++;
        }
    }
  keep_to_the_end (g, n - 1);
  {
    GHashTableIter iter;
    gpointer key;

    g_hash_table_iter_init (&iter, g->retained);
    while (g_hash_table_iter_next (&iter, &key, NULL))
      keep_to_the_end (g, GPOINTER_TO_INT (key));
  }
  /* a backward pass reads every trainable node's inputs and output */
  for (int i = convnet_graph_first_gradient_node (g);
       convnet_graph_wants_gradients (g) && i < n; i++)
    {
      const ConvnetNode *node = convnet_graph_node (g, i);
      keep_to_the_end (g, i);
      for (int k = 0; k < node->n_inputs; k++)
        keep_to_the_end (g, node->inputs[k]);
    }

  plan_concats_in_place (g, batch, reads);
  g_free (reads);

  for (int i = g->start_node + 1; i < n; i++)
    {
      ConvnetNode *node = convnet_graph_node (g, i);
      const ConvnetOpClass *op = convnet_op_class (node->op);
      const gsize need = convnet_op_numel (node, batch);
      int slot = -1;

      if (convnet_op_is_view (g, i) || node->fused_into >= 0)
        {
          node->slot = convnet_graph_node (g, node->owner)->slot;
          continue;
        }
      if (op->forward_scratch)
        scratch = MAX (scratch, op->forward_scratch (node));
      /* the Concat's buffer is taken by the first of its inputs that
       * writes into it, and lives to the Concat's last reader */
      if (node->concat_into >= 0)
        {
          ConvnetNode *concat = convnet_graph_node (g, node->concat_into);

          if (concat->slot < 0)
            concat->slot = take_slot (sizes, busy_until, i,
                                      convnet_op_numel (concat, batch),
                                      concat->last_use);
          node->slot = concat->slot;
          continue;
        }
      if (node->slot >= 0)   /* a Concat whose inputs took its buffer */
        continue;

      if (op->flags & CONVNET_OP_OVERWRITES_INPUT)
        for (int k = 0; k < node->n_inputs && slot < 0; k++)
          {
            const ConvnetNode *in = convnet_graph_node (g, node->inputs[k]);
            const ConvnetNode *owner = convnet_graph_node (g, in->owner);
            if (in->owner > g->start_node && owner->last_use == i
                && convnet_op_numel (in, batch) == need)
              slot = owner->slot;
          }

      if (slot < 0)
        slot = take_slot (sizes, busy_until, i, need, node->last_use);
      else
        g_array_index (busy_until, int, slot) = node->last_use;
      node->slot = slot;
    }

  g->n_slots = sizes->len;
  g->slot_sizes = (gsize *) g_array_free (sizes, FALSE);
  g_array_free (busy_until, TRUE);
  /* Each buffer alone may be granted by an overcommitting kernel and the
   * process killed when it is touched: the sum is what must fit. */
  {
    guint64 total = 0, memory = physical_memory ();

    for (int s = 0; s < g->n_slots; s++)
      total += (guint64) g->slot_sizes[s] * sizeof (float);
    if (memory > 0 && total > memory)
      {
        g_set_error (error, CONVNET_ERROR, CONVNET_ERROR_LIMIT,
                     "%s: batch %d needs %.1f GB of activations, more than "
                     "this machine's %.1f GB of memory (use a smaller batch "
                     "or input)", g->arch, batch, total / 1e9, memory / 1e9);
        g->n_slots = 0;
        release_plan (g);
        return FALSE;
      }
  }
  {
    gsize total = 0;

    for (int s = 0; s < g->n_slots; s++)
      total += slot_bytes (g->slot_sizes[s]);
    if (!arena_new (g, total))
      {
        g_set_error (error, CONVNET_ERROR, CONVNET_ERROR_LIMIT,
                     "%s: cannot allocate %" G_GSIZE_FORMAT
                     " MB of activations for batch %d",
                     g->arch, total >> 20, batch);
        release_plan (g);
        return FALSE;
      }
    g->slot_buffers = g_new0 (float *, MAX (g->n_slots, 1));
    total = 0;
    for (int s = 0; s < g->n_slots; s++)
      {
        g->slot_buffers[s] = (float *) ((guint8 *) g->arena + total);
        total += slot_bytes (g->slot_sizes[s]);
      }
  }
  if (!convnet_graph_reserve_scratch (g, scratch, error))
    {
      release_plan (g);
      return FALSE;
    }
  if (convnet_graph_wants_gradients (g)
      && !convnet_graph_plan_training (g, batch, error))
    {
      release_plan (g);
      return FALSE;
    }
  g->plan_batch = batch;
  g->plan_valid = TRUE;
  return TRUE;
}

gboolean
convnet_graph_reserve_scratch (ConvnetGraph *g, gsize floats, GError **error)
{
  if (floats <= g->scratch_size)
    return TRUE;
  g_free (g->scratch);
  g->scratch = g_try_malloc (floats * sizeof (float));
  g->scratch_size = g->scratch ? floats : 0;
  if (!g->scratch)
    {
      g_set_error (error, CONVNET_ERROR, CONVNET_ERROR_LIMIT,
                   "%s: cannot allocate the convolution workspace "
                   "(%" G_GSIZE_FORMAT " MB)", g->arch,
                   floats * sizeof (float) >> 20);
      return FALSE;
    }
  return TRUE;
}

/* The total bytes of activation buffers the current plan holds. */
gsize
convnet_graph_activation_bytes (const ConvnetGraph *g)
{
  gsize total = 0;

  for (int s = 0; s < g->n_slots; s++)
    total += g->slot_sizes[s] * sizeof (float);
  return total;
}

/* Every node's forward goes through here to its op's entry in the op
 * table (graph_ops.c): the place for a plan that fuses nodes to run its
 * fused kernels instead. */
static void
run_node (ConvnetGraph *g, int i, int batch)
{
  ConvnetNode *node = convnet_graph_node (g, i);

  convnet_op_class (node->op)->forward (g, node, batch,
                                        convnet_graph_node_trains (g, i));
}

/* Makes the plan for BATCH samples from node START, unless the one there
 * still holds. */
static gboolean
ensure_plan (ConvnetGraph *g, int start, int batch, GError **error)
{
  if (batch < 1)
    {
      g_set_error (error, CONVNET_ERROR, CONVNET_ERROR_ARGUMENT,
                   "%s: batch size %d: must be at least 1", g->arch, batch);
      return FALSE;
    }
  if (start != g->start_node)
    {
      g->start_node = start;
      g->plan_valid = FALSE;
    }
  /* the weights changed since they were packed */
  if (g->plan_serial != g->weights_serial)
    g->plan_valid = FALSE;
  if (!g->plan_valid || g->plan_batch != batch)
    return make_plan (g, batch, error);
  return TRUE;
}

gboolean
convnet_graph_prepare (ConvnetGraph *g, int batch, GError **error)
{
  g_return_val_if_fail (g != NULL, FALSE);
  return ensure_plan (g, 0, batch, error);
}

static gboolean
forward_nodes (ConvnetGraph *g, int start, const float *input, int batch,
               GError **error)
{
  const int n = g->nodes->len;

  if (!ensure_plan (g, start, batch, error))
    return FALSE;

  /* the input is read, never written: no op may overwrite it */
  convnet_graph_node (g, start)->out = (float *) input;
  for (int i = start + 1; i < n; i++)
    {
      ConvnetNode *node = convnet_graph_node (g, i);
      if (node->fused_into >= 0)
        {
          /* done by its convolution's store */
          node->out = convnet_graph_node (g, node->fused_into)->out;
          continue;
        }
      if (convnet_op_is_view (g, i))
        node->out = convnet_graph_node (g, node->inputs[0])->out;
      else if (node->concat_into >= 0)
        node->out = g->slot_buffers[node->slot]
                    + (gsize) node->concat_offset * node->shape.h
                      * node->shape.w;
      else
        node->out = g->slot_buffers[node->slot];
      if (G_UNLIKELY (g->profile_seconds != NULL))
        {
          const gint64 begin = g_get_monotonic_time ();

          run_node (g, i, batch);
          g->profile_seconds[i] += (g_get_monotonic_time () - begin) / 1e6;
        }
      else
        run_node (g, i, batch);
    }
  g->batch = batch;
  g->loss_valid = FALSE;
  return TRUE;
}

gboolean
convnet_graph_forward (ConvnetGraph *g, const float *input, int batch,
                       GError **error)
{
  return forward_nodes (g, 0, input, batch, error);
}

gboolean
convnet_graph_forward_from (ConvnetGraph *g, const char *name,
                            const float *activation, int batch,
                            GError **error)
{
  const ConvnetNodeInfo *info = convnet_graph_lookup (g, name);

  if (!info)
    {
      g_set_error (error, CONVNET_ERROR, CONVNET_ERROR_ARGUMENT,
                   "%s has no node named '%s'", g->arch, name);
      return FALSE;
    }
  for (guint i = info->node + 1; i < g->nodes->len; i++)
    {
      const ConvnetNode *node = convnet_graph_node (g, i);
      for (int k = 0; k < node->n_inputs; k++)
        if (node->inputs[k] < info->node)
          {
            g_set_error (error, CONVNET_ERROR, CONVNET_ERROR_ARGUMENT,
                         "%s: the network cannot resume after '%s': a later "
                         "node reads an earlier one", g->arch, name);
            return FALSE;
          }
    }
  return forward_nodes (g, info->node, activation, batch, error);
}

const float *
convnet_graph_output (const ConvnetGraph *g)
{
  if (g->batch == 0)
    return NULL;
  return convnet_graph_node (g, g->nodes->len - 1)->out;
}

gboolean
convnet_graph_retain (ConvnetGraph *g, const char *name, GError **error)
{
  const ConvnetNodeInfo *info = convnet_graph_lookup (g, name);

  if (!info)
    {
      g_set_error (error, CONVNET_ERROR, CONVNET_ERROR_ARGUMENT,
                   "%s has no node named '%s' (see 'convnet info %s')",
                   g->arch, name, g->arch);
      return FALSE;
    }
  if (!g_hash_table_contains (g->retained, GINT_TO_POINTER (info->node)))
    {
      g_hash_table_add (g->retained, GINT_TO_POINTER (info->node));
      g->plan_valid = FALSE;
    }
  return TRUE;
}

const float *
convnet_graph_activation (const ConvnetGraph *g, const char *name,
                          ConvnetShape *shape, GError **error)
{
  const ConvnetNodeInfo *info = convnet_graph_lookup (g, name);
  const ConvnetNode *node;

  if (!info)
    {
      g_set_error (error, CONVNET_ERROR, CONVNET_ERROR_ARGUMENT,
                   "%s has no node named '%s' (see 'convnet info %s')",
                   g->arch, name, g->arch);
      return NULL;
    }
  node = convnet_graph_node (g, info->node);
  if (!g->plan_valid || g->batch == 0
      || (info->node != (int) g->nodes->len - 1
          && !g_hash_table_contains (g->retained,
                                     GINT_TO_POINTER (info->node))))
    {
      g_set_error (error, CONVNET_ERROR, CONVNET_ERROR_ARGUMENT,
                   "%s: node '%s' was not kept by the last forward pass",
                   g->arch, name);
      return NULL;
    }
  if (shape)
    *shape = node->shape;
  return node->out;
}
