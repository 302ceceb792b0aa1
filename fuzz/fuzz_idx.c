/* fuzz_idx.c: libFuzzer target for the MNIST idx reader, gzip included.
 *
 * The reader takes a folder, so each input becomes the two files of one:
 * a little-endian 32-bit length L, L bytes of images file, and the rest as
 * labels file.  Inputs shorter than 4 bytes are an images file alone. */
#include <stdint.h>
#include <string.h>

#include <glib/gstdio.h>

#include "data/data.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static char *images_path, *labels_path, *folder;

static void
write_or_die (const char   *path,
              const uint8_t *data,
              size_t         size)
{
  GError *error = NULL;

  if (!g_file_set_contents (path, (const char *) data, size, &error))
    g_error ("%s", error->message);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  ConvnetDataset *dataset;
  GError *error = NULL;
  size_t images_size = size;

  if (folder == NULL)
    {
      folder = g_dir_make_tmp ("fuzz-idx-XXXXXX", NULL);
      g_assert (folder != NULL);
      images_path = g_build_filename (folder, "train-images-idx3-ubyte", NULL);
      labels_path = g_build_filename (folder, "train-labels-idx1-ubyte", NULL);
    }
  if (size >= 4)
    {
      guint32 n = (guint32) data[0] | (guint32) data[1] << 8
                  | (guint32) data[2] << 16 | (guint32) data[3] << 24;

      data += 4;
      size -= 4;
      images_size = MIN ((size_t) n, size);
    }
  write_or_die (images_path, data, images_size);
  write_or_die (labels_path, data + images_size, size - images_size);

  dataset = convnet_dataset_load_mnist (folder, TRUE, &error);
  if (dataset != NULL)
    convnet_dataset_free (dataset);
  else
    {
      g_assert (error != NULL && error->message[0] != '\0');
      g_error_free (error);
    }
  return 0;
}
