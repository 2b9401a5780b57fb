// native/cpu/block_codec.h: the one definition of every GGUF block codec in
// C++ (layouts: native/core/dtype.h; docs/KERNELS.md, "Weight blocks").
// The per-ISA row decoders (simd/kernels_simd.h), the integer dot kernels'
// scale unpacking (simd/kquant_simd.h) and the quantize-on-load encoders
// (native/model/block_encode.cpp, which packs the scale field with
// k4_pack_scale_min) all call these; cuda/quant.cuh is the device twin, and
// the TS codecs (lib/quant/blocks.ts) are tested against these.
//
// Decoders: every product is one f32 rounding in a fixed order and the build
// has no FMA contraction, so every ISA decodes bit for bit alike:
//   Q8_0  w = d * q
//   Q4_0  w = d * (q - 8)                byte j: low nibble elem j, high nibble elem j + 16
//   Q4_K  w = (d * sc_j) * q - dmin * m_j  6-bit sc / m per 32
//   Q5_K  as Q4_K with a fifth bit from qh
//   Q6_K  w = (d * sc_j) * (q - 32)      int8 sc per 16, q = 4 low bits | 2 high bits << 4
// H is the f16 -> f32 conversion of the calling translation unit (the ISA
// files must not share inline code with baseline files), so everything here
// has internal linkage.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>

#include "../core/dtype.h"

namespace hl::codec {

using HalfToFloat = float (*)(uint16_t);

static inline uint16_t rd16(const uint8_t* p) {
  uint16_t h;
  std::memcpy(&h, p, 2);
  return h;
}

// The eight 6-bit scales (sc) and mins (m) of a K-quant super-block from its
// 12-byte field, four at a time in 32-bit words: bytes 0-3 hold scales 0-3 in
// their low 6 bits and the top 2 bits of scales 4-7; bytes 4-7 the same for
// the mins; bytes 8-11 the low 4 bits of scales 4-7 (low nibble) and mins 4-7
// (high nibble).
static inline void k4_scale_min(const uint8_t* q, uint8_t* sc, uint8_t* m) {
  uint32_t a, b, c;
  std::memcpy(&a, q, 4);
  std::memcpy(&b, q + 4, 4);
  std::memcpy(&c, q + 8, 4);
  const uint32_t s03 = a & 0x3f3f3f3fu, m03 = b & 0x3f3f3f3fu;
  const uint32_t s47 = (c & 0x0f0f0f0fu) | (((a >> 6) & 0x03030303u) << 4);
  const uint32_t m47 = ((c >> 4) & 0x0f0f0f0fu) | (((b >> 6) & 0x03030303u) << 4);
  std::memcpy(sc, &s03, 4);
  std::memcpy(sc + 4, &s47, 4);
  std::memcpy(m, &m03, 4);
  std::memcpy(m + 4, &m47, 4);
}

// The inverse: 6-bit sc[8], m[8] (each < 64) into the 12-byte field.
static inline void k4_pack_scale_min(const uint8_t* sc, const uint8_t* m, uint8_t* q) {
  for (int j = 0; j < 4; j++) {
    q[j] = (uint8_t)((sc[j] & 63) | ((sc[j + 4] >> 4) << 6));
    q[j + 4] = (uint8_t)((m[j] & 63) | ((m[j + 4] >> 4) << 6));
    q[j + 8] = (uint8_t)((sc[j + 4] & 15) | ((m[j + 4] & 15) << 4));
  }
}

// ---- decoders: one block -> 32 / 256 floats

template <HalfToFloat H>
static inline void decode_q8_0(const uint8_t* b, float* out) {
  const float d = H(rd16(b));
  const int8_t* q = reinterpret_cast<const int8_t*>(b + 2);
  for (int i = 0; i < 32; i++) out[i] = d * (float)q[i];
}

template <HalfToFloat H>
static inline void decode_q4_0(const uint8_t* b, float* out) {
  const float d = H(rd16(b));
  const uint8_t* q = b + 2;
  for (int j = 0; j < 16; j++) {
    out[j] = d * (float)((int)(q[j] & 0x0f) - 8);
    out[j + 16] = d * (float)((int)(q[j] >> 4) - 8);
  }
}

// Q4_K (kBits = 4) and Q5_K (kBits = 5): 64-element group i holds sub-blocks
// 2i (low nibbles) and 2i + 1 (high nibbles); Q5_K's fifth bits are bit 2i /
// 2i + 1 of qh[l].
template <HalfToFloat H, int kBits>
static inline void decode_k45(const uint8_t* b, float* out) {
  const float d = H(rd16(b)), dmin = H(rd16(b + 2));
  uint8_t sc[8], m[8];
  k4_scale_min(b + 4, sc, m);
  const uint8_t* qh = b + 16;
  const uint8_t* q = b + (kBits == 4 ? 16 : 48);
  for (int i = 0; i < 4; i++, q += 32) {
    const float d0 = d * (float)sc[2 * i], o0 = dmin * (float)m[2 * i];
    const float d1 = d * (float)sc[2 * i + 1], o1 = dmin * (float)m[2 * i + 1];
    for (int l = 0; l < 32; l++) {
      int c0 = q[l] & 0x0f, c1 = q[l] >> 4;
      if (kBits == 5) c0 |= ((qh[l] >> (2 * i)) & 1) << 4, c1 |= ((qh[l] >> (2 * i + 1)) & 1) << 4;
      out[64 * i + l] = d0 * (float)c0 - o0;
      out[64 * i + 32 + l] = d1 * (float)c1 - o1;
    }
  }
}

// Q6_K: per 128-element half, ql[64] (low nibbles of elements l / l + 32, high
// nibbles of l + 64 / l + 96), qh[32] (2-bit pairs 0-1 / 2-3 / 4-5 / 6-7 for
// those four), one int8 scale per 16 elements, f16 d last.
template <HalfToFloat H>
static inline void decode_q6_k(const uint8_t* b, float* out) {
  const float d = H(rd16(b + 208));
  for (int half = 0; half < 2; half++) {
    const uint8_t* ql = b + 64 * half;
    const uint8_t* qh = b + 128 + 32 * half;
    const int8_t* sc = reinterpret_cast<const int8_t*>(b + 192) + 8 * half;
    float* y = out + 128 * half;
    for (int l = 0; l < 32; l++) {
      const int is = l / 16;
      const int q1 = (int)((ql[l] & 0x0f) | ((qh[l] & 3) << 4)) - 32;
      const int q2 = (int)((ql[l + 32] & 0x0f) | (((qh[l] >> 2) & 3) << 4)) - 32;
      const int q3 = (int)((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
      const int q4 = (int)((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
      y[l] = (d * (float)sc[is]) * (float)q1;
      y[l + 32] = (d * (float)sc[is + 2]) * (float)q2;
      y[l + 64] = (d * (float)sc[is + 4]) * (float)q3;
      y[l + 96] = (d * (float)sc[is + 6]) * (float)q4;
    }
  }
}

}  // namespace hl::codec
