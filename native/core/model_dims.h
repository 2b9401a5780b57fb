// native/core/model_dims.h: the model's dimensions in kernel vocabulary,
// mapped once from the frozen TS ModelConfig (config field names as in
// docs/MODEL.md) that the binding passes in. In core because both the
// executor (native/model) and the state pool (native/state) size by it.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace hl {

enum class LayerKind : int32_t { Mamba = 0, Attention = 1 };

struct ModelDims {
  int64_t vocab = 0;       // vocab_size
  int64_t d_model = 0;     // hidden_size
  int64_t n_layers = 0;    // num_hidden_layers
  std::vector<LayerKind> layer_kinds;
  // attention
  int64_t n_heads = 0;     // num_attention_heads
  int64_t n_kv_heads = 0;  // num_key_value_heads
  int64_t head_dim = 0;    // hidden_size / num_attention_heads
  // mamba
  int64_t ssm_heads = 0;     // mamba_n_heads (H)
  int64_t ssm_head_dim = 0;  // mamba_d_head (P)
  int64_t d_state = 0;       // mamba_d_state (N)
  int64_t n_groups = 0;      // mamba_n_groups (G)
  int64_t d_conv = 0;        // mamba_d_conv (K)
  int64_t d_inner = 0;       // H * P
  int64_t chunk_size = 0;    // mamba_chunk_size
  // feed-forward
  int64_t n_experts = 0;     // num_local_experts (0 = dense)
  int64_t top_k = 0;         // num_experts_per_tok
  int64_t expert_ff = 0;     // intermediate_size
  int64_t shared_ff = 0;     // shared_intermediate_size
  // scalars
  float embedding_multiplier = 1.f;
  float residual_multiplier = 1.f;
  float attention_multiplier = 1.f;
  float logits_scaling = 1.f;
  float rms_norm_eps = 1e-5f;
  float dt_min = 0.f, dt_max = 0.f;  // clamp after softplus when dt_max > 0
  bool tied = true;

  int64_t conv_channels() const { return d_inner + 2 * n_groups * d_state; }
  int64_t in_proj_width() const { return 2 * d_inner + 2 * n_groups * d_state + ssm_heads; }
  int64_t n_mamba_layers() const {
    int64_t n = 0;
    for (auto k : layer_kinds) n += k == LayerKind::Mamba;
    return n;
  }
  int64_t n_attention_layers() const { return n_layers - n_mamba_layers(); }
  // Recurrent state floats per sequence per Mamba layer.
  int64_t conv_state_floats() const { return (d_conv - 1) * conv_channels(); }
  int64_t ssm_state_floats() const { return ssm_heads * ssm_head_dim * d_state; }

  // Throws hl::Error naming the first inconsistent field.
  void validate() const;
  // Stable hash of every dimension that shapes the state (for snapshots).
  uint64_t fingerprint() const;
};

}  // namespace hl
