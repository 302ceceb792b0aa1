/* optimizer.h: parameter updates and learning-rate schedules for training,
 * with the semantics of PyTorch 1.13's torch.optim (SGD, Adam, AdamW) and
 * torch.optim.lr_scheduler (StepLR, CosineAnnealingLR, LinearLR warmup
 * joined by SequentialLR).
 *
 * An optimizer works over a list of float32 tensors, each a flat DATA and
 * GRAD array of NUMEL elements with its own state, as one torch parameter
 * with its own state['step'] and buffers.  The learning rate is given to
 * every step, so a schedule is a plain function of the epoch (or step)
 * and never touches the optimizer. */
#ifndef CONVNET_TRAIN_OPTIMIZER_H
#define CONVNET_TRAIN_OPTIMIZER_H

#include "convnet.h"

G_BEGIN_DECLS

/* ------------------------------------------------------------ optimizers */

typedef enum
{
  CONVNET_OPTIMIZER_SGD,
  CONVNET_OPTIMIZER_ADAM,
  CONVNET_OPTIMIZER_ADAMW
} ConvnetOptimizerKind;

/* SGD reads momentum, dampening, weight_decay and nesterov; Adam and
 * AdamW read beta1, beta2, eps and weight_decay.  LR is only the base lr
 * for the caller's schedule: each step is given its own.  Adam adds
 * weight_decay * param to the gradient (L2); AdamW instead scales the
 * parameter by 1 - lr * weight_decay before the update (decoupled). */
typedef struct
{
  ConvnetOptimizerKind kind;
  double               lr;
  double               momentum;
  double               dampening;
  double               weight_decay;
  double               beta1;
  double               beta2;
  double               eps;
  gboolean             nesterov;
} ConvnetOptimizerSettings;

typedef struct ConvnetOptimizer ConvnetOptimizer;

/* Torch's defaults for KIND; SGD has no default lr in torch, 0.1 here. */
void              convnet_optimizer_defaults      (ConvnetOptimizerSettings *settings,
                                                   ConvnetOptimizerKind      kind);
/* "sgd", "adam" or "adamw" (case-insensitive). */
gboolean          convnet_optimizer_kind_from_string (const char           *name,
                                                      ConvnetOptimizerKind *kind,
                                                      GError              **error);
const char       *convnet_optimizer_kind_name     (ConvnetOptimizerKind kind);

/* Checks SETTINGS as torch's constructors do (CONVNET_ERROR_ARGUMENT). */
ConvnetOptimizer *convnet_optimizer_new           (const ConvnetOptimizerSettings *settings,
                                                   GError                        **error);
void              convnet_optimizer_free          (ConvnetOptimizer *opt);
const ConvnetOptimizerSettings *
                  convnet_optimizer_settings      (const ConvnetOptimizer *opt);

/* Registers a tensor; DATA and GRAD stay owned by the caller and must
 * outlive the optimizer.  DECAY says whether weight decay applies (the
 * caller excludes BatchNorm weights and biases when asked).  State
 * buffers (numel floats each, zeroed) are allocated here.  Returns the
 * tensor's index. */
guint             convnet_optimizer_add           (ConvnetOptimizer *opt,
                                                   float            *data,
                                                   const float      *grad,
                                                   gsize             numel,
                                                   gboolean          decay);
guint             convnet_optimizer_n_tensors     (const ConvnetOptimizer *opt);

/* One update of every tensor at learning rate LR, reading the gradients
 * as they are now (GRAD is never written). */
void              convnet_optimizer_step          (ConvnetOptimizer *opt,
                                                   double            lr);

/* For tests and benchmarks: TRUE runs the plain-C kernels that CPUs
 * without AVX2 and FMA get, whose products are rounded before the add
 * (as torch's kernels on such CPUs); by default x86-64 CPUs with AVX2 and
 * FMA fuse them, as torch's AVX2 kernels do. */
void              convnet_optimizer_use_portable_kernels (ConvnetOptimizer *opt,
                                                          gboolean          portable);
/* Whether OPT's kernels fuse multiply-adds (torch's AVX2 ones do, its
 * plain "default" ones do not): which of torch's results it reproduces
 * bit for bit. */
gboolean          convnet_optimizer_kernels_fused (const ConvnetOptimizer *opt);

/* State, for checkpoints: buffer WHICH of tensor INDEX (SGD with momentum:
 * 0 the momentum buffer; Adam/AdamW: 0 exp_avg, 1 exp_avg_sq), numel
 * floats, or NULL when the kind has no such buffer; and the steps the
 * tensor has taken (SGD's momentum buffer is only meaningful after one).
 * Restoring a state means writing the buffers and setting the steps. */
float            *convnet_optimizer_buffer        (ConvnetOptimizer *opt,
                                                   guint             index,
                                                   guint             which);
gint64            convnet_optimizer_steps         (const ConvnetOptimizer *opt,
                                                   guint                   index);
void              convnet_optimizer_set_steps     (ConvnetOptimizer *opt,
                                                   guint             index,
                                                   gint64            steps);

/* ------------------------------------------------------------- schedules */

typedef enum
{
  CONVNET_SCHEDULE_CONSTANT,
  CONVNET_SCHEDULE_STEP,
  CONVNET_SCHEDULE_COSINE
} ConvnetScheduleKind;

/* The lr as a function of a 0-based epoch (or step: the unit is the
 * caller's), the value in effect while that epoch runs, i.e. after that
 * many scheduler.step() calls in torch.
 *
 * Without warmup:
 *   constant  base_lr
 *   step      base_lr * gamma^floor(e / step_size)                 (StepLR)
 *   cosine    eta_min + (base_lr - eta_min) * (1 + cos(pi e / t_max)) / 2
 *             (CosineAnnealingLR's closed form; past t_max it rises again
 *             as torch's does)
 * With WARMUP > 0 epochs, exactly SequentialLR([LinearLR(start_factor =
 * warmup_factor, total_iters = warmup), main], milestones = [warmup]):
 *   e < warmup   base_lr * (warmup_factor + (1 - warmup_factor) * e / warmup)
 *   e >= warmup  the main schedule at epoch e - warmup, restarted
 * so warmup never quite reaches base_lr, and the main schedule starts
 * there at epoch WARMUP.  "Warmup then cosine over the remaining epochs"
 * is t_max = total - warmup, the parser's default. */
typedef struct
{
  ConvnetScheduleKind kind;
  double              base_lr;
  int                 step_size;      /* step */
  double              gamma;          /* step */
  int                 t_max;          /* cosine */
  double              eta_min;        /* cosine: an lr, not a factor */
  int                 warmup;         /* 0: none */
  double              warmup_factor;  /* in (0, 1] */
} ConvnetSchedule;

double   convnet_schedule_lr    (const ConvnetSchedule *schedule,
                                 int                    epoch);

/* Parses a CLI schedule:
 *
 *   spec    := [warmup "+"] main | warmup
 *   warmup  := "warmup:" W [":" FACTOR]      FACTOR defaults to 1/3
 *   main    := "constant"
 *            | "step:" STEP_SIZE [":" GAMMA]  GAMMA defaults to 0.1
 *            | "cosine" [":" T_MAX [":" ETA_MIN]]
 *
 * e.g. "cosine", "step:30", "step:10:0.1", "warmup:2+cosine",
 * "warmup:5:0.01+cosine:90:1e-5".  T_MAX defaults to TOTAL - W, so TOTAL
 * (the epochs or steps trained) is only needed for a bare cosine.  Errors
 * (CONVNET_ERROR_ARGUMENT) quote the spec and the part found wrong. */
gboolean convnet_schedule_parse (const char      *spec,
                                 double           base_lr,
                                 int              total,
                                 ConvnetSchedule *schedule,
                                 GError         **error);

G_END_DECLS

#endif /* CONVNET_TRAIN_OPTIMIZER_H */
