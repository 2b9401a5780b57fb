// native/core/op_types.h: parameter structs shared by every backend's
// kernels (CPU and CUDA take the same descriptions of a step).
#pragma once
#include <cstdint>

#include "tensor.h"

namespace hl {

struct SsmDims {
  int64_t n_heads;   // H
  int64_t head_dim;  // P
  int64_t d_state;   // N
  int64_t n_groups;  // G; head h uses group h / (H / G)
};

// Row strides (floats from one token's row to the next) of the scan's
// per-token inputs, so they can be column views of wider buffers (x, B, C of
// the conv output; dt of the in_proj output). 0 = contiguous: H * P for x,
// H for dt, G * N for B and C (B and C share one stride).
struct SsmStrides {
  int64_t x = 0;
  int64_t dt = 0;
  int64_t bc = 0;
};

// Keys/values of one sequence: key j of kv head h starts at element
//   k_pages[j / page_size] + h * head_stride + (j % page_size) * token_stride
// counted in elements of `dtype` (values likewise). F32 and F16 rows are
// head_dim plain elements. Q8_0 rows are head_dim int8 values (one byte per
// element, so the pointers are byte addresses despite their type) in blocks of
// 32 (the last may be shorter) with one f32 scale per block; the scales of row
// r = (h * head_stride + (j % page_size) * token_stride) / head_dim sit at
// (const float*)((const uint8_t*)page + scale_offset) + r * ceil(head_dim / 32).
// Layouts and tolerances: docs/MEMORY.md.
struct KvView {
  const float* const* k_pages;
  const float* const* v_pages;
  int64_t page_size;
  int64_t head_stride;
  int64_t token_stride;
  int64_t n_ctx;  // keys visible in total (cached + new)
  DType dtype = DType::F32;  // F32, F16 or Q8_0
  int64_t scale_offset = 0;  // Q8_0 only: bytes from a page pointer to its scales
};

// Elements per Q8_0 KV scale block.
constexpr int64_t kKvQ8Block = 32;
// Scale blocks of one Q8_0 KV row of head_dim elements (the last may be shorter).
constexpr int64_t kv_q8_blocks(int64_t head_dim) { return (head_dim + kKvQ8Block - 1) / kKvQ8Block; }
// Bytes of one stored KV element (Q8_0: the int8 value; its scales lie apart).
constexpr int64_t kv_elem_bytes(DType dtype) { return dtype == DType::F32 ? 4 : dtype == DType::F16 ? 2 : 1; }

struct AttentionDims {
  int64_t n_heads;     // query heads Hq
  int64_t n_kv_heads;  // Hkv; query head h uses kv head h / (Hq / Hkv)
  int64_t head_dim;    // Dh
  float scale;         // score = scale * q·k (Granite: attention_multiplier)
};

struct MoeWeights {
  // Expert e is expert 0's view moved by e * <which>_expert_stride bytes, so
  // fused HF [E, 2F, D] tensors and separate GGUF ones need no copy.
  WeightView gate;          // expert 0: [F, D]
  WeightView up;            // expert 0: [F, D]
  WeightView down;          // expert 0: [D, F]
  int64_t gate_expert_stride;  // bytes between experts
  int64_t up_expert_stride;
  int64_t down_expert_stride;
  int64_t n_experts;
};

}  // namespace hl
