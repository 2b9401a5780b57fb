// native/state/kv_pages.cpp: see kv_pages.h.
#include "kv_pages.h"

#include <cstring>

namespace hl {

void KvPages::reserve_tokens(int64_t n_tokens) {
  if (layout_.n_attn_layers == 0) return;
  int64_t need = (n_tokens + layout_.page_size - 1) / layout_.page_size;
  int64_t have = (int64_t)pages_.size();
  if (need <= have) return;
  std::vector<Buffer> fresh;
  fresh.reserve(need - have);
  for (int64_t i = have; i < need; i++) fresh.emplace_back(layout_.page_bytes());  // throws before any change
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

void KvPages::layer_pages(int64_t a, bool values, std::vector<const float*>& out) const {
  out.resize(pages_.size());
  int64_t off = (a * 2 + (values ? 1 : 0)) * layout_.block_floats();
  for (size_t i = 0; i < pages_.size(); i++) out[i] = pages_[i].f32() + off;
}

float* KvPages::slot(int64_t a, bool values, int64_t h, int64_t pos) const {
  int64_t p = pos / layout_.page_size, j = pos % layout_.page_size;
  return pages_[p].f32() + (a * 2 + (values ? 1 : 0)) * layout_.block_floats() +
         (h * layout_.page_size + j) * layout_.head_dim;
}

void KvPages::copy_to(KvPages& dst, int64_t n_tokens) const {
  dst.reserve_tokens(n_tokens);
  int64_t n = (n_tokens + layout_.page_size - 1) / layout_.page_size;
  for (int64_t i = 0; i < n && i < (int64_t)pages_.size(); i++)
    std::memcpy(dst.pages_[i].data(), pages_[i].data(), layout_.page_bytes());
}

}  // namespace hl
