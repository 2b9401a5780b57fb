// native/cpu/simd/kernels_simd.h: the fast inner loops, written once against
// Vec (vec.h) and instantiated per ISA by isa_*.cpp into a SimdOps table.
//
// gemm (docs/KERNELS.md, Matmul): register-blocked micro-kernel over RT activation rows
// x RN weight rows; per step of W columns it loads RN weight vectors (widened
// from f16/bf16 in registers) and RT activation vectors and issues RT*RN FMAs
// into RT*RN accumulators, so each weight vector is converted once and reused
// RT times. Token tiles are the outer loop: the caller hands a block of weight
// rows sized for L2, which is then re-read from L2 once per token tile, while
// the RT activation rows stay in L1. With n_x <= RT (decode GEMV) every
// weight byte is read exactly once.
// gemm_q8_0: the same blocking over Q8_0 blocks with int8 dot products of
// pre-quantized activations (Vec::q8_fma: VNNI dpbusd / AVX2 maddubs / NEON
// sdot), one f32 FMA per block with d_w * d_x.
// The block formats' GEMV on their GGUF codes: kquant_simd.h; their int8
// GEMM over repacked row groups (many tokens): igemm_simd.h.
// ssm_row_scan (docs/KERNELS.md, Mamba-2 scan): one state row held in 8 registers per
// chunk of 8·W columns across all tokens, so state is read and written once.
// Numerics: f32 accumulation everywhere; int8 block sums exact in int32.
#pragma once
#include <cmath>
#include <cstdint>
#include <cstring>

#include "../block_codec.h"
#include "attn_simd.h"
#include "igemm_simd.h"
#include "kquant_simd.h"
#include "ops.h"

namespace hl::cpu {

template <class V>
struct SimdKernels {
  using F = typename V::F;
  using Q = typename V::Q;
  static constexpr int W = V::W;
  static constexpr int RT = W >= 16 ? 4 : 3;  // activation rows per f32 tile (AVX2: 12 acc + 4 w = 16 ymm)
  static constexpr int RN = 4;                // weight rows per tile
  static constexpr int QT = W >= 16 ? 4 : 2;  // activation rows per int8 tile
  static constexpr int kPrefetchBytes = 1024;  // software prefetch distance on weight streams
  using KQ = KQuantKernels<V>;
  using IGK = IGemmKernels<V>;
  using AK = AttnKernels<V, SimdKernels>;

  // ---- weight row loaders (k = element index)
  struct LoadF32 {
    static constexpr int kBytes = 4;
    static F load(const uint8_t* p, int64_t k) { return V::load(reinterpret_cast<const float*>(p) + k); }
    static float at(const uint8_t* p, int64_t k) {
      float v;
      std::memcpy(&v, p + 4 * k, 4);
      return v;
    }
  };
  struct LoadF16 {
    static constexpr int kBytes = 2;
    static F load(const uint8_t* p, int64_t k) { return V::load_f16(reinterpret_cast<const uint16_t*>(p) + k); }
    static float at(const uint8_t* p, int64_t k) {
      uint16_t h;
      std::memcpy(&h, p + 2 * k, 2);
      return V::f16(h);
    }
  };
  struct LoadBF16 {
    static constexpr int kBytes = 2;
    static F load(const uint8_t* p, int64_t k) { return V::load_bf16(reinterpret_cast<const uint16_t*>(p) + k); }
    static float at(const uint8_t* p, int64_t k) {
      uint16_t h;
      std::memcpy(&h, p + 2 * k, 2);
      uint32_t bits = (uint32_t)h << 16;
      float f;
      std::memcpy(&f, &bits, 4);
      return f;
    }
  };

  // ---- elementwise / reductions

  static float dot_f32(const float* a, const float* b, int64_t n) {
    F s0 = V::zero(), s1 = V::zero(), s2 = V::zero(), s3 = V::zero();
    int64_t i = 0;
    for (; i + 4 * W <= n; i += 4 * W) {
      s0 = V::fma(V::load(a + i), V::load(b + i), s0);
      s1 = V::fma(V::load(a + i + W), V::load(b + i + W), s1);
      s2 = V::fma(V::load(a + i + 2 * W), V::load(b + i + 2 * W), s2);
      s3 = V::fma(V::load(a + i + 3 * W), V::load(b + i + 3 * W), s3);
    }
    for (; i + W <= n; i += W) s0 = V::fma(V::load(a + i), V::load(b + i), s0);
    float tail = 0.0f;
    for (; i < n; i++) tail += a[i] * b[i];
    return V::hsum(V::add(V::add(s0, s1), V::add(s2, s3))) + tail;
  }

  static void axpy_f32(float* y, float alpha, const float* x, int64_t n) {
    const F a = V::set1(alpha);
    int64_t i = 0;
    for (; i + W <= n; i += W) V::store(y + i, V::fma(a, V::load(x + i), V::load(y + i)));
    for (; i < n; i++) y[i] += alpha * x[i];
  }

  static float exp_sub_sum(float* p, const float* s, int64_t n, float base) {
    const F b = V::set1(base);
    F acc = V::zero();
    int64_t i = 0;
    for (; i + W <= n; i += W) {
      const F e = V::exp(V::add(V::load(s + i), V::mul(b, V::set1(-1.0f))));
      V::store(p + i, e);
      acc = V::add(acc, e);
    }
    float tail = 0.0f;
    for (; i < n; i++) {
      p[i] = std::exp(s[i] - base);
      tail += p[i];
    }
    return V::hsum(acc) + tail;
  }

  static void silu_mul(float* out, const float* g, const float* u, int64_t n) {
    const F one = V::set1(1.0f), neg1 = V::set1(-1.0f);
    int64_t i = 0;
    for (; i + W <= n; i += W) {
      const F v = V::load(g + i);
      F s = V::div(v, V::add(one, V::exp(V::mul(v, neg1))));
      if (u) s = V::mul(s, V::load(u + i));
      V::store(out + i, s);
    }
    for (; i < n; i++) {
      const float s = g[i] / (1.0f + std::exp(-g[i]));
      out[i] = u ? s * u[i] : s;
    }
  }

  // Largest non-NaN value of x[0..n) (-inf when there is none): the greedy
  // pick of the sampler is then the first index holding it.
  static float max_f32(const float* x, int64_t n) {
    F m0 = V::set1(-INFINITY), m1 = m0;
    int64_t i = 0;
    for (; i + 2 * W <= n; i += 2 * W) {
      m0 = V::max(V::load(x + i), m0);
      m1 = V::max(V::load(x + i + W), m1);
    }
    for (; i + W <= n; i += W) m0 = V::max(V::load(x + i), m0);
    float lanes[W], m = -INFINITY;
    V::store(lanes, V::max(m1, m0));
    for (int j = 0; j < W; j++) m = lanes[j] > m ? lanes[j] : m;
    for (; i < n; i++) m = x[i] > m ? x[i] : m;
    return m;
  }

  // First index i in [from, n) with x[i] > t, or n (top-k scans skip whole
  // vectors below the current k-th value).
  static int64_t first_gt(const float* x, int64_t from, int64_t n, float t) {
    const F tv = V::set1(t);
    int64_t i = from;
    for (; i + W <= n; i += W)
      if (V::any_gt(V::load(x + i), tv)) break;
    for (; i < n; i++)
      if (x[i] > t) return i;
    return n;
  }

  // o[e] += sum_j p[j] * v[j][e]: a chunk of o stays in registers across all keys.
  static void pv_accumulate(float* o, const float* p, const float* const* v, int64_t n, int64_t Dh) {
    int64_t e0 = 0;
    for (; e0 + 4 * W <= Dh; e0 += 4 * W) {
      F a0 = V::load(o + e0), a1 = V::load(o + e0 + W), a2 = V::load(o + e0 + 2 * W), a3 = V::load(o + e0 + 3 * W);
      for (int64_t j = 0; j < n; j++) {
        const F pj = V::set1(p[j]);
        const float* vj = v[j] + e0;
        a0 = V::fma(pj, V::load(vj), a0);
        a1 = V::fma(pj, V::load(vj + W), a1);
        a2 = V::fma(pj, V::load(vj + 2 * W), a2);
        a3 = V::fma(pj, V::load(vj + 3 * W), a3);
      }
      V::store(o + e0, a0);
      V::store(o + e0 + W, a1);
      V::store(o + e0 + 2 * W, a2);
      V::store(o + e0 + 3 * W, a3);
    }
    for (; e0 + W <= Dh; e0 += W) {
      F a = V::load(o + e0);
      for (int64_t j = 0; j < n; j++) a = V::fma(V::set1(p[j]), V::load(v[j] + e0), a);
      V::store(o + e0, a);
    }
    for (; e0 < Dh; e0++)
      for (int64_t j = 0; j < n; j++) o[e0] += p[j] * v[j][e0];
  }

  static void f16_to_f32(float* out, const uint16_t* in, int64_t n) {
    int64_t i = 0;
    for (; i + W <= n; i += W) V::store(out + i, V::load_f16(in + i));
    for (; i < n; i++) out[i] = V::f16(in[i]);
  }

  static void bf16_to_f32(float* out, const uint16_t* in, int64_t n) {
    int64_t i = 0;
    for (; i + W <= n; i += W) V::store(out + i, V::load_bf16(in + i));
    for (; i < n; i++) out[i] = LoadBF16::at(reinterpret_cast<const uint8_t*>(in + i), 0);
  }

  // ---- f32 / f16 / bf16 GEMM

  template <class L, int T, int R>
  static void tile(float* y, int64_t ldy, const float* const* x, const uint8_t* const* w, int64_t K) {
    F acc[T][R];
    for (int t = 0; t < T; t++)
      for (int r = 0; r < R; r++) acc[t][r] = V::zero();
    int64_t k = 0;
    for (; k + W <= K; k += W) {
      F wv[R];
      if (T == 1)  // decode streams the rows from memory: keep several lines in flight
        for (int r = 0; r < R; r++) __builtin_prefetch(w[r] + L::kBytes * k + kPrefetchBytes);
      for (int r = 0; r < R; r++) wv[r] = L::load(w[r], k);
      for (int t = 0; t < T; t++) {
        const F xv = V::load(x[t] + k);
        for (int r = 0; r < R; r++) acc[t][r] = V::fma(xv, wv[r], acc[t][r]);
      }
    }
    float tail[T][R] = {};
    for (; k < K; k++)
      for (int r = 0; r < R; r++) {
        const float wk = L::at(w[r], k);
        for (int t = 0; t < T; t++) tail[t][r] += x[t][k] * wk;
      }
    for (int t = 0; t < T; t++)
      for (int r = 0; r < R; r++) y[t * ldy + r] = V::hsum(acc[t][r]) + tail[t][r];
  }

  template <class L, int T>
  static void tile_rows(int nr, float* y, int64_t ldy, const float* const* x, const uint8_t* const* w, int64_t K) {
    if (nr == RN) tile<L, T, RN>(y, ldy, x, w, K);
    else if (nr == 1) tile<L, T, 1>(y, ldy, x, w, K);
    else if (nr == 2) tile<L, T, 2>(y, ldy, x, w, K);
    else tile<L, T, 3>(y, ldy, x, w, K);
  }

  template <class L>
  static void gemm_as(float* y, int64_t ldy, const float* const* x, int64_t n_x, const uint8_t* const* w,
                      int64_t n_w, int64_t K) {
    if (n_x == 1) {  // decode: 8 weight streams in flight per tile
      int64_t r0 = 0;
      for (; r0 + 8 <= n_w; r0 += 8) tile<L, 1, 8>(y + r0, ldy, x, w + r0, K);
      for (; r0 < n_w; r0 += RN) tile_rows<L, 1>((int)(n_w - r0 < RN ? n_w - r0 : RN), y + r0, ldy, x, w + r0, K);
      return;
    }
    for (int64_t t0 = 0; t0 < n_x; t0 += RT) {
      const int nt = (int)(n_x - t0 < RT ? n_x - t0 : RT);
      for (int64_t r0 = 0; r0 < n_w; r0 += RN) {
        const int nr = (int)(n_w - r0 < RN ? n_w - r0 : RN);
        float* yt = y + t0 * ldy + r0;
        if (nt == RT) tile_rows<L, RT>(nr, yt, ldy, x + t0, w + r0, K);
        else if (nt == 1) tile_rows<L, 1>(nr, yt, ldy, x + t0, w + r0, K);
        else if (nt == 2) tile_rows<L, 2>(nr, yt, ldy, x + t0, w + r0, K);
        else tile_rows<L, 3>(nr, yt, ldy, x + t0, w + r0, K);
      }
    }
  }

  static void gemm(float* y, int64_t ldy, const float* const* x, int64_t n_x, const uint8_t* const* w, int64_t n_w,
                   int64_t K, RowKind kind) {
    switch (kind) {
      case RowKind::F32: gemm_as<LoadF32>(y, ldy, x, n_x, w, n_w, K); return;
      case RowKind::F16: gemm_as<LoadF16>(y, ldy, x, n_x, w, n_w, K); return;
      case RowKind::BF16: gemm_as<LoadBF16>(y, ldy, x, n_x, w, n_w, K); return;
    }
  }

  // ---- prefill GEMM over a packed activation panel (outer-product form)
  // The activations of up to XP = 2W tokens are packed K-major, xt[k][XP]
  // (zero-padded), so for each k one pair of vector loads covers all tokens
  // and each f32 weight w[r][k] is broadcast: XR rows x 2 vectors = 2*XR
  // accumulators (12 for XR = 6: fits AVX2's 16 ymm with the 2 loads and a
  // broadcast). No horizontal sums; the tile is stored transposed at the end.
  static constexpr int XP = 2 * W;  // tokens per packed panel
  static constexpr int XR = W >= 16 ? 12 : 6;  // weight rows per tile (AVX-512: 24 of 32 zmm accumulate)

  static void pack_x(float* xt, const float* const* x, int64_t n_x, int64_t K) {
    for (int64_t k = 0; k < K; k++) {
      float* dst = xt + k * XP;
      for (int64_t t = 0; t < XP; t++) dst[t] = t < n_x ? x[t][k] : 0.0f;
    }
  }

  template <int R>
  static void xt_tile(float* y, int64_t ldy, const float* xt, int64_t n_x, const float* const* w, int64_t K,
                      bool acc_y) {
    F acc0[R], acc1[R];
    for (int r = 0; r < R; r++) acc0[r] = acc1[r] = V::zero();
    for (int64_t k = 0; k < K; k++) {
      const F x0 = V::load(xt + k * XP), x1 = V::load(xt + k * XP + W);
      for (int r = 0; r < R; r++) {
        const F wr = V::set1(w[r][k]);
        acc0[r] = V::fma(wr, x0, acc0[r]);
        acc1[r] = V::fma(wr, x1, acc1[r]);
      }
    }
    float out[XP];
    for (int r = 0; r < R; r++) {
      V::store(out, acc0[r]);
      V::store(out + W, acc1[r]);
      if (acc_y)
        for (int64_t t = 0; t < n_x; t++) y[t * ldy + r] += out[t];
      else
        for (int64_t t = 0; t < n_x; t++) y[t * ldy + r] = out[t];
    }
  }

  static void gemm_xt(float* y, int64_t ldy, const float* xt, int64_t n_x, const float* const* w, int64_t n_w,
                      int64_t K, bool acc_y) {
    int64_t r = 0;
    for (; r + XR <= n_w; r += XR) xt_tile<XR>(y + r, ldy, xt, n_x, w + r, K, acc_y);
    if (r < n_w) xt_tail<XR - 1>((int)(n_w - r), y + r, ldy, xt, n_x, w + r, K, acc_y);
  }

  template <int R>
  static void xt_tail(int n, float* y, int64_t ldy, const float* xt, int64_t n_x, const float* const* w, int64_t K,
                      bool acc_y) {
    if (n == R) xt_tile<R>(y, ldy, xt, n_x, w, K, acc_y);
    else if constexpr (R > 1) xt_tail<R - 1>(n, y, ldy, xt, n_x, w, K, acc_y);
  }

  // ---- int8 (Q8_0 weights x Q8 activations)

  template <int T, int R>
  static void q8_tile(float* y, int64_t ldy, const int8_t* const* xq, const float* const* xd,
                      const uint8_t* const* w, int64_t nb) {
    Q acc[T][R];
    for (int t = 0; t < T; t++)
      for (int r = 0; r < R; r++) acc[t][r] = V::q8_zero();
    for (int64_t b = 0; b < nb; b++) {
      for (int r = 0; r < R; r++) {
        const uint8_t* blk = w[r] + b * 34;  // fp16 d, 32 x int8
        __builtin_prefetch(blk + kPrefetchBytes);
        uint16_t dh;
        std::memcpy(&dh, blk, 2);
        const float dw = V::f16(dh);
        const int8_t* qw = reinterpret_cast<const int8_t*>(blk + 2);
        for (int t = 0; t < T; t++) acc[t][r] = V::q8_fma(acc[t][r], qw, xq[t] + b * kQ8Block, dw * xd[t][b]);
      }
    }
    for (int t = 0; t < T; t++)
      for (int r = 0; r < R; r++) y[t * ldy + r] = V::q8_hsum(acc[t][r]);
  }

  static void q8_gemv8(float* y, const int8_t* xq, const float* xd, const uint8_t* const* w, int64_t nb) {
    Q acc[8];
    for (int r = 0; r < 8; r++) acc[r] = V::q8_zero();
    int64_t b = 0;
    for (; b + 2 <= nb; b += 2)
      for (int r = 0; r < 8; r++) {
        const uint8_t* blk = w[r] + b * 34;  // two blocks: fp16 d, 32 x int8 each
        __builtin_prefetch(blk + kPrefetchBytes);
        uint16_t d0, d1;
        std::memcpy(&d0, blk, 2);
        std::memcpy(&d1, blk + 34, 2);
        acc[r] = V::q8_fma2(acc[r], reinterpret_cast<const int8_t*>(blk + 2), reinterpret_cast<const int8_t*>(blk + 36),
                            xq + b * kQ8Block, xq + (b + 1) * kQ8Block, V::f16(d0) * xd[b], V::f16(d1) * xd[b + 1]);
      }
    for (; b < nb; b++)
      for (int r = 0; r < 8; r++) {
        const uint8_t* blk = w[r] + b * 34;
        uint16_t d0;
        std::memcpy(&d0, blk, 2);
        acc[r] = V::q8_fma(acc[r], reinterpret_cast<const int8_t*>(blk + 2), xq + b * kQ8Block, V::f16(d0) * xd[b]);
      }
    for (int r = 0; r < 8; r++) y[r] = V::q8_hsum(acc[r]);
  }

  template <int T>
  static void q8_tile_rows(int nr, float* y, int64_t ldy, const int8_t* const* xq, const float* const* xd,
                           const uint8_t* const* w, int64_t nb) {
    if (nr == RN) q8_tile<T, RN>(y, ldy, xq, xd, w, nb);
    else if (nr == 1) q8_tile<T, 1>(y, ldy, xq, xd, w, nb);
    else if (nr == 2) q8_tile<T, 2>(y, ldy, xq, xd, w, nb);
    else q8_tile<T, 3>(y, ldy, xq, xd, w, nb);
  }

  static void gemm_q8_0(float* y, int64_t ldy, const int8_t* const* xq, const float* const* xd, int64_t n_x,
                        const uint8_t* const* w, int64_t n_w, int64_t K) {
    const int64_t nb = K / kQ8Block;
    if (n_x == 1) {  // decode: 8 weight streams in flight per tile, two blocks per step
      int64_t r0 = 0;
      for (; r0 + 8 <= n_w; r0 += 8) q8_gemv8(y + r0, xq[0], xd[0], w + r0, nb);
      for (; r0 < n_w; r0 += RN) q8_tile_rows<1>((int)(n_w - r0 < RN ? n_w - r0 : RN), y + r0, ldy, xq, xd, w + r0, nb);
      return;
    }
    for (int64_t t0 = 0; t0 < n_x; t0 += QT) {
      const int nt = (int)(n_x - t0 < QT ? n_x - t0 : QT);
      for (int64_t r0 = 0; r0 < n_w; r0 += RN) {
        const int nr = (int)(n_w - r0 < RN ? n_w - r0 : RN);
        float* yt = y + t0 * ldy + r0;
        if (nt == QT) q8_tile_rows<QT>(nr, yt, ldy, xq + t0, xd + t0, w + r0, nb);
        else if (nt == 1) q8_tile_rows<1>(nr, yt, ldy, xq + t0, xd + t0, w + r0, nb);
        else if (nt == 2) q8_tile_rows<2>(nr, yt, ldy, xq + t0, xd + t0, w + r0, nb);
        else q8_tile_rows<3>(nr, yt, ldy, xq + t0, xd + t0, w + r0, nb);
      }
    }
  }

  // ---- GGUF block rows -> f32 through the block codec (block_codec.h),
  // compiled here so the compiler vectorises it with this ISA's flags.
  template <void (*Decode)(const uint8_t*, float*), int kElems, int kBytes>
  static void decode_rows(const uint8_t* src, float* out, int64_t K) {
    for (int64_t b = 0; b < K / kElems; b++) Decode(src + b * kBytes, out + b * kElems);
  }

  static void dequant(int type, const uint8_t* src, float* out, int64_t K) {
    switch (type) {
      case 8: decode_rows<codec::decode_q8_0<V::f16>, 32, 34>(src, out, K); return;
      case 2: decode_rows<codec::decode_q4_0<V::f16>, 32, 18>(src, out, K); return;
      case 12: decode_rows<codec::decode_k45<V::f16, 4>, 256, 144>(src, out, K); return;
      case 13: decode_rows<codec::decode_k45<V::f16, 5>, 256, 176>(src, out, K); return;
      case 14: decode_rows<codec::decode_q6_k<V::f16>, 256, 210>(src, out, K); return;
      default: return;
    }
  }

  // ---- Mamba-2 state row

  template <int CV>
  static void ssm_chunk(float* S, const float* B, const float* C, int64_t st, const float* da, const float* dx,
                        float* y, int64_t nt) {
    F s[CV];
    for (int v = 0; v < CV; v++) s[v] = V::load(S + v * W);
    for (int64_t t = 0; t < nt; t++) {
      const F a = V::set1(da[t]), b = V::set1(dx[t]);
      const float* Bt = B + t * st;
      const float* Ct = C + t * st;
      F acc0 = V::zero(), acc1 = V::zero();
      for (int v = 0; v < CV; v++) {
        s[v] = V::fma(s[v], a, V::mul(b, V::load(Bt + v * W)));
        if (v & 1) acc1 = V::fma(s[v], V::load(Ct + v * W), acc1);
        else acc0 = V::fma(s[v], V::load(Ct + v * W), acc0);
      }
      y[t] += V::hsum(V::add(acc0, acc1));
    }
    for (int v = 0; v < CV; v++) V::store(S + v * W, s[v]);
  }

  static void ssm_row_scan(float* S, int64_t N, const float* B, const float* C, int64_t st, const float* da,
                           const float* dx, float* y, int64_t nt) {
    for (int64_t t = 0; t < nt; t++) y[t] = 0.0f;
    int64_t n = 0;
    for (; n + 8 * W <= N; n += 8 * W) ssm_chunk<8>(S + n, B + n, C + n, st, da, dx, y, nt);
    for (; n + W <= N; n += W) ssm_chunk<1>(S + n, B + n, C + n, st, da, dx, y, nt);
    if (n < N)
      for (int64_t t = 0; t < nt; t++) {
        float acc = 0.0f;
        for (int64_t i = n; i < N; i++) {
          S[i] = S[i] * da[t] + dx[t] * B[t * st + i];
          acc += S[i] * C[t * st + i];
        }
        y[t] += acc;
      }
  }

  static SimdOps table() {
    return SimdOps{V::name, dot_f32,   axpy_f32,    exp_sub_sum, pv_accumulate, AK::attn_rows, AK::attn_rows_q8, f16_to_f32,  bf16_to_f32,
                   dequant, gemm,      XP,          pack_x,      gemm_xt,       KQ::quantize_act, gemm_q8_0,
                   KQ::gemm_kq, IGK::min_tokens, IGK::packed_bytes, IGK::pack, IGK::pack_reference, IGK::igemm, ssm_row_scan, max_f32, first_gt,
                   silu_mul};
  }
};

}  // namespace hl::cpu
