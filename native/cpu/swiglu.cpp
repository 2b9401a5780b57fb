// native/cpu/swiglu.cpp: SwiGLU activation.
//   out[t, i] = silu(gate[t, i]) * up[t, i],  silu(v) = v / (1 + exp(-v))
// Layouts: gate, up, out [n_tokens, n]; out may alias gate or up.
// Parallelisation: threads split the flat element range (>= 16K per piece).
// Numerics: f32; SimdOps::silu_mul (exp polynomial on the SIMD paths, std::exp
// on scalar; no NaN for finite input; docs/KERNELS.md, SiLU).
#include "kernel_util.h"
#include "kernels.h"

namespace hl::cpu {

void swiglu(ThreadPool& pool, float* out, const float* gate, const float* up, int64_t n_tokens, int64_t n) {
  pool.parallel_for(
      n_tokens * n,
      [&](int64_t b, int64_t e, int) {
        simd_ops().silu_mul(out + b, gate + b, up + b, e - b);
      },
      16384);
}

}  // namespace hl::cpu
