/* fuzz_weights.c: the shared body of the weights-file fuzzers. */
#include "fuzz_weights.h"

/* Tensors past this many elements are opened but not converted: a small
 * input may describe a huge empty-strided tensor, and converting it would
 * only measure the allocator. */
#define FUZZ_MAX_CONVERTED (1 << 20)

int
fuzz_weight_file (const uint8_t *data,
                  size_t         size,
                  WeightFormat   format)
{
  GBytes *bytes = g_bytes_new_static (data, size);
  GError *error = NULL;
  ConvnetWeightFile *file;

  file = weight_file_open_bytes ("fuzz-input", bytes, format, &error);
  if (file == NULL)
    {
      /* every refusal must say why */
      g_assert (error != NULL && error->message[0] != '\0');
      g_error_free (error);
    }
  else
    {
      for (guint i = 0; i < convnet_weight_file_n_tensors (file); i++)
        {
          const ConvnetTensorEntry *e = convnet_weight_file_tensor (file, i);
          gsize n = convnet_tensor_entry_numel (e);
          float *dst;

          g_assert (convnet_weight_file_lookup (file, e->name) == e);
          if (n > FUZZ_MAX_CONVERTED)
            continue;
          dst = g_new (float, MAX (n, 1));
          if (!convnet_tensor_entry_to_f32 (e, dst, n, &error))
            g_clear_error (&error);
          g_free (dst);
        }
      convnet_weight_file_free (file);
    }
  g_bytes_unref (bytes);
  return 0;
}
