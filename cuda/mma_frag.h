// cuda/mma_frag.h: which lane of a warp holds which elements of the mma.sync
// tiles of the tensor-core prefill GEMMs (gemm_mma.cu), as the PTX ISA
// documents them ("Matrix Fragments for mma.m16n8k32 / m16n8k16"), written
// once for the device and the host: the kernels read their fragments out of
// shared memory through these functions, and the test binary's host family
// "mma_tiles" feeds the same fragments to an emulated mma written from the
// element-wise form of the documented layouts (docs/cuda/README.md,
// "Tensor-core GEMMs").
//
// Positions are in 32-bit words along K: a word holds 4 consecutive s8 (k32
// tiles) or 2 consecutive f16/bf16 (k16 tiles), so one mapping serves both:
//   A (16 x 8 words, row-major): register r of a lane: row g + 8 (r & 1),
//     word t + 4 (r >> 1)
//   B (8 words x 8, "col": K contiguous per column n): register r: column g,
//     word t + 4 r
//   C/D (16 x 8, s32 or f32): element i: row g + 8 (i >> 1), column 2 t + (i & 1)
// with g = lane / 4, t = lane % 4.
// sm_75 has neither m16n8k32 (s8) nor m16n8k16 (f16); the same registers
// make them out of its m8n8k16 (s8) and m16n8k8 (f16) shapes:
//   s8:  d0,d1 += m8n8k16(a0, b0) + m8n8k16(a2, b1);  d2,d3 += m8n8k16(a1, b0) + m8n8k16(a3, b1)
//   f16: d += m16n8k8({a0, a1}, b0) + m16n8k8({a2, a3}, b1)
// (s8_k16_part / f16_k8_part below; the host family checks these too).
#pragma once
#include <stdint.h>

#ifndef HLC_HD
#ifdef __CUDACC__
#define HLC_HD __host__ __device__ __forceinline__
#else
#define HLC_HD inline
#endif
#endif

// Full unrolling of the fixed-count fragment loops on the device (a no-op on the host).
#ifndef HLC_UNROLL
#ifdef __CUDA_ARCH__
#define HLC_UNROLL _Pragma("unroll")
#else
#define HLC_UNROLL
#endif
#endif

namespace hlc {
namespace frag {

HLC_HD int group(int lane) { return lane >> 2; }
HLC_HD int tig(int lane) { return lane & 3; }

// A: register r (0..3) of lane.
HLC_HD int a_row(int lane, int r) { return group(lane) + 8 * (r & 1); }
HLC_HD int a_word(int lane, int r) { return tig(lane) + 4 * (r >> 1); }
// B: register r (0..1) of lane.
HLC_HD int b_col(int lane, int) { return group(lane); }
HLC_HD int b_word(int lane, int r) { return tig(lane) + 4 * r; }
// C/D: element i (0..3) of lane.
HLC_HD int c_row(int lane, int i) { return group(lane) + 8 * (i >> 1); }
HLC_HD int c_col(int lane, int i) { return 2 * tig(lane) + (i & 1); }

// sm_75 s8 k32: part p (0..3) is m8n8k16 on A register a, B register b into
// accumulator pair d (0: d0,d1; 1: d2,d3).
HLC_HD void s8_k16_part(int p, int& d, int& a, int& b) {
  d = p >> 1;
  a = (p >> 1) | ((p & 1) << 1);
  b = p & 1;
}
// sm_75 f16 k16: part p (0..1) is m16n8k8 on A registers {2p, 2p + 1}, B register p.
HLC_HD void f16_k8_part(int p, int& a0, int& a1, int& b) {
  a0 = 2 * p;
  a1 = 2 * p + 1;
  b = p;
}

}  // namespace frag
}  // namespace hlc
