// native/core/dtype.h: element / block types of weights.
// Values equal the GGUF `ggml_type` ids so the TS loader can pass them through.
// Block layouts are below; their decoders live in native/cpu/quant.cpp
// (docs/KERNELS.md, Weight blocks).
#pragma once
#include <cstdint>
#include <cstring>
#include <string>

#include "error.h"

namespace hl {

enum class DType : int32_t {
  F32 = 0,
  F16 = 1,
  Q4_0 = 2,
  Q8_0 = 8,
  Q4_K = 12,
  Q5_K = 13,
  Q6_K = 14,
  BF16 = 30,
};

// The one table of weight types: GGUF id, name, elements per block (1 for
// plain types) and bytes per block. The TS side reads it from the addon
// (dtypes(), lib/dtype.ts), so a new type is added here and nowhere else.
struct DTypeInfo {
  DType type;
  const char* name;
  int64_t block_size;
  int64_t block_bytes;
};
inline constexpr DTypeInfo kDTypes[] = {
    {DType::F32, "F32", 1, 4},         {DType::F16, "F16", 1, 2},        {DType::BF16, "BF16", 1, 2},
    {DType::Q8_0, "Q8_0", 32, 34},     {DType::Q4_0, "Q4_0", 32, 18},    {DType::Q4_K, "Q4_K", 256, 144},
    {DType::Q5_K, "Q5_K", 256, 176},   {DType::Q6_K, "Q6_K", 256, 210},
};

// The table entry of t (null for a value outside the enum).
inline const DTypeInfo* dtype_info(DType t) {
  for (const DTypeInfo& d : kDTypes)
    if (d.type == t) return &d;
  return nullptr;
}

inline const char* dtype_name(DType t) {
  const DTypeInfo* d = dtype_info(t);
  return d ? d->name : "unknown";
}

// Every type in the table has CPU kernels (decoders, matmul, embed).
inline bool dtype_supported(DType t) { return dtype_info(t) != nullptr; }

// Elements per block (1 for plain types) and bytes per block.
inline int64_t dtype_block_size(DType t) {
  const DTypeInfo* d = dtype_info(t);
  return d ? d->block_size : 1;
}
inline int64_t dtype_block_bytes(DType t) {
  const DTypeInfo* d = dtype_info(t);
  return d ? d->block_bytes : 0;
}

inline DType dtype_from_int(int32_t v, const std::string& what) {
  for (const DTypeInfo& d : kDTypes)
    if ((int32_t)d.type == v) return d.type;
  throw Error(ErrorCode::Unsupported, what + ": unknown tensor type id " + std::to_string(v));
}

// Bytes of one row of n elements; n must be a multiple of the block size.
inline int64_t dtype_row_bytes(DType t, int64_t n) {
  return n / dtype_block_size(t) * dtype_block_bytes(t);
}

// ---- scalar conversions (exact; used by references, loaders and slow paths)

inline float f16_to_f32(uint16_t h) {
  uint32_t sign = (uint32_t)(h & 0x8000) << 16;
  uint32_t exp = (h >> 10) & 0x1f;
  uint32_t man = h & 0x3ff;
  uint32_t bits;
  if (exp == 0) {
    if (man == 0) {
      bits = sign;
    } else {  // subnormal: renormalise
      int e = -1;
      do { e++; man <<= 1; } while (!(man & 0x400));
      man &= 0x3ff;
      bits = sign | ((uint32_t)(127 - 15 - e) << 23) | (man << 13);
    }
  } else if (exp == 31) {
    bits = sign | 0x7f800000u | (man << 13);
  } else {
    bits = sign | ((exp + 127 - 15) << 23) | (man << 13);
  }
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

inline uint16_t f32_to_f16(float f) {  // round to nearest even
  uint32_t x;
  std::memcpy(&x, &f, 4);
  uint32_t sign = (x >> 16) & 0x8000;
  int32_t exp = (int32_t)((x >> 23) & 0xff) - 127 + 15;
  uint32_t man = x & 0x7fffff;
  if (((x >> 23) & 0xff) == 0xff) return (uint16_t)(sign | 0x7c00 | (man ? 0x200 : 0));
  if (exp >= 31) return (uint16_t)(sign | 0x7c00);
  if (exp <= 0) {
    if (exp < -10) return (uint16_t)sign;
    man |= 0x800000;
    uint32_t shift = (uint32_t)(14 - exp);
    uint32_t half = man >> shift;
    uint32_t rem = man & ((1u << shift) - 1);
    uint32_t mid = 1u << (shift - 1);
    if (rem > mid || (rem == mid && (half & 1))) half++;
    return (uint16_t)(sign | half);
  }
  uint32_t h = sign | ((uint32_t)exp << 10) | (man >> 13);
  uint32_t rem = man & 0x1fff;
  if (rem > 0x1000 || (rem == 0x1000 && (h & 1))) h++;
  return (uint16_t)h;
}

inline float bf16_to_f32(uint16_t b) {
  uint32_t bits = (uint32_t)b << 16;
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

inline uint16_t f32_to_bf16(float f) {  // round to nearest even
  uint32_t x;
  std::memcpy(&x, &f, 4);
  if ((x & 0x7fffffff) > 0x7f800000) return (uint16_t)((x >> 16) | 0x40);
  x += 0x7fff + ((x >> 16) & 1);
  return (uint16_t)(x >> 16);
}

// GGUF Q8_0 block: fp16 scale d, then 32 int8; w = d * q.
struct BlockQ8_0 {
  uint16_t d;
  int8_t qs[32];
};
static_assert(sizeof(BlockQ8_0) == 34, "Q8_0 block must be 34 bytes");

// GGUF Q4_0 block: fp16 d, 16 bytes; byte j low nibble = element j, high
// nibble = element j + 16; w = d * (q - 8).
struct BlockQ4_0 {
  uint16_t d;
  uint8_t qs[16];
};
static_assert(sizeof(BlockQ4_0) == 18, "Q4_0 block must be 18 bytes");

// GGUF Q4_K super-block of 256: fp16 d, fp16 dmin, 12 bytes of eight 6-bit
// scales + eight 6-bit mins, 128 bytes of nibbles (per 64-element group i the
// low nibbles are sub-block 2i, the high nibbles sub-block 2i+1);
// w = d * sc_j * q - dmin * m_j.
struct BlockQ4_K {
  uint16_t d, dmin;
  uint8_t scales[12];
  uint8_t qs[128];
};
static_assert(sizeof(BlockQ4_K) == 144, "Q4_K block must be 144 bytes");

// GGUF Q5_K: as Q4_K plus qh[32] holding the fifth bit (bit 2i of qh[l] for
// element l of sub-block 2i, bit 2i+1 for sub-block 2i+1).
struct BlockQ5_K {
  uint16_t d, dmin;
  uint8_t scales[12];
  uint8_t qh[32];
  uint8_t qs[128];
};
static_assert(sizeof(BlockQ5_K) == 176, "Q5_K block must be 176 bytes");

// GGUF Q6_K: ql[128] low nibbles, qh[64] high 2-bit pairs, sixteen int8
// scales (one per 16 elements), fp16 d; w = d * scale_j * (q - 32).
struct BlockQ6_K {
  uint8_t ql[128];
  uint8_t qh[64];
  int8_t scales[16];
  uint16_t d;
};
static_assert(sizeof(BlockQ6_K) == 210, "Q6_K block must be 210 bytes");

}  // namespace hl
