/* ui.h: the plug-in's dialogs.  GTK 2 and libgimpui only; they talk to
 * the engine, never to GIMP's core. */
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

/* A two-column table of ROWS rows, packed into DIALOG's content area. */
GtkWidget *convnet_ui_dialog_table (GtkWidget *dialog, int rows);

#endif
