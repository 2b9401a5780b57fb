// native/state/prefix_cache.cpp: see prefix_cache.h.
#include "prefix_cache.h"

#include <algorithm>

namespace hl {

PrefixCache::Entry* PrefixCache::find(const int32_t* tokens, int64_t n, uint64_t hash) {
  auto range = by_hash_.equal_range(hash);
  for (auto it = range.first; it != range.second; ++it) {
    Entry& e = **it->second;
    if ((int64_t)e.tokens.size() == n && std::equal(e.tokens.begin(), e.tokens.end(), tokens)) {
      touch(it->second);
      return &e;
    }
  }
  return nullptr;
}

PrefixCache::Entry* PrefixCache::find_longest(const int32_t* tokens, int64_t max_n) {
  if (lru_.empty() || max_n <= 0) return nullptr;
  std::vector<uint64_t> h((size_t)max_n + 1);
  h[0] = kSeed;
  for (int64_t i = 0; i < max_n; i++) h[i + 1] = mix(h[i], tokens[i]);
  for (int64_t n = max_n; n >= 1; n--)
    if (by_hash_.count(h[n]))
      if (Entry* e = find(tokens, n, h[n])) return e;
  return nullptr;
}

void PrefixCache::insert(std::unique_ptr<Entry> e) {
  own_bytes_ += e->own_bytes;
  const uint64_t hash = e->hash;
  lru_.push_front(std::move(e));
  by_hash_.emplace(hash, lru_.begin());
}

std::unique_ptr<PrefixCache::Entry> PrefixCache::pop_lru() {
  if (lru_.empty()) return nullptr;
  auto last = std::prev(lru_.end());
  auto range = by_hash_.equal_range((*last)->hash);
  for (auto it = range.first; it != range.second; ++it)
    if (it->second == last) {
      by_hash_.erase(it);
      break;
    }
  std::unique_ptr<Entry> e = std::move(*last);
  lru_.erase(last);
  own_bytes_ -= e->own_bytes;
  return e;
}

}  // namespace hl
