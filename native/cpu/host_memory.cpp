// native/cpu/host_memory.cpp: see host_memory.h.
#include "host_memory.h"

#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <unordered_map>

#include "../core/error.h"

#if !defined(_WIN32)
#include <sys/mman.h>
#endif

namespace hl::cpu {

namespace {

// Blocks from this size on get pages of their own (below it malloc's reuse is cheaper).
constexpr size_t kMappedBytes = size_t(1) << 20;

std::mutex& mapped_mutex() {
  static std::mutex m;
  return m;
}
std::unordered_map<void*, size_t>& mapped() {
  static auto* m = new std::unordered_map<void*, size_t>();  // never destroyed: frees may come at exit
  return *m;
}

[[noreturn]] void out_of_memory(size_t bytes) {
  throw Error(ErrorCode::OutOfMemory, "out of memory allocating " + std::to_string(bytes) + " bytes");
}

}  // namespace

void* host_alloc(size_t bytes, bool zero) {
  const size_t rounded = bytes ? (bytes + 63) / 64 * 64 : 64;
#if !defined(_WIN32)
  if (rounded >= kMappedBytes) {
    void* p = mmap(nullptr, rounded, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) out_of_memory(bytes);
    try {
      std::lock_guard<std::mutex> lock(mapped_mutex());
      mapped().emplace(p, rounded);
    } catch (...) {
      munmap(p, rounded);
      throw;
    }
    return p;  // page aligned, and zero
  }
#endif
  void* p = std::aligned_alloc(64, rounded);
  if (!p) out_of_memory(bytes);
  if (zero) std::memset(p, 0, rounded);
  return p;
}

void host_free(void* p) noexcept {
  if (!p) return;
#if !defined(_WIN32)
  size_t bytes = 0;
  {
    std::lock_guard<std::mutex> lock(mapped_mutex());
    auto it = mapped().find(p);
    if (it != mapped().end()) {
      bytes = it->second;
      mapped().erase(it);
    }
  }
  if (bytes) {
    munmap(p, bytes);
    return;
  }
#endif
  std::free(p);
}

}  // namespace hl::cpu
