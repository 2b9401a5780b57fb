// native/cpu/simd/kquant_simd.h: integer dot products straight on packed
// Q4_0 / Q4_K / Q5_K / Q6_K rows (docs/KERNELS.md, "int8 matmul"), written
// once against Vec's unsigned-weight ops (vec.h) and instantiated per ISA.
//
// Activations arrive quantized (QAct, ops.h): per block of 32 (Q4_0) or 256
// (K-quants) one f32 scale dx and int8 q, plus exact int16 sums of q per 16.
// Every weight code is used as an unsigned byte c in [0, 63]; the format's
// offset moves to the sums:
//   Q4_0  w = d (c - 8)             sum w x = d dx (sum c q - 8 sum q)
//   Q4_K  w = d sc_j c - dmin m_j   sum w x = d dx sum_j sc_j (c . q)_j - dmin dx sum_j m_j S_j
//   Q5_K  as Q4_K, c has 5 bits
//   Q6_K  w = d sc_j (c - 32)       sum w x = d dx (sum_j sc_j (c . q)_j - 32 sum_j sc_j S_j)
// (S_j: the exact sum of q over sub-block j). The code dots are exact int32
// per super-block (|sum| < 2^31 for every format) and enter f32 once, times
// d dx; the offset terms are f32 dots of the weight side (dmin m_j, 32 d sc_j)
// with dx S_j, which quantize_act stores per 16 and per 32. So the result
// equals the f64 matmul of the decoded weights with the rounded activations
// up to f32 rounding of these per-block terms.
// Tiles: T <= 4 tokens per pass over a row; each 32 weight codes are
// unpacked once into a register and meet all T tokens.
#pragma once
#include <cstdint>
#include <cstring>

#include "../block_codec.h"
#include "ops.h"

// Token and group loops must be unrolled so the accumulators live in registers.
#define HL_UNROLL _Pragma("GCC unroll 8")

namespace hl::cpu {

template <class V>
struct KQuantKernels {
  using I = typename V::I;
  using A = typename V::A;
  using FA = typename V::FA;
  static constexpr int QT = 4;                 // tokens per tile
  static constexpr int kPrefetchBytes = 1024;  // software prefetch distance on weight streams

  static float h2f(const uint8_t* p) { return V::f16(codec::rd16(p)); }

  // q = round_half_even(x / d), d = absmax / 127 per block (f32), in [-127, 127];
  // sum16[j] / sum32[j] = d * (sum of q over elements 16j .. 16j + 15 / 32j .. 32j + 31),
  // the integer sum exact, one f32 rounding (null: not wanted). Finite x.
  // Vectorized over W lanes with the scalar path's exact operations: the
  // absmax is a max (order-free), the rounding is (x * id + 1.5 * 2^23) -
  // 1.5 * 2^23 per lane (no FMA contraction), and the per-16 sums add the
  // rounded values as floats, exact below 2^24, so every ISA writes the same bits.
  static void quantize_act(int8_t* q, float* d, float* sum16, float* sum32, const float* x, int64_t K,
                           int64_t block) {
    using F = typename V::F;
    constexpr int W = V::W;
    static_assert(16 % W == 0, "a 16-element sum group is whole vectors");
    const F neg1 = V::set1(-1.0f), magic = V::set1(12582912.0f), unmagic = V::set1(-12582912.0f);
    const F hi = V::set1(127.0f), lo = V::set1(-127.0f);
    for (int64_t b = 0; b < K / block; b++) {
      const float* xb = x + b * block;
      F m = V::zero();  // |x| <= m lane-wise (max keeps m on a NaN |x|)
      for (int64_t i = 0; i < block; i += W) {
        const F v = V::load(xb + i);
        m = V::max(V::max(v, V::mul(v, neg1)), m);
      }
      const float amax = V::hmax(m);
      const float db = amax / 127.0f;
      const float id = db != 0.0f ? 1.0f / db : 0.0f;
      d[b] = db;
      const F idv = V::set1(id);
      float prev = 0.0f;  // the even group's sum, for sum32
      for (int64_t j = 0; j < block / 16; j++) {
        F s = V::zero();
        for (int i = 0; i < 16; i += W) {
          F v = V::add(V::add(V::mul(V::load(xb + 16 * j + i), idv), magic), unmagic);
          v = V::min(V::max(v, lo), hi);
          V::store_i8(q + b * block + 16 * j + i, v);
          s = V::add(s, v);
        }
        const float s16 = V::hsum(s);
        const int64_t g = b * block / 16 + j;
        if (sum16) sum16[g] = db * s16;
        if (sum32 && (g & 1)) sum32[g / 2] = db * (prev + s16);
        prev = s16;
      }
    }
  }

  // ---- one weight row against T token rows: y[t * ldy] for t < T

  template <int T>
  static void row_q4_0(float* y, int64_t ldy, const QAct* x, const uint8_t* w, int64_t K) {
    FA acc[T];
    float corr[T];
    HL_UNROLL
    for (int t = 0; t < T; t++) acc[t] = V::fa_zero(), corr[t] = 0.0f;
    for (int64_t b = 0; b < K / 32; b++) {
      const uint8_t* blk = w + 18 * b;
      __builtin_prefetch(blk + kPrefetchBytes);
      const I c = V::iload_nib16(blk + 2);
      const float d = h2f(blk);
      HL_UNROLL
      for (int t = 0; t < T; t++) {
        const float dd = d * x[t].d[b];
        acc[t] = V::afma(acc[t], V::adot1(V::azero(), c, x[t].q + 32 * b), dd);
        corr[t] += (8.0f * d) * x[t].sum32[b];
      }
    }
    for (int t = 0; t < T; t++) y[t * ldy] = V::fa_hsum(acc[t]) - corr[t];
  }

  // Q4_K (bits = 4) and Q5_K (bits = 5): 64-element group i holds sub-blocks
  // 2i (low nibbles) and 2i + 1 (high nibbles); Q5_K's fifth bits are bit 2i /
  // 2i + 1 of qh[l].
  template <int T, int kBits>
  static void row_k45(float* y, int64_t ldy, const QAct* x, const uint8_t* w, int64_t K) {
    constexpr int64_t kBytes = kBits == 4 ? 144 : 176;
    constexpr int64_t kQs = kBits == 4 ? 16 : 48;
    FA acc[T], corr[T];
    HL_UNROLL
    for (int t = 0; t < T; t++) acc[t] = V::fa_zero(), corr[t] = V::fa_zero();
    for (int64_t sb = 0; sb < K / 256; sb++) {
      const uint8_t* blk = w + kBytes * sb;
      __builtin_prefetch(blk + kPrefetchBytes);
      __builtin_prefetch(blk + kPrefetchBytes + 64);
      uint8_t sc[8], m[8];
      codec::k4_scale_min(blk + 4, sc, m);
      A ia[T];
      HL_UNROLL
      for (int t = 0; t < T; t++) ia[t] = V::azero();
      I qh;
      if (kBits == 5) qh = V::iload(blk + 16);
      HL_UNROLL
      for (int i = 0; i < 4; i++) {
        const I v = V::iload(blk + kQs + 32 * i);
        I lo = V::ibits(v, 0, 15), hi = V::ibits(v, 4, 15);
        if (kBits == 5) {
          lo = V::ior(lo, V::ishl4(V::ibits(qh, 2 * i, 1)));
          hi = V::ior(hi, V::ishl4(V::ibits(qh, 2 * i + 1, 1)));
        }
        HL_UNROLL
        for (int t = 0; t < T; t++) {
          const int8_t* xq = x[t].q + 256 * sb + 64 * i;
          ia[t] = V::adot(V::adot(ia[t], lo, xq, sc[2 * i], sc[2 * i]), hi, xq + 32, sc[2 * i + 1], sc[2 * i + 1]);
        }
      }
      const float d = h2f(blk), dmin = h2f(blk + 2);
      float mf[8];  // dmin * m_j
      for (int j = 0; j < 8; j++) mf[j] = dmin * (float)m[j];
      HL_UNROLL
      for (int t = 0; t < T; t++) {
        acc[t] = V::afma(acc[t], ia[t], d * x[t].d[sb]);
        corr[t] = V::fma8(corr[t], mf, x[t].sum32 + 8 * sb);
      }
    }
    for (int t = 0; t < T; t++) y[t * ldy] = V::fa_hsum(acc[t]) - V::fa_hsum(corr[t]);
  }

  // Q6_K: per 128-element half, ql[64] (low nibbles of elements l / l + 32,
  // high nibbles of l + 64 / l + 96), qh[32] (2-bit pairs 0-1 / 2-3 / 4-5 / 6-7
  // for those four), one int8 scale per 16 elements.
  template <int T>
  static void row_q6_k(float* y, int64_t ldy, const QAct* x, const uint8_t* w, int64_t K) {
    FA acc[T], corr[T];
    HL_UNROLL
    for (int t = 0; t < T; t++) acc[t] = V::fa_zero(), corr[t] = V::fa_zero();
    for (int64_t sb = 0; sb < K / 256; sb++) {
      const uint8_t* blk = w + 210 * sb;
      __builtin_prefetch(blk + kPrefetchBytes);
      __builtin_prefetch(blk + kPrefetchBytes + 64);
      __builtin_prefetch(blk + kPrefetchBytes + 128);
      const int8_t* sc = reinterpret_cast<const int8_t*>(blk + 192);
      A ia[T];
      HL_UNROLL
      for (int t = 0; t < T; t++) ia[t] = V::azero();
      HL_UNROLL
      for (int h = 0; h < 2; h++) {
        const I a = V::iload(blk + 64 * h), b = V::iload(blk + 64 * h + 32), qh = V::iload(blk + 128 + 32 * h);
        const I c[4] = {V::ior(V::ibits(a, 0, 15), V::ishl4(V::ibits(qh, 0, 3))),
                        V::ior(V::ibits(b, 0, 15), V::ishl4(V::ibits(qh, 2, 3))),
                        V::ior(V::ibits(a, 4, 15), V::ishl4(V::ibits(qh, 4, 3))),
                        V::ior(V::ibits(b, 4, 15), V::ishl4(V::ibits(qh, 6, 3)))};
        const int8_t* s = sc + 8 * h;
        HL_UNROLL
        for (int t = 0; t < T; t++) {
          const int8_t* xq = x[t].q + 256 * sb + 128 * h;
          HL_UNROLL
          for (int k = 0; k < 4; k++) ia[t] = V::adot(ia[t], c[k], xq + 32 * k, s[2 * k], s[2 * k + 1]);
        }
      }
      const float d = h2f(blk + 208);
      float sf[16];  // 32 d sc_j (exact: d * sc_j is an f32 product, 32 a power of two)
      for (int j = 0; j < 16; j++) sf[j] = 32.0f * (d * (float)sc[j]);
      HL_UNROLL
      for (int t = 0; t < T; t++) {
        acc[t] = V::afma(acc[t], ia[t], d * x[t].d[sb]);
        corr[t] = V::fma8(V::fma8(corr[t], sf, x[t].sum16 + 16 * sb), sf + 8, x[t].sum16 + 16 * sb + 8);
      }
    }
    for (int t = 0; t < T; t++) y[t * ldy] = V::fa_hsum(acc[t]) - V::fa_hsum(corr[t]);
  }

  template <int T>
  static void rows(int type, float* y, int64_t ldy, const QAct* x, const uint8_t* const* w, int64_t n_w, int64_t K) {
    switch (type) {
      case 2: for (int64_t r = 0; r < n_w; r++) row_q4_0<T>(y + r, ldy, x, w[r], K); return;
      case 12: for (int64_t r = 0; r < n_w; r++) row_k45<T, 4>(y + r, ldy, x, w[r], K); return;
      case 13: for (int64_t r = 0; r < n_w; r++) row_k45<T, 5>(y + r, ldy, x, w[r], K); return;
      case 14: for (int64_t r = 0; r < n_w; r++) row_q6_k<T>(y + r, ldy, x, w[r], K); return;
      default: return;
    }
  }

  static void gemm_kq(float* y, int64_t ldy, const QAct* x, int64_t n_x, const uint8_t* const* w, int64_t n_w,
                      int64_t K, int type) {
    for (int64_t t0 = 0; t0 < n_x; t0 += QT) {
      const int64_t nt = n_x - t0 < QT ? n_x - t0 : QT;
      float* yt = y + t0 * ldy;
      if (nt == 4) rows<4>(type, yt, ldy, x + t0, w, n_w, K);
      else if (nt == 3) rows<3>(type, yt, ldy, x + t0, w, n_w, K);
      else if (nt == 2) rows<2>(type, yt, ldy, x + t0, w, n_w, K);
      else rows<1>(type, yt, ldy, x + t0, w, n_w, K);
    }
  }
};

}  // namespace hl::cpu
