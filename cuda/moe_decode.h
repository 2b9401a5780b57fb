// cuda/moe_decode.h: the MoE decode grouped GEMV's per-warp arithmetic (moe.cu,
// docs/cuda/README.md "MoE decode"), written once for the device and the host
// like int_units.h: the kernels run it per lane, and the test binary runs the
// same code on the CPU (32 emulated lanes) against the f64 MoE reference, so the
// pair indexing, the item walk and the integer unit arithmetic are proven
// without a GPU (cuda/test/cuda_test.cpp, "moe_decode_host").
// Pairs: p = t * top_k + j is token t's j-th expert e = ids[p] (routing order,
// no sort). Phase 1, one warp per (pair, hidden row f): the lanes walk the
// units of gate_e row f then up_e row f as one list (lane, lane + 32, ...), so
// a short row still keeps every lane busy; h[p, f] = silu(g) * u. Phase 2, one
// warp per (token, output row d): the lanes walk the units of down_{e_j} row d
// for j = 0 .. top_k - 1 as one list, each unit's dot scaled by the routing
// weight of its pair; the warp's shuffle sum is out[t, d]. No atomics: the
// order of every sum is fixed by the lane walk, so results repeat bit for bit.
// A pair whose id is outside [0, E) contributes nothing.
// Dot policies: IntDot (block types: int8 activation rows with per-block
// scales and per-32 sums, int_units.h) here; the f32 one (F32/F16/BF16,
// 8 weights per unit through quant.cuh's load8) lives in moe.cu (device only).
#pragma once
#include "int_units.h"

namespace hlc {

// One weight tensor of all experts: expert e's row r.
struct MoeExperts {
  const uint8_t* w;
  int64_t expert_stride, row_bytes;
  HLC_HD const uint8_t* row(int64_t e, int64_t r) const { return w + e * expert_stride + r * row_bytes; }
};

// Items start, start + stride, ... of consecutive segments of len items each,
// as (segment, index in the segment). A step costs stride / len subtractions
// (none or one for rows of >= 32 units), not a division.
struct SegWalk {
  int seg, idx, len;
  HLC_HD SegWalk(int start, int len_) : seg(start / len_), idx(start % len_), len(len_) {}
  HLC_HD void step(int stride) {
    idx += stride;
    while (idx >= len) {
      idx -= len;
      seg++;
    }
  }
};

// Units of 32 weights dotted with int8 activation rows (act_quantize_kernel):
// xq [rows, K], xd [rows, K / kActBlock], xs [rows, K / 32].
template <int DT>
struct IntDot {
  static constexpr int kUnit = 32;
  const int8_t* xq;
  const float* xd;
  const int32_t* xs;
  int64_t K;
  HLC_HD float operator()(const uint8_t* row, int u, int64_t act_row) const {
    return int_unit_dot<DT>(row, u, xq + act_row * K, xd + act_row * (K / IntUnit<DT>::kActBlock),
                            xs + act_row * (K / 32));
  }
};

// The lanes take their items two at a time, both units' loads issued before
// either is used (twice the bytes in flight per lane: decode grids are small).
// A second item past the end still reads valid memory and is not added, so
// the loop body stays branch-free.

// Phase 1, pair p, hidden row f: this lane's partial sums of gate_e[f] · x_t
// and up_e[f] · x_t (activation row t = p / top_k; n_units = K / Dot::kUnit).
// Returns false for a dropped pair (g = u = 0).
template <class Dot>
HLC_HD bool moe_gate_up_lane(const Dot& dot, const MoeExperts& gate, const MoeExperts& up, const int32_t* ids,
                             int top_k, int64_t E, int64_t p, int64_t f, int n_units, int lane, int stride, float& g,
                             float& u) {
  g = 0.0f;
  u = 0.0f;
  const int32_t e = ids[p];
  if (e < 0 || e >= E) return false;
  const int64_t t = p / top_k;
  const uint8_t* gate_row = gate.row(e, f);
  const uint8_t* up_row = up.row(e, f);
  for (SegWalk a(lane, n_units); a.seg < 2;) {
    SegWalk b = a;
    b.step(stride);  // b.seg >= 2 past the end: reads a unit of up_row, not added
    const float va = dot(a.seg == 0 ? gate_row : up_row, a.idx, t);
    const float vb = dot(b.seg == 0 ? gate_row : up_row, b.idx, t);
    g += (a.seg == 0 ? va : 0.0f) + (b.seg == 0 ? vb : 0.0f);
    u += (a.seg == 1 ? va : 0.0f) + (b.seg == 1 ? vb : 0.0f);
    a = b;
    a.step(stride);
  }
  return true;
}

// Phase 2, token t, output row d: this lane's partial of
// sum_j weights[t, j] * down_{e_j}[d] · h[t * top_k + j] (activation row = the pair).
// A dropped pair's units read expert 0 (valid memory) and are not added.
template <class Dot>
HLC_HD float moe_down_lane(const Dot& dot, const MoeExperts& down, const int32_t* ids, const float* weights,
                           int top_k, int64_t E, int64_t t, int64_t d, int n_units, int lane, int stride) {
  float acc = 0.0f;
  for (SegWalk a(lane, n_units); a.seg < top_k;) {
    SegWalk b = a;
    b.step(stride);
    const bool has_b = b.seg < top_k;
    if (!has_b) b = a;
    const int64_t pa = t * top_k + a.seg, pb = t * top_k + b.seg;
    const int32_t ea = ids[pa], eb = ids[pb];
    const bool live_a = ea >= 0 && ea < E, live_b = has_b && eb >= 0 && eb < E;
    const float va = dot(down.row(live_a ? ea : 0, d), a.idx, pa);
    const float vb = dot(down.row(live_b ? eb : 0, d), b.idx, pb);
    acc += (live_a ? weights[pa] * va : 0.0f) + (live_b ? weights[pb] * vb : 0.0f);
    a = b;
    a.step(stride);
  }
  return acc;
}

}  // namespace hlc
