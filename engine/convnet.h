/* convnet.h: the public interface of libconvnet, a convolutional-network
 * engine for the classic image classifiers (LeNet-5, AlexNet, VGG, ResNet,
 * GoogLeNet) that loads torchvision checkpoints.
 *
 * A network is a ConvnetGraph: built first (shapes inferred, every node
 * named with torchvision's module path), then computed.  Tensors are float32
 * NCHW; the batch size is chosen at each forward pass.
 *
 * This header never includes GIMP or GTK; only GLib. */
#ifndef CONVNET_H
#define CONVNET_H

#include <glib.h>
#include <stdint.h>

G_BEGIN_DECLS

#define CONVNET_ERROR (convnet_error_quark ())
GQuark convnet_error_quark (void);

typedef enum
{
  CONVNET_ERROR_IO,          /* a file could not be read or written */
  CONVNET_ERROR_FORMAT,      /* a file is malformed or truncated */
  CONVNET_ERROR_FORBIDDEN,   /* a pickle asks for a global we refuse */
  CONVNET_ERROR_MISMATCH,    /* weights do not fit the model */
  CONVNET_ERROR_ARGUMENT,    /* a bad name, size or option */
  CONVNET_ERROR_LIMIT,       /* a size beyond what we accept */
  CONVNET_ERROR_CANCELLED,   /* the caller's callback asked to stop */
  CONVNET_ERROR_NETWORK,     /* a download failed on the network's side */
  CONVNET_ERROR_UNSUPPORTED  /* an image format the decoder cannot read */
} ConvnetErrorCode;

/* ---------------------------------------------------------------- dtypes */

typedef enum
{
  CONVNET_DTYPE_F32,
  CONVNET_DTYPE_F16,
  CONVNET_DTYPE_BF16,
  CONVNET_DTYPE_F64,
  CONVNET_DTYPE_I64,
  CONVNET_DTYPE_I32,
  CONVNET_DTYPE_I16,
  CONVNET_DTYPE_I8,
  CONVNET_DTYPE_U8,
  CONVNET_DTYPE_BOOL
} ConvnetDType;

const char *convnet_dtype_name (ConvnetDType dtype);
gsize       convnet_dtype_size (ConvnetDType dtype);

#define CONVNET_MAX_DIMS 8

/* ------------------------------------------------------------ weight files */

/* One tensor found in a weights file.  DATA points into the mapped file at
 * the tensor's first element; STRIDES are in elements (row-major for
 * safetensors).  The bounds were checked when the file was opened. */
typedef struct
{
  const char   *name;
  ConvnetDType  dtype;
  int           ndim;
  int64_t       shape[CONVNET_MAX_DIMS];
  int64_t       strides[CONVNET_MAX_DIMS];
  const guint8 *data;
} ConvnetTensorEntry;

typedef struct ConvnetWeightFile ConvnetWeightFile;

/* Opens a torch.save state_dict (zip or legacy pre-1.6 format) or a
 * .safetensors file, detected from its content.  The pickle inside a torch
 * file is interpreted, never executed: globals outside the state_dict
 * vocabulary are refused with CONVNET_ERROR_FORBIDDEN. */
ConvnetWeightFile        *convnet_weight_file_open     (const char *path,
                                                        GError    **error);
void                      convnet_weight_file_free     (ConvnetWeightFile *file);
const char               *convnet_weight_file_path     (const ConvnetWeightFile *file);
guint                     convnet_weight_file_n_tensors (const ConvnetWeightFile *file);
const ConvnetTensorEntry *convnet_weight_file_tensor   (const ConvnetWeightFile *file,
                                                        guint index);
const ConvnetTensorEntry *convnet_weight_file_lookup   (const ConvnetWeightFile *file,
                                                        const char *name);
/* The safetensors "__metadata__" map (string to string); NULL for torch
 * files or when absent. */
GHashTable               *convnet_weight_file_metadata (const ConvnetWeightFile *file);

/* Converts ENTRY (any float dtype, any strides) into N contiguous floats at
 * DST, where N must equal the entry's element count. */
gboolean convnet_tensor_entry_to_f32 (const ConvnetTensorEntry *entry,
                                      float                    *dst,
                                      gsize                     n,
                                      GError                  **error);
gsize    convnet_tensor_entry_numel  (const ConvnetTensorEntry *entry);

/* A float32 tensor to be written. */
typedef struct
{
  const char  *name;
  int          ndim;
  int64_t      shape[CONVNET_MAX_DIMS];
  const float *data;
} ConvnetTensorView;

/* Writes a .safetensors file atomically (temp file + rename).  METADATA
 * may be NULL; keys and values are strings. */
gboolean convnet_safetensors_write (const char              *path,
                                    const ConvnetTensorView *tensors,
                                    guint                    n_tensors,
                                    GHashTable              *metadata,
                                    GError                 **error);

/* ------------------------------------------------------------------- npy */

/* Reads a little-endian float32 (or float64, converted) C-order .npy file.
 * *DATA is g_free()d by the caller. */
gboolean convnet_npy_read  (const char *path,
                            int        *ndim,
                            int64_t     shape[CONVNET_MAX_DIMS],
                            float     **data,
                            GError    **error);
/* Writes float32 .npy atomically. */
gboolean convnet_npy_write (const char    *path,
                            int            ndim,
                            const int64_t *shape,
                            const float   *data,
                            GError       **error);

/* ----------------------------------------------------------------- rng */

/* A seeded generator (xoshiro256**): the same seed gives the same
 * shuffles, augmentations, dropout masks and initial weights everywhere. */
typedef struct
{
  guint64 s[4];
} ConvnetRng;

void    convnet_rng_seed    (ConvnetRng *rng, guint64 seed);
guint64 convnet_rng_next    (ConvnetRng *rng);
/* Uniform in [0, 1). */
double  convnet_rng_uniform (ConvnetRng *rng);
/* Uniform integer in [0, n), n > 0, without modulo bias. */
guint64 convnet_rng_below   (ConvnetRng *rng, guint64 n);
/* Standard normal. */
double  convnet_rng_normal  (ConvnetRng *rng);

/* ---------------------------------------------------------------- graph */

typedef enum
{
  CONVNET_OP_INPUT,
  CONVNET_OP_CONV2D,
  CONVNET_OP_MAXPOOL2D,
  CONVNET_OP_AVGPOOL2D,
  CONVNET_OP_ADAPTIVE_AVGPOOL2D,
  CONVNET_OP_BATCHNORM2D,
  CONVNET_OP_RELU,
  CONVNET_OP_SIGMOID,
  CONVNET_OP_TANH,
  CONVNET_OP_LINEAR,
  CONVNET_OP_FLATTEN,
  CONVNET_OP_DROPOUT,
  CONVNET_OP_CONCAT,
  CONVNET_OP_ADD,
  CONVNET_OP_SOFTMAX,
  CONVNET_OP_LRN,
  CONVNET_OP_CHANNEL_AFFINE,  /* y[c] = x[c] * scale[c] + shift[c], fixed */
  CONVNET_OP_KIND_COUNT       /* not an op: the number of kinds above */
} ConvnetOpKind;

const char *convnet_op_name (ConvnetOpKind op);

typedef struct ConvnetGraph ConvnetGraph;

/* A node's output shape for one sample: C x H x W (H = W = 1 after
 * Flatten and Linear). */
typedef struct
{
  int c, h, w;
} ConvnetShape;

typedef struct
{
  const char    *name;        /* torchvision module path */
  ConvnetOpKind  op;
  ConvnetShape   shape;
  gboolean       flat;        /* features only: shape is c x 1 x 1 */
  gboolean       is_block;    /* a block alias (layer3.2, inception4a) */
  int            node;        /* the node whose output this name reads */
  guint64        params;      /* parameters owned (blocks: all inside) */
  guint64        macs;        /* multiply-accumulates for one sample */
} ConvnetNodeInfo;

/* A learnable parameter or buffer, named as in the state_dict. */
typedef struct
{
  const char *name;
  int         ndim;
  int64_t     shape[4];
  float      *data;           /* after writing here, say so with
                                 convnet_graph_weights_changed() */
  float      *grad;           /* while training: NULL when frozen */
  gboolean    is_buffer;      /* running_mean/running_var: not learnable */
} ConvnetParam;

guint                  convnet_graph_n_names   (const ConvnetGraph *graph);
const ConvnetNodeInfo *convnet_graph_name_info (const ConvnetGraph *graph,
                                                guint               index);
const ConvnetNodeInfo *convnet_graph_lookup    (const ConvnetGraph *graph,
                                                const char         *name);
guint                  convnet_graph_n_params  (const ConvnetGraph *graph);
const ConvnetParam    *convnet_graph_param     (const ConvnetGraph *graph,
                                                guint               index);
const ConvnetParam    *convnet_graph_find_param (const ConvnetGraph *graph,
                                                 const char         *name);
guint64                convnet_graph_param_count (const ConvnetGraph *graph);
guint64                convnet_graph_macs       (const ConvnetGraph *graph);
ConvnetShape           convnet_graph_input_shape (const ConvnetGraph *graph);
ConvnetShape           convnet_graph_output_shape (const ConvnetGraph *graph);
void                   convnet_graph_free       (ConvnetGraph *graph);

/* Says that parameters were written through ConvnetParam.data: inference
 * packs copies of some weights (with BatchNorm folded in) for its fast
 * kernels, and packs them again at the next forward.  Loading,
 * initialising and training say it themselves. */
void     convnet_graph_weights_changed (ConvnetGraph *graph);

/* Fills every parameter with torch's default initialisation for its
 * module, from a seeded generator (for benchmarks and tests). */
void     convnet_graph_init_random  (ConvnetGraph *graph,
                                     guint64       seed);
/* Loads every parameter from a weights file.  A missing or unexpected key,
 * a wrong shape or an unusable dtype is a CONVNET_ERROR_MISMATCH naming the
 * file, the tensor and both shapes. */
gboolean convnet_graph_load_weights (ConvnetGraph *graph,
                                     const char   *path,
                                     GError      **error);
gboolean convnet_graph_load_weight_file (ConvnetGraph            *graph,
                                         const ConvnetWeightFile *file,
                                         GError                 **error);

/* The same, leaving the parameters whose names start with SKIP_PREFIX
 * (a classifier being replaced) untouched and unchecked. */
gboolean convnet_graph_load_weight_file_except (ConvnetGraph            *graph,
                                                const ConvnetWeightFile *file,
                                                const char              *skip_prefix,
                                                GError                 **error);
/* Initialises only the parameters whose names start with PREFIX. */
void     convnet_graph_init_random_prefix (ConvnetGraph *graph,
                                           const char   *prefix,
                                           guint64       seed);

/* Keeps the named node's activation readable after the next forward. */
gboolean     convnet_graph_retain     (ConvnetGraph *graph,
                                       const char   *name,
                                       GError      **error);
/* Runs BATCH samples of the input shape, NCHW, through the network. */
gboolean     convnet_graph_forward    (ConvnetGraph *graph,
                                       const float  *input,
                                       int           batch,
                                       GError      **error);
/* Makes ready, now, what the next forward of BATCH samples would make
 * first (its buffers; its weights packed, or their packings read from the
 * cache), so that a caller can do it while it reads its inputs. */
gboolean     convnet_graph_prepare    (ConvnetGraph *graph,
                                       int           batch,
                                       GError      **error);
/* The final output of the last forward: BATCH x output shape. */
const float *convnet_graph_output     (const ConvnetGraph *graph);
/* A retained node's activation of the last forward, or NULL with an error
 * if the name is unknown or was not retained. */
const float *convnet_graph_activation (const ConvnetGraph *graph,
                                       const char         *name,
                                       ConvnetShape       *shape,
                                       GError            **error);

/* Runs the nodes after NAME only, with NAME's activation given (a batch of
 * BATCH); used to train a head on cached features.  No node after NAME may
 * read a node before it. */
gboolean     convnet_graph_forward_from (ConvnetGraph *graph,
                                         const char   *name,
                                         const float  *activation,
                                         int           batch,
                                         GError      **error);

/* ------------------------------------------------------------ training */

/* Training mode: BatchNorm uses (and updates) batch statistics and Dropout
 * drops, in the trainable nodes; frozen nodes always run as at inference.
 * Gradients are kept for the trainable parameters (ConvnetParam.grad). */
void     convnet_graph_set_training (ConvnetGraph *graph,
                                     gboolean      training,
                                     guint64       seed);
/* Freezes every node up to and including NAME (NULL: none, all trainable).
 * Frozen parameters get no gradient. */
gboolean convnet_graph_freeze_through (ConvnetGraph *graph,
                                       const char   *name,
                                       GError      **error);
/* Softmax cross-entropy of the last forward's output against TARGETS
 * (class indices), mean over the batch, with optional label smoothing. */
gboolean convnet_graph_loss     (ConvnetGraph *graph,
                                 const int    *targets,
                                 float         label_smoothing,
                                 float        *loss,
                                 GError      **error);
/* Gradients of that loss for every trainable parameter (overwritten). */
gboolean convnet_graph_backward (ConvnetGraph *graph,
                                 GError      **error);

/* Class activation maps (Grad-CAM): after want_gradient (NAME), forward
 * passes at inference keep what a backward needs, and class_gradient gives
 * d output[class] / d activation(NAME) for every sample of the last
 * forward (batch x NAME's shape), valid until the next forward.  NULL
 * stops keeping it. */
gboolean     convnet_graph_want_gradient  (ConvnetGraph *graph,
                                           const char   *name,
                                           GError      **error);
const float *convnet_graph_class_gradient (ConvnetGraph *graph,
                                           int           class_index,
                                           GError      **error);

/* Profiling, for benchmarks: while on, every forward pass adds each
 * node's wall time to that node's total (turning it on again starts the
 * totals from zero).  NODE counts every node of the graph, the unnamed
 * ones (NAME NULL) too. */
void     convnet_graph_set_profiling (ConvnetGraph  *graph,
                                      gboolean       on);
guint    convnet_graph_n_nodes       (const ConvnetGraph *graph);
double   convnet_graph_node_seconds  (const ConvnetGraph *graph,
                                      guint               node,
                                      ConvnetOpKind      *op,
                                      const char        **name);

/* Sets the threads the engine's kernels and OpenBLAS use (0: leaves them
 * as they are: all the processors at first), and ends OpenBLAS's idle
 * workers, which would spin for about 0.1 s (OpenBLAS starts them again
 * when it next needs them).  Not while another thread runs the engine. */
void convnet_set_threads (int threads);

/* --------------------------------------------------------------- models */

typedef struct
{
  gboolean grayscale;       /* one channel (lenet5) */
  int      resize_shorter;  /* 0: resize straight to crop size */
  int      crop_height;
  int      crop_width;
  float    mean[3];
  float    std[3];
  /* light-on-dark models (lenet5): a picture whose border is light on
   * average is inverted first */
  gboolean invert_light_background;
} ConvnetPreprocess;

typedef struct
{
  const char        *name;           /* torchvision constructor name */
  const char        *family;         /* lenet, alexnet, vgg, resnet, googlenet */
  int                default_classes;
  int                input_channels;
  int                default_height;
  int                default_width;
  int                min_size;       /* smallest H and W it accepts */
  ConvnetPreprocess  preprocess;
  const char        *labels;         /* label file name under the labels dir */
  const char        *checkpoint;     /* torchvision's file name, or NULL */
  const char        *cam_node;       /* default node for class activation maps */
  const char        *head;           /* the classifier layer replaced by fine-tuning */
  const char        *features;       /* the node feeding it: what a frozen backbone gives */
  const char        *last_block_freeze; /* freeze through this to train the last block too */
  /* Builder options for the small variants.  WIDTH is the first stage's
   * channels (0: torchvision's 64), and every other width scales with it;
   * SMALL_INPUT swaps the stem for a 3x3 convolution at stride 1 without
   * the first max-pool (28x28 images); PLAIN drops the ResNet shortcuts,
   * as the ResNet paper's "plain" networks. */
  int                width;
  gboolean           small_input;
  gboolean           plain;
} ConvnetArch;

guint              convnet_arch_count  (void);
const ConvnetArch *convnet_arch_nth    (guint index);
const ConvnetArch *convnet_arch_lookup (const char *name);

/* Builds architecture NAME for NUM_CLASSES outputs (<= 0: its default) and
 * an input of HEIGHT x WIDTH (<= 0: its default).  Parameters are zero
 * until loaded or initialised. */
ConvnetGraph *convnet_model_build (const char *name,
                                   int         num_classes,
                                   int         height,
                                   int         width,
                                   GError    **error);

/* ---------------------------------------------------------- model files */

/* A network ready to classify: graph with weights, labels and the
 * preprocessing its weights expect. */
typedef struct
{
  char              *arch;
  char              *path;
  ConvnetGraph      *graph;
  char             **labels;     /* n_classes entries, NULL-terminated */
  int                n_classes;
  ConvnetPreprocess  preprocess;
  GHashTable        *metadata;   /* the file's own, or NULL */
} ConvnetModel;

/* Loads PATH (a torchvision checkpoint or a .safetensors of ours).  ARCH
 * may be NULL when the file's metadata names it.  The number of classes
 * comes from the file's classifier; labels from its metadata, else the
 * architecture's label file when the counts agree, else "class N". */
ConvnetModel *convnet_model_load (const char *path,
                                  const char *arch,
                                  int         height,
                                  int         width,
                                  GError    **error);
/* ARCH with torch's default initialisation from SEED (benchmarks). */
ConvnetModel *convnet_model_new_random (const char *arch,
                                        int         height,
                                        int         width,
                                        guint64     seed,
                                        GError    **error);
void          convnet_model_free (ConvnetModel *model);

/* Writes GRAPH's parameters and buffers as .safetensors (atomically) with
 * metadata that makes the file self-describing: "architecture",
 * "classes" (a JSON array), "preprocess" (JSON), plus EXTRA's pairs. */
gboolean      convnet_model_save (ConvnetGraph            *graph,
                                  const char              *arch,
                                  const char *const       *labels,
                                  const ConvnetPreprocess *preprocess,
                                  GHashTable              *extra,
                                  const char              *path,
                                  GError                 **error);

/* The architecture of FILE (ARCH_NAME, or what its metadata says; a
 * disagreement is an error) and the preprocessing its weights expect. */
const ConvnetArch *convnet_weight_file_arch (const ConvnetWeightFile *file,
                                             const char              *arch_name,
                                             ConvnetPreprocess       *preprocess,
                                             GError                 **error);

/* The classifier size stored in a weights file for ARCH, or 0. */
int           convnet_weight_file_classes (const ConvnetWeightFile *file,
                                           const ConvnetArch       *arch);

/* ---------------------------------------------------------- models by name */

typedef struct
{
  char *name;   /* what the user picks: lenet5-fashion, resnet50, mine */
  char *path;   /* NULL for an architecture whose checkpoint is missing */
  char *arch;   /* torchvision architecture for .pth files, else NULL */
} ConvnetModelEntry;

/* The weights folder in the user's data folder
 * ($XDG_DATA_HOME/gimp-convnet/weights), where `convnet fetch` saves and
 * the plug-in looks; g_free() the result. */
char         *convnet_user_weights_folder    (void);

/* The models in FOLDERS (searched in order, first wins): every
 * NAME.safetensors, and every architecture whose torchvision checkpoint
 * file is there, under its official name or another release's
 * (resnet50-11ad3fa6.pth for resnet50-0676ba61.pth); with
 * INCLUDE_MISSING, the others too, path NULL. */
GPtrArray    *convnet_model_registry_list    (const char *const *folders,
                                              gboolean           include_missing);
/* The file for NAME; an unknown name or a missing checkpoint is an error
 * saying which file to put where and where to download it.  *ARCH is set
 * for torchvision checkpoints. */
char         *convnet_model_registry_resolve (const char *const *folders,
                                              const char        *name,
                                              const char       **arch,
                                              GError           **error);
ConvnetModel *convnet_model_registry_load    (const char *const *folders,
                                              const char        *name,
                                              GError           **error);
/* The architecture whose torchvision checkpoint the file name FILE is,
 * under its official name or another release's (resnet18-0123abcd.pth
 * for resnet18-f37072fd.pth), or NULL. */
const ConvnetArch *convnet_arch_for_checkpoint (const char *file);

/* ------------------------------------------------ downloading checkpoints */

/* torchvision's download folder, or $CONVNET_DOWNLOAD_URL (a mirror). */
const char *convnet_download_base_url (void);
/* Where ARCH's official checkpoint is published; g_free() the result. */
char       *convnet_checkpoint_url    (const char *arch,
                                       GError    **error);

/* Told of a download's progress: RECEIVED of TOTAL bytes (0 while
 * unknown), a resumed download's earlier bytes included.  Returning FALSE
 * cancels it.  Called from the downloading thread. */
typedef gboolean (*ConvnetFetchProgress) (guint64  received,
                                          guint64  total,
                                          gpointer user_data);

/* Downloads URL (http or https) into FOLDER, created if need be, under the
 * file name that ends URL's path.  That name must carry the start of the
 * file's SHA-256 as torch.hub's do (resnet18-f37072fd.pth), and the file
 * appears under it only once the bytes match.  Meanwhile they go to
 * FOLDER/.NAME.part: an interrupted transfer keeps it and the next call
 * resumes it; a mismatch or a cancel removes it.  A file already there
 * whose hash matches is returned as is.  Errors name the URL, the folder
 * and the file name, so a user without a network knows what to fetch by
 * hand.  Returns the path, to g_free(). */
char *convnet_fetch_url        (const char          *url,
                                const char          *folder,
                                ConvnetFetchProgress progress,
                                gpointer             user_data,
                                GError             **error);
/* ARCH's official checkpoint: convnet_fetch_url() of its URL. */
char *convnet_fetch_checkpoint (const char          *arch,
                                const char          *folder,
                                ConvnetFetchProgress progress,
                                gpointer             user_data,
                                GError             **error);

/* ---------------------------------------------------------- explanations */

/* The K most probable classes of one sample's LOGITS (softmax), best
 * first: their indices and probabilities.  Returns min (K, CLASSES). */
int      convnet_top_classes  (const float *logits,
                               int          classes,
                               int          k,
                               int         *indices,
                               float       *probabilities);

/* Grad-CAM of CLASS_INDEX (-1: the top class, written to *CLASS_INDEX) at
 * NODE (NULL: the architecture's default) for one preprocessed INPUT:
 * relu (sum over channels of mean gradient x activation), scaled to a
 * maximum of 1 (all zero when nothing is positive).  *MAP (g_free) is
 * *HEIGHT x *WIDTH.  A class outside 0 .. n_classes - 1 (other than -1)
 * or a node without a spatial layout is an error. */
gboolean convnet_gradcam      (ConvnetModel *model,
                               const float  *input,
                               const char   *node,
                               int          *class_index,
                               float       **map,
                               int          *height,
                               int          *width,
                               GError      **error);
/* NODE's activation for one preprocessed INPUT (*MAPS, g_free) and its
 * channels ordered by mean activation, most active first (*ORDER). */
gboolean convnet_feature_maps (ConvnetModel *model,
                               const float  *input,
                               const char   *node,
                               float       **maps,
                               ConvnetShape *shape,
                               int         **order,
                               GError      **error);
/* Bilinear resize of one float plane (torch's align_corners=False); the
 * _rows variant computes only ROWS output rows from FIRST_ROW, so that a
 * layer-sized result can be made strip by strip. */
void     convnet_resize_plane (const float *src, int src_width, int src_height,
                               float *dst, int dst_width, int dst_height);
void     convnet_resize_plane_rows (const float *src, int src_width,
                                    int src_height, float *dst, int dst_width,
                                    int dst_height, int first_row, int rows);
/* A perceptual colour map (turbo) for V in [0, 1]. */
void     convnet_colormap     (float v, guint8 rgb[3]);

/* --------------------------------------------------------------- images */

typedef struct
{
  int     width;
  int     height;
  int     channels;   /* 1 or 3 */
  guint8 *pixels;     /* rows of width * channels bytes, no padding */
} ConvnetImage;

/* Decodes a PNG or JPEG (anything gdk-pixbuf reads) to 8-bit RGB; alpha
 * is dropped, as PIL's convert("RGB") does. */
ConvnetImage *convnet_image_load (const char *path,
                                  GError    **error);
ConvnetImage *convnet_image_new  (int width, int height, int channels);
void          convnet_image_free (ConvnetImage *image);

/* Writes the preprocessed CHW floats for one sample into OUT, which holds
 * (grayscale ? 1 : 3) * crop_height * crop_width floats: resize (shorter
 * side, bilinear with antialias as torchvision on PIL images), center crop,
 * scale to [0,1], normalise. */
gboolean convnet_preprocess_image (const ConvnetPreprocess *pre,
                                   const ConvnetImage      *image,
                                   float                   *out,
                                   GError                 **error);

/* The part of a WIDTH x HEIGHT image the network sees after PRE's resize
 * and centre crop, in source pixels (fractional: the crop's edges fall
 * between source pixels).  X and Y are negative, and the window larger
 * than the image, where the crop pads; resize_shorter 0 gives the whole
 * image. */
typedef struct
{
  double x, y, width, height;
} ConvnetWindow;

gboolean convnet_preprocess_window (const ConvnetPreprocess *pre,
                                    int                      width,
                                    int                      height,
                                    ConvnetWindow           *window,
                                    GError                 **error);
/* The same window in whole pixels for a region at (REGION_X, REGION_Y) of
 * an image, e.g. where a layer of the network's view goes: each edge
 * rounded to the nearest pixel edge, at least 1 x 1. */
gboolean convnet_preprocess_window_rect (const ConvnetPreprocess *pre,
                                         int                      region_x,
                                         int                      region_y,
                                         int                      region_width,
                                         int                      region_height,
                                         int                     *x,
                                         int                     *y,
                                         int                     *width,
                                         int                     *height,
                                         GError                 **error);

/* Antialiased bilinear resize of interleaved 8-bit pixels, as PIL's
 * Image.resize(BILINEAR). */
void convnet_resize_bilinear_u8 (const guint8 *src, int sw, int sh,
                                 guint8 *dst, int dw, int dh,
                                 int channels);
/* The NX x NY window at (X0, Y0) of that DW x DH resize, computed alone
 * (same pixels as resizing fully then cropping): preprocessing only pays
 * for the crop it keeps.  DST rows are NX * CHANNELS bytes. */
void convnet_resize_bilinear_u8_window (const guint8 *src, int sw, int sh,
                                        int dw, int dh,
                                        int x0, int y0, int nx, int ny,
                                        guint8 *dst, int channels);

/* ----------------------------------------------------------- batch jobs */

/* The image files FILES names, sorted: a folder (searched recursively), a
 * glob pattern (* ? and [...] in the last component, e.g. photos/\*.png),
 * or one file.  From a folder or a pattern only files with an image
 * extension are taken (PNG, JPEG, TIFF, WebP, BMP, GIF, XCF and the other
 * formats GIMP users keep); one named file is taken whatever its name.
 * Nothing found is an error naming FILES.  g_ptr_array_unref () frees. */
GPtrArray *convnet_batch_files (const char *files,
                                GError    **error);

/* One file of a batch job and what became of it. */
typedef struct
{
  char         *path;
  /* decoded by the caller (e.g. by GIMP's loader for a format the
   * engine's decoder cannot read), or NULL: the job decodes PATH */
  ConvnetImage *image;
  /* the result: N_TOP classes, best first, or ERROR saying why none */
  int           n_top;
  int          *indices;
  float        *probabilities;
  GError       *error;
} ConvnetBatchItem;

/* Items for PATHS, not yet classified; free with convnet_batch_items_free. */
ConvnetBatchItem *convnet_batch_items_new  (const char *const *paths,
                                            int                n_paths);
void              convnet_batch_items_free (ConvnetBatchItem *items,
                                            int               n_items);

/* Told that DONE of TOTAL items are finished; returning FALSE cancels the
 * job.  Called on the thread that called the job. */
typedef gboolean (*ConvnetBatchProgress) (int      done,
                                          int      total,
                                          gpointer user_data);

/* Classifies ITEMS with MODEL, TOP_K classes each: one thread decodes and
 * preprocesses the next images while the calling thread runs the network
 * on batches of them.  An item that cannot be read gets its ERROR (an
 * image format the decoder cannot read is CONVNET_ERROR_UNSUPPORTED,
 * which a caller with another decoder may retry with ITEM->image set);
 * items that already have a result or an error are skipped.  FALSE only
 * when the job itself fails or is cancelled (CONVNET_ERROR_CANCELLED). */
gboolean convnet_classify_batch (ConvnetModel        *model,
                                 ConvnetBatchItem    *items,
                                 int                  n_items,
                                 int                  top_k,
                                 ConvnetBatchProgress progress,
                                 gpointer             user_data,
                                 GError             **error);

/* Writes TEXT to PATH whole and atomically; on failure a CONVNET_ERROR_IO
 * "Cannot write the WHAT “PATH”: why" names PATH, not a temporary file. */
gboolean convnet_text_file_write (const char    *path,
                                  const char    *what,
                                  const GString *text,
                                  GError       **error);

/* Writes ITEMS as a CSV with the columns file,rank,label,probability: one
 * row per class of an item's result, best first; an item without a
 * result is one row "FILE,error,WHY," (no label).  Written atomically. */
gboolean convnet_batch_write_csv (const ConvnetModel     *model,
                                  const ConvnetBatchItem *items,
                                  int                     n_items,
                                  const char             *path,
                                  GError                **error);

/* Writes RGBA (WIDTH x HEIGHT, 4 bytes a pixel, no padding) as a PNG at
 * PATH, atomically. */
gboolean convnet_png_save_rgba (const guint8 *rgba,
                                int           width,
                                int           height,
                                const char   *path,
                                GError      **error);

/* --------------------------------------------------------------- labels */

/* One label per line.  *N_LABELS receives the count; free with
 * g_strfreev. */
char **convnet_labels_load (const char *path,
                            guint      *n_labels,
                            GError    **error);
/* The folder holding shipped data (labels, weights): $CONVNET_DATA_DIR, or
 * the installed location, or the source tree's weights/ when run from the
 * build tree. */
const char *convnet_data_dir (void);

G_END_DECLS

#endif
