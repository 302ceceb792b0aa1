/* ui.h: the plug-in's dialogs.  GTK and libgimpui only (GTK 2 with
 * libgimpui-2.0 for GIMP 2.10, GTK 3 with libgimpui-3.0 for GIMP 3, the
 * differences kept in gtk-compat.h); they talk to the engine, never to
 * GIMP's core. */
#ifndef CONVNET_UI_H
#define CONVNET_UI_H

#include <gtk/gtk.h>

/* Runs a classification for the dialog: MODEL on the current drawable. */
typedef gboolean (*ConvnetUiClassify) (const char *model, int top_k,
                                       char ***labels, double **probabilities,
                                       int *n, gpointer user_data,
                                       GError **error);

/* Model chooser, top-K and a Classify button showing the classes as
 * probability bars.  MODEL (a buffer of MODEL_SIZE) and TOP_K are read and
 * updated; the results of the last classification are returned.  FALSE
 * when closed without any result. */
gboolean convnet_ui_classify_dialog (const char *const *folders, char *model,
                                     gsize model_size, int *top_k,
                                     ConvnetUiClassify classify,
                                     gpointer user_data, char ***labels,
                                     double **probabilities, int *n);

/* Model, node (listed with its shape), channel count and grid option. */
gboolean convnet_ui_feature_maps_dialog (const char *const *folders,
                                         char *model, gsize model_size,
                                         char *node, gsize node_size,
                                         int *max_channels, gboolean *as_grid);

/* Model, node, and the class to explain, chosen among the top classes
 * (its label is written to CLASS_LABEL; "" for the top class). */
gboolean convnet_ui_saliency_dialog (const char *const *folders, char *model,
                                     gsize model_size, char *node,
                                     gsize node_size, char *class_label,
                                     gsize class_label_size,
                                     ConvnetUiClassify classify,
                                     gpointer user_data);

/* A combo box of the models in FOLDERS with SELECTED active; its active
 * text is the model name. */
GtkWidget *convnet_ui_model_combo (const char *const *folders,
                                   const char *selected);
/* Refills such a combo (after a download) with SELECTED active. */
void       convnet_ui_model_combo_fill (GtkWidget         *combo,
                                        const char *const *folders,
                                        const char        *selected);

/* The model combo (returned in *COMBO) with a Download... button beside
 * it, which fetches torchvision's official checkpoint of an architecture
 * into FOLDERS[0] and then selects it in the combo.  FOLDERS must outlive
 * the widget. */
GtkWidget *convnet_ui_model_chooser (const char *const *folders,
                                     const char        *selected,
                                     GtkWidget        **combo);

/* ------------------------------------------------------------ fine-tune */

/* What the fine-tune dialog edits, and its project file. */
typedef struct
{
  char      *base_model;
  int        epochs;
  double     lr;
  double     validation_share;
  gboolean   train_last_block;
  guint      augment;        /* ConvnetAugmentFlags */
  GPtrArray *class_names;    /* char *, owned */
  GPtrArray *class_files;    /* GPtrArray of char * per class */
} ConvnetUiProject;

ConvnetUiProject *convnet_ui_project_new       (void);
void              convnet_ui_project_free      (ConvnetUiProject *project);
void              convnet_ui_project_add_class (ConvnetUiProject *project,
                                                const char       *name);
gboolean          convnet_ui_project_save      (const ConvnetUiProject *project,
                                                const char             *path,
                                                GError                **error);
ConvnetUiProject *convnet_ui_project_load      (const char *path,
                                                GError    **error);
/* Replaces PROJECT's contents with FROM's, in place, and frees FROM. */
void              convnet_ui_project_take      (ConvnetUiProject *project,
                                                ConvnetUiProject *from);

/* Images open in GIMP, for the dialog: the host exports an image (or its
 * selection) as a PNG file and returns its path. */
typedef struct
{
  char   *(*export_image) (int image, gboolean selection, gpointer user_data,
                           GError **error);
  gpointer user_data;
} ConvnetUiImageSource;

/* The fine-tune dialog.  Returns the name the model was saved under (to
 * g_free), or NULL when the user closed without saving.  PROJECT is edited
 * in place (it carries the dialog's last values). */
char *convnet_ui_finetune_dialog (const char *const          *folders,
                                  const ConvnetUiImageSource *source,
                                  ConvnetUiProject           *project);

/* A grid (a table in GTK 2) packed into DIALOG's content area, for a
 * label and its widget per row (compat_grid_attach_aligned); it grows as
 * rows are attached. */
GtkWidget *convnet_ui_dialog_table (GtkWidget *dialog);

#endif
