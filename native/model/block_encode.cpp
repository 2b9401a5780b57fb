// native/model/block_encode.cpp: see block_encode.h; the search is described in
// docs/QUANTIZATION.md. Every step is f64 (or f32 where a stored value is
// rebuilt) arithmetic in a fixed order, and the build has no FMA contraction,
// so lib/quant/kquant-search.ts, which mirrors this operation for operation,
// writes the same bytes.
#include "block_encode.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "../core/dtype.h"
#include "../cpu/block_codec.h"

namespace hl::encode {
namespace {

// Nearest integer (halves up) clamped to [lo, hi]; NaN -> 0. Truncation of a
// non-negative value instead of floor(): baseline x86-64 has no inline floor.
int code(double v, int lo, int hi) {
  const double t = (v - lo) + 0.5;
  if (t != t) return 0;
  if (t < 1) return lo;
  if (t >= hi - lo + 1) return hi;
  return lo + (int)t;
}

// The value a stored f16 scale decodes to: v rounded to f32, then to f16.
float f16_round(double v) { return f16_to_f32(f32_to_f16((float)v)); }

// How much each element's squared error counts: its magnitude plus the
// sub-block's root mean square (so small elements still count).
void importance(const float* x, int n, double* w) {
  double ss = 0;
  for (int i = 0; i < n; i++) ss += (double)x[i] * x[i];
  const double rms = std::sqrt(ss / n);
  for (int i = 0; i < n; i++) w[i] = rms + std::fabs((double)x[i]);
}

// ---- affine sub-blocks (Q4_K): x ≈ scale·q − min, q in [0, nmax], min ≥ 0

struct Affine {
  double scale = 0, min = 0;
};

// Weighted moments of one code assignment q = code(inv · (x − base)).
struct CodeSums {
  double wl = 0, wll = 0, wxl = 0;
};

CodeSums assign_affine(const float* x, const double* w, int n, int nmax, double inv, double base) {
  CodeSums s;
  for (int i = 0; i < n; i++) {
    const int l = code(inv * ((double)x[i] - base), 0, nmax);
    s.wl += w[i] * l;
    s.wll += w[i] * l * l;
    s.wxl += w[i] * x[i] * l;
  }
  return s;
}

// Least-squares scale s and offset o (o ≤ 0: stored mins are not negative) of
// x ≈ s·q + o for fixed codes; returns the weighted squared error, +inf when
// all codes are equal.
double fit_affine(double sw, double swx, double swxx, const CodeSums& c, double* s_out, double* o_out) {
  const double det = sw * c.wll - c.wl * c.wl;
  if (!(det > 0)) return INFINITY;
  double s = (sw * c.wxl - swx * c.wl) / det;
  double o = (c.wll * swx - c.wl * c.wxl) / det;
  if (o > 0) {
    o = 0;
    s = c.wxl / c.wll;
  }
  *s_out = s;
  *o_out = o;
  return s * s * c.wll + 2 * s * o * c.wl + o * o * sw - 2 * s * c.wxl - 2 * o * swx + swxx;
}

// Tries inverse scales from (nmax − 1) to (nmax + 1) over the range (and the
// plain nmax / range), fits (scale, min) to each one's codes and keeps the
// least error; then re-assigns codes to the kept fit while that helps.
Affine affine_search(const float* x, const double* w, int n, int nmax) {
  double lo = x[0], hi = x[0];
  for (int i = 1; i < n; i++) {
    if (x[i] < lo) lo = x[i];
    if (x[i] > hi) hi = x[i];
  }
  if (lo > 0) lo = 0;
  Affine best;
  best.min = -lo;
  if (!(hi > lo)) return best;  // constant sub-block: every element decodes to -min
  double sw = 0, swx = 0, swxx = 0;
  for (int i = 0; i < n; i++) {
    sw += w[i];
    swx += w[i] * x[i];
    swxx += w[i] * x[i] * x[i];
  }
  double best_err = INFINITY, s = 0, o = 0;
  for (int k = -1; k <= 20; k++) {
    const double inv = (k < 0 ? nmax : nmax - 1.0 + 0.1 * k) / (hi - lo);
    const double err = fit_affine(sw, swx, swxx, assign_affine(x, w, n, nmax, inv, lo), &s, &o);
    if (err < best_err) best_err = err, best.scale = s, best.min = -o;
  }
  for (int step = 0; step < 2 && best.scale > 0; step++) {
    const double err = fit_affine(sw, swx, swxx, assign_affine(x, w, n, nmax, 1.0 / best.scale, -best.min), &s, &o);
    if (!(err < best_err)) break;
    best_err = err, best.scale = s, best.min = -o;
  }
  return best;
}

// The 6-bit (sc, m) within one step of the rounded ideal ones whose codes give
// the least weighted error under the block's f16 d / dmin; writes the codes.
void pick_scale_min(const float* x, const double* w, int n, int nmax, float d, float dmin, const Affine& a,
                    uint8_t* sc_out, uint8_t* m_out, uint8_t* q) {
  const int sc0 = d > 0 ? code(a.scale / d, 0, 63) : 0;
  const int m0 = dmin > 0 ? code(a.min / dmin, 0, 63) : 0;
  *sc_out = 0, *m_out = 0;
  std::memset(q, 0, (size_t)n);
  double best = INFINITY;
  uint8_t t[32];
  for (int sc = std::max(0, sc0 - 1); sc <= std::min(63, sc0 + 1); sc++) {
    for (int m = std::max(0, m0 - 1); m <= std::min(63, m0 + 1); m++) {
      const float ds = d * (float)sc, off = dmin * (float)m;
      double err = 0;
      for (int i = 0; i < n; i++) {
        const int l = ds > 0 ? code(((double)x[i] + off) / ds, 0, nmax) : 0;
        t[i] = (uint8_t)l;
        const double e = (double)ds * l - off - x[i];
        err += w[i] * e * e;
      }
      if (err < best) {
        best = err, *sc_out = (uint8_t)sc, *m_out = (uint8_t)m;
        std::memcpy(q, t, (size_t)n);
      }
    }
  }
}

// ---- symmetric sub-blocks (Q6_K): x ≈ scale·q, q in [-32, 31]

double symmetric_err(const float* x, const double* w, int n, double inv, double swxx, double* s_out) {
  double wll = 0, wxl = 0;
  for (int i = 0; i < n; i++) {
    const int l = code(inv * x[i], -32, 31);
    wll += w[i] * l * l;
    wxl += w[i] * x[i] * l;
  }
  if (!(wll > 0)) return INFINITY;
  *s_out = wxl / wll;
  return swxx - wxl * wxl / wll;
}

// Inverse scales that put the largest-magnitude element at −(31.1 … 32.9)
// (−32 is the level with the larger magnitude), each with its least-squares
// scale; keeps the least error, then re-assigns codes while that helps.
double symmetric_search(const float* x, const double* w, int n) {
  double amax = 0, vmax = 0;
  for (int i = 0; i < n; i++) {
    const double a = std::fabs((double)x[i]);
    if (a > amax) amax = a, vmax = x[i];
  }
  if (!(amax > 0)) return 0;
  double swxx = 0;
  for (int i = 0; i < n; i++) swxx += w[i] * x[i] * x[i];
  double best_err = INFINITY, best = 0, s = 0;
  for (int k = -9; k <= 9; k++) {
    const double err = symmetric_err(x, w, n, -(32 + 0.1 * k) / vmax, swxx, &s);
    if (err < best_err) best_err = err, best = s;
  }
  for (int step = 0; step < 2 && best != 0; step++) {
    const double err = symmetric_err(x, w, n, 1.0 / best, swxx, &s);
    if (!(err < best_err)) break;
    best_err = err, best = s;
  }
  return best;
}

// The int8 scale within one step of the rounded ideal one whose codes give the
// least weighted error under the block's f16 d; writes codes + 32.
void pick_scale(const float* x, const double* w, int n, float d, double ideal, int8_t* sc_out, uint8_t* q) {
  const int sc0 = d != 0 ? code(ideal / d, -128, 127) : 0;
  *sc_out = 0;
  std::memset(q, 32, (size_t)n);
  double best = INFINITY;
  uint8_t t[16];
  for (int sc = std::max(-128, sc0 - 1); sc <= std::min(127, sc0 + 1); sc++) {
    const float ds = d * (float)sc;
    double err = 0;
    for (int i = 0; i < n; i++) {
      const int l = ds != 0 ? code((double)x[i] / ds, -32, 31) : 0;
      t[i] = (uint8_t)(l + 32);
      const double e = (double)ds * l - x[i];
      err += w[i] * e * e;
    }
    if (err < best) {
      best = err, *sc_out = (int8_t)sc;
      std::memcpy(q, t, (size_t)n);
    }
  }
}

// clamp(round half away from zero (v), lo, hi) with NaN -> 0 (Q8_0's rule).
int round_clamp(double v, int lo, int hi) {
  if (std::isnan(v)) return 0;
  return (int)std::min<double>(hi, std::max<double>(lo, std::round(v)));
}

}  // namespace

void q8_0(const float* x, uint8_t* out) {
  float amax = 0.f;
  for (int i = 0; i < 32; i++) amax = std::max(amax, std::fabs(x[i]));
  const float d = (float)((double)amax / 127.0);
  const float id = d != 0.f ? (float)(1.0 / (double)d) : 0.f;
  const uint16_t dh = f32_to_f16(d);
  std::memcpy(out, &dh, 2);
  for (int i = 0; i < 32; i++) out[2 + i] = (uint8_t)(int8_t)round_clamp(x[i] * id, -127, 127);
}

void q4_k(const float* x, uint8_t* out) {
  double w[256];
  Affine sub[8];
  double max_scale = 0, max_min = 0;
  for (int j = 0; j < 8; j++) {
    importance(x + 32 * j, 32, w + 32 * j);
    sub[j] = affine_search(x + 32 * j, w + 32 * j, 32, 15);
    if (sub[j].scale > max_scale) max_scale = sub[j].scale;
    if (sub[j].min > max_min) max_min = sub[j].min;
  }
  const float d = f16_round(max_scale / 63), dmin = f16_round(max_min / 63);
  uint8_t sc[8], m[8], q[256];
  for (int j = 0; j < 8; j++) pick_scale_min(x + 32 * j, w + 32 * j, 32, 15, d, dmin, sub[j], &sc[j], &m[j], q + 32 * j);
  const uint16_t dh = f32_to_f16(d), mh = f32_to_f16(dmin);
  std::memcpy(out, &dh, 2);
  std::memcpy(out + 2, &mh, 2);
  codec::k4_pack_scale_min(sc, m, out + 4);
  for (int i = 0; i < 4; i++)
    for (int l = 0; l < 32; l++) out[16 + 32 * i + l] = (uint8_t)(q[64 * i + l] | (q[64 * i + 32 + l] << 4));
}

void q6_k(const float* x, uint8_t* out) {
  double w[256], s[16], smax = 0;
  for (int j = 0; j < 16; j++) {
    importance(x + 16 * j, 16, w + 16 * j);
    s[j] = symmetric_search(x + 16 * j, w + 16 * j, 16);
    if (std::fabs(s[j]) > std::fabs(smax)) smax = s[j];
  }
  const float d = f16_round(-smax / 128);
  uint8_t q[256];
  int8_t sc[16];
  for (int j = 0; j < 16; j++) pick_scale(x + 16 * j, w + 16 * j, 16, d, s[j], &sc[j], q + 16 * j);
  // Per 128-element half: ql low nibbles of elements l / l + 32, high nibbles of
  // l + 64 / l + 96; qh holds their top two bits in pairs 0-1 / 2-3 / 4-5 / 6-7.
  for (int half = 0; half < 2; half++) {
    const uint8_t* e = q + 128 * half;
    uint8_t* ql = out + 64 * half;
    uint8_t* qh = out + 128 + 32 * half;
    for (int l = 0; l < 32; l++) {
      ql[l] = (uint8_t)((e[l] & 15) | ((e[l + 64] & 15) << 4));
      ql[l + 32] = (uint8_t)((e[l + 32] & 15) | ((e[l + 96] & 15) << 4));
      qh[l] = (uint8_t)((e[l] >> 4) | ((e[l + 32] >> 4) << 2) | ((e[l + 64] >> 4) << 4) | ((e[l + 96] >> 4) << 6));
    }
  }
  std::memcpy(out + 192, sc, 16);
  const uint16_t dh = f32_to_f16(d);
  std::memcpy(out + 208, &dh, 2);
}

}  // namespace hl::encode
