// native/cpu/cpu_features.h: what the CPU can run, read once (cpuid / hwcaps).
#pragma once

namespace hl {

struct CpuFeatures {
  const char* arch = "unknown";
  bool avx2 = false, fma = false, f16c = false;
  bool avx512f = false, avx512bw = false, avx512vl = false, avx512vnni = false, avx512bf16 = false;
  bool neon = false, dotprod = false;
};

const CpuFeatures& cpu_features();

}  // namespace hl
