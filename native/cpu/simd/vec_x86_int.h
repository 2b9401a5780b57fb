// native/cpu/simd/vec_x86_int.h: the unsigned-weight int8 dot ops (vec.h: I,
// A, FA) shared by the AVX2 and AVX-512 Vecs, on ymm registers. Each Vec adds
// its own adot / adot1 (AVX2: maddubs + madd; AVX-512: VNNI). Each Vec
// instantiates it with its own tag, so every ISA gets distinct symbols
// compiled with its own flags (vec.h explains why nothing inline may be shared).
#pragma once
#include <immintrin.h>

#include <cstdint>

namespace hl::simd {

template <class IsaTag>
struct X86IntOps {
  using I = __m256i;  // 32 weight codes
  using A = __m256i;  // 8 x int32
  using FA = __m256;  // 8 x f32
  static I iload(const uint8_t* p) { return _mm256_loadu_si256((const __m256i*)p); }
  // 16 bytes -> their 16 low nibbles, then their 16 high nibbles
  static I iload_nib16(const uint8_t* p) {
    const __m128i v = _mm_loadu_si128((const __m128i*)p);
    return _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(v, 4), v), _mm256_set1_epi8(0x0f));
  }
  // per byte (v >> s) & mask, mask <= 0xff >> s (16-bit shifts: the mask drops the neighbour's bits)
  static I ibits(I v, int s, int mask) {
    return _mm256_and_si256(_mm256_srli_epi16(v, s), _mm256_set1_epi8((char)mask));
  }
  static I ishl4(I v) { return _mm256_slli_epi16(v, 4); }  // v < 16 per byte
  static I ior(I a, I b) { return _mm256_or_si256(a, b); }
  static A azero() { return _mm256_setzero_si256(); }
  // int16 pair multipliers: s0 for bytes 0-15, s1 for bytes 16-31
  static __m256i scale_pairs(int s0, int s1) {
    return _mm256_set_m128i(_mm_set1_epi16((short)s1), _mm_set1_epi16((short)s0));
  }
  // u in [0, 63], x in [-127, 127]: maddubs pairs stay below 2^15
  static __m256i pairs(I u, const int8_t* x) { return _mm256_maddubs_epi16(u, _mm256_loadu_si256((const __m256i*)x)); }
  static FA fa_zero() { return _mm256_setzero_ps(); }
  static FA afma(FA acc, A v, float s) { return _mm256_fmadd_ps(_mm256_cvtepi32_ps(v), _mm256_set1_ps(s), acc); }
  // acc += a[i] * b[i] for 8 floats, lane-wise
  static FA fma8(FA acc, const float* a, const float* b) {
    return _mm256_fmadd_ps(_mm256_loadu_ps(a), _mm256_loadu_ps(b), acc);
  }
  static float fa_hsum(FA v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
  }
};

}  // namespace hl::simd
