// native/cpu/simd/vec_avx2.h: 8 x f32 in ymm; AVX2 + FMA + F16C.
// Int8 block dot: maddubs(|w|, sign(x, w)) -> int16 pairs -> madd(1) -> int32.
#pragma once
#include <immintrin.h>

#include "vec.h"
#include "vec_x86_int.h"

namespace hl::simd::avx2 {

struct Avx2Tag;
struct Vec : X86IntOps<Avx2Tag> {
  using F = __m256;
  static constexpr int W = 8;
  static constexpr const char* name = "avx2";
  static F zero() { return _mm256_setzero_ps(); }
  static F set1(float v) { return _mm256_set1_ps(v); }
  static F load(const float* p) { return _mm256_loadu_ps(p); }
  static void store(float* p, F v) { _mm256_storeu_ps(p, v); }
  static F add(F a, F b) { return _mm256_add_ps(a, b); }
  static F mul(F a, F b) { return _mm256_mul_ps(a, b); }
  static F fma(F a, F b, F c) { return _mm256_fmadd_ps(a, b, c); }
  static float hsum(F v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
  }
  static float f16(uint16_t h) { return _cvtsh_ss(h); }
  static F load_f16(const uint16_t* p) { return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i*)p)); }
  static F load_i8(const int8_t* p) { return _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i*)p))); }
  static F load_bf16(const uint16_t* p) {
    __m256i v = _mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i*)p));
    return _mm256_castsi256_ps(_mm256_slli_epi32(v, 16));
  }
  // e^x (Cephes-style range reduction + degree-6 polynomial, ~2 ulp); x clamped
  // to [-87.3, 88.3] so 2^n stays a normal float (e^-87.3 ~ 1e-38 stands in for 0).
  static F max(F a, F b) { return _mm256_max_ps(a, b); }
  // ---- activation quantization and SiLU (kquant_simd.h, kernels_simd.h)
  static F min(F a, F b) { return _mm256_min_ps(a, b); }
  static F div(F a, F b) { return _mm256_div_ps(a, b); }
  static float hmax(F v) {
    __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    m = _mm_max_ps(m, _mm_movehl_ps(m, m));
    return _mm_cvtss_f32(_mm_max_ss(m, _mm_movehdup_ps(m)));
  }
  // lanes hold integers in [-127, 127]
  static void store_i8(int8_t* p, F v) {
    const __m256i i = _mm256_cvtps_epi32(v);
    const __m128i h = _mm_packs_epi32(_mm256_castsi256_si128(i), _mm256_extracti128_si256(i, 1));
    _mm_storel_epi64((__m128i*)p, _mm_packs_epi16(h, h));
  }
  static bool any_gt(F a, F b) { return _mm256_movemask_ps(_mm256_cmp_ps(a, b, _CMP_GT_OQ)) != 0; }
  static F exp(F x) {
    x = _mm256_max_ps(_mm256_min_ps(x, _mm256_set1_ps(88.3762626647949f)), _mm256_set1_ps(-87.33654475f));
    const F n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                                _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    F r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x);
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
    F p = _mm256_set1_ps(1.9875691500e-4f);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
    p = _mm256_fmadd_ps(p, _mm256_mul_ps(r, r), _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
    const __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
    return _mm256_mul_ps(p, _mm256_castsi256_ps(e));
  }
  using Q = __m256;
  static Q q8_zero() { return _mm256_setzero_ps(); }
  static Q q8_fma(Q acc, const int8_t* w, const int8_t* x, float scale) {
    const __m256i wv = _mm256_loadu_si256((const __m256i*)w), xv = _mm256_loadu_si256((const __m256i*)x);
    const __m256i p16 = _mm256_maddubs_epi16(_mm256_sign_epi8(wv, wv), _mm256_sign_epi8(xv, wv));
    const __m256i p32 = _mm256_madd_epi16(p16, _mm256_set1_epi16(1));
    return _mm256_fmadd_ps(_mm256_cvtepi32_ps(p32), _mm256_set1_ps(scale), acc);
  }
  static Q q8_fma2(Q acc, const int8_t* w0, const int8_t* w1, const int8_t* x0, const int8_t* x1, float s0,
                   float s1) {
    return q8_fma(q8_fma(acc, w0, x0, s0), w1, x1, s1);
  }
  static float q8_hsum(Q v) { return hsum(v); }

  // ---- unsigned-weight int8 dots (kquant_simd.h; the rest in vec_x86_int.h)
  static A adot(A acc, I u, const int8_t* x, int s0, int s1) {
    return _mm256_add_epi32(acc, _mm256_madd_epi16(pairs(u, x), scale_pairs(s0, s1)));
  }
  static A adot1(A acc, I u, const int8_t* x) {
    return _mm256_add_epi32(acc, _mm256_madd_epi16(pairs(u, x), _mm256_set1_epi16(1)));
  }

  // ---- int8 GEMM (igemm_simd.h): maddubs + madd; u <= 127 keeps the int16
  // pairs below 2^15 (|2 * 127 * 127|), so Q8_0 stays signed: sign trick.
  using IG = __m256i;
  static constexpr bool kIgU8Codes = false;
  static constexpr int kIgGroups = 2, kIgTokens = 3;
  // igemm from this many tokens (GEMV below) for Q8_0, Q4_0, the K-quants
  // (10 / 5 / 10 before the direct repack; BENCHMARKS.md)
  static constexpr int kIgMinTokens[3] = {5, 5, 5};
  static IG ig_zero() { return _mm256_setzero_si256(); }
  static IG ig_load(const uint8_t* p) { return _mm256_loadu_si256((const __m256i*)p); }
  static IG ig_bcast(const int8_t* p) {
    int32_t v;
    std::memcpy(&v, p, 4);
    return _mm256_set1_epi32(v);
  }
  static IG ig_dot(IG acc, IG u, IG x) {
    return _mm256_add_epi32(acc, _mm256_madd_epi16(_mm256_maddubs_epi16(u, x), _mm256_set1_epi16(1)));
  }
  static IG ig_dot_signed(IG acc, IG w, IG x) { return ig_dot(acc, _mm256_sign_epi8(w, w), _mm256_sign_epi8(x, w)); }
  static F ig_to_f(IG v) { return _mm256_cvtepi32_ps(v); }
  static IG ig_sub(IG v, int32_t s) { return _mm256_sub_epi32(v, _mm256_set1_epi32(s)); }
  // codes <= 63: the two steps' int16 pairs add without saturation (4 * 63 * 127 < 2^15)
  static IG ig_dot2(IG acc, IG u0, IG x0, IG u1, IG x1) {
    const __m256i p = _mm256_add_epi16(_mm256_maddubs_epi16(u0, x0), _mm256_maddubs_epi16(u1, x1));
    return _mm256_add_epi32(acc, _mm256_madd_epi16(p, _mm256_set1_epi16(1)));
  }
  // ---- int8 GEMM repack from the block rows (igemm_simd.h pack_group_direct)
  static constexpr bool kIgDirectPack = true;
  // 8 rows of G bytes (G = 32 or 16; row r at p + r * stride) -> out[k] =
  // dword k of every row: 32-bit then 64-bit unpacks within 128-bit lanes,
  // then (G = 32) a lane exchange; for G = 16 rows r and r + 4 share a register.
  template <int G>
  static void ig_transpose(IG* out, const uint8_t* p, int64_t stride) {
    auto row = [&](int r) { return p + r * stride; };
    __m256i r[4], t[4];
    if constexpr (G == 16) {
      for (int i = 0; i < 4; i++)
        r[i] = _mm256_set_m128i(_mm_loadu_si128((const __m128i*)row(i + 4)), _mm_loadu_si128((const __m128i*)row(i)));
      t[0] = _mm256_unpacklo_epi32(r[0], r[1]), t[1] = _mm256_unpackhi_epi32(r[0], r[1]);
      t[2] = _mm256_unpacklo_epi32(r[2], r[3]), t[3] = _mm256_unpackhi_epi32(r[2], r[3]);
      out[0] = _mm256_unpacklo_epi64(t[0], t[2]), out[1] = _mm256_unpackhi_epi64(t[0], t[2]);
      out[2] = _mm256_unpacklo_epi64(t[1], t[3]), out[3] = _mm256_unpackhi_epi64(t[1], t[3]);
    } else {
      __m256i u[8];
      for (int h = 0; h < 2; h++) {  // rows 4h .. 4h + 3: dwords k and k + 4 of each
        for (int i = 0; i < 4; i++) r[i] = _mm256_loadu_si256((const __m256i*)row(4 * h + i));
        t[0] = _mm256_unpacklo_epi32(r[0], r[1]), t[1] = _mm256_unpackhi_epi32(r[0], r[1]);
        t[2] = _mm256_unpacklo_epi32(r[2], r[3]), t[3] = _mm256_unpackhi_epi32(r[2], r[3]);
        u[4 * h + 0] = _mm256_unpacklo_epi64(t[0], t[2]), u[4 * h + 1] = _mm256_unpackhi_epi64(t[0], t[2]);
        u[4 * h + 2] = _mm256_unpacklo_epi64(t[1], t[3]), u[4 * h + 3] = _mm256_unpackhi_epi64(t[1], t[3]);
      }
      for (int k = 0; k < 4; k++) {
        out[k] = _mm256_permute2x128_si256(u[k], u[4 + k], 0x20);
        out[k + 4] = _mm256_permute2x128_si256(u[k], u[4 + k], 0x31);
      }
    }
  }
  static void ig_store(uint8_t* p, IG v) { _mm256_storeu_si256((__m256i*)p, v); }
  static IG ig_bits(IG v, int s, int mask) { return ibits(v, s, mask); }
  static IG ig_shl4(IG v) { return ishl4(v); }
  static IG ig_or(IG a, IG b) { return ior(a, b); }
};

}  // namespace hl::simd::avx2
