/* train.h: training loops over a ConvnetGraph (from scratch or
 * fine-tuning), evaluation, and fine-tuning a model on an image folder. */
#ifndef CONVNET_TRAIN_H
#define CONVNET_TRAIN_H

#include "convnet.h"
#include "data/data.h"
#include "train/optimizer.h"

G_BEGIN_DECLS

typedef struct
{
  const char *stage;          /* "features", "train" or "done" */
  int         epoch;          /* 1-based */
  int         epochs;
  guint       done;           /* samples (or batches) done in this stage */
  guint       total;
  double      lr;
  double      train_loss;     /* mean over the epoch so far */
  double      train_accuracy;
  double      val_loss;       /* after the epoch; < 0 without validation */
  double      val_accuracy;
  double      seconds;        /* the epoch's wall time, at its end */
  gboolean    epoch_done;
} ConvnetTrainProgress;

/* Called after every batch and at every epoch's end; FALSE cancels. */
typedef gboolean (*ConvnetTrainCallback) (const ConvnetTrainProgress *progress,
                                          gpointer                    user_data);

typedef struct
{
  int                       epochs;
  int                       batch_size;
  ConvnetOptimizerSettings  optimizer;
  ConvnetSchedule           schedule;     /* per epoch */
  float                     label_smoothing;
  /* > 0: keep an exponential moving average of the parameters with this
   * decay per step, and end with it (evaluated and returned in place of
   * the last step's parameters) */
  double                    ema_decay;
  guint64                   seed;
  ConvnetAugment            augment;      /* flags 0: none */
  /* a frozen backbone's output can be computed once and the rest trained
   * on that cache (no augmentation only): the node, or NULL */
  const char               *cache_node;
  /* with validation samples: end with the parameters of the epoch whose
   * validation accuracy was best (of equal ones, the later epoch, which
   * trained longer at a smaller rate), not with the last epoch's */
  gboolean                  keep_best_validation;
  ConvnetTrainCallback      callback;
  gpointer                  user_data;
} ConvnetTrainSettings;

/* Torch-like defaults: 10 epochs, batch 64, Adam at 1e-3, constant. */
void convnet_train_defaults (ConvnetTrainSettings *settings);

typedef struct
{
  int     n_classes;
  guint   n;
  double  loss;
  double  accuracy;
  double *class_accuracy;   /* n_classes; NaN for a class with no sample */
  guint  *confusion;        /* n_classes x n_classes: [true][predicted] */
  guint  *predictions;      /* n: the predicted class of each sample */
  int     epoch;            /* in training: measured after this epoch
                               (1-based); 0 otherwise */
} ConvnetEvaluation;

void convnet_evaluation_clear (ConvnetEvaluation *evaluation);

/* Trains GRAPH's trainable parameters (see convnet_graph_freeze_through)
 * on the samples TRAIN of DATA, preprocessed with PRE (and augmented),
 * evaluating on the samples VALIDATION of VAL_DATA (either may be NULL)
 * after each epoch.  LAST_VALIDATION receives the evaluation of the
 * parameters the graph ends with (the last epoch's, or the best one's with
 * keep_best_validation).  Cancelling
 * through the callback is a CONVNET_ERROR_CANCELLED error; the graph then
 * holds the parameters of the last finished step. */
gboolean convnet_train (ConvnetGraph               *graph,
                        const ConvnetPreprocess    *pre,
                        const ConvnetDataset       *data,
                        GArray                     *train,
                        const ConvnetDataset       *val_data,
                        GArray                     *validation,
                        const ConvnetTrainSettings *settings,
                        ConvnetEvaluation          *last_validation,
                        GError                    **error);

/* Accuracy, loss, per-class accuracy and confusion matrix of GRAPH (at
 * inference) on the samples INDICES of DATA (NULL: all). */
gboolean convnet_evaluate (ConvnetGraph            *graph,
                           const ConvnetPreprocess *pre,
                           const ConvnetDataset    *data,
                           GArray                  *indices,
                           ConvnetEvaluation       *evaluation,
                           GError                 **error);

/* ------------------------------------------------------------ fine-tuning */

typedef struct
{
  const char           *base_weights;    /* a checkpoint or our .safetensors */
  const char           *base_arch;       /* NULL when the file says */
  const char           *freeze_through;  /* NULL: the architecture's head input */
  gboolean              train_last_block;
  int                   epochs;
  int                   batch_size;
  double                lr;
  ConvnetOptimizerKind  optimizer;
  guint                 augment;         /* ConvnetAugmentFlags */
  double                validation_share;
  float                 label_smoothing;
  guint64               seed;
  ConvnetTrainCallback  callback;
  gpointer              user_data;
} ConvnetFinetuneSettings;

/* The defaults of `convnet finetune`, plug-in-convnet-finetune and the
 * Fine-tune dialog: Adam at 0.01 for 100 epochs (cosine), batch 16, a
 * fifth of each class held out, the classifier only, no augmentation. */
void convnet_finetune_defaults (ConvnetFinetuneSettings *settings);

typedef struct
{
  ConvnetEvaluation validation;      /* of the kept epoch (.epoch), in the
                                        order of VALIDATION_INDICES */
  GArray           *validation_indices; /* guint: samples of the dataset */
  int               n_classes;
  char            **class_names;       /* NULL-terminated */
  guint             n_train;
  double            seconds;
  char             *freeze_through;
} ConvnetFinetuneResult;

void convnet_finetune_result_clear (ConvnetFinetuneResult *result);

/* Replaces the base model's classifier with one for DATA's classes, trains
 * it (and the last block when asked) on a stratified split of DATA, keeps
 * the epoch with the best validation accuracy (the later of equal ones;
 * the last epoch without a validation share), and writes OUT_PATH
 * (.safetensors) with the class labels, architecture, preprocessing, the
 * kept epoch and the base checkpoint's name in its metadata.  Nothing is
 * written when it fails or is cancelled. */
gboolean convnet_finetune (const ConvnetFinetuneSettings *settings,
                           const ConvnetDataset          *data,
                           const char                    *out_path,
                           ConvnetFinetuneResult         *result,
                           GError                       **error);

G_END_DECLS

#endif
