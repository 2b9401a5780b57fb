// cuda/moe.cu: MoE routing and grouped expert FFN (docs/KERNELS.md), twins of native/cpu/moe.cpp.
// moe_route:   ids[t, :] = the top_k largest logits[t, :] (ties -> lower expert
//              index), weights[t, :] = softmax over those k logits (f32).
//              One warp per token: lanes hold experts lane, lane+32, ...; k rounds
//              of warp argmax, each marking its winner taken (per-lane bit mask).
// moe_forward: out[t] = sum_j weights[t, j] * down_e · (silu(gate_e · x[t]) * (up_e · x[t])),
//              e = ids[t, j].
// Decode (n_tokens <= kMoeDecodeTokens): the grouped GEMV, 2 launches (+ one
// activation quantization before each for block types; moe_decode.h):
//   1. gate|up: one warp per (pair, hidden row) -> h [pairs, F] with SwiGLU applied;
//   2. down: one warp per (token, output row) summing its top_k experts' rows
//      scaled by the routing weights, in pair order -> out[t] directly.
// Block types take int8 activations (x, then h, rounded per block as the CPU
// twin rounds them) and dp4a units (int_units.h); F32/F16/BF16 stream 8
// weights per lane step with 16-byte loads. Each weight row is read once per
// pair; a token picks an expert at most once, so an expert's rows are read at
// most n_tokens times per call (repeats run close together: likely L2 hits).
// Prefill (more tokens, or weights the GEMV does not take: gate/up of
// different types, misaligned views) runs the grouped GEMM tiles:
//   1. dispatch (one block): counting sort of the (token, slot) pairs by expert
//      — shared-memory histogram -> exclusive scan -> atomic scatter — giving
//      slot_token[sorted slot] (the x row), pair_slot[pair] (its sorted slot)
//      and the grouped-GEMM tile list {expert, m0, m1} (64 slots per tile).
//      The order inside an expert is arbitrary, which changes no value.
//   2. gate and up: grouped GEMM (matmul.cu's tile kernel) over the tile list,
//      x rows read through slot_token (no gather copy) -> h_gate, h_up [slots, F]
//   3. swiglu in place; 4. down: grouped GEMM -> o_sorted [slots, D]
//   5. combine: each token sums its top_k rows scaled by the routing weight
//      (one block per token: no atomics, deterministic).
// Tokens go in batches of <= kMoeMaxSlots / top_k so scratch stays bounded.
// Layouts: logits [T, E]; ids, weights [T, k] (device); x, out [T, D]; expert
// e's gate/up [F, D], down [D, F] at e * <which>_expert_stride bytes (any
// supported weight type). Pairs with an id outside [0, E) contribute nothing.
// Numerics: f32 accumulation, softmax in f32; block types multiply the same
// int8-rounded activations on both paths (docs/KERNELS.md, Matmul).
#include <algorithm>

#include "matmul.cuh"
#include "moe_decode.h"

namespace hlc {

constexpr int64_t kMoeMaxSlots = 8192;
constexpr int kMaxTopK = 32;
constexpr int kMaxExpertsRoute = 2048;  // 64 per lane
constexpr int kMaxExpertsDispatch = 4096;
// Decode: the grouped GEMV up to this many tokens (the dense GEMV's bound).
// Per pair it re-reads an expert's rows once per token that chose it (at most
// n_tokens times), where the 64-row GEMM tile reads them once but computes 64
// rows per active expert and launches 4-5 more kernels.
constexpr int64_t kMoeDecodeTokens = 8;
constexpr int kMoeWarps = 4;    // GEMV rows (one warp each) per block
static bool g_moe_gemv = true;  // hlc_moe_decode_gemv (under op_mutex)

int swiglu_launch(float* out, const float* gate, const float* up, int64_t n);  // swiglu.cu

// ---- device code

__global__ void moe_route_kernel(int32_t* ids,          // [T, k]
                                 float* weights,        // [T, k]
                                 const float* logits,   // [T, E]
                                 int64_t T, int64_t E, int k) {
  const int lane = threadIdx.x & 31;
  const int64_t t = (int64_t)blockIdx.x * (blockDim.x >> 5) + (threadIdx.x >> 5);
  if (t >= T) return;
  const float* lg = logits + t * E;
  uint64_t taken = 0;  // bit i: expert lane + 32 i already chosen
  float first = 0.0f, sum = 0.0f;
  float vals[kMaxTopK];
  for (int j = 0; j < k; j++) {
    float bv = 0.0f;
    int64_t bi = -1;
    for (int64_t x = lane, i = 0; x < E; x += 32, i++) {
      if (taken >> i & 1) continue;
      const float v = lg[x];
      if (bi < 0 || v > bv) {  // strict: ties keep the lower index
        bv = v;
        bi = x;
      }
    }
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) {
      const float v2 = __shfl_xor_sync(kFullMask, bv, o);
      const int64_t i2 = __shfl_xor_sync(kFullMask, bi, o);
      if (i2 >= 0 && (bi < 0 || v2 > bv || (v2 == bv && i2 < bi))) {
        bv = v2;
        bi = i2;
      }
    }
    if (bi >= 0 && (bi & 31) == lane) taken |= 1ull << (bi >> 5);
    if (j == 0) first = bv;
    vals[j] = expf(bv - first);  // j == 0: the largest logit is the softmax max
    sum += vals[j];
    if (lane == 0) ids[t * k + j] = (int32_t)bi;
  }
  if (lane == 0)
    for (int j = 0; j < k; j++) weights[t * k + j] = vals[j] / sum;
}

// One block. cnt/fill: shared [E]; tiles: [max_tiles] {expert, m0, m1, 0}.
__global__ void moe_dispatch_kernel(const int32_t* ids,  // [np] (this batch)
                                    int64_t np, int k, int64_t tb, int64_t E,
                                    int32_t* slot_token, // [np]
                                    int32_t* pair_slot,  // [np], -1 = dropped
                                    int4* tiles, int64_t max_tiles) {
  extern __shared__ int32_t sh[];
  int32_t* cnt = sh;        // [E]
  int32_t* fill = sh + E;   // [E]
  for (int64_t e = threadIdx.x; e < E; e += blockDim.x) cnt[e] = 0;
  __syncthreads();
  for (int64_t p = threadIdx.x; p < np; p += blockDim.x) {
    const int32_t e = ids[p];
    if (e >= 0 && e < E) atomicAdd(&cnt[e], 1);
  }
  __syncthreads();
  if (threadIdx.x == 0) {
    int32_t off = 0;
    int64_t nt = 0;
    for (int64_t e = 0; e < E; e++) {
      fill[e] = off;
      for (int32_t m0 = off; m0 < off + cnt[e]; m0 += kGemmTileM)
        tiles[nt++] = make_int4((int)e, m0, min(m0 + kGemmTileM, off + cnt[e]), 0);
      off += cnt[e];
    }
    for (; nt < max_tiles; nt++) tiles[nt] = make_int4(-1, 0, 0, 0);
  }
  __syncthreads();
  for (int64_t p = threadIdx.x; p < np; p += blockDim.x) {
    const int32_t e = ids[p];
    if (e >= 0 && e < E) {
      const int32_t s = atomicAdd(&fill[e], 1);
      slot_token[s] = (int32_t)(tb + p / k);
      pair_slot[p] = s;
    } else {
      pair_slot[p] = -1;
    }
  }
}

__global__ void moe_combine_kernel(float* out,             // [T, D] (rows tb ..)
                                   const float* o_sorted,  // [slots, D]
                                   const int32_t* pair_slot, const float* weights,  // [nt, k] (this batch)
                                   int64_t D, int k) {
  const int64_t t = blockIdx.x;
  for (int64_t d = threadIdx.x; d < D; d += blockDim.x) {
    float acc = 0.0f;
    for (int j = 0; j < k; j++) {
      const int32_t s = pair_slot[t * k + j];
      if (s >= 0) acc += weights[t * k + j] * o_sorted[(int64_t)s * D + d];
    }
    out[t * D + d] = acc;
  }
}

// ---- decode: grouped GEMV (moe_decode.h)

// F32 / F16 / BF16: units of 8 weights (16-byte loads) dotted with f32
// activation rows x [rows, ldx] (16-byte aligned rows).
template <int DT>
struct FloatDot {
  static constexpr int kUnit = 8;
  const float* x;
  int64_t ldx;
  __device__ float operator()(const uint8_t* row, int c, int64_t act_row) const {
    float w[8];
    Dec<DT>::load8(row, (int64_t)c * 8, w);
    const float* a = x + act_row * ldx + (int64_t)c * 8;
    const float4 a0 = ld_f4(a), a1 = ld_f4(a + 4);
    return w[0] * a0.x + w[1] * a0.y + w[2] * a0.z + w[3] * a0.w + w[4] * a1.x + w[5] * a1.y + w[6] * a1.z +
           w[7] * a1.w;
  }
};

// Kernel parameters a graph replay compares byte for byte (no padding bytes).
HLC_GRAPH_PARAM_STRUCT(MoeExperts, 3 * 8);
template <int DT> struct graph_param_ok<IntDot<DT>> : std::true_type {};
template <int DT> struct graph_param_ok<FloatDot<DT>> : std::true_type {};
static_assert(sizeof(IntDot<kQ8_0>) == 4 * 8 && sizeof(FloatDot<kF32>) == 2 * 8,
              "the unit dots must hold no padding bytes (kernel parameters)");

// h[p, f] = silu(gate_e[f] · x_t) * (up_e[f] · x_t); grid (F / kMoeWarps, pairs).
template <class Dot>
__global__ void __launch_bounds__(kMoeWarps * 32)
moe_gate_up_kernel(float* h, Dot dot, MoeExperts gate, MoeExperts up, const int32_t* ids, int top_k, int64_t E,
                   int64_t F, int n_units) {
  const int lane = threadIdx.x & 31;
  const int64_t f = (int64_t)blockIdx.x * kMoeWarps + (threadIdx.x >> 5), p = blockIdx.y;
  if (f >= F) return;
  float g, u;
  const bool live = moe_gate_up_lane(dot, gate, up, ids, top_k, E, p, f, n_units, lane, 32, g, u);
  g = warp_sum(g);
  u = warp_sum(u);
  if (lane == 0) h[p * F + f] = live ? silu_f(g) * u : 0.0f;
}

// out[t, d] = sum_j weights[t, j] * down_{e_j}[d] · h[t, j]; grid (D / kMoeWarps, tokens).
template <class Dot>
__global__ void __launch_bounds__(kMoeWarps * 32)
moe_down_kernel(float* out, Dot dot, MoeExperts down, const int32_t* ids, const float* weights, int top_k, int64_t E,
                int64_t D, int n_units) {
  const int lane = threadIdx.x & 31;
  const int64_t d = (int64_t)blockIdx.x * kMoeWarps + (threadIdx.x >> 5), t = blockIdx.y;
  if (d >= D) return;
  const float v = warp_sum(moe_down_lane(dot, down, ids, weights, top_k, E, t, d, n_units, lane, 32));
  if (lane == 0) out[t * D + d] = v;
}

}  // namespace hlc

// ---- launchers

namespace hlc {

// Can the grouped GEMV read this expert tensor? Block types: 2-byte aligned
// (int_units.h); F32/F16/BF16: 16-byte aligned with cols % 8 == 0 (load8).
static bool gemv_view_ok(const hl::WeightView& v, int64_t expert_stride) {
  const uintptr_t a = reinterpret_cast<uintptr_t>(v.data) | (uintptr_t)v.row_bytes | (uintptr_t)expert_stride;
  if (is_int_weight((int32_t)v.dtype)) return a % 2 == 0;
  return v.cols % 8 == 0 && a % 16 == 0;
}

static bool moe_gemv_ok(const float* x, const hl::MoeWeights& w) {
  return w.gate.dtype == w.up.dtype && gemv_view_ok(w.gate, w.gate_expert_stride) &&
         gemv_view_ok(w.up, w.up_expert_stride) && gemv_view_ok(w.down, w.down_expert_stride) &&
         (is_int_weight((int32_t)w.gate.dtype) || aligned16(x));
}

// Calls launch(dot, n_units) with the unit dot product of weight type DT over
// the activation rows x [rows, K]; block types quantize them into q first.
template <int DT, class Launch>
static int with_dot(const float* x, int64_t rows, int64_t K, const IntActs& q, Launch&& launch) {
  if constexpr (is_int_weight(DT)) {
    HLC_TRY(act_quantize_launch(DT, x, K, rows, K, q.xq, q.xd, q.xs, nullptr));
    launch(IntDot<DT>{q.xq, q.xd, q.xs, K}, (int)(K / IntDot<DT>::kUnit));
  } else {
    launch(FloatDot<DT>{x, K}, (int)(K / FloatDot<DT>::kUnit));
  }
  return HLC_OK;
}

// Phase 1 for gate/up of type DT: x [T, D] -> h [np, F].
template <int DT>
static int moe_gate_up_launch(float* h, const float* x, int64_t T, const int32_t* ids, int64_t np, int top_k,
                              const hl::MoeWeights& w, const IntActs& q) {
  const MoeExperts gate{w.gate.data, w.gate_expert_stride, w.gate.row_bytes};
  const MoeExperts up{w.up.data, w.up_expert_stride, w.up.row_bytes};
  const int64_t F = w.gate.rows, E = w.n_experts;
  const dim3 grid((unsigned)ceil_div(F, kMoeWarps), (unsigned)np);
  HLC_TRY(with_dot<DT>(x, T, w.gate.cols, q, [&](auto dot, int n_units) {
    HLC_LAUNCH(grid, kMoeWarps * 32, 0, (h, dot, gate, up, ids, top_k, E, F, n_units),
               moe_gate_up_kernel<decltype(dot)>);
  }));
  HLC_LAUNCHED("moe_gate_up_kernel");
  return HLC_OK;
}

// Phase 2 for down of type DT: h [np, F] -> out [T, D].
template <int DT>
static int moe_down_launch(float* out, const float* h, int64_t T, const int32_t* ids, const float* weights,
                           int64_t np, int top_k, const hl::MoeWeights& w, const IntActs& q) {
  const MoeExperts down{w.down.data, w.down_expert_stride, w.down.row_bytes};
  const int64_t D = w.down.rows, E = w.n_experts;
  const dim3 grid((unsigned)ceil_div(D, kMoeWarps), (unsigned)T);
  HLC_TRY(with_dot<DT>(h, np, w.down.cols, q, [&](auto dot, int n_units) {
    HLC_LAUNCH(grid, kMoeWarps * 32, 0, (out, dot, down, ids, weights, top_k, E, D, n_units),
               moe_down_kernel<decltype(dot)>);
  }));
  HLC_LAUNCHED("moe_down_kernel");
  return HLC_OK;
}

// Scratch for int8 activations of `rows` rows of K (block type dt; nothing otherwise).
static void carve_int_acts(Carve& cv, int32_t dt, int64_t rows, int64_t K, int idx[3]) {
  const bool on = is_int_weight(dt);
  idx[0] = cv.add(on ? (size_t)(rows * K) : 0);
  idx[1] = cv.add(on ? sizeof(float) * (size_t)(rows * (K / act_block(dt))) : 0);
  idx[2] = cv.add(on ? sizeof(int32_t) * (size_t)(rows * (K / 32)) : 0);
}

// The decode path (n_tokens <= kMoeDecodeTokens, moe_gemv_ok): 2 kernels + 1
// activation quantization per block-typed phase.
static int moe_decode(float* out, const float* x, const int32_t* ids, const float* weights, int64_t T, int64_t top_k,
                      const hl::MoeWeights& w) {
  const int32_t gdt = (int32_t)w.gate.dtype, ddt = (int32_t)w.down.dtype;
  const int64_t D = w.gate.cols, F = w.gate.rows, np = T * top_k;
  Carve cv;
  int ix[3], ih[3];
  carve_int_acts(cv, gdt, T, D, ix);
  const int i_h = cv.add(sizeof(float) * (size_t)(np * F));
  carve_int_acts(cv, ddt, np, F, ih);
  HLC_TRY(cv.commit());
  const IntActs qx{cv.ptr<int8_t>(ix[0]), cv.ptr<float>(ix[1]), cv.ptr<int32_t>(ix[2])};
  const IntActs qh{cv.ptr<int8_t>(ih[0]), cv.ptr<float>(ih[1]), cv.ptr<int32_t>(ih[2])};
  float* h = cv.ptr<float>(i_h);
  int st = HLC_OK;
  dispatch_wtype(gdt, [&](auto tag) {
    st = moe_gate_up_launch<decltype(tag)::value>(h, x, T, ids, np, (int)top_k, w, qx);
  });
  HLC_TRY(st);
  dispatch_wtype(ddt, [&](auto tag) {
    st = moe_down_launch<decltype(tag)::value>(out, h, T, ids, weights, np, (int)top_k, w, qh);
  });
  return st;
}

}  // namespace hlc

extern "C" HLC_EXPORT int hlc_moe_route(int32_t* ids, float* weights, const float* logits, int64_t n_tokens, int64_t n_experts,
                             int64_t top_k) {
  using namespace hlc;
  HLC_REQUIRE(n_tokens >= 0 && n_experts > 0 && top_k > 0 && top_k <= n_experts, "[moe_route] bad shape");
  if (top_k > kMaxTopK || n_experts > kMaxExpertsRoute)
    return set_error(HLC_UNSUPPORTED, "[moe_route] top_k > 32 or n_experts > 2048 not supported");
  if (n_tokens == 0) return HLC_OK;
  HLC_REQUIRE(ids && weights && logits, "[moe_route] null pointer");
  std::lock_guard<std::recursive_mutex> lock(op_mutex());
  HLC_TRY(ensure_device());
  const int warps = 4;
  HLC_LAUNCH((unsigned)ceil_div(n_tokens, warps), warps * 32, 0, (ids, weights, logits, n_tokens, n_experts,
                                                                  (int)top_k), moe_route_kernel);
  HLC_LAUNCHED("moe_route_kernel");
  return HLC_OK;
}

extern "C" HLC_EXPORT int hlc_moe_forward(float* out, const float* x, const int32_t* ids, const float* weights, int64_t n_tokens,
                               int64_t top_k, const hl::MoeWeights* w) {
  using namespace hlc;
  HLC_REQUIRE(w, "[moe_forward] weights struct is null");
  HLC_REQUIRE(n_tokens >= 0 && top_k > 0, "[moe_forward] bad shape");
  if (n_tokens == 0) return HLC_OK;
  HLC_REQUIRE(out && x && ids && weights && w->gate.data && w->up.data && w->down.data, "[moe_forward] null pointer");
  const int64_t E = w->n_experts, D = w->gate.cols, F = w->gate.rows;
  HLC_REQUIRE(E > 0 && D > 0 && F > 0, "[moe_forward] bad expert shape");
  if (E > kMaxExpertsDispatch) return set_error(HLC_UNSUPPORTED, "[moe_forward] more than 4096 experts");
  HLC_REQUIRE(w->up.rows == F && w->up.cols == D && w->down.rows == D && w->down.cols == F,
              "[moe_forward] gate/up must be [F, D] and down [D, F]");
  for (const hl::WeightView* v : {&w->gate, &w->up, &w->down}) {
    const int32_t dt = (int32_t)v->dtype;
    if (!hlc_supports_dtype(dt))
      return set_error(HLC_UNSUPPORTED, "[moe_forward] weight type " + std::to_string(dt) + " is not supported");
    HLC_REQUIRE(v->cols % wtype_block(dt) == 0, "[moe_forward] expert cols must be a multiple of the block size");
  }
  std::lock_guard<std::recursive_mutex> lock(op_mutex());
  HLC_TRY(ensure_device());
  if (g_moe_gemv && n_tokens <= kMoeDecodeTokens && moe_gemv_ok(x, *w))
    return moe_decode(out, x, ids, weights, n_tokens, top_k, *w);
  const int64_t batch = std::max<int64_t>(1, kMoeMaxSlots / top_k);
  const int64_t max_np = std::min(n_tokens, batch) * top_k;
  const int64_t max_tiles = ceil_div(max_np, kGemmTileM) + E;
  Carve cv;
  const int i_hg = cv.add(sizeof(float) * max_np * F);
  const int i_hu = cv.add(sizeof(float) * max_np * F);
  const int i_os = cv.add(sizeof(float) * max_np * D);
  const int i_stok = cv.add(sizeof(int32_t) * max_np);
  const int i_pslot = cv.add(sizeof(int32_t) * max_np);
  const int i_tiles = cv.add(sizeof(int4) * max_tiles);
  HLC_TRY(cv.commit());
  float* h_gate = cv.ptr<float>(i_hg);
  float* h_up = cv.ptr<float>(i_hu);
  float* o_sorted = cv.ptr<float>(i_os);
  int32_t* slot_token = cv.ptr<int32_t>(i_stok);
  int32_t* pair_slot = cv.ptr<int32_t>(i_pslot);
  int4* tiles = cv.ptr<int4>(i_tiles);
  HLC_REQUIRE(max_tiles <= 65535, "[moe_forward] too many tiles");

  for (int64_t tb = 0; tb < n_tokens; tb += batch) {
    const int64_t nt = std::min(batch, n_tokens - tb), np = nt * top_k;
    HLC_LAUNCH(1, 1024, sizeof(int32_t) * 2 * E, (ids + tb * top_k, np, (int)top_k, tb, E, slot_token, pair_slot,
                                                  tiles, max_tiles), moe_dispatch_kernel);
    HLC_LAUNCHED("moe_dispatch_kernel");
    GemmArgs g{h_gate, F, x, D, slot_token, w->gate.data, w->gate.row_bytes, (int32_t)w->gate.dtype, F, D, np,
               tiles, max_tiles, w->gate_expert_stride, n_tokens};
    HLC_TRY(gemm_launch(g));
    GemmArgs u{h_up, F, x, D, slot_token, w->up.data, w->up.row_bytes, (int32_t)w->up.dtype, F, D, np,
               tiles, max_tiles, w->up_expert_stride, n_tokens};
    HLC_TRY(gemm_launch(u));
    HLC_TRY(swiglu_launch(h_gate, h_gate, h_up, np * F));
    GemmArgs dn{o_sorted, D, h_gate, F, nullptr, w->down.data, w->down.row_bytes, (int32_t)w->down.dtype, D, F, np,
                tiles, max_tiles, w->down_expert_stride, np};
    HLC_TRY(gemm_launch(dn));
    HLC_LAUNCH((unsigned)nt, 256, 0, (out + tb * D, o_sorted, pair_slot, weights + tb * top_k, D, (int)top_k),
                                      moe_combine_kernel);
    HLC_LAUNCHED("moe_combine_kernel");
  }
  return HLC_OK;
}

extern "C" HLC_EXPORT int hlc_moe_decode_gemv(int on) {
  using namespace hlc;
  HLC_REQUIRE(on == 0 || on == 1, "[moe_decode_gemv] on must be 0 or 1");
  std::lock_guard<std::recursive_mutex> lock(op_mutex());
  g_moe_gemv = on == 1;
  return HLC_OK;
}
