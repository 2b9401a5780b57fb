// native/cpu/matmul.cpp: y = x · Wᵀ over F32 / F16 / BF16 / Q8_0 / Q4_0 / Q4_K /
// Q5_K / Q6_K weights (docs/KERNELS.md, Matmul).
//   y[t, r] = sum_k x[t, k] * W[r, k]       x [n_tokens, K]; W [rows, K]; y [n_tokens, rows]
// Parallelisation: threads split output rows (pieces >= 32 KiB of weights), so
// the cores stream disjoint weight bytes. From kSharedPrepTokens tokens
// (prefill) the activations are quantized / packed once per call in their own
// parallel region, split over tokens, and shared by every piece (and by the
// matrices of matmul_multi / matmul_swiglu); below that each piece prepares
// its own, so decode pays no extra fork/join. Same bits either way.
// Paths (the inner loops are the per-ISA SimdOps of simd/ops.h):
//   Block formats (Q8_0 / Q4_0 / Q4_K / Q5_K / Q6_K): the activation
//         rows are quantized to int8 blocks (32 values for Q8_0 / Q4_0,
//         256 for the K-quants; d = absmax / 127, round half even) with the
//         per-16 / per-32 sums the offset terms need. Below
//         ops.igemm_min_tokens(type) tokens (the crossover measured per ISA,
//         4..10): GEMV, every weight block meets them in integer dot products
//         on its GGUF codes (gemm_q8_0; gemm_kq, simd/kquant_simd.h), in tiles
//         of 4 tokens. From there: the int8 GEMM (simd/igemm_simd.h), one
//         L2-sized block of rows at a time repacked into row groups of
//         unsigned codes with per-sub-block scale and offset, then
//         register-blocked tiles of rows x tokens (VNNI dpbusd / AVX2 maddubs
//         / NEON sdot). Either way: equal to an f64 matmul of the decoded
//         weights with the *quantized* activations, up to f32 rounding.
//         (HYBRIDLM_INT8_GEMM=off restores the previous prefill path for
//         benchmarks: activations widened back to f32 (d * q) and the f32
//         prefill path below over dequantized weights.)
//   F32/F16/BF16 with n_tokens <= kDirectTokens (decode GEMV): the
//         dot-form micro-kernel reads the weight rows in place, widening
//         f16/bf16 in registers; each weight byte is read once.
//   otherwise (prefill): the activations are
//         packed K-major into panels of 2 vector widths of tokens; a block of
//         rows is widened/dequantized once into ~256 KiB of f32 thread scratch
//         (L2) and every panel runs the outer-product micro-kernel over it
//         (gemm_xt), so conversion costs rows * K per call. Dequantization is
//         exact in f32 (quant.cpp), so these match f64 on the dequantized
//         weights and the (for F32/F16/BF16 unrounded) activations.
#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "kernel_util.h"
#include "kernels.h"

namespace hl::cpu {

constexpr int64_t kWeightTileBytes = 256 * 1024;  // f32 bytes of one converted row block
constexpr int64_t kQ8TileBytes = 256 * 1024;      // Q8_0 weight bytes per row block
constexpr int64_t kPieceBytes = 32 * 1024;        // minimum weight bytes per thread piece
constexpr int64_t kDirectTokens = 4;              // F16/BF16 rows read in place up to this many tokens
constexpr int64_t kPackTileBytes = 256 * 1024;    // repacked int8 bytes per row block (L2)

// HYBRIDLM_INT8_GEMM=off sends block-format prefill through the f32 GEMM
// instead (the previous path; kept for benchmarks and diagnosis).
static bool int8_gemm_enabled() {
  static const bool on = [] {
    const char* e = std::getenv("HYBRIDLM_INT8_GEMM");
    return !(e && std::strcmp(e, "off") == 0);
  }();
  return on;
}

const float* f16_table() {
  static const float* table = [] {
    static float t[65536];
    for (uint32_t i = 0; i < 65536; i++) t[i] = f16_to_f32((uint16_t)i);
    return t;
  }();
  return table;
}

// ---- conversion

void weight_rows_to_f32(const WeightView& w, int64_t r0, int64_t n, float* out) {
  for (int64_t r = 0; r < n; r++) dequantize_row(w.dtype, w.row(r0 + r), out + r * w.cols, w.cols);
}

void weight_row_to_f32(const WeightView& w, int64_t r, float* out) { dequantize_row(w.dtype, w.row(r), out, w.cols); }

// ---- kernels

static int64_t block_rows(const WeightView& w) {
  return std::clamp<int64_t>(kWeightTileBytes / std::max<int64_t>(1, w.cols * 4), 4, 256);
}

static bool is_int_dot(DType t) {
  return t == DType::Q4_0 || t == DType::Q4_K || t == DType::Q5_K || t == DType::Q6_K;
}

// Activation block length of the integer paths (docs/KERNELS.md).
static int64_t act_block(DType t) { return t == DType::Q8_0 || t == DType::Q4_0 ? kQ8Block : 256; }

static bool is_block_format(DType t) { return t == DType::Q8_0 || is_int_dot(t); }

static RowKind row_kind(DType t) {
  return t == DType::F16 ? RowKind::F16 : t == DType::BF16 ? RowKind::BF16 : RowKind::F32;
}

int64_t matmul_scratch_floats(const WeightView& w, int64_t n_rows, int64_t n_tokens) {
  if (w.dtype == DType::F32 || n_tokens <= kDirectTokens) return 1;
  if ((w.dtype == DType::Q8_0 || is_int_dot(w.dtype)) && int8_gemm_enabled()) return 1;
  return std::min(block_rows(w), std::max<int64_t>(1, n_rows)) * w.cols;
}

int64_t matmul_row_grain(const WeightView& w) {
  return std::max<int64_t>(1, kPieceBytes / std::max<int64_t>(1, w.row_bytes));
}

// Quantizes token rows [t0, t1) of x (row t at xr[t]) into int8 blocks of
// `block`, token t's blocks at q + t * K, d + t * K / block, sums at
// s + t * (K / 16 + K / 32), and points xa[t] at them.
static void quantize_rows(const SimdOps& ops, QAct* xa, int8_t* q, float* d, float* s, const float* const* xr,
                          int64_t t0, int64_t t1, int64_t K, int64_t block) {
  const int64_t nb = K / block, ns = K / 16 + K / 32;
  for (int64_t t = t0; t < t1; t++) {
    float* s16 = s + t * ns;
    ops.quantize_act(q + t * K, d + t * nb, s16, s16 + K / 16, xr[t], K, block);
    xa[t] = QAct{q + t * K, d + t * nb, s16, s16 + K / 16};
  }
}

// Packs panels [p0, p1) of x_panel tokens (rows at xr) K-major (SimdOps::pack_x).
static void pack_panels(const SimdOps& ops, float* xt, const float* const* xr, int64_t n_tokens, int64_t p0,
                        int64_t p1, int64_t K) {
  const int64_t P = ops.x_panel;
  for (int64_t p = p0; p < p1; p++) ops.pack_x(xt + p * P * K, xr + p * P, std::min(P, n_tokens - p * P), K);
}

void matmul_rows(float* y, int64_t ldy, const float* x, int64_t ldx, const int32_t* x_idx, int64_t n_tokens,
                 const WeightView& w, int64_t r0, int64_t r1, float* scratch, const PreparedActs* prep) {
  const SimdOps& ops = simd_ops();
  const int64_t K = w.cols;
  thread_local std::vector<const float*> xr;
  thread_local std::vector<const uint8_t*> wr;
  xr.resize((size_t)n_tokens);
  for (int64_t t = 0; t < n_tokens; t++) xr[t] = x + (x_idx ? (int64_t)x_idx[t] : t) * ldx;  // [K]

  if (w.dtype == DType::Q8_0 || is_int_dot(w.dtype)) {
    // Block formats: the activations quantized to int8 blocks (32 for Q8_0 /
    // Q4_0, 256 for the K-quants): shared by the whole call (prep, prefill),
    // or by this piece for itself (n_tokens * K work against
    // rows * n_tokens * K / threads).
    const int64_t block = act_block(w.dtype), nb = K / block;
    const QAct* xa = prep ? prep->q : nullptr;
    if (!xa) {
      thread_local std::vector<int8_t> xq;
      thread_local std::vector<float> xd, xs;
      thread_local std::vector<QAct> own;
      xq.resize((size_t)(n_tokens * K));
      xd.resize((size_t)(n_tokens * nb));
      xs.resize((size_t)(n_tokens * (K / 16 + K / 32)));
      own.resize((size_t)n_tokens);
      quantize_rows(ops, own.data(), xq.data(), xd.data(), xs.data(), xr.data(), 0, n_tokens, K, block);
      xa = own.data();
    }
    if (n_tokens >= ops.igemm_min_tokens((int)w.dtype) && int8_gemm_enabled()) {
      // Int8 GEMM: one L2-sized block of rows at a time is repacked into the
      // tile layout (simd/igemm_simd.h), then every token tile runs over it.
      const int64_t per_row = ops.igemm_packed_bytes((int)w.dtype, 64, K) / 64;
      const int64_t rb = std::clamp<int64_t>(kPackTileBytes / per_row / 64 * 64, 64, 4096);
      thread_local std::vector<uint8_t> packed;
      packed.resize((size_t)ops.igemm_packed_bytes((int)w.dtype, rb, K) + 64);
      uint8_t* pk = packed.data() + (64 - reinterpret_cast<uintptr_t>(packed.data()) % 64) % 64;
      wr.resize((size_t)rb);
      for (int64_t b0 = r0; b0 < r1; b0 += rb) {
        const int64_t n = std::min(rb, r1 - b0);
        for (int64_t r = 0; r < n; r++) wr[r] = w.row(b0 + r);
        ops.igemm_pack(pk, (int)w.dtype, wr.data(), n, K);
        ops.igemm(y + (b0 - r0), ldy, xa, n_tokens, pk, n, K, (int)w.dtype);
      }
      return;
    }
    if (n_tokens <= kDirectTokens || int8_gemm_enabled()) {
      // GEMV: integer dots on the packed rows, one L2-sized block of rows at
      // a time (re-read from L2 per tile of 4 tokens; each weight byte read
      // once from memory).
      thread_local std::vector<const int8_t*> xqp;
      thread_local std::vector<const float*> xdp;
      xqp.resize((size_t)n_tokens);
      xdp.resize((size_t)n_tokens);
      for (int64_t t = 0; t < n_tokens; t++) {
        xqp[t] = xa[t].q;
        xdp[t] = xa[t].d;
      }
      const int64_t rb = std::clamp<int64_t>(kQ8TileBytes / std::max<int64_t>(1, w.row_bytes), 4, 4096);
      wr.resize((size_t)rb);
      for (int64_t b0 = r0; b0 < r1; b0 += rb) {
        const int64_t n = std::min(rb, r1 - b0);
        for (int64_t r = 0; r < n; r++) wr[r] = w.row(b0 + r);
        if (w.dtype == DType::Q8_0) ops.gemm_q8_0(y + (b0 - r0), ldy, xqp.data(), xdp.data(), n_tokens, wr.data(), n, K);
        else ops.gemm_kq(y + (b0 - r0), ldy, xa, n_tokens, wr.data(), n, K, (int)w.dtype);
      }
      return;
    }
    // HYBRIDLM_INT8_GEMM=off, prefill: the same rounded activations, widened
    // back (d * q) so the f32 micro-kernel below runs them against the decoded
    // weights: same numerics as the integer paths, at f32 GEMM speed.
    thread_local std::vector<float> xdq;
    xdq.resize((size_t)(n_tokens * K));
    for (int64_t t = 0; t < n_tokens; t++) {
      for (int64_t i = 0; i < K; i++) xdq[t * K + i] = xa[t].d[i / block] * (float)xa[t].q[i];
      xr[t] = xdq.data() + t * K;
    }
  }

  if (n_tokens <= kDirectTokens && (w.dtype == DType::F32 || w.dtype == DType::F16 || w.dtype == DType::BF16)) {
    // Decode GEMV: one pass over the rows, widened in registers.
    wr.resize((size_t)(r1 - r0));
    for (int64_t r = r0; r < r1; r++) wr[r - r0] = w.row(r);
    ops.gemm(y, ldy, xr.data(), n_tokens, wr.data(), r1 - r0, K, row_kind(w.dtype));
    return;
  }

  // Prefill: activations packed once into panels of x_panel tokens (K-major),
  // weights widened/dequantized one L2-sized block of rows at a time (F32
  // rows in place); every panel passes over the block while it is in L2.
  const int64_t P = ops.x_panel, n_panels = (n_tokens + P - 1) / P;
  const float* xt = prep && !is_block_format(w.dtype) ? prep->panels : nullptr;
  if (!xt) {
    thread_local std::vector<float> own;
    own.resize((size_t)(n_panels * P * K));
    pack_panels(ops, own.data(), xr.data(), n_tokens, 0, n_panels, K);
    xt = own.data();
  }
  const int64_t rb = block_rows(w);
  thread_local std::vector<const float*> wf;
  wf.resize((size_t)rb);
  for (int64_t b0 = r0; b0 < r1; b0 += rb) {
    const int64_t n = std::min(rb, r1 - b0);
    if (w.dtype == DType::F32) {
      for (int64_t r = 0; r < n; r++) wf[r] = reinterpret_cast<const float*>(w.row(b0 + r));
    } else {
      weight_rows_to_f32(w, b0, n, scratch);  // [n, K]
      for (int64_t r = 0; r < n; r++) wf[r] = scratch + r * K;
    }
    // (Blocking K as well was slower here: the transposed tile stores then
    // revisit y once per K block.)
    for (int64_t p = 0; p < n_panels; p++)
      ops.gemm_xt(y + p * P * ldy + (b0 - r0), ldy, xt + p * P * K, std::min(P, n_tokens - p * P), wf.data(),
                  n, K, false);
  }
}

// ---- shared activation preparation (prefill)

int64_t prep_kind(const WeightView& w, int64_t n_tokens) {
  if (n_tokens < kSharedPrepTokens) return 0;
  if (is_block_format(w.dtype)) return act_block(w.dtype);  // 32 or 256
  return -1;                                                 // f32 panels (n_tokens > kDirectTokens)
}

PreparedActs prepare_acts(ThreadPool& pool, int slot, int64_t kind, const float* x, int64_t n_tokens, int64_t K) {
  struct Buffers {
    std::vector<const float*> xr;
    std::vector<int8_t> q;
    std::vector<float> d, s, panels;
    std::vector<QAct> xa;
  };
  thread_local std::vector<Buffers> slots;
  if ((int)slots.size() <= slot) slots.resize((size_t)slot + 1);
  Buffers& b = slots[(size_t)slot];
  const SimdOps& ops = simd_ops();
  b.xr.resize((size_t)n_tokens);
  for (int64_t t = 0; t < n_tokens; t++) b.xr[t] = x + t * K;
  PreparedActs out;
  if (kind > 0) {
    b.q.resize((size_t)(n_tokens * K));
    b.d.resize((size_t)(n_tokens * (K / kind)));
    b.s.resize((size_t)(n_tokens * (K / 16 + K / 32)));
    b.xa.resize((size_t)n_tokens);
    pool.parallel_for(n_tokens, [&](int64_t t0, int64_t t1, int) {
      quantize_rows(ops, b.xa.data(), b.q.data(), b.d.data(), b.s.data(), b.xr.data(), t0, t1, K, kind);
    });
    out.q = b.xa.data();
  } else if (kind < 0) {
    const int64_t P = ops.x_panel, n_panels = (n_tokens + P - 1) / P;
    b.panels.resize((size_t)(n_panels * P * K));
    pool.parallel_for(n_panels, [&](int64_t p0, int64_t p1, int) {
      pack_panels(ops, b.panels.data(), b.xr.data(), n_tokens, p0, p1, K);
    });
    out.panels = b.panels.data();
  }
  return out;
}

// ---- entry points

void matmul_piece(float* y, const float* x, int64_t n_tokens, const WeightView& w, int64_t r0, int64_t r1,
                  const PreparedActs* prep) {
  thread_local std::vector<float> scratch;
  scratch.resize((size_t)matmul_scratch_floats(w, r1 - r0, n_tokens));
  matmul_rows(y + r0, w.rows, x, w.cols, nullptr, n_tokens, w, r0, r1, scratch.data(), prep);
}

void matmul(ThreadPool& pool, float* y, const float* x, int64_t n_tokens, const WeightView& w) {
  if (n_tokens <= 0) return;
  const int64_t kind = prep_kind(w, n_tokens);
  const PreparedActs prep = kind ? prepare_acts(pool, 0, kind, x, n_tokens, w.cols) : PreparedActs{};
  parallel_rows(pool, w.rows, matmul_row_grain(w), n_tokens >= kSharedPrepTokens,
                [&](int64_t b, int64_t e) { matmul_piece(y, x, n_tokens, w, b, e, kind ? &prep : nullptr); });
}

}  // namespace hl::cpu
