// native/cpu/moe.cpp: MoE routing and grouped expert FFN (docs/KERNELS.md, MoE).
// moe_route:   ids[t, :] = the top_k largest logits[t, :] (ties -> lower expert
//              index), weights[t, :] = softmax over those k logits (f32).
// moe_forward: out[t] = sum_j weights[t, j] * down_e · (silu(gate_e · x[t]) * (up_e · x[t])),
//              e = ids[t, j].
// Layouts: logits [n_tokens, E]; ids, weights [n_tokens, top_k]; x, out
// [n_tokens, D]; expert e's gate/up [F, D] and down [D, F] sit expert_stride
// bytes after expert 0's (any supported dtype).
// Dispatch (MegaBlocks-style grouping): the n_tokens * top_k (token, slot)
// pairs are counting-sorted by expert (histogram -> exclusive scan -> scatter),
// giving each expert a contiguous run of "sorted slots" and every pair its
// position in that order. Then, in four flat parallel regions (never nested):
//   1. gate|up: items (active expert, gate or up, block of weight rows): each
//      item streams its weight rows once and multiplies them with the
//      expert's tokens, read through the index list (no gather copy);
//   2. swiglu over the [slots, F] hidden rows;
//   3. down: items (active expert, block of D rows) -> [slots, D];
//   4. combine: each token sums its top_k rows scaled by their routing weight
//      (threads split tokens, so the scatter-add has no races).
// Tokens go in batches of <= kMaxSlots / top_k so scratch stays bounded.
// Numerics: f32 accumulation throughout (matmul_rows), softmax in f32.
#include <algorithm>
#include <cmath>
#include <vector>

#include "kernel_util.h"
#include "kernels.h"

namespace hl::cpu {

constexpr int64_t kMaxSlots = 2048;  // (token, expert) pairs per batch

// ---- routing

void moe_route(ThreadPool& pool, int32_t* ids, float* weights, const float* logits, int64_t n_tokens,
               int64_t n_experts, int64_t top_k) {
  pool.parallel_for(
      n_tokens,
      [&](int64_t b, int64_t e, int) {
        std::vector<char> taken((size_t)n_experts, 0);
        for (int64_t t = b; t < e; t++) {
          const float* lg = logits + t * n_experts;  // [E]
          int32_t* id = ids + t * top_k;             // [k]
          float* wt = weights + t * top_k;           // [k]
          for (int64_t j = 0; j < top_k; j++) {
            int64_t best = -1;
            for (int64_t x = 0; x < n_experts; x++) {
              if (taken[x]) continue;
              if (best < 0 || lg[x] > lg[best]) best = x;  // strict: ties keep the lower index
            }
            taken[best] = 1;
            id[j] = (int32_t)best;
          }
          // id[0] holds the largest logit: softmax with it as the max.
          const float m = lg[id[0]];
          float sum = 0.0f;
          for (int64_t j = 0; j < top_k; j++) {
            wt[j] = std::exp(lg[id[j]] - m);
            sum += wt[j];
          }
          for (int64_t j = 0; j < top_k; j++) {
            wt[j] /= sum;
            taken[id[j]] = 0;
          }
        }
      },
      std::max<int64_t>(1, 4096 / std::max<int64_t>(1, n_experts * top_k)));
}

// ---- expert dispatch

namespace {

WeightView expert_view(const WeightView& w0, int64_t stride, int64_t e) {
  WeightView v = w0;
  v.data = w0.data + e * stride;
  return v;
}

struct Item {
  int32_t expert;
  int32_t which;  // 0 gate, 1 up, 2 down
  int64_t r0, r1;
};

}  // namespace

// One batch of tokens [tb, tb + nt).
static void moe_forward_batch(ThreadPool& pool, float* out, const float* x, const int32_t* ids, const float* weights,
                              int64_t tb, int64_t nt, int64_t top_k, const MoeWeights& w, float* h_gate,
                              float* h_up, float* o_sorted) {
  const int64_t E = w.n_experts, D = w.gate.cols, F = w.gate.rows, np = nt * top_k;
  const int32_t* bids = ids + tb * top_k;  // [nt, k]

  // Counting sort of the pairs by expert.
  std::vector<int64_t> offset((size_t)E + 1, 0);
  for (int64_t p = 0; p < np; p++) offset[bids[p] + 1]++;
  for (int64_t e = 0; e < E; e++) offset[e + 1] += offset[e];
  std::vector<int64_t> fill(offset.begin(), offset.end() - 1);
  std::vector<int32_t> slot_token((size_t)np);  // sorted slot -> token row in x
  std::vector<int64_t> pair_slot((size_t)np);   // pair (t, j) -> sorted slot
  for (int64_t p = 0; p < np; p++) {
    int64_t s = fill[bids[p]]++;
    slot_token[s] = (int32_t)(tb + p / top_k);
    pair_slot[p] = s;
  }

  // Work items, biggest experts first (dynamic schedule).
  std::vector<int32_t> active;
  for (int64_t e = 0; e < E; e++)
    if (offset[e + 1] > offset[e]) active.push_back((int32_t)e);
  std::stable_sort(active.begin(), active.end(), [&](int32_t a, int32_t b) {
    return offset[a + 1] - offset[a] > offset[b + 1] - offset[b];
  });
  auto make_items = [&](std::initializer_list<int> which, int64_t n_rows, const WeightView& v0) {
    std::vector<Item> items;
    const int64_t rows = std::max<int64_t>(4, matmul_row_grain(v0));
    for (int32_t e : active)
      for (int wh : which)
        for (int64_t r = 0; r < n_rows; r += rows) items.push_back({e, wh, r, std::min(n_rows, r + rows)});
    return items;
  };
  auto run_items = [&](const std::vector<Item>& items) {
    parallel_items(pool, (int64_t)items.size(), [&](int64_t i) {
      const Item& it = items[i];
      const int64_t s0 = offset[it.expert], n_e = offset[it.expert + 1] - s0;
      thread_local std::vector<float> scratch;
      if (it.which == 2) {
        WeightView v = expert_view(w.down, w.down_expert_stride, it.expert);
        scratch.resize((size_t)matmul_scratch_floats(v, it.r1 - it.r0, n_e));
        matmul_rows(o_sorted + s0 * D + it.r0, D, h_gate + s0 * F, F, nullptr, n_e, v, it.r0, it.r1,
                    scratch.data());
      } else {
        WeightView v = it.which == 0 ? expert_view(w.gate, w.gate_expert_stride, it.expert)
                                     : expert_view(w.up, w.up_expert_stride, it.expert);
        float* h = it.which == 0 ? h_gate : h_up;
        scratch.resize((size_t)matmul_scratch_floats(v, it.r1 - it.r0, n_e));
        matmul_rows(h + s0 * F + it.r0, F, x, D, slot_token.data() + s0, n_e, v, it.r0, it.r1, scratch.data());
      }
    });
  };

  run_items(make_items({0, 1}, F, w.gate));  // h_gate, h_up [np, F]
  swiglu(pool, h_gate, h_gate, h_up, np, F);
  run_items(make_items({2}, D, w.down));     // o_sorted [np, D]

  pool.parallel_for(
      nt,
      [&](int64_t b, int64_t e, int) {
        for (int64_t t = b; t < e; t++) {
          float* o = out + (tb + t) * D;  // [D]
          const float* wt = weights + (tb + t) * top_k;
          for (int64_t d = 0; d < D; d++) o[d] = 0.0f;
          for (int64_t j = 0; j < top_k; j++) axpy_f32(o, wt[j], o_sorted + pair_slot[t * top_k + j] * D, D);
        }
      },
      std::max<int64_t>(1, 8192 / std::max<int64_t>(1, D * top_k)));
}

void moe_forward(ThreadPool& pool, float* out, const float* x, const int32_t* ids, const float* weights,
                 int64_t n_tokens, int64_t top_k, const MoeWeights& w) {
  if (n_tokens <= 0) return;
  const int64_t D = w.gate.cols, F = w.gate.rows;
  const int64_t batch = std::max<int64_t>(1, kMaxSlots / std::max<int64_t>(1, top_k));
  const int64_t slots = std::min(n_tokens, batch) * top_k;
  auto h_gate = scratch_f32(slots * F);    // [slots, F]
  auto h_up = scratch_f32(slots * F);      // [slots, F]
  auto o_sorted = scratch_f32(slots * D);  // [slots, D]
  for (int64_t tb = 0; tb < n_tokens; tb += batch)
    moe_forward_batch(pool, out, x, ids, weights, tb, std::min(batch, n_tokens - tb), top_k, w, h_gate.get(),
                      h_up.get(), o_sorted.get());
}

}  // namespace hl::cpu
