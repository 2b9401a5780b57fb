// native/state/block_arena.h: fixed-size blocks of backend memory (KV pages,
// recurrent-state slots) carved from larger chunks, recycled through a free
// list and shared through reference counts. A block's contents are not zeroed
// when it is handed out: callers write before they read (docs/MEMORY.md).
// Not thread-safe: StatePool serialises every call under its mutex.
#pragma once
#include <cstdint>
#include <functional>
#include <vector>

#include "../core/backend.h"

namespace hl {

class BlockArena {
 public:
  // `grant(bytes)` is asked before a new chunk is allocated; it returns how
  // many bytes may be allocated now (0: none; the arena then gives up).
  using Grant = std::function<uint64_t(uint64_t want)>;

  BlockArena(Backend& backend, uint64_t block_bytes, int64_t chunk_blocks);
  ~BlockArena();
  BlockArena(const BlockArena&) = delete;
  BlockArena& operator=(const BlockArena&) = delete;

  uint64_t block_bytes() const { return block_bytes_; }
  // A block with one reference, or -1 when no block is free and `grant` allows no new chunk.
  int32_t acquire(const Grant& grant);
  void retain(int32_t id) { adjust(id, 1, 0); }
  // Drops one reference; at zero the block returns to the free list.
  void release(int32_t id) { adjust(id, -1, 0); }
  // References held by the prefix cache (a subset of all references).
  void retain_cached(int32_t id) { adjust(id, 1, 1); }
  void release_cached(int32_t id) { adjust(id, -1, -1); }
  int32_t refs(int32_t id) const { return refs_[id]; }
  uint8_t* ptr(int32_t id) const { return ptrs_[id]; }

  int64_t in_use() const { return in_use_; }
  int64_t free_blocks() const { return (int64_t)free_.size(); }
  // Blocks referenced by the prefix cache, and those referenced by nothing else.
  int64_t cached() const { return cached_; }
  int64_t cache_only() const { return cache_only_; }
  // Bytes of every chunk allocated (blocks in use plus free ones).
  uint64_t reserved_bytes() const { return reserved_; }
  // Frees chunks whose blocks are all free, newest first, until at least
  // `at_most` bytes are given back or none is left; returns the bytes freed.
  uint64_t trim(uint64_t at_most = UINT64_MAX);
  // Bytes of the free blocks (kept for reuse).
  uint64_t idle_bytes() const { return (uint64_t)free_.size() * block_bytes_; }
  uint64_t chunk_bytes() const { return block_bytes_ * (uint64_t)chunk_blocks_; }

 private:
  struct Chunk {
    uint8_t* base;     // null once trimmed (its block ids are never reused)
    int32_t first, n;  // block ids [first, first + n)
    int32_t n_free;
  };
  void adjust(int32_t id, int32_t d_refs, int32_t d_cached);

  Backend& backend_;
  uint64_t block_bytes_;
  int64_t chunk_blocks_;
  std::vector<Chunk> chunks_;
  std::vector<uint8_t*> ptrs_;    // per block id
  std::vector<int32_t> refs_, cached_refs_, chunk_of_;
  std::vector<int32_t> free_;     // stack of free block ids
  int64_t in_use_ = 0, cached_ = 0, cache_only_ = 0;
  uint64_t reserved_ = 0;
};

}  // namespace hl
