// cuda/attention.cuh: work items and arguments shared by the attention kernels
// (attention.cu: SIMT kernel, split-KV combine, host planning; attention_mma.cu:
// the sm_80+ tensor-core kernel).
#pragma once
#include "common.cuh"
#include "graph_plan.h"

namespace hlc {

constexpr int kAttnRows = 32;   // rows per item
constexpr int kAttnKeys = 32;   // keys per tile (one per lane)
constexpr int kAttnWarps = 4;   // 8 rows per warp
constexpr int kRowsPerWarp = kAttnRows / kAttnWarps;
constexpr int64_t kMinSplitKeys = 256;
constexpr int kMmaRows = 64;          // tensor-core path: 4 warps x 16 rows
constexpr int kMmaKeys = 32;
constexpr int kMmaMinQueries = 16;    // use it when some sequence has >= 16 queries (prefill)

struct SeqKv {
  int64_t q_start, n_q, n_ctx, page_size, head_stride, token_stride, page_off;
};
struct AttnItem {
  int32_t seq, kvh, r0, r1;  // rows [r0, r1) of (token, group head) pairs
  int64_t k0, k1;            // keys [k0, k1)
  int64_t partial;           // float offset of this part's (m, l, o); -1 = write out
};
struct AttnMerge {
  int32_t seq, kvh, r0, r1;
  int64_t first, n_parts;
};
struct AttnArgs {
  float* out;                // [T, Hq, Dh]
  const float* q;            // [T, Hq, Dh]
  const SeqKv* seqs;         // [n_seqs]
  const float* const* kp;    // flattened page pointers
  const float* const* vp;
  float* partials;
  int64_t Hq, G, Dh;
  int64_t rows_per_item;  // kAttnRows (SIMT) or kMmaRows (tensor cores); also the partials' row count
  float scale;
  int32_t kv_f16;         // pages hold f16 elements (else f32); offsets count elements either way
};
HLC_GRAPH_PARAM_STRUCT(AttnArgs, 6 * 8 + 4 * 8 + 4 + 4);

// Element idx of a KV page of f32 or f16 elements, as f32.
__device__ __forceinline__ float kv_at(const float* page, int64_t idx, int f16) {
  return f16 ? __half2float(reinterpret_cast<const __half*>(page)[idx]) : page[idx];
}

__device__ __forceinline__ int64_t row_pos(const SeqKv& sk, int64_t R, int64_t G) {
  return sk.n_ctx - sk.n_q + R / G;
}

// Launches attention_mma_kernel<nt> (nt = Dh / 8 in {8, 10, 12, 16, 32}).
int attention_mma_launch(int nt, const AttnArgs& a, const AttnItem* items, int64_t n_items, size_t smem);

}  // namespace hlc
