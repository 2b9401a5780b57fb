// native/state/prefix_cache.h: checkpoints of prompt prefixes, so a new
// request that starts like an earlier one restores the recurrent state and
// shares the KV pages instead of prefilling again (docs/MEMORY.md). Entries
// are keyed by a hash chain over the tokens (h = mix(h, token) per token) and
// verified token by token on a hit; the least recently used entry goes first
// when the cache passes its byte share. StatePool owns the cache and calls it
// under its mutex; the cache never touches memory itself: evicted entries are
// handed back to the pool, which drops their references.
#pragma once
#include <cstdint>
#include <list>
#include <memory>
#include <unordered_map>
#include <vector>

namespace hl {

// A restorable copy of a sequence: its recurrent state (slot -1: the zero
// state), references to its KV pages, its length.
struct Checkpoint {
  int32_t slot = -1;
  std::vector<int32_t> pages;
  int64_t n_past = 0;
};

struct PrefixCacheStats {
  int64_t entries = 0;
  uint64_t bytes = 0;
  int64_t hits = 0, misses = 0, tokens_reused = 0;
};

class PrefixCache {
 public:
  struct Entry {
    uint64_t hash = 0;
    std::vector<int32_t> tokens;  // the prefix (== checkpoint.n_past tokens)
    Checkpoint checkpoint;
    uint64_t own_bytes = 0;       // slot copy + tokens (pages are counted by the pool)
  };

  static uint64_t mix(uint64_t h, int32_t token) {
    h ^= (uint64_t)(uint32_t)token + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
    h *= 0xff51afd7ed558ccdULL;
    return h ^ (h >> 33);
  }
  static constexpr uint64_t kSeed = 0x6a09e667f3bcc908ULL;

  // The entry for exactly tokens[0, n) (touched as most recent), or null.
  Entry* find(const int32_t* tokens, int64_t n, uint64_t hash);
  // The longest entry that is a prefix of tokens[0, max_n], or null.
  Entry* find_longest(const int32_t* tokens, int64_t max_n);
  void insert(std::unique_ptr<Entry> e);
  // The least recently used entry, removed (null when empty).
  std::unique_ptr<Entry> pop_lru();

  int64_t size() const { return (int64_t)lru_.size(); }
  uint64_t own_bytes() const { return own_bytes_; }
  PrefixCacheStats stats;  // hits / misses / tokens_reused kept by the pool

 private:
  void touch(std::list<std::unique_ptr<Entry>>::iterator it) { lru_.splice(lru_.begin(), lru_, it); }
  std::list<std::unique_ptr<Entry>> lru_;  // most recent first
  std::unordered_multimap<uint64_t, std::list<std::unique_ptr<Entry>>::iterator> by_hash_;
  uint64_t own_bytes_ = 0;
};

}  // namespace hl
