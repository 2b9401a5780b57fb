// native/cpu/simd/igemm_simd.h: the register-blocked int8 GEMM for the block
// formats (Q8_0, Q4_0, Q4_K, Q5_K, Q6_K) above the GEMV token range
// (docs/KERNELS.md, Matmul), written once against Vec's ig_* ops (vec.h) and
// instantiated per ISA.
//
// Every format is one form per sub-block b of G values (G = 16 for Q6_K, 32
// otherwise): an unsigned byte code c, an f32 scale s and either an integer
// zero point z or an f32 offset o:
//   Q8_0  c = q + 128, s = d, z = 128      (Vecs whose dot cannot take codes
//         above 127 keep c = q signed, z = 0, and dot with ig_dot_signed)
//   Q4_0  c = q, s = d, z = 8
//   Q6_K  c = q (0..63), s = d sc_j, z = 32
//   Q4_K  c = q, s = d sc_j, o = -dmin m_j;  Q5_K likewise
// (s, o exact f32 products: an f16 times a small integer). With the
// activations quantized per block (QAct: dx, int8 q, dx * S per 32) and
// D = sum over the sub-block of c * q (exact int32):
//   zero point  y[r, t] = sum_b (D - z S)[r, t, b] * (s[r, b] dx[t, b])   (D - z S exact)
//   offset      y[r, t] = sum_b D * (s dx) + o[r, b] (dx S)[t, b]
// so each sub-block meets f32 once per (row, token): the same contract as the
// GEMV (the f64 matmul of the decoded weights with the rounded activations,
// up to f32 rounding of the per-sub-block terms); on the scalar Vec the Q8_0
// form is the GEMV's arithmetic, operation for operation.
//
// Layout (pack): the weight rows are repacked, per call, one L2-sized block
// of rows at a time into groups of W rows (W = the f32 lane count); per group
// and sub-block: codes [G / 4][W rows][4 bytes] (one int32 lane per row), then
// s[W], o[W] as f32 (o unused by the zero-point forms). Rows past n_w are zero.
// Full groups of equally spaced rows are transposed straight from the block
// bytes (pack_group_direct); the rest row by row (pack_group_rows, the
// reference both must equal byte for byte).
// Micro-kernel (tile): IR groups (IR * W rows) x IT tokens of int32
// accumulators, reset per sub-block; per 4 codes one load per group and one
// 4-byte broadcast of each token's activations, IR * IT dot instructions
// (VNNI vpdpbusd, AVX2 maddubs + madd, NEON sdot); then per (group, token)
// subtract z S, convert, fma with s dx (and fma of o with dx S) into f32
// accumulators.
#pragma once
#include <cstdint>
#include <cstring>
#include <vector>

#include "../block_codec.h"
#include "ops.h"

namespace hl::cpu {

template <class V>
struct IGemmKernels {
  using F = typename V::F;
  using IG = typename V::IG;
  static constexpr int W = V::W;
  static constexpr int IR = V::kIgGroups;  // row groups per tile
  static constexpr int IT = V::kIgTokens;  // tokens per tile

  struct Layout {
    int G;             // values per sub-block
    int64_t nsb;       // sub-blocks per row
    int64_t sb_bytes;  // one group's sub-block: G * W code bytes + 2 W floats
    int64_t group_bytes;
  };
  static Layout layout(int type, int64_t K) {
    const int G = type == 14 ? 16 : 32;
    const int64_t sb = (int64_t)G * W + 8 * W;
    return Layout{G, K / G, sb, (K / G) * sb};
  }
  static int64_t packed_bytes(int type, int64_t n_w, int64_t K) {
    return (n_w + W - 1) / W * layout(type, K).group_bytes;
  }
  static int64_t min_tokens(int type) { return V::kIgMinTokens[type == 8 ? 0 : type == 2 ? 1 : 2]; }
  static constexpr bool signed_q8(int type) { return type == 8 && !V::kIgU8Codes; }

  static float h2f(const uint8_t* p) { return V::f16(codec::rd16(p)); }

  // Q4_K / Q5_K: 64-element group i holds sub-blocks 2i (low nibbles) and
  // 2i + 1 (high nibbles); Q5_K's fifth bits are bit 2i / 2i + 1 of qh[l].
  template <bool kQ5>
  static void unpack_k45(const uint8_t* __restrict w, int64_t K, uint8_t* __restrict c, float* __restrict s,
                         float* __restrict o) {
    for (int64_t sb = 0; sb < K / 256; sb++) {
      const uint8_t* blk = w + (kQ5 ? 176 : 144) * sb;
      const float d = h2f(blk), dmin = h2f(blk + 2);
      uint8_t sc[8], m[8];
      codec::k4_scale_min(blk + 4, sc, m);
      for (int j = 0; j < 8; j++) s[8 * sb + j] = d * (float)sc[j], o[8 * sb + j] = -(dmin * (float)m[j]);
      const uint8_t* qh = blk + 16;
      const uint8_t* q = blk + (kQ5 ? 48 : 16);
      uint8_t* cs = c + 256 * sb;
      for (int i = 0; i < 4; i++) {
        for (int l = 0; l < 32; l++) cs[64 * i + l] = q[32 * i + l] & 15, cs[64 * i + 32 + l] = q[32 * i + l] >> 4;
        if (kQ5)
          for (int l = 0; l < 32; l++)
            cs[64 * i + l] |= ((qh[l] >> (2 * i)) & 1) << 4, cs[64 * i + 32 + l] |= ((qh[l] >> (2 * i + 1)) & 1) << 4;
      }
    }
  }

  // One row -> codes c[K] and per sub-block s, o (w = s (c - z) + o).
  static void unpack_row(int type, const uint8_t* __restrict w, int64_t K, uint8_t* __restrict c, float* __restrict s,
                         float* __restrict o) {
    switch (type) {
      case 8:
        for (int64_t b = 0; b < K / 32; b++) {
          const uint8_t* blk = w + 34 * b;
          const float d = h2f(blk);
          const uint8_t flip = signed_q8(type) ? 0 : 0x80;
          s[b] = d;
          o[b] = 0.0f;  // zero point 128 (igemm)
          for (int i = 0; i < 32; i++) c[32 * b + i] = (uint8_t)(blk[2 + i] ^ flip);
        }
        return;
      case 2:
        for (int64_t b = 0; b < K / 32; b++) {
          const uint8_t* blk = w + 18 * b;
          const float d = h2f(blk);
          s[b] = d;
          o[b] = 0.0f;  // zero point 8 (igemm)
          uint8_t q[16], lo[16], hi[16];
          std::memcpy(q, blk + 2, 16);
          for (int j = 0; j < 16; j++) lo[j] = q[j] & 15, hi[j] = q[j] >> 4;
          std::memcpy(c + 32 * b, lo, 16);
          std::memcpy(c + 32 * b + 16, hi, 16);
        }
        return;
      case 12: return unpack_k45<false>(w, K, c, s, o);
      case 13: return unpack_k45<true>(w, K, c, s, o);
      case 14:
        for (int64_t sb = 0; sb < K / 256; sb++) {
          const uint8_t* blk = w + 210 * sb;
          const float d = h2f(blk + 208);
          const int8_t* sc = reinterpret_cast<const int8_t*>(blk + 192);
          for (int j = 0; j < 16; j++) s[16 * sb + j] = d * (float)sc[j], o[16 * sb + j] = 0.0f;  // zero point 32
          for (int h = 0; h < 2; h++) {
            const uint8_t* ql = blk + 64 * h;
            const uint8_t* qh = blk + 128 + 32 * h;
            uint8_t* cs = c + 256 * sb + 128 * h;
            for (int l = 0; l < 32; l++) {
              cs[l] = (uint8_t)((ql[l] & 15) | ((qh[l] & 3) << 4));
              cs[l + 32] = (uint8_t)((ql[l + 32] & 15) | (((qh[l] >> 2) & 3) << 4));
              cs[l + 64] = (uint8_t)((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4));
              cs[l + 96] = (uint8_t)((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4));
            }
          }
        }
        return;
      default: return;
    }
  }

  // W rows of G codes (row r at p + r * stride) -> out[G / 4][W][4 bytes].
  template <int G>
  static void transpose_rows(uint8_t* out, const uint8_t* p, int64_t stride) {
    for (int kk = 0; kk < G / 4; kk++)
      for (int r = 0; r < W; r++) std::memcpy(out + ((int64_t)kk * W + r) * 4, p + r * stride + 4 * kk, 4);
  }

  // The reference repack of one group (any row addresses, n_rows <= W valid
  // rows): its rows unpacked row-major into thread scratch (codes [W][K],
  // s / o [W][nsb]), then every 4-code column gathered across the rows.
  static void pack_group_rows(uint8_t* dst, int type, const uint8_t* const* w, int64_t n_rows, int64_t K,
                              const Layout& L) {
    thread_local std::vector<uint8_t> c;
    thread_local std::vector<float> s, o;
    c.resize((size_t)(W * K));
    s.resize((size_t)(W * L.nsb));
    o.resize((size_t)(W * L.nsb));
    for (int r = 0; r < W; r++) {
      if (r < n_rows) {
        unpack_row(type, w[r], K, c.data() + r * K, s.data() + r * L.nsb, o.data() + r * L.nsb);
      } else {
        std::memset(c.data() + r * K, 0, (size_t)K);
        std::memset(s.data() + r * L.nsb, 0, (size_t)L.nsb * 4);
        std::memset(o.data() + r * L.nsb, 0, (size_t)L.nsb * 4);
      }
    }
    for (int64_t b = 0; b < L.nsb; b++) {
      uint8_t* sb = dst + b * L.sb_bytes;
      if (L.G == 32) transpose_rows<32>(sb, c.data() + b * L.G, K);
      else transpose_rows<16>(sb, c.data() + b * L.G, K);
      float* so = reinterpret_cast<float*>(sb + (int64_t)L.G * W);
      for (int r = 0; r < W; r++) so[r] = s[r * L.nsb + b], so[W + r] = o[r * L.nsb + b];
    }
  }

  // ---- The direct repack (Vecs with kIgDirectPack): W full rows equally
  // spaced (row r at w0 + r * stride), transposed straight from the block
  // bytes with V::ig_transpose (register k = 4-code column k across the W
  // rows), the code transform (Q8_0's sign flip, nibble and bit-plane splits)
  // applied to the transposed registers, scales gathered per row. Writes the
  // bytes pack_group_rows writes.
  static void put_codes(uint8_t* sb, int kk, IG v) { V::ig_store(sb + (int64_t)kk * W * 4, v); }
  // s[W] (and o[W]) of one sub-block from per-row values
  static void put_scales(uint8_t* sb, int G, const float* s, const float* o) {
    float* so = reinterpret_cast<float*>(sb + (int64_t)G * W);
    V::store(so, V::load(s));
    V::store(so + W, o ? V::load(o) : V::zero());
  }
  // s[W] of one 32-code sub-block from the f16 at byte `at` of each row (Q8_0, Q4_0)
  static void put_f16_scales(uint8_t* sb, const uint8_t* w0, int64_t stride, int64_t at) {
    uint16_t h[W];
    for (int r = 0; r < W; r++) h[r] = codec::rd16(w0 + r * stride + at);
    float* so = reinterpret_cast<float*>(sb + (int64_t)32 * W);
    V::store(so, V::load_f16(h));
    V::store(so + W, V::zero());
  }

  // Bytes [at, at + n) of the next group's rows, fetched ahead of use: the
  // repack is where a batch's matmul streams its weights from memory, W rows
  // at once (measured: BENCHMARKS.md). A prefetch never faults, so past the
  // last row it is merely wasted.
  static void prefetch_next_group(const uint8_t* w0, int64_t stride, int64_t at, int64_t n) {
    for (int r = 0; r < W; r++)
      for (int64_t a = 0; a < n; a += 64) __builtin_prefetch(w0 + (W + r) * stride + at + a);
  }

  static void pack_group_direct(uint8_t* dst, int type, const uint8_t* w0, int64_t stride, int64_t K,
                                const Layout& L) {
    IG v[8], a[8], b[8], hb[8];
    switch (type) {
      case 8:
        for (int64_t blk = 0; blk < K / 32; blk++) {
          uint8_t* sb = dst + blk * L.sb_bytes;
          if (blk % 2 == 0) prefetch_next_group(w0, stride, 34 * blk, 68);
          V::template ig_transpose<32>(v, w0 + 34 * blk + 2, stride);
          for (int kk = 0; kk < 8; kk++) {
            if constexpr (V::kIgU8Codes) put_codes(sb, kk, V::ig_flip(v[kk]));
            else put_codes(sb, kk, v[kk]);
          }
          put_f16_scales(sb, w0, stride, 34 * blk);
        }
        return;
      case 2:  // 16 bytes per row: dword k's low nibbles are codes 4k.., its high nibbles codes 16 + 4k..
        for (int64_t blk = 0; blk < K / 32; blk++) {
          uint8_t* sb = dst + blk * L.sb_bytes;
          if (blk % 4 == 0) prefetch_next_group(w0, stride, 18 * blk, 72);
          V::template ig_transpose<16>(v, w0 + 18 * blk + 2, stride);
          for (int kk = 0; kk < 4; kk++) {
            put_codes(sb, kk, V::ig_bits(v[kk], 0, 15));
            put_codes(sb, 4 + kk, V::ig_bits(v[kk], 4, 15));
          }
          put_f16_scales(sb, w0, stride, 18 * blk);
        }
        return;
      case 12:
      case 13: {  // 64-element group i: low nibbles sub-block 2i, high nibbles 2i + 1 (Q5_K: | fifth bit << 4)
        const bool q5 = type == 13;
        const int64_t bytes = q5 ? 176 : 144;
        for (int64_t sbk = 0; sbk < K / 256; sbk++) {
          const uint8_t* blk0 = w0 + bytes * sbk;
          prefetch_next_group(w0, stride, bytes * sbk, bytes);
          float s[8][W], o[8][W];
          for (int r = 0; r < W; r++) {
            const uint8_t* blk = blk0 + r * stride;
            const float d = h2f(blk), dmin = h2f(blk + 2);
            uint8_t sc[8], m[8];
            codec::k4_scale_min(blk + 4, sc, m);
            for (int j = 0; j < 8; j++) s[j][r] = d * (float)sc[j], o[j][r] = -(dmin * (float)m[j]);
          }
          if (q5) V::template ig_transpose<32>(hb, blk0 + 16, stride);
          uint8_t* dsb = dst + 8 * sbk * L.sb_bytes;
          for (int i = 0; i < 4; i++) {
            V::template ig_transpose<32>(v, blk0 + (q5 ? 48 : 16) + 32 * i, stride);
            uint8_t* lo = dsb + 2 * i * L.sb_bytes;
            uint8_t* hi = lo + L.sb_bytes;
            for (int kk = 0; kk < 8; kk++) {
              IG cl = V::ig_bits(v[kk], 0, 15), ch = V::ig_bits(v[kk], 4, 15);
              if (q5) {
                cl = V::ig_or(cl, V::ig_shl4(V::ig_bits(hb[kk], 2 * i, 1)));
                ch = V::ig_or(ch, V::ig_shl4(V::ig_bits(hb[kk], 2 * i + 1, 1)));
              }
              put_codes(lo, kk, cl);
              put_codes(hi, kk, ch);
            }
            put_scales(lo, 32, s[2 * i], o[2 * i]);
            put_scales(hi, 32, s[2 * i + 1], o[2 * i + 1]);
          }
        }
        return;
      }
      case 14:  // per half h: codes 32q + l = (ql nibble) | (2 qh bits << 4); 16-code sub-blocks
        for (int64_t sbk = 0; sbk < K / 256; sbk++) {
          const uint8_t* blk0 = w0 + 210 * sbk;
          prefetch_next_group(w0, stride, 210 * sbk, 210);
          float s[16][W];
          for (int r = 0; r < W; r++) {
            const uint8_t* blk = blk0 + r * stride;
            const float d = h2f(blk + 208);
            for (int j = 0; j < 16; j++) s[j][r] = d * (float)(int8_t)blk[192 + j];
          }
          for (int h = 0; h < 2; h++) {
            V::template ig_transpose<32>(a, blk0 + 64 * h, stride);        // ql[l]
            V::template ig_transpose<32>(b, blk0 + 64 * h + 32, stride);   // ql[l + 32]
            V::template ig_transpose<32>(hb, blk0 + 128 + 32 * h, stride);  // qh[l]
            for (int q = 0; q < 4; q++)
              for (int kk = 0; kk < 8; kk++) {
                const IG nib = V::ig_bits(q & 1 ? b[kk] : a[kk], q < 2 ? 0 : 4, 15);
                const IG c = V::ig_or(nib, V::ig_shl4(V::ig_bits(hb[kk], 2 * q, 3)));
                put_codes(dst + (16 * sbk + 8 * h + 2 * q + kk / 4) * L.sb_bytes, kk % 4, c);
              }
          }
          for (int j = 0; j < 16; j++) put_scales(dst + (16 * sbk + j) * L.sb_bytes, 16, s[j], nullptr);
        }
        return;
      default: return;
    }
  }

  // n_w rows -> packed_bytes(type, n_w, K) bytes (rows past n_w zero). Full
  // groups of equally spaced rows take the direct repack where the Vec has
  // one; the rest (and reference = true) the row-by-row reference.
  static void pack_impl(uint8_t* out, int type, const uint8_t* const* w, int64_t n_w, int64_t K, bool reference) {
    const Layout L = layout(type, K);
    const int64_t groups = (n_w + W - 1) / W;
    for (int64_t g = 0; g < groups; g++) {
      uint8_t* dst = out + g * L.group_bytes;
      const uint8_t* const* gw = w + g * W;
      const int64_t n_rows = n_w - g * W < W ? n_w - g * W : W;
      if constexpr (V::kIgDirectPack) {
        bool direct = !reference && n_rows == W;
        const int64_t stride = W > 1 ? gw[1] - gw[0] : 0;
        for (int r = 2; direct && r < W; r++) direct = gw[r] == gw[0] + r * stride;
        if (direct) {
          pack_group_direct(dst, type, gw[0], stride, K, L);
          continue;
        }
      }
      pack_group_rows(dst, type, gw, n_rows, K, L);
    }
  }
  static void pack(uint8_t* out, int type, const uint8_t* const* w, int64_t n_w, int64_t K) {
    pack_impl(out, type, w, n_w, K, false);
  }
  static void pack_reference(uint8_t* out, int type, const uint8_t* const* w, int64_t n_w, int64_t K) {
    pack_impl(out, type, w, n_w, K, true);
  }

  // How a format's offset is applied: kZero — w = s (c - z) with an integer
  // zero point z (Q4_0 8, Q6_K 32; kZeroWide: Q8_0's 128, codes up to 255),
  // subtracted exactly in int32 as z * (sum of q over the sub-block);
  // kOffset — w = s c + o with an f32 o (the K-quant mins), added as
  // o * (dx S); kSigned — signed Q8_0 codes (Vecs without kIgU8Codes), no
  // offset. Codes of kZero / kOffset are <= 63 (ig_dot2 may fuse two steps).
  enum Form { kZero, kZeroWide, kOffset, kSigned };

  struct Tile {
    const QAct* x;      // the tile's tokens
    const int32_t* zs;  // kZero: z * sum q per token and sub-block, [token][nsb]
    const uint8_t* p;   // first row group
    int64_t n_rows;     // valid rows from the first group on
  };

  // R groups x T tokens over every sub-block; spb = sub-blocks per activation
  // block (1, 8 or 16).
  template <int G, Form kForm, int R, int T>
  static void tile(float* y, int64_t ldy, const Tile& a, const Layout& L, int spb) {
    F acc[R][T];
    for (int r = 0; r < R; r++)
      for (int t = 0; t < T; t++) acc[r][t] = V::zero();
    const uint8_t* pg[R];
    for (int r = 0; r < R; r++) pg[r] = a.p + r * L.group_bytes;
    const QAct* x = a.x;
    for (int64_t b = 0; b < L.nsb; b++) {
      IG ia[R][T];
      for (int r = 0; r < R; r++)
        for (int t = 0; t < T; t++) ia[r][t] = V::ig_zero();
      const int64_t off = b * L.sb_bytes;
      for (int kk = 0; kk < G / 4; kk += 2) {  // two 4-code steps: ig_dot2 may fuse them
        IG c0[R], c1[R];
        for (int r = 0; r < R; r++) {
          c0[r] = V::ig_load(pg[r] + off + kk * W * 4);
          c1[r] = V::ig_load(pg[r] + off + (kk + 1) * W * 4);
        }
        for (int t = 0; t < T; t++) {
          const IG x0 = V::ig_bcast(x[t].q + b * G + 4 * kk), x1 = V::ig_bcast(x[t].q + b * G + 4 * kk + 4);
          for (int r = 0; r < R; r++) {
            if constexpr (kForm == kSigned)
              ia[r][t] = V::ig_dot_signed(V::ig_dot_signed(ia[r][t], c0[r], x0), c1[r], x1);
            else if constexpr (kForm == kZeroWide)
              ia[r][t] = V::ig_dot(V::ig_dot(ia[r][t], c0[r], x0), c1[r], x1);
            else
              ia[r][t] = V::ig_dot2(ia[r][t], c0[r], x0, c1[r], x1);
          }
        }
      }
      const int64_t bx = b / spb;
      for (int r = 0; r < R; r++) {
        const float* so = reinterpret_cast<const float*>(pg[r] + off + G * W);
        const F s = V::load(so);
        for (int t = 0; t < T; t++) {
          if constexpr (kForm == kZero || kForm == kZeroWide) ia[r][t] = V::ig_sub(ia[r][t], a.zs[t * L.nsb + b]);
          acc[r][t] = V::fma(V::ig_to_f(ia[r][t]), V::mul(s, V::set1(x[t].d[bx])), acc[r][t]);
          if constexpr (kForm == kOffset) acc[r][t] = V::fma(V::load(so + W), V::set1(x[t].sum32[b]), acc[r][t]);
        }
      }
    }
    for (int r = 0; r < R; r++) {
      const int64_t rows = a.n_rows - (int64_t)r * W;
      for (int t = 0; t < T; t++) {
        float* yr = y + t * ldy + r * W;
        if (rows >= W) {
          V::store(yr, acc[r][t]);
        } else if (rows > 0) {
          float tmp[W];
          V::store(tmp, acc[r][t]);
          for (int64_t i = 0; i < rows; i++) yr[i] = tmp[i];
        }
      }
    }
  }

  template <int G, Form kForm, int R, int T>
  static void tile_t(int nt, float* y, int64_t ldy, const Tile& a, const Layout& L, int spb) {
    if (nt == T) tile<G, kForm, R, T>(y, ldy, a, L, spb);
    else if constexpr (T > 1) tile_t<G, kForm, R, T - 1>(nt, y, ldy, a, L, spb);
  }

  template <int G, Form kForm, int R>
  static void tile_rt(int nr, int nt, float* y, int64_t ldy, const Tile& a, const Layout& L, int spb) {
    if (nr == R) tile_t<G, kForm, R, IT>(nt, y, ldy, a, L, spb);
    else if constexpr (R > 1) tile_rt<G, kForm, R - 1>(nr, nt, y, ldy, a, L, spb);
  }

  template <int G, Form kForm>
  static void run(float* y, int64_t ldy, const QAct* x, int64_t n_x, const uint8_t* packed, int64_t n_w,
                  const Layout& L, int spb, int32_t z) {
    thread_local std::vector<int32_t> zs;
    if (kForm == kZero || kForm == kZeroWide) {
      zs.resize((size_t)(n_x * L.nsb));
      for (int64_t t = 0; t < n_x; t++)
        for (int64_t b = 0; b < L.nsb; b++) {
          int32_t sum = 0;
          for (int i = 0; i < G; i++) sum += x[t].q[b * G + i];
          zs[t * L.nsb + b] = z * sum;
        }
    }
    const int64_t groups = (n_w + W - 1) / W;
    for (int64_t t0 = 0; t0 < n_x; t0 += IT) {
      const int nt = (int)(n_x - t0 < IT ? n_x - t0 : IT);
      for (int64_t g0 = 0; g0 < groups; g0 += IR) {
        const int nr = (int)(groups - g0 < IR ? groups - g0 : IR);
        const Tile a{x + t0, zs.data() + t0 * L.nsb, packed + g0 * L.group_bytes, n_w - g0 * W};
        tile_rt<G, kForm, IR>(nr, nt, y + t0 * ldy + g0 * W, ldy, a, L, spb);
      }
    }
  }

  // y[t * ldy + r] = sum_k decode(w[r])[k] * x[t].d[k / block] * x[t].q[k] over rows packed by pack().
  static void igemm(float* y, int64_t ldy, const QAct* x, int64_t n_x, const uint8_t* packed, int64_t n_w, int64_t K,
                    int type) {
    const Layout L = layout(type, K);
    switch (type) {
      case 8:
        if constexpr (V::kIgU8Codes) return run<32, kZeroWide>(y, ldy, x, n_x, packed, n_w, L, 1, 128);
        else return run<32, kSigned>(y, ldy, x, n_x, packed, n_w, L, 1, 0);
      case 2: return run<32, kZero>(y, ldy, x, n_x, packed, n_w, L, 1, 8);
      case 12:
      case 13: return run<32, kOffset>(y, ldy, x, n_x, packed, n_w, L, 8, 0);
      case 14: return run<16, kZero>(y, ldy, x, n_x, packed, n_w, L, 16, 32);
      default: return;
    }
  }
};

}  // namespace hl::cpu
