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
  int64_t dtype;  // int32 values; 64 bits so the struct holds no padding (graph replay compares it)
  int64_t N, K, M;
  const int4* tiles;
  int64_t n_tiles;
  int64_t expert_stride;
  int64_t x_rows;  // rows of x (x_idx values are < x_rows); Q8_0 quantizes them all once
};
HLC_GRAPH_PARAM_STRUCT(GemmArgs, 15 * 8);

// The token rows [m0, m1) and expert e of GEMM block blockIdx.y (kGemmTileM
// tokens, or entry blockIdx.y of the tile list); false for an unused entry.
__device__ __forceinline__ bool gemm_block_rows(const GemmArgs& a, int64_t& m0, int64_t& m1, int64_t& e);

// Block weight types (Q8_0, Q4_0, Q4_K, Q5_K, Q6_K) take int8-quantized
// activations (docs/KERNELS.md, Matmul; bit-identical rounding to the CPU
// twin's: blocks of act_block(dt) values, d = amax / 127, q =
// round-half-even(x / d)): the GEMV runs dp4a dots on the packed codes
// (gemv_int.cu); the GEMM multiplies the dequantized q * d_x in f32.
// Tiled SIMT GEMM (every arch). M tile = kGemmTileM.
constexpr int kGemmTileM = 64;
constexpr int kGemvWarps = 4;  // output rows (one warp each) per GEMV block
int gemm_launch(const GemmArgs& a);

__device__ __forceinline__ bool gemm_block_rows(const GemmArgs& a, int64_t& m0, int64_t& m1, int64_t& e) {
  e = 0;
  if (a.tiles) {
    const int4 t = a.tiles[blockIdx.y];
    e = t.x;
    m0 = t.y;
    m1 = t.z;
    return t.x >= 0;
  }
  m0 = (int64_t)blockIdx.y * kGemmTileM;
  m1 = m0 + kGemmTileM < a.M ? m0 + kGemmTileM : a.M;
  return true;
}
// Streaming GEMV for dense M <= 8.
int gemv_launch(const GemmArgs& a);

// The block types of the integer paths (dp4a units, int_units.h).
constexpr bool is_int_weight(int32_t dt) {
  return dt == kQ8_0 || dt == kQ4_0 || dt == kQ4_K || dt == kQ5_K || dt == kQ6_K;
}

// gemv_int.cu
// Activation block of the integer paths: 32 (Q8_0, Q4_0) or 256 (K-quants).
int64_t act_block(int32_t dt);
// Quantizes rows of x to int8 blocks of act_block(dt); any output may be null.
int act_quantize_launch(int32_t dt, const float* x, int64_t ldx, int64_t rows, int64_t K, int8_t* xq, float* xd,
                        int32_t* xs, float* xdeq);
// dp4a GEMV for an integer weight type (is_int_weight), dense M <= 8, weights 2-byte aligned.
int gemv_int_launch(const GemmArgs& a);
// The same in two halves, so several matrices of one activation block share
// one quantization (hlc_matmul_multi): a.x's rows -> q (workspace slot 1,
// valid until the next matmul), then the GEMV of a's weights on q.
struct IntActs {
  int8_t* xq;
  float* xd;
  int32_t* xs;
};
int int_acts_quantize(const GemmArgs& a, IntActs* q);
int gemv_int_run(const GemmArgs& a, const IntActs& q);

}  // namespace hlc
