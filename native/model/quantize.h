// native/model/quantize.h: f32 rows -> GGUF blocks when a model is quantized
// on load (loadModel(..., { quantize }); docs/QUANTIZATION.md), with the
// encoders of block_encode.h. The TS quantizers
// (lib/quant/blocks.ts, Tensor.quantize) are tested to produce the same blocks
// (test/model/quantize-on-load.test.ts).
#pragma once
#include <cstdint>

#include "../core/dtype.h"

namespace hl {

// Quantizes one row of K values (K a multiple of target's block size) into
// dtype_row_bytes(target, K) bytes at out. target: Q8_0, Q4_K or Q6_K.
void quantize_row(DType target, const float* x, int64_t K, uint8_t* out);

}  // namespace hl
