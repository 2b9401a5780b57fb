// native/state/block_arena.cpp: see block_arena.h.
#include "block_arena.h"

#include <algorithm>

namespace hl {

BlockArena::BlockArena(Backend& backend, uint64_t block_bytes, int64_t chunk_blocks)
    : backend_(backend), block_bytes_((block_bytes + 63) / 64 * 64), chunk_blocks_(std::max<int64_t>(1, chunk_blocks)) {}

BlockArena::~BlockArena() {
  for (Chunk& c : chunks_)
    if (c.base) backend_.release(c.base);
}

int32_t BlockArena::acquire(const Grant& grant) {
  if (free_.empty()) {
    // A new chunk: as many blocks as the grant allows, at most chunk_blocks_.
    uint64_t allowed = grant(block_bytes_ * (uint64_t)chunk_blocks_);
    int64_t n = std::min<int64_t>(chunk_blocks_, (int64_t)(allowed / block_bytes_));
    if (n <= 0) return -1;
    HL_CHECK(ptrs_.size() + (size_t)n < (size_t)INT32_MAX, OutOfMemory, "KV/state block ids exhausted");
    uint8_t* base = static_cast<uint8_t*>(backend_.alloc_uninit(block_bytes_ * (uint64_t)n));
    // A trimmed chunk of the same size lends its block ids, so a pool that
    // grows and gives back memory for ever does not grow its id tables.
    auto reuse = std::find_if(chunks_.begin(), chunks_.end(), [&](const Chunk& c) { return !c.base && c.n == n; });
    if (reuse != chunks_.end()) {
      reuse->base = base;
      reuse->n_free = (int32_t)n;
      for (int64_t i = 0; i < n; i++) ptrs_[reuse->first + i] = base + i * block_bytes_;
      for (int64_t i = n - 1; i >= 0; i--) free_.push_back(reuse->first + (int32_t)i);
    } else {
      const int32_t first = (int32_t)ptrs_.size(), chunk = (int32_t)chunks_.size();
      chunks_.push_back({base, first, (int32_t)n, (int32_t)n});
      for (int64_t i = 0; i < n; i++) {
        ptrs_.push_back(base + i * block_bytes_);
        refs_.push_back(0);
        cached_refs_.push_back(0);
        chunk_of_.push_back(chunk);
      }
      for (int64_t i = n - 1; i >= 0; i--) free_.push_back(first + (int32_t)i);
    }
    reserved_ += block_bytes_ * (uint64_t)n;
  }
  int32_t id = free_.back();
  free_.pop_back();
  chunks_[chunk_of_[id]].n_free--;
  refs_[id] = 1;
  in_use_++;
  return id;
}

void BlockArena::adjust(int32_t id, int32_t d_refs, int32_t d_cached) {
  const bool was_cache_only = refs_[id] > 0 && refs_[id] == cached_refs_[id];
  const bool was_cached = cached_refs_[id] > 0;
  refs_[id] += d_refs;
  cached_refs_[id] += d_cached;
  HL_CHECK(refs_[id] >= 0 && cached_refs_[id] >= 0 && cached_refs_[id] <= refs_[id], Internal,
           "block reference count underflow");
  const bool is_cache_only = refs_[id] > 0 && refs_[id] == cached_refs_[id];
  const bool is_cached = cached_refs_[id] > 0;
  cache_only_ += (int64_t)is_cache_only - (int64_t)was_cache_only;
  cached_ += (int64_t)is_cached - (int64_t)was_cached;
  if (refs_[id] == 0) {
    free_.push_back(id);
    chunks_[chunk_of_[id]].n_free++;
    in_use_--;
  }
}

uint64_t BlockArena::trim(uint64_t at_most) {
  uint64_t freed = 0;
  bool any = false;
  for (auto it = chunks_.rbegin(); it != chunks_.rend() && freed < at_most; ++it) {
    Chunk& c = *it;
    if (!c.base || c.n_free != c.n) continue;
    backend_.release(c.base);
    c.base = nullptr;
    freed += block_bytes_ * (uint64_t)c.n;
    any = true;
  }
  if (!any) return 0;
  free_.erase(std::remove_if(free_.begin(), free_.end(), [&](int32_t id) { return chunks_[chunk_of_[id]].base == nullptr; }),
              free_.end());
  reserved_ -= freed;
  return freed;
}

}  // namespace hl
