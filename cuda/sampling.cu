// cuda/sampling.cu: on-device argmax for greedy sampling (hlc_argmax).
//   out[r] = argmax_v logits[r, v]   (ties -> lowest index; NaN entries are skipped;
//                                     a row of only NaN gives 0)
// logits [rows, vocab] f32; out [rows] int32. One block of 512 threads per row:
// each thread scans a strided slice, then (value, index) pairs reduce through
// shuffles and shared memory. Only `rows` int32 cross PCIe per step.
#include "common.cuh"

namespace hlc {

// ---- device code

__device__ __forceinline__ void argmax_merge(float& v, int64_t& i, float v2, int64_t i2) {
  // (v2, i2) wins when larger, or equal with a lower index; -1 = empty.
  if (i2 < 0) return;
  if (i < 0 || v2 > v || (v2 == v && i2 < i)) {
    v = v2;
    i = i2;
  }
}

// divisor != 0: the values are logits[r, v] / divisor (IEEE division, as the
// host divides logits) and a NaN at index 0 gives 0 (the CPU twin's rule).
__global__ void argmax_kernel(const float* logits,  // [rows, vocab]
                              int32_t* out,         // [rows]
                              int64_t vocab, float divisor) {
  __shared__ float sv[32];
  __shared__ int64_t si[32];
  const float* row = logits + (int64_t)blockIdx.x * vocab;
  float best = 0.0f;
  int64_t bi = -1;
  if (divisor != 0.0f && row[0] != row[0]) {
    if (threadIdx.x == 0) out[blockIdx.x] = 0;
    return;  // uniform across the block: no thread reaches the barrier below
  }
  for (int64_t j = threadIdx.x; j < vocab; j += blockDim.x) {
    const float v = divisor != 0.0f ? __fdiv_rn(row[j], divisor) : row[j];
    if (v == v) argmax_merge(best, bi, v, j);  // v != v: NaN
  }
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) {
    const float v2 = __shfl_xor_sync(kFullMask, best, o);
    const int64_t i2 = __shfl_xor_sync(kFullMask, bi, o);
    argmax_merge(best, bi, v2, i2);
  }
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  if (lane == 0) {
    sv[warp] = best;
    si[warp] = bi;
  }
  __syncthreads();
  if (warp == 0) {
    const int n_warps = blockDim.x >> 5;
    best = lane < n_warps ? sv[lane] : 0.0f;
    bi = lane < n_warps ? si[lane] : -1;
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) {
      const float v2 = __shfl_xor_sync(kFullMask, best, o);
      const int64_t i2 = __shfl_xor_sync(kFullMask, bi, o);
      argmax_merge(best, bi, v2, i2);
    }
    if (lane == 0) out[blockIdx.x] = (int32_t)(bi < 0 ? 0 : bi);
  }
}

}  // namespace hlc

// ---- launchers

extern "C" HLC_EXPORT int hlc_argmax(const float* logits, int32_t* out, int64_t rows, int64_t vocab) {
  using namespace hlc;
  HLC_REQUIRE(rows >= 0 && rows <= 0x7fffffffLL && vocab > 0, "[argmax] bad shape");
  if (rows == 0) return HLC_OK;
  HLC_REQUIRE(logits && out, "[argmax] null pointer");
  std::lock_guard<std::recursive_mutex> lock(op_mutex());
  HLC_TRY(ensure_device());
  HLC_LAUNCH((unsigned)rows, 512, 0, (logits, out, vocab, 0.0f), argmax_kernel);
  HLC_LAUNCHED("argmax_kernel");
  return HLC_OK;
}

extern "C" HLC_EXPORT int hlc_argmax_scaled(const float* logits, int32_t* out, int64_t rows, int64_t vocab,
                                            float divisor) {
  using namespace hlc;
  HLC_REQUIRE(rows >= 0 && rows <= 0x7fffffffLL && vocab > 0, "[argmax_scaled] bad shape");
  HLC_REQUIRE(divisor != 0.0f && divisor == divisor, "[argmax_scaled] divisor must be a non-zero number");
  if (rows == 0) return HLC_OK;
  HLC_REQUIRE(logits && out, "[argmax_scaled] null pointer");
  std::lock_guard<std::recursive_mutex> lock(op_mutex());
  HLC_TRY(ensure_device());
  HLC_LAUNCH((unsigned)rows, 512, 0, (logits, out, vocab, divisor), argmax_kernel);
  HLC_LAUNCHED("argmax_kernel");
  return HLC_OK;
}
