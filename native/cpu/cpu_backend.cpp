// native/cpu/cpu_backend.cpp: the CPU op table — each op forwards to its kernel
// in native/cpu/*.cpp with the backend's own thread pool.
#include "../core/backend.h"
#include "../core/backend_registry.h"

#include <cstdlib>
#include <cstring>
#include <string>

#include "host_memory.h"
#include "kernels.h"

namespace hl {

namespace {

class CpuBackend final : public Backend {
 public:
  explicit CpuBackend(int n_threads) : pool_(n_threads) {}

  const char* name() const override { return "cpu"; }
  Device device() const override { return Device::CPU; }
  int n_threads() const override { return pool_.size(); }

  // ---- memory: host memory, weights read in place from the mapping.
  void* alloc(size_t bytes) override { return cpu::host_alloc(bytes, true); }
  void release(void* p) noexcept override { cpu::host_free(p); }
  void upload(void* dst, const void* src, size_t n) override { std::memcpy(dst, src, n); }
  void download(void* dst, const void* src, size_t n) override { std::memcpy(dst, src, n); }
  void copy(void* dst, const void* src, size_t n) override { std::memcpy(dst, src, n); }
  void synchronize() override {}
  const uint8_t* weights(const uint8_t* host, size_t) override { return host; }
  uint64_t weight_copy_bytes() const override { return 0; }

  void gather_rows(float* dst, const float* src, const int64_t* rows, int64_t n, int64_t width) override {
    for (int64_t i = 0; i < n; i++) std::memcpy(dst + i * width, src + rows[i] * width, sizeof(float) * width);
  }
  void add_scaled(float* y, const float* x, float alpha, int64_t n) override {
    for (int64_t i = 0; i < n; i++) y[i] += alpha * x[i];
  }
  void* alloc_uninit(size_t bytes) override { return cpu::host_alloc(bytes, false); }
  void fill_zero(void* dst, size_t bytes) override { std::memset(dst, 0, bytes); }
  void kv_write(float* const* pages, int64_t page_size, const float* src, int64_t pos0, int64_t n, int64_t n_kv,
                int64_t head_dim, DType dtype) override {
    cpu::kv_write(pages, page_size, src, pos0, n, n_kv, head_dim, dtype);
  }
  bool supports_kv(DType t) const override { return t == DType::F32 || t == DType::F16 || t == DType::Q8_0; }

  bool supports(Op op, DType t) const override {
    switch (op) {
      case Op::Matmul: case Op::Embed: case Op::MoeForward: return dtype_supported(t);
      default: return t == DType::F32;
    }
  }

  void rmsnorm(float* y, const float* x, const float* w, int64_t n, int64_t dim, float eps) override {
    cpu::rmsnorm(pool_, y, x, w, n, dim, eps);
  }
  bool argmax(int32_t* out, const float* logits, int64_t rows, int64_t vocab, float divisor) override {
    cpu::argmax_rows(pool_, out, logits, rows, vocab, divisor);
    return true;
  }
  void add_rmsnorm(float* h, float* u, const float* branch, float alpha, const float* w, int64_t n, int64_t dim,
                   float eps) override {
    cpu::add_rmsnorm(pool_, h, u, branch, alpha, w, n, dim, eps);
  }
  void gated_rmsnorm(float* y, const float* x, const float* z, const float* w, int64_t n, int64_t dim, int64_t g,
                     float eps, int64_t z_stride) override {
    cpu::gated_rmsnorm(pool_, y, x, z, w, n, dim, g, eps, z_stride);
  }
  void conv1d_causal_prefill(float* out, const float* in, const float* w, const float* bias, int64_t ch, int k,
                             const int32_t* cu, int n_seqs, float* const* states, int64_t in_stride) override {
    cpu::conv1d_causal_prefill(pool_, out, in, w, bias, ch, k, cu, n_seqs, states, in_stride);
  }
  void conv1d_causal_step(float* out, const float* in, const float* w, const float* bias, int64_t ch, int k,
                          int n_seqs, float* const* states, int64_t in_stride) override {
    cpu::conv1d_causal_step(pool_, out, in, w, bias, ch, k, n_seqs, states, in_stride);
  }
  void ssm_scan(float* y, const float* x, const float* dt, const float* A, const float* B, const float* C,
                const float* D, const float* dt_bias, const SsmDims& d, const int32_t* cu, int n_seqs,
                float* const* states, int chunk, const SsmStrides& st) override {
    cpu::ssm_scan(pool_, y, x, dt, A, B, C, D, dt_bias, d, cu, n_seqs, states, chunk, st);
  }
  void ssm_step(float* y, const float* x, const float* dt, const float* A, const float* B, const float* C,
                const float* D, const float* dt_bias, const SsmDims& d, int n_seqs, float* const* states,
                const SsmStrides& st) override {
    cpu::ssm_step(pool_, y, x, dt, A, B, C, D, dt_bias, d, n_seqs, states, st);
  }
  void attention(float* out, const float* q, const AttentionDims& d, const int32_t* cu, int n_seqs,
                 const KvView* kv) override {
    cpu::attention(pool_, out, q, d, cu, n_seqs, kv);
  }
  void matmul(float* y, const float* x, int64_t n, const WeightView& w) override { cpu::matmul(pool_, y, x, n, w); }
  void matmul_multi(float* const* ys, const float* x, int64_t n, const WeightView* ws, int n_mats) override {
    cpu::matmul_multi(pool_, ys, x, n, ws, n_mats);
  }
  void matmul_swiglu(float* out, float* up_out, const float* x, int64_t n, const WeightView& gate,
                     const WeightView& up) override {
    cpu::matmul_swiglu(pool_, out, up_out, x, n, gate, up);
  }
  void embed(float* out, const WeightView& w, const int32_t* ids, int64_t n, float scale) override {
    cpu::embed(pool_, out, w, ids, n, scale);
  }
  void swiglu(float* out, const float* gate, const float* up, int64_t n, int64_t width) override {
    cpu::swiglu(pool_, out, gate, up, n, width);
  }
  void moe_route(int32_t* ids, float* weights, const float* logits, int64_t n, int64_t e, int64_t k) override {
    cpu::moe_route(pool_, ids, weights, logits, n, e, k);
  }
  void moe_forward(float* out, const float* x, const int32_t* ids, const float* weights, int64_t n, int64_t k,
                   const MoeWeights& w) override {
    cpu::moe_forward(pool_, out, x, ids, weights, n, k, w);
  }
  uint64_t parallel_regions() const override { return pool_.regions(); }

 private:
  ThreadPool pool_;
};

}  // namespace

// Always available: the CPU backend is built into every addon.
const BackendRegistration cpu_registration{
    Device::CPU, "cpu", [](const BackendOptions& o) -> std::unique_ptr<Backend> {
      return std::make_unique<CpuBackend>(o.n_threads);
    },
    []() { return BackendAvailability{true, "built in"}; }};

}  // namespace hl
