/* data.h: training data for libconvnet: datasets (idx files, image
 * folders), stratified splits, shuffling and seeded augmentation.
 *
 * Self-contained on top of convnet.h, so that it can be folded into it.
 * Every random choice goes through a ConvnetRng, so one seed reproduces a
 * whole run: the same seed and the same image give the same sample. */
#ifndef CONVNET_DATA_H
#define CONVNET_DATA_H

#include "convnet.h"

G_BEGIN_DECLS

/* -------------------------------------------------------------- datasets */

/* N labelled images.  Images are 8-bit, decoded once: RGB for image
 * folders, one channel for idx files.  The images of an idx dataset share
 * one pixel block: never free them one by one. */
typedef struct
{
  guint          n;
  ConvnetImage **images;       /* n */
  int           *labels;       /* n, each in [0, n_classes) */
  char         **paths;        /* n file names; NULL for idx datasets */
  int            n_classes;
  char         **class_names;  /* n_classes, NULL-terminated, UTF-8 */

  /*< private >*/
  ConvnetImage  *image_block;  /* idx: the n image headers */
  guint8        *pixel_block;  /* idx: the whole decompressed image file */
} ConvnetDataset;

/* MNIST-style idx files in DIR: train-images-idx3-ubyte and
 * train-labels-idx1-ubyte (or the t10k-* pair when TRAIN is FALSE), each
 * optionally gzipped (".gz", detected from the content).
 *
 * Classes: the lines of DIR/classes.txt when present; else the
 * Fashion-MNIST names when DIR's name contains "fashion"; else "0".."9".
 * A label beyond the classes, a bad magic number, counts that differ or a
 * file longer or shorter than its header says is a CONVNET_ERROR naming
 * the file. */
ConvnetDataset *convnet_dataset_load_mnist  (const char *dir,
                                             gboolean    train,
                                             GError    **error);

/* torchvision's ImageFolder: one sub-folder of DIR per class, classes in
 * sorted order (byte order of the UTF-8 names, as Python sorts them),
 * files found recursively in sorted order.  Hidden files and folders are
 * ignored.  A file that cannot be decoded is skipped and, when SKIPPED is
 * not NULL, reported there as a newly allocated "PATH: reason" string
 * (create SKIPPED with g_free as its free function).  Fewer than 2
 * classes, or a class left without images, is an error naming the
 * folder. */
ConvnetDataset *convnet_dataset_load_folder (const char *dir,
                                             GPtrArray  *skipped,
                                             GError    **error);

/* The same from lists of files: FILES[c] holds class c's paths.
 * Unreadable files are skipped and reported; a class left empty or fewer
 * than 2 classes is an error naming it. */
ConvnetDataset *convnet_dataset_from_files  (const char *const *class_names,
                                             GPtrArray *const  *files,
                                             int                n_classes,
                                             GPtrArray         *skipped,
                                             GError           **error);

void            convnet_dataset_free        (ConvnetDataset *dataset);

/* Splits the sample indices of D into *TRAIN and *VALIDATION (GArrays of
 * guint, ascending), stratified: each class gives round (n_c * share)
 * (half to even) of its samples to validation, and a class of 2 or more samples keeps at
 * least one in each part when 0 < share < 1.  Deterministic for a SEED. */
void            convnet_dataset_split       (const ConvnetDataset *d,
                                             double                validation_share,
                                             guint64               seed,
                                             GArray              **train,
                                             GArray              **validation);

/* Fisher-Yates: every permutation equally likely. */
void            convnet_shuffle             (guint      *indices,
                                             guint       n,
                                             ConvnetRng *rng);

/* ---------------------------------------------------------- augmentation */

/* These values are a public contract: the GIMP procedure's "augment"
 * argument is a mask of them. */
typedef enum
{
  CONVNET_AUGMENT_FLIP   = 1,   /* horizontal flip */
  CONVNET_AUGMENT_CROP   = 2,   /* random resized crop */
  CONVNET_AUGMENT_COLOR  = 4,   /* brightness, contrast, saturation */
  CONVNET_AUGMENT_ROTATE = 8,   /* small rotation */
  CONVNET_AUGMENT_ERASE  = 16,  /* random erasing */
  CONVNET_AUGMENT_SHIFT  = 32   /* random translation, zero filled */
} ConvnetAugmentFlags;

#define CONVNET_AUGMENT_ALL 63

typedef struct
{
  guint  flags;             /* ConvnetAugmentFlags */
  double crop_scale[2];     /* share of the image's area kept */
  double crop_ratio[2];     /* width / height of the crop */
  double flip_p;
  double rotate_degrees;    /* angle uniform in [-d, d] */
  double shift_fraction;    /* offsets up to this share of each side */
  double brightness;        /* factor uniform in [max (0, 1 - b), 1 + b] */
  double contrast;          /* same; 0 turns one adjustment off */
  double saturation;
  double erase_p;
  double erase_scale[2];    /* share of the sample's area erased */
  double erase_ratio[2];    /* height / width of the erased box */
  float  erase_value;       /* written into the normalised tensor */
} ConvnetAugment;

/* Sets every parameter to its default and the flags to FLAGS. */
void     convnet_augment_defaults (ConvnetAugment *aug,
                                   guint           flags);
/* Checks the parameters of the enabled transforms. */
gboolean convnet_augment_check    (const ConvnetAugment *aug,
                                   GError              **error);

/* One training sample, written to OUT in the layout of
 * convnet_preprocess_image: (PRE->grayscale ? 1 : 3) x crop_height x
 * crop_width floats.  The geometry is a random resized crop of IMAGE
 * (CROP) or PRE's resize and center crop; then flip, rotation and colour
 * on 8-bit pixels, with torchvision's semantics on PIL images; then
 * PRE's normalisation; then erasing.  With no flag set, OUT is exactly
 * convnet_preprocess_image's output.  Threads may call it at once, each
 * with its own RNG. */
gboolean convnet_augment_sample   (const ConvnetAugment    *aug,
                                   const ConvnetPreprocess *pre,
                                   const ConvnetImage      *image,
                                   ConvnetRng              *rng,
                                   float                   *out,
                                   GError                 **error);

/* The building blocks of convnet_augment_sample, for tests and previews. */

typedef struct
{
  int x, y, width, height;
} ConvnetRect;

/* RandomResizedCrop.get_params: ten tries at a random area and aspect
 * ratio, then a center crop of the ratio nearest the image's. */
void     convnet_augment_crop_rect  (const ConvnetAugment *aug,
                                     int                   width,
                                     int                   height,
                                     ConvnetRng           *rng,
                                     ConvnetRect          *rect);
/* RandomErasing.get_params (without its probability draw): FALSE when ten
 * tries found no box, and then nothing is erased. */
gboolean convnet_augment_erase_rect (const ConvnetAugment *aug,
                                     int                   width,
                                     int                   height,
                                     ConvnetRng           *rng,
                                     ConvnetRect          *rect);

/* RECT of IMAGE resized to WIDTH x HEIGHT (PIL's crop then
 * resize (BILINEAR)); to one luma channel first when GRAYSCALE. */
ConvnetImage *convnet_image_resized_crop (const ConvnetImage *image,
                                          const ConvnetRect  *rect,
                                          int                 width,
                                          int                 height,
                                          gboolean            grayscale);

void     convnet_image_flip_horizontal   (ConvnetImage *image);
/* SRC moved by (DX, DY) pixels into DST of the same size, zero filled (a
 * random crop of a padded image, as torchvision's RandomCrop(padding)). */
void     convnet_image_shift             (const ConvnetImage *src,
                                          int                 dx,
                                          int                 dy,
                                          ConvnetImage       *dst);
/* PIL's rotate (DEGREES, BILINEAR, fillcolor=0) about the center,
 * counter-clockwise, into DST of the same size and channels. */
void     convnet_image_rotate            (const ConvnetImage *src,
                                          double              degrees,
                                          ConvnetImage       *dst);
/* PIL's ImageEnhance Brightness, Contrast and Color (torchvision's
 * adjust_brightness, adjust_contrast, adjust_saturation), in place. */
void     convnet_image_adjust_brightness (ConvnetImage *image,
                                          double        factor);
void     convnet_image_adjust_contrast   (ConvnetImage *image,
                                          double        factor);
void     convnet_image_adjust_saturation (ConvnetImage *image,
                                          double        factor);

G_END_DECLS

#endif
