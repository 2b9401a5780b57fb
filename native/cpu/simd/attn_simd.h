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

  // The online-softmax update of RB rows by a chunk's scores s (turned into
  // the unnormalised probabilities P·V then reads).
  template <int RB>
  static void softmax_update(float* m, float* l, float* const* o, float* s, int64_t n, int64_t Dh) {
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
  }

  // One group of RB rows through a chunk: scores, softmax update, P·V.
  template <class L, int RB>
  static void chunk(float* m, float* l, float* const* o, const float* const* q, const uint8_t* k, const uint8_t* v,
                    int64_t ld, int64_t n, int64_t Dh, float scale, float* s, const uint8_t* k_pf,
                    const uint8_t* v_pf, int64_t ld_pf, int64_t n_pf) {
    scores<L, RB>(s, q, k, v, ld, n, Dh, scale, k_pf, v_pf, ld_pf, n_pf);
    softmax_update<RB>(m, l, o, s, n, Dh);
    pv<L, RB>(o, s, v, ld, n, Dh);
  }

  // ---- Q8_0 K/V: per key Dh int8 codes (ld bytes apart) and one f32 scale per
  // kQ8Block codes (lds floats apart). Codes are widened in registers; a
  // block's scale multiplies its partial dot (scores) or folds into p (P·V).
  static constexpr int64_t kQ8Block = 32;

  template <int RB>
  static void scores_q8(float* s, const float* const* q, const Q8Run& kv, int64_t n, int64_t Dh, float scale) {
    for (int64_t j = 0; j < n; j++) {
      const int8_t* kj = kv.k + j * kv.ld;
      const float* dj = kv.ks + j * kv.lds;
      if (j + kAhead < n) prefetch_row(reinterpret_cast<const uint8_t*>(kj + kAhead * kv.ld), Dh);
      prefetch_row(reinterpret_cast<const uint8_t*>(kv.v + j * kv.ld), Dh);
      F tot[RB];
      float tail[RB] = {};
      for (int r = 0; r < RB; r++) tot[r] = V::zero();
      for (int64_t b0 = 0; b0 < Dh; b0 += kQ8Block) {
        const int64_t b1 = b0 + kQ8Block < Dh ? b0 + kQ8Block : Dh;
        const float d = dj[b0 / kQ8Block];
        F acc[RB];
        for (int r = 0; r < RB; r++) acc[r] = V::zero();
        int64_t e = b0;
        for (; e + W <= b1; e += W) {
          const F kc = V::load_i8(kj + e);
          for (int r = 0; r < RB; r++) acc[r] = V::fma(V::load(q[r] + e), kc, acc[r]);
        }
        for (; e < b1; e++)
          for (int r = 0; r < RB; r++) tail[r] += d * (q[r][e] * (float)kj[e]);
        const F dv = V::set1(d);
        for (int r = 0; r < RB; r++) tot[r] = V::fma(dv, acc[r], tot[r]);
      }
      for (int r = 0; r < RB; r++) s[r * kAttnChunk + j] = scale * (V::hsum(tot[r]) + tail[r]);
    }
  }

  // o[r][e0 .. e0 + NB*W) += sum_j p[r][j] * d_j * codes_j[...]; W divides
  // kQ8Block, so each vector lies in one block.
  template <int RB, int NB>
  static void pv_block_q8(float* const* o, const float* p, const Q8Run& kv, int64_t n, int64_t e0) {
    F acc[RB][NB];
    for (int r = 0; r < RB; r++)
      for (int b = 0; b < NB; b++) acc[r][b] = V::load(o[r] + e0 + b * W);
    for (int64_t j = 0; j < n; j++) {
      const int8_t* vj = kv.v + j * kv.ld;
      const float* dj = kv.vs + j * kv.lds;
      F pj[RB];
      for (int r = 0; r < RB; r++) pj[r] = V::set1(p[r * kAttnChunk + j]);
      for (int b = 0; b < NB; b++) {
        const int64_t e = e0 + b * W;
        const F vv = V::mul(V::set1(dj[e / kQ8Block]), V::load_i8(vj + e));
        for (int r = 0; r < RB; r++) acc[r][b] = V::fma(pj[r], vv, acc[r][b]);
      }
    }
    for (int r = 0; r < RB; r++)
      for (int b = 0; b < NB; b++) V::store(o[r] + e0 + b * W, acc[r][b]);
  }

  template <int RB>
  static void pv_q8(float* const* o, const float* p, const Q8Run& kv, int64_t n, int64_t Dh) {
    static_assert(kQ8Block % W == 0, "a vector must lie in one Q8_0 block");
    int64_t e0 = 0;
    for (; e0 + kPvBlocks * W <= Dh; e0 += kPvBlocks * W) pv_block_q8<RB, kPvBlocks>(o, p, kv, n, e0);
    for (; e0 + W <= Dh; e0 += W) pv_block_q8<RB, 1>(o, p, kv, n, e0);
    for (; e0 < Dh; e0++)
      for (int64_t j = 0; j < n; j++) {
        const float ve = kv.vs[j * kv.lds + e0 / kQ8Block] * (float)kv.v[j * kv.ld + e0];
        for (int r = 0; r < RB; r++) o[r][e0] += p[r * kAttnChunk + j] * ve;
      }
  }

  template <int RB>
  static void chunk_q8(float* m, float* l, float* const* o, const float* const* q, const Q8Run& kv, int64_t n,
                       int64_t Dh, float scale, float* s) {
    scores_q8<RB>(s, q, kv, n, Dh, scale);
    softmax_update<RB>(m, l, o, s, n, Dh);
    pv_q8<RB>(o, s, kv, n, Dh);
  }

  static void attn_rows_q8(float* m, float* l, float* o, const float* const* q, int64_t R, const Q8Run& run,
                           int64_t n, int64_t Dh, float scale, const Q8Run& pf, int64_t n_pf) {
    alignas(64) float s[kRowGroup * kAttnChunk];
    for (int64_t j0 = 0; j0 < n; j0 += kAttnChunk) {
      const int64_t nc = n - j0 < kAttnChunk ? n - j0 : kAttnChunk;
      const Q8Run kv{run.k + j0 * run.ld, run.ks + j0 * run.lds, run.v + j0 * run.ld, run.vs + j0 * run.lds,
                     run.ld, run.lds};
      for (int64_t t = j0; t < j0 + nc && t < n_pf; t++) {  // the next run, a row per key as this one is read
        prefetch_row(reinterpret_cast<const uint8_t*>(pf.k + t * pf.ld), Dh);
        prefetch_row(reinterpret_cast<const uint8_t*>(pf.v + t * pf.ld), Dh);
      }
      for (int64_t r0 = 0; r0 < R; r0 += kRowGroup) {
        const int rb = (int)(R - r0 < kRowGroup ? R - r0 : kRowGroup);
        float* orow[kRowGroup];
        for (int r = 0; r < rb; r++) orow[r] = o + (r0 + r) * Dh;
        switch (rb) {
          case 4: chunk_q8<4>(m + r0, l + r0, orow, q + r0, kv, nc, Dh, scale, s); break;
          case 3: chunk_q8<3>(m + r0, l + r0, orow, q + r0, kv, nc, Dh, scale, s); break;
          case 2: chunk_q8<2>(m + r0, l + r0, orow, q + r0, kv, nc, Dh, scale, s); break;
          default: chunk_q8<1>(m + r0, l + r0, orow, q + r0, kv, nc, Dh, scale, s); break;
        }
      }
    }
    if (n_pf > 0) {  // the next run's scales: a few lines
      prefetch_row(reinterpret_cast<const uint8_t*>(pf.ks), n_pf * pf.lds * 4);
      prefetch_row(reinterpret_cast<const uint8_t*>(pf.vs), n_pf * pf.lds * 4);
    }
    for (int64_t t = n; t < n_pf; t++) {
      prefetch_row(reinterpret_cast<const uint8_t*>(pf.k + t * pf.ld), Dh);
      prefetch_row(reinterpret_cast<const uint8_t*>(pf.v + t * pf.ld), Dh);
    }
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
