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
#define PROC_CLASSIFY_FILES "plug-in-convnet-classify-files"
#define PROC_EXPLAIN_FILES "plug-in-convnet-explain-files"

/* Binds the translations and finds the shipped data beside the
 * executable; returns the locale folder. */
const char *plugin_init_i18n_and_data (void);

/* The folders models are looked up in, user's first (NULL-terminated;
 * owned by the plug-in). */
const char *const *plugin_model_folders (void);
/* Model NAME from those folders, with GIMP progress. */
ConvnetModel      *plugin_load_model (const char *name, GError **error);
/* Model NAME kept loaded between calls (a dialog's Classify clicks) while
 * its file stays the same; owned by the plug-in.  _take hands it to the
 * caller to free; _drop frees it. */
ConvnetModel      *plugin_warm_model      (const char *name, GError **error);
ConvnetModel      *plugin_warm_model_take (const char *name, GError **error);
void               plugin_warm_model_drop (void);

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
/* The same, and the part of the region the network sees (an ImageNet
 * model's centre crop) in *X, *Y, *WIDTH, *HEIGHT: where its layers go. */
float *plugin_model_input_window (ConvnetModel *model, gint32 drawable,
                                  int *x, int *y, int *width, int *height,
                                  GError **error);

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

/* A node's feature maps tiled in a grid, as plug-in-convnet-feature-maps
 * shows them with as-grid: NODE's ("" = the architecture's last
 * convolutional block) channels of one preprocessed INPUT, most active
 * first (at most MAX_CHANNELS, 0 = all), each normalised on its own in a
 * tile of a WIDTH x HEIGHT grid whose gaps are transparent.  The same
 * pixels go to a layer or, row by row, to any RGBA buffer. */
typedef struct _PluginFeatureGrid PluginFeatureGrid;

PluginFeatureGrid *plugin_feature_grid_new  (ConvnetModel *model,
                                             const float *input,
                                             const char *node,
                                             int max_channels, int width,
                                             int height, GError **error);
/* the node shown, "" resolved */
const char        *plugin_feature_grid_node (const PluginFeatureGrid *grid);
/* ROWS rows of 8-bit RGBA from row Y */
void               plugin_feature_grid_rows (const PluginFeatureGrid *grid,
                                             int y, int rows, guint8 *rgba);
void               plugin_feature_grid_free (PluginFeatureGrid *grid);
/* The grid as a new layer NAME above DRAWABLE, at X, Y */
gint32             plugin_feature_grid_layer (gint32 image, gint32 drawable,
                                              const PluginFeatureGrid *grid,
                                              const char *name, int x, int y);

/* The saliency layer's opacity, also the heatmap's over the photo in
 * plug-in-convnet-explain-files' PNGs */
#define PLUGIN_HEATMAP_OPACITY 55.0

/* Decodes the image file PATH to 8-bit RGB: with the engine's decoder,
 * else, for a format it cannot read (XCF, WebP, ...), with GIMP's own
 * loaders, the image flattened. */
ConvnetImage *plugin_image_load_any (const char *path, GError **error);

/* Explains every image FILES names (a glob, a folder searched
 * recursively, or one file) with MODEL into OUT_FOLDER: per image its
 * NODE feature-map grid and Grad-CAM heatmap as PNGs, and with SAVE_XCF an
 * XCF holding the photo and both layers.  A file that fails is told in a
 * message and counted in *FAILED; FALSE only when the job cannot start
 * (with ERROR) or is cancelled (without). */
gboolean plugin_explain_files (ConvnetModel *model, const char *model_name,
                               const char *files, const char *node,
                               const char *out_folder, gboolean save_xcf,
                               int *explained, int *failed, GError **error);

/* Classifies every image FILES names (a glob, a folder searched
 * recursively, or one file) with MODEL, TOP_K classes each, into the CSV
 * CSV_PATH (written atomically).  A file that cannot be read is a row of
 * its own saying why, told in a message and counted in *FAILED; FALSE
 * only when the job cannot be done (no files, no CSV written). */
gboolean plugin_classify_files (ConvnetModel *model, const char *files,
                                int top_k, const char *csv_path,
                                int *classified, int *failed,
                                GError **error);

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
