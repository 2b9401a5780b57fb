// native/cpu/simd/vec_neon.h: 4 x f32 in a q register; arm64 baseline NEON
// (+ sdot when the compiler targets dotprod).
#pragma once
#include <arm_neon.h>
#include <cstring>

#include "vec.h"

namespace hl::simd::neon {

struct Vec {
  using F = float32x4_t;
  static constexpr int W = 4;
  static constexpr const char* name = "neon";
  static F zero() { return vdupq_n_f32(0.0f); }
  static F set1(float v) { return vdupq_n_f32(v); }
  static F load(const float* p) { return vld1q_f32(p); }
  static void store(float* p, F v) { vst1q_f32(p, v); }
  static F add(F a, F b) { return vaddq_f32(a, b); }
  static F mul(F a, F b) { return vmulq_f32(a, b); }
  static F fma(F a, F b, F c) { return vfmaq_f32(c, a, b); }
  static float hsum(F v) { return vaddvq_f32(v); }
  static float f16(uint16_t h) {
    float16x4_t v = vreinterpret_f16_u16(vdup_n_u16(h));
    return vgetq_lane_f32(vcvt_f32_f16(v), 0);
  }
  static F load_f16(const uint16_t* p) { return vcvt_f32_f16(vreinterpret_f16_u16(vld1_u16(p))); }
  static F load_i8(const int8_t* p) {
    int32_t w;  // 4 codes
    std::memcpy(&w, p, 4);
    const int8x8_t b = vreinterpret_s8_s32(vdup_n_s32(w));
    return vcvtq_f32_s32(vmovl_s16(vget_low_s16(vmovl_s8(b))));
  }
  static F load_bf16(const uint16_t* p) { return vreinterpretq_f32_u32(vshll_n_u16(vld1_u16(p), 16)); }
  static F max(F a, F b) { return vmaxnmq_f32(a, b); }
  // ---- activation quantization and SiLU (kquant_simd.h, kernels_simd.h)
  static F min(F a, F b) { return vminnmq_f32(a, b); }
  static F div(F a, F b) { return vdivq_f32(a, b); }
  static float hmax(F v) { return vmaxnmvq_f32(v); }
  // lanes hold integers in [-127, 127]
  static void store_i8(int8_t* p, F v) {
    const int16x4_t h = vmovn_s32(vcvtnq_s32_f32(v));
    const int32_t b = vget_lane_s32(vreinterpret_s32_s8(vmovn_s16(vcombine_s16(h, h))), 0);
    std::memcpy(p, &b, 4);
  }
  static bool any_gt(F a, F b) { return vmaxvq_u32(vcgtq_f32(a, b)) != 0; }
  // e^x (Cephes-style range reduction + degree-6 polynomial, ~2 ulp); x clamped
  // to [-87.3, 88.3] so 2^n stays a normal float.
  static F exp(F x) {
    x = vmaxq_f32(vminq_f32(x, vdupq_n_f32(88.3762626647949f)), vdupq_n_f32(-87.33654475f));
    const F n = vrndnq_f32(vmulq_f32(x, vdupq_n_f32(1.44269504088896341f)));
    F r = vfmsq_f32(x, n, vdupq_n_f32(0.693359375f));
    r = vfmsq_f32(r, n, vdupq_n_f32(-2.12194440e-4f));
    F p = vdupq_n_f32(1.9875691500e-4f);
    p = vfmaq_f32(vdupq_n_f32(1.3981999507e-3f), p, r);
    p = vfmaq_f32(vdupq_n_f32(8.3334519073e-3f), p, r);
    p = vfmaq_f32(vdupq_n_f32(4.1665795894e-2f), p, r);
    p = vfmaq_f32(vdupq_n_f32(1.6666665459e-1f), p, r);
    p = vfmaq_f32(vdupq_n_f32(5.0000001201e-1f), p, r);
    p = vfmaq_f32(vaddq_f32(r, vdupq_n_f32(1.0f)), p, vmulq_f32(r, r));
    const int32x4_t e = vshlq_n_s32(vaddq_s32(vcvtq_s32_f32(n), vdupq_n_s32(127)), 23);
    return vmulq_f32(p, vreinterpretq_f32_s32(e));
  }
  using Q = float32x4_t;
  static Q q8_zero() { return vdupq_n_f32(0.0f); }
  static Q q8_fma(Q acc, const int8_t* w, const int8_t* x, float scale) {
    const int8x16_t w0 = vld1q_s8(w), w1 = vld1q_s8(w + 16), x0 = vld1q_s8(x), x1 = vld1q_s8(x + 16);
#if defined(__ARM_FEATURE_DOTPROD)
    int32x4_t s = vdotq_s32(vdotq_s32(vdupq_n_s32(0), w0, x0), w1, x1);
#else
    int16x8_t p = vmull_s8(vget_low_s8(w0), vget_low_s8(x0));
    p = vmlal_s8(p, vget_high_s8(w0), vget_high_s8(x0));
    int32x4_t s = vpaddlq_s16(p);
    int16x8_t p1 = vmull_s8(vget_low_s8(w1), vget_low_s8(x1));
    p1 = vmlal_s8(p1, vget_high_s8(w1), vget_high_s8(x1));
    s = vpadalq_s16(s, p1);
#endif
    return vfmaq_f32(acc, vcvtq_f32_s32(s), vdupq_n_f32(scale));
  }
  static Q q8_fma2(Q acc, const int8_t* w0, const int8_t* w1, const int8_t* x0, const int8_t* x1, float s0,
                   float s1) {
    return q8_fma(q8_fma(acc, w0, x0, s0), w1, x1, s1);
  }
  static float q8_hsum(Q v) { return vaddvq_f32(v); }

  // ---- unsigned-weight int8 dots (kquant_simd.h): I = 2 x 16 bytes, A = 4 x int32
  struct I {
    uint8x16_t lo, hi;
  };
  using A = int32x4_t;
  static I iload(const uint8_t* p) { return I{vld1q_u8(p), vld1q_u8(p + 16)}; }
  static I iload_nib16(const uint8_t* p) {
    const uint8x16_t v = vld1q_u8(p);
    return I{vandq_u8(v, vdupq_n_u8(0x0f)), vshrq_n_u8(v, 4)};
  }
  static I ibits(I v, int s, int mask) {  // (v >> s) & mask per byte (vshlq by -s shifts right)
    const int8x16_t sh = vdupq_n_s8((int8_t)-s);
    const uint8x16_t m = vdupq_n_u8((uint8_t)mask);
    return I{vandq_u8(vshlq_u8(v.lo, sh), m), vandq_u8(vshlq_u8(v.hi, sh), m)};
  }
  static I ishl4(I v) { return I{vshlq_n_u8(v.lo, 4), vshlq_n_u8(v.hi, 4)}; }
  static I ior(I a, I b) { return I{vorrq_u8(a.lo, b.lo), vorrq_u8(a.hi, b.hi)}; }
  static A azero() { return vdupq_n_s32(0); }
  // 16 bytes u (in [0, 63], so also valid int8) times 16 int8 x, summed to 4 int32 lanes.
  static int32x4_t dot16(uint8x16_t u, int8x16_t x) {
    const int8x16_t w = vreinterpretq_s8_u8(u);
#if defined(__ARM_FEATURE_DOTPROD)
    return vdotq_s32(vdupq_n_s32(0), w, x);
#else
    const int16x8_t p = vmlal_s8(vmull_s8(vget_low_s8(w), vget_low_s8(x)), vget_high_s8(w), vget_high_s8(x));
    return vpaddlq_s16(p);
#endif
  }
  static A adot(A acc, I u, const int8_t* x, int s0, int s1) {
    acc = vmlaq_n_s32(acc, dot16(u.lo, vld1q_s8(x)), s0);
    return vmlaq_n_s32(acc, dot16(u.hi, vld1q_s8(x + 16)), s1);
  }
  static A adot1(A acc, I u, const int8_t* x) {
    return vaddq_s32(acc, vaddq_s32(dot16(u.lo, vld1q_s8(x)), dot16(u.hi, vld1q_s8(x + 16))));
  }
  using FA = float32x4_t;
  static FA fa_zero() { return vdupq_n_f32(0.0f); }
  static FA afma(FA acc, A v, float s) { return vfmaq_f32(acc, vcvtq_f32_s32(v), vdupq_n_f32(s)); }
  // acc += a[i] * b[i] for 8 floats, lane-wise
  static FA fma8(FA acc, const float* a, const float* b) {
    return vfmaq_f32(vfmaq_f32(acc, vld1q_f32(a), vld1q_f32(b)), vld1q_f32(a + 4), vld1q_f32(b + 4));
  }
  static float fa_hsum(FA v) { return vaddvq_f32(v); }

  // ---- int8 GEMM (igemm_simd.h): signed dots (sdot, or widening multiplies
  // and pairwise adds), so codes stay <= 127 and Q8_0 keeps its signed q.
  using IG = int32x4_t;
  static constexpr bool kIgU8Codes = false;
  static constexpr int kIgGroups = 2, kIgTokens = 4;
  // igemm from this many tokens (GEMV below) for Q8_0, Q4_0, the K-quants (not measured: no arm64 here)
  static constexpr int kIgMinTokens[3] = {8, 8, 8};
  static IG ig_zero() { return vdupq_n_s32(0); }
  static IG ig_load(const uint8_t* p) { return vreinterpretq_s32_u8(vld1q_u8(p)); }
  static IG ig_bcast(const int8_t* p) {
    int32_t v;
    std::memcpy(&v, p, 4);
    return vdupq_n_s32(v);
  }
  static IG ig_dot_signed(IG acc, IG w, IG x) {
    const int8x16_t a = vreinterpretq_s8_s32(w), b = vreinterpretq_s8_s32(x);
#if defined(__ARM_FEATURE_DOTPROD)
    return vdotq_s32(acc, a, b);
#else
    const int32x4_t p0 = vpaddlq_s16(vmull_s8(vget_low_s8(a), vget_low_s8(b)));
    const int32x4_t p1 = vpaddlq_s16(vmull_s8(vget_high_s8(a), vget_high_s8(b)));
    return vaddq_s32(acc, vpaddq_s32(p0, p1));
#endif
  }
  static IG ig_dot(IG acc, IG u, IG x) { return ig_dot_signed(acc, u, x); }
  static F ig_to_f(IG v) { return vcvtq_f32_s32(v); }
  static IG ig_sub(IG v, int32_t s) { return vsubq_s32(v, vdupq_n_s32(s)); }
  static IG ig_dot2(IG acc, IG u0, IG x0, IG u1, IG x1) { return ig_dot(ig_dot(acc, u0, x0), u1, x1); }
  // ---- int8 GEMM repack from the block rows (igemm_simd.h pack_group_direct)
  static constexpr bool kIgDirectPack = true;
  // 4 rows of G bytes (G = 32 or 16; row r at p + r * stride) -> out[k] =
  // dword k of every row: one 4 x 4 dword transpose per 16 bytes.
  template <int G>
  static void ig_transpose(IG* out, const uint8_t* p, int64_t stride) {
    for (int h = 0; h < G / 16; h++) {
      uint32x4_t r[4];
      for (int i = 0; i < 4; i++) r[i] = vreinterpretq_u32_u8(vld1q_u8(p + i * stride + 16 * h));
      const uint32x4x2_t a = vtrnq_u32(r[0], r[1]), b = vtrnq_u32(r[2], r[3]);  // (r0[0] r1[0] r0[2] r1[2]), ...
      out[4 * h + 0] = vreinterpretq_s32_u32(vcombine_u32(vget_low_u32(a.val[0]), vget_low_u32(b.val[0])));
      out[4 * h + 1] = vreinterpretq_s32_u32(vcombine_u32(vget_low_u32(a.val[1]), vget_low_u32(b.val[1])));
      out[4 * h + 2] = vreinterpretq_s32_u32(vcombine_u32(vget_high_u32(a.val[0]), vget_high_u32(b.val[0])));
      out[4 * h + 3] = vreinterpretq_s32_u32(vcombine_u32(vget_high_u32(a.val[1]), vget_high_u32(b.val[1])));
    }
  }
  static void ig_store(uint8_t* p, IG v) { vst1q_u8(p, vreinterpretq_u8_s32(v)); }
  static IG ig_bits(IG v, int s, int mask) {
    const uint8x16_t b = vshlq_u8(vreinterpretq_u8_s32(v), vdupq_n_s8((int8_t)-s));
    return vreinterpretq_s32_u8(vandq_u8(b, vdupq_n_u8((uint8_t)mask)));
  }
  static IG ig_shl4(IG v) { return vreinterpretq_s32_u8(vshlq_n_u8(vreinterpretq_u8_s32(v), 4)); }
  static IG ig_or(IG a, IG b) { return vorrq_s32(a, b); }
};

}  // namespace hl::simd::neon
