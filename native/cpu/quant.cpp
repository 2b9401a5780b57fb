// native/cpu/quant.cpp: routes a row of any weight type to its f32
// widening / block decoder. The decoders are the block codec's
// (block_codec.h), compiled per ISA in SimdKernels<V>::dequant
// (simd/kernels_simd.h) so the compiler vectorises them; all ISAs and the TS
// decoders (lib/quant/blocks.ts, tested against these) agree bit for bit.
#include <cstring>

#include "kernel_util.h"
#include "simd/ops.h"

namespace hl::cpu {

void dequantize_row(DType t, const uint8_t* src, float* out, int64_t K) {
  const SimdOps& ops = simd_ops();
  switch (t) {
    case DType::F32: std::memcpy(out, src, (size_t)K * sizeof(float)); return;
    case DType::F16: ops.f16_to_f32(out, reinterpret_cast<const uint16_t*>(src), K); return;
    case DType::BF16: ops.bf16_to_f32(out, reinterpret_cast<const uint16_t*>(src), K); return;
    case DType::Q8_0: case DType::Q4_0: case DType::Q4_K: case DType::Q5_K: case DType::Q6_K:
      ops.dequant((int)t, src, out, K);
      return;
  }
  throw Error(ErrorCode::Unsupported, std::string("dequantize: weight type ") + dtype_name(t) + " is not supported");
}

}  // namespace hl::cpu
