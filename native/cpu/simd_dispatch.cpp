// native/cpu/simd_dispatch.cpp: picks the SimdOps table once, from cpuid
// (cpu_features) and the HYBRIDLM_CPU override:
//   unset / "auto"  the best path this CPU runs (avx512 > avx2 > scalar; neon on arm64)
//   "avx512" | "avx2" | "neon" | "scalar"  at most that path (a path the CPU
//                   cannot run falls back to the next one down)
// An unknown value is reported once on stderr and treated as "auto".
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "cpu_features.h"
#include "simd/ops.h"

namespace hl::cpu {

static const SimdOps* pick() {
  const CpuFeatures& f = cpu_features();
  const char* env = std::getenv("HYBRIDLM_CPU");
  int limit = 3;  // 3 avx512/neon, 2 avx2, 0 scalar
  if (env && *env && std::strcmp(env, "auto") != 0) {
    if (std::strcmp(env, "scalar") == 0) limit = 0;
    else if (std::strcmp(env, "avx2") == 0) limit = 2;
    else if (std::strcmp(env, "avx512") == 0 || std::strcmp(env, "neon") == 0) limit = 3;
    else std::fprintf(stderr, "hybridlm: ignoring HYBRIDLM_CPU=%s (expected auto, scalar, avx2, avx512 or neon)\n", env);
  }
  const bool x86_avx2 = f.avx2 && f.fma && f.f16c;
  if (limit >= 3 && x86_avx2 && f.avx512f && f.avx512bw && f.avx512vl && f.avx512vnni && simd_ops_avx512())
    return simd_ops_avx512();
  if (limit >= 3 && f.neon && simd_ops_neon()) return simd_ops_neon();
  if (limit >= 2 && x86_avx2 && simd_ops_avx2()) return simd_ops_avx2();
  return simd_ops_scalar();
}

const SimdOps& simd_ops() {
  static const SimdOps* ops = pick();
  return *ops;
}

}  // namespace hl::cpu
