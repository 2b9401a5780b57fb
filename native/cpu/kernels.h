// native/cpu/kernels.h: the CPU kernel families (docs/KERNELS.md).
// Activations are f32, row-major, contiguous unless a stride is given; all
// accumulation is f32. Packed ragged batches use cu_seqlens[n_seqs + 1]
// (token offsets) and one state pointer per sequence. Every function splits
// its work over the pool it is given and never nests parallel_for.
// Preconditions are the caller's job (the executor and binding/kernels.cpp
// validate shapes once); kernels do not re-check per call.
#pragma once
#include <cstdint>

#include "../core/op_types.h"
#include "../core/tensor.h"
#include "../core/thread_pool.h"

namespace hl::cpu {

// ---- greedy pick (argmax.cpp)
// Index of the largest value, the first on ties; NaN never wins, and a NaN at
// index 0 gives 0.
int32_t argmax(const float* l, int64_t n);
// out[r] = argmax(logits[r, :] / divisor), each value divided in f32 as the
// executor divides logits by logits_scaling (so ties after the division count).
void argmax_rows(ThreadPool& pool, int32_t* out, const float* logits, int64_t rows, int64_t vocab, float divisor);

// ---- norms (rmsnorm.cpp)
// y[t, :] = x[t, :] * rsqrt(mean(x[t, :]^2) + eps) * w        x, y: [n_tokens, dim]; w: [dim]
// y may alias x.
void rmsnorm(ThreadPool& pool, float* y, const float* x, const float* w, int64_t n_tokens, int64_t dim,
             float eps);

// Residual add, then the norm of the sum, one row at a time (the row stays in L1):
// h[t, :] += alpha * branch[t, :]; u[t, :] = rmsnorm(h[t, :]) * w. Same arithmetic
// as the two separate steps (y += alpha * x with no contraction, then rmsnorm).
void add_rmsnorm(ThreadPool& pool, float* h, float* u, const float* branch, float alpha, const float* w,
                 int64_t n_tokens, int64_t dim, float eps);

// Gate first, then normalise per group (Mamba-2, norm_before_gate = false):
// u = x * silu(z); for each group g of dim/n_groups channels:
// y[t, g] = u[t, g] * rsqrt(mean(u[t, g]^2) + eps) * w[g]
// x, y: [n_tokens, dim]; z: rows of dim floats, z_stride apart (0 = dim); w: [dim]. y may alias x.
void gated_rmsnorm(ThreadPool& pool, float* y, const float* x, const float* z, const float* w,
                   int64_t n_tokens, int64_t dim, int64_t n_groups, float eps, int64_t z_stride = 0);

// ---- causal depthwise conv1d + bias + SiLU (conv1d.cpp)
// For each sequence s (tokens cu_seqlens[s] .. cu_seqlens[s+1]) and channel c:
// out[t, c] = silu(bias[c] + sum_{j<d_conv} w[c, j] * in[t - (d_conv-1) + j, c])
// where rows before the sequence start come from states[s] ([d_conv-1, channels],
// oldest row first; the raw pre-bias inputs of the previous call). On return
// states[s] holds the last d_conv-1 raw input rows (older rows shifted in when
// the sequence is shorter than d_conv-1).
// out: [n_tokens, channels]; in: rows of channels floats, in_stride apart (0 =
// channels); w: [channels, d_conv]; bias: [channels] (may be null).
void conv1d_causal_prefill(ThreadPool& pool, float* out, const float* in, const float* w, const float* bias,
                           int64_t channels, int d_conv, const int32_t* cu_seqlens, int n_seqs,
                           float* const* states, int64_t in_stride = 0);
// Decode: exactly one token per sequence, in/out: [n_seqs, channels] (in rows in_stride apart).
void conv1d_causal_step(ThreadPool& pool, float* out, const float* in, const float* w, const float* bias,
                        int64_t channels, int d_conv, int n_seqs, float* const* states, int64_t in_stride = 0);

// ---- Mamba-2 selective scan (ssm_scan.cpp)
using hl::SsmDims;
// Per sequence s, head h, token t (in order):
//   dt = softplus(dt_raw[t, h] + dt_bias[h])      (softplus(v) = v for v > 20)
//   S  = exp(dt * A[h]) * S + dt * x[t, h, :] ⊗ B[t, g(h), :]     S: [P, N]
//   y[t, h, :] = S · C[t, g(h), :] + D[h] * x[t, h, :]
// x, y: [n_tokens, H, P]; dt_raw: [n_tokens, H]; B, C: [n_tokens, G, N];
// A, D, dt_bias: [H] (A already -exp(A_log)); states[s]: [H, P, N], read as the
// initial state and overwritten with the final one. D may be null (no skip).
// chunk_size > 0 selects the chunked (SSD) evaluation with that chunk length
// (identical results up to rounding); 0 = the recurrence. x, dt_raw, B and C
// rows may be strided (SsmStrides); y is contiguous.
using hl::SsmStrides;
void ssm_scan(ThreadPool& pool, float* y, const float* x, const float* dt_raw, const float* A, const float* B,
              const float* C, const float* D, const float* dt_bias, const SsmDims& dims,
              const int32_t* cu_seqlens, int n_seqs, float* const* states, int chunk_size,
              const SsmStrides& strides = {});
// Decode: one token per sequence; x, y: [n_seqs, H, P], dt_raw [n_seqs, H], B, C [n_seqs, G, N].
void ssm_step(ThreadPool& pool, float* y, const float* x, const float* dt_raw, const float* A, const float* B,
              const float* C, const float* D, const float* dt_bias, const SsmDims& dims, int n_seqs,
              float* const* states, const SsmStrides& strides = {});

// ---- attention (attention.cpp)
// Keys/values of one sequence, possibly paged: key j of kv head h is at
//   k_pages[j / page_size] + h * head_stride + (j % page_size) * token_stride
// (values likewise). A contiguous [n_ctx, n_kv_heads, head_dim] cache is one
// page with page_size >= n_ctx, head_stride = head_dim, token_stride = n_kv_heads * head_dim.
using hl::KvView;
using hl::AttentionDims;
// For each sequence s, the queries q[cu_seqlens[s] .. cu_seqlens[s+1]) are the
// LAST n_q = cu_seqlens[s+1]-cu_seqlens[s] positions of that sequence's context:
// query i sits at absolute position kv[s].n_ctx - n_q + i and (causal) sees keys
// 0 .. that position. Online softmax in f32.
// q, out: [n_tokens, Hq, Dh].
void attention(ThreadPool& pool, float* out, const float* q, const AttentionDims& dims,
               const int32_t* cu_seqlens, int n_seqs, const KvView* kv);
// Appends keys (or values) to F32 / F16 / Q8_0 KV pages (kv_rows.cpp;
// layout: Backend::kv_write).
void kv_write(float* const* pages, int64_t page_size, const float* src, int64_t pos0, int64_t n, int64_t n_kv,
              int64_t head_dim, DType dtype);
// One KV row (head_dim elements of `dtype`, scales for Q8_0) widened to f32.
void kv_row_to_f32(float* out, const void* row, const float* scales, int64_t head_dim, DType dtype);

// ---- matmul (matmul.cpp)
// y[t, r] = sum_k x[t, k] * W[r, k]       x: [n_tokens, W.cols]; y: [n_tokens, W.rows]
// W in any supported dtype (F32, F16, BF16, Q8_0). Threads split output rows.
void matmul(ThreadPool& pool, float* y, const float* x, int64_t n_tokens, const WeightView& w);

// Several matmuls of the same x, ys[i] = x · ws[i]ᵀ, in one parallel region
// over the concatenated output rows (matmul_fused.cpp).
void matmul_multi(ThreadPool& pool, float* const* ys, const float* x, int64_t n_tokens, const WeightView* ws,
                  int n_mats);
// out = silu(x · gateᵀ) * (x · upᵀ), up_out = x · upᵀ; [n_tokens, gate.rows]
// each. One parallel region: a thread's piece of rows runs both matmuls and
// the product while its outputs are in cache (matmul_fused.cpp).
void matmul_swiglu(ThreadPool& pool, float* out, float* up_out, const float* x, int64_t n_tokens,
                   const WeightView& gate, const WeightView& up);

// Dequantize/widen row r of W into out[W.cols].
void weight_row_to_f32(const WeightView& w, int64_t r, float* out);

// ---- embedding (embed.cpp)
// out[t, :] = scale * W[ids[t], :]   W: [vocab, dim] any dtype; ids already validated.
void embed(ThreadPool& pool, float* out, const WeightView& w, const int32_t* ids, int64_t n_tokens, float scale);

// ---- SwiGLU (swiglu.cpp)
// out[t, i] = silu(gate[t, i]) * up[t, i]    all [n_tokens, n]
void swiglu(ThreadPool& pool, float* out, const float* gate, const float* up, int64_t n_tokens, int64_t n);

// ---- MoE (moe.cpp)
// Top-k of logits[t, :] (ties -> lower expert index), weights = softmax over
// the k selected logits. logits: [n_tokens, n_experts]; ids, weights: [n_tokens, top_k].
void moe_route(ThreadPool& pool, int32_t* ids, float* weights, const float* logits, int64_t n_tokens,
               int64_t n_experts, int64_t top_k);
using hl::MoeWeights;
// out[t, :] = sum_{j<top_k} weights[t, j] * down_e · (silu(gate_e · x[t]) * (up_e · x[t])),  e = ids[t, j]
// Tokens are grouped by expert so each selected expert's weights stream once.
// x, out: [n_tokens, D]; out is overwritten.
void moe_forward(ThreadPool& pool, float* out, const float* x, const int32_t* ids, const float* weights,
                 int64_t n_tokens, int64_t top_k, const MoeWeights& w);

}  // namespace hl::cpu
