// native/core/op_types.h: parameter structs shared by every backend's
// kernels (CPU and CUDA take the same descriptions of a step).
#pragma once
#include <cstdint>

#include "tensor.h"

namespace hl {

struct SsmDims {
  int64_t n_heads;   // H
  int64_t head_dim;  // P
  int64_t d_state;   // N
  int64_t n_groups;  // G; head h uses group h / (H / G)
};

struct KvView {
  const float* const* k_pages;
  const float* const* v_pages;
  int64_t page_size;
  int64_t head_stride;
  int64_t token_stride;
  int64_t n_ctx;  // keys visible in total (cached + new)
};

struct AttentionDims {
  int64_t n_heads;     // query heads Hq
  int64_t n_kv_heads;  // Hkv; query head h uses kv head h / (Hq / Hkv)
  int64_t head_dim;    // Dh
  float scale;         // score = scale * q·k (Granite: attention_multiplier)
};

struct MoeWeights {
  // Expert e is expert 0's view moved by e * <which>_expert_stride bytes, so
  // fused HF [E, 2F, D] tensors and separate GGUF ones need no copy.
  WeightView gate;          // expert 0: [F, D]
  WeightView up;            // expert 0: [F, D]
  WeightView down;          // expert 0: [D, F]
  int64_t gate_expert_stride;  // bytes between experts
  int64_t up_expert_stride;
  int64_t down_expert_stride;
  int64_t n_experts;
};

}  // namespace hl
