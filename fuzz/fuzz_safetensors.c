/* fuzz_safetensors.c: libFuzzer target for the safetensors reader: its
 * JSON header, offsets and metadata. */
#include "fuzz_weights.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  return fuzz_weight_file (data, size, WEIGHT_FORMAT_SAFETENSORS);
}
