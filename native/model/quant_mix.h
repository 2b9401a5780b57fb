// native/model/quant_mix.h: the block type each matrix gets under
// loadModel(..., { quantize: 'q4_k' }): the Q4_K_M mix (docs/QUANTIZATION.md).
// lib/quant/q4-k-m-mix.ts is the TS twin (synthetic models, benchmarks); the
// quantize-on-load tests check the two pick the same types.
#pragma once
#include <string>
#include <vector>

#include "../core/dtype.h"

namespace hl {

// The layers that get more bits out of n: the first and last eighth, and every
// third one in between.
bool more_bits_layer(int i, int n);

class Q4KMix {
 public:
  // names: every canonical tensor name of the model (token_embd, blk.{i}.attn_v, ...).
  explicit Q4KMix(const std::vector<std::string>& names);
  // Q6_K for token_embd, output, attn_v of the more-bits attention layers
  // (counted among attention layers) and ffn_down / ffn_down_exps of the
  // more-bits layers; Q4_K for every other matrix.
  DType type_of(const std::string& name) const;

 private:
  int n_layers_ = 0;
  std::vector<int> attn_v_layers_;  // ascending
};

}  // namespace hl
