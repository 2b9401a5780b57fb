// native/cpu/embed.cpp: embedding lookup.
//   out[t, :] = scale * W[ids[t], :]     W [vocab, dim] in any supported dtype; out [n_tokens, dim]
// Parallelisation: threads split tokens. Numerics: rows widened/dequantized
// exactly to f32, then one f32 multiply (skipped when scale == 1).
#include "kernel_util.h"
#include "kernels.h"

namespace hl::cpu {

void embed(ThreadPool& pool, float* out, const WeightView& w, const int32_t* ids, int64_t n_tokens, float scale) {
  const int64_t dim = w.cols;
  pool.parallel_for(
      n_tokens,
      [&](int64_t b, int64_t e, int) {
        for (int64_t t = b; t < e; t++) {
          float* row = out + t * dim;  // [dim]
          weight_row_to_f32(w, ids[t], row);
          if (scale != 1.0f)
            for (int64_t i = 0; i < dim; i++) row[i] *= scale;
        }
      },
      std::max<int64_t>(1, 16384 / std::max<int64_t>(1, dim)));
}

}  // namespace hl::cpu
