// cuda/tile_gemm.cuh: a 64x64 block-level f32 GEMM over element functors, the
// building block of the chunked SSD scan (batched small GEMMs whose operands
// are formed on the fly: decays, masks, dt scaling never hit global memory).
//   acc[idx] += sum_{k < K} fa(m, k) * fb(k, n)    (m, n) = tile_acc_coord<MMA>(idx)
// 256 threads; K in panels of 16 staged in shared memory. MMA = 3xTF32
// mma.sync (sm_80+, mma.cuh), else a 4x4 SIMT register tile per thread.
// The functors return 0 outside their operand (masking, tails).
// A_KFAST / B_KFAST choose which index consecutive threads walk when loading,
// so global reads stay coalesced whichever dimension is contiguous.
#pragma once
#include "mma.cuh"

namespace hlc {

constexpr int kTg = 64, kTgK = 16, kTgPad = 8;

struct TileSmem {
  float a[kTgK][kTg + kTgPad];  // [k][m]
  float b[kTgK][kTg + kTgPad];  // [k][n]
};

template <bool MMA, bool A_KFAST, bool B_KFAST, typename FA, typename FB>
__device__ __forceinline__ void tile_gemm_64(float (&acc)[16], int64_t K, const FA& fa, const FB& fb,
                                             TileSmem& sm) {
  const int tid = threadIdx.x, ty = tid >> 4, tx = tid & 15;
  for (int64_t k0 = 0; k0 < K; k0 += kTgK) {
#pragma unroll
    for (int i = 0; i < 4; i++) {
      int m, k;
      if (A_KFAST) { k = tid & 15; m = (tid >> 4) + 16 * i; }
      else { m = tid & 63; k = (tid >> 6) + 4 * i; }
      sm.a[k][m] = k0 + k < K ? fa(m, k0 + k) : 0.0f;
      int n, kb;
      if (B_KFAST) { kb = tid & 15; n = (tid >> 4) + 16 * i; }
      else { n = tid & 63; kb = (tid >> 6) + 4 * i; }
      sm.b[kb][n] = k0 + kb < K ? fb(k0 + kb, n) : 0.0f;
    }
    __syncthreads();
    if (MMA) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
      mma_panel_64x64<kTg + kTgPad>(acc, sm.a, sm.b);
#endif
    } else {
#pragma unroll
      for (int kk = 0; kk < kTgK; kk++) {
        float av[4], bv[4];
#pragma unroll
        for (int i = 0; i < 4; i++) av[i] = sm.a[kk][ty + 16 * i];
#pragma unroll
        for (int j = 0; j < 4; j++) bv[j] = sm.b[kk][tx + 16 * j];
#pragma unroll
        for (int i = 0; i < 4; i++)
#pragma unroll
          for (int j = 0; j < 4; j++) acc[4 * i + j] += av[i] * bv[j];
      }
    }
    __syncthreads();
  }
}

}  // namespace hlc
