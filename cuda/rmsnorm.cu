// cuda/rmsnorm.cu: RMSNorm and gated RMSNorm (docs/KERNELS.md), twins of native/cpu/rmsnorm.cpp.
//   rmsnorm:       y[t, :] = x[t, :] * rsqrt(mean(x[t, :]^2) + eps) * w
//   gated_rmsnorm: u = x * silu(z); per group g of dim / n_groups channels:
//                  y[t, g] = u[t, g] * rsqrt(mean(u[t, g]^2) + eps) * w[g]
// Layouts: x, y [n_tokens, dim] row-contiguous; z the same or (gated_rmsnorm_strided)
// rows z_stride apart, a column view of a wider buffer; w [dim]; y may alias x.
// Parallelisation: one block per (row, group) (128 threads up to 1024
// channels, 256 above); pass 1 sums squares (f32, shuffle + shared-memory
// reduction), pass 2 re-reads the row (L1/L2-resident) and writes. Each element
// is read and written by the same thread, so y == x is safe.
// Numerics: f32 throughout, like the CPU twin.
#include "common.cuh"

namespace hlc {

// ---- device code

// grid (n_groups, n_tokens); z == nullptr means the plain norm.
__global__ void rmsnorm_kernel(float* y,         // [n_tokens, dim]
                               const float* x,   // [n_tokens, dim]
                               const float* z,   // [n_tokens] rows of dim, ldz apart, or null
                               int64_t ldz,
                               const float* w,   // [dim]
                               int64_t dim, int64_t group, float eps) {
  __shared__ float red[32];
  const int64_t base = (int64_t)blockIdx.y * dim + (int64_t)blockIdx.x * group;
  const float* xr = x + base;
  const float* zr = z ? z + (int64_t)blockIdx.y * ldz + (int64_t)blockIdx.x * group : nullptr;
  float* yr = y + base;
  const float* wr = w + (int64_t)blockIdx.x * group;
  float ss = 0.0f;
  for (int64_t i = threadIdx.x; i < group; i += blockDim.x) {
    float u = xr[i];
    if (zr) u *= silu_f(zr[i]);
    ss += u * u;
  }
  ss = block_sum(ss, red);
  const float r = rsqrtf(ss / (float)group + eps);
  for (int64_t i = threadIdx.x; i < group; i += blockDim.x) {
    float u = xr[i];
    if (zr) u *= silu_f(zr[i]);
    yr[i] = u * r * wr[i];
  }
}

// grid (n_tokens): h += alpha * branch, then u = rmsnorm(h) * w. Each element
// of h is read, updated and re-read by the same thread; the add is the
// contraction-free y + alpha * x of add_scaled_kernel (data.cu).
__global__ void add_rmsnorm_kernel(float* h, float* u, const float* branch, float alpha, const float* w, int64_t dim,
                                   float eps) {
  __shared__ float red[32];
  const int64_t base = (int64_t)blockIdx.x * dim;
  float* hr = h + base;
  const float* br = branch + base;
  float ss = 0.0f;
  for (int64_t i = threadIdx.x; i < dim; i += blockDim.x) {
    const float v = __fadd_rn(hr[i], __fmul_rn(alpha, br[i]));
    hr[i] = v;
    ss += v * v;
  }
  ss = block_sum(ss, red);
  const float r = rsqrtf(ss / (float)dim + eps);
  float* ur = u + base;
  for (int64_t i = threadIdx.x; i < dim; i += blockDim.x) ur[i] = hr[i] * r * w[i];
}

// ---- launchers

static int rmsnorm_launch(float* y, const float* x, const float* z, int64_t z_stride, const float* w,
                          int64_t n_tokens, int64_t dim, int64_t n_groups, float eps, const char* name) {
  HLC_REQUIRE(n_tokens >= 0 && dim > 0 && n_groups > 0 && dim % n_groups == 0,
              std::string("[") + name + "] bad shape: need dim > 0 divisible by n_groups");
  if (n_tokens == 0) return HLC_OK;
  HLC_REQUIRE(y && x && w, std::string("[") + name + "] null pointer");
  HLC_REQUIRE(n_tokens <= 65535 * 1024LL, std::string("[") + name + "] too many rows");
  HLC_REQUIRE(z_stride == 0 || z_stride >= dim, std::string("[") + name + "] z_stride below dim");
  const int64_t ldz = z_stride ? z_stride : dim;
  std::lock_guard<std::recursive_mutex> lock(op_mutex());
  HLC_TRY(ensure_device());
  const int64_t group = dim / n_groups;
  const int threads = group <= 1024 ? 128 : 256;
  // gridDim.y is limited to 65535: split the rows.
  for (int64_t t0 = 0; t0 < n_tokens; t0 += 65535) {
    const int64_t nt = n_tokens - t0 < 65535 ? n_tokens - t0 : 65535;
    dim3 grid((unsigned)n_groups, (unsigned)nt);
    HLC_LAUNCH(grid, threads, 0, (y + t0 * dim, x + t0 * dim, z ? z + t0 * ldz : nullptr, ldz, w, dim, group, eps),
                                  rmsnorm_kernel);
    HLC_LAUNCHED("rmsnorm_kernel");
  }
  return HLC_OK;
}

}  // namespace hlc

extern "C" HLC_EXPORT int hlc_add_rmsnorm(float* h, float* u, const float* branch, float alpha, const float* w,
                                          int64_t n_tokens, int64_t dim, float eps) {
  using namespace hlc;
  HLC_REQUIRE(n_tokens >= 0 && dim > 0, "[add_rmsnorm] bad shape: need dim > 0");
  if (n_tokens == 0) return HLC_OK;
  HLC_REQUIRE(h && u && branch && w, "[add_rmsnorm] null pointer");
  HLC_REQUIRE(n_tokens <= 0x7fffffffLL, "[add_rmsnorm] too many rows");
  std::lock_guard<std::recursive_mutex> lock(op_mutex());
  HLC_TRY(ensure_device());
  HLC_LAUNCH((unsigned)n_tokens, dim <= 1024 ? 128 : 256, 0, (h, u, branch, alpha, w, dim, eps), add_rmsnorm_kernel);
  HLC_LAUNCHED("add_rmsnorm_kernel");
  return HLC_OK;
}

extern "C" HLC_EXPORT int hlc_rmsnorm(float* y, const float* x, const float* w, int64_t n_tokens, int64_t dim, float eps) {
  return hlc::rmsnorm_launch(y, x, nullptr, 0, w, n_tokens, dim, 1, eps, "rmsnorm");
}

extern "C" HLC_EXPORT int hlc_gated_rmsnorm(float* y, const float* x, const float* z, const float* w, int64_t n_tokens,
                                 int64_t dim, int64_t n_groups, float eps) {
  return hlc_gated_rmsnorm_strided(y, x, z, w, n_tokens, dim, n_groups, eps, 0);
}

extern "C" HLC_EXPORT int hlc_gated_rmsnorm_strided(float* y, const float* x, const float* z, const float* w,
                                                    int64_t n_tokens, int64_t dim, int64_t n_groups, float eps,
                                                    int64_t z_stride) {
  if (!z) return hlc::set_error(HLC_INVALID, "[gated_rmsnorm] z is null");
  return hlc::rmsnorm_launch(y, x, z, z_stride, w, n_tokens, dim, n_groups, eps, "gated_rmsnorm");
}
