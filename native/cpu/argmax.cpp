// native/cpu/argmax.cpp: the greedy pick (docs/KERNELS.md, Greedy pick): the
// sampler's temperature-0 rule and the step's pick of plain greedy rows.
#include <cmath>
#include <vector>

#include "kernels.h"
#include "simd/ops.h"

namespace hl::cpu {

int32_t argmax(const float* l, int64_t n) {
  if (n <= 0 || std::isnan(l[0])) return 0;
  const float m = simd_ops().max_f32(l, n);
  for (int64_t i = 0; i < n; i++)
    if (l[i] == m) return (int32_t)i;
  return 0;
}

void argmax_rows(ThreadPool& pool, int32_t* out, const float* logits, int64_t rows, int64_t vocab, float divisor) {
  pool.parallel_for(rows, [&](int64_t b, int64_t e, int) {
    std::vector<float> row((size_t)vocab);
    for (int64_t r = b; r < e; r++) {
      const float* src = logits + r * vocab;
      for (int64_t v = 0; v < vocab; v++) row[(size_t)v] = src[v] / divisor;
      out[r] = argmax(row.data(), vocab);
    }
  });
}

}  // namespace hl::cpu
