// native/state/kv_pages.cpp: see kv_pages.h.
#include "kv_pages.h"

namespace hl {

void KvPages::reserve_tokens(int64_t n_tokens) {
  if (layout_.n_attn_layers == 0) return;
  int64_t need = (n_tokens + layout_.page_size - 1) / layout_.page_size;
  int64_t have = (int64_t)pages_.size();
  if (need <= have) return;
  std::vector<DeviceBuffer> fresh;
  fresh.reserve(need - have);
  for (int64_t i = have; i < need; i++) fresh.emplace_back(backend_, layout_.page_bytes());  // throws before any change
  for (auto& b : fresh) pages_.push_back(std::move(b));
  counter_->add(need - have);
}

void KvPages::shrink_to_tokens(int64_t n_tokens) {
  int64_t need = (n_tokens + layout_.page_size - 1) / layout_.page_size;
  int64_t have = (int64_t)pages_.size();
  if (need >= have) return;
  pages_.resize(need);
  counter_->add(need - have);
}

void KvPages::layer_pages(int64_t a, bool values, std::vector<float*>& out) const {
  out.resize(pages_.size());
  int64_t off = (a * 2 + (values ? 1 : 0)) * layout_.block_floats();
  for (size_t i = 0; i < pages_.size(); i++) out[i] = pages_[i].f32() + off;
}

void KvPages::copy_to(KvPages& dst, int64_t n_tokens) const {
  dst.reserve_tokens(n_tokens);
  int64_t n = (n_tokens + layout_.page_size - 1) / layout_.page_size;
  for (int64_t i = 0; i < n && i < (int64_t)pages_.size(); i++)
    backend_.copy(dst.pages_[i].data(), pages_[i].data(), layout_.page_bytes());
}

}  // namespace hl
