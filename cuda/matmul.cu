// cuda/matmul.cu: y = x · Wᵀ over F32 / F16 / BF16 / Q8_0 / Q4_0 / Q4_K / Q5_K / Q6_K weights
// (docs/KERNELS.md), twin of native/cpu/matmul.cpp.
//   y[t, r] = sum_k x[t, k] * W[r, k]      x [n_tokens, K] f32; W [rows, K]; y [n_tokens, rows] f32
// Paths:
//  - GEMV (n_tokens <= 8, decode), F32/F16/BF16: one warp per output row
//    streams the row once with 16-byte loads, widens 8 elements at a time in
//    registers and FMAs them against up to 8 activation rows (L1/L2
//    resident); shuffle reduction. Bandwidth-bound: weight bytes are read once.
//  - GEMV for the block types (Q8_0, Q4_0, Q4_K, Q5_K, Q6_K): int8 activations
//    and dp4a dots on the packed codes (gemv_int.cu).
//  - GEMM (prefill): 64 tokens x 64 rows per 256-thread block, K panels of 16;
//    weights dequantized to f32 into shared memory once per panel and reused
//    by 64 tokens; each thread owns a 4x4 register tile. Plain SIMT fp32: runs
//    on every arch from sm_75 (GTX 16xx included). The same kernel serves the
//    MoE grouped GEMM (rows through an index list, per-tile expert). Block
//    types multiply the int8-rounded activations (q * d_x, act_quantize_kernel)
//    so prefill and decode see the activations the CPU twin sees.
//  - Tensor-core GEMM tiles (gemm_mma.cu, chosen per arch and weight format by
//    tc_policy.h): int8 mma on the block types' codes, two f16/bf16 products
//    on F16/BF16 weights; F32 weights: this tile with 3xTF32 mma.sync panels.
// Numerics: exact f32 dequantization, f32 accumulation (same as the CPU twin;
// only the summation order differs); 3xTF32 keeps f32-level results.
#include "gemm_mma.cuh"
#include "mma.cuh"

namespace hlc {

// ---- device code

constexpr int kTileN = 64, kTileK = 16, kPad = 8;

// VEC: load8 for weights and float4 for x (K % 8 == 0, alignment checked).
template <int DT, int NT, bool VEC>
__global__ void __launch_bounds__(kGemvWarps * 32)
gemv_kernel(float* y, int64_t ldy,            // [NT, ldy]
            const float* x, int64_t ldx,      // [NT, ldx]
            const uint8_t* w, int64_t row_bytes, int64_t N, int64_t K) {
  const int lane = threadIdx.x & 31;
  const int64_t n = (int64_t)blockIdx.x * kGemvWarps + (threadIdx.x >> 5);
  if (n >= N) return;
  const uint8_t* row = w + n * row_bytes;
  float acc[NT];
#pragma unroll
  for (int t = 0; t < NT; t++) acc[t] = 0.0f;
  if (VEC) {
    for (int64_t k0 = (int64_t)lane * 8; k0 < K; k0 += 256) {
      float wv[8];
      Dec<DT>::load8(row, k0, wv);
#pragma unroll
      for (int t = 0; t < NT; t++) {
        const float4 a = ld_f4(x + t * ldx + k0), b = ld_f4(x + t * ldx + k0 + 4);
        acc[t] += wv[0] * a.x + wv[1] * a.y + wv[2] * a.z + wv[3] * a.w + wv[4] * b.x + wv[5] * b.y +
                  wv[6] * b.z + wv[7] * b.w;
      }
    }
  } else {
    for (int64_t k = lane; k < K; k += 32) {
      const float wk = Dec<DT>::load1(row, k);
#pragma unroll
      for (int t = 0; t < NT; t++) acc[t] += wk * x[t * ldx + k];
    }
  }
#pragma unroll
  for (int t = 0; t < NT; t++) {
    const float s = warp_sum(acc[t]);
    if (lane == 0) y[t * ldy + n] = s;
  }
}

// MMA (sm_80+ only, chosen by the launcher): each K panel goes through
// mma_panel_64x64 (mma.cuh, 3xTF32 on mma.sync, f32-level results); else a
// 4x4 SIMT register tile per thread.
template <int DT, bool WVEC, bool XVEC, bool MMA>
__global__ void __launch_bounds__(256) gemm_kernel(GemmArgs a) {
  __shared__ float As[kTileK][kGemmTileM + kPad];  // x panel, [k][m]
  __shared__ float Bs[kTileK][kTileN + kPad];      // W panel, [k][n]
  const int tid = threadIdx.x;
  int64_t m0, m1, e;
  if (!gemm_block_rows(a, m0, m1, e)) return;
  const int64_t n0 = (int64_t)blockIdx.x * kTileN;
  const uint8_t* wbase = a.w + e * a.expert_stride;

  // Loader roles: x: thread -> (m = tid / 4, 4 consecutive k); W: vector path
  // threads < 128 -> (n = tid / 2, 8 consecutive k), scalar path (n = tid / 4, 4 k).
  const int xm = tid >> 2, xk = (tid & 3) * 4;
  const bool xrow_ok = m0 + xm < m1;
  const float* xrow = nullptr;
  if (xrow_ok) {
    const int64_t mr = a.x_idx ? (int64_t)a.x_idx[m0 + xm] : m0 + xm;
    xrow = a.x + mr * a.ldx;
  }
  const int wn = WVEC ? (tid >> 1) : (tid >> 2);
  const int wk = WVEC ? (tid & 1) * 8 : (tid & 3) * 4;
  const bool wrow_ok = (!WVEC || tid < 128) && n0 + wn < a.N;
  const uint8_t* wrow = wrow_ok ? wbase + (n0 + wn) * a.row_bytes : nullptr;

  // SIMT: acc[4 i + j] = (ty + 16 i, tx + 16 j). MMA: acc[(2 i + j) * 4 + c] = fragment c of tile (i, j).
  const int ty = tid >> 4, tx = tid & 15;
  float acc[16];
#pragma unroll
  for (int i = 0; i < 16; i++) acc[i] = 0.0f;

  for (int64_t k0 = 0; k0 < a.K; k0 += kTileK) {
    // x panel
    {
      float v[4] = {0.0f, 0.0f, 0.0f, 0.0f};
      const int64_t k = k0 + xk;
      if (xrow_ok) {
        if (XVEC && k + 3 < a.K) {
          const float4 f = ld_f4(xrow + k);
          v[0] = f.x; v[1] = f.y; v[2] = f.z; v[3] = f.w;
        } else {
#pragma unroll
          for (int i = 0; i < 4; i++)
            if (k + i < a.K) v[i] = xrow[k + i];
        }
      }
#pragma unroll
      for (int i = 0; i < 4; i++) As[xk + i][xm] = v[i];
    }
    // W panel (dequantized once, reused by every token of the tile)
    if (WVEC) {
      if (tid < 128) {
        float v[8] = {0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f};
        const int64_t k = k0 + wk;
        if (wrow_ok && k < a.K) Dec<DT>::load8(wrow, k, v);  // K % 8 == 0 on this path
#pragma unroll
        for (int i = 0; i < 8; i++) Bs[wk + i][wn] = v[i];
      }
    } else {
      const int64_t k = k0 + wk;
#pragma unroll
      for (int i = 0; i < 4; i++) Bs[wk + i][wn] = (wrow_ok && k + i < a.K) ? Dec<DT>::load1(wrow, k + i) : 0.0f;
    }
    __syncthreads();
    if (MMA) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
      mma_panel_64x64<kGemmTileM + kPad>(acc, As, Bs);
#endif
    } else {
#pragma unroll
      for (int kk = 0; kk < kTileK; kk++) {
        float av[4], bv[4];
#pragma unroll
        for (int i = 0; i < 4; i++) av[i] = As[kk][ty + 16 * i];
#pragma unroll
        for (int j = 0; j < 4; j++) bv[j] = Bs[kk][tx + 16 * j];
#pragma unroll
        for (int i = 0; i < 4; i++)
#pragma unroll
          for (int j = 0; j < 4; j++) acc[4 * i + j] += av[i] * bv[j];
      }
    }
    __syncthreads();
  }
#pragma unroll
  for (int idx = 0; idx < 16; idx++) {
    int mi, ni;
    tile_acc_coord<MMA>(idx, mi, ni);
    const int64_t m = m0 + mi, n = n0 + ni;
    if (m < m1 && n < a.N) a.y[m * a.ldy + n] = acc[idx];
  }
}

// ---- launchers

// Can Dec<dt>::load8 read this matrix (alignment / K multiple)?
static bool weight_vec_ok(const uint8_t* w, int64_t row_bytes, int64_t expert_stride, int32_t dt, int64_t K) {
  if (K % 8 != 0) return false;
  const uintptr_t p = reinterpret_cast<uintptr_t>(w);
  switch (dt) {
    case kF32: case kF16: case kBF16:
      return (p % 16 == 0) && (row_bytes % 16 == 0) && (expert_stride % 16 == 0);
    default:  // block types read bytes / u16
      return (p % 2 == 0) && (row_bytes % 2 == 0) && (expert_stride % 2 == 0);
  }
}

// Tensor-core paths: the policy per arch and weight format (tc_policy.h);
// hlc_use_tensor_cores(0|1) or HLC_TENSOR_CORES=0|1 (HLC_DISABLE_TENSOR_CORES=1
// = 0) forces the SIMT paths / every tensor path the arch has (tests run both).
static int g_tc_mode = -1;  // -1 auto, 0 off, 1 on

// Compute capability of the current device, cached per device (major, minor).
static void device_cc(int* major, int* minor) {
  static int cc[64];  // major * 10 + minor, 0 = not read yet
  int dev = 0;
  *major = *minor = 0;
  if (cudaGetDevice(&dev) != cudaSuccess || dev < 0 || dev >= 64) {
    cudaGetLastError();
    return;
  }
  if (cc[dev] == 0) {
    int ma = 0, mi = 0;
    if (cudaDeviceGetAttribute(&ma, cudaDevAttrComputeCapabilityMajor, dev) != cudaSuccess ||
        cudaDeviceGetAttribute(&mi, cudaDevAttrComputeCapabilityMinor, dev) != cudaSuccess) {
      cudaGetLastError();
      return;
    }
    cc[dev] = ma * 10 + mi;
  }
  *major = cc[dev] / 10;
  *minor = cc[dev] % 10;
}

// -1 when the environment leaves the choice to the policy, else 0 / 1.
static int env_tc_mode() {
  static const int mode = [] {
    const char* on = getenv("HLC_TENSOR_CORES");
    if (on && on[0]) return on[0] == '0' ? 0 : 1;
    const char* off = getenv("HLC_DISABLE_TENSOR_CORES");
    if (off && off[0] && off[0] != '0') return 0;
    return -1;
  }();
  return mode;
}

// -1 the policy, 0 / 1 forced (hlc_use_tensor_cores, then the environment).
static int tc_mode() { return g_tc_mode >= 0 ? g_tc_mode : env_tc_mode(); }

bool tensor_cores_enabled() {
  int major, minor;
  device_cc(&major, &minor);
  if (major < 8) return false;
  const int mode = tc_mode();
  return mode >= 0 ? mode == 1 : tensor_cores_by_default(major, minor);
}

// Has the current device tensor cores (tc_policy.h, lacks_tensor_cores)? Read once per device.
static bool device_tensor_units() {
  static signed char known[64];  // 0 not read yet, 1 yes, -1 no
  int dev = 0;
  if (cudaGetDevice(&dev) != cudaSuccess || dev < 0 || dev >= 64) {
    cudaGetLastError();
    return true;
  }
  if (known[dev] == 0) {
    cudaDeviceProp p;
    if (cudaGetDeviceProperties(&p, dev) != cudaSuccess) {
      cudaGetLastError();
      return true;
    }
    known[dev] = lacks_tensor_cores(p.major, p.minor, p.name) ? -1 : 1;
  }
  return known[dev] > 0;
}

GemmPath gemm_path_for(int32_t dt) {
  int major, minor;
  device_cc(&major, &minor);
  const int mode = tc_mode();
  return gemm_path(major, minor, dt, mode, mode >= 0 || device_tensor_units());
}

int gemm_launch(const GemmArgs& a_in) {
  if (a_in.M <= 0 || a_in.N <= 0) return HLC_OK;
  const GemmPath path = gemm_path_for(a_in.dtype);
  if (path == GemmPath::kHalf2 || (path == GemmPath::kInt8 && gemm_i8_weights_ok(a_in)))
    return gemm_mma_launch(a_in, path);
  GemmArgs a = a_in;
  if (is_int_weight(a.dtype)) {  // x -> dequantized int8 activations (rows keep their indexing)
    HLC_REQUIRE(a.x_rows > 0, "[matmul] a block-type GEMM needs x_rows");
    void* buf = nullptr;
    HLC_TRY(workspace(sizeof(float) * (size_t)(a.x_rows * a.K), &buf, 1));
    float* xdeq = static_cast<float*>(buf);
    HLC_TRY(act_quantize_launch(a.dtype, a.x, a.ldx, a.x_rows, a.K, nullptr, nullptr, nullptr, xdeq));
    a.x = xdeq;
    a.ldx = a.K;
  }
  const bool wvec = weight_vec_ok(a.w, a.row_bytes, a.expert_stride, a.dtype, a.K);
  const bool xvec = aligned16(a.x) && a.ldx % 4 == 0;
  const int64_t gy = a.tiles ? a.n_tiles : ceil_div(a.M, kGemmTileM);
  if (gy <= 0) return HLC_OK;
  if (gy > 65535) return set_error(HLC_UNSUPPORTED, "[matmul] too many token tiles (" + std::to_string(gy) + ")");
  dim3 grid((unsigned)ceil_div(a.N, kTileN), (unsigned)gy);
  const bool mma = path == GemmPath::kTf32x3;
  bool ok = dispatch_wtype(a.dtype, [&](auto tag) {
    constexpr int DT = decltype(tag)::value;
    if (mma) {
      if (wvec && xvec) HLC_LAUNCH(grid, 256, 0, (a), gemm_kernel<DT, true, true, true>);
      else if (wvec) HLC_LAUNCH(grid, 256, 0, (a), gemm_kernel<DT, true, false, true>);
      else if (xvec) HLC_LAUNCH(grid, 256, 0, (a), gemm_kernel<DT, false, true, true>);
      else HLC_LAUNCH(grid, 256, 0, (a), gemm_kernel<DT, false, false, true>);
    } else {
      if (wvec && xvec) HLC_LAUNCH(grid, 256, 0, (a), gemm_kernel<DT, true, true, false>);
      else if (wvec) HLC_LAUNCH(grid, 256, 0, (a), gemm_kernel<DT, true, false, false>);
      else if (xvec) HLC_LAUNCH(grid, 256, 0, (a), gemm_kernel<DT, false, true, false>);
      else HLC_LAUNCH(grid, 256, 0, (a), gemm_kernel<DT, false, false, false>);
    }
  });
  if (!ok) return set_error(HLC_UNSUPPORTED, "[matmul] weight type " + std::to_string(a.dtype) + " is not supported");
  HLC_LAUNCHED("gemm_kernel");
  return HLC_OK;
}

template <int DT, bool VEC>
static int gemv_group(const GemmArgs& a, int64_t t0, int nt) {
  const dim3 grid((unsigned)ceil_div(a.N, kGemvWarps));
  float* y = a.y + t0 * a.ldy;
  const float* x = a.x + t0 * a.ldx;
  switch (nt) {
    case 1: HLC_LAUNCH(grid, kGemvWarps * 32, 0, (y, a.ldy, x, a.ldx, a.w, a.row_bytes, a.N, a.K), gemv_kernel<DT, 1, VEC>); break;
    case 2: HLC_LAUNCH(grid, kGemvWarps * 32, 0, (y, a.ldy, x, a.ldx, a.w, a.row_bytes, a.N, a.K), gemv_kernel<DT, 2, VEC>); break;
    case 3: HLC_LAUNCH(grid, kGemvWarps * 32, 0, (y, a.ldy, x, a.ldx, a.w, a.row_bytes, a.N, a.K), gemv_kernel<DT, 3, VEC>); break;
    case 4: HLC_LAUNCH(grid, kGemvWarps * 32, 0, (y, a.ldy, x, a.ldx, a.w, a.row_bytes, a.N, a.K), gemv_kernel<DT, 4, VEC>); break;
    default: HLC_LAUNCH(grid, kGemvWarps * 32, 0, (y, a.ldy, x, a.ldx, a.w, a.row_bytes, a.N, a.K), gemv_kernel<DT, 8, VEC>); break;
  }
  HLC_LAUNCHED("gemv_kernel");
  return HLC_OK;
}

int gemv_launch(const GemmArgs& a) {
  if (a.M <= 0 || a.N <= 0) return HLC_OK;
  if (ceil_div(a.N, kGemvWarps) > 0x7fffffffLL) return set_error(HLC_UNSUPPORTED, "[matmul] too many rows");
  // Block types: int8 activations and dp4a dots (every block size is even, so
  // a 2-byte aligned matrix has 2-byte aligned blocks).
  if (is_int_weight(a.dtype) && a.row_bytes % 2 == 0 && reinterpret_cast<uintptr_t>(a.w) % 2 == 0)
    return gemv_int_launch(a);
  const bool vec = weight_vec_ok(a.w, a.row_bytes, 0, a.dtype, a.K) && aligned16(a.x) && a.ldx % 4 == 0;
  // Token groups of 8, 4, 3, 2, 1 (the kernel keeps NT accumulators).
  for (int64_t t0 = 0; t0 < a.M;) {
    const int64_t left = a.M - t0;
    const int nt = left >= 8 ? 8 : left >= 4 ? 4 : (int)left;
    int st = HLC_OK;
    const bool ok = dispatch_wtype(a.dtype, [&](auto tag) {
      constexpr int DT = decltype(tag)::value;
      st = vec ? gemv_group<DT, true>(a, t0, nt) : gemv_group<DT, false>(a, t0, nt);
    });
    if (!ok) return set_error(HLC_UNSUPPORTED, "[matmul] weight type " + std::to_string(a.dtype) + " is not supported");
    HLC_TRY(st);
    t0 += nt;
  }
  return HLC_OK;
}

}  // namespace hlc

extern "C" HLC_EXPORT int hlc_use_tensor_cores(int mode) {
  using namespace hlc;
  HLC_REQUIRE(mode >= -1 && mode <= 1, "[use_tensor_cores] mode must be -1 (auto), 0 (off) or 1 (on)");
  std::lock_guard<std::recursive_mutex> lock(op_mutex());
  HLC_TRY(ensure_device());
  int major, minor;
  device_cc(&major, &minor);
  if (mode == 1 && major * 10 + minor < 75)
    return set_error(HLC_UNSUPPORTED, "[use_tensor_cores] this device has no tensor-core path (compute capability " +
                                          std::to_string(major) + "." + std::to_string(minor) + ")");
  g_tc_mode = mode;
  return HLC_OK;
}

extern "C" HLC_EXPORT int hlc_tensor_cores_active(void) {
  using namespace hlc;
  if (ensure_device() != HLC_OK) return 0;
  return tensor_cores_enabled() ? 1 : 0;
}

namespace hlc {
// The argument checks of one matmul (y = x · wᵀ, n_tokens > 0, w->rows > 0).
static int check_matmul(const float* y, const float* x, const hl::WeightView* w) {
  HLC_REQUIRE(y && x && w->data, "[matmul] null pointer");
  const int32_t dt = (int32_t)w->dtype;
  HLC_REQUIRE(hlc_supports_dtype(dt), "[matmul] weight type " + std::to_string(dt) + " is not supported");
  HLC_REQUIRE(w->cols > 0 && w->cols % wtype_block(dt) == 0,
              "[matmul] weight cols (" + std::to_string(w->cols) + ") must be a positive multiple of the block size");
  HLC_REQUIRE(w->row_bytes >= w->cols / wtype_block(dt) * wtype_block_bytes(dt), "[matmul] row_bytes too small");
  return HLC_OK;
}
}  // namespace hlc

extern "C" HLC_EXPORT int hlc_matmul(float* y, const float* x, int64_t n_tokens, const hl::WeightView* w) {
  using namespace hlc;
  HLC_REQUIRE(w, "[matmul] weight view is null");
  HLC_REQUIRE(n_tokens >= 0, "[matmul] negative n_tokens");
  if (n_tokens == 0 || w->rows == 0) return HLC_OK;
  HLC_TRY(check_matmul(y, x, w));
  const int32_t dt = (int32_t)w->dtype;
  std::lock_guard<std::recursive_mutex> lock(op_mutex());
  HLC_TRY(ensure_device());
  GemmArgs a{y, w->rows, x, w->cols, nullptr, w->data, w->row_bytes, dt, w->rows, w->cols, n_tokens, nullptr, 0, 0,
             n_tokens};
  if (n_tokens <= 8) return gemv_launch(a);
  // Token tiles beyond gridDim.y's limit: run the GEMM in slices.
  const int64_t slice = 65535LL * kGemmTileM;
  for (int64_t t0 = 0; t0 < n_tokens; t0 += slice) {
    GemmArgs s = a;
    s.y = y + t0 * w->rows;
    s.x = x + t0 * w->cols;
    s.M = n_tokens - t0 < slice ? n_tokens - t0 : slice;
    s.x_rows = s.M;
    HLC_TRY(gemm_launch(s));
  }
  return HLC_OK;
}

// Decode with integer weights of one activation block and K: the activations
// are quantized once for all the matrices (q/k/v, gate/up); anything else runs
// as separate matmuls.
extern "C" HLC_EXPORT int hlc_matmul_multi(float* const* ys, const float* x, int64_t n_tokens,
                                           const hl::WeightView* ws, int n_mats) {
  using namespace hlc;
  HLC_REQUIRE(n_mats >= 0 && n_tokens >= 0, "[matmul_multi] negative n_mats or n_tokens");
  if (n_mats == 0 || n_tokens == 0) return HLC_OK;
  HLC_REQUIRE(ys && ws, "[matmul_multi] null host array");
  bool shared = n_tokens <= 8 && n_mats > 1;
  for (int i = 0; i < n_mats && shared; i++) {
    const int32_t dt = (int32_t)ws[i].dtype;
    shared = is_int_weight(dt) && act_block(dt) == act_block((int32_t)ws[0].dtype) && ws[i].cols == ws[0].cols &&
             ws[i].row_bytes % 2 == 0 && reinterpret_cast<uintptr_t>(ws[i].data) % 2 == 0;
  }
  if (!shared) {
    for (int i = 0; i < n_mats; i++) HLC_TRY(hlc_matmul(ys[i], x, n_tokens, &ws[i]));
    return HLC_OK;
  }
  for (int i = 0; i < n_mats; i++)
    if (ws[i].rows > 0) HLC_TRY(check_matmul(ys[i], x, &ws[i]));
  std::lock_guard<std::recursive_mutex> lock(op_mutex());
  HLC_TRY(ensure_device());
  IntActs q;
  bool quantized = false;
  for (int i = 0; i < n_mats; i++) {
    const hl::WeightView& w = ws[i];
    if (w.rows == 0) continue;
    const GemmArgs a{ys[i], w.rows, x, w.cols, nullptr, w.data, w.row_bytes, (int32_t)w.dtype, w.rows, w.cols,
                     n_tokens, nullptr, 0, 0, n_tokens};
    HLC_REQUIRE(ceil_div(a.N, kGemvWarps) <= 0x7fffffffLL, "[matmul] too many rows");
    if (!quantized) HLC_TRY(int_acts_quantize(a, &q));
    quantized = true;
    HLC_TRY(gemv_int_run(a, q));
  }
  return HLC_OK;
}
