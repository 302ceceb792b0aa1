/* idx.c: MNIST-style idx files (MNIST, Fashion-MNIST, EMNIST).
 *
 * An idx file is a big-endian header (a magic number whose low byte is
 * the number of dimensions, then one 32-bit size per dimension) and the
 * raw unsigned bytes.  The distributions gzip them; Debian's package
 * ships them gzipped too, so both forms are read, told apart by the
 * content rather than the name.
 *
 * The header decides how long the file must be: anything shorter is
 * truncated and anything longer is not what the header describes, and
 * both are refused rather than guessed at. */
#include "data.h"

#include <gio/gio.h>
#include <string.h>

#define IDX_IMAGES_MAGIC 0x00000803u   /* unsigned bytes, 3 dimensions */
#define IDX_LABELS_MAGIC 0x00000801u   /* unsigned bytes, 1 dimension */

/* Far beyond any idx image; keeps rows * cols small. */
#define MAX_SIDE 4096
/* A decompressed file beyond this is a hostile or broken header, not a
 * dataset that would fit in memory alongside training anyway. */
#define MAX_FILE_BYTES ((gsize) 1 << 31)

/* Also weights/labels/fashion-mnist.txt, which the model's outputs use;
 * kept here so that a dataset loads without the data directory. */
static const char *const fashion_names[] = {
  "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
  "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"
};

static void set_file_error (GError    **error,
                            int         code,
                            const char *path,
                            const char *format,
                            ...) G_GNUC_PRINTF (4, 5);

static void
set_file_error (GError    **error,
                int         code,
                const char *path,
                const char *format,
                ...)
{
  char    *name = g_filename_display_name (path);
  char    *what;
  va_list  args;

  va_start (args, format);
  what = g_strdup_vprintf (format, args);
  va_end (args);
  g_set_error (error, CONVNET_ERROR, code, "idx file “%s”: %s", name, what);
  g_free (what);
  g_free (name);
}

static guint32
read_be32 (const guint8 *p)
{
  return ((guint32) p[0] << 24) | ((guint32) p[1] << 16) |
         ((guint32) p[2] << 8) | p[3];
}

static gboolean
is_gzip (const guint8 *data,
         gsize         length)
{
  return length >= 2 && data[0] == 0x1f && data[1] == 0x8b;
}

/* Inflates a whole gzip file held in memory.  Concatenated members are
 * one stream, as gunzip reads them. */
static gboolean
inflate_gzip (const char    *path,
              const guint8  *in,
              gsize          in_length,
              guint8       **out,
              gsize         *out_length,
              GError       **error)
{
  GConverter *gunzip;
  GError     *inner = NULL;
  guint8     *buffer;
  gsize       capacity, used = 0, pos = 0;
  guint32     hint;

  /* The trailer's size (modulo 2^32) makes one allocation enough for an
   * intact file.  Deflate cannot compress more than about 1032 to 1, so a
   * larger claim comes from a damaged trailer and is not worth
   * allocating for: growing as data arrives is. */
  hint = in_length >= 4 ? ((guint32) in[in_length - 4] |
                           (guint32) in[in_length - 3] << 8 |
                           (guint32) in[in_length - 2] << 16 |
                           (guint32) in[in_length - 1] << 24) : 0;
  if ((gsize) hint / 1100 > in_length)
    hint = 0;
  capacity = CLAMP ((gsize) hint + 1, 4096, MAX_FILE_BYTES + 1);
  buffer = g_malloc (capacity);
  gunzip = G_CONVERTER (g_zlib_decompressor_new (G_ZLIB_COMPRESSOR_FORMAT_GZIP));

  for (;;)
    {
      GConverterResult result;
      gsize            n_read = 0, n_written = 0;

      /* The decompressor mistakes a full output buffer for missing
       * input, so there is always room left when it runs. */
      if (used == capacity)
        {
          if (capacity > MAX_FILE_BYTES)
            {
              set_file_error (error, CONVNET_ERROR_LIMIT, path,
                              "inflates to more than %" G_GSIZE_FORMAT
                              " bytes", MAX_FILE_BYTES);
              goto fail;
            }
          capacity = MIN (capacity * 2, MAX_FILE_BYTES + 1);
          buffer = g_realloc (buffer, capacity);
        }

      result = g_converter_convert (gunzip, in + pos, in_length - pos,
                                    buffer + used, capacity - used,
                                    G_CONVERTER_INPUT_AT_END,
                                    &n_read, &n_written, &inner);
      pos += n_read;
      used += n_written;
      if (result == G_CONVERTER_ERROR)
        {
          if (g_error_matches (inner, G_IO_ERROR, G_IO_ERROR_PARTIAL_INPUT))
            set_file_error (error, CONVNET_ERROR_FORMAT, path,
                            "truncated: the gzip data ends early");
          else
            set_file_error (error, CONVNET_ERROR_FORMAT, path,
                            "corrupt gzip data: %s", inner->message);
          g_error_free (inner);
          goto fail;
        }
      if (result == G_CONVERTER_FINISHED)
        {
          if (pos == in_length)
            break;
          if (!is_gzip (in + pos, in_length - pos))
            {
              set_file_error (error, CONVNET_ERROR_FORMAT, path,
                              "%" G_GSIZE_FORMAT " bytes of garbage after "
                              "the gzip data", in_length - pos);
              goto fail;
            }
          g_converter_reset (gunzip);
        }
    }

  g_object_unref (gunzip);
  *out = buffer;
  *out_length = used;
  return TRUE;

fail:
  g_object_unref (gunzip);
  g_free (buffer);
  return FALSE;
}

/* The file's bytes, inflated when it is gzipped. */
static gboolean
read_idx_file (const char  *path,
               guint8     **data,
               gsize       *length,
               GError     **error)
{
  GError *inner = NULL;
  char   *contents;
  gsize   size;

  if (!g_file_get_contents (path, &contents, &size, &inner))
    {
      set_file_error (error, CONVNET_ERROR_IO, path, "%s", inner->message);
      g_error_free (inner);
      return FALSE;
    }
  if (is_gzip ((const guint8 *) contents, size))
    {
      gboolean ok = inflate_gzip (path, (const guint8 *) contents, size,
                                  data, length, error);

      g_free (contents);
      return ok;
    }
  *data = (guint8 *) contents;
  *length = size;
  return TRUE;
}

/* DIR/BASE, else DIR/BASE.gz; NULL with an error when neither exists. */
static char *
find_idx_file (const char  *dir,
               const char  *base,
               GError     **error)
{
  char *path = g_build_filename (dir, base, NULL);
  char *gz;
  char *name;

  if (g_file_test (path, G_FILE_TEST_IS_REGULAR))
    return path;
  gz = g_strconcat (path, ".gz", NULL);
  g_free (path);
  if (g_file_test (gz, G_FILE_TEST_IS_REGULAR))
    return gz;
  g_free (gz);

  name = g_filename_display_name (dir);
  g_set_error (error, CONVNET_ERROR, CONVNET_ERROR_IO,
               "Folder “%s” has no %s or %s.gz", name, base, base);
  g_free (name);
  return NULL;
}

/* Checks that DATA is an idx file of MAGIC whose dimensions account for
 * every byte; *COUNT and, for images, *ROWS and *COLS receive the
 * sizes. */
static gboolean
parse_header (const char   *path,
              const guint8 *data,
              gsize         length,
              guint32       magic,
              guint32      *count,
              guint32      *rows,
              guint32      *cols,
              GError      **error)
{
  gsize header = magic == IDX_IMAGES_MAGIC ? 16 : 8;
  gsize item = 1, expected;

  if (length < 4 || read_be32 (data) != magic)
    {
      if (length < 4)
        set_file_error (error, CONVNET_ERROR_FORMAT, path,
                        "truncated: %" G_GSIZE_FORMAT " bytes, no header",
                        length);
      else
        set_file_error (error, CONVNET_ERROR_FORMAT, path,
                        "bad magic number 0x%08x, expected 0x%08x (%s)",
                        read_be32 (data), magic,
                        magic == IDX_IMAGES_MAGIC ? "images" : "labels");
      return FALSE;
    }
  if (length < header)
    {
      set_file_error (error, CONVNET_ERROR_FORMAT, path,
                      "truncated: %" G_GSIZE_FORMAT " bytes, the header "
                      "needs %" G_GSIZE_FORMAT, length, header);
      return FALSE;
    }

  *count = read_be32 (data + 4);
  if (*count == 0 || *count > G_MAXINT)
    {
      set_file_error (error, CONVNET_ERROR_FORMAT, path,
                      "invalid sample count %u", *count);
      return FALSE;
    }
  if (magic == IDX_IMAGES_MAGIC)
    {
      *rows = read_be32 (data + 8);
      *cols = read_be32 (data + 12);
      if (*rows == 0 || *cols == 0 || *rows > MAX_SIDE || *cols > MAX_SIDE)
        {
          set_file_error (error, CONVNET_ERROR_FORMAT, path,
                          "invalid image size %u x %u", *cols, *rows);
          return FALSE;
        }
      item = (gsize) *rows * *cols;
    }

  /* count <= 2^31 and item <= 2^24: the product fits in 64 bits. */
  expected = header + (gsize) *count * item;
  if (length != expected)
    {
      set_file_error (error, CONVNET_ERROR_FORMAT, path,
                      "%s: %" G_GSIZE_FORMAT " bytes where its header (%u "
                      "samples) makes %" G_GSIZE_FORMAT,
                      length < expected ? "truncated" : "too long",
                      length, *count, expected);
      return FALSE;
    }
  return TRUE;
}

/* The class names of an idx folder; see convnet_dataset_load_mnist. */
static char **
idx_class_names (const char  *dir,
                 int         *n_classes,
                 GError     **error)
{
  char  *listed = g_build_filename (dir, "classes.txt", NULL);
  char  *base, *folded;
  char **names;
  int    i;

  if (g_file_test (listed, G_FILE_TEST_EXISTS))
    {
      guint n = 0;

      names = convnet_labels_load (listed, &n, error);
      g_free (listed);
      *n_classes = (int) n;
      return names;
    }
  g_free (listed);

  base = g_path_get_basename (dir);
  folded = g_utf8_casefold (base, -1);
  names = g_new0 (char *, 11);
  for (i = 0; i < 10; i++)
    names[i] = strstr (folded, "fashion") != NULL
               ? g_strdup (fashion_names[i]) : g_strdup_printf ("%d", i);
  g_free (folded);
  g_free (base);
  *n_classes = 10;
  return names;
}

ConvnetDataset *
convnet_dataset_load_mnist (const char *dir,
                            gboolean    train,
                            GError    **error)
{
  const char     *prefix = train ? "train" : "t10k";
  ConvnetDataset *d = NULL;
  char           *images_path = NULL, *labels_path = NULL, *base;
  guint8         *images = NULL, *labels = NULL;
  gsize           images_length, labels_length, item;
  guint32         n_images, n_labels, rows = 0, cols = 0, unused, i;
  char          **names = NULL;
  int             n_classes;

  g_return_val_if_fail (dir != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  base = g_strconcat (prefix, "-images-idx3-ubyte", NULL);
  images_path = find_idx_file (dir, base, error);
  g_free (base);
  if (images_path == NULL)
    return NULL;
  base = g_strconcat (prefix, "-labels-idx1-ubyte", NULL);
  labels_path = find_idx_file (dir, base, error);
  g_free (base);
  if (labels_path == NULL)
    goto out;

  if (!read_idx_file (labels_path, &labels, &labels_length, error) ||
      !parse_header (labels_path, labels, labels_length, IDX_LABELS_MAGIC,
                     &n_labels, &unused, &unused, error) ||
      !read_idx_file (images_path, &images, &images_length, error) ||
      !parse_header (images_path, images, images_length, IDX_IMAGES_MAGIC,
                     &n_images, &rows, &cols, error))
    goto out;

  if (n_images != n_labels)
    {
      char *name = g_filename_display_name (labels_path);

      set_file_error (error, CONVNET_ERROR_FORMAT, images_path,
                      "%u images, but “%s” has %u labels",
                      n_images, name, n_labels);
      g_free (name);
      goto out;
    }

  names = idx_class_names (dir, &n_classes, error);
  if (names == NULL)
    goto out;
  for (i = 0; i < n_labels; i++)
    if (labels[8 + i] >= n_classes)
      {
        set_file_error (error, CONVNET_ERROR_FORMAT, labels_path,
                        "label %u of sample %u is beyond the %d classes",
                        labels[8 + i], i, n_classes);
        g_strfreev (names);
        goto out;
      }

  d = g_new0 (ConvnetDataset, 1);
  d->n = n_images;
  d->n_classes = n_classes;
  d->class_names = names;
  d->labels = g_new (int, n_images);
  d->images = g_new (ConvnetImage *, n_images);
  d->image_block = g_new (ConvnetImage, n_images);
  /* The decompressed file is the pixel storage: no copy of 47 MB. */
  d->pixel_block = images;
  images = NULL;
  item = (gsize) rows * cols;
  for (i = 0; i < n_images; i++)
    {
      ConvnetImage *image = &d->image_block[i];

      image->width = (int) cols;
      image->height = (int) rows;
      image->channels = 1;
      image->pixels = d->pixel_block + 16 + (gsize) i * item;
      d->images[i] = image;
      d->labels[i] = labels[8 + i];
    }

out:
  g_free (images);
  g_free (labels);
  g_free (images_path);
  g_free (labels_path);
  return d;
}
