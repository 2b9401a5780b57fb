// native/model/quantize.cpp: see quantize.h. The encoders are the block
// codec's (native/cpu/block_codec.h, which states their rounding).
#include "quantize.h"

#include <string>

#include "../cpu/block_codec.h"

namespace hl {

void quantize_row(DType target, const float* x, int64_t K, uint8_t* out) {
  const int64_t bs = dtype_block_size(target);
  HL_CHECK(bs > 1 && K % bs == 0, Argument,
           std::string("quantize: a row of ") + std::to_string(K) + " values cannot be stored as " + dtype_name(target));
  switch (target) {
    case DType::Q8_0: {
      for (int64_t i = 0; i < K / 32; i++) codec::encode_q8_0(x + 32 * i, out + sizeof(BlockQ8_0) * i);
      return;
    }
    case DType::Q4_K: {
      for (int64_t i = 0; i < K / 256; i++) codec::encode_q4_k(x + 256 * i, out + sizeof(BlockQ4_K) * i);
      return;
    }
    default:
      throw Error(ErrorCode::Unsupported, std::string("quantize: cannot quantize to ") + dtype_name(target));
  }
}

}  // namespace hl
