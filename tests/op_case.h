/* op_case.h: one op of the engine configured from JSON settings (an
 * "op" name and its constants), with tensors of the shapes they and the
 * input shape give, run forward and backward on flat floats through
 * ops/ops.h: what test_ops_backward.c checks against PyTorch's fixtures
 * and against finite differences. */
#ifndef CONVNET_TEST_OP_CASE_H
#define CONVNET_TEST_OP_CASE_H

#include "convnet.h"
#include "ops/ops.h"

#include <json-glib/json-glib.h>

typedef enum
{
  K_CONV, K_MAXPOOL, K_AVGPOOL, K_ADAPTIVE, K_BN, K_BN_TRAIN, K_RELU,
  K_SIGMOID, K_TANH, K_LINEAR, K_SOFTMAX, K_LRN, K_CONCAT, K_ADD, K_AFFINE,
  K_CE, K_DROPOUT, N_KINDS
} Kind;

#define MAX_T 4

/* One configured op: its differentiable tensors (inputs, then
 * parameters), its constants and the shapes its kernels take. */
typedef struct
{
  char       *name;
  JsonObject *settings;
  Kind        kind;
  int         n, c, h, w;     /* the (first) input; 2-D ones have h = w = 1 */
  int         n_t;
  char        role[MAX_T][8];
  float      *t[MAX_T];
  gsize       len[MAX_T];
  int         channels[MAX_T];  /* concat's inputs */
  ConvGeometry geo;
  int         out_h, out_w, out_features;
  gsize       n_out;
  float      *consts[2];      /* running mean and var, or scale and shift */
  float      *saved[2];       /* the forward's: BN's mean and invstd, CE's probs */
  float      *mask;           /* dropout: given, or made by the forward */
  gboolean    mask_given;
  int        *targets;
  float      *scratch;
} Op;

/* An op named NAME from the JSON object JSON, with no shapes yet: the
 * caller sets n, c, h, w (and settings a fixture's tensors tell), then
 * calls op_layout. */
Op     *op_new      (const char *name, const char *json);
/* Shapes, tensors and output size from the settings and the input shape
 * (settings "bias", "out_features", "channels" tell what a fixture's
 * tensors tell). */
void    op_layout   (Op *op);
void    op_free     (Op *op);
/* The forward: OUT receives n_out floats (the mean loss for CE). */
void    op_forward  (Op *op, float *out);
/* Accumulates into G[i] (each may be NULL) the gradient of sum (DY * f)
 * with respect to tensor i, running first the forward for what it saves.
 * Cross-entropy's backward has no upstream gradient: DY must be 1. */
void    op_backward (Op *op, const float *dy, float **g);
/* Zeroed gradients for each of OP's tensors, and their release. */
float **new_grads   (const Op *op);
void    free_grads  (float **g);

#endif
