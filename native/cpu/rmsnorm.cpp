// native/cpu/rmsnorm.cpp: RMSNorm and gated RMSNorm (docs/KERNELS.md, RMSNorm).
//   rmsnorm:       y[t, :] = x[t, :] * rsqrt(mean(x[t, :]^2) + eps) * w
//   gated_rmsnorm: u = x * silu(z); per group of dim / n_groups channels,
//                  y[t, g] = u[t, g] * rsqrt(mean(u[t, g]^2) + eps) * w[g]
//                  (Mamba-2 RMSNormGated with norm_before_gate = false).
// Layouts: x, y [n_tokens, dim] row-contiguous; z rows z_stride apart; w [dim].
// Parallelisation: threads split rows, at least ~16K elements per piece.
// Numerics: sum of squares in f32 with kLanes partial sums, mean and rsqrt in
// f32. Two passes over the row (sum, then scale); a row stays in L1 between them.
// ref: HF GraniteMoeHybridRMSNorm / GraniteMoeHybridRMSNormGated.
#include <cmath>

#include "kernel_util.h"
#include "kernels.h"

namespace hl::cpu {

static int64_t row_grain(int64_t dim) { return std::max<int64_t>(1, 16384 / std::max<int64_t>(1, dim)); }

// ---- kernels

static void rmsnorm_row(float* y, const float* x, const float* w, int64_t n, float eps) {
  float mean = sumsq_f32(x, n) / (float)n;
  float r = 1.0f / std::sqrt(mean + eps);
  for (int64_t i = 0; i < n; i++) y[i] = x[i] * r * w[i];
}

void rmsnorm(ThreadPool& pool, float* y, const float* x, const float* w, int64_t n_tokens, int64_t dim,
             float eps) {
  pool.parallel_for(
      n_tokens,
      [&](int64_t b, int64_t e, int) {
        for (int64_t t = b; t < e; t++) rmsnorm_row(y + t * dim, x + t * dim, w, dim, eps);
      },
      row_grain(dim));
}

void add_rmsnorm(ThreadPool& pool, float* h, float* u, const float* branch, float alpha, const float* w,
                 int64_t n_tokens, int64_t dim, float eps) {
  pool.parallel_for(
      n_tokens,
      [&](int64_t b, int64_t e, int) {
        for (int64_t t = b; t < e; t++) {
          float* hr = h + t * dim;
          const float* br = branch + t * dim;
          for (int64_t i = 0; i < dim; i++) hr[i] += alpha * br[i];
          rmsnorm_row(u + t * dim, hr, w, dim, eps);
        }
      },
      row_grain(dim));
}

void gated_rmsnorm(ThreadPool& pool, float* y, const float* x, const float* z, const float* w,
                   int64_t n_tokens, int64_t dim, int64_t n_groups, float eps, int64_t z_stride) {
  const int64_t group = dim / n_groups, zs = z_stride ? z_stride : dim;
  pool.parallel_for(
      n_tokens,
      [&](int64_t b, int64_t e, int) {
        for (int64_t t = b; t < e; t++) {
          const float* xr = x + t * dim;  // [dim]
          const float* zr = z + t * zs;   // [dim]
          float* yr = y + t * dim;        // [dim]; may alias xr (same index read before write)
          simd_ops().silu_mul(yr, zr, xr, dim);  // x * silu(z)
          for (int64_t g = 0; g < n_groups; g++)
            rmsnorm_row(yr + g * group, yr + g * group, w + g * group, group, eps);
        }
      },
      row_grain(dim));
}

}  // namespace hl::cpu
