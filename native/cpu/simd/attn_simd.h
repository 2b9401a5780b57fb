// native/cpu/simd/attn_simd.h: fused online-softmax attention of a few query
// rows over a run of contiguous keys (docs/KERNELS.md, Attention: decode path).
// Written once against Vec (vec.h), instantiated per ISA through kernels_simd.h.
//
// Decode reads every K and V row of the context once per token, so this loop
// is a memory stream: K/V rows are widened from f16 in registers (never stored
// as f32), each K row is loaded once for all R rows' scores, each V row once
// for all R rows' P·V, with a block of o for every row held in registers
// across a chunk of keys. Per chunk of kAttnChunk keys:
//   s[r][j] = scale * q_r · k_j; m' = max(m, max_j s); l = l e^(m - m') + sum_j e^(s - m');
//   o = o e^(m - m') + sum_j e^(s[r][j] - m') v_j
// (a row with no key seen yet uses base 0, so exp(-inf - -inf) never happens).
#pragma once
#include <cmath>
#include <cstdint>

#include "ops.h"

namespace hl::cpu {

constexpr int64_t kAttnChunk = 64;  // keys per softmax step

template <class V, class Kernels>
struct AttnKernels {
  using F = typename V::F;
  static constexpr int W = V::W;
  static constexpr int kRowGroup = 4;             // rows sharing one K / V load
  static constexpr int kPvBlocks = W >= 16 ? 4 : 2;  // o vectors per row held across the keys (AVX2: 8 acc)
  static constexpr int64_t kAhead = 16;           // rows ahead for software prefetch of K

  static void prefetch_row(const uint8_t* row, int64_t bytes) {
    for (int64_t b = 0; b < bytes; b += 64) __builtin_prefetch(row + b);
  }

  // s[r * kAttnChunk + j] = scale * q[r] · k_j, RB rows, keys j < n; at key j < n_pf
  // the lines of rows j of k_pf / v_pf are requested.
  template <class L, int RB>
  static void scores(float* s, const float* const* q, const uint8_t* k, const uint8_t* v, int64_t ld, int64_t n,
                     int64_t Dh, float scale, const uint8_t* k_pf, const uint8_t* v_pf, int64_t ld_pf, int64_t n_pf) {
    const int64_t row_bytes = Dh * L::kBytes;
    for (int64_t j = 0; j < n; j++) {
      const uint8_t* kj = k + j * ld;
      if (j < n_pf) {
        prefetch_row(k_pf + j * ld_pf, ld_pf < row_bytes ? ld_pf : row_bytes);
        prefetch_row(v_pf + j * ld_pf, ld_pf < row_bytes ? ld_pf : row_bytes);
      }
      if (j + kAhead < n) prefetch_row(kj + kAhead * ld, row_bytes);  // past the run is another head
      prefetch_row(v + j * ld, row_bytes);  // P·V of this chunk reads it next
      F acc[RB];
      for (int r = 0; r < RB; r++) acc[r] = V::zero();
      int64_t e = 0;
      for (; e + W <= Dh; e += W) {
        const F kv = L::load(kj, e);
        for (int r = 0; r < RB; r++) acc[r] = V::fma(V::load(q[r] + e), kv, acc[r]);
      }
      float tail[RB] = {};
      for (; e < Dh; e++) {
        const float ke = L::at(kj, e);
        for (int r = 0; r < RB; r++) tail[r] += q[r][e] * ke;
      }
      for (int r = 0; r < RB; r++) s[r * kAttnChunk + j] = scale * (V::hsum(acc[r]) + tail[r]);
    }
  }

  // o[r][e0 .. e0 + NB*W) += sum_j p[r][j] * v_j[...], RB rows, keys j < n.
  template <class L, int RB, int NB>
  static void pv_block(float* const* o, const float* p, const uint8_t* v, int64_t ld, int64_t n, int64_t e0) {
    F acc[RB][NB];
    for (int r = 0; r < RB; r++)
      for (int b = 0; b < NB; b++) acc[r][b] = V::load(o[r] + e0 + b * W);
    for (int64_t j = 0; j < n; j++) {
      const uint8_t* vj = v + j * ld;
      F pj[RB];
      for (int r = 0; r < RB; r++) pj[r] = V::set1(p[r * kAttnChunk + j]);
      for (int b = 0; b < NB; b++) {
        const F vv = L::load(vj, e0 + b * W);
        for (int r = 0; r < RB; r++) acc[r][b] = V::fma(pj[r], vv, acc[r][b]);
      }
    }
    for (int r = 0; r < RB; r++)
      for (int b = 0; b < NB; b++) V::store(o[r] + e0 + b * W, acc[r][b]);
  }

  template <class L, int RB>
  static void pv(float* const* o, const float* p, const uint8_t* v, int64_t ld, int64_t n, int64_t Dh) {
    int64_t e0 = 0;
    for (; e0 + kPvBlocks * W <= Dh; e0 += kPvBlocks * W) pv_block<L, RB, kPvBlocks>(o, p, v, ld, n, e0);
    for (; e0 + W <= Dh; e0 += W) pv_block<L, RB, 1>(o, p, v, ld, n, e0);
    for (; e0 < Dh; e0++)
      for (int64_t j = 0; j < n; j++) {
        const float ve = L::at(v + j * ld, e0);
        for (int r = 0; r < RB; r++) o[r][e0] += p[r * kAttnChunk + j] * ve;
      }
  }

  // One group of RB rows through a chunk: scores, softmax update, P·V.
  template <class L, int RB>
  static void chunk(float* m, float* l, float* const* o, const float* const* q, const uint8_t* k, const uint8_t* v,
                    int64_t ld, int64_t n, int64_t Dh, float scale, float* s, const uint8_t* k_pf,
                    const uint8_t* v_pf, int64_t ld_pf, int64_t n_pf) {
    scores<L, RB>(s, q, k, v, ld, n, Dh, scale, k_pf, v_pf, ld_pf, n_pf);
    for (int r = 0; r < RB; r++) {
      float* sr = s + r * kAttnChunk;
      const float m_new = std::fmax(m[r], Kernels::max_f32(sr, n));
      const float base = m_new == -INFINITY ? 0.0f : m_new;
      if (m_new > m[r] && m[r] != -INFINITY) {
        const float corr = std::exp(m[r] - m_new);
        l[r] *= corr;
        const F c = V::set1(corr);
        int64_t e = 0;
        for (; e + W <= Dh; e += W) V::store(o[r] + e, V::mul(c, V::load(o[r] + e)));
        for (; e < Dh; e++) o[r][e] *= corr;
      }
      l[r] += Kernels::exp_sub_sum(sr, sr, n, base);
      m[r] = m_new;
    }
    pv<L, RB>(o, s, v, ld, n, Dh);
  }

  template <class L>
  static void rows_as(float* m, float* l, float* o, const float* const* q, int64_t R, const uint8_t* k,
                      const uint8_t* v, int64_t ld, int64_t n, int64_t Dh, float scale, const AttnPrefetch& pf) {
    alignas(64) float s[kRowGroup * kAttnChunk];
    for (int64_t j0 = 0; j0 < n; j0 += kAttnChunk) {  // keys outer: a chunk's K / V stay in L1 for every group
      const int64_t nc = n - j0 < kAttnChunk ? n - j0 : kAttnChunk;
      const uint8_t* kc = k + j0 * ld;
      const uint8_t* vc = v + j0 * ld;
      for (int64_t r0 = 0; r0 < R; r0 += kRowGroup) {
        const int rb = (int)(R - r0 < kRowGroup ? R - r0 : kRowGroup);
        float* orow[kRowGroup];
        for (int r = 0; r < rb; r++) orow[r] = o + (r0 + r) * Dh;
        const uint8_t* kp = pf.k + j0 * pf.ld;
        const uint8_t* vp = pf.v + j0 * pf.ld;
        const int64_t np = r0 > 0 ? 0 : pf.n - j0 < 0 ? 0 : pf.n - j0 < nc ? pf.n - j0 : nc;
        switch (rb) {
          case 4: chunk<L, 4>(m + r0, l + r0, orow, q + r0, kc, vc, ld, nc, Dh, scale, s, kp, vp, pf.ld, np); break;
          case 3: chunk<L, 3>(m + r0, l + r0, orow, q + r0, kc, vc, ld, nc, Dh, scale, s, kp, vp, pf.ld, np); break;
          case 2: chunk<L, 2>(m + r0, l + r0, orow, q + r0, kc, vc, ld, nc, Dh, scale, s, kp, vp, pf.ld, np); break;
          default: chunk<L, 1>(m + r0, l + r0, orow, q + r0, kc, vc, ld, nc, Dh, scale, s, kp, vp, pf.ld, np); break;
        }
      }
    }
    for (int64_t t = n; t < pf.n; t++) {  // a prefetch run longer than this one
      prefetch_row(pf.k + t * pf.ld, pf.ld < Dh * L::kBytes ? pf.ld : Dh * L::kBytes);
      prefetch_row(pf.v + t * pf.ld, pf.ld < Dh * L::kBytes ? pf.ld : Dh * L::kBytes);
    }
  }

  static void attn_rows(float* m, float* l, float* o, const float* const* q, int64_t R, const uint8_t* k,
                        const uint8_t* v, int64_t ld, int64_t n, int64_t Dh, float scale, RowKind kind,
                        const AttnPrefetch& pf) {
    if (kind == RowKind::F16) rows_as<typename Kernels::LoadF16>(m, l, o, q, R, k, v, ld, n, Dh, scale, pf);
    else rows_as<typename Kernels::LoadF32>(m, l, o, q, R, k, v, ld, n, Dh, scale, pf);
  }
};

}  // namespace hl::cpu
