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
//   pass 1 (items: chunk, group, row block): CB[i, j] = C_i · B_j for j <= i,
//          once per group and shared by the group's heads.
//   pass 2 (items: sequence, head), chunks in order, state S_in in a local buffer:
//          cs_i = sum_{k<=i} a_k (chunk-local cumsum)
//          y_i  = exp(cs_i) * (S_in · C_i) + sum_{j<=i} CB[i, j] * exp(min(cs_i - cs_j, 0)) * dt_j * x_j
//                 + D * x_i
//          S_out = exp(cs_last) * S_in + sum_i exp(cs_last - cs_i) * dt_i * x_i ⊗ B_i
//          The decay is only ever formed on the lower triangle (j <= i), so no
//          positive exponent is taken for masked entries; cs_i - cs_j and
//          cs_last - cs_i are summed directly over their segment of a (see
//          ssm_scan_chunked_head) instead of subtracting two cumsums. The
//          chunked form relies on A <= 0 (A = -exp(A_log), per kernels.h):
//          the clamp and the early exit on underflow assume decays <= 1.
// Numerics: dt, cumsums, decays, state and all accumulation in f32; exp and
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
  int64_t cb_off;  // offset of this chunk's [G, len, len] CB block
};
}  // namespace

// Pass 2 of the chunked scan for sequence chunks [c_begin, c_end) and head h.
static void ssm_scan_chunked_head(const ScanArgs& a, const std::vector<Chunk>& chunks, int64_t c_begin,
                                  int64_t c_end, const float* cb /* per chunk [G, len, len] */,
                                  float* state /* [H, P, N] */, int64_t h, float* S /* [P, N] */,
                                  float* tmp /* [4, Q] */, int64_t Q) {
  const int64_t P = a.P, N = a.N, g = a.group_of(h);
  const float Ah = a.A[h], Dh = a.skip(h);
  float* dl = tmp;          // dt_i
  float* av = tmp + Q;      // a_i = dt_i * A
  float* cs = tmp + 2 * Q;  // sum_{k<=i} a_k
  float* rs = tmp + 3 * Q;  // sum_{k>i} a_k (to the chunk end)
  float* head_state = state + h * P * N;
  std::memcpy(S, head_state, (size_t)(P * N) * sizeof(float));
  for (int64_t c = c_begin; c < c_end; c++) {
    const int64_t t0 = chunks[c].t0, len = chunks[c].len;
    const float* cbc = cb + chunks[c].cb_off + g * len * len;  // [len, len], lower triangle valid
    float run = 0.0f;
    for (int64_t i = 0; i < len; i++) {
      dl[i] = a.dt(t0 + i, h);
      av[i] = dl[i] * Ah;
      run += av[i];
      cs[i] = run;
    }
    run = 0.0f;
    for (int64_t i = len - 1; i >= 0; i--) {
      rs[i] = run;
      run += av[i];
    }
    // y_i = D x_i + exp(cs_i) (S_in · C_i) + sum_{j<=i} CB[i,j] exp(cs_i - cs_j) dt_j x_j.
    // cs_i - cs_j is summed directly over a_{j+1..i} (going down from j = i):
    // a difference of two cumsums loses |cs| * eps of absolute precision in the
    // exponent, which is visible when dt is large. The segment sum only falls as
    // j decreases (A <= 0), so once exp underflows every further term is 0.
    for (int64_t i = 0; i < len; i++) {
      const float* xi = a.x_row(t0 + i, h);
      const float* ci = a.c_row(t0 + i, g);
      float* yi = a.y_row(t0 + i, h);
      const float ei = std::exp(cs[i]);
      for (int64_t p = 0; p < P; p++) yi[p] = Dh * xi[p] + ei * dot_f32(S + p * N, ci, N);
      float seg = 0.0f;
      for (int64_t j = i; j >= 0; j--) {
        if (j < i) seg += av[j + 1];
        if (seg < -104.0f) break;  // exp(seg) == 0 in f32, and stays 0 for smaller j
        const float m = cbc[i * len + j] * std::exp(std::min(seg, 0.0f)) * dl[j];
        axpy_f32(yi, m, a.x_row(t0 + j, h), P);
      }
    }
    // S_out = exp(cs_last) S_in + sum_i exp(cs_last - cs_i) dt_i x_i ⊗ B_i
    const float el = std::exp(cs[len - 1]);
    for (int64_t k = 0; k < P * N; k++) S[k] *= el;
    for (int64_t i = 0; i < len; i++) {
      const float wi = std::exp(rs[i]) * dl[i];
      const float* xi = a.x_row(t0 + i, h);
      const float* bi = a.b_row(t0 + i, g);
      for (int64_t p = 0; p < P; p++) axpy_f32(S + p * N, wi * xi[p], bi, N);
    }
  }
  std::memcpy(head_state, S, (size_t)(P * N) * sizeof(float));
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
  int64_t cb_size = 0;
  for (int64_t s = 0; s < n_seqs; s++) {
    first[s] = (int64_t)chunks.size();
    for (int64_t t = cu_seqlens[s]; t < cu_seqlens[s + 1]; t += Q) {
      const int64_t len = std::min<int64_t>(Q, cu_seqlens[s + 1] - t);
      chunks.push_back({s, t, len, cb_size});
      cb_size += a.G * len * len;
    }
  }
  first[n_seqs] = (int64_t)chunks.size();
  const int64_t n_chunks = (int64_t)chunks.size();
  if (n_chunks == 0) return;

  // pass 1: CB[c, g, i, j] = C_i · B_j, j <= i
  std::unique_ptr<float[]> cb = scratch_f32(cb_size);
  const int64_t row_blocks = (Q + kCbRows - 1) / kCbRows;
  pool.parallel_for(n_chunks * a.G * row_blocks, [&](int64_t b, int64_t e, int) {
    for (int64_t it = b; it < e; it++) {
      const int64_t c = it / (a.G * row_blocks), g = (it / row_blocks) % a.G, rb = it % row_blocks;
      const Chunk& ch = chunks[c];
      float* out = cb.get() + ch.cb_off + g * ch.len * ch.len;  // [len, len]
      for (int64_t i = rb * kCbRows; i < std::min(ch.len, (rb + 1) * kCbRows); i++) {
        const float* ci = a.c_row(ch.t0 + i, g);
        for (int64_t j = 0; j <= i; j++) out[i * ch.len + j] = dot_f32(ci, a.b_row(ch.t0 + j, g), a.N);
      }
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
    thread_local std::vector<float> buf;
    buf.resize((size_t)(a.P * a.N + 4 * Q));
    float* S = buf.data();
    ssm_scan_chunked_head(a, chunks, first[s], first[s + 1], cb.get(), states[s], h, S, S + a.P * a.N, Q);
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
