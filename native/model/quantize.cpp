// native/model/quantize.cpp: see quantize.h. The encoders are
// native/model/block_encode.cpp (docs/QUANTIZATION.md).
#include "quantize.h"

#include <string>

#include "block_encode.h"

namespace hl {

void quantize_row(DType target, const float* x, int64_t K, uint8_t* out) {
  const int64_t bs = dtype_block_size(target);
  HL_CHECK(bs > 1 && K % bs == 0, Argument,
           std::string("quantize: a row of ") + std::to_string(K) + " values cannot be stored as " + dtype_name(target));
  void (*encode)(const float*, uint8_t*) = nullptr;
  switch (target) {
    case DType::Q8_0: encode = encode::q8_0; break;
    case DType::Q4_K: encode = encode::q4_k; break;
    case DType::Q6_K: encode = encode::q6_k; break;
    default:
      throw Error(ErrorCode::Unsupported, std::string("quantize: cannot quantize to ") + dtype_name(target));
  }
  const int64_t block_bytes = dtype_row_bytes(target, bs);
  for (int64_t i = 0; i < K / bs; i++) encode(x + bs * i, out + block_bytes * i);
}

}  // namespace hl
