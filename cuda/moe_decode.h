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
  for (SegWalk it(lane, n_units); it.seg < 2; it.step(stride)) {
    const float v = dot(it.seg == 0 ? gate_row : up_row, it.idx, t);
    if (it.seg == 0) g += v;
    else u += v;
  }
  return true;
}

// Phase 2, token t, output row d: this lane's partial of
// sum_j weights[t, j] * down_{e_j}[d] · h[t * top_k + j] (activation row = the pair).
template <class Dot>
HLC_HD float moe_down_lane(const Dot& dot, const MoeExperts& down, const int32_t* ids, const float* weights,
                           int top_k, int64_t E, int64_t t, int64_t d, int n_units, int lane, int stride) {
  float acc = 0.0f;
  for (SegWalk it(lane, n_units); it.seg < top_k; it.step(stride)) {
    const int64_t p = t * top_k + it.seg;
    const int32_t e = ids[p];
    if (e < 0 || e >= E) continue;
    acc += weights[p] * dot(down.row(e, d), it.idx, p);
  }
  return acc;
}

}  // namespace hlc
