// cuda/quant.cuh: weight-row decoders shared by matmul, embed and moe.
// One decoder per weight type (native/core/dtype.h ids, GGUF layouts, docs/KERNELS.md):
//   load1(row, k)        -> element k of the row as f32 (any k)
//   load8(row, k0, w[8]) -> elements k0 .. k0+7 (k0 % 8 == 0, inside the row)
// Block layouts (bytes):
//   Q8_0 (32 / 34 B):  d f16 | q int8[32]                          w = d * q
//   Q4_0 (32 / 18 B):  d f16 | qs[16]: byte j low nibble = element j, high = element j + 16;
//        w = d * (q - 8)
//   Q4_K (256 / 144 B): d f16 | dmin f16 | scales[12] | qs[128]
//        sub-block j (32 elements): nibbles in qs[32*(j/2) ..+32], low nibble for even j,
//        high for odd j; (sc, m) 6-bit: j<4: sc = s[j]&63, m = s[j+4]&63;
//        j>=4: sc = (s[j+4]&15) | (s[j-4]>>6)<<4, m = (s[j+4]>>4) | (s[j]>>6)<<4;
//        w = d*sc*q - dmin*m
//   Q5_K (256 / 176 B): d f16 | dmin f16 | scales[12] | qh[32] | qs[128]: as Q4_K, plus
//        bit j of qh[l] as the fifth bit of element l of sub-block j
//   Q6_K (256 / 210 B): ql[128] | qh[64] | scales int8[16] | d f16
//        half h = e/128, l = e%32, quad = (e%128)/32:
//        q = ((ql[64h + 32(quad&1) + l] >> 4*(quad>>1)) & 15) | ((qh[32h + l] >> 2*quad) & 3) << 4
//        w = d * scales[8h + 2*quad + l/16] * (q - 32)
// All decoding is exact in f32 (f16 scale * small integer), matching the CPU
// dequantizer; accumulation happens in the caller in f32.
#pragma once
#include "common.cuh"
#include "int_units.h"  // WType, q4k_scale_min

namespace hlc {

template <int DT> struct Dec;

template <> struct Dec<kF32> {
  static constexpr int kBlock = 1;
  __device__ static float load1(const uint8_t* row, int64_t k) { return reinterpret_cast<const float*>(row)[k]; }
  // Requires 16-byte aligned rows (checked by the launcher).
  __device__ static void load8(const uint8_t* row, int64_t k0, float* w) {
    const float4 a = ld_f4(reinterpret_cast<const float*>(row) + k0);
    const float4 b = ld_f4(reinterpret_cast<const float*>(row) + k0 + 4);
    w[0] = a.x; w[1] = a.y; w[2] = a.z; w[3] = a.w;
    w[4] = b.x; w[5] = b.y; w[6] = b.z; w[7] = b.w;
  }
};

template <int DT> struct Dec16 {  // F16 / BF16
  __device__ static float cvt(uint16_t v) { return DT == kF16 ? f16_bits_to_f32(v) : bf16_bits_to_f32(v); }
  static constexpr int kBlock = 1;
  __device__ static float load1(const uint8_t* row, int64_t k) { return cvt(ld_u16(row + 2 * k)); }
  __device__ static void load8(const uint8_t* row, int64_t k0, float* w) {
    const uint4 v = *reinterpret_cast<const uint4*>(row + 2 * k0);
    const uint32_t u[4] = {v.x, v.y, v.z, v.w};
#pragma unroll
    for (int i = 0; i < 4; i++) {
      w[2 * i] = cvt((uint16_t)(u[i] & 0xffff));
      w[2 * i + 1] = cvt((uint16_t)(u[i] >> 16));
    }
  }
};
template <> struct Dec<kF16> : Dec16<kF16> {};
template <> struct Dec<kBF16> : Dec16<kBF16> {};

template <> struct Dec<kQ8_0> {
  static constexpr int kBlock = 32;
  __device__ static float load1(const uint8_t* row, int64_t k) {
    const uint8_t* blk = row + (k >> 5) * 34;
    return f16_bits_to_f32(ld_u16(blk)) * (float)reinterpret_cast<const int8_t*>(blk + 2)[k & 31];
  }
  __device__ static void load8(const uint8_t* row, int64_t k0, float* w) {
    const uint8_t* blk = row + (k0 >> 5) * 34;
    const float d = f16_bits_to_f32(ld_u16(blk));
    const uint8_t* q = blk + 2 + (k0 & 31);  // 2-byte aligned
#pragma unroll
    for (int i = 0; i < 4; i++) {
      const uint16_t v = ld_u16(q + 2 * i);
      w[2 * i] = d * (float)(int8_t)(v & 0xff);
      w[2 * i + 1] = d * (float)(int8_t)(v >> 8);
    }
  }
};

template <> struct Dec<kQ4_0> {
  static constexpr int kBlock = 32;
  __device__ static float load1(const uint8_t* row, int64_t k) {
    const uint8_t* blk = row + (k >> 5) * 18;
    const int j = (int)(k & 31);
    const int q = (blk[2 + (j & 15)] >> (j < 16 ? 0 : 4)) & 15;
    return f16_bits_to_f32(ld_u16(blk)) * (float)(q - 8);
  }
  __device__ static void load8(const uint8_t* row, int64_t k0, float* w) {
    const uint8_t* blk = row + (k0 >> 5) * 18;
    const int j0 = (int)(k0 & 31), sh = j0 < 16 ? 0 : 4;
    const float d = f16_bits_to_f32(ld_u16(blk));
    const uint8_t* q = blk + 2 + (j0 & 15);
#pragma unroll
    for (int i = 0; i < 8; i++) w[i] = d * (float)(((q[i] >> sh) & 15) - 8);
  }
};

template <> struct Dec<kQ4_K> {
  static constexpr int kBlock = 256;
  __device__ static float load1(const uint8_t* row, int64_t k) {
    const uint8_t* blk = row + (k >> 8) * 144;
    const int e = (int)(k & 255), j = e >> 5, l = e & 31;
    int sc, m;
    q4k_scale_min(blk + 4, j, sc, m);
    const int q = (blk[16 + 32 * (j >> 1) + l] >> (4 * (j & 1))) & 15;
    return f16_bits_to_f32(ld_u16(blk)) * (float)sc * (float)q - f16_bits_to_f32(ld_u16(blk + 2)) * (float)m;
  }
  __device__ static void load8(const uint8_t* row, int64_t k0, float* w) {
    const uint8_t* blk = row + (k0 >> 8) * 144;
    const int e = (int)(k0 & 255), j = e >> 5, l = e & 31;
    int sc, m;
    q4k_scale_min(blk + 4, j, sc, m);
    const float ds = f16_bits_to_f32(ld_u16(blk)) * (float)sc;
    const float dm = f16_bits_to_f32(ld_u16(blk + 2)) * (float)m;
    const uint8_t* q = blk + 16 + 32 * (j >> 1) + l;  // 8-byte aligned when row is
    const int sh = 4 * (j & 1);
#pragma unroll
    for (int i = 0; i < 8; i++) w[i] = ds * (float)((q[i] >> sh) & 15) - dm;
  }
};

template <> struct Dec<kQ5_K> {
  static constexpr int kBlock = 256;
  __device__ static float load1(const uint8_t* row, int64_t k) {
    const uint8_t* blk = row + (k >> 8) * 176;
    const int e = (int)(k & 255), j = e >> 5, l = e & 31;
    int sc, m;
    q4k_scale_min(blk + 4, j, sc, m);
    const int q = ((blk[48 + 32 * (j >> 1) + l] >> (4 * (j & 1))) & 15) | (((blk[16 + l] >> j) & 1) << 4);
    return f16_bits_to_f32(ld_u16(blk)) * (float)sc * (float)q - f16_bits_to_f32(ld_u16(blk + 2)) * (float)m;
  }
  __device__ static void load8(const uint8_t* row, int64_t k0, float* w) {
    const uint8_t* blk = row + (k0 >> 8) * 176;
    const int e = (int)(k0 & 255), j = e >> 5, l = e & 31;
    int sc, m;
    q4k_scale_min(blk + 4, j, sc, m);
    const float ds = f16_bits_to_f32(ld_u16(blk)) * (float)sc;
    const float dm = f16_bits_to_f32(ld_u16(blk + 2)) * (float)m;
    const uint8_t* q = blk + 48 + 32 * (j >> 1) + l;
    const uint8_t* qh = blk + 16 + l;
    const int sh = 4 * (j & 1);
#pragma unroll
    for (int i = 0; i < 8; i++) w[i] = ds * (float)(((q[i] >> sh) & 15) | (((qh[i] >> j) & 1) << 4)) - dm;
  }
};

template <> struct Dec<kQ6_K> {
  static constexpr int kBlock = 256;
  __device__ static float load1(const uint8_t* row, int64_t k) {
    const uint8_t* blk = row + (k >> 8) * 210;
    const int e = (int)(k & 255), h = e >> 7, quad = (e & 127) >> 5, l = e & 31;
    const int lo = (blk[64 * h + 32 * (quad & 1) + l] >> (4 * (quad >> 1))) & 15;
    const int hi = (blk[128 + 32 * h + l] >> (2 * quad)) & 3;
    const float d = f16_bits_to_f32(ld_u16(blk + 208));
    const int8_t sc = reinterpret_cast<const int8_t*>(blk + 192)[8 * h + 2 * quad + (l >> 4)];
    return d * (float)sc * (float)((lo | (hi << 4)) - 32);
  }
  __device__ static void load8(const uint8_t* row, int64_t k0, float* w) {
    const uint8_t* blk = row + (k0 >> 8) * 210;
    const int e = (int)(k0 & 255), h = e >> 7, quad = (e & 127) >> 5, l = e & 31;
    const float d = f16_bits_to_f32(ld_u16(blk + 208));
    const int8_t sc = reinterpret_cast<const int8_t*>(blk + 192)[8 * h + 2 * quad + (l >> 4)];
    const float ds = d * (float)sc;
    const uint8_t* ql = blk + 64 * h + 32 * (quad & 1) + l;
    const uint8_t* qh = blk + 128 + 32 * h + l;
    const int sl = 4 * (quad >> 1), sh = 2 * quad;
#pragma unroll
    for (int i = 0; i < 8; i++) w[i] = ds * (float)((((ql[i] >> sl) & 15) | (((qh[i] >> sh) & 3) << 4)) - 32);
  }
};

// Calls fn(std::integral_constant<int, DT>) for a supported weight type;
// returns false for any other (the caller reports HLC_UNSUPPORTED naming the op).
template <typename Fn> bool dispatch_wtype(int32_t dt, Fn&& fn) {
  switch (dt) {
    case kF32: fn(std::integral_constant<int, kF32>()); return true;
    case kF16: fn(std::integral_constant<int, kF16>()); return true;
    case kBF16: fn(std::integral_constant<int, kBF16>()); return true;
    case kQ8_0: fn(std::integral_constant<int, kQ8_0>()); return true;
    case kQ4_0: fn(std::integral_constant<int, kQ4_0>()); return true;
    case kQ4_K: fn(std::integral_constant<int, kQ4_K>()); return true;
    case kQ5_K: fn(std::integral_constant<int, kQ5_K>()); return true;
    case kQ6_K: fn(std::integral_constant<int, kQ6_K>()); return true;
    default: return false;
  }
}

inline int64_t wtype_block(int32_t dt) {
  switch (dt) {
    case kQ8_0: case kQ4_0: return 32;
    case kQ4_K: case kQ5_K: case kQ6_K: return 256;
    default: return 1;
  }
}
inline int64_t wtype_block_bytes(int32_t dt) {
  switch (dt) {
    case kF32: return 4;
    case kF16: case kBF16: return 2;
    case kQ8_0: return 34;
    case kQ4_0: return 18;
    case kQ4_K: return 144;
    case kQ5_K: return 176;
    case kQ6_K: return 210;
    default: return 0;
  }
}

}  // namespace hlc
