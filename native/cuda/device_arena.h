// native/cuda/device_arena.h: a caching sub-allocator for backend memory.
// cudaFree synchronises the whole device and cudaMalloc takes a driver lock,
// so allocating a KV page (every 16 tokens of every sequence) or growing an
// activation buffer must not reach them. Blocks up to kMaxPooled bytes are
// carved from slabs (one device allocation holds 1, 2, 4 ... 64 blocks of one
// size class) and go back to a per-size free list on release; bigger blocks (and
// weights, which never come here) are allocated directly. Memory is handed
// back to the device only when the arena dies. Reuse is safe without a sync
// because every op runs on the one library stream (a later op cannot overtake
// kernels still reading a released block). Thread-safe.
#pragma once
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <unordered_map>
#include <vector>

namespace hl {

class DeviceArena {
 public:
  using AllocFn = std::function<void*(size_t)>;        // throws on failure
  using FreeFn = std::function<void(void*)>;           // noexcept in practice
  using ZeroFn = std::function<void(void*, size_t)>;   // stream-ordered memset 0

  static constexpr size_t kAlign = 256;
  static constexpr size_t kMaxPooled = size_t(32) << 20;  // larger blocks: direct allocations
  static constexpr size_t kMaxSlab = size_t(64) << 20;
  static constexpr int kMaxBlocksPerSlab = 64;

  DeviceArena(AllocFn alloc, FreeFn free, ZeroFn zero)
      : alloc_(std::move(alloc)), free_(std::move(free)), zero_(std::move(zero)) {}
  ~DeviceArena();
  DeviceArena(const DeviceArena&) = delete;
  DeviceArena& operator=(const DeviceArena&) = delete;

  // Zero-filled block of at least `bytes` (>= 1).
  void* alloc(size_t bytes);
  // Returns a block from alloc() (null is ignored; unknown pointers are ignored too).
  void release(void* p) noexcept;
  // Skip every device call from now on (the context is dead): release() and
  // the destructor only drop bookkeeping.
  void abandon() noexcept { abandoned_ = true; }

  struct Stats {
    uint64_t device_allocs = 0;  // calls to AllocFn (slabs + direct blocks)
    uint64_t device_frees = 0;   // calls to FreeFn before destruction
    uint64_t reserved_bytes = 0; // held from the device now
    uint64_t live_blocks = 0;    // handed out and not released
  };
  Stats stats() const;
  // The block size alloc(bytes) hands out.
  static size_t size_class(size_t bytes);

 private:
  struct Live {
    size_t size;  // rounded size class, or the direct size
    bool direct;
  };
  AllocFn alloc_;
  FreeFn free_;
  ZeroFn zero_;
  mutable std::mutex mutex_;
  std::map<size_t, std::vector<void*>> free_lists_;
  std::map<size_t, int> next_slab_blocks_;
  std::vector<void*> slabs_;
  std::unordered_map<void*, Live> live_;
  Stats stats_;
  bool abandoned_ = false;
};

}  // namespace hl
