// cuda/conv1d.cu: causal depthwise conv1d + bias + SiLU (docs/KERNELS.md), twin of native/cpu/conv1d.cpp.
//   out[t, c] = silu(bias[c] + sum_{j<K} w[c, j] * in[t - (K-1) + j, c])     K = d_conv <= 8
// Rows before a sequence's first token come from its conv state [K-1, channels]
// (oldest first; zeros when the state pointer is null = padding row); after the
// call the state holds the last K-1 raw input rows (a short sequence shifts in
// behind the older rows).
// Layouts: in, out [n_tokens, channels] (the *_strided entry points: rows of
// in any stride apart, a column view of a wider buffer); w [channels, K]; bias
// [channels] (may be null); states: host array of device pointers, copied.
// Prefill: grid (channel blocks of 128, token runs of 32). A thread owns one
// channel and a run of tokens, keeps the K weights and a sliding window of the
// last K-1 inputs in registers, so each input element is loaded once per
// thread (coalesced over channels); the window restarts at sequence starts
// (from the state). A second kernel then writes the new states (it must run
// after every read of the old state, hence the separate launch).
// Step: one thread per (sequence, channel): window from the state, shift.
// Numerics: f32.
#include "common.cuh"

namespace hlc {

constexpr int kMaxConv = 8;
constexpr int kConvTokRun = 32;
constexpr int kConvChanBlock = 128;

// ---- device code

__global__ void __launch_bounds__(kConvChanBlock)
conv1d_prefill_kernel(float* out,                 // [n_tokens, C]
                      const float* in,            // [n_tokens] rows of C, ldin apart
                      int64_t ldin,
                      const float* w,             // [C, K]
                      const float* bias,          // [C] or null
                      int64_t C, int K,
                      const int32_t* cu,          // [n_seqs + 1] (device)
                      int n_seqs,
                      float* const* states,       // [n_seqs] -> [K-1, C] (device array)
                      int64_t n_tokens) {
  const int64_t c = (int64_t)blockIdx.x * kConvChanBlock + threadIdx.x;
  if (c >= C) return;
  const int64_t t0 = (int64_t)blockIdx.y * kConvTokRun;
  const int64_t t1 = t0 + kConvTokRun < n_tokens ? t0 + kConvTokRun : n_tokens;
  const int hist = K - 1;
  float wr[kMaxConv];
#pragma unroll
  for (int j = 0; j < kMaxConv; j++) wr[j] = j < K ? w[c * K + j] : 0.0f;
  const float b = bias ? bias[c] : 0.0f;
  // Sequence of t0: the last s with cu[s] <= t0 (binary search; empty sequences skipped below).
  int lo = 0, hi = n_seqs - 1;
  while (lo < hi) {
    const int mid = (lo + hi + 1) >> 1;
    if (cu[mid] <= t0) lo = mid;
    else hi = mid - 1;
  }
  int s = lo;
  int64_t seq_end = -1;  // forces the window (re)load at the first token
  float win[kMaxConv];   // win[j] = input row (t - hist + j)
#pragma unroll
  for (int j = 0; j < kMaxConv; j++) win[j] = 0.0f;
  for (int64_t t = t0; t < t1; t++) {
    if (t >= seq_end) {
      while (cu[s + 1] <= t) s++;  // next non-empty sequence holding t
      const int64_t start = cu[s];
      seq_end = cu[s + 1];
      const float* st = states[s];
#pragma unroll
      for (int j = 0; j < kMaxConv; j++) {
        if (j >= hist) break;
        const int64_t rel = (t - start) - hist + j;
        win[j] = rel >= 0 ? in[(start + rel) * ldin + c] : (st ? st[(hist + rel) * C + c] : 0.0f);
      }
    }
    const float cur = in[t * ldin + c];
    float acc = b;
#pragma unroll
    for (int j = 0; j < kMaxConv - 1; j++)
      if (j < hist) acc += wr[j] * win[j];
    // wr[hist] * cur without a dynamic register index:
#pragma unroll
    for (int j = 0; j < kMaxConv; j++)
      if (j == hist) acc += wr[j] * cur;
    out[t * C + c] = silu_f(acc);
#pragma unroll
    for (int j = 0; j < kMaxConv - 1; j++)
      if (j + 1 < hist) win[j] = win[j + 1];
#pragma unroll
    for (int j = 0; j < kMaxConv; j++)
      if (j == hist - 1) win[j] = cur;
  }
}

// New state = last K-1 rows of (old state ++ the sequence's inputs). Rows go in
// ascending order so row r reads the later row r + len before it changes.
__global__ void conv1d_state_kernel(const float* in,       // [n_tokens] rows of C, ldin apart
                                    int64_t ldin, int64_t C, int K,
                                    const int32_t* cu,     // [n_seqs + 1]
                                    float* const* states)  // [n_seqs] -> [K-1, C]
{
  const int64_t c = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
  const int s = blockIdx.y;
  float* st = states[s];
  if (c >= C || !st) return;
  const int64_t start = cu[s], len = cu[s + 1] - start;
  const int hist = K - 1;
  if (len == 0) return;
  const int64_t kept = hist - len > 0 ? hist - len : 0;
  for (int64_t r = 0; r < kept; r++) st[r * C + c] = st[(r + len) * C + c];
  for (int64_t r = kept; r < hist; r++) st[r * C + c] = in[(start + len - hist + r) * ldin + c];
}

__global__ void conv1d_step_kernel(float* out,             // [n_seqs, C]
                                   const float* in,        // [n_seqs] rows of C, ldin apart
                                   int64_t ldin,
                                   const float* w,         // [C, K]
                                   const float* bias,      // [C] or null
                                   int64_t C, int K,
                                   float* const* states)   // [n_seqs] -> [K-1, C]
{
  const int64_t c = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
  const int64_t s = blockIdx.y;
  if (c >= C) return;
  float* st = states[s];
  const int hist = K - 1;
  const float cur = in[s * ldin + c];
  float acc = bias ? bias[c] : 0.0f;
  for (int j = 0; j < hist; j++) acc += w[c * K + j] * (st ? st[(int64_t)j * C + c] : 0.0f);
  acc += w[c * K + hist] * cur;
  out[s * C + c] = silu_f(acc);
  if (!st || hist == 0) return;
  for (int j = 0; j + 1 < hist; j++) st[(int64_t)j * C + c] = st[(int64_t)(j + 1) * C + c];
  st[(int64_t)(hist - 1) * C + c] = cur;
}

}  // namespace hlc

// ---- launchers

extern "C" HLC_EXPORT int hlc_conv1d_causal_prefill(float* out, const float* in, const float* w, const float* bias,
                                         int64_t channels, int d_conv, const int32_t* cu_seqlens, int n_seqs,
                                         float* const* states) {
  return hlc_conv1d_causal_prefill_strided(out, in, w, bias, channels, d_conv, cu_seqlens, n_seqs, states, 0);
}

extern "C" HLC_EXPORT int hlc_conv1d_causal_prefill_strided(float* out, const float* in, const float* w,
                                                            const float* bias, int64_t channels, int d_conv,
                                                            const int32_t* cu_seqlens, int n_seqs,
                                                            float* const* states, int64_t in_stride) {
  using namespace hlc;
  HLC_REQUIRE(in_stride == 0 || in_stride >= channels, "[conv1d_causal_prefill] in_stride below channels");
  const int64_t ldin = in_stride ? in_stride : channels;
  HLC_REQUIRE(channels > 0 && d_conv >= 1 && n_seqs >= 0, "[conv1d_causal_prefill] bad shape");
  if (d_conv > kMaxConv)
    return set_error(HLC_UNSUPPORTED, "[conv1d_causal_prefill] d_conv " + std::to_string(d_conv) + " > 8");
  if (n_seqs == 0) return HLC_OK;
  HLC_REQUIRE(cu_seqlens && states, "[conv1d_causal_prefill] null host array");
  HLC_REQUIRE(n_seqs <= 65535, "[conv1d_causal_prefill] more than 65535 sequences");
  HLC_REQUIRE(cu_seqlens[0] == 0, "[conv1d_causal_prefill] cu_seqlens[0] must be 0");
  for (int s = 0; s < n_seqs; s++)
    HLC_REQUIRE(cu_seqlens[s + 1] >= cu_seqlens[s], "[conv1d_causal_prefill] cu_seqlens must be non-decreasing");
  const int64_t T = cu_seqlens[n_seqs];
  if (T == 0) return HLC_OK;
  HLC_REQUIRE(out && in && w, "[conv1d_causal_prefill] null pointer");
  std::lock_guard<std::recursive_mutex> lock(op_mutex());
  HLC_TRY(ensure_device());
  Carve cv;
  const int i_cu = cv.arg(cu_seqlens, sizeof(int32_t) * (n_seqs + 1));
  const int i_st = cv.arg(states, sizeof(float*) * n_seqs);
  HLC_TRY(cv.commit());
  const int64_t runs = ceil_div(T, kConvTokRun);
  HLC_REQUIRE(runs <= 65535, "[conv1d_causal_prefill] too many tokens for one call (max 2097120)");
  dim3 grid((unsigned)ceil_div(channels, kConvChanBlock), (unsigned)runs);
  HLC_LAUNCH(grid, kConvChanBlock, 0, (out, in, ldin, w, bias, channels, d_conv, cv.ptr<int32_t>(i_cu), n_seqs,
                                       cv.ptr<float*>(i_st), T), conv1d_prefill_kernel);
  HLC_LAUNCHED("conv1d_prefill_kernel");
  if (d_conv > 1) {
    dim3 g2((unsigned)ceil_div(channels, 256), (unsigned)n_seqs);
    HLC_LAUNCH(g2, 256, 0, (in, ldin, channels, d_conv, cv.ptr<int32_t>(i_cu), cv.ptr<float*>(i_st)),
                            conv1d_state_kernel);
    HLC_LAUNCHED("conv1d_state_kernel");
  }
  return HLC_OK;
}

extern "C" HLC_EXPORT int hlc_conv1d_causal_step(float* out, const float* in, const float* w, const float* bias, int64_t channels,
                                      int d_conv, int n_seqs, float* const* states) {
  return hlc_conv1d_causal_step_strided(out, in, w, bias, channels, d_conv, n_seqs, states, 0);
}

extern "C" HLC_EXPORT int hlc_conv1d_causal_step_strided(float* out, const float* in, const float* w,
                                                         const float* bias, int64_t channels, int d_conv, int n_seqs,
                                                         float* const* states, int64_t in_stride) {
  using namespace hlc;
  HLC_REQUIRE(in_stride == 0 || in_stride >= channels, "[conv1d_causal_step] in_stride below channels");
  const int64_t ldin = in_stride ? in_stride : channels;
  HLC_REQUIRE(channels > 0 && d_conv >= 1 && n_seqs >= 0, "[conv1d_causal_step] bad shape");
  if (n_seqs == 0) return HLC_OK;
  HLC_REQUIRE(n_seqs <= 65535, "[conv1d_causal_step] more than 65535 sequences");
  HLC_REQUIRE(out && in && w && states, "[conv1d_causal_step] null pointer");
  std::lock_guard<std::recursive_mutex> lock(op_mutex());
  HLC_TRY(ensure_device());
  Carve cv;
  const int i_st = cv.arg(states, sizeof(float*) * n_seqs);
  HLC_TRY(cv.commit());
  dim3 grid((unsigned)ceil_div(channels, 256), (unsigned)n_seqs);
  HLC_LAUNCH(grid, 256, 0, (out, in, ldin, w, bias, channels, d_conv, cv.ptr<float*>(i_st)), conv1d_step_kernel);
  HLC_LAUNCHED("conv1d_step_kernel");
  return HLC_OK;
}
