// native/cpu/simd/isa_neon.cpp: the NEON SimdOps table (arm64 baseline; sdot
// when the compiler targets dotprod).
#include "ops.h"

#if defined(__aarch64__)
#include "vec_neon.h"
#include "kernels_simd.h"

namespace hl::cpu {
const SimdOps* simd_ops_neon() {
  static const SimdOps ops = SimdKernels<simd::neon::Vec>::table();
  return &ops;
}
}  // namespace hl::cpu
#else
namespace hl::cpu {
const SimdOps* simd_ops_neon() { return nullptr; }
}  // namespace hl::cpu
#endif
