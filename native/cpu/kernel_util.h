// native/cpu/kernel_util.h: small helpers shared by the CPU kernel files
// (private to native/cpu; the executor uses kernels.h only).
// The loops left here are written so GCC/Clang auto-vectorise them at
// baseline flags (elementwise, no loop-carried dependence); dot products and
// axpy go through the per-ISA table (simd/ops.h).
#pragma once
#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <memory>

#include "../core/tensor.h"
#include "../core/thread_pool.h"
#include "simd/ops.h"

namespace hl::cpu {

constexpr int kLanes = 8;

// softplus(v) = log(1 + e^v), = v above 20 where e^-v < f32 epsilon.
inline float softplus(float v) { return v > 20.0f ? v : std::log1p(std::exp(v)); }

// sum_i a[i] * b[i], f32 (SIMD partial sums).
inline float dot_f32(const float* a, const float* b, int64_t n) { return simd_ops().dot_f32(a, b, n); }

// sum_i a[i]^2.
inline float sumsq_f32(const float* a, int64_t n) { return dot_f32(a, a, n); }

// y[i] += alpha * x[i]
inline void axpy_f32(float* y, float alpha, const float* x, int64_t n) { simd_ops().axpy_f32(y, alpha, x, n); }

// Uninitialised f32 scratch (the kernels overwrite what they read).
inline std::unique_ptr<float[]> scratch_f32(int64_t n) {
  return std::unique_ptr<float[]>(new float[(size_t)(n > 0 ? n : 1)]);
}

// Runs fn(item) for item in [0, n_items) on every thread of the pool, handing
// items out one at a time from a shared counter: the right schedule when
// item costs differ a lot (causal attention tiles, ragged sequences). Items
// should be ordered most expensive first.
template <typename Fn>
void parallel_items(ThreadPool& pool, int64_t n_items, Fn&& fn) {
  if (n_items <= 0) return;
  std::atomic<int64_t> next{0};
  int64_t n_workers = std::min<int64_t>(pool.size(), n_items);
  pool.parallel_for(n_workers, [&](int64_t, int64_t, int) {
    for (int64_t it = next.fetch_add(1); it < n_items; it = next.fetch_add(1)) fn(it);
  });
}

// Runs fn(r0, r1) over rows [0, rows) in pieces of at least `grain` rows.
// Decode (balanced = false): one piece per thread, the fewest fork/join
// costs. Prefill: about four pieces per thread (multiples of 16 rows) handed
// out from a shared counter, so a thread slowed by the VM or the JS thread
// does not hold the others at the join (docs/ARCHITECTURE.md, Threads).
template <typename Fn>
void parallel_rows(ThreadPool& pool, int64_t rows, int64_t grain, bool balanced, Fn&& fn) {
  if (!balanced || pool.size() <= 1) {
    pool.parallel_for(rows, [&](int64_t b, int64_t e, int) { fn(b, e); }, grain);
    return;
  }
  const int64_t per = (rows + 4 * pool.size() - 1) / (4 * pool.size());
  const int64_t item = std::max<int64_t>(std::max<int64_t>(grain, 1), (per + 15) / 16 * 16);
  const int64_t n_items = (rows + item - 1) / item;
  parallel_items(pool, n_items, [&](int64_t i) { fn(i * item, std::min(rows, (i + 1) * item)); });
}

// f16 -> f32 through a 64K-entry table (built once, thread-safe).
const float* f16_table();

// Widen/dequantize one row of K elements of type t (quant.cpp; exact in f32).
void dequantize_row(DType t, const uint8_t* src, float* out, int64_t K);

// Widen/dequantize rows [r0, r0 + n) of w into out[n, w.cols].
void weight_rows_to_f32(const WeightView& w, int64_t r0, int64_t n, float* out);

// Activations of one matmul call prepared once for all its thread pieces
// (prefill; matmul.cpp): quantized int8 blocks for the block formats, or the
// K-major panels of the f32 GEMM. Null members: each piece prepares its own.
struct PreparedActs {
  const QAct* q = nullptr;         // [n_tokens], blocks of 32 (Q8_0 / Q4_0) or 256 (K-quants)
  const float* panels = nullptr;   // [n_panels][K][x_panel] (SimdOps::pack_x)
};

// Serial matmul core shared by matmul() and moe_forward():
//   y[t * ldy + (r - r0)] = sum_k x_row(t)[k] * W[r, k]   for t < n_tokens, r0 <= r < r1
// where x_row(t) = x + (x_idx ? x_idx[t] : t) * ldx. `scratch` holds at least
// matmul_scratch_floats(w, r1 - r0, n_tokens) floats. `prep` (optional) holds
// these activations already prepared for w's format (prepare_acts).
void matmul_rows(float* y, int64_t ldy, const float* x, int64_t ldx, const int32_t* x_idx, int64_t n_tokens,
                 const WeightView& w, int64_t r0, int64_t r1, float* scratch, const PreparedActs* prep = nullptr);
int64_t matmul_scratch_floats(const WeightView& w, int64_t n_rows, int64_t n_tokens);
// One thread's piece of y = x · wᵀ (x packed [n_tokens, w.cols], y row stride
// w.rows): rows [r0, r1) through matmul_rows with this thread's scratch.
void matmul_piece(float* y, const float* x, int64_t n_tokens, const WeightView& w, int64_t r0, int64_t r1,
                  const PreparedActs* prep = nullptr);

// Shared activation preparation (prefill). From kSharedPrepTokens tokens a
// matmul call prepares x [n_tokens, K] once, split over the pool's threads,
// instead of once per thread piece and matrix. Below it (decode and short
// chunks) pieces prepare their own: no extra fork/join per token.
constexpr int64_t kSharedPrepTokens = 16;
// Which preparation w needs: 0 = none shared (short or direct paths), else a
// key equal for formats that share the same prepared activations.
int64_t prep_kind(const WeightView& w, int64_t n_tokens);
// Prepares x for kind `kind` into buffers owned by the calling thread (slot
// `slot` of them, so matmul_multi can hold several kinds at once); valid until
// the next call on this thread with the same slot.
PreparedActs prepare_acts(ThreadPool& pool, int slot, int64_t kind, const float* x, int64_t n_tokens, int64_t K);
// Output rows per thread piece so that each piece streams >= 32 KiB of weights.
int64_t matmul_row_grain(const WeightView& w);

}  // namespace hl::cpu
