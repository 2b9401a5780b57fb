// native/model/block_encode.h: f32 -> GGUF block encoders of quantize on load
// (docs/QUANTIZATION.md). The blocks are the formats of the block codec
// (native/cpu/block_codec.h decodes them); lib/quant/blocks.ts is the TS twin
// and must write the same bytes (test/model/quantize-on-load.test.ts).
#pragma once
#include <cstdint>

namespace hl::encode {

// 32 values -> one Q8_0 block (34 bytes): d = absmax / 127.
void q8_0(const float* x, uint8_t* out);
// 256 values -> one Q4_K block (144 bytes), scales and mins chosen by search.
void q4_k(const float* x, uint8_t* out);
// 256 values -> one Q6_K block (210 bytes), scales chosen by search.
void q6_k(const float* x, uint8_t* out);

}  // namespace hl::encode
