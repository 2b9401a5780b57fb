// native/model/quantize.cpp: see quantize.h. Layouts in native/core/dtype.h
// (docs/KERNELS.md, Weight blocks).
//   Q8_0  d = f32(amax / 127), id = f32(1 / d); q = round_half_away(f32(x * id)) in [-127, 127]
//   Q4_K  per sub-block j of 32: lo = min(0, min x), hi = max x,
//         scale_j = (hi - lo) / 15, min_j = -lo                    (f64)
//         d = f16(max scale / 63), dmin = f16(max min / 63)       (f64 -> f32 -> f16)
//         sc_j = round(scale_j / d), m_j = round(min_j / dmin)     in [0, 63]
//         q = round((x + f32(dmin * m_j)) / f32(d * sc_j))         in [0, 15]
//   where round() is JS Math.round (halves toward +inf) and every step is the
//   same IEEE operation the TS code does (the build has -ffp-contract=off).
#include "quantize.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>

namespace hl {

namespace {

// JS Math.round: nearest integer, halves toward +infinity (exact: x - floor(x)
// is exact for doubles). NaN stays NaN.
inline double js_round(double x) {
  double f = std::floor(x);
  return x - f >= 0.5 ? f + 1.0 : f;
}

// What a JS typed-array store of clamp(v, lo, hi) keeps: NaN becomes 0.
inline int clamp_int(double v, int lo, int hi) {
  if (std::isnan(v)) return 0;
  return (int)std::min<double>(hi, std::max<double>(lo, v));
}

// clamp(Math.round(v), 0, 15) as a Uint8Array stores it (NaN -> 0). Clamping
// first gives the same result (rounding is monotone) and keeps the rest
// branch-free: on [0, 15] truncation is floor, and v - floor(v) is exact.
inline uint8_t round_clamp_u4(double v) {
  const double c = std::min(15.0, std::max(0.0, v));  // NaN -> 0 (std::max keeps its first argument)
  const int f = (int)c;
  return (uint8_t)(f + (c - (double)f >= 0.5 ? 1 : 0));
}

// f16-rounded value of a double, as TS h(v) = f16BitsToF32(f32ToF16Bits(v)):
// the double is rounded to f32 first, then to f16.
inline float f16_round(double v) { return f16_to_f32(f32_to_f16((float)v)); }

void quant_q8_0(const float* x, BlockQ8_0* b) {
  float amax = 0.f;
  for (int i = 0; i < 32; i++) amax = std::max(amax, std::fabs(x[i]));
  const float d = (float)((double)amax / 127.0);
  const float id = d != 0.f ? (float)(1.0 / (double)d) : 0.f;
  b->d = f32_to_f16(d);
  for (int i = 0; i < 32; i++) {
    const float v = x[i] * id;  // one f32 product = Math.fround(x * id)
    // round half away from zero (TS: sign(v) * Math.round(|v|)); std::round is exact
    b->qs[i] = (int8_t)clamp_int(std::round(v), -127, 127);
  }
}

void quant_q4_k(const float* x, BlockQ4_K* b) {
  double scale[8], mins[8];
  double max_scale = -INFINITY, max_min = -INFINITY;
  for (int j = 0; j < 8; j++) {
    double lo = 0.0, hi = -INFINITY;
    for (int i = 0; i < 32; i++) {
      const double v = x[32 * j + i];
      lo = std::min(lo, v);
      hi = std::max(hi, v);
    }
    scale[j] = (hi - lo) / 15.0;
    mins[j] = -lo;
    max_scale = std::max(max_scale, scale[j]);
    max_min = std::max(max_min, mins[j]);
  }
  const float d = f16_round(max_scale / 63.0);
  const float dmin = f16_round(max_min / 63.0);
  uint8_t sc[8], m[8];
  for (int j = 0; j < 8; j++) {
    sc[j] = d != 0.f ? (uint8_t)clamp_int(js_round(scale[j] / (double)d), 0, 63) : 0;
    m[j] = dmin != 0.f ? (uint8_t)clamp_int(js_round(mins[j] / (double)dmin), 0, 63) : 0;
  }
  b->d = f32_to_f16(d);
  b->dmin = f32_to_f16(dmin);
  for (int j = 0; j < 4; j++) {  // the 12-byte 6-bit field (TS packKScales)
    b->scales[j] = (uint8_t)((sc[j] & 63) | ((sc[j + 4] >> 4) << 6));
    b->scales[j + 4] = (uint8_t)((m[j] & 63) | ((m[j + 4] >> 4) << 6));
    b->scales[j + 8] = (uint8_t)((sc[j + 4] & 15) | ((m[j + 4] & 15) << 4));
  }
  uint8_t q[256];
  for (int j = 0; j < 8; j++) {
    const float ds = d * (float)sc[j];
    const double off = (double)(dmin * (float)m[j]);
    if (ds == 0.f) {
      std::memset(q + 32 * j, 0, 32);
      continue;
    }
    for (int i = 0; i < 32; i++) q[32 * j + i] = round_clamp_u4(((double)x[32 * j + i] + off) / (double)ds);
  }
  for (int i = 0; i < 4; i++)
    for (int l = 0; l < 32; l++) b->qs[32 * i + l] = (uint8_t)(q[64 * i + l] | (q[64 * i + 32 + l] << 4));
}

}  // namespace

void quantize_row(DType target, const float* x, int64_t K, uint8_t* out) {
  const int64_t bs = dtype_block_size(target);
  HL_CHECK(bs > 1 && K % bs == 0, Argument,
           std::string("quantize: a row of ") + std::to_string(K) + " values cannot be stored as " + dtype_name(target));
  switch (target) {
    case DType::Q8_0: {
      auto* b = reinterpret_cast<BlockQ8_0*>(out);
      for (int64_t i = 0; i < K / 32; i++) quant_q8_0(x + 32 * i, b + i);
      return;
    }
    case DType::Q4_K: {
      auto* b = reinterpret_cast<BlockQ4_K*>(out);
      for (int64_t i = 0; i < K / 256; i++) quant_q4_k(x + 256 * i, b + i);
      return;
    }
    default:
      throw Error(ErrorCode::Unsupported, std::string("quantize: cannot quantize to ") + dtype_name(target));
  }
}

}  // namespace hl
