/* graph.h: the inside of a ConvnetGraph, shared by the graph, the model
 * builders and the weight loader.  Clients use convnet.h only. */
#ifndef CONVNET_GRAPH_H
#define CONVNET_GRAPH_H

#include "convnet.h"
#include "ops/ops.h"

#define CONVNET_MAX_INPUTS 4

typedef struct
{
  ConvnetOpKind op;
  char         *name;        /* full module path; NULL for anonymous nodes */
  int           inputs[CONVNET_MAX_INPUTS];
  int           n_inputs;
  ConvnetShape  shape;
  gboolean      flat;        /* after Flatten/Linear: shape is c x 1 x 1 */

  /* op settings */
  ConvGeometry  conv;        /* conv and pools: kernel, stride, padding... */
  gboolean      has_bias;
  gboolean      ceil_mode;
  gboolean      count_include_pad;
  float         eps;
  int           lrn_size;
  float         lrn_alpha, lrn_beta, lrn_k;
  float         dropout_p;
  float         affine_scale[3];
  float         affine_shift[3];

  int           first_param; /* index into the graph's params */
  int           n_params;
  guint64       param_count;
  guint64       macs;

  /* training: per-node state that lives with the plan */
  float        *grad;        /* d loss / d output, nodes >= train_start */
  gboolean      grad_written; /* this backward wrote grad (else it holds
                                 the last step's values, not zeros) */
  float        *mask;        /* dropout mask */
  float        *save_mean;   /* batchnorm batch statistics */
  float        *save_invstd;

  /* inference fast path (graph_fuse.c), decided by each plan */
  int           fused_into;  /* >= 0: the convolution whose store does this
                                node's work; the output is that conv's */
  int           residual;    /* conv: the node its store adds, or -1 */
  struct ConvnetFastNode *fast; /* conv: its packed kernel; Linear: its
                                   half weights; kept across plans while
                                   the weights stay */
  struct ConvnetTrainConv *train_fast; /* conv: packed for training */

  /* forward plan */
  int           owner;       /* node whose buffer holds this output */
  int           last_use;    /* last node reading this buffer */
  int           slot;
  float        *out;
  int           concat_into; /* >= 0: the Concat whose buffer this output
                                is written into, from channel
                                concat_offset, so that it copies nothing */
  int           concat_offset;
  gsize         out_sample;  /* floats from one sample of out to the next
                                (0: the node's own c x h x w) */
} ConvnetNode;

/* Where a parameter's floats live: pub.data is param_block + offset (the
 * graph's own block, zeroed by convnet_graph_finish), or, after a load
 * found the tensor as contiguous aligned little-endian float32 in the
 * file, a place in a private copy-on-write view of that file's mapping
 * (MAPPING, which the slot holds a reference to).  Both read and write
 * alike: a write to a mapped parameter copies its page for this graph
 * alone, never reaching the file, the ConvnetWeightFile or another
 * graph.  pub.data moves on each load and on convnet_graph_own_params,
 * so nothing keeps it across those. */
typedef struct
{
  ConvnetParam  pub;
  char         *name;
  gsize         offset;      /* into param_block, in floats */
  GBytes       *mapping;     /* non-NULL: pub.data points into it */
  gsize         numel;
  int           node;
  /* initialisation: fan-in for kaiming-uniform, or a constant */
  int           init_fan_in;
  float         init_value;
} ConvnetParamSlot;

typedef struct
{
  char    *name;
  int      start_node;
  guint    info_index;
} ConvnetScope;

struct ConvnetGraph
{
  char          *arch;
  GArray        *nodes;      /* ConvnetNode */
  GArray        *params;     /* ConvnetParamSlot */
  GArray        *infos;      /* ConvnetNodeInfo, names owned by nodes/scopes */
  GArray        *info_first_node; /* int per info: first node of a block */
  GHashTable    *info_index; /* name -> info index + 1 */
  GPtrArray     *block_names;
  GPtrArray     *ignored_prefixes; /* checkpoint keys accepted and unused */
  GArray        *scopes;     /* ConvnetScope, while building */
  float         *param_block;
  gsize          param_floats;

  /* forward plan, valid for plan_batch */
  int            plan_batch;
  gboolean       plan_valid;
  gboolean       exact;      /* CONVNET_EXACT=1 when the plan was made: the
                                reference kernels for every op */
  GHashTable    *retained;   /* node index set */
  float        **slot_buffers;  /* into arena */
  gpointer       arena;         /* one mapping for all slots */
  gsize          arena_bytes;
  gsize         *slot_sizes;
  int            n_slots;
  float         *scratch;
  gsize          scratch_size;
  int            batch;      /* of the last forward */
  int            start_node; /* the node fed from outside: 0, or the
                                cached node of convnet_graph_forward_from */

  /* training */
  gboolean       training;
  int            train_start;   /* first node with gradients */
  int            grad_node;     /* > 0: at inference, keep what a backward
                                   from a class score to this node needs */
  float         *grad_block;    /* parameter gradients, like param_block */
  float         *train_block;   /* node grads, masks, saved statistics */
  float         *probs;         /* softmax of the last loss */
  int           *targets;
  float          label_smoothing;
  gboolean       loss_valid;
  ConvnetRng     dropout_rng;

  /* bumped whenever parameters may have changed (loads, initialisation,
   * training mode switched, convnet_graph_weights_changed): packed copies
   * of older weights are packed again */
  guint64        weights_serial;
  guint64        plan_serial;    /* the serial the plan packed for */
  /* packings kept on disk for the weights file last loaded whole, valid
   * while the weights serial is the one that load left (pack_cache.h) */
  struct ConvnetPackCache *pack_cache;
  guint64        pack_cache_serial;

  /* profiling: each node's forward time, summed, in seconds (NULL: off) */
  double        *profile_seconds;
};

/* Building: every function returns the new node's index, or -1 after
 * setting *ERROR (shape errors are detected here, at build time). */
ConvnetGraph *convnet_graph_new        (const char *arch,
                                        int c, int h, int w);
void          convnet_graph_push_scope (ConvnetGraph *g, const char *fmt, ...)
                                        G_GNUC_PRINTF (2, 3);
void          convnet_graph_pop_scope  (ConvnetGraph *g);
void          convnet_graph_ignore_prefix (ConvnetGraph *g, const char *prefix);
gboolean      convnet_graph_finish     (ConvnetGraph *g, GError **error);

int convnet_conv2d     (ConvnetGraph *g, const char *name, int x, int out_c,
                        int kernel, int stride, int padding, int dilation,
                        int groups, gboolean bias, GError **error);
int convnet_maxpool2d  (ConvnetGraph *g, const char *name, int x, int kernel,
                        int stride, int padding, gboolean ceil_mode,
                        GError **error);
int convnet_avgpool2d  (ConvnetGraph *g, const char *name, int x, int kernel,
                        int stride, int padding, gboolean ceil_mode,
                        gboolean count_include_pad, GError **error);
int convnet_adaptive_avgpool2d (ConvnetGraph *g, const char *name, int x,
                                int out_h, int out_w, GError **error);
int convnet_batchnorm2d (ConvnetGraph *g, const char *name, int x, float eps,
                         GError **error);
int convnet_activation (ConvnetGraph *g, ConvnetOpKind op, const char *name,
                        int x);
int convnet_linear     (ConvnetGraph *g, const char *name, int x, int out,
                        gboolean bias, GError **error);
int convnet_flatten    (ConvnetGraph *g, const char *name, int x);
int convnet_dropout    (ConvnetGraph *g, const char *name, int x, float p);
int convnet_concat     (ConvnetGraph *g, const char *name, const int *xs,
                        int n, GError **error);
int convnet_add        (ConvnetGraph *g, const char *name, int a, int b,
                        GError **error);
int convnet_softmax    (ConvnetGraph *g, const char *name, int x);
int convnet_lrn        (ConvnetGraph *g, const char *name, int x, int size,
                        float alpha, float beta, float k);
int convnet_channel_affine (ConvnetGraph *g, const char *name, int x,
                            const float *scale, const float *shift,
                            GError **error);

/* Whether node I runs with training kernels and keeps what its backward
 * needs. */
static inline gboolean
convnet_graph_node_trains (const ConvnetGraph *g, int i)
{
  return g->training && i >= g->train_start;
}

/* Whether a plan keeps gradients (training, or a class gradient), and the
 * first node with a gradient buffer. */
static inline gboolean
convnet_graph_wants_gradients (const ConvnetGraph *g)
{
  return g->training || g->grad_node > 0;
}

static inline int
convnet_graph_first_gradient_node (const ConvnetGraph *g)
{
  return g->training ? MAX (g->train_start, g->start_node + 1)
                     : MAX (g->grad_node, g->start_node + 1);
}

/* Training support for graph_forward.c: the extra buffers of a plan and
 * their release (graph_train.c). */
gboolean convnet_graph_plan_training (ConvnetGraph *g, int batch,
                                      GError **error);
void     convnet_graph_release_training (ConvnetGraph *g);

/* Moves every parameter still in a file's mapping into param_block, so
 * that the block holds all of them contiguously (what training's average
 * and best-epoch snapshot use), and drops the mappings. */
void convnet_graph_own_params (ConvnetGraph *g);

/* Grows the convolution workspace to FLOATS floats. */
gboolean convnet_graph_reserve_scratch (ConvnetGraph *g, gsize floats,
                                        GError **error);

/* The inference fast path (graph_fuse.c): which convolutions run on the
 * engine's own kernels, with which BatchNorm, Add and ReLU fused into
 * their store, for the plan being made for BATCH samples.  Sets every
 * node's fused_into and residual and packs the weights it needs.  Nothing
 * is fused under CONVNET_EXACT=1, in a node that keeps gradients, or
 * across a retained node.  Returns FALSE with ERROR if memory runs out. */
gboolean convnet_graph_plan_fast (ConvnetGraph *g, int batch,
                                   GError **error);
/* How many nodes the current plan runs on the fast path: convolutions on
 * packed kernels and the nodes left to their store. */
int      convnet_graph_n_fast_nodes (const ConvnetGraph *g);
/* Frees every node's packed kernel. */
void     convnet_graph_release_fast (ConvnetGraph *g);
/* Frees what the training convolutions packed (graph_train.c). */
void     convnet_graph_release_train_kernels (ConvnetGraph *g);
/* Runs Linear node NODE on its half-precision weights (CONVNET_FC_FP16=1);
 * FALSE when it has none. */
gboolean convnet_graph_run_fast_linear (ConvnetGraph *g, ConvnetNode *node,
                                        int batch);
/* Linear node NODE's weights as the forward reads them: the pack cache's
 * copy when the plan took one, else the parameter. */
const float *convnet_graph_linear_weights (const ConvnetGraph *g,
                                           const ConvnetNode *node);
/* Whether conv node NODE has a packed kernel for this plan. */
gboolean convnet_graph_fast_conv_ready (const ConvnetNode *node);
/* Runs conv node NODE on its packed kernel, each sample's output
 * NODE->out_sample floats apart when that is not 0; FALSE when it has
 * none. */
gboolean convnet_graph_run_fast_conv (ConvnetGraph *g, ConvnetNode *node,
                                      int batch);

/* Frees the current plan's activation buffers. */
void convnet_graph_free_activations (ConvnetGraph *g);

/* Bytes of activation buffers held by the current forward plan. */
gsize convnet_graph_activation_bytes (const ConvnetGraph *g);

static inline ConvnetNode *
convnet_graph_node (const ConvnetGraph *g, int i)
{
  return &g_array_index (g->nodes, ConvnetNode, i);
}

static inline ConvnetParamSlot *
convnet_graph_param_slot (const ConvnetGraph *g, int i)
{
  return &g_array_index (g->params, ConvnetParamSlot, i);
}

#endif
