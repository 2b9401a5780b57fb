// native/cpu/ssm_scan.cpp: Mamba-2 selective scan, prefill and decode (docs/KERNELS.md, Mamba-2 scan).
// Per sequence, head h (group g = h / (H / G)), token t:
//   dt = softplus(dt_raw[t, h] + dt_bias[h]),  a = dt * A[h]
//   S  = exp(a) * S + dt * x[t, h, :] ⊗ B[t, g, :]          S: [P, N]
//   y[t, h, :] = S · C[t, g, :] + D[h] * x[t, h, :]
// Layouts: x, y [n_tokens, H, P]; dt_raw [n_tokens, H]; B, C [n_tokens, G, N];
// A, D, dt_bias [H]; states[s] [H, P, N] (N contiguous). The rows of x, dt_raw,
// B and C may be strided (SsmStrides: column views of the executor's buffers).
//
// Recurrence (chunk_size == 0; also ssm_step): work items are (sequence, head,
// block of kRowBlock state rows). An item sweeps tokens in tiles of kTokTile
// (so the B/C tile stays in L1/L2 while every row of the block passes over it);
// each row is held in registers across the tile (SimdOps::ssm_row_scan), which
// updates it and forms its y in one fused pass over N: the state pool is read
// and written once per token tile. dt and exp(a) are computed once per (item, token).
//
// Chunked SSD (chunk_size = Q > 0; Dao & Gu 2024, Mamba-2 paper §6): sequences
// are cut into chunks of <= Q tokens that never straddle a sequence boundary.
//   pass 1 (items: chunk, group, block of columns j): CBᵀ[j, i] = B_j · C_i for
//          i >= j and Bᵀ, once per group and shared by the group's heads.
//   pass 2 (items: sequence, head), chunks in order, on the head's state in place:
//          da_i = exp(dt_i A), E_i = da_0 ... da_i, R_i = da_{i+1} ... da_last
//          y_i  = E_i * (S_in · C_i) + sum_{j<=i} CB[i, j] * (da_{j+1} ... da_i) * dt_j * x_j + D * x_i
//          S_out = E_last * S_in + sum_i R_i * dt_i * x_i ⊗ B_i
//          both as register-blocked GEMMs on the prefill micro-kernel (see
//          ssm_scan_chunked_head). Decays are running products of da, as the
//          recurrence applies them: no exponent of a cumsum difference cancels
//          and none is positive. The chunked form relies on A <= 0 (A =
//          -exp(A_log), per kernels.h): decays <= 1, so a row of the masked
//          decay matrix stops once it underflows.
// When each pays (docs/KERNELS.md, Mamba-2 scan): the recurrence does 4 P N
// flops per token and head in a fused but latency-bound row loop; the chunked
// form does 4 P N + P * len in GEMM tiles, so it wins once chunks are long
// enough to fill the tiles (bench/ssm-scan-chunk.ts measures the crossover).
// Numerics: dt, decays, state and all accumulation in f32; exp and
// softplus in f32 (softplus(v) = v for v > 20). Both paths agree to rounding.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "kernel_util.h"
#include "kernels.h"

namespace hl::cpu {

constexpr int64_t kRowBlock = 16;  // state rows per recurrence item
constexpr int64_t kTokTile = 64;   // tokens per B/C tile in the recurrence
constexpr int64_t kCbRows = 32;    // CB rows per pass-1 item

namespace {

struct ScanArgs {
  float* y;             // [n_tokens, H, P]
  const float* x;       // [n_tokens, H, P]
  const float* dt_raw;  // [n_tokens, H]
  const float* A;       // [H]
  const float* B;       // [n_tokens, G, N]
  const float* C;       // [n_tokens, G, N]
  const float* D;       // [H] or null
  const float* dt_bias; // [H] or null
  int64_t H, P, N, G;
  int64_t x_stride, dt_stride, bc_stride;  // floats between token rows

  int64_t group_of(int64_t h) const { return h / (H / G); }
  const float* x_row(int64_t t, int64_t h) const { return x + t * x_stride + h * P; }
  float* y_row(int64_t t, int64_t h) const { return y + (t * H + h) * P; }
  const float* b_row(int64_t t, int64_t g) const { return B + t * bc_stride + g * N; }
  const float* c_row(int64_t t, int64_t g) const { return C + t * bc_stride + g * N; }
  float dt(int64_t t, int64_t h) const { return softplus(dt_raw[t * dt_stride + h] + (dt_bias ? dt_bias[h] : 0.0f)); }
  float skip(int64_t h) const { return D ? D[h] : 0.0f; }
};

ScanArgs make_args(float* y, const float* x, const float* dt_raw, const float* A, const float* B, const float* C,
                   const float* D, const float* dt_bias, const SsmDims& d, const SsmStrides& st) {
  const int64_t H = d.n_heads, P = d.head_dim, N = d.d_state, G = d.n_groups;
  return ScanArgs{y, x, dt_raw, A, B, C, D, dt_bias, H, P, N, G,
                  st.x ? st.x : H * P, st.dt ? st.dt : H, st.bc ? st.bc : G * N};
}

}  // namespace

// ---- kernels

// Recurrence over tokens [start, start + len) for head h, rows [p0, p1),
// updated in place in the state pool. Per token tile, each row runs through
// ssm_row_scan, which keeps it in registers across the tile's tokens.
static void ssm_scan_recurrent_rows(const ScanArgs& a, int64_t start, int64_t len, float* state /* [H, P, N] */,
                                    int64_t h, int64_t p0, int64_t p1, float* dtv /* [kTokTile] */,
                                    float* dav /* [kTokTile] */, float* dxv /* [kTokTile] */,
                                    float* yv /* [kTokTile] */) {
  const SimdOps& ops = simd_ops();
  const int64_t N = a.N, g = a.group_of(h);
  const float Ah = a.A[h], Dh = a.skip(h);
  for (int64_t t0 = 0; t0 < len; t0 += kTokTile) {
    const int64_t nt = std::min(kTokTile, len - t0), ts = start + t0;
    for (int64_t i = 0; i < nt; i++) {
      dtv[i] = a.dt(ts + i, h);
      dav[i] = std::exp(dtv[i] * Ah);
    }
    for (int64_t p = p0; p < p1; p++) {
      float* Sr = state + (h * a.P + p) * N;  // [N]
      for (int64_t i = 0; i < nt; i++) dxv[i] = dtv[i] * a.x_row(ts + i, h)[p];
      ops.ssm_row_scan(Sr, N, a.b_row(ts, g), a.c_row(ts, g), a.bc_stride, dav, dxv, yv, nt);
      for (int64_t i = 0; i < nt; i++) a.y_row(ts + i, h)[p] = yv[i] + Dh * a.x_row(ts + i, h)[p];
    }
  }
}

namespace {
struct Chunk {
  int64_t seq, t0, len;
  int64_t cb_off;  // offset of this chunk's [G, len, len] CBᵀ block
  int64_t bt_off;  // offset of this chunk's [G, N, len] Bᵀ block
};
}  // namespace

// Pass 2 of the chunked scan for sequence chunks [c_begin, c_end) and head h,
// on the head's state in place. Per chunk of len tokens, with da_i = exp(dt_i A),
// E_i = da_0 ... da_i (decay from the chunk start) and R_i = da_{i+1} ... da_last:
//   y_i = D x_i + E_i (S_in · C_i) + sum_{j<=i} CB[i, j] (da_{j+1} ... da_i) dt_j x_j
//   S_out = E_last S_in + sum_i R_i dt_i x_i ⊗ B_i
// Both are register-blocked GEMMs on the prefill micro-kernel (SimdOps::gemm_xt),
// whose packed operand holds XP tokens (or state rows) K-major:
//   y[i, p]  = sum_k [E_i C_i | L_i][k] * [S_p | x_.[p]][k]    K = N + len (state and
//              intra-chunk terms in one pass; L_i = the masked row of CB * decay * dt)
//   S[p, n] += sum_i (R_i dt_i x_i[p]) * Bᵀ[n, i]              K = len
// Decays are running products of da (as the recurrence applies them), never
// exp of a cumsum difference, so no exponent cancels and no positive exponent
// is formed; A <= 0 keeps every product <= 1, so a row stops once it underflows.
static void ssm_scan_chunked_head(const ScanArgs& a, const std::vector<Chunk>& chunks, int64_t c_begin,
                                  int64_t c_end, const float* cbt /* per chunk [G, len, len] */,
                                  const float* bt_all /* per chunk [G, N, len] */, float* state /* [H, P, N] */,
                                  int64_t h, int64_t Q) {
  const SimdOps& ops = simd_ops();
  const int64_t P = a.P, N = a.N, g = a.group_of(h), XP = ops.x_panel, K1max = N + Q;
  const float Ah = a.A[h], Dh = a.skip(h);
  thread_local std::vector<float> buf;
  thread_local std::vector<const float*> rows;
  buf.resize((size_t)(5 * Q + XP + P * K1max + K1max * XP + Q * XP));
  rows.resize((size_t)(P + N));
  float* dl = buf.data();      // dt_i
  float* da = dl + Q;          // exp(dt_i A)
  float* E = da + Q;           // da_0 .. da_i
  float* R = E + Q;            // da_{i+1} .. da_last
  float* Pj = R + Q;           // da_{j+1} .. da_{i0} for the current panel
  float* Pp = Pj + Q;          // [XP] da_{i0+1} .. da_{i0+t}
  float* w1 = Pp + XP;         // [P, N + len]: row p = S[p, :] | x_0[p] .. x_{len-1}[p]
  float* xt = w1 + P * K1max;  // [N + len, XP]: one packed panel of token rows [E_i C_i | L_i]
  float* xt2 = xt + K1max * XP;  // [len, XP]: one packed panel of state rows R_i dt_i x_i[p]
  float* S = state + h * P * N;  // [P, N]
  for (int64_t c = c_begin; c < c_end; c++) {
    const int64_t t0 = chunks[c].t0, len = chunks[c].len, K1 = N + len;
    const float* cb = cbt + chunks[c].cb_off + g * len * len;   // [len (j), len (i)], i >= j valid
    const float* bt = bt_all + chunks[c].bt_off + g * N * len;  // [N, len]
    float run = 1.0f;
    for (int64_t i = 0; i < len; i++) {
      dl[i] = a.dt(t0 + i, h);
      da[i] = std::exp(dl[i] * Ah);
      run *= da[i];
      E[i] = run;
    }
    run = 1.0f;
    for (int64_t i = len - 1; i >= 0; i--) {
      R[i] = run;
      run *= da[i];
    }
    // y for this chunk, one panel of XP tokens at a time.
    for (int64_t p = 0; p < P; p++) {
      std::memcpy(w1 + p * K1, S + p * N, (size_t)N * sizeof(float));
      rows[p] = w1 + p * K1;
    }
    for (int64_t j = 0; j < len; j++) {
      const float* xj = a.x_row(t0 + j, h);
      for (int64_t p = 0; p < P; p++) w1[p * K1 + N + j] = xj[p];
    }
    for (int64_t i0 = 0; i0 < len; i0 += XP) {
      const int64_t ni = std::min<int64_t>(XP, len - i0);
      std::memset(xt, 0, (size_t)(K1 * XP) * sizeof(float));
      for (int64_t k = 0; k < N; k++)
        for (int64_t t = 0; t < ni; t++) xt[k * XP + t] = E[i0 + t] * a.c_row(t0 + i0 + t, g)[k];
      // L rows: for j < i0 the decay splits as (da_{j+1} .. da_{i0}) * (da_{i0+1} .. da_i),
      // both running products; inside the panel's diagonal block it is formed directly.
      Pp[0] = 1.0f;
      for (int64_t t = 1; t < ni; t++) Pp[t] = Pp[t - 1] * da[i0 + t];
      float pj = 1.0f;
      for (int64_t j = i0 - 1; j >= 0 && pj > 1e-37f; j--) {
        pj *= da[j + 1];
        const float f = pj * dl[j];
        const float* cbj = cb + j * len + i0;
        float* dst = xt + (N + j) * XP;
        for (int64_t t = 0; t < ni; t++) dst[t] = cbj[t] * f * Pp[t];
      }
      for (int64_t j = i0; j < i0 + ni; j++) {
        const float* cbj = cb + j * len;
        float* dst = xt + (N + j) * XP;
        float dec = 1.0f;  // da_{j+1} .. da_i
        for (int64_t i = j; i < i0 + ni; i++) {
          if (i > j) dec *= da[i];
          dst[i - i0] = cbj[i] * dec * dl[j];
        }
      }
      ops.gemm_xt(a.y_row(t0 + i0, h), a.H * P, xt, ni, rows.data(), P, K1, false);
      for (int64_t t = 0; t < ni; t++) axpy_f32(a.y_row(t0 + i0 + t, h), Dh, a.x_row(t0 + i0 + t, h), P);
    }
    // S_out = E_last S_in + sum_i R_i dt_i x_i ⊗ B_i, one panel of XP state rows at a time.
    const float el = E[len - 1];
    for (int64_t k = 0; k < P * N; k++) S[k] *= el;
    for (int64_t n = 0; n < N; n++) rows[P + n] = bt + n * len;
    for (int64_t p0 = 0; p0 < P; p0 += XP) {
      const int64_t np = std::min<int64_t>(XP, P - p0);
      for (int64_t i = 0; i < len; i++) {
        const float wi = R[i] * dl[i];
        const float* xi = a.x_row(t0 + i, h) + p0;
        float* dst = xt2 + i * XP;
        for (int64_t t = 0; t < XP; t++) dst[t] = t < np ? wi * xi[t] : 0.0f;
      }
      ops.gemm_xt(S + p0 * N, N, xt2, np, rows.data() + P, N, len, true);
    }
  }
}

// ---- entry points

static void ssm_scan_recurrent(ThreadPool& pool, const ScanArgs& a, const int32_t* cu_seqlens, int n_seqs,
                               float* const* states) {
  const int64_t n_rb = (a.P + kRowBlock - 1) / kRowBlock;
  const int64_t per_seq = a.H * n_rb;
  parallel_items(pool, (int64_t)n_seqs * per_seq, [&](int64_t it) {
    float buf[4 * kTokTile];
    const int64_t s = it / per_seq, h = (it % per_seq) / n_rb, rb = it % n_rb;
    const int64_t start = cu_seqlens[s], len = cu_seqlens[s + 1] - start;
    if (len == 0) return;
    const int64_t p0 = rb * kRowBlock, p1 = std::min(a.P, p0 + kRowBlock);
    ssm_scan_recurrent_rows(a, start, len, states[s], h, p0, p1, buf, buf + kTokTile, buf + 2 * kTokTile,
                            buf + 3 * kTokTile);
  });
}

static void ssm_scan_chunked(ThreadPool& pool, const ScanArgs& a, const int32_t* cu_seqlens, int n_seqs,
                             float* const* states, int64_t Q) {
  std::vector<Chunk> chunks;
  std::vector<int64_t> first(n_seqs + 1);
  int64_t cb_size = 0, bt_size = 0;
  for (int64_t s = 0; s < n_seqs; s++) {
    first[s] = (int64_t)chunks.size();
    for (int64_t t = cu_seqlens[s]; t < cu_seqlens[s + 1]; t += Q) {
      const int64_t len = std::min<int64_t>(Q, cu_seqlens[s + 1] - t);
      chunks.push_back({s, t, len, cb_size, bt_size});
      cb_size += a.G * len * len;
      bt_size += a.G * a.N * len;
    }
  }
  first[n_seqs] = (int64_t)chunks.size();
  const int64_t n_chunks = (int64_t)chunks.size();
  if (n_chunks == 0) return;

  // pass 1, per (chunk, group, block of kCbRows columns j), shared by the group's heads:
  // CBᵀ[j, i] = B_j · C_i for i >= j, and Bᵀ[n, i] (the state GEMM's weight rows).
  // Both written along i, contiguously.
  std::unique_ptr<float[]> cbt = scratch_f32(cb_size);
  std::unique_ptr<float[]> bt = scratch_f32(bt_size);
  const int64_t col_blocks = (Q + kCbRows - 1) / kCbRows;
  pool.parallel_for(n_chunks * a.G * col_blocks, [&](int64_t b, int64_t e, int) {
    for (int64_t it = b; it < e; it++) {
      const int64_t c = it / (a.G * col_blocks), g = (it / col_blocks) % a.G, jb = it % col_blocks;
      const Chunk& ch = chunks[c];
      const int64_t j0 = jb * kCbRows, j1 = std::min(ch.len, j0 + kCbRows);
      if (j0 >= j1) continue;
      float* out = cbt.get() + ch.cb_off + g * ch.len * ch.len;  // [len, len]
      for (int64_t j = j0; j < j1; j++) {
        const float* bj = a.b_row(ch.t0 + j, g);
        for (int64_t i = j; i < ch.len; i++) out[j * ch.len + i] = dot_f32(bj, a.c_row(ch.t0 + i, g), a.N);
      }
      float* btc = bt.get() + ch.bt_off + g * a.N * ch.len;  // [N, len]
      for (int64_t n = 0; n < a.N; n++)
        for (int64_t i = j0; i < j1; i++) btc[n * ch.len + i] = a.b_row(ch.t0 + i, g)[n];
    }
  });

  // pass 2: per (sequence, head), chunks in order; longest sequences first
  std::vector<int64_t> order(n_seqs);
  for (int64_t s = 0; s < n_seqs; s++) order[s] = s;
  std::stable_sort(order.begin(), order.end(),
                   [&](int64_t l, int64_t r) { return first[l + 1] - first[l] > first[r + 1] - first[r]; });
  parallel_items(pool, (int64_t)n_seqs * a.H, [&](int64_t it) {
    const int64_t s = order[it / a.H], h = it % a.H;
    if (first[s] == first[s + 1]) return;
    ssm_scan_chunked_head(a, chunks, first[s], first[s + 1], cbt.get(), bt.get(), states[s], h, Q);
  });
}

void ssm_scan(ThreadPool& pool, float* y, const float* x, const float* dt_raw, const float* A, const float* B,
              const float* C, const float* D, const float* dt_bias, const SsmDims& dims,
              const int32_t* cu_seqlens, int n_seqs, float* const* states, int chunk_size,
              const SsmStrides& strides) {
  const ScanArgs a = make_args(y, x, dt_raw, A, B, C, D, dt_bias, dims, strides);
  if (chunk_size > 0)
    ssm_scan_chunked(pool, a, cu_seqlens, n_seqs, states, chunk_size);
  else
    ssm_scan_recurrent(pool, a, cu_seqlens, n_seqs, states);
}

void ssm_step(ThreadPool& pool, float* y, const float* x, const float* dt_raw, const float* A, const float* B,
              const float* C, const float* D, const float* dt_bias, const SsmDims& dims, int n_seqs,
              float* const* states, const SsmStrides& strides) {
  const ScanArgs a = make_args(y, x, dt_raw, A, B, C, D, dt_bias, dims, strides);
  // Pure bandwidth: each (sequence, head) streams its [P, N] state once, in place.
  const SimdOps& ops = simd_ops();
  pool.parallel_for(
      (int64_t)n_seqs * a.H,
      [&](int64_t b, int64_t e, int) {
        for (int64_t it = b; it < e; it++) {
          const int64_t s = it / a.H, h = it % a.H, g = a.group_of(h);
          const float dt = a.dt(s, h), da = std::exp(dt * a.A[h]), Dh = a.skip(h);
          float* S = states[s] + h * a.P * a.N;  // [P, N]
          const float* xr = a.x_row(s, h);
          float* yr = a.y_row(s, h);
          for (int64_t p = 0; p < a.P; p++) {
            const float dx = dt * xr[p];
            float yv;
            ops.ssm_row_scan(S + p * a.N, a.N, a.b_row(s, g), a.c_row(s, g), 0, &da, &dx, &yv, 1);
            yr[p] = yv + Dh * xr[p];
          }
        }
      },
      4);
}

}  // namespace hl::cpu
