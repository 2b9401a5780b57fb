// native/cpu/kv_rows.cpp: KV page rows in f32, f16 or q8_0 (layout: KvView in
// native/core/op_types.h; formats and tolerances: docs/MEMORY.md).
// Q8_0 rows: per block of up to 32 elements one f32 scale d = absmax / 127 and
// q = round_half_even(x / d) in [-127, 127] (d = 0 for an all-zero block).
#include <cmath>
#include <cstring>

#include "kernel_util.h"
#include "kernels.h"

namespace hl::cpu {

static void quantize_row_q8(int8_t* q, float* d, const float* x, int64_t n) {
  for (int64_t b0 = 0, b = 0; b0 < n; b0 += kKvQ8Block, b++) {
    const int64_t b1 = std::min(n, b0 + kKvQ8Block);
    float amax = 0.0f;
    for (int64_t i = b0; i < b1; i++) amax = std::max(amax, std::fabs(x[i]));
    const float scale = amax / 127.0f;
    const float inv = scale > 0.0f ? 1.0f / scale : 0.0f;
    d[b] = scale;
    for (int64_t i = b0; i < b1; i++) q[i] = (int8_t)std::nearbyint(x[i] * inv);
  }
}

void kv_write(float* const* pages, int64_t page_size, const float* src, int64_t pos0, int64_t n, int64_t n_kv,
              int64_t head_dim, DType dtype) {
  const int64_t nb = kv_q8_blocks(head_dim);
  const int64_t scale_offset = n_kv * page_size * head_dim;  // bytes, Q8_0 only
  for (int64_t t = 0; t < n; t++) {
    const int64_t p = pos0 + t;
    uint8_t* page = reinterpret_cast<uint8_t*>(pages[p / page_size]);
    for (int64_t h = 0; h < n_kv; h++) {
      const int64_t row = h * page_size + p % page_size;
      const float* x = src + (t * n_kv + h) * head_dim;
      switch (dtype) {
        case DType::F32: std::memcpy(page + row * head_dim * 4, x, sizeof(float) * head_dim); break;
        case DType::F16: {
          uint16_t* out = reinterpret_cast<uint16_t*>(page) + row * head_dim;
          for (int64_t e = 0; e < head_dim; e++) out[e] = f32_to_f16(x[e]);
          break;
        }
        case DType::Q8_0:
          quantize_row_q8(reinterpret_cast<int8_t*>(page) + row * head_dim,
                          reinterpret_cast<float*>(page + scale_offset) + row * nb, x, head_dim);
          break;
        default: throw Error(ErrorCode::Unsupported, std::string("KV pages of type ") + dtype_name(dtype));
      }
    }
  }
}

void kv_row_to_f32(float* out, const void* row, const float* scales, int64_t head_dim, DType dtype) {
  switch (dtype) {
    case DType::F32: std::memcpy(out, row, sizeof(float) * head_dim); return;
    case DType::F16: simd_ops().f16_to_f32(out, static_cast<const uint16_t*>(row), head_dim); return;
    case DType::Q8_0: {
      const int8_t* q = static_cast<const int8_t*>(row);
      for (int64_t b0 = 0, b = 0; b0 < head_dim; b0 += kKvQ8Block, b++) {
        const int64_t b1 = std::min(head_dim, b0 + kKvQ8Block);
        const float d = scales[b];
        for (int64_t i = b0; i < b1; i++) out[i] = d * (float)q[i];
      }
      return;
    }
    default: throw Error(ErrorCode::Unsupported, std::string("KV pages of type ") + dtype_name(dtype));
  }
}

}  // namespace hl::cpu
