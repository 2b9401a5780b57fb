// native/cpu/host_memory.h: the CPU backend's allocations. Large blocks (pool
// chunks, state slots, step scratch) are mapped pages of their own, so giving
// one back returns it to the operating system at once instead of leaving a
// hole in the malloc heap that the process's resident size keeps
// (docs/MEMORY.md, Giving memory back). Fresh mapped pages read as zero, so a
// zero-filled large block costs no memset.
#pragma once
#include <cstddef>

namespace hl::cpu {

// 64-byte aligned; `zero`: the block reads as zeros. Throws OutOfMemory.
void* host_alloc(size_t bytes, bool zero);
// Frees a block from host_alloc (null is ignored).
void host_free(void* p) noexcept;

}  // namespace hl::cpu
