/* fuzz_torch_zip.c: libFuzzer target for the torch.save zip reader: the
 * zip directory, the pickle and the storages it names. */
#include "fuzz_weights.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  return fuzz_weight_file (data, size, WEIGHT_FORMAT_TORCH_ZIP);
}
