// native/cpu/simd/isa_avx512.cpp: the avx512 SimdOps table. Built with its own
// flags (CMakeLists.txt / binding.gyp); only called after cpuid says it can run.
#include "ops.h"

#if defined(__x86_64__) || defined(_M_X64)
#include "vec_avx512.h"
#include "kernels_simd.h"

namespace hl::cpu {
const SimdOps* simd_ops_avx512() {
  static const SimdOps ops = SimdKernels<simd::avx512::Vec>::table();
  return &ops;
}
}  // namespace hl::cpu
#else
namespace hl::cpu {
const SimdOps* simd_ops_avx512() { return nullptr; }
}  // namespace hl::cpu
#endif
