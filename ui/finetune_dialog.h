/* finetune_dialog.h: the fine-tune dialog's state, shared by its two
 * halves: the classes and images (finetune_dialog.c) and the training and
 * its results (finetune_training.c). */
#ifndef CONVNET_FINETUNE_DIALOG_H
#define CONVNET_FINETUNE_DIALOG_H

#include "train/train.h"
#include "ui.h"

#define THUMB 64

enum { CLASS_NAME, CLASS_COUNT, N_CLASS_COLUMNS };
enum { THUMB_PIXBUF, THUMB_PATH, N_THUMB_COLUMNS };

static const struct { guint flag; const char *label; } augmentations[] = {
  { CONVNET_AUGMENT_FLIP, N_("Flip") },
  { CONVNET_AUGMENT_CROP, N_("Random crop") },
  { CONVNET_AUGMENT_COLOR, N_("Colour jitter") },
  { CONVNET_AUGMENT_ROTATE, N_("Rotation") },
  { CONVNET_AUGMENT_ERASE, N_("Random erasing") },
};

typedef struct
{
  int    epoch;
  double train_loss, train_accuracy, val_loss, val_accuracy;
} EpochPoint;

typedef struct
{
  const char *const         *folders;
  const ConvnetUiImageSource *source;
  ConvnetUiProject          *project;
  GtkWidget *dialog, *class_view, *icon_view, *model, *epochs, *lr, *share;
  GtkWidget *last_block, *augment[G_N_ELEMENTS (augmentations)], *preview;
  GtkWidget *image_combo, *curves, *progress, *status, *results, *name;
  GtkWidget *train_button, *cancel_button, *save_button;
  GtkListStore *classes, *thumbs;
  GArray    *points;               /* EpochPoint */
  /* the training thread and what it hands back */
  GThread               *thread;
  gint                   cancel;
  ConvnetDataset        *data;
  ConvnetFinetuneResult  result;
  GError                *error;
  char                  *temp_path;
  char                  *saved;
} Tune;


GPtrArray *tune_class_files     (Tune *t, int c);
int        tune_selected_class  (Tune *t);
void       tune_add_class_row   (Tune *t, const char *name);
void       tune_refresh_counts  (Tune *t);
void       tune_show_thumbnails (Tune *t);
void       tune_preview_augmentations (Tune *t);

/* finetune_training.c */
GtkWidget *tune_curves_new      (Tune *t);
void       tune_on_train        (GtkWidget *button, Tune *t);
void       tune_on_cancel       (GtkWidget *button, Tune *t);
void       tune_on_save         (GtkWidget *button, Tune *t);
void       tune_read_settings   (Tune *t);
void       tune_finish          (Tune *t);

#endif
