// native/cpu/matmul.cpp: y = x · Wᵀ over F32 / F16 / BF16 / Q8_0 weights (KERNELS.md §8).
//   y[t, r] = sum_k x[t, k] * W[r, k]       x [n_tokens, K]; W [rows, K]; y [n_tokens, rows]
// Weight rows are GGUF-style: F16/BF16 elements, or Q8_0 blocks along K
// (per 32: fp16 scale d, 32 int8 q; w = d * q).
// Parallelisation: threads split output rows, each piece >= 32 KiB of weights.
// Inside a piece, rows go in blocks sized so their f32 form (~64 KiB) stays in
// L2: a block is widened/dequantized once into thread scratch (F32 rows are
// used in place) and reused for every token, so conversion costs
// rows * K per call, not rows * K * n_tokens. The inner kernel is one
// (token, row) dot at a time with kLanes partial sums: at baseline flags GCC
// vectorises that form cleanly (~30 GFLOP/s/core from L1 on SSE), while
// multi-row register blocks written in plain C++ compile to spills; the
// register-blocked micro-kernel belongs to the SIMD issue.
// Numerics: dequantization is exact in f32 (d * q, f16 -> f32 exact);
// accumulation in f32 with kLanes partial sums. Int8 dot products (activations
// quantized to Q8) come with the SIMD issue.
#include <algorithm>
#include <cstring>

#include "kernel_util.h"
#include "kernels.h"

namespace hl::cpu {

constexpr int64_t kWeightTileBytes = 64 * 1024;  // f32 bytes of one converted row block
constexpr int64_t kPieceBytes = 32 * 1024;       // minimum weight bytes per thread piece

const float* f16_table() {
  static const float* table = [] {
    static float t[65536];
    for (uint32_t i = 0; i < 65536; i++) t[i] = f16_to_f32((uint16_t)i);
    return t;
  }();
  return table;
}

// ---- conversion

static inline uint16_t load_u16(const uint8_t* p) {
  uint16_t v;
  std::memcpy(&v, p, 2);
  return v;
}

static void row_to_f32(const WeightView& w, const uint8_t* src, float* out) {
  const int64_t K = w.cols;
  switch (w.dtype) {
    case DType::F32:
      std::memcpy(out, src, (size_t)K * sizeof(float));
      return;
    case DType::F16: {
      // A 256 KiB table beat a branch-free bit conversion at baseline flags
      // (no F16C); F16C conversion comes with the SIMD issue.
      const float* tab = f16_table();
      for (int64_t k = 0; k < K; k++) out[k] = tab[load_u16(src + 2 * k)];
      return;
    }
    case DType::BF16:
      for (int64_t k = 0; k < K; k++) {
        uint32_t bits = (uint32_t)load_u16(src + 2 * k) << 16;
        std::memcpy(out + k, &bits, 4);
      }
      return;
    case DType::Q8_0: {
      const float* tab = f16_table();
      for (int64_t b = 0; b < K / 32; b++) {
        const uint8_t* blk = src + b * (int64_t)sizeof(BlockQ8_0);
        const float d = tab[load_u16(blk)];
        const int8_t* q = reinterpret_cast<const int8_t*>(blk + 2);
        for (int i = 0; i < 32; i++) out[b * 32 + i] = d * (float)q[i];
      }
      return;
    }
    default:
      throw Error(ErrorCode::Unsupported, std::string("matmul: weight type ") + dtype_name(w.dtype) +
                                              " is not supported by the CPU kernels yet");
  }
}

void weight_rows_to_f32(const WeightView& w, int64_t r0, int64_t n, float* out) {
  for (int64_t r = 0; r < n; r++) row_to_f32(w, w.row(r0 + r), out + r * w.cols);
}

void weight_row_to_f32(const WeightView& w, int64_t r, float* out) { row_to_f32(w, w.row(r), out); }

// ---- kernels

static int64_t block_rows(const WeightView& w) {
  return std::clamp<int64_t>(kWeightTileBytes / std::max<int64_t>(1, w.cols * 4), 4, 64);
}

int64_t matmul_scratch_floats(const WeightView& w, int64_t n_rows) {
  if (w.dtype == DType::F32) return 1;
  return std::min(block_rows(w), std::max<int64_t>(1, n_rows)) * w.cols;
}

int64_t matmul_row_grain(const WeightView& w) {
  return std::max<int64_t>(1, kPieceBytes / std::max<int64_t>(1, w.row_bytes));
}

void matmul_rows(float* y, int64_t ldy, const float* x, int64_t ldx, const int32_t* x_idx, int64_t n_tokens,
                 const WeightView& w, int64_t r0, int64_t r1, float* scratch) {
  const int64_t K = w.cols;
  const int64_t rb = block_rows(w);
  const float* rows[64];
  for (int64_t b0 = r0; b0 < r1; b0 += rb) {
    const int64_t n = std::min(rb, r1 - b0);
    if (w.dtype == DType::F32) {
      for (int64_t r = 0; r < n; r++) rows[r] = reinterpret_cast<const float*>(w.row(b0 + r));
    } else {
      weight_rows_to_f32(w, b0, n, scratch);  // [n, K]
      for (int64_t r = 0; r < n; r++) rows[r] = scratch + r * K;
    }
    for (int64_t t = 0; t < n_tokens; t++) {
      const float* xt = x + (x_idx ? (int64_t)x_idx[t] : t) * ldx;  // [K]
      float* yt = y + t * ldy + (b0 - r0);                          // [n]
      for (int64_t r = 0; r < n; r++) yt[r] = dot_f32(xt, rows[r], K);
    }
  }
}

// ---- entry points

void matmul(ThreadPool& pool, float* y, const float* x, int64_t n_tokens, const WeightView& w) {
  if (n_tokens <= 0) return;
  pool.parallel_for(
      w.rows,
      [&](int64_t b, int64_t e, int) {
        auto scratch = scratch_f32(matmul_scratch_floats(w, e - b));
        matmul_rows(y + b, w.rows, x, w.cols, nullptr, n_tokens, w, b, e, scratch.get());
      },
      matmul_row_grain(w));
}

}  // namespace hl::cpu
