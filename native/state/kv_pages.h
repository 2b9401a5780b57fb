// native/state/kv_pages.h: the layout of one KV page. A page holds
// `page_size` consecutive tokens of one sequence for every attention layer:
// layer a's key block then its value block, each [n_kv_heads][page_size] rows
// of head_dim elements of `dtype` (F32, F16 or Q8_0; Q8_0 blocks end with
// their f32 scales, KvView in native/core/op_types.h). Pages are blocks of the
// model's KV BlockArena, shared copy-on-write between sequences, forks and
// prefix-cache checkpoints (docs/MEMORY.md).
#pragma once
#include <cstdint>

#include "../core/dtype.h"
#include "../core/op_types.h"

namespace hl {

struct KvLayout {
  int64_t n_attn_layers = 0;
  int64_t n_kv_heads = 0;
  int64_t head_dim = 0;
  int64_t page_size = 16;
  DType dtype = DType::F32;

  int64_t rows() const { return n_kv_heads * page_size; }
  // Bytes of one row's elements (Q8_0: one byte per element) and, for Q8_0, its scales.
  int64_t row_bytes() const { return head_dim * kv_elem_bytes(dtype); }
  int64_t q8_blocks() const { return kv_q8_blocks(head_dim); }
  int64_t scale_offset() const { return rows() * row_bytes(); }
  // One layer's key (or value) block, 64-byte aligned.
  uint64_t block_bytes() const {
    uint64_t b = (uint64_t)(rows() * row_bytes());
    if (dtype == DType::Q8_0) b += (uint64_t)(rows() * q8_blocks()) * sizeof(float);
    return (b + 63) / 64 * 64;
  }
  uint64_t page_bytes() const { return (uint64_t)n_attn_layers * 2 * block_bytes(); }
  // Offset of layer a's key (values: value) block in a page.
  uint64_t layer_offset(int64_t a, bool values) const { return (uint64_t)(a * 2 + (values ? 1 : 0)) * block_bytes(); }
  // Strides of a view, in elements of dtype.
  int64_t head_stride() const { return page_size * head_dim; }
  int64_t token_stride() const { return head_dim; }
};

}  // namespace hl
