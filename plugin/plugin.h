/* plugin.h: the procedures' work, host-neutral: drawables, images and
 * layers are named by their IDs on GIMP 2.10 and GIMP 3 alike. */
#ifndef CONVNET_PLUGIN_H
#define CONVNET_PLUGIN_H

#include <libgimp/gimp.h>

#include "convnet.h"

#define PROC_CLASSIFY     "plug-in-convnet-classify"
#define PROC_FEATURE_MAPS "plug-in-convnet-feature-maps"
#define PROC_SALIENCY     "plug-in-convnet-saliency"
#define PROC_FINETUNE     "plug-in-convnet-finetune"
#define PROC_DOWNLOAD     "plug-in-convnet-download"

/* Binds the translations and finds the shipped data beside the
 * executable; returns the locale folder. */
const char *plugin_init_i18n_and_data (void);

/* The folders models are looked up in, user's first (NULL-terminated;
 * owned by the plug-in). */
const char *const *plugin_model_folders (void);

/* Reads the selection's bounds (else the whole drawable) as 8-bit RGB, at
 * most MAX_SIDE pixels on its longer side (downscaled by GEGL, so a huge
 * layer is never read whole).  *X, *Y, *WIDTH, *HEIGHT receive the region
 * in image coordinates. */
ConvnetImage *plugin_read_region (gint32 drawable, int max_side, int *x,
                                  int *y, int *width, int *height,
                                  GError **error);

/* The same for the whole drawable when SELECTION is FALSE. */
ConvnetImage *plugin_read_drawable (gint32 drawable, gboolean selection,
                                    int max_side, int *x, int *y, int *width,
                                    int *height, GError **error);

/* Writes IMAGE (or its selection) as a PNG in the user's gimp-convnet
 * folder, for the fine-tune dialog; returns the path. */
char *plugin_export_image (int image, gboolean selection, gpointer user_data,
                           GError **error);

/* A new layer of the image's base type, filled with PIXELS (8-bit gray or
 * RGB, CHANNELS per pixel, WIDTH x HEIGHT), not yet inserted. */
gint32 plugin_new_layer (gint32 image, const char *name, int width,
                         int height, double opacity, GimpLayerMode mode);
/* Inserts LAYER just above DRAWABLE, in the same layer group. */
void   plugin_insert_above (gint32 image, gint32 layer, gint32 drawable);
/* Writes rows of a layer: FILL (user_data, y, rows, dst) fills ROWS rows
 * of 8-bit RGB starting at row Y; called strip by strip so a layer as
 * large as the image never sits in memory twice. */
typedef void (*PluginRowFiller) (gpointer user_data, int y, int rows,
                                 guint8 *rgb);
void   plugin_fill_layer (gint32 layer, int width, int height,
                          PluginRowFiller fill, gpointer user_data);

/* One preprocessed input for MODEL from the region of DRAWABLE. */
float *plugin_model_input (ConvnetModel *model, gint32 drawable, int *x,
                           int *y, int *width, int *height, GError **error);

/* The procedures, non-interactive: each returns a GError on failure. */
gboolean plugin_classify (ConvnetModel *model, gint32 drawable, int top_k,
                          char ***labels, double **probabilities,
                          int *n_results, GError **error);
gint32   plugin_feature_maps (gint32 image, gint32 drawable,
                              ConvnetModel *model, const char *model_name,
                              const char *node, int max_channels,
                              gboolean as_grid, GError **error);
gint32   plugin_saliency (gint32 image, gint32 drawable, ConvnetModel *model,
                          const char *node, int class_index, GError **error);

/* Fine-tunes BASE on the image folder DATA_DIR and saves the result as
 * NAME in the user's weights folder (replacing a model of that name). */
gboolean plugin_finetune (const char *base, const char *data_dir,
                          const char *name, int epochs, double lr,
                          guint augment, gboolean last_block,
                          double *accuracy, GError **error);

/* Downloads MODEL's official checkpoint (or URL when not empty) into the
 * user's weights folder, verified; returns the path. */
char    *plugin_download (const char *model, const char *url,
                          GError **error);

#endif
