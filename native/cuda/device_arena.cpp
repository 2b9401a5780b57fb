// native/cuda/device_arena.cpp: see device_arena.h.
#include "device_arena.h"

#include <algorithm>

namespace hl {

DeviceArena::~DeviceArena() {
  if (abandoned_) return;
  for (auto& kv : live_)
    if (kv.second.direct) free_(kv.first);
  for (void* s : slabs_) free_(s);
}

// Size classes: multiples of 256 B up to 1 KiB, then four per power of two
// (at most 25 % slack), so buffers that grow through many sizes (prefill
// activations of every length) share a bounded number of free lists.
size_t DeviceArena::size_class(size_t bytes) {
  size_t size = (std::max<size_t>(bytes, 1) + kAlign - 1) / kAlign * kAlign;
  if (size <= 4 * kAlign) return size;
  int top = 63 - __builtin_clzll((unsigned long long)size);
  const size_t step = size_t(1) << (top - 2);
  return (size + step - 1) / step * step;
}

void* DeviceArena::alloc(size_t bytes) {
  const size_t size = size_class(bytes);
  void* p = nullptr;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (size > kMaxPooled) {
      p = alloc_(size);
      stats_.device_allocs++;
      stats_.reserved_bytes += size;
      live_[p] = Live{size, true};
    } else {
      auto& list = free_lists_[size];
      if (list.empty()) {
        // Slabs grow geometrically per size: a size used once costs one block,
        // a size used for every KV page soon comes 64 at a time.
        int& next = next_slab_blocks_[size];
        if (next == 0) next = 1;
        const int n = std::max<int>(1, std::min<int>(next, (int)std::min<size_t>(kMaxBlocksPerSlab, kMaxSlab / size)));
        char* slab = static_cast<char*>(alloc_(size * (size_t)n));
        stats_.device_allocs++;
        stats_.reserved_bytes += size * (size_t)n;
        slabs_.push_back(slab);
        next = std::min(next * 2, kMaxBlocksPerSlab);
        for (int i = n - 1; i >= 0; i--) list.push_back(slab + (size_t)i * size);
      }
      p = list.back();
      list.pop_back();
      live_[p] = Live{size, false};
    }
    stats_.live_blocks++;
  }
  try {
    zero_(p, size);
  } catch (...) {
    release(p);
    throw;
  }
  return p;
}

void DeviceArena::release(void* p) noexcept {
  if (!p) return;
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = live_.find(p);
  if (it == live_.end()) return;
  const Live l = it->second;
  live_.erase(it);
  stats_.live_blocks--;
  if (l.direct) {
    stats_.reserved_bytes -= l.size;
    if (!abandoned_) {
      free_(p);
      stats_.device_frees++;
    }
    return;
  }
  try {
    free_lists_[l.size].push_back(p);
  } catch (...) {
    // Out of host memory for the list: the block stays reserved in its slab.
  }
}

DeviceArena::Stats DeviceArena::stats() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return stats_;
}

}  // namespace hl
