// native/model/granite_hybrid.h: the Granite 4.0-H forward pass
// (docs/MODEL.md) over a ragged batch: several sequences per step,
// each with its own new tokens and its own state slot, packed along the token
// axis (cu_seqlens). One call = one step = every layer of every sequence.
#pragma once
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "../core/backend.h"
#include "../state/state_pool.h"
#include "../core/model_dims.h"
#include "weights.h"

namespace hl {

struct LayerWeights {
  LayerKind kind = LayerKind::Mamba;
  int64_t ordinal = 0;  // index among layers of the same kind (state / KV slot)
  const float* attn_norm = nullptr;  // [D]
  const float* ffn_norm = nullptr;   // [D]
  // Mamba-2 mixer
  WeightView ssm_in;                 // [Z_in, D]
  WeightView ssm_out;                // [D, d_inner]
  const float* conv_w = nullptr;     // [C_conv, K]
  const float* conv_b = nullptr;     // [C_conv]
  const float* dt_bias = nullptr;    // [H]
  const float* A = nullptr;          // [H], -exp(A_log)
  const float* D = nullptr;          // [H]
  const float* ssm_norm = nullptr;   // [d_inner]
  // attention
  WeightView q, k, v, o;             // [n_q*d_h, D], [n_kv*d_h, D] x2, [D, n_q*d_h]
  // shared MLP (SwiGLU)
  WeightView ffn_gate, ffn_up;       // [F_s, D]
  WeightView ffn_down;               // [D, F_s]
  // routed experts
  bool has_moe = false;
  WeightView router;                 // [E, D]
  MoeWeights moe;
};

class GraniteHybrid {
 public:
  // KV pages are pool.kv_dtype when the backend supports it, else F32 (kv_note() says why).
  GraniteHybrid(const ModelDims& dims, std::unique_ptr<WeightStore> weights, std::unique_ptr<Backend> backend,
                PoolOptions pool);

  const ModelDims& dims() const { return dims_; }
  StatePool& states() { return states_; }
  const WeightStore& weights() const { return *weights_; }
  int n_threads() const { return backend_->n_threads(); }
  const Backend& backend() const { return *backend_; }
  // Why the KV type differs from the one asked for ('' when it does not).
  const std::string& kv_note() const { return kv_note_; }

  // Runs one step. A sequence that cannot run (bad token id, no memory for
  // its pages) is marked failed and left as it was; the others run. If the
  // step itself fails, every sequence is put back to the start of its eval
  // (multi-token evals) or its pages trimmed back (decodes) and it throws.
  // Steps on one model are serialised; a concurrent call throws Busy.
  void step(std::vector<StepSequence>& batch);
  // Steps run to completion so far (each may batch several sequences).
  uint64_t steps_run() const { return steps_run_.load(std::memory_order_relaxed); }
  // Test hook: the next step throws after `layers` layers (-1: off).
  void fail_next_step_after(int64_t layers) { fail_after_layers_ = layers; }
  // Test hook: prefill steps whose longest sequence has >= min_tokens new
  // tokens use the chunked scan with chunks of `chunk` tokens (the default
  // policy: granite_hybrid.cpp). chunk >= 1.
  void set_scan_policy(int64_t min_tokens, int64_t chunk) {
    scan_min_tokens_ = min_tokens;
    scan_chunk_tokens_ = chunk;
  }

 private:
  void bind_weights();
  WeightView matrix(const std::string& name, int64_t rows, int64_t cols, Op op);
  const float* vector(const std::string& name, int64_t numel);
  // Every per-step activation buffer with its size in floats for T tokens and
  // `rows` logits rows: the one list the budget (scratch_bytes_for) and the
  // allocation (reserve_scratch) read.
  struct ScratchBuffer {
    DeviceBuffer GraniteHybrid::*buffer;
    int64_t floats;
  };
  std::vector<ScratchBuffer> scratch_plan(int64_t T, int64_t rows) const;
  // Allocates the step's scratch before any state is touched, so running out
  // of memory there fails the step with every sequence as it was.
  void reserve_scratch(int64_t T, int64_t rows);
  void mamba_mixer(const LayerWeights& lw, int64_t T, float* out);
  void attention_mixer(const LayerWeights& lw, int64_t T, float* out);
  void feed_forward(const LayerWeights& lw, int64_t T, float* out);
  // The step's device work up to the logits (forward: uploads and ops, the
  // greedy picks included) and their download (read_logits).
  void forward(const std::vector<int32_t>& ids, int64_t T, const std::vector<StepSequence*>& run);
  void compute_logits(const std::vector<StepSequence*>& batch);
  void read_logits(const std::vector<StepSequence*>& batch);
  uint64_t scratch_bytes_for(int64_t T, int64_t rows) const;

  ModelDims dims_;
  std::unique_ptr<WeightStore> weights_;
  std::unique_ptr<Backend> backend_;
  StatePool states_;
  WeightView token_embd_, lm_head_;
  const float* output_norm_ = nullptr;
  std::vector<LayerWeights> layers_;
  std::mutex step_mutex_;
  std::atomic<uint64_t> steps_run_{0};
  std::string kv_note_;
  std::atomic<int64_t> fail_after_layers_{-1};
  std::atomic<int64_t> scan_min_tokens_{0}, scan_chunk_tokens_{0};  // set in the constructor

  // Per-step view of the batch, valid inside step().
  std::vector<int32_t> cu_seqlens_;
  std::vector<SequenceState*> seq_states_;
  bool decode_ = false;  // every sequence has exactly one new token
  int scan_chunk_ = 0;   // ssm_scan chunk length for this step (0: the recurrence)
  bool logits_picked_ = false;  // this step's greedy rows were picked on the backend (picked_)

  // Scratch in backend memory, reused across steps (grown, never shrunk).
  DeviceBuffer ids_, h_, u_, branch_, proj_, xbc_conv_, y_;
  DeviceBuffer q_, k_, v_, attn_;
  DeviceBuffer gate_, up_, moe_out_, router_logits_, route_ids_, route_w_;
  DeviceBuffer final_, logits_, picked_;
};

}  // namespace hl
