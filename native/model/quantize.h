// native/model/quantize.h: f32 -> GGUF block quantizers used when a model is
// quantized on load (loadModel(..., { quantize })), through the block codec
// (native/cpu/block_codec.h, the definition). The TS quantizers
// (lib/quant/blocks.ts, Tensor.quantize) are tested to produce the same blocks
// (test/model/quantize-on-load.test.ts).
#pragma once
#include <cstdint>

#include "../core/dtype.h"

namespace hl {

// Quantizes one row of K values (K a multiple of target's block size) into
// dtype_row_bytes(target, K) bytes at out. target: Q8_0 or Q4_K.
void quantize_row(DType target, const float* x, int64_t K, uint8_t* out);

}  // namespace hl
