// cuda/test/mock_hlc.cpp: a host-only stand-in for libhybridlm_cuda, used to
// check the test harness itself on a machine without a GPU
// (hybridlm_cuda_test_mock, built with -DHYBRIDLM_CUDA_MOCK_TEST=ON): "device"
// memory is host memory and every op calls its CPU twin. Every case should
// pass against it except "errors" (the mock does not validate arguments);
// a failure elsewhere is a bug in a reference, a tolerance or a case, not in
// the CUDA kernels. Never shipped.
#include <cstdlib>
#include <cstring>
#include <string>

#include "cpu/kernels.h"
#include "hybridlm_cuda.h"

namespace {
thread_local std::string g_err;
hl::ThreadPool& pool() {
  static hl::ThreadPool p(2);
  return p;
}
template <typename F> int guard(F&& f) {
  try {
    f();
    return HLC_OK;
  } catch (const std::exception& e) {
    g_err = e.what();
    return HLC_UNSUPPORTED;
  }
}
}  // namespace

extern "C" {
int hlc_abi_version(void) { return HLC_ABI_VERSION; }
const char* hlc_last_error(void) { return g_err.c_str(); }
int hlc_device_count(int* c) { *c = 1; return 0; }
int hlc_device_info(int, struct hlc_device_info* o) {
  std::memset(o, 0, sizeof *o);
  std::strcpy(o->name, "host mock");
  return 0;
}
int hlc_set_device(int) { return 0; }
int hlc_malloc(void** p, size_t n) { *p = std::malloc(n ? n : 1); return *p ? 0 : HLC_OUT_OF_MEMORY; }
int hlc_free(void* p) { std::free(p); return 0; }
int hlc_memcpy_h2d(void* d, const void* s, size_t n) { std::memcpy(d, s, n); return 0; }
int hlc_memcpy_d2h(void* d, const void* s, size_t n) { std::memcpy(d, s, n); return 0; }
int hlc_memcpy_d2d(void* d, const void* s, size_t n) { std::memmove(d, s, n); return 0; }
int hlc_memset(void* d, int v, size_t n) { std::memset(d, v, n); return 0; }
int hlc_synchronize(void) { return 0; }
int hlc_supports_dtype(int32_t) { return 1; }
int hlc_use_tensor_cores(int) { g_err = "mock"; return HLC_UNSUPPORTED; }

int hlc_rmsnorm(float* y, const float* x, const float* w, int64_t T, int64_t dim, float eps) {
  if (dim <= 0) { g_err = "dim"; return HLC_INVALID; }
  return guard([&] { hl::cpu::rmsnorm(pool(), y, x, w, T, dim, eps); });
}
int hlc_gated_rmsnorm(float* y, const float* x, const float* z, const float* w, int64_t T, int64_t dim, int64_t G,
                      float eps) {
  return guard([&] { hl::cpu::gated_rmsnorm(pool(), y, x, z, w, T, dim, G, eps); });
}
int hlc_conv1d_causal_prefill(float* out, const float* in, const float* w, const float* b, int64_t C, int K,
                              const int32_t* cu, int S, float* const* st) {
  return guard([&] { hl::cpu::conv1d_causal_prefill(pool(), out, in, w, b, C, K, cu, S, st); });
}
int hlc_conv1d_causal_step(float* out, const float* in, const float* w, const float* b, int64_t C, int K, int S,
                           float* const* st) {
  return guard([&] { hl::cpu::conv1d_causal_step(pool(), out, in, w, b, C, K, S, st); });
}
int hlc_ssm_scan(float* y, const float* x, const float* dt, const float* A, const float* B, const float* C,
                 const float* D, const float* bias, const hl::SsmDims* d, const int32_t* cu, int S,
                 float* const* st, int chunk) {
  if (d->n_heads % d->n_groups) { g_err = "H % G"; return HLC_INVALID; }
  return guard([&] { hl::cpu::ssm_scan(pool(), y, x, dt, A, B, C, D, bias, *d, cu, S, st, chunk); });
}
int hlc_ssm_step(float* y, const float* x, const float* dt, const float* A, const float* B, const float* C,
                 const float* D, const float* bias, const hl::SsmDims* d, int S, float* const* st) {
  return guard([&] { hl::cpu::ssm_step(pool(), y, x, dt, A, B, C, D, bias, *d, S, st); });
}
int hlc_attention(float* out, const float* q, const hl::AttentionDims* d, const int32_t* cu, int S,
                  const hl::KvView* kv) {
  if (d->n_heads % d->n_kv_heads) { g_err = "Hq % Hkv"; return HLC_INVALID; }
  return guard([&] { hl::cpu::attention(pool(), out, q, *d, cu, S, kv); });
}
int hlc_matmul(float* y, const float* x, int64_t T, const hl::WeightView* w) {
  if ((int)w->dtype == 9) { g_err = "dtype 9"; return HLC_UNSUPPORTED; }
  return guard([&] { hl::cpu::matmul(pool(), y, x, T, *w); });
}
int hlc_embed(float* out, const hl::WeightView* w, const int32_t* ids, int64_t T, float scale) {
  return guard([&] { hl::cpu::embed(pool(), out, *w, ids, T, scale); });
}
int hlc_swiglu(float* out, const float* g, const float* u, int64_t T, int64_t n) {
  return guard([&] { hl::cpu::swiglu(pool(), out, g, u, T, n); });
}
int hlc_moe_route(int32_t* ids, float* w, const float* lg, int64_t T, int64_t E, int64_t k) {
  return guard([&] { hl::cpu::moe_route(pool(), ids, w, lg, T, E, k); });
}
int hlc_moe_forward(float* out, const float* x, const int32_t* ids, const float* w, int64_t T, int64_t k,
                    const hl::MoeWeights* mw) {
  return guard([&] { hl::cpu::moe_forward(pool(), out, x, ids, w, T, k, *mw); });
}
int hlc_copy_columns(float* dst, const float* src, int64_t rows, int64_t stride, int64_t col, int64_t width) {
  for (int64_t r = 0; r < rows; r++) std::memcpy(dst + r * width, src + r * stride + col, sizeof(float) * width);
  return 0;
}
int hlc_gather_rows(float* dst, const float* src, const int64_t* rows, int64_t n, int64_t width) {
  for (int64_t i = 0; i < n; i++) std::memcpy(dst + i * width, src + rows[i] * width, sizeof(float) * width);
  return 0;
}
int hlc_add_scaled(float* y, const float* x, float alpha, int64_t n) {
  for (int64_t i = 0; i < n; i++) y[i] += alpha * x[i];
  return 0;
}
int hlc_kv_write(float* const* pages, int64_t, int64_t page_size, const float* src, int64_t pos0, int64_t n,
                 int64_t n_kv, int64_t head_dim) {
  for (int64_t t = 0; t < n; t++) {
    const int64_t p = pos0 + t;
    for (int64_t h = 0; h < n_kv; h++)
      std::memcpy(pages[p / page_size] + (h * page_size + p % page_size) * head_dim, src + (t * n_kv + h) * head_dim,
                  sizeof(float) * head_dim);
  }
  return 0;
}
int hlc_argmax(const float* lg, int32_t* out, int64_t rows, int64_t vocab) {
  for (int64_t r = 0; r < rows; r++) {
    int64_t best = -1;
    for (int64_t v = 0; v < vocab; v++) {
      const float x = lg[r * vocab + v];
      if (x != x) continue;
      if (best < 0 || x > lg[r * vocab + best]) best = v;
    }
    out[r] = (int32_t)(best < 0 ? 0 : best);
  }
  return 0;
}
}  // extern "C"
