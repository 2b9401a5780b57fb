// cuda/ssm_scan.cu: Mamba-2 selective scan, prefill and decode (docs/KERNELS.md),
// twin of native/cpu/ssm_scan.cpp.
// Per sequence s, head h (group g = h / (H / G)), token t:
//   dt = softplus(dt_raw[t, h] + dt_bias[h]),  a = dt * A[h]
//   S  = exp(a) * S + dt * x[t, h, :] ⊗ B[t, g, :]          S: [P, N]
//   y[t, h, :] = S · C[t, g, :] + D[h] * x[t, h, :]
// Layouts: x, y [n_tokens, H, P]; dt_raw [n_tokens, H]; B, C [n_tokens, G, N]
// (the *_strided entry points: rows of x, dt_raw and B / C any stride apart);
// A, D, dt_bias [H] (D, dt_bias may be null); states: host array of device
// pointers to [H, P, N] (N contiguous); a null state pointer is a padding
// row: zero initial state, nothing written back.
//
// Recurrence (chunk_size == 0, short inputs, and ssm_step): one warp per
// (sequence, head, group of 4 state rows); lanes span N (N/32 values each),
// the rows' state lives in registers for the whole sweep over the tokens, so
// the state is read and written once per call. Per token: dt and e^a once per
// warp, S = S·e^a + (dt·x_p)·B, y_p = warp_sum(S·C) + D·x_p.
//
// Chunked SSD (chunk_size = Q > 0 and some sequence >= 32 tokens; Dao & Gu
// 2024 §6). Chunks of <= Q tokens never straddle a sequence (chunk table
// built on the host from cu_seqlens). Five launches:
//   1 prep    (chunk, head):   dt_i, chunk-local cumsum cs_i of a_i
//   2 CB      (chunk, group, 64x64 tile): CB[i, j] = C_i · B_j, j <= i
//   3 states  (chunk, head, 64x64 tile of P x N):
//             R = sum_i exp(cs_last - cs_i) dt_i x_i ⊗ B_i
//   4 passing (sequence, head, P·N element), chunks in order:
//             S_in(c) = S; S = exp(cs_last(c)) S + R(c)   (S_in overwrites R)
//   5 output  (chunk, head, 64x64 tile of Q x P):
//             y_i = sum_{j<=i} CB[i, j] exp(min(cs_i - cs_j, 0)) dt_j x_j
//                   + exp(cs_i) S_in · C_i + D x_i
// The decays are formed in registers from cs (never a positive exponent for
// masked entries); the GEMMs are 64x64 block tiles (tile_gemm.cuh): 3xTF32
// mma.sync on sm_80+ (f32-level results), f32 SIMT below or when disabled.
// Numerics: dt, cs, decays, states and accumulation in f32.
#include <vector>

#include "tile_gemm.cuh"

namespace hlc {

constexpr int kScanRows = 4;          // state rows per warp (recurrence)
constexpr int kScanWarps = 4;         // warps per block (recurrence)
constexpr int kMaxChunk = 256;        // larger chunk_size values are clamped
constexpr int kMinChunkedTokens = 32; // below this every sequence uses the recurrence

struct ScanPtrs {
  float* y;             // [T, H, P]
  const float* x;       // [T, H, P]
  const float* dt_raw;  // [T, H]
  const float* A;       // [H]
  const float* B;       // [T, G, N]
  const float* C;       // [T, G, N]
  const float* D;       // [H] or null
  const float* dt_bias; // [H] or null
  int64_t H, P, N, G;
  int64_t ldx, ldt, ldbc;  // row strides (floats) of x, dt_raw and B / C: column views of wider buffers
};
HLC_GRAPH_PARAM_STRUCT(ScanPtrs, 8 * 8 + 7 * 8);

// ---- device code: recurrence

// cu == null: decode, sequence s is token s.
template <int NPL>
__global__ void __launch_bounds__(kScanWarps * 32)
ssm_recurrent_kernel(ScanPtrs a, const int32_t* cu, float* const* states, int64_t n_seqs, int64_t row_groups) {
  const int lane = threadIdx.x & 31;
  const int64_t wid = (int64_t)blockIdx.x * kScanWarps + (threadIdx.x >> 5);
  if (wid >= n_seqs * a.H * row_groups) return;
  const int64_t rg = wid % row_groups, h = (wid / row_groups) % a.H, s = wid / (row_groups * a.H);
  const int64_t g = h / (a.H / a.G);
  const int64_t start = cu ? cu[s] : s, len = cu ? cu[s + 1] - cu[s] : 1;
  float* st = states[s];
  const int64_t p0 = rg * kScanRows;
  float S[kScanRows][NPL];
#pragma unroll
  for (int r = 0; r < kScanRows; r++)
#pragma unroll
    for (int i = 0; i < NPL; i++) {
      const int64_t n = lane + 32 * i, p = p0 + r;
      S[r][i] = (st && p < a.P && n < a.N) ? st[(h * a.P + p) * a.N + n] : 0.0f;
    }
  const float Ah = a.A[h], Dh = a.D ? a.D[h] : 0.0f, bias = a.dt_bias ? a.dt_bias[h] : 0.0f;
  for (int64_t t = start; t < start + len; t++) {
    const float dt = softplus_f(a.dt_raw[t * a.ldt + h] + bias);
    const float da = __expf(dt * Ah);
    float Bv[NPL], Cv[NPL];
#pragma unroll
    for (int i = 0; i < NPL; i++) {
      const int64_t n = lane + 32 * i;
      Bv[i] = n < a.N ? a.B[t * a.ldbc + g * a.N + n] : 0.0f;
      Cv[i] = n < a.N ? a.C[t * a.ldbc + g * a.N + n] : 0.0f;
    }
#pragma unroll
    for (int r = 0; r < kScanRows; r++) {
      const int64_t p = p0 + r;
      if (p >= a.P) break;  // uniform across the warp
      const float xv = a.x[t * a.ldx + h * a.P + p];
      const float dx = dt * xv;
      float part = 0.0f;
#pragma unroll
      for (int i = 0; i < NPL; i++) {
        S[r][i] = S[r][i] * da + dx * Bv[i];
        part += S[r][i] * Cv[i];
      }
      part = warp_sum(part);
      if (lane == 0) a.y[(t * a.H + h) * a.P + p] = part + Dh * xv;
    }
  }
  if (!st) return;
#pragma unroll
  for (int r = 0; r < kScanRows; r++)
#pragma unroll
    for (int i = 0; i < NPL; i++) {
      const int64_t n = lane + 32 * i, p = p0 + r;
      if (p < a.P && n < a.N) st[(h * a.P + p) * a.N + n] = S[r][i];
    }
}

// ---- device code: chunked SSD

struct ChunkInfo {  // one chunk: tokens [t0, t0 + len) of sequence seq
  int32_t seq, t0, len, pad;
};
struct SeqChunks {  // chunks [first, first + n) belong to the sequence
  int32_t first, n, pad0, pad1;
};

// 1: dt and chunk-local cumsum of a = dt * A.  One thread per (chunk, head).
__global__ void ssd_prep_kernel(ScanPtrs a, const ChunkInfo* chunks, int64_t n_chunks,
                                float* dtv,  // [T, H]
                                float* cs)   // [T, H]
{
  const int64_t id = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
  if (id >= n_chunks * a.H) return;
  const int64_t c = id / a.H, h = id % a.H;
  const ChunkInfo ch = chunks[c];
  const float Ah = a.A[h], bias = a.dt_bias ? a.dt_bias[h] : 0.0f;
  float cum = 0.0f;
  for (int64_t t = ch.t0; t < (int64_t)ch.t0 + ch.len; t++) {
    const float d = softplus_f(a.dt_raw[t * a.ldt + h] + bias);
    dtv[t * a.H + h] = d;
    cum += d * Ah;
    cs[t * a.H + h] = cum;
  }
}

// 2: CB[c, g, i, j] = C_i · B_j for the lower-triangular 64x64 tiles.
//    grid (n_chunks * G, tiles_q * tiles_q)
template <bool MMA>
__global__ void __launch_bounds__(256)
ssd_cb_kernel(ScanPtrs a, const ChunkInfo* chunks, int64_t Q, float* CB /* [n_chunks, G, Q, Q] */) {
  __shared__ TileSmem sm;
  const int64_t cg = blockIdx.x, c = cg / a.G, g = cg % a.G;
  const int64_t nt = ceil_div(Q, kTg);
  const int64_t ti = blockIdx.y / nt, tj = blockIdx.y % nt;
  const ChunkInfo ch = chunks[c];
  const int64_t i0 = ti * kTg, j0 = tj * kTg;
  if (tj > ti || i0 >= ch.len) return;
  const float* Cc = a.C + (int64_t)ch.t0 * a.ldbc + g * a.N;  // row i: Cc + i * ldbc
  const float* Bc = a.B + (int64_t)ch.t0 * a.ldbc + g * a.N;
  const int64_t len = ch.len, GN = a.ldbc;
  float acc[16] = {};
  tile_gemm_64<MMA, true, true>(
      acc, a.N, [&](int m, int64_t k) { return i0 + m < len ? Cc[(i0 + m) * GN + k] : 0.0f; },
      [&](int64_t k, int n) { return j0 + n < len ? Bc[(j0 + n) * GN + k] : 0.0f; }, sm);
  float* out = CB + (c * a.G + g) * Q * Q;
#pragma unroll
  for (int idx = 0; idx < 16; idx++) {
    int mi, ni;
    tile_acc_coord<MMA>(idx, mi, ni);
    const int64_t ii = i0 + mi, jj = j0 + ni;
    if (ii < len && jj < len) out[ii * Q + jj] = acc[idx];
  }
}

// 3: R[c, h, p, n] = sum_i exp(cs_last - cs_i) dt_i x[i, h, p] B[i, g, n].
//    grid (n_chunks * H, tiles_p * tiles_n)
template <bool MMA>
__global__ void __launch_bounds__(256)
ssd_state_kernel(ScanPtrs a, const ChunkInfo* chunks, const float* dtv, const float* cs,
                 float* R /* [n_chunks, H, P, N] */) {
  __shared__ TileSmem sm;
  __shared__ float w_s[kMaxChunk];  // exp(cs_last - cs_i) * dt_i
  const int64_t ch_id = blockIdx.x / a.H, h = blockIdx.x % a.H, g = h / (a.H / a.G);
  const int64_t tn = ceil_div(a.N, kTg);
  const int64_t p0 = (blockIdx.y / tn) * kTg, n0 = (blockIdx.y % tn) * kTg;
  const ChunkInfo ch = chunks[ch_id];
  const int64_t len = ch.len, t0 = ch.t0;
  const float cs_last = cs[(t0 + len - 1) * a.H + h];
  for (int64_t i = threadIdx.x; i < len; i += blockDim.x)
    w_s[i] = __expf(fminf(cs_last - cs[(t0 + i) * a.H + h], 0.0f)) * dtv[(t0 + i) * a.H + h];
  __syncthreads();
  const float* xc = a.x + t0 * a.ldx + h * a.P;  // row i: xc + i * ldx
  const float* Bc = a.B + t0 * a.ldbc + g * a.N;
  const int64_t HP = a.ldx, GN = a.ldbc, P = a.P, N = a.N;
  float acc[16] = {};
  tile_gemm_64<MMA, false, false>(
      acc, len, [&](int m, int64_t k) { return p0 + m < P ? w_s[k] * xc[k * HP + p0 + m] : 0.0f; },
      [&](int64_t k, int n) { return n0 + n < N ? Bc[k * GN + n0 + n] : 0.0f; }, sm);
  float* out = R + (ch_id * a.H + h) * P * N;
#pragma unroll
  for (int idx = 0; idx < 16; idx++) {
    int mi, ni;
    tile_acc_coord<MMA>(idx, mi, ni);
    const int64_t p = p0 + mi, n = n0 + ni;
    if (p < P && n < N) out[p * N + n] = acc[idx];
  }
}

// 4: state passing; R(c) is replaced by S_in(c). One thread per (seq, head, P·N element).
__global__ void ssd_pass_kernel(ScanPtrs a, const SeqChunks* seqs, int64_t n_seqs, const ChunkInfo* chunks,
                                const float* cs, float* R, float* const* states) {
  const int64_t PN = a.P * a.N;
  const int64_t id = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
  if (id >= n_seqs * a.H * PN) return;
  const int64_t e = id % PN, h = (id / PN) % a.H, s = id / (PN * a.H);
  float* st = states[s];
  const SeqChunks sc = seqs[s];
  if (sc.n == 0) return;  // empty sequence: state untouched
  float S = st ? st[h * PN + e] : 0.0f;
  for (int64_t c = sc.first; c < (int64_t)sc.first + sc.n; c++) {
    const ChunkInfo ch = chunks[c];
    float* r = R + (c * a.H + h) * PN + e;
    const float rv = *r;
    *r = S;
    S = __expf(cs[((int64_t)ch.t0 + ch.len - 1) * a.H + h]) * S + rv;
  }
  if (st) st[h * PN + e] = S;
}

// 5: outputs. grid (n_chunks * H, tiles_q * tiles_p)
template <bool MMA>
__global__ void __launch_bounds__(256)
ssd_output_kernel(ScanPtrs a, const ChunkInfo* chunks, int64_t Q, const float* dtv, const float* cs,
                  const float* CB, const float* Sin) {
  __shared__ TileSmem sm;
  __shared__ float cs_s[kMaxChunk], dt_s[kMaxChunk];
  const int64_t ch_id = blockIdx.x / a.H, h = blockIdx.x % a.H, g = h / (a.H / a.G);
  const int64_t tp = ceil_div(a.P, kTg);
  const int64_t i0 = (blockIdx.y / tp) * kTg, p0 = (blockIdx.y % tp) * kTg;
  const ChunkInfo ch = chunks[ch_id];
  const int64_t len = ch.len, t0 = ch.t0;
  if (i0 >= len) return;
  for (int64_t i = threadIdx.x; i < len; i += blockDim.x) {
    cs_s[i] = cs[(t0 + i) * a.H + h];
    dt_s[i] = dtv[(t0 + i) * a.H + h];
  }
  __syncthreads();
  const int64_t HP = a.ldx, GN = a.ldbc, P = a.P, N = a.N;  // input row strides
  const float* xc = a.x + t0 * a.ldx + h * a.P;
  const float* Cc = a.C + t0 * a.ldbc + g * a.N;
  const float* cb = CB + (ch_id * a.G + g) * Q * Q;
  const float* sin = Sin + (ch_id * a.H + h) * P * N;  // [P, N]
  float acc[16] = {};
  // intra-chunk: sum over j <= i (keys beyond the tile's last row are all masked)
  const int64_t jmax = i0 + kTg < len ? i0 + kTg : len;
  tile_gemm_64<MMA, true, false>(
      acc, jmax,
      [&](int m, int64_t j) {
        const int64_t i = i0 + m;
        if (i >= len || j > i) return 0.0f;
        return cb[i * Q + j] * __expf(fminf(cs_s[i] - cs_s[j], 0.0f));
      },
      [&](int64_t j, int n) { return p0 + n < P ? dt_s[j] * xc[j * HP + p0 + n] : 0.0f; }, sm);
  // inter-chunk: exp(cs_i) * C_i · S_in[p, :]
  tile_gemm_64<MMA, true, true>(
      acc, N,
      [&](int m, int64_t k) {
        const int64_t i = i0 + m;
        return i < len ? Cc[i * GN + k] * __expf(cs_s[i]) : 0.0f;
      },
      [&](int64_t k, int n) { return p0 + n < P ? sin[(p0 + n) * N + k] : 0.0f; }, sm);
  const float Dh = a.D ? a.D[h] : 0.0f;
#pragma unroll
  for (int idx = 0; idx < 16; idx++) {
    int mi, ni;
    tile_acc_coord<MMA>(idx, mi, ni);
    const int64_t ii = i0 + mi, p = p0 + ni;
    if (ii < len && p < P) {
      a.y[((t0 + ii) * a.H + h) * P + p] = acc[idx] + Dh * a.x[(t0 + ii) * a.ldx + h * P + p];
    }
  }
}

// ---- launchers

static int check_dims(const hl::SsmDims* d, const char* op) {
  if (!d) return set_error(HLC_INVALID, std::string("[") + op + "] dims is null");
  if (d->n_heads <= 0 || d->head_dim <= 0 || d->d_state <= 0 || d->n_groups <= 0 || d->n_heads % d->n_groups != 0)
    return set_error(HLC_INVALID, std::string("[") + op + "] bad dims: need H, P, N, G > 0 and H % G == 0");
  if (d->d_state > 256)
    return set_error(HLC_UNSUPPORTED, std::string("[") + op + "] d_state " + std::to_string(d->d_state) + " > 256");
  return HLC_OK;
}

static int recurrent_launch(const ScanPtrs& a, const int32_t* cu_dev, float* const* states_dev, int64_t n_seqs) {
  const int64_t row_groups = ceil_div(a.P, kScanRows);
  const int64_t warps = n_seqs * a.H * row_groups;
  const int64_t blocks = ceil_div(warps, kScanWarps);
  if (blocks > 0x7fffffffLL) return set_error(HLC_UNSUPPORTED, "[ssm_scan] grid too large");
  const int threads = kScanWarps * 32;
  if (a.N <= 32) HLC_LAUNCH((unsigned)blocks, threads, 0, (a, cu_dev, states_dev, n_seqs, row_groups), ssm_recurrent_kernel<1>);
  else if (a.N <= 64) HLC_LAUNCH((unsigned)blocks, threads, 0, (a, cu_dev, states_dev, n_seqs, row_groups), ssm_recurrent_kernel<2>);
  else if (a.N <= 128) HLC_LAUNCH((unsigned)blocks, threads, 0, (a, cu_dev, states_dev, n_seqs, row_groups), ssm_recurrent_kernel<4>);
  else HLC_LAUNCH((unsigned)blocks, threads, 0, (a, cu_dev, states_dev, n_seqs, row_groups), ssm_recurrent_kernel<8>);
  HLC_LAUNCHED("ssm_recurrent_kernel");
  return HLC_OK;
}


// Row strides of x, dt_raw and B / C: 0 = contiguous, else at least the row width.
static int scan_ptrs(ScanPtrs* a, float* y, const float* x, const float* dt_raw, const float* A, const float* B,
                     const float* C, const float* D, const float* dt_bias, const hl::SsmDims* d, int64_t x_stride,
                     int64_t dt_stride, int64_t bc_stride, const char* op) {
  const int64_t HP = d->n_heads * d->head_dim, GN = d->n_groups * d->d_state;
  if ((x_stride != 0 && x_stride < HP) || (dt_stride != 0 && dt_stride < d->n_heads) || (bc_stride != 0 && bc_stride < GN))
    return set_error(HLC_INVALID, std::string("[") + op + "] a row stride is smaller than its row width");
  *a = ScanPtrs{y, x, dt_raw, A, B, C, D, dt_bias, d->n_heads, d->head_dim, d->d_state, d->n_groups,
                x_stride ? x_stride : HP, dt_stride ? dt_stride : d->n_heads, bc_stride ? bc_stride : GN};
  return HLC_OK;
}

}  // namespace hlc

extern "C" HLC_EXPORT int hlc_ssm_scan(float* y, const float* x, const float* dt_raw, const float* A, const float* B,
                            const float* C, const float* D, const float* dt_bias, const hl::SsmDims* dims,
                            const int32_t* cu_seqlens, int n_seqs, float* const* states, int chunk_size) {
  return hlc_ssm_scan_strided(y, x, dt_raw, A, B, C, D, dt_bias, dims, cu_seqlens, n_seqs, states, chunk_size, 0, 0, 0);
}

extern "C" HLC_EXPORT int hlc_ssm_scan_strided(float* y, const float* x, const float* dt_raw, const float* A,
                                               const float* B, const float* C, const float* D, const float* dt_bias,
                                               const hl::SsmDims* dims, const int32_t* cu_seqlens, int n_seqs,
                                               float* const* states, int chunk_size, int64_t x_stride,
                                               int64_t dt_stride, int64_t bc_stride) {
  using namespace hlc;
  HLC_TRY(check_dims(dims, "ssm_scan"));
  HLC_REQUIRE(n_seqs >= 0 && chunk_size >= 0, "[ssm_scan] negative n_seqs or chunk_size");
  if (n_seqs == 0) return HLC_OK;
  HLC_REQUIRE(cu_seqlens && states, "[ssm_scan] null host array");
  HLC_REQUIRE(cu_seqlens[0] == 0, "[ssm_scan] cu_seqlens[0] must be 0");
  int64_t max_len = 0;
  for (int s = 0; s < n_seqs; s++) {
    HLC_REQUIRE(cu_seqlens[s + 1] >= cu_seqlens[s], "[ssm_scan] cu_seqlens must be non-decreasing");
    max_len = std::max<int64_t>(max_len, cu_seqlens[s + 1] - cu_seqlens[s]);
  }
  const int64_t T = cu_seqlens[n_seqs];
  if (T == 0) return HLC_OK;
  HLC_REQUIRE(y && x && dt_raw && A && B && C, "[ssm_scan] null pointer");
  ScanPtrs a;
  HLC_TRY(scan_ptrs(&a, y, x, dt_raw, A, B, C, D, dt_bias, dims, x_stride, dt_stride, bc_stride, "ssm_scan"));
  std::lock_guard<std::recursive_mutex> lock(op_mutex());
  HLC_TRY(ensure_device());
  const int64_t H = a.H, P = a.P, N = a.N, G = a.G;

  if (chunk_size == 0 || max_len < kMinChunkedTokens) {
    Carve cv;
    const int i_cu = cv.arg(cu_seqlens, sizeof(int32_t) * (n_seqs + 1));
    const int i_st = cv.arg(states, sizeof(float*) * n_seqs);
    HLC_TRY(cv.commit());
    return recurrent_launch(a, cv.ptr<int32_t>(i_cu), cv.ptr<float* const>(i_st), n_seqs);
  }

  // Chunk table (host): chunks never straddle a sequence.
  const int64_t Q = std::min<int64_t>(chunk_size, kMaxChunk);
  std::vector<ChunkInfo> chunks;
  std::vector<SeqChunks> seqs((size_t)n_seqs);
  for (int s = 0; s < n_seqs; s++) {
    seqs[s].first = (int32_t)chunks.size();
    for (int64_t t = cu_seqlens[s]; t < cu_seqlens[s + 1]; t += Q)
      chunks.push_back({s, (int32_t)t, (int32_t)std::min<int64_t>(Q, cu_seqlens[s + 1] - t), 0});
    seqs[s].n = (int32_t)chunks.size() - seqs[s].first;
  }
  const int64_t n_chunks = (int64_t)chunks.size();
  Carve cv;
  const int i_ch = cv.arg(chunks.data(), sizeof(ChunkInfo) * n_chunks);
  const int i_sq = cv.arg(seqs.data(), sizeof(SeqChunks) * n_seqs);
  const int i_st = cv.arg(states, sizeof(float*) * n_seqs);
  const int i_dt = cv.add(sizeof(float) * T * H);
  const int i_cs = cv.add(sizeof(float) * T * H);
  const int i_cb = cv.add(sizeof(float) * n_chunks * G * Q * Q);
  const int i_r = cv.add(sizeof(float) * n_chunks * H * P * N);
  HLC_TRY(cv.commit());
  const ChunkInfo* d_ch = cv.ptr<ChunkInfo>(i_ch);
  float* const* d_st = cv.ptr<float* const>(i_st);
  float* dtv = cv.ptr<float>(i_dt);
  float* cs = cv.ptr<float>(i_cs);
  float* CB = cv.ptr<float>(i_cb);
  float* R = cv.ptr<float>(i_r);

  HLC_REQUIRE(n_chunks * std::max(G, H) <= 0x7fffffffLL, "[ssm_scan] too many chunks");
  HLC_LAUNCH((unsigned)ceil_div(n_chunks * H, 128), 128, 0, (a, d_ch, n_chunks, dtv, cs), ssd_prep_kernel);
  HLC_LAUNCHED("ssd_prep_kernel");
  const int64_t tq = ceil_div(Q, kTg), tp = ceil_div(P, kTg), tn = ceil_div(N, kTg);
  HLC_REQUIRE(tp * tn <= 65535 && tq * tp <= 65535, "[ssm_scan] head_dim too large");
  const bool mma = tensor_cores_enabled();
  const dim3 g_cb((unsigned)(n_chunks * G), (unsigned)(tq * tq)), g_st((unsigned)(n_chunks * H), (unsigned)(tp * tn));
  if (mma) HLC_LAUNCH(g_cb, 256, 0, (a, d_ch, Q, CB), ssd_cb_kernel<true>);
  else HLC_LAUNCH(g_cb, 256, 0, (a, d_ch, Q, CB), ssd_cb_kernel<false>);
  HLC_LAUNCHED("ssd_cb_kernel");
  if (mma) HLC_LAUNCH(g_st, 256, 0, (a, d_ch, dtv, cs, R), ssd_state_kernel<true>);
  else HLC_LAUNCH(g_st, 256, 0, (a, d_ch, dtv, cs, R), ssd_state_kernel<false>);
  HLC_LAUNCHED("ssd_state_kernel");
  const int64_t pass_threads = (int64_t)n_seqs * H * P * N;
  HLC_LAUNCH((unsigned)ceil_div(pass_threads, 256), 256, 0, (a, cv.ptr<SeqChunks>(i_sq), n_seqs, d_ch, cs, R, d_st),
                                                             ssd_pass_kernel);
  HLC_LAUNCHED("ssd_pass_kernel");
  const dim3 g_out((unsigned)(n_chunks * H), (unsigned)(tq * tp));
  if (mma) HLC_LAUNCH(g_out, 256, 0, (a, d_ch, Q, dtv, cs, CB, R), ssd_output_kernel<true>);
  else HLC_LAUNCH(g_out, 256, 0, (a, d_ch, Q, dtv, cs, CB, R), ssd_output_kernel<false>);
  HLC_LAUNCHED("ssd_output_kernel");
  return HLC_OK;
}

extern "C" HLC_EXPORT int hlc_ssm_step(float* y, const float* x, const float* dt_raw, const float* A, const float* B,
                            const float* C, const float* D, const float* dt_bias, const hl::SsmDims* dims, int n_seqs,
                            float* const* states) {
  return hlc_ssm_step_strided(y, x, dt_raw, A, B, C, D, dt_bias, dims, n_seqs, states, 0, 0, 0);
}

extern "C" HLC_EXPORT int hlc_ssm_step_strided(float* y, const float* x, const float* dt_raw, const float* A,
                                               const float* B, const float* C, const float* D, const float* dt_bias,
                                               const hl::SsmDims* dims, int n_seqs, float* const* states,
                                               int64_t x_stride, int64_t dt_stride, int64_t bc_stride) {
  using namespace hlc;
  HLC_TRY(check_dims(dims, "ssm_step"));
  HLC_REQUIRE(n_seqs >= 0, "[ssm_step] negative n_seqs");
  if (n_seqs == 0) return HLC_OK;
  HLC_REQUIRE(states && y && x && dt_raw && A && B && C, "[ssm_step] null pointer");
  ScanPtrs a;
  HLC_TRY(scan_ptrs(&a, y, x, dt_raw, A, B, C, D, dt_bias, dims, x_stride, dt_stride, bc_stride, "ssm_step"));
  std::lock_guard<std::recursive_mutex> lock(op_mutex());
  HLC_TRY(ensure_device());
  Carve cv;
  const int i_st = cv.arg(states, sizeof(float*) * n_seqs);
  HLC_TRY(cv.commit());
  return recurrent_launch(a, nullptr, cv.ptr<float* const>(i_st), n_seqs);
}
