// native/cpu/simd/vec_scalar.h: the width-1 Vec (plain C++ at baseline flags);
// the reference path every other ISA is tested against.
#pragma once
#include <cmath>

#include "../../core/dtype.h"
#include "vec.h"

namespace hl::simd::scalar {

struct Vec {
  using F = float;
  static constexpr int W = 1;
  static constexpr const char* name = "scalar";
  static F zero() { return 0.0f; }
  static F set1(float v) { return v; }
  static F load(const float* p) { return *p; }
  static void store(float* p, F v) { *p = v; }
  static F add(F a, F b) { return a + b; }
  static F mul(F a, F b) { return a * b; }
  static F fma(F a, F b, F c) { return a * b + c; }
  static float hsum(F v) { return v; }
  static float f16(uint16_t h) { return hl::f16_to_f32(h); }
  static F load_f16(const uint16_t* p) { return f16(*p); }
  static F load_i8(const int8_t* p) { return (float)*p; }
  static F load_bf16(const uint16_t* p) {
    uint32_t bits = (uint32_t)*p << 16;
    float f;
    std::memcpy(&f, &bits, 4);
    return f;
  }
  static F max(F a, F b) { return a > b ? a : b; }
  // ---- activation quantization and SiLU (kquant_simd.h, kernels_simd.h)
  static F min(F a, F b) { return a < b ? a : b; }
  static F div(F a, F b) { return a / b; }
  static float hmax(F v) { return v; }
  static void store_i8(int8_t* p, F v) { *p = (int8_t)(int)v; }  // v an integer in [-127, 127]
  static bool any_gt(F a, F b) { return a > b; }
  static F exp(F x) { return std::exp(x); }
  using Q = float;
  static Q q8_zero() { return 0.0f; }
  static Q q8_fma(Q acc, const int8_t* w, const int8_t* x, float scale) {
    int32_t s = 0;
    for (int i = 0; i < 32; i++) s += (int32_t)w[i] * (int32_t)x[i];
    return (float)s * scale + acc;
  }
  static Q q8_fma2(Q acc, const int8_t* w0, const int8_t* w1, const int8_t* x0, const int8_t* x1, float s0,
                   float s1) {
    return q8_fma(q8_fma(acc, w0, x0, s0), w1, x1, s1);
  }
  static float q8_hsum(Q v) { return v; }

  // ---- unsigned-weight int8 dots (kquant_simd.h): the reference semantics
  struct I {
    uint8_t b[32];
  };
  using A = int32_t;
  static I iload(const uint8_t* p) {
    I v;
    std::memcpy(v.b, p, 32);
    return v;
  }
  static I iload_nib16(const uint8_t* p) {
    I v;
    for (int j = 0; j < 16; j++) v.b[j] = p[j] & 15, v.b[j + 16] = p[j] >> 4;
    return v;
  }
  static I ibits(I v, int s, int mask) {
    for (int j = 0; j < 32; j++) v.b[j] = (uint8_t)((v.b[j] >> s) & mask);
    return v;
  }
  static I ishl4(I v) {
    for (int j = 0; j < 32; j++) v.b[j] = (uint8_t)(v.b[j] << 4);
    return v;
  }
  static I ior(I a, I b) {
    for (int j = 0; j < 32; j++) a.b[j] |= b.b[j];
    return a;
  }
  static A azero() { return 0; }
  static A adot(A acc, I u, const int8_t* x, int s0, int s1) {
    int32_t d0 = 0, d1 = 0;
    for (int j = 0; j < 16; j++) d0 += (int32_t)u.b[j] * x[j], d1 += (int32_t)u.b[j + 16] * x[j + 16];
    return acc + s0 * d0 + s1 * d1;
  }
  static A adot1(A acc, I u, const int8_t* x) { return adot(acc, u, x, 1, 1); }
  using FA = float;
  static FA fa_zero() { return 0.0f; }
  static FA afma(FA acc, A v, float s) { return (float)v * s + acc; }
  // acc += a[i] * b[i] for 8 floats, lane-wise
  static FA fma8(FA acc, const float* a, const float* b) {
    for (int i = 0; i < 8; i++) acc = a[i] * b[i] + acc;
    return acc;
  }
  static float fa_hsum(FA v) { return v; }

  // ---- int8 GEMM (igemm_simd.h): one lane, its 4 code / activation bytes
  using IG = int32_t;
  static constexpr bool kIgU8Codes = true;
  static constexpr int kIgGroups = 4, kIgTokens = 4;
  // igemm from this many tokens (GEMV below) for Q8_0, Q4_0, the K-quants
  static constexpr int kIgMinTokens[3] = {5, 5, 5};
  static IG ig_zero() { return 0; }
  static IG ig_load(const uint8_t* p) {
    IG v;
    std::memcpy(&v, p, 4);
    return v;
  }
  static IG ig_bcast(const int8_t* p) { return ig_load(reinterpret_cast<const uint8_t*>(p)); }
  static IG ig_dot(IG acc, IG u, IG x) {
    uint8_t ub[4];
    int8_t xb[4];
    std::memcpy(ub, &u, 4);
    std::memcpy(xb, &x, 4);
    for (int j = 0; j < 4; j++) acc += (int32_t)ub[j] * (int32_t)xb[j];
    return acc;
  }
  static F ig_to_f(IG v) { return (float)v; }
  static IG ig_sub(IG v, int32_t s) { return v - s; }
  static IG ig_dot2(IG acc, IG u0, IG x0, IG u1, IG x1) { return ig_dot(ig_dot(acc, u0, x0), u1, x1); }
  static constexpr bool kIgDirectPack = false;  // the reference repack (igemm_simd.h pack_group_rows)
};

}  // namespace hl::simd::scalar
