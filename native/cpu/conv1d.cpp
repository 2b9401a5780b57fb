// native/cpu/conv1d.cpp: causal depthwise conv1d + bias + SiLU (docs/KERNELS.md, conv1d).
//   out[t, c] = silu(bias[c] + sum_{j<K} w[c, j] * in[t - (K-1) + j, c])
// with K = d_conv; rows before a sequence's first token come from its conv
// state [K-1, channels] (oldest first). Afterwards the state holds the last
// K-1 raw input rows; a sequence shorter than K-1 shifts its rows in behind
// the older state rows.
// Layouts: out [n_tokens, channels]; in rows of `channels` floats, in_stride
// apart (a column view of the in_proj output in the executor); w [channels, K];
// bias [channels]; states[s] [K-1, channels] (channels contiguous).
// Parallelisation: work items are (sequence, block of kChanBlock channels),
// so each item owns a disjoint slice of out and of one state; a call with less
// than kMinParallelMacs of work (a decode step of a few sequences) runs inline
// on the calling thread instead of waking the pool. Inside an item
// the weights are transposed to [K, block] once and the loop runs over tokens
// with channels innermost (vectorised); each input row is read K times from L1.
// Numerics: f32 accumulation, SiLU in f32 (SimdOps::silu_mul).
#include <algorithm>
#include <cstring>
#include <utility>
#include <vector>

#include "kernel_util.h"
#include "kernels.h"

namespace hl::cpu {

constexpr int64_t kChanBlock = 64;
constexpr int64_t kMinParallelMacs = 32768;  // less than this per piece: not worth a fork/join

// Items per thread piece for items of `macs` multiply-adds each.
static int64_t item_grain(int64_t macs) { return std::max<int64_t>(1, kMinParallelMacs / std::max<int64_t>(1, macs)); }

// ---- kernels

// One sequence of `len` tokens, channels [c0, c1). in_seq/out_seq point at the
// sequence's first row; state is [K-1, channels] or unused when K == 1.
static void conv1d_block(float* out_seq, const float* in_seq, int64_t in_stride, const float* w, const float* bias,
                         int64_t channels, int d_conv, int64_t len, float* state, int64_t c0, int64_t c1,
                         float* wt /* [d_conv, kChanBlock] */) {
  const int64_t nb = c1 - c0;
  const int64_t hist = d_conv - 1;
  for (int j = 0; j < d_conv; j++)
    for (int64_t c = 0; c < nb; c++) wt[j * kChanBlock + c] = w[(c0 + c) * d_conv + j];
  float acc[kChanBlock];
  for (int64_t t = 0; t < len; t++) {
    for (int64_t c = 0; c < nb; c++) acc[c] = bias ? bias[c0 + c] : 0.0f;
    for (int j = 0; j < d_conv; j++) {
      int64_t rel = t - hist + j;  // input row relative to the sequence start
      const float* src = rel < 0 ? state + (hist + rel) * channels + c0 : in_seq + rel * in_stride + c0;
      const float* wj = wt + j * kChanBlock;
      for (int64_t c = 0; c < nb; c++) acc[c] += wj[c] * src[c];
    }
    float* dst = out_seq + t * channels + c0;
    simd_ops().silu_mul(dst, acc, nullptr, nb);
  }
  // New state: the last `hist` raw rows of (old state ++ this sequence's inputs).
  if (hist == 0 || len == 0) return;
  const size_t bytes = (size_t)nb * sizeof(float);
  int64_t kept = std::max<int64_t>(0, hist - len);  // old rows that survive
  for (int64_t r = 0; r < kept; r++)                // ascending: row r reads a later row
    std::memmove(state + r * channels + c0, state + (r + len) * channels + c0, bytes);
  for (int64_t r = kept; r < hist; r++)
    std::memcpy(state + r * channels + c0, in_seq + (len - hist + r) * in_stride + c0, bytes);
}

// ---- entry points

// Work items are (sequence, channel block); sequence s covers tokens
// [start(s), start(s) + len(s)) of in/out. A step is a prefill of one token
// per sequence.
template <typename SeqRange>
static void conv1d_run(ThreadPool& pool, float* out, const float* in, const float* w, const float* bias,
                       int64_t channels, int d_conv, int n_seqs, float* const* states, int64_t in_stride,
                       int64_t mean_len, SeqRange range) {
  const int64_t n_blocks = (channels + kChanBlock - 1) / kChanBlock, ld = in_stride ? in_stride : channels;
  pool.parallel_for(
      (int64_t)n_seqs * n_blocks,
      [&](int64_t b, int64_t e, int) {
        std::vector<float> wt((size_t)d_conv * kChanBlock);
        for (int64_t it = b; it < e; it++) {
          const int64_t s = it / n_blocks, cb = it % n_blocks;
          const auto [start, len] = range(s);
          const int64_t c0 = cb * kChanBlock, c1 = std::min(channels, c0 + kChanBlock);
          conv1d_block(out + start * channels, in + start * ld, ld, w, bias, channels, d_conv, len, states[s], c0,
                       c1, wt.data());
        }
      },
      item_grain(kChanBlock * d_conv * mean_len));
}

void conv1d_causal_prefill(ThreadPool& pool, float* out, const float* in, const float* w, const float* bias,
                           int64_t channels, int d_conv, const int32_t* cu_seqlens, int n_seqs,
                           float* const* states, int64_t in_stride) {
  const int64_t mean_len = std::max<int64_t>(1, cu_seqlens[n_seqs] / std::max(1, n_seqs));
  conv1d_run(pool, out, in, w, bias, channels, d_conv, n_seqs, states, in_stride, mean_len, [&](int64_t s) {
    return std::pair<int64_t, int64_t>{cu_seqlens[s], cu_seqlens[s + 1] - cu_seqlens[s]};
  });
}

void conv1d_causal_step(ThreadPool& pool, float* out, const float* in, const float* w, const float* bias,
                        int64_t channels, int d_conv, int n_seqs, float* const* states, int64_t in_stride) {
  conv1d_run(pool, out, in, w, bias, channels, d_conv, n_seqs, states, in_stride, 1,
             [](int64_t s) { return std::pair<int64_t, int64_t>{s, 1}; });
}

}  // namespace hl::cpu
