// native/cpu/simd/vec_avx512.h: 16 x f32 in zmm; AVX-512F/BW/VL + VNNI (+BF16
// flags). Int8 block dot: 256-bit VNNI dpbusd(|w|, sign(x, w)) straight to int32.
#pragma once
#include <immintrin.h>

#include <cstring>

#include "vec.h"
#include "vec_x86_int.h"

namespace hl::simd::avx512 {

struct Avx512Tag;
struct Vec : X86IntOps<Avx512Tag> {
  using F = __m512;
  static constexpr int W = 16;
  static constexpr const char* name = "avx512";
  static F zero() { return _mm512_setzero_ps(); }
  static F set1(float v) { return _mm512_set1_ps(v); }
  static F load(const float* p) { return _mm512_loadu_ps(p); }
  static void store(float* p, F v) { _mm512_storeu_ps(p, v); }
  static F add(F a, F b) { return _mm512_add_ps(a, b); }
  static F mul(F a, F b) { return _mm512_mul_ps(a, b); }
  static F fma(F a, F b, F c) { return _mm512_fmadd_ps(a, b, c); }
  static float hsum(F v) {
    __m256 h = _mm256_add_ps(_mm512_castps512_ps256(v), _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1)));
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
  }
  static float f16(uint16_t h) { return _cvtsh_ss(h); }
  static F load_f16(const uint16_t* p) { return _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i*)p)); }
  static F load_i8(const int8_t* p) { return _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i*)p))); }
  static F load_bf16(const uint16_t* p) {
    __m512i v = _mm512_cvtepu16_epi32(_mm256_loadu_si256((const __m256i*)p));
    return _mm512_castsi512_ps(_mm512_slli_epi32(v, 16));
  }
  // e^x (Cephes-style range reduction + degree-6 polynomial, ~2 ulp); x <= -103 -> 0.
  static F max(F a, F b) { return _mm512_max_ps(a, b); }
  // ---- activation quantization and SiLU (kquant_simd.h, kernels_simd.h)
  static F min(F a, F b) { return _mm512_min_ps(a, b); }
  static F div(F a, F b) { return _mm512_div_ps(a, b); }
  static float hmax(F v) { return _mm512_reduce_max_ps(v); }
  // lanes hold integers in [-127, 127]
  static void store_i8(int8_t* p, F v) { _mm_storeu_si128((__m128i*)p, _mm512_cvtepi32_epi8(_mm512_cvtps_epi32(v))); }
  static bool any_gt(F a, F b) { return _mm512_cmp_ps_mask(a, b, _CMP_GT_OQ) != 0; }
  static F exp(F x) {
    x = _mm512_max_ps(_mm512_min_ps(x, _mm512_set1_ps(88.3762626647949f)), _mm512_set1_ps(-103.0f));
    const F n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)),
                                     _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    F r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), x);
    r = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.12194440e-4f), r);
    F p = _mm512_set1_ps(1.9875691500e-4f);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.3981999507e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(8.3334519073e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.1665795894e-2f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.6666665459e-1f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(5.0000001201e-1f));
    p = _mm512_fmadd_ps(p, _mm512_mul_ps(r, r), _mm512_add_ps(r, _mm512_set1_ps(1.0f)));
    return _mm512_scalef_ps(p, n);
  }
  using Q = __m512;
  static Q q8_zero() { return _mm512_setzero_ps(); }
  static Q q8_fma(Q acc, const int8_t* w, const int8_t* x, float scale) {
    const __m256i wv = _mm256_loadu_si256((const __m256i*)w), xv = _mm256_loadu_si256((const __m256i*)x);
    const __m256i p32 = _mm256_dpbusd_epi32(_mm256_setzero_si256(), _mm256_sign_epi8(wv, wv), _mm256_sign_epi8(xv, wv));
    const __m256 prod = _mm256_mul_ps(_mm256_cvtepi32_ps(p32), _mm256_set1_ps(scale));
    return _mm512_add_ps(acc, _mm512_zextps256_ps512(prod));
  }
  // Two blocks in one zmm: |w| via abs, the sign of w moved onto x through a
  // mask subtract (AVX-512BW has no vpsignb on zmm).
  static Q q8_fma2(Q acc, const int8_t* w0, const int8_t* w1, const int8_t* x0, const int8_t* x1, float s0,
                   float s1) {
    const __m512i wv = _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_loadu_si256((const __m256i*)w0)),
                                          _mm256_loadu_si256((const __m256i*)w1), 1);
    const __m512i xv = _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_loadu_si256((const __m256i*)x0)),
                                          _mm256_loadu_si256((const __m256i*)x1), 1);
    const __mmask64 neg = _mm512_movepi8_mask(wv);
    const __m512i sx = _mm512_mask_sub_epi8(xv, neg, _mm512_setzero_si512(), xv);
    const __m512i p32 = _mm512_dpbusd_epi32(_mm512_setzero_si512(), _mm512_abs_epi8(wv), sx);
    const __m512 sc = _mm512_castpd_ps(_mm512_insertf64x4(_mm512_castps_pd(_mm512_set1_ps(s0)),
                                                          _mm256_castps_pd(_mm256_set1_ps(s1)), 1));
    return _mm512_fmadd_ps(_mm512_cvtepi32_ps(p32), sc, acc);
  }
  static float q8_hsum(Q v) { return hsum(v); }

  // ---- unsigned-weight int8 dots (kquant_simd.h; the rest in vec_x86_int.h):
  // VNNI dpwssd scales the maddubs pairs and accumulates in one instruction.
  static A adot(A acc, I u, const int8_t* x, int s0, int s1) {
    return _mm256_dpwssd_epi32(acc, pairs(u, x), scale_pairs(s0, s1));
  }
  static A adot1(A acc, I u, const int8_t* x) {
    return _mm256_dpbusd_epi32(acc, u, _mm256_loadu_si256((const __m256i*)x));
  }

  // ---- int8 GEMM (igemm_simd.h): vpdpbusd zmm, the activations as the
  // (broadcast) signed operand; 2 x 16 rows x 6 tokens of int32 accumulators.
  using IG = __m512i;
  static constexpr bool kIgU8Codes = true;
  static constexpr int kIgGroups = 2, kIgTokens = 6;
  // igemm from this many tokens (GEMV below) for Q8_0, Q4_0, the K-quants
  static constexpr int kIgMinTokens[3] = {4, 4, 5};
  static IG ig_zero() { return _mm512_setzero_si512(); }
  static IG ig_load(const uint8_t* p) { return _mm512_loadu_si512((const void*)p); }
  static IG ig_bcast(const int8_t* p) {
    int32_t v;
    std::memcpy(&v, p, 4);
    return _mm512_set1_epi32(v);
  }
  static IG ig_dot(IG acc, IG u, IG x) { return _mm512_dpbusd_epi32(acc, u, x); }
  static F ig_to_f(IG v) { return _mm512_cvtepi32_ps(v); }
  static IG ig_sub(IG v, int32_t s) { return _mm512_sub_epi32(v, _mm512_set1_epi32(s)); }
  static IG ig_dot2(IG acc, IG u0, IG x0, IG u1, IG x1) { return ig_dot(ig_dot(acc, u0, x0), u1, x1); }
  // 16 rows of G bytes (G = 32 or 16; row r at p + r * stride) -> out[k] =
  // dword k of every row. Per 16 bytes: register i holds rows i, i + 4, i + 8,
  // i + 12 in its 128-bit lanes (broadcast loads, merged by mask), then 32- and
  // 64-bit unpacks transpose every lane's 4 x 4 dwords (in-lane shuffles:
  // cheaper than cross-lane vpermt2d, markedly so on Zen 4).
  template <int G>
  static void ig_transpose(IG* out, const uint8_t* p, int64_t stride) {
    for (int c = 0; c < G / 16; c++) {
      __m512i r[4], t[4];
      for (int i = 0; i < 4; i++) {
        const uint8_t* q = p + i * stride + 16 * c;
        r[i] = _mm512_broadcast_i32x4(_mm_loadu_si128((const __m128i*)q));
        r[i] = _mm512_mask_broadcast_i32x4(r[i], 0x00f0, _mm_loadu_si128((const __m128i*)(q + 4 * stride)));
        r[i] = _mm512_mask_broadcast_i32x4(r[i], 0x0f00, _mm_loadu_si128((const __m128i*)(q + 8 * stride)));
        r[i] = _mm512_mask_broadcast_i32x4(r[i], 0xf000, _mm_loadu_si128((const __m128i*)(q + 12 * stride)));
      }
      t[0] = _mm512_unpacklo_epi32(r[0], r[1]), t[1] = _mm512_unpackhi_epi32(r[0], r[1]);
      t[2] = _mm512_unpacklo_epi32(r[2], r[3]), t[3] = _mm512_unpackhi_epi32(r[2], r[3]);
      out[4 * c + 0] = _mm512_unpacklo_epi64(t[0], t[2]), out[4 * c + 1] = _mm512_unpackhi_epi64(t[0], t[2]);
      out[4 * c + 2] = _mm512_unpacklo_epi64(t[1], t[3]), out[4 * c + 3] = _mm512_unpackhi_epi64(t[1], t[3]);
    }
  }
  // ---- int8 GEMM repack from the block rows (igemm_simd.h pack_group_direct)
  static constexpr bool kIgDirectPack = true;
  static void ig_store(uint8_t* p, IG v) { _mm512_storeu_si512((void*)p, v); }
  static IG ig_flip(IG v) { return _mm512_xor_si512(v, _mm512_set1_epi8((char)0x80)); }
  static IG ig_bits(IG v, int s, int mask) {
    return _mm512_and_si512(_mm512_srli_epi16(v, s), _mm512_set1_epi8((char)mask));
  }
  static IG ig_shl4(IG v) { return _mm512_slli_epi16(v, 4); }
  static IG ig_or(IG a, IG b) { return _mm512_or_si512(a, b); }
};

}  // namespace hl::simd::avx512
