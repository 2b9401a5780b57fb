// cuda/gemm_mma_tile.h: the block tile of the tensor-core prefill GEMMs
// (gemm_mma.cu), written once for the device and the host: shared-memory
// layout, the cooperative panel fill (weight codes unpacked to int8 /
// activations split into f16/bf16 hi + lo), the per-lane fragment reads
// (mma_frag.h), the integer fold and the output coordinates. The kernel runs
// these per thread around its mma.sync instructions; the test binary's host
// family "mma_tiles" runs the same functions for all 256 threads with an
// emulated mma (docs/cuda/README.md, "Tensor-core GEMMs").
//
// Block: 64 tokens (M; a MoE tile list's tile) x 64 weight rows (N), 256
// threads = 8 warps as 2 (M) x 4 (N), each warp 32 x 16 = 2 x 2 mma tiles of
// 16 x 8; accumulator index (2 i + j) * 4 + c = element c of tile (i, j).
// Shared-memory rows are 32-bit words along K padded by 4 words, so the 32
// lanes of a fragment read hit 32 different banks (row stride = 4 mod 32
// words: 4 g + t is distinct for g < 8, t < 4).
#pragma once
#include <stdint.h>
#include <string.h>

#include <type_traits>

#include "int_units.h"
#include "mma_frag.h"

#ifdef __CUDACC__
#include <cuda_bf16.h>
#endif

namespace hlc {
namespace mt {

constexpr int kBM = 64, kBN = 64, kThreads = 256;

// Copies 4 values of T (uint32_t or float); src 16-byte aligned on the device path.
template <typename T>
HLC_HD void ld4(T* dst, const T* src) {
#ifdef __CUDA_ARCH__
  using V = typename std::conditional<std::is_floating_point<T>::value, float4, uint4>::type;
  const V v = *reinterpret_cast<const V*>(src);
  dst[0] = v.x; dst[1] = v.y; dst[2] = v.z; dst[3] = v.w;
#else
  memcpy(dst, src, 4 * sizeof(T));
#endif
}

// Output coordinates (m, n) inside the 64 x 64 tile of accumulator idx (0..15).
HLC_HD void acc_coord(int warp, int lane, int idx, int& m, int& n) {
  const int tile = idx >> 2, c = idx & 3, i = tile >> 1, j = tile & 1;
  m = (warp >> 2) * 32 + i * 16 + frag::c_row(lane, c);
  n = (warp & 3) * 16 + j * 8 + frag::c_col(lane, c);
}

// y[m, n] = value(idx) for the lane's accumulators inside the tile's valid
// part (tokens [m0, m1), rows [n0, N)).
template <typename F>
HLC_HD void store_tile(float* y, int64_t ldy, int64_t m0, int64_t m1, int64_t n0, int64_t N, int warp, int lane,
                       F value) {
  HLC_UNROLL
  for (int idx = 0; idx < 16; idx++) {
    int mi, ni;
    acc_coord(warp, lane, idx, mi, ni);
    const int64_t m = m0 + mi, n = n0 + ni;
    if (m < m1 && n < N) y[m * ldy + n] = value(idx);
  }
}

// ---- int8: block-quantized weights x int8 activations (act_quantize_kernel's
// codes, block scales and per-32 sums), one 32-wide unit = one k32 mma step.

constexpr int kI8Units = 4;                // units per K panel (128 k)
constexpr int kI8Ld = kI8Units * 8 + 4;    // words per shared row

struct I8Smem {
  uint32_t x[kBM][kI8Ld];     // activation codes, token-major
  uint32_t w[kBN][kI8Ld];     // weight codes (IntUnit::load), row-major
  int32_t xs[kBM][kI8Units];  // per-unit sum of the activation codes
  float xd[kBM][kI8Units];    // the unit's activation block scale
  int32_t wi[kBN][kI8Units];  // IntUnit::gemm_terms
  float wf[kBN][kI8Units];
  float wm[kBN][kI8Units];
};

struct I8Tile {
  const int8_t* xq;  // [x_rows, K] codes
  const float* xd;   // [x_rows, K / act block]
  const int32_t* xs; // [x_rows, K / 32]
  int64_t K;
  const int32_t* x_idx;  // token m's row: x_idx[m] (or m)
  int64_t m0, m1;        // tokens of this tile: [m0, m1)
  const uint8_t* w;      // this expert's rows
  int64_t row_bytes, n0, N;
};

HLC_HD int64_t i8_xrow(const I8Tile& a, int m) {
  const int64_t mm = a.m0 + m;
  return a.x_idx ? (int64_t)a.x_idx[mm] : mm;
}

// Thread tid's share of loading units [u0, u0 + kI8Units) of the tile.
template <int DT>
HLC_HD void i8_fill(I8Smem& s, const I8Tile& a, int64_t u0, int tid) {
  using U = IntUnit<DT>;
  const int64_t units = a.K / 32, nbx = a.K / U::kActBlock;
  for (int c = tid; c < kBM * kI8Units * 2; c += kThreads) {  // 16-byte pieces of activation codes
    const int m = c / (kI8Units * 2), part = c % (kI8Units * 2);
    const int64_t u = u0 + part / 2;
    uint32_t v[4] = {0, 0, 0, 0};
    if (a.m0 + m < a.m1 && u < units)
      ld4(v, reinterpret_cast<const uint32_t*>(a.xq + i8_xrow(a, m) * a.K + u * 32 + (part & 1) * 16));
    HLC_UNROLL
    for (int i = 0; i < 4; i++) s.x[m][part * 4 + i] = v[i];
  }
  {  // one (token, unit) and one (weight row, unit) per thread
    const int r = tid / kI8Units, ul = tid % kI8Units;
    const int64_t u = u0 + ul;
    const bool uok = u < units;
    int32_t xs = 0;
    float xd = 0.0f;
    if (uok && a.m0 + r < a.m1) {
      const int64_t row = i8_xrow(a, r);
      xs = a.xs[row * units + u];
      xd = a.xd[row * nbx + (u * 32) / U::kActBlock];
    }
    s.xs[r][ul] = xs;
    s.xd[r][ul] = xd;
    int w8[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    int32_t wi = 0;
    float wf = 0.0f, wm = 0.0f;
    if (uok && a.n0 + r < a.N) {
      const uint8_t* row = a.w + (a.n0 + r) * a.row_bytes;
      float sdec[2];
      U::load(row, u, w8, sdec);
      U::gemm_terms(row, u, wi, wf, wm);
    }
    HLC_UNROLL
    for (int i = 0; i < 8; i++) s.w[r][ul * 8 + i] = (uint32_t)w8[i];
    s.wi[r][ul] = wi;
    s.wf[r][ul] = wf;
    s.wm[r][ul] = wm;
  }
}

// A fragments of the warp's two 16-token tiles and B fragments of its two
// 8-row tiles for unit ul of the panel.
HLC_HD void i8_frags(const I8Smem& s, int warp, int lane, int ul, uint32_t (&a)[2][4], uint32_t (&b)[2][2]) {
  const int wm = warp >> 2, wn = warp & 3;
  HLC_UNROLL
  for (int i = 0; i < 2; i++)
    HLC_UNROLL
    for (int r = 0; r < 4; r++) a[i][r] = s.x[wm * 32 + i * 16 + frag::a_row(lane, r)][ul * 8 + frag::a_word(lane, r)];
  HLC_UNROLL
  for (int j = 0; j < 2; j++)
    HLC_UNROLL
    for (int r = 0; r < 2; r++) b[j][r] = s.w[wn * 16 + j * 8 + frag::b_col(lane, r)][ul * 8 + frag::b_word(lane, r)];
}

struct I8Acc {
  float f[16];
  int32_t ia[16], im[16];
};

HLC_HD void i8_acc_zero(I8Acc& acc) {
  HLC_UNROLL
  for (int i = 0; i < 16; i++) {
    acc.f[i] = 0.0f;
    acc.ia[i] = acc.im[i] = 0;
  }
}

// Folds the s32 dots of unit u (panel slot ul) into the accumulators: dlo =
// the k32 dot (Q6_K: weights 0-15 of the unit), dhi = Q6_K's weights 16-31.
template <int DT>
HLC_HD void i8_fold(I8Acc& acc, const I8Smem& s, int warp, int lane, int ul, int64_t u, const int32_t (&dlo)[16],
                    const int32_t (&dhi)[16]) {
  using U = IntUnit<DT>;
  const bool last = ((u + 1) * 32) % U::kActBlock == 0;
  // A lane's 16 outputs touch 4 weight rows (j, c & 1) and 4 tokens (i, c >> 1): read their terms once.
  int32_t wi[4], xs[4];
  float wf[4], wm[4], xd[4];
  HLC_UNROLL
  for (int i = 0; i < 2; i++)
    HLC_UNROLL
    for (int h = 0; h < 2; h++) {
      int m, n;
      acc_coord(warp, lane, (2 * i) * 4 + 2 * h, m, n);  // tile (i, 0), element 2h: token row of (i, h)
      xs[2 * i + h] = s.xs[m][ul];
      xd[2 * i + h] = s.xd[m][ul];
    }
  HLC_UNROLL
  for (int j = 0; j < 2; j++)
    HLC_UNROLL
    for (int h = 0; h < 2; h++) {
      int m, n;
      acc_coord(warp, lane, j * 4 + h, m, n);  // tile (0, j), element h: weight row of (j, h)
      wi[2 * j + h] = s.wi[n][ul];
      wf[2 * j + h] = s.wf[n][ul];
      wm[2 * j + h] = s.wm[n][ul];
    }
  HLC_UNROLL
  for (int idx = 0; idx < 16; idx++) {
    const int i = idx >> 3, j = (idx >> 2) & 1, c = idx & 3, pn = 2 * j + (c & 1), pm = 2 * i + (c >> 1);
    U::gemm_fold(wi[pn], wf[pn], wm[pn], dlo[idx], dhi[idx], xs[pm], xd[pm], acc.f[idx], acc.ia[idx], acc.im[idx],
                 last);
  }
}

// ---- F16 / BF16 weights: x = hi + lo in the weight's type, two mma products.
// F16: x' = x * 2^-4 (finite for |x| < 2^20), hi = f16(x'), lo = f16((x' - hi) * 2^11)
// (x' - hi is exact in f32; the 2^11 keeps lo out of f16's subnormals),
// separate accumulators, y = (acc_hi + acc_lo * 2^-11) * 2^4. Residual of the
// split <= 2^-22 |x| + 2^-32 (the absolute term: hi subnormal for |x| < 2^-10).
// BF16: hi = bf16(x), lo = bf16((x - hi) * 2^8); residual <= 2^-16 |x|.

constexpr int kHWords = 16;            // words per K panel (32 k)
constexpr int kHLd = kHWords + 4;

struct HSmem {
  uint32_t xh[kBM][kHLd];
  uint32_t xl[kBM][kHLd];
  uint32_t w[kBN][kHLd];
};

template <bool BF16> struct HalfSplit {
  static constexpr float kIn = BF16 ? 1.0f : 1.0f / 16.0f;    // x' = x * kIn
  static constexpr float kLo = BF16 ? 256.0f : 2048.0f;       // lo = T((x' - hi) * kLo)
  static constexpr float kOut = BF16 ? 1.0f : 16.0f;          // y = (hi + lo / kLo) * kOut
  HLC_HD static uint32_t bits(float v) {
#ifdef __CUDA_ARCH__
    if (BF16) return __bfloat16_as_ushort(__float2bfloat16_rn(v));
    return __half_as_ushort(__float2half_rn(v));
#else
    return BF16 ? hl::f32_to_bf16(v) : hl::f32_to_f16(v);
#endif
  }
  HLC_HD static float value(uint32_t b) {
#ifdef __CUDA_ARCH__
    if (BF16) return __uint_as_float(b << 16);
    return __half2float(__ushort_as_half((unsigned short)b));
#else
    return BF16 ? hl::bf16_to_f32((uint16_t)b) : hl::f16_to_f32((uint16_t)b);
#endif
  }
  HLC_HD static void split(float x, uint32_t& hi, uint32_t& lo) {
    const float xs = x * kIn;
    hi = bits(xs);
    lo = bits((xs - value(hi)) * kLo);
  }
};

struct HTile {
  const float* x;
  int64_t ldx;
  const int32_t* x_idx;
  int64_t m0, m1;
  const uint8_t* w;
  int64_t row_bytes, n0, N, K;
  bool xvec, wvec;  // 16-byte loads allowed (alignment, K % 8 == 0 for weights)
};

// Thread tid's share of the K panel at k0: 8 consecutive k of one token and of one weight row.
template <bool BF16>
HLC_HD void h_fill(HSmem& s, const HTile& a, int64_t k0, int tid) {
  const int r = tid >> 2, q = tid & 3;
  const int64_t k = k0 + 8 * q;
  {
    float v[8] = {0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f};
    if (a.m0 + r < a.m1) {
      const int64_t mm = a.m0 + r;
      const float* xr = a.x + (a.x_idx ? (int64_t)a.x_idx[mm] : mm) * a.ldx;
      if (a.xvec && k + 8 <= a.K) {
        ld4(v, xr + k);
        ld4(v + 4, xr + k + 4);
      } else {
        HLC_UNROLL
        for (int i = 0; i < 8; i++)
          if (k + i < a.K) v[i] = xr[k + i];
      }
    }
    HLC_UNROLL
    for (int i = 0; i < 4; i++) {
      uint32_t h0, l0, h1, l1;
      HalfSplit<BF16>::split(v[2 * i], h0, l0);
      HalfSplit<BF16>::split(v[2 * i + 1], h1, l1);
      s.xh[r][4 * q + i] = h0 | (h1 << 16);
      s.xl[r][4 * q + i] = l0 | (l1 << 16);
    }
  }
  {
    uint32_t wv[4] = {0, 0, 0, 0};
    if (a.n0 + r < a.N) {
      const uint8_t* row = a.w + (a.n0 + r) * a.row_bytes;
      if (a.wvec && k + 8 <= a.K) {
        ld4(wv, reinterpret_cast<const uint32_t*>(row + 2 * k));
      } else {
        HLC_UNROLL
        for (int i = 0; i < 8; i++)
          if (k + i < a.K) wv[i >> 1] |= (uint32_t)iu::u16(row + 2 * (k + i)) << (16 * (i & 1));
      }
    }
    HLC_UNROLL
    for (int i = 0; i < 4; i++) s.w[r][4 * q + i] = wv[i];
  }
}

// Fragments of k16 step ks (0, 1) of the panel: A hi and lo of the warp's two
// 16-token tiles, B of its two 8-row tiles.
HLC_HD void h_frags(const HSmem& s, int warp, int lane, int ks, uint32_t (&ah)[2][4], uint32_t (&al)[2][4],
                    uint32_t (&b)[2][2]) {
  const int wm = warp >> 2, wn = warp & 3;
  HLC_UNROLL
  for (int i = 0; i < 2; i++)
    HLC_UNROLL
    for (int r = 0; r < 4; r++) {
      const int m = wm * 32 + i * 16 + frag::a_row(lane, r), wd = ks * 8 + frag::a_word(lane, r);
      ah[i][r] = s.xh[m][wd];
      al[i][r] = s.xl[m][wd];
    }
  HLC_UNROLL
  for (int j = 0; j < 2; j++)
    HLC_UNROLL
    for (int r = 0; r < 2; r++) b[j][r] = s.w[wn * 16 + j * 8 + frag::b_col(lane, r)][ks * 8 + frag::b_word(lane, r)];
}

template <bool BF16>
HLC_HD float h_result(float hi, float lo) {
  return (hi + lo * (1.0f / HalfSplit<BF16>::kLo)) * HalfSplit<BF16>::kOut;
}

}  // namespace mt
}  // namespace hlc
