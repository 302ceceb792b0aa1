/* fuzz_model_metadata.c: libFuzzer target for the metadata of our own
 * .safetensors files: "architecture", "preprocess" (a JSON object) and
 * "classes" (a JSON array of labels).
 *
 * An input is those three values separated by NUL bytes; a missing value
 * is a missing key.  An empty architecture means the caller names one. */
#include <stdint.h>
#include <string.h>

#include "model_metadata.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static const char *const keys[] = { "architecture", "preprocess", "classes" };

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  GHashTable *meta = g_hash_table_new_full (g_str_hash, g_str_equal, NULL,
                                            g_free);
  const char *arch_name = NULL;
  const ConvnetArch *arch;
  ConvnetPreprocess pre;
  GError *error = NULL;
  char **labels;
  size_t start = 0;

  for (guint k = 0; k < G_N_ELEMENTS (keys) && start <= size; k++)
    {
      const uint8_t *end = memchr (data + start, 0, size - start);
      size_t len = end ? (size_t) (end - (data + start)) : size - start;

      g_hash_table_insert (meta, (gpointer) keys[k],
                           g_strndup ((const char *) data + start, len));
      start += len + 1;
    }
  if (g_strcmp0 (g_hash_table_lookup (meta, "architecture"), "") == 0)
    {
      g_hash_table_remove (meta, "architecture");
      arch_name = "lenet5";
    }

  arch = model_metadata_arch ("fuzz-input", meta, arch_name, &pre, &error);
  if (arch != NULL)
    {
      g_assert (pre.crop_height >= 1 && pre.crop_width >= 1);
      labels = model_metadata_labels ("fuzz-input", meta, arch, 10, &error);
      if (labels != NULL)
        g_assert (g_strv_length (labels) == 10);
      g_strfreev (labels);
    }
  if (error != NULL)
    {
      g_assert (error->message[0] != '\0');
      g_error_free (error);
    }
  g_hash_table_unref (meta);
  return 0;
}
