// native/cpu/simd/ops.h: the per-ISA table of hot inner loops, picked once at
// load from cpu_features() (HYBRIDLM_CPU=scalar|avx2|avx512 forces a lower
// path). The kernel families in native/cpu/*.cpp stay ISA-free and call these.
#pragma once
#include <cstdint>

namespace hl::cpu {

enum class RowKind : int { F32 = 0, F16 = 1, BF16 = 2 };

// Activations quantized for int8 dot products: per 32 elements one f32 scale
// d = absmax / 127 and q = round_half_even(x * (1 / d)) in [-127, 127].
constexpr int64_t kQ8Block = 32;

// One token's quantized activations (quantize_act): q[K], d[K / block], and
// d times the exact sums of q per 16 (sum16[K / 16]) and per 32 (sum32[K / 32]).
struct QAct {
  const int8_t* q;
  const float* d;
  const float* sum16;
  const float* sum32;
};

// Rows that SimdOps::attn_rows prefetches: n K and V rows, ld bytes apart.
struct AttnPrefetch {
  const uint8_t *k = nullptr, *v = nullptr;
  int64_t ld = 0, n = 0;
};

// A run of Q8_0 K/V rows (KV pages): per key, Dh int8 codes ld bytes apart and
// one f32 scale per 32 codes, lds floats apart.
struct Q8Run {
  const int8_t* k = nullptr;
  const float* ks = nullptr;
  const int8_t* v = nullptr;
  const float* vs = nullptr;
  int64_t ld = 0, lds = 0;
};

struct SimdOps {
  const char* name;
  // sum_i a[i] * b[i]
  float (*dot_f32)(const float* a, const float* b, int64_t n);
  // y[i] += alpha * x[i]
  void (*axpy_f32)(float* y, float alpha, const float* x, int64_t n);
  // p[i] = exp(s[i] - base) (p may alias s); returns sum_i p[i]. Polynomial
  // exp on the SIMD paths (~2 ulp), std::exp on scalar.
  float (*exp_sub_sum)(float* p, const float* s, int64_t n, float base);
  // o[e] += sum_j p[j] * v[j][e]   e < Dh, j < n (attention P·V, o held in registers)
  void (*pv_accumulate)(float* o, const float* p, const float* const* v, int64_t n, int64_t Dh);
  // Online softmax of R query rows q[r][Dh] over n keys whose K and V rows (F32 or F16)
  // lie ld bytes apart from k and v: scores scale * q·k update the running max m[R],
  // sum l[R] and unnormalised output o[R, Dh] (decode path, attn_simd.h; every row sees
  // every key, so R is the few rows of a decode step sharing a kv head).
  // While reading, it requests the lines of pf's rows, one row per key (pages are
  // scattered, so the caller points pf at a run further on).
  void (*attn_rows)(float* m, float* l, float* o, const float* const* q, int64_t R, const uint8_t* k,
                    const uint8_t* v, int64_t ld, int64_t n, int64_t Dh, float scale, RowKind kind,
                    const AttnPrefetch& pf);
  // attn_rows over Q8_0 rows (codes widened in registers, scales per block);
  // the first n_pf keys of pf are requested while reading.
  void (*attn_rows_q8)(float* m, float* l, float* o, const float* const* q, int64_t R, const Q8Run& run, int64_t n,
                       int64_t Dh, float scale, const Q8Run& pf, int64_t n_pf);
  // exact widening of n halves / bfloats
  void (*f16_to_f32)(float* out, const uint16_t* in, int64_t n);
  void (*bf16_to_f32)(float* out, const uint16_t* in, int64_t n);
  // GGUF block rows -> f32, exact: type is the ggml id (Q8_0, Q4_0, Q4_K, Q5_K, Q6_K)
  void (*dequant)(int type, const uint8_t* src, float* out, int64_t K);
  // y[t * ldy + r] = sum_k x[t][k] * w[r][k]   t < n_x, r < n_w; weight rows of `kind`
  // (register-blocked micro-kernel; K need not be a multiple of the width).
  void (*gemm)(float* y, int64_t ldy, const float* const* x, int64_t n_x, const uint8_t* const* w, int64_t n_w,
               int64_t K, RowKind kind);
  // Prefill form: activations of up to x_panel tokens packed K-major,
  // xt[k * x_panel + t] (zero-padded); then
  // y[t * ldy + r] (+)= sum_k xt[k][t] * w[r][k]   t < n_x <= x_panel, r < n_w; f32 weight
  // rows; acc_y adds to y (K-blocked callers), otherwise overwrites.
  int x_panel;
  void (*pack_x)(float* xt, const float* const* x, int64_t n_x, int64_t K);
  void (*gemm_xt)(float* y, int64_t ldy, const float* xt, int64_t n_x, const float* const* w, int64_t n_w, int64_t K,
                  bool acc_y);
  // Activations for int8 dots, per block of `block` (32 or 256) values:
  // d[b] = absmax / 127 (f32), q = round_half_even(x * (1 / d)) in [-127, 127];
  // sum16[j] / sum32[j] = d * sum of q[16j .. 16j + 15] / q[32j .. 32j + 31] (integer sum
  // exact, one f32 rounding; either may be null). K a multiple of block.
  void (*quantize_act)(int8_t* q, float* d, float* sum16, float* sum32, const float* x, int64_t K, int64_t block);
  // y[t * ldy + r] = sum_b dw[r, b] * dx[t, b] * sum_i qw[r, b, i] * qx[t, b, i]  over Q8_0 weight rows
  void (*gemm_q8_0)(float* y, int64_t ldy, const int8_t* const* xq, const float* const* xd, int64_t n_x,
                    const uint8_t* const* w, int64_t n_w, int64_t K);
  // y[t * ldy + r] = sum_k decode(w[r])[k] * x[t].d[k / block] * x[t].q[k]  over Q4_0 / Q4_K / Q5_K / Q6_K
  // rows (type = ggml id; x quantized by quantize_act with block 32 for Q4_0, 256 for the K-quants),
  // integer dots on the packed codes (kquant_simd.h).
  void (*gemm_kq)(float* y, int64_t ldy, const QAct* x, int64_t n_x, const uint8_t* const* w, int64_t n_w, int64_t K,
                  int type);
  // Int8 GEMM over Q8_0 / Q4_0 / Q4_K / Q5_K / Q6_K rows (igemm_simd.h): igemm_pack
  // repacks n_w rows into igemm_packed_bytes(type, n_w, K) bytes (64-byte aligned
  // out), igemm then computes what gemm_kq / gemm_q8_0 do for any n_x, with x
  // quantized as for gemm_kq (block 32 for Q8_0 / Q4_0, 256 for the K-quants).
  // igemm_min_tokens(type): from how many tokens igemm (repack included) beats
  // gemm_kq / gemm_q8_0 on this ISA (measured: BENCHMARKS.md).
  int64_t (*igemm_min_tokens)(int type);
  int64_t (*igemm_packed_bytes)(int type, int64_t n_w, int64_t K);
  void (*igemm_pack)(uint8_t* out, int type, const uint8_t* const* w, int64_t n_w, int64_t K);
  // The row-by-row repack igemm_pack must equal byte for byte (igemm_pack
  // transposes equally spaced rows straight from the block bytes; tests).
  void (*igemm_pack_reference)(uint8_t* out, int type, const uint8_t* const* w, int64_t n_w, int64_t K);
  void (*igemm)(float* y, int64_t ldy, const QAct* x, int64_t n_x, const uint8_t* packed, int64_t n_w, int64_t K,
                int type);
  // One Mamba-2 state row S[N] over nt tokens (B/C rows bc_stride apart):
  //   S = S * da[t] + dx[t] * B_t;  y[t] = S · C_t
  void (*ssm_row_scan)(float* S, int64_t N, const float* B, const float* C, int64_t bc_stride, const float* da,
                       const float* dx, float* y, int64_t nt);
  // The largest non-NaN x[i] (-inf if none); first i in [from, n) with x[i] > t (n if none).
  float (*max_f32)(const float* x, int64_t n);
  int64_t (*first_gt)(const float* x, int64_t from, int64_t n, float t);
  // out[i] = silu(g[i]) * u[i] (u null: silu(g[i])), silu(v) = v / (1 + exp(-v));
  // out may alias g or u. exp as in exp_sub_sum: polynomial on the SIMD paths
  // (a few ulp; arguments clamped, so silu(v) -> v, not -0, far below -88),
  // std::exp on scalar (docs/KERNELS.md, SiLU).
  void (*silu_mul)(float* out, const float* g, const float* u, int64_t n);
};

// The active table (chosen once, thread-safe).
const SimdOps& simd_ops();

// Every table this build has (null where the ISA is not compiled for this arch).
const SimdOps* simd_ops_scalar();
const SimdOps* simd_ops_avx2();
const SimdOps* simd_ops_avx512();
const SimdOps* simd_ops_neon();

}  // namespace hl::cpu
