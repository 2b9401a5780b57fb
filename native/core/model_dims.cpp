// native/core/model_dims.cpp: re-checks of the dims the TS loader already
// validated; these guard memory, so they run again here.
#include "model_dims.h"

#include "error.h"

namespace hl {

static void positive(int64_t v, const char* field) {
  HL_CHECK(v > 0 && v < (int64_t(1) << 40), Format,
           std::string("model config: ") + field + " must be a positive integer, got " + std::to_string(v));
}

void ModelDims::validate() const {
  positive(vocab, "vocab_size");
  positive(d_model, "hidden_size");
  positive(n_layers, "num_hidden_layers");
  HL_CHECK((int64_t)layer_kinds.size() == n_layers, Format,
           "model config: layer_types has " + std::to_string(layer_kinds.size()) + " entries, expected " +
               std::to_string(n_layers));
  if (n_attention_layers() > 0) {
    positive(n_heads, "num_attention_heads");
    positive(n_kv_heads, "num_key_value_heads");
    positive(head_dim, "head_dim");
    HL_CHECK(n_heads % n_kv_heads == 0, Format,
             "model config: num_attention_heads (" + std::to_string(n_heads) +
                 ") must be a multiple of num_key_value_heads (" + std::to_string(n_kv_heads) + ")");
  }
  if (n_mamba_layers() > 0) {
    positive(ssm_heads, "mamba_n_heads");
    positive(ssm_head_dim, "mamba_d_head");
    positive(d_state, "mamba_d_state");
    positive(n_groups, "mamba_n_groups");
    positive(d_conv, "mamba_d_conv");
    HL_CHECK(d_inner == ssm_heads * ssm_head_dim, Format, "model config: d_inner != mamba_n_heads * mamba_d_head");
    HL_CHECK(ssm_heads % n_groups == 0, Format,
             "model config: mamba_n_heads (" + std::to_string(ssm_heads) + ") must be a multiple of mamba_n_groups (" +
                 std::to_string(n_groups) + ")");
  }
  positive(shared_ff, "shared_intermediate_size");
  HL_CHECK(n_experts >= 0 && top_k >= 0 && top_k <= n_experts, Format,
           "model config: num_experts_per_tok (" + std::to_string(top_k) + ") must be within 0..num_local_experts (" +
               std::to_string(n_experts) + ")");
  if (n_experts > 0) {
    positive(top_k, "num_experts_per_tok");
    positive(expert_ff, "intermediate_size");
  }
  HL_CHECK(logits_scaling != 0.f, Format, "model config: logits_scaling must be non-zero");
}

uint64_t ModelDims::fingerprint() const {
  uint64_t h = 1469598103934665603ull;  // FNV-1a over the dims
  auto mix = [&](int64_t v) {
    for (int i = 0; i < 8; i++) {
      h ^= (uint64_t)((v >> (8 * i)) & 0xff);
      h *= 1099511628211ull;
    }
  };
  for (int64_t v : {vocab, d_model, n_layers, n_heads, n_kv_heads, head_dim, ssm_heads, ssm_head_dim, d_state,
                    n_groups, d_conv, n_experts, top_k, expert_ff, shared_ff})
    mix(v);
  for (auto k : layer_kinds) mix((int64_t)k);
  return h;
}

}  // namespace hl
