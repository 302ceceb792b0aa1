/* fuzz_npy.c: libFuzzer target for the .npy reader (its Python-literal
 * header and the data it sizes). */
#include <stdint.h>

#include "formats/formats.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  int64_t shape[CONVNET_MAX_DIMS];
  GError *error = NULL;
  float *out = NULL;
  int ndim = 0;

  if (npy_parse ("fuzz-input", data, size, &ndim, shape, &out, &error))
    {
      g_assert (ndim >= 0 && ndim <= CONVNET_MAX_DIMS);
      g_free (out);
    }
  else
    {
      g_assert (error != NULL && error->message[0] != '\0');
      g_error_free (error);
    }
  return 0;
}
