// native/cpu/simd/isa_scalar.cpp: the width-1 SimdOps table, built at baseline
// flags: the reference path, and the fallback on any CPU.
#include "ops.h"
#include "vec_scalar.h"
#include "kernels_simd.h"

namespace hl::cpu {
const SimdOps* simd_ops_scalar() {
  static const SimdOps ops = SimdKernels<simd::scalar::Vec>::table();
  return &ops;
}
}  // namespace hl::cpu
