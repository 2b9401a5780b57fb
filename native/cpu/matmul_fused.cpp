// native/cpu/matmul_fused.cpp: matmuls that share their activations, run as
// one parallel region (docs/KERNELS.md, Matmul; docs/ARCHITECTURE.md, Threads).
//   matmul_multi:  ys[i] = x · ws[i]ᵀ                       (q/k/v)
//   matmul_swiglu: out = silu(x · gateᵀ) * (x · upᵀ)         (gate/up + SwiGLU)
// Each thread piece runs the serial core matmul_rows (matmul.cpp) on its rows,
// so the numerics are exactly those of matmul(); one fork/join replaces two or
// three (plus the SwiGLU's), which is most of what a decode token pays for on
// a small model. In prefill the shared input is prepared (quantized / packed)
// once per activation kind for all matrices and pieces (prepare_acts).
#include <algorithm>

#include "kernel_util.h"
#include "kernels.h"

namespace hl::cpu {

void matmul_multi(ThreadPool& pool, float* const* ys, const float* x, int64_t n_tokens, const WeightView* ws,
                  int n_mats) {
  if (n_tokens <= 0 || n_mats <= 0) return;
  // Threads split the concatenated rows of all matrices; a piece that spans a
  // boundary runs the tail of one matrix and the head of the next.
  int64_t total = 0, grain = 1;
  for (int i = 0; i < n_mats; i++) {
    total += ws[i].rows;
    grain = std::max(grain, matmul_row_grain(ws[i]));
  }
  // One prepared copy of x per distinct kind (formats sharing a block size share it).
  int64_t kinds[8] = {0};
  PreparedActs preps[8];
  int kind_of[8] = {0}, n_kinds = 0;
  const bool shared = n_mats <= 8;
  for (int i = 0; shared && i < n_mats; i++) {
    const int64_t k = prep_kind(ws[i], n_tokens);
    int j = 0;
    while (j < n_kinds && kinds[j] != k) j++;
    if (j == n_kinds) {
      kinds[j] = k;
      if (k) preps[j] = prepare_acts(pool, j, k, x, n_tokens, ws[i].cols);
      n_kinds++;
    }
    kind_of[i] = j;
  }
  parallel_rows(pool, total, grain, n_tokens >= kSharedPrepTokens, [&](int64_t b, int64_t e) {
    int64_t base = 0;
    for (int i = 0; i < n_mats && base < e; base += ws[i].rows, i++) {
      const int64_t r0 = std::max<int64_t>(b - base, 0), r1 = std::min<int64_t>(e - base, ws[i].rows);
      const PreparedActs* prep = shared && kinds[kind_of[i]] ? &preps[kind_of[i]] : nullptr;
      if (r0 < r1) matmul_piece(ys[i], x, n_tokens, ws[i], r0, r1, prep);
    }
  });
}

void matmul_swiglu(ThreadPool& pool, float* out, float* up_out, const float* x, int64_t n_tokens,
                   const WeightView& gate, const WeightView& up) {
  if (n_tokens <= 0) return;
  const int64_t F = gate.rows;
  const int64_t kg = prep_kind(gate, n_tokens), ku = prep_kind(up, n_tokens);
  const PreparedActs pg = kg ? prepare_acts(pool, 0, kg, x, n_tokens, gate.cols) : PreparedActs{};
  const PreparedActs pu = ku == kg ? pg : ku ? prepare_acts(pool, 1, ku, x, n_tokens, up.cols) : PreparedActs{};
  const int64_t grain = std::max(matmul_row_grain(gate), matmul_row_grain(up));
  parallel_rows(pool, F, grain, n_tokens >= kSharedPrepTokens, [&](int64_t b, int64_t e) {
    matmul_piece(out, x, n_tokens, gate, b, e, kg ? &pg : nullptr);
    matmul_piece(up_out, x, n_tokens, up, b, e, ku ? &pu : nullptr);
    const SimdOps& ops = simd_ops();
    for (int64_t t = 0; t < n_tokens; t++) ops.silu_mul(out + t * F + b, out + t * F + b, up_out + t * F + b, e - b);
  });
}

}  // namespace hl::cpu
