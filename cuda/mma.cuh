// cuda/mma.cuh: tensor-core helpers: 3xTF32 products on mma.sync (sm_80+) and the
// int8 / f16 / bf16 mma of the prefill GEMMs (sm_75+, bf16 sm_80+).
// x = hi + lo with hi, lo tf32 (cvt.rna); a·b ≈ a_lo·b_hi + a_hi·b_lo + a_hi·b_hi
// with f32 accumulation keeps f32-level accuracy (the dropped lo·lo term is
// ~2^-22 relative) at tensor-core rates. Callers guard with __CUDA_ARCH__ >= 800
// and the host picks these kernels only when tensor_cores_enabled().
#pragma once
#include "common.cuh"
#include "mma_frag.h"

namespace hlc {

#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
__device__ __forceinline__ uint32_t to_tf32(float x) {
  uint32_t r;
  asm("cvt.rna.tf32.f32 %0, %1;" : "=r"(r) : "f"(x));
  return r;
}
// x = hi + lo with both tf32: the 3xTF32 split (near-f32 accuracy on tensor cores).
__device__ __forceinline__ void split_tf32(float x, uint32_t& hi, uint32_t& lo) {
  hi = to_tf32(x);
  lo = to_tf32(x - __uint_as_float(hi));
}
// D = A(16x8, row) * B(8x8, col) + D, tf32 in, f32 accumulate (sm_80+).
__device__ __forceinline__ void mma_tf32(float (&d)[4], const uint32_t (&a)[4], const uint32_t (&b)[2]) {
  asm volatile(
      "mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
      : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
}

// One 16-deep K panel of a 64x64 block tile on tensor cores. 256 threads =
// 8 warps as 2 (M) x 4 (N), each owning 32 x 16 outputs = 2 x 2 m16n8k8 tiles.
// a: [16][LD] (k-major, m contiguous), b: [16][LD] (k-major, n contiguous).
// Fragment layouts (PTX ISA, mma.m16n8k8 .tf32), g = lane / 4, t = lane % 4:
// A a0 (g, t) a1 (g+8, t) a2 (g, t+4) a3 (g+8, t+4); B b0 (k=t, n=g) b1 (k=t+4, n=g);
// C c0 (g, 2t) c1 (g, 2t+1) c2 (g+8, 2t) c3 (g+8, 2t+1). LD = 72 keeps the
// fragment reads free of bank conflicts (8 t + g covers 32 banks).
template <int LD>
__device__ __forceinline__ void mma_panel_64x64(float (&acc)[16], const float (*a)[LD], const float (*b)[LD]) {
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, g = lane >> 2, t = lane & 3;
  const int wm = warp >> 2, wn = warp & 3;
#pragma unroll
  for (int ks = 0; ks < 16; ks += 8) {
    uint32_t ah[2][4], al[2][4], bh[2][2], bl[2][2];
#pragma unroll
    for (int i = 0; i < 2; i++) {
      const int mr = wm * 32 + i * 16 + g;
      split_tf32(a[ks + t][mr], ah[i][0], al[i][0]);
      split_tf32(a[ks + t][mr + 8], ah[i][1], al[i][1]);
      split_tf32(a[ks + t + 4][mr], ah[i][2], al[i][2]);
      split_tf32(a[ks + t + 4][mr + 8], ah[i][3], al[i][3]);
    }
#pragma unroll
    for (int j = 0; j < 2; j++) {
      const int nc = wn * 16 + j * 8 + g;
      split_tf32(b[ks + t][nc], bh[j][0], bl[j][0]);
      split_tf32(b[ks + t + 4][nc], bh[j][1], bl[j][1]);
    }
#pragma unroll
    for (int i = 0; i < 2; i++)
#pragma unroll
      for (int j = 0; j < 2; j++) {
        float(&d)[4] = *reinterpret_cast<float(*)[4]>(&acc[(2 * i + j) * 4]);
        mma_tf32(d, al[i], bh[j]);
        mma_tf32(d, ah[i], bl[j]);
        mma_tf32(d, ah[i], bh[j]);
      }
  }
}
#endif

// ---- integer and half mma for the prefill GEMMs (gemm_mma.cu). Register
// layouts: mma_frag.h (the sm_75 forms use the same registers).
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 750
#if __CUDA_ARCH__ < 800
__device__ __forceinline__ void mma_s8_m8n8k16(int& d0, int& d1, uint32_t a, uint32_t b) {
  asm volatile("mma.sync.aligned.m8n8k16.row.col.s32.s8.s8.s32 {%0,%1}, {%2}, {%3}, {%0,%1};\n"
               : "+r"(d0), "+r"(d1)
               : "r"(a), "r"(b));
}
#endif
// d += A (16 x 32 s8) B (32 x 8 s8), s32.
__device__ __forceinline__ void mma_s8_k32(int (&d)[4], const uint32_t (&a)[4], const uint32_t (&b)[2]) {
#if __CUDA_ARCH__ >= 800
  asm volatile(
      "mma.sync.aligned.m16n8k32.row.col.s32.s8.s8.s32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
      : "+r"(d[0]), "+r"(d[1]), "+r"(d[2]), "+r"(d[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
#else
#pragma unroll
  for (int p = 0; p < 4; p++) {
    int dp, ar, br;
    frag::s8_k16_part(p, dp, ar, br);
    mma_s8_m8n8k16(d[2 * dp], d[2 * dp + 1], a[ar], b[br]);
  }
#endif
}
// d += A (16 x 16 s8: registers a0, a1 of the k32 layout) B (16 x 8 s8: b0), s32.
__device__ __forceinline__ void mma_s8_k16(int (&d)[4], uint32_t a0, uint32_t a1, uint32_t b0) {
#if __CUDA_ARCH__ >= 800
  asm volatile("mma.sync.aligned.m16n8k16.row.col.s32.s8.s8.s32 {%0,%1,%2,%3}, {%4,%5}, {%6}, {%0,%1,%2,%3};\n"
               : "+r"(d[0]), "+r"(d[1]), "+r"(d[2]), "+r"(d[3])
               : "r"(a0), "r"(a1), "r"(b0));
#else
  mma_s8_m8n8k16(d[0], d[1], a0, b0);
  mma_s8_m8n8k16(d[2], d[3], a1, b0);
#endif
}
// d += A (16 x 16) B (16 x 8), f16 or bf16 in, f32 accumulate (bf16: sm_80+ only).
template <bool BF16>
__device__ __forceinline__ void mma_half_k16(float (&d)[4], const uint32_t (&a)[4], const uint32_t (&b)[2]) {
#if __CUDA_ARCH__ >= 800
  if (BF16)
    asm volatile(
        "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
        : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
  else
    asm volatile(
        "mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
        : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
#else
  if (!BF16) {  // the host never picks bf16 mma below sm_80 (tc_policy.h)
#pragma unroll
    for (int p = 0; p < 2; p++) {
      int a0, a1, br;
      frag::f16_k8_part(p, a0, a1, br);
      asm volatile(
          "mma.sync.aligned.m16n8k8.row.col.f32.f16.f16.f32 {%0,%1,%2,%3}, {%4,%5}, {%6}, {%0,%1,%2,%3};\n"
          : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
          : "r"(a[a0]), "r"(a[a1]), "r"(b[br]));
    }
  }
#endif
}
#endif

// Output coordinates (m, n) inside the 64x64 tile of accumulator idx (0..15):
// MMA layout above, or the SIMT layout (ty + 16 i, tx + 16 j), idx = 4 i + j.
template <bool MMA>
__device__ __forceinline__ void tile_acc_coord(int idx, int& m, int& n) {
  const int tid = threadIdx.x;
  if (MMA) {
    const int lane = tid & 31, warp = tid >> 5;
    const int tile = idx >> 2, c = idx & 3, i = tile >> 1, j = tile & 1;
    m = (warp >> 2) * 32 + i * 16 + frag::c_row(lane, c);
    n = (warp & 3) * 16 + j * 8 + frag::c_col(lane, c);
  } else {
    m = (tid >> 4) + 16 * (idx >> 2);
    n = (tid & 15) + 16 * (idx & 3);
  }
}

}  // namespace hlc
