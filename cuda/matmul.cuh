// cuda/matmul.cuh: the matmul launchers shared by matmul.cu and moe.cu.
#pragma once
#include "quant.cuh"

namespace hlc {

// y[m * ldy + n] = sum_k xrow(m)[k] * W_e[n, k]     xrow(m) = x + (x_idx ? x_idx[m] : m) * ldx
// Dense: tiles == nullptr, m in [0, M), e = 0.
// Grouped (MoE): tiles[i] = {expert, m0, m1, 0} for i < n_tiles (entries with
// expert < 0 are unused); W_e = W moved by expert * expert_stride bytes.
struct GemmArgs {
  float* y;
  int64_t ldy;
  const float* x;
  int64_t ldx;
  const int32_t* x_idx;
  const uint8_t* w;  // [N] rows of row_bytes
  int64_t row_bytes;
  int32_t dtype;
  int64_t N, K, M;
  const int4* tiles;
  int64_t n_tiles;
  int64_t expert_stride;
  int64_t x_rows;  // rows of x (x_idx values are < x_rows); Q8_0 quantizes them all once
};

// Q8_0 weights take Q8-quantized activations (docs/KERNELS.md, Matmul; bit-identical
// rounding to the CPU twin's quantize_q8: d = amax / 127, q = round-half-even(x / d)):
// the GEMV runs int8 dp4a dots per 32-block scaled by d_w * d_x; the GEMM
// multiplies the dequantized q * d_x in f32 (exact products up to f32 rounding).
// Tiled SIMT GEMM (every arch). M tile = kGemmTileM.
constexpr int kGemmTileM = 64;
int gemm_launch(const GemmArgs& a);
// Streaming GEMV for dense M <= 8.
int gemv_launch(const GemmArgs& a);

}  // namespace hlc
