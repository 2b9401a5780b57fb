// native/core/backend.h: one table of ops per device (KERNELS.md families).
// The executor asks supports() when it binds weights, then calls the ops; a
// backend owns its threads/streams. CpuBackend (native/cpu/backend.cpp) is
// always built; the CUDA backend implements the same table (cuda/).
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

  // Semantics, layouts and preconditions of every op: native/cpu/kernels.h.
  virtual void rmsnorm(float* y, const float* x, const float* w, int64_t n_tokens, int64_t dim, float eps) = 0;
  virtual void gated_rmsnorm(float* y, const float* x, const float* z, const float* w, int64_t n_tokens, int64_t dim,
                             int64_t n_groups, float eps) = 0;
  virtual void conv1d_causal_prefill(float* out, const float* in, const float* w, const float* bias, int64_t channels,
                                     int d_conv, const int32_t* cu_seqlens, int n_seqs, float* const* states) = 0;
  virtual void conv1d_causal_step(float* out, const float* in, const float* w, const float* bias, int64_t channels,
                                  int d_conv, int n_seqs, float* const* states) = 0;
  virtual void ssm_scan(float* y, const float* x, const float* dt_raw, const float* A, const float* B, const float* C,
                        const float* D, const float* dt_bias, const SsmDims& dims, const int32_t* cu_seqlens,
                        int n_seqs, float* const* states, int chunk_size) = 0;
  virtual void ssm_step(float* y, const float* x, const float* dt_raw, const float* A, const float* B, const float* C,
                        const float* D, const float* dt_bias, const SsmDims& dims, int n_seqs,
                        float* const* states) = 0;
  virtual void attention(float* out, const float* q, const AttentionDims& dims, const int32_t* cu_seqlens, int n_seqs,
                         const KvView* kv) = 0;
  virtual void matmul(float* y, const float* x, int64_t n_tokens, const WeightView& w) = 0;
  virtual void embed(float* out, const WeightView& w, const int32_t* ids, int64_t n_tokens, float scale) = 0;
  virtual void swiglu(float* out, const float* gate, const float* up, int64_t n_tokens, int64_t n) = 0;
  virtual void moe_route(int32_t* ids, float* weights, const float* logits, int64_t n_tokens, int64_t n_experts,
                         int64_t top_k) = 0;
  virtual void moe_forward(float* out, const float* x, const int32_t* ids, const float* weights, int64_t n_tokens,
                           int64_t top_k, const MoeWeights& w) = 0;
};

// The CPU backend with its own pool of n_threads threads.
std::unique_ptr<Backend> make_cpu_backend(int n_threads);

}  // namespace hl
