// native/cpu/quant.cpp: GGUF block decoders (docs/KERNELS.md), bit-exact with
// the published layouts (native/core/dtype.h has the structs):
//   Q8_0  w = d * q
//   Q4_0  w = d * (q - 8)              byte j: low nibble elem j, high nibble elem j + 16
//   Q4_K  w = (d * sc) * q - (dmin * m) 6-bit sc/m per 32 (get_scale_min)
//   Q5_K  as Q4_K with a fifth bit from qh
//   Q6_K  w = (d * sc) * (q - 32)      int8 sc per 16, q = 4 low bits | 2 high bits << 4
// Each product is rounded to f32 in this order (the TS decoders in
// lib/quant/ do the same), so native and TS agree bit for bit. The decoders
// themselves are SimdKernels<V>::dequant_* (simd/kernels_simd.h), compiled per
// ISA so the compiler vectorises them; this file routes a row to them.
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
