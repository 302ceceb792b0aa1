/* fuzz_torch_legacy.c: libFuzzer target for the legacy (before torch 1.6)
 * torch.save reader. */
#include "fuzz_weights.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  return fuzz_weight_file (data, size, WEIGHT_FORMAT_TORCH_LEGACY);
}
