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
  static F load_bf16(const uint16_t* p) {
    uint32_t bits = (uint32_t)*p << 16;
    float f;
    std::memcpy(&f, &bits, 4);
    return f;
  }
  static F max(F a, F b) { return a > b ? a : b; }
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
};

}  // namespace hl::simd::scalar
