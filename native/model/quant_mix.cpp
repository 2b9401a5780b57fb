// native/model/quant_mix.cpp: see quant_mix.h.
#include "quant_mix.h"

#include <algorithm>
#include <cstdlib>

namespace hl {

bool more_bits_layer(int i, int n) { return i < n / 8 || i >= 7 * n / 8 || (i - n / 8) % 3 == 2; }

// The layer of "blk.{i}.rest" (rest written to *rest), or -1.
static int layer_of(const std::string& name, std::string* rest) {
  static const std::string prefix = "blk.";
  if (name.compare(0, prefix.size(), prefix) != 0) return -1;
  const size_t dot = name.find('.', prefix.size());
  if (dot == std::string::npos || dot == prefix.size()) return -1;
  int layer = 0;
  for (size_t k = prefix.size(); k < dot; k++) {
    if (name[k] < '0' || name[k] > '9' || layer > 1000000) return -1;
    layer = layer * 10 + (name[k] - '0');
  }
  *rest = name.substr(dot + 1);
  return layer;
}

Q4KMix::Q4KMix(const std::vector<std::string>& names) {
  std::string rest;
  for (const std::string& n : names) {
    const int layer = layer_of(n, &rest);
    if (layer < 0) continue;
    n_layers_ = std::max(n_layers_, layer + 1);
    if (rest == "attn_v") attn_v_layers_.push_back(layer);
  }
  std::sort(attn_v_layers_.begin(), attn_v_layers_.end());
}

DType Q4KMix::type_of(const std::string& name) const {
  if (name == "token_embd" || name == "output") return DType::Q6_K;
  std::string rest;
  const int layer = layer_of(name, &rest);
  if (layer < 0) return DType::Q4_K;
  if (rest == "attn_v") {
    const auto it = std::lower_bound(attn_v_layers_.begin(), attn_v_layers_.end(), layer);
    const int index = (int)(it - attn_v_layers_.begin());
    return more_bits_layer(index, (int)attn_v_layers_.size()) ? DType::Q6_K : DType::Q4_K;
  }
  if (rest.compare(0, 8, "ffn_down") == 0) return more_bits_layer(layer, n_layers_) ? DType::Q6_K : DType::Q4_K;
  return DType::Q4_K;
}

}  // namespace hl
