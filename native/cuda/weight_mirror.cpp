// native/cuda/weight_mirror.cpp: see weight_mirror.h.
#include "weight_mirror.h"

#include <algorithm>

namespace hl {

const uint8_t* WeightMirror::add(const uint8_t* host, size_t bytes) {
  if (bytes == 0) bytes = 1;
  uintptr_t lo = reinterpret_cast<uintptr_t>(host), hi = lo + bytes;
  // First range that could overlap: the last one starting at or before lo.
  auto it = ranges_.upper_bound(lo);
  if (it != ranges_.begin()) {
    auto prev = std::prev(it);
    if (prev->second.end > lo) it = prev;
  }
  if (it != ranges_.end() && it->first <= lo && it->second.end >= hi) return host;  // already covered
  // Swallow every overlapping range into [lo, hi).
  while (it != ranges_.end() && it->first < hi) {
    if (it->second.end <= lo) {
      ++it;
      continue;
    }
    lo = std::min(lo, it->first);
    hi = std::max(hi, it->second.end);
    if (it->second.dev) retired_.push_back(it->second.dev);
    bytes_ -= it->second.end - it->first;
    it = ranges_.erase(it);
  }
  ranges_[lo] = Range{hi, nullptr};
  bytes_ += hi - lo;
  pending_ = true;
  return host;
}

void WeightMirror::flush(const AllocFn& alloc, const UploadFn& upload, const FreeFn& free, const SyncFn& sync) {
  if (!pending_) return;
  for (auto& kv : ranges_) {
    if (kv.second.dev) continue;
    const size_t n = kv.second.end - kv.first;
    void* dev = alloc(n);
    try {
      upload(dev, reinterpret_cast<const void*>(kv.first), n);
    } catch (...) {
      free(dev);
      throw;
    }
    kv.second.dev = dev;
  }
  pending_ = false;
  if (!retired_.empty()) {
    sync();
    for (void* p : retired_) free(p);
    retired_.clear();
  }
}

void* WeightMirror::translate_raw(void* p) const {
  const uintptr_t a = reinterpret_cast<uintptr_t>(p);
  auto it = ranges_.upper_bound(a);
  if (it == ranges_.begin()) return p;
  --it;
  if (a >= it->second.end || !it->second.dev) return p;
  return static_cast<char*>(it->second.dev) + (a - it->first);
}

void WeightMirror::clear(const FreeFn& free) {
  for (auto& kv : ranges_)
    if (kv.second.dev) free(kv.second.dev);
  for (void* p : retired_) free(p);
  ranges_.clear();
  retired_.clear();
  bytes_ = 0;
  pending_ = false;
}

}  // namespace hl
