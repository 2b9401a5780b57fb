// native/cpu/simd/isa_avx2.cpp: the avx2 SimdOps table. Built with its own
// flags (CMakeLists.txt / binding.gyp); only called after cpuid says it can run.
#include "ops.h"

#if defined(__x86_64__) || defined(_M_X64)
#include "vec_avx2.h"
#include "kernels_simd.h"

namespace hl::cpu {
const SimdOps* simd_ops_avx2() {
  static const SimdOps ops = SimdKernels<simd::avx2::Vec>::table();
  return &ops;
}
}  // namespace hl::cpu
#else
namespace hl::cpu {
const SimdOps* simd_ops_avx2() { return nullptr; }
}  // namespace hl::cpu
#endif
