// native/state/kv_pages.h: the paged KV cache of the attention layers.
// A page holds `page_size` consecutive tokens of one sequence for every
// attention layer: layer a's keys at floats [a*2*blk, a*2*blk + blk), its
// values at [(a*2+1)*blk, ...), blk = n_kv_heads * page_size * head_dim, each
// block laid out [n_kv_heads][page_size][head_dim] (docs/KERNELS.md, Conventions). Pages are
// allocated as a sequence grows and freed when it shrinks or is disposed, so
// memory tracks context actually in use, never the maximum context.
#pragma once
#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

#include "../core/backend.h"
#include "../core/tensor.h"

namespace hl {

struct KvLayout {
  int64_t n_attn_layers = 0;
  int64_t n_kv_heads = 0;
  int64_t head_dim = 0;
  int64_t page_size = 16;

  int64_t block_floats() const { return n_kv_heads * page_size * head_dim; }
  int64_t page_floats() const { return n_attn_layers * 2 * block_floats(); }
  uint64_t page_bytes() const { return (uint64_t)page_floats() * sizeof(float); }
};

// Process-wide accounting of live pages of one model (shared by its sequences).
class KvPageCounter {
 public:
  void add(int64_t n) { pages_ += n; }
  int64_t pages() const { return pages_.load(); }

 private:
  std::atomic<int64_t> pages_{0};
};

// The pages of one sequence.
class KvPages {
 public:
  KvPages(Backend& backend, const KvLayout& layout, std::shared_ptr<KvPageCounter> counter)
      : backend_(backend), layout_(layout), counter_(std::move(counter)) {}
  ~KvPages() { counter_->add(-(int64_t)pages_.size()); }
  KvPages(const KvPages&) = delete;
  KvPages& operator=(const KvPages&) = delete;

  // Make room for n_tokens tokens in total (allocates whole pages; throws
  // OutOfMemory leaving the existing pages untouched).
  void reserve_tokens(int64_t n_tokens);
  // Free pages wholly past n_tokens.
  void shrink_to_tokens(int64_t n_tokens);

  int64_t n_pages() const { return (int64_t)pages_.size(); }
  float* page(int64_t i) const { return pages_[i].f32(); }
  const KvLayout& layout() const { return layout_; }

  // Pointers to attention layer `a`'s key (or value) block of every page.
  void layer_pages(int64_t a, bool values, std::vector<float*>& out) const;

  // Deep copy of the first n_tokens tokens' pages into `dst` (same layout).
  void copy_to(KvPages& dst, int64_t n_tokens) const;

 private:
  Backend& backend_;
  KvLayout layout_;
  std::shared_ptr<KvPageCounter> counter_;
  std::vector<DeviceBuffer> pages_;  // backend memory
};

}  // namespace hl
