/* fuzz_weights.h: what every weights-file fuzzer does with its input. */
#ifndef CONVNET_FUZZ_WEIGHTS_H
#define CONVNET_FUZZ_WEIGHTS_H

#include <stdint.h>

#include "formats/formats.h"

/* Opens DATA as FORMAT and, when that succeeds, reads every tensor the way
 * a model load does, so that a bad extent would show as an out-of-bounds
 * read under AddressSanitizer rather than pass unnoticed. */
int fuzz_weight_file (const uint8_t *data,
                      size_t         size,
                      WeightFormat   format);

#endif
