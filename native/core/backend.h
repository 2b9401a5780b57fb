// native/core/backend.h: one table of ops per device (docs/KERNELS.md families).
// The executor asks supports() when it binds weights, then calls the ops; a
// backend owns its threads/streams. CpuBackend (native/cpu/cpu_backend.cpp) is
// always built; CudaBackend (native/cuda/) implements the same table over the
// CUDA library. Backends are obtained through backend_registry.h.
#pragma once
#include <cstdint>
#include <memory>

#include "op_types.h"
#include "tensor.h"

namespace hl {

enum class Op {
  RmsNorm,
  GatedRmsNorm,
  Conv1dPrefill,
  Conv1dStep,
  SsmScan,
  SsmStep,
  Attention,
  Matmul,
  Embed,
  Swiglu,
  MoeRoute,
  MoeForward,
};

const char* op_name(Op op);

class Backend {
 public:
  virtual ~Backend() = default;
  virtual const char* name() const = 0;
  virtual Device device() const = 0;
  virtual int n_threads() const = 0;
  // Whether `op` runs with weights of `weight_dtype` (F32 for weight-less ops).
  virtual bool supports(Op op, DType weight_dtype) const = 0;

  // ---- memory: device memory on CUDA, aligned host memory on CPU. Every
  // activation, state and KV page the executor touches lives here.
  virtual void* alloc(size_t bytes) = 0;  // zero-filled; throws OutOfMemory
  // Like alloc without the zero fill (memory the caller writes before reading).
  virtual void* alloc_uninit(size_t bytes) { return alloc(bytes); }
  virtual void release(void* p) noexcept = 0;
  // dst[0:bytes] = 0.
  virtual void fill_zero(void* dst, size_t bytes);
  virtual void upload(void* dst, const void* host_src, size_t bytes) = 0;
  virtual void download(void* host_dst, const void* src, size_t bytes) = 0;
  virtual void copy(void* dst, const void* src, size_t bytes) = 0;
  virtual void synchronize() = 0;
  // Where ops read `bytes` of weights that sit at `host` (memory-mapped): the
  // CPU reads them in place (zero copy); CUDA uploads once and keeps the copy.
  virtual const uint8_t* weights(const uint8_t* host, size_t bytes) = 0;
  // Bytes of weights copied into backend memory (0 on CPU: mapped in place).
  virtual uint64_t weight_copy_bytes() const = 0;

  // ---- data movement between ops
  // dst[i, :] = src[rows[i], :], rows: host array of n indices; width floats per row.
  virtual void gather_rows(float* dst, const float* src, const int64_t* rows, int64_t n, int64_t width) = 0;
  // y[i] += alpha * x[i]
  virtual void add_scaled(float* y, const float* x, float alpha, int64_t n) = 0;
  // Writes n tokens of one attention layer's keys (or values), src [n, n_kv_heads, head_dim]
  // f32, at positions pos0.. of a paged cache of element type `dtype` (F32, F16 or Q8_0):
  // token p of head h is row (h * page_size + p % page_size) of pages[p / page_size]
  // (pages: host array; row layout and Q8_0 scales as in KvView, scales at
  // n_kv_heads * page_size * head_dim bytes into the page).
  virtual void kv_write(float* const* pages, int64_t page_size, const float* src, int64_t pos0, int64_t n,
                        int64_t n_kv_heads, int64_t head_dim, DType dtype) = 0;
  // The greedy token of each logits row, picked where the logits are:
  // out[r] = argmax_v(logits[r, v] / divisor), the first index on ties, NaN
  // never winning and a NaN at index 0 giving 0 (out: backend memory, `rows`
  // int32). False when this backend cannot (the caller downloads the logits).
  virtual bool argmax(int32_t* out, const float* logits, int64_t rows, int64_t vocab, float divisor) {
    (void)out, (void)logits, (void)rows, (void)vocab, (void)divisor;
    return false;
  }
  // Whether kv_write/attention take pages of `dtype`.
  virtual bool supports_kv(DType dtype) const { return dtype == DType::F32; }

  // Semantics, layouts and preconditions of every op: native/cpu/kernels.h.
  // An `*_stride` argument is the floats from one token's row of that input to
  // the next, so the input can be a column view of a wider buffer (the
  // executor reads z, xBC and dt straight out of the in_proj output); 0 means
  // contiguous (the row width).
  virtual void rmsnorm(float* y, const float* x, const float* w, int64_t n_tokens, int64_t dim, float eps) = 0;
  // The residual add and the next norm in one pass (h += alpha * branch, then
  // u = rmsnorm(h) * w), bit-identical to add_scaled then rmsnorm. h, u, branch
  // [n_tokens, dim]. Default: those two ops.
  virtual void add_rmsnorm(float* h, float* u, const float* branch, float alpha, const float* w, int64_t n_tokens,
                           int64_t dim, float eps);
  virtual void gated_rmsnorm(float* y, const float* x, const float* z, const float* w, int64_t n_tokens, int64_t dim,
                             int64_t n_groups, float eps, int64_t z_stride) = 0;
  virtual void conv1d_causal_prefill(float* out, const float* in, const float* w, const float* bias, int64_t channels,
                                     int d_conv, const int32_t* cu_seqlens, int n_seqs, float* const* states,
                                     int64_t in_stride) = 0;
  virtual void conv1d_causal_step(float* out, const float* in, const float* w, const float* bias, int64_t channels,
                                  int d_conv, int n_seqs, float* const* states, int64_t in_stride) = 0;
  virtual void ssm_scan(float* y, const float* x, const float* dt_raw, const float* A, const float* B, const float* C,
                        const float* D, const float* dt_bias, const SsmDims& dims, const int32_t* cu_seqlens,
                        int n_seqs, float* const* states, int chunk_size, const SsmStrides& strides) = 0;
  virtual void ssm_step(float* y, const float* x, const float* dt_raw, const float* A, const float* B, const float* C,
                        const float* D, const float* dt_bias, const SsmDims& dims, int n_seqs,
                        float* const* states, const SsmStrides& strides) = 0;
  virtual void attention(float* out, const float* q, const AttentionDims& dims, const int32_t* cu_seqlens, int n_seqs,
                         const KvView* kv) = 0;
  virtual void matmul(float* y, const float* x, int64_t n_tokens, const WeightView& w) = 0;
  // Several matmuls of the same activations, ys[i] = x · ws[i]ᵀ for i < n_mats
  // (q/k/v of an attention layer): the CPU runs them as one parallel region
  // over their concatenated rows. Default: one matmul each.
  virtual void matmul_multi(float* const* ys, const float* x, int64_t n_tokens, const WeightView* ws, int n_mats);
  // SwiGLU feed-forward front half: out = silu(x · gateᵀ) * (x · upᵀ), both
  // [n_tokens, gate.rows]; up_out receives x · upᵀ (scratch of the same size).
  // The CPU computes both and the product in one parallel region. Default:
  // matmul, matmul, swiglu.
  virtual void matmul_swiglu(float* out, float* up_out, const float* x, int64_t n_tokens, const WeightView& gate,
                             const WeightView& up);
  virtual void embed(float* out, const WeightView& w, const int32_t* ids, int64_t n_tokens, float scale) = 0;
  virtual void swiglu(float* out, const float* gate, const float* up, int64_t n_tokens, int64_t n) = 0;
  virtual void moe_route(int32_t* ids, float* weights, const float* logits, int64_t n_tokens, int64_t n_experts,
                         int64_t top_k) = 0;
  virtual void moe_forward(float* out, const float* x, const int32_t* ids, const float* weights, int64_t n_tokens,
                           int64_t top_k, const MoeWeights& w) = 0;

  // ---- a step's device work as one replayable graph (CUDA graphs; a no-op
  // elsewhere). The executor brackets the uploads and ops of a step (not its
  // final download) with begin_step / end_step. graph_key > 0 lets the
  // backend record the step once per key and replay it (decode steps: the
  // key stands for the batch size and the ops it issues); 0 runs the step as it is issued. end_step()
  // returns false when the ops were only recorded and none ran (a capture or
  // a replay the backend refused): the executor then issues the same ops
  // again after begin_step(0). abort_step() closes a step an exception left.
  // docs/cuda/README.md (Decode as a CUDA graph).
  virtual void begin_step(int64_t graph_key) { (void)graph_key; }
  virtual bool end_step() { return true; }
  virtual void abort_step() noexcept {}

  // Parallel regions (thread-pool fork/joins) run so far; 0 where the backend
  // has no pool. Read by tests and benchmarks to count them per token.
  virtual uint64_t parallel_regions() const { return 0; }
};

// Backend memory owned RAII-style; grows on reserve(), never shrinks.
class DeviceBuffer {
 public:
  DeviceBuffer() = default;
  DeviceBuffer(Backend& b, size_t bytes) : backend_(&b) { reserve(b, bytes); }
  ~DeviceBuffer() { reset(); }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  DeviceBuffer(DeviceBuffer&& o) noexcept : backend_(o.backend_), ptr_(o.ptr_), bytes_(o.bytes_) {
    o.ptr_ = nullptr;
    o.bytes_ = 0;
  }
  DeviceBuffer& operator=(DeviceBuffer&& o) noexcept {
    if (this != &o) {
      reset();
      backend_ = o.backend_;
      ptr_ = o.ptr_;
      bytes_ = o.bytes_;
      o.ptr_ = nullptr;
      o.bytes_ = 0;
    }
    return *this;
  }
  // Ensures at least `bytes` (contents are not kept when it grows).
  void reserve(Backend& b, size_t bytes) {
    if (bytes <= bytes_ && ptr_) return;
    reset();
    backend_ = &b;
    ptr_ = b.alloc(bytes ? bytes : 1);
    bytes_ = bytes;
  }
  void reset() noexcept {
    if (ptr_) backend_->release(ptr_);
    ptr_ = nullptr;
    bytes_ = 0;
  }
  void* data() const { return ptr_; }
  float* f32() const { return static_cast<float*>(ptr_); }
  size_t bytes() const { return bytes_; }

 private:
  Backend* backend_ = nullptr;
  void* ptr_ = nullptr;
  size_t bytes_ = 0;
};

}  // namespace hl
