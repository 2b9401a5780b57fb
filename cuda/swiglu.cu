// cuda/swiglu.cu: out[t, i] = silu(gate[t, i]) * up[t, i]   (all [n_tokens, n]; out may alias gate)
// Twin of native/cpu/swiglu.cpp. Elementwise, grid-stride, float4 when all
// three pointers are 16-byte aligned. Numerics: f32.
#include "common.cuh"

namespace hlc {

// ---- device code

__global__ void swiglu_kernel(float* out, const float* gate, const float* up, int64_t n) {
  const int64_t stride = (int64_t)gridDim.x * blockDim.x;
  for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += stride)
    out[i] = silu_f(gate[i]) * up[i];
}

__global__ void swiglu_vec4_kernel(float4* out, const float4* gate, const float4* up, int64_t n4) {
  const int64_t stride = (int64_t)gridDim.x * blockDim.x;
  for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < n4; i += stride) {
    const float4 g = gate[i], u = up[i];
    out[i] = make_float4(silu_f(g.x) * u.x, silu_f(g.y) * u.y, silu_f(g.z) * u.z, silu_f(g.w) * u.w);
  }
}

// ---- launchers

int swiglu_launch(float* out, const float* gate, const float* up, int64_t n) {
  if (n <= 0) return HLC_OK;
  const int threads = 256;
  if (aligned16(out) && aligned16(gate) && aligned16(up) && n % 4 == 0) {
    const int64_t blocks = std::min<int64_t>(ceil_div(n / 4, threads), 65535LL * 8);
    HLC_LAUNCH((unsigned)blocks, threads, 0, (reinterpret_cast<float4*>(out), reinterpret_cast<const float4*>(gate),
                                              reinterpret_cast<const float4*>(up), n / 4), swiglu_vec4_kernel);
  } else {
    const int64_t blocks = std::min<int64_t>(ceil_div(n, threads), 65535LL * 8);
    HLC_LAUNCH((unsigned)blocks, threads, 0, (out, gate, up, n), swiglu_kernel);
  }
  HLC_LAUNCHED("swiglu_kernel");
  return HLC_OK;
}

}  // namespace hlc

extern "C" HLC_EXPORT int hlc_swiglu(float* out, const float* gate, const float* up, int64_t n_tokens, int64_t n) {
  HLC_REQUIRE(n_tokens >= 0 && n >= 0, "[swiglu] negative shape");
  if (n_tokens == 0 || n == 0) return HLC_OK;
  HLC_REQUIRE(out && gate && up, "[swiglu] null pointer");
  std::lock_guard<std::recursive_mutex> lock(hlc::op_mutex());
  HLC_TRY(hlc::ensure_device());
  return hlc::swiglu_launch(out, gate, up, n_tokens * n);
}
