// cuda/int_units.h: the integer GEMV's arithmetic on one weight row (the
// decoders of 32-weight units and the dp4a dots, gemv_int.cu), written once
// for the device and the host: the kernel runs it per lane, and the test
// binary runs the same code on the CPU against the reference dequantizer, so
// the bit unpacking is proven without a GPU (cuda/test/cuda_test.cpp, "int_units").
// Plain C++ outside nvcc; on the device the loads, __dp4a and __vsub4 are the
// hardware ones, on the host exact emulations.
// A unit u of a row is weights 32u .. 32u + 31: a Q8_0 / Q4_0 block or a
// K-quant sub-block (block layouts: quant.cuh). load(row, u, w, s): its codes
// into w[8] (word i = weights 4i .. 4i + 3, one byte each) and its scale terms
// into s[2]; combine(s, lo, hi, sum, dx): its contribution for one token, from
// the integer dots of words 0-3 (lo) and 4-7 (hi) with the token's int8
// activations, the sum of those 32 activation codes and their block scale dx.
// Offsets are folded in from the sums (Q4_0: q - 8; K-quant mins: dmin * m),
// Q6_K codes are made signed (q - 32) before the dot.
// The prefill GEMM (gemm_mma.cu, int8 mma) uses the same codes with integer
// scale terms: gemm_terms(row, u, wi, wf, wm) gives the unit's integer scales
// (wi) and f32 block scales (wf, wm); gemm_fold(..., dlo, dhi, xs, dx, f, ia,
// im, last) folds one (token, row) pair's s32 dot of the unit (Q6_K: dlo for
// weights 0-15, dhi for 16-31; else dlo only) into int32 sums ia / im over the
// activation block and, at its last unit, into the f32 accumulator f.
#pragma once
#include <stdint.h>
#include <string.h>

#include "../native/core/dtype.h"

#ifdef __CUDACC__
#include <cuda_fp16.h>
#define HLC_HD __host__ __device__ __forceinline__
#else
#define HLC_HD inline
#endif

namespace hlc {

// Weight type ids (native/core/dtype.h, GGUF ids).
enum WType : int { kF32 = 0, kF16 = 1, kQ4_0 = 2, kQ8_0 = 8, kQ4_K = 12, kQ5_K = 13, kQ6_K = 14, kBF16 = 30 };

namespace iu {

HLC_HD uint32_t u16(const uint8_t* p) {  // 2-byte aligned
#ifdef __CUDA_ARCH__
  return *reinterpret_cast<const uint16_t*>(p);
#else
  uint16_t v;
  memcpy(&v, p, 2);
  return v;
#endif
}
HLC_HD uint32_t u32(const uint8_t* p) { return u16(p) | (u16(p + 2) << 16); }  // 2-byte aligned
HLC_HD float f16(const uint8_t* p) {
#ifdef __CUDA_ARCH__
  return __half2float(__ushort_as_half((unsigned short)u16(p)));
#else
  return hl::f16_to_f32((uint16_t)u16(p));
#endif
}
// c + the dot product of the four signed bytes of a and b.
HLC_HD int dp4a(int a, int b, int c) {
#ifdef __CUDA_ARCH__
  return __dp4a(a, b, c);
#else
  for (int i = 0; i < 4; i++) c += (int)(int8_t)(a >> (8 * i)) * (int)(int8_t)(b >> (8 * i));
  return c;
#endif
}
// a - b per byte, modulo 256.
HLC_HD uint32_t vsub4(uint32_t a, uint32_t b) {
#ifdef __CUDA_ARCH__
  return __vsub4(a, b);
#else
  uint32_t r = 0;
  for (int i = 0; i < 4; i++) r |= ((((a >> (8 * i)) & 0xff) - ((b >> (8 * i)) & 0xff)) & 0xff) << (8 * i);
  return r;
#endif
}

}  // namespace iu

// Q4_K / Q5_K 6-bit scale and min of sub-block j from the 12 scale bytes s.
HLC_HD void q4k_scale_min(const uint8_t* s, int j, int& sc, int& m) {
  if (j < 4) {
    sc = s[j] & 63;
    m = s[j + 4] & 63;
  } else {
    sc = (s[j + 4] & 15) | ((s[j - 4] >> 6) << 4);
    m = (s[j + 4] >> 4) | ((s[j] >> 6) << 4);
  }
}

template <int DT> struct IntUnit;

template <> struct IntUnit<kQ8_0> {
  static constexpr int kActBlock = 32;
  HLC_HD static void load(const uint8_t* row, int64_t u, int* w, float* s) {
    const uint8_t* blk = row + u * 34;
    s[0] = iu::f16(blk);
    for (int i = 0; i < 8; i++) w[i] = (int)iu::u32(blk + 2 + 4 * i);
  }
  HLC_HD static float combine(const float* s, int lo, int hi, int, float dx) { return (float)(lo + hi) * (s[0] * dx); }
  HLC_HD static void gemm_terms(const uint8_t* row, int64_t u, int32_t& wi, float& wf, float& wm) {
    wi = 0;
    wf = iu::f16(row + u * 34);
    wm = 0.0f;
  }
  HLC_HD static void gemm_fold(int32_t, float wf, float, int dlo, int, int, float dx, float& f, int&, int&, bool) {
    f += (float)dlo * (wf * dx);
  }
};

template <> struct IntUnit<kQ4_0> {
  static constexpr int kActBlock = 32;
  // Byte j: low nibble = weight j, high nibble = weight j + 16.
  HLC_HD static void load(const uint8_t* row, int64_t u, int* w, float* s) {
    const uint8_t* blk = row + u * 18;
    s[0] = iu::f16(blk);
    for (int i = 0; i < 4; i++) {
      const uint32_t raw = iu::u32(blk + 2 + 4 * i);
      w[i] = (int)(raw & 0x0f0f0f0fu);
      w[4 + i] = (int)((raw >> 4) & 0x0f0f0f0fu);
    }
  }
  HLC_HD static float combine(const float* s, int lo, int hi, int sum, float dx) {
    return (float)(lo + hi - 8 * sum) * (s[0] * dx);
  }
  HLC_HD static void gemm_terms(const uint8_t* row, int64_t u, int32_t& wi, float& wf, float& wm) {
    wi = 0;
    wf = iu::f16(row + u * 18);
    wm = 0.0f;
  }
  HLC_HD static void gemm_fold(int32_t, float wf, float, int dlo, int, int xs, float dx, float& f, int&, int&, bool) {
    f += (float)(dlo - 8 * xs) * (wf * dx);
  }
};

// Q4_K / Q5_K: sub-block j = u % 8 of super-block u / 8; w = d*sc*q - dmin*m.
template <bool FIVE> struct IntUnitK4 {
  static constexpr int kActBlock = 256;
  static constexpr int kBytes = FIVE ? 176 : 144;
  HLC_HD static void load(const uint8_t* row, int64_t u, int* w, float* s) {
    const uint8_t* blk = row + (u >> 3) * kBytes;
    const int j = (int)(u & 7);
    int sc, m;
    q4k_scale_min(blk + 4, j, sc, m);
    s[0] = iu::f16(blk) * (float)sc;
    s[1] = iu::f16(blk + 2) * (float)m;
    const uint8_t* q = blk + (FIVE ? 48 : 16) + 32 * (j >> 1);
    const int sh = 4 * (j & 1);
    for (int i = 0; i < 8; i++) {
      uint32_t c = (iu::u32(q + 4 * i) >> sh) & 0x0f0f0f0fu;
      if (FIVE) c |= ((iu::u32(blk + 16 + 4 * i) >> j) & 0x01010101u) << 4;
      w[i] = (int)c;
    }
  }
  HLC_HD static float combine(const float* s, int lo, int hi, int sum, float dx) {
    return (s[0] * (float)(lo + hi) - s[1] * (float)sum) * dx;
  }
  // GEMM form: wi = sc | m << 16, wf = d, wm = dmin; sc * D and m * S summed
  // exactly in int32 over the 8 units of the super-block (< 2^26), then f32.
  HLC_HD static void gemm_terms(const uint8_t* row, int64_t u, int32_t& wi, float& wf, float& wm) {
    const uint8_t* blk = row + (u >> 3) * kBytes;
    int sc, m;
    q4k_scale_min(blk + 4, (int)(u & 7), sc, m);
    wi = sc | (m << 16);
    wf = iu::f16(blk);
    wm = iu::f16(blk + 2);
  }
  HLC_HD static void gemm_fold(int32_t wi, float wf, float wm, int dlo, int, int xs, float dx, float& f, int& ia,
                               int& im, bool last) {
    ia += (wi & 0xffff) * dlo;
    im += (wi >> 16) * xs;
    if (last) {
      f += (wf * (float)ia - wm * (float)im) * dx;
      ia = im = 0;
    }
  }
};
template <> struct IntUnit<kQ4_K> : IntUnitK4<false> {};
template <> struct IntUnit<kQ5_K> : IntUnitK4<true> {};

// Q6_K: unit v = u % 8 is (half h = v / 4, quad = v % 4); one scale per 16 weights.
template <> struct IntUnit<kQ6_K> {
  static constexpr int kActBlock = 256;
  HLC_HD static void load(const uint8_t* row, int64_t u, int* w, float* s) {
    const uint8_t* blk = row + (u >> 3) * 210;
    const int v = (int)(u & 7), h = v >> 2, quad = v & 3;
    const uint8_t* ql = blk + 64 * h + 32 * (quad & 1);
    const uint8_t* qh = blk + 128 + 32 * h;
    const int sl = 4 * (quad >> 1), sh = 2 * quad;
    for (int i = 0; i < 8; i++) {
      const uint32_t c = ((iu::u32(ql + 4 * i) >> sl) & 0x0f0f0f0fu) | (((iu::u32(qh + 4 * i) >> sh) & 0x03030303u) << 4);
      w[i] = (int)iu::vsub4(c, 0x20202020u);  // q - 32 per byte, in [-32, 31]
    }
    const float d = iu::f16(blk + 208);
    const int8_t* sc = reinterpret_cast<const int8_t*>(blk + 192) + 8 * h + 2 * quad;
    s[0] = d * (float)sc[0];
    s[1] = d * (float)sc[1];
  }
  HLC_HD static float combine(const float* s, int lo, int hi, int, float dx) {
    return (s[0] * (float)lo + s[1] * (float)hi) * dx;
  }
  // GEMM form: wi = the two int8 scales of the unit (low / high 16 bits), wf =
  // d; sc * D of both halves summed exactly in int32 over the super-block (< 2^28).
  HLC_HD static void gemm_terms(const uint8_t* row, int64_t u, int32_t& wi, float& wf, float& wm) {
    const uint8_t* blk = row + (u >> 3) * 210;
    const int v = (int)(u & 7);
    const int8_t* sc = reinterpret_cast<const int8_t*>(blk + 192) + 8 * (v >> 2) + 2 * (v & 3);
    wi = (int32_t)(((uint32_t)(uint16_t)(int16_t)sc[0]) | ((uint32_t)(uint16_t)(int16_t)sc[1] << 16));
    wf = iu::f16(blk + 208);
    wm = 0.0f;
  }
  HLC_HD static void gemm_fold(int32_t wi, float wf, float, int dlo, int dhi, int, float dx, float& f, int& ia, int&,
                               bool last) {
    ia += (int)(int16_t)(wi & 0xffff) * dlo + (int)(int16_t)((uint32_t)wi >> 16) * dhi;
    if (last) {
      f += (wf * dx) * (float)ia;
      ia = 0;
    }
  }
};

// The 32 int8 activation codes at p (16-byte aligned) as eight words.
HLC_HD void load_act32(const int8_t* p, int* a) {
#ifdef __CUDA_ARCH__
  const int4* xp = reinterpret_cast<const int4*>(p);
  const int4 a0 = xp[0], a1 = xp[1];
  a[0] = a0.x; a[1] = a0.y; a[2] = a0.z; a[3] = a0.w;
  a[4] = a1.x; a[5] = a1.y; a[6] = a1.z; a[7] = a1.w;
#else
  memcpy(a, p, 32);
#endif
}

// Unit u's contribution for one token from its loaded codes w / scale terms s
// and the token's quantized activations (layout as in int_row_accumulate).
template <int DT>
HLC_HD float int_unit_apply(const int* w, const float* s, int64_t u, const int8_t* xq, const float* xd,
                            const int32_t* xs) {
  using U = IntUnit<DT>;
  int a[8];
  load_act32(xq + u * 32, a);
  int lo = 0, hi = 0;
  for (int i = 0; i < 4; i++) {
    lo = iu::dp4a(w[i], a[i], lo);
    hi = iu::dp4a(w[4 + i], a[4 + i], hi);
  }
  return U::combine(s, lo, hi, xs[u], xd[(u * 32) / U::kActBlock]);
}

// Unit u of one weight row dotted with one token's quantized activations.
template <int DT>
HLC_HD float int_unit_dot(const uint8_t* row, int64_t u, const int8_t* xq, const float* xd, const int32_t* xs) {
  int w[8];
  float s[2] = {0.0f, 0.0f};
  IntUnit<DT>::load(row, u, w, s);
  return int_unit_apply<DT>(w, s, u, xq, xd, xs);
}

// acc[t] += the units u0, u0 + du, ... of one weight row (K weights) dotted
// with token t's quantized activations: xq [NT, K] int8 (16-byte aligned
// rows), xd [NT, K / kActBlock] block scales, xs [NT, K / 32] code sums.
template <int DT, int NT>
HLC_HD void int_row_accumulate(const uint8_t* row, int64_t K, int64_t u0, int64_t du, const int8_t* xq,
                               const float* xd, const int32_t* xs, float* acc) {
  using U = IntUnit<DT>;
  const int64_t units = K / 32, nbx = K / U::kActBlock;
  for (int64_t u = u0; u < units; u += du) {
    int w[8];
    float s[2] = {0.0f, 0.0f};
    U::load(row, u, w, s);
#ifdef __CUDA_ARCH__
#pragma unroll
#endif
    for (int t = 0; t < NT; t++)
      acc[t] += int_unit_apply<DT>(w, s, u, xq + t * K, xd + t * nbx, xs + t * units);
  }
}

}  // namespace hlc
