// native/cpu/cpu_features.cpp: cpuid (x86-64, with the OS's XSAVE support
// checked through xgetbv) or compile-time NEON on arm64.
#include "cpu_features.h"

#if defined(__x86_64__) || defined(_M_X64)
#include <cpuid.h>
#include <cstdint>
#endif

namespace hl {

static CpuFeatures detect() {
  CpuFeatures f;
#if defined(__x86_64__) || defined(_M_X64)
  f.arch = "x64";
  unsigned a, b, c, d;
  if (!__get_cpuid(1, &a, &b, &c, &d)) return f;
  bool osxsave = (c >> 27) & 1;
  bool fma = (c >> 12) & 1, f16c = (c >> 29) & 1, avx = (c >> 28) & 1;
  uint64_t xcr0 = 0;
  if (osxsave) {
    uint32_t lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    xcr0 = ((uint64_t)hi << 32) | lo;
  }
  bool ymm_ok = (xcr0 & 0x6) == 0x6;
  bool zmm_ok = (xcr0 & 0xe6) == 0xe6;
  unsigned a7 = 0, b7 = 0, c7 = 0, d7 = 0;
  __get_cpuid_count(7, 0, &a7, &b7, &c7, &d7);
  unsigned a71 = 0, b71 = 0, c71 = 0, d71 = 0;
  __get_cpuid_count(7, 1, &a71, &b71, &c71, &d71);
  f.avx2 = avx && ymm_ok && ((b7 >> 5) & 1);
  f.fma = fma && ymm_ok;
  f.f16c = f16c && ymm_ok;
  f.avx512f = zmm_ok && ((b7 >> 16) & 1);
  f.avx512bw = f.avx512f && ((b7 >> 30) & 1);
  f.avx512vl = f.avx512f && ((b7 >> 31) & 1);
  f.avx512vnni = f.avx512f && ((c7 >> 11) & 1);
  f.avx512bf16 = f.avx512f && ((a71 >> 5) & 1);
#elif defined(__aarch64__)
  f.arch = "arm64";
  f.neon = true;
#if defined(__ARM_FEATURE_DOTPROD)
  f.dotprod = true;
#endif
#endif
  return f;
}

const CpuFeatures& cpu_features() {
  static const CpuFeatures f = detect();
  return f;
}

}  // namespace hl
