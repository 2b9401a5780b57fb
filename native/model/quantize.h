// native/model/quantize.h: f32 -> GGUF block quantizers used when a model is
// quantized on load (loadModel(..., { quantize })). Bit-identical to the TS
// quantizers in lib/quant/blocks.ts / lib/tensor.ts for the same f32 input:
// same scale choice, same rounding (f32 where TS uses Math.fround, f64
// elsewhere, JS Math.round semantics), so a model quantized here equals one
// written already quantized by lib/synthetic.
#pragma once
#include <cstdint>

#include "../core/dtype.h"

namespace hl {

// Quantizes one row of K values (K a multiple of target's block size) into
// dtype_row_bytes(target, K) bytes at out. target: Q8_0 or Q4_K.
void quantize_row(DType target, const float* x, int64_t K, uint8_t* out);

}  // namespace hl
