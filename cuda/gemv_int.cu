// cuda/gemv_int.cu: the integer paths of matmul for the block weight types
// (Q8_0, Q4_0, Q4_K, Q5_K, Q6_K; docs/KERNELS.md, Matmul), twin of the CPU's
// integer GEMV (native/cpu/matmul.cpp).
//  - act_quantize_kernel: the activation rows, once per matmul, to int8 blocks
//    of 32 (Q8_0, Q4_0) or 256 (K-quants): d = amax / 127, q = round-half-even
//    (x / d) with IEEE-rounded division and products (no fast-math), so q and d
//    are the CPU twin's bit for bit; plus the integer sum of every 32 codes
//    (the offset terms below) and, for the prefill GEMM, q * d as f32.
//  - gemv_int_kernel (decode, <= 8 tokens): one warp per output row; a lane
//    takes one 32-weight unit at a time (a Q8_0/Q4_0 block, a K-quant
//    sub-block), unpacks its codes into eight 4-byte words once and dots them
//    with every token's 32 int8 activations by __dp4a (sm_61+); the unit
//    arithmetic (int_units.h) is shared with a host test.
// Numerics: exact integer dots, then f32 products of exact scale values: equal
// to an f64 matmul of the decoded weights with the quantized activations up
// to f32 rounding, like the CPU twin.
#include "matmul.cuh"

namespace hlc {

// ---- activations

// One warp per (row, block); a lane holds block / 32 consecutive values.
template <int ABLK>
__global__ void act_quantize_kernel(const float* x, int64_t ldx, int64_t rows, int64_t K,
                                    int8_t* xq,    // [rows, K] or null
                                    float* xd,     // [rows, K / ABLK] or null
                                    int32_t* xs,   // [rows, K / 32] sums of the codes, or null
                                    float* xdeq)   // [rows, K] (q * d) or null
{
  constexpr int PER = ABLK / 32;
  const int lane = threadIdx.x & 31;
  const int64_t nb = K / ABLK;
  const int64_t wid = (int64_t)blockIdx.x * (blockDim.x >> 5) + (threadIdx.x >> 5);
  if (wid >= rows * nb) return;
  const int64_t r = wid / nb, b = wid % nb;
  const int64_t k0 = b * ABLK + (int64_t)lane * PER;
  float v[PER];
  float amax = 0.0f;
#pragma unroll
  for (int i = 0; i < PER; i++) {
    v[i] = x[r * ldx + k0 + i];
    amax = fmaxf(amax, fabsf(v[i]));
  }
  amax = warp_max(amax);
  const float d = __fdiv_rn(amax, 127.0f);
  const float id = d != 0.0f ? __fdiv_rn(1.0f, d) : 0.0f;
  int sum = 0;
#pragma unroll
  for (int i = 0; i < PER; i++) {
    const float qf = fminf(fmaxf(rintf(__fmul_rn(v[i], id)), -127.0f), 127.0f);
    const int64_t o = r * K + k0 + i;
    if (xq) xq[o] = (int8_t)(int)qf;
    if (xdeq) xdeq[o] = __fmul_rn(qf, d);
    sum += (int)qf;
  }
  // Sums per 32 codes: the whole warp (ABLK 32) or groups of 4 lanes (ABLK 256).
#pragma unroll
  for (int o = 1; o < 32 / PER; o <<= 1) sum += __shfl_xor_sync(kFullMask, sum, o);
  if (xs && lane % (32 / PER) == 0) xs[r * (K / 32) + k0 / 32] = sum;
  if (xd && lane == 0) xd[r * nb + b] = d;
}

template <int DT, int NT>
__global__ void __launch_bounds__(kGemvWarps * 32)
gemv_int_kernel(float* y, int64_t ldy,   // [NT, ldy]
                const int8_t* xq,        // [NT, K]
                const float* xd,         // [NT, K / kActBlock]
                const int32_t* xs,       // [NT, K / 32]
                const uint8_t* w, int64_t row_bytes, int64_t N, int64_t K) {
  const int lane = threadIdx.x & 31;
  const int64_t n = (int64_t)blockIdx.x * kGemvWarps + (threadIdx.x >> 5);
  if (n >= N) return;
  float acc[NT];
#pragma unroll
  for (int t = 0; t < NT; t++) acc[t] = 0.0f;
  int_row_accumulate<DT, NT>(w + n * row_bytes, K, lane, 32, xq, xd, xs, acc);
#pragma unroll
  for (int t = 0; t < NT; t++) {
    const float v = warp_sum(acc[t]);
    if (lane == 0) y[t * ldy + n] = v;
  }
}

// ---- launchers

int64_t act_block(int32_t dt) { return dt == kQ8_0 || dt == kQ4_0 ? 32 : 256; }

int act_quantize_launch(int32_t dt, const float* x, int64_t ldx, int64_t rows, int64_t K, int8_t* xq, float* xd,
                        int32_t* xs, float* xdeq) {
  const int64_t ab = act_block(dt), warps = rows * (K / ab);
  if (warps <= 0) return HLC_OK;
  const unsigned blocks = (unsigned)ceil_div(warps, 8);
  if (ab == 32) HLC_LAUNCH(blocks, 256, 0, (x, ldx, rows, K, xq, xd, xs, xdeq), act_quantize_kernel<32>);
  else HLC_LAUNCH(blocks, 256, 0, (x, ldx, rows, K, xq, xd, xs, xdeq), act_quantize_kernel<256>);
  HLC_LAUNCHED("act_quantize_kernel");
  return HLC_OK;
}

template <int DT>
static int gemv_int_group(const GemmArgs& a, const int8_t* xq, const float* xd, const int32_t* xs, int64_t t0, int nt) {
  const dim3 grid((unsigned)ceil_div(a.N, kGemvWarps));
  const int64_t nbx = a.K / IntUnit<DT>::kActBlock, units = a.K / 32;
  float* y = a.y + t0 * a.ldy;
  const int8_t* q = xq + t0 * a.K;
  const float* d = xd + t0 * nbx;
  const int32_t* s = xs + t0 * units;
  switch (nt) {
    case 1: HLC_LAUNCH(grid, kGemvWarps * 32, 0, (y, a.ldy, q, d, s, a.w, a.row_bytes, a.N, a.K), gemv_int_kernel<DT, 1>); break;
    case 2: HLC_LAUNCH(grid, kGemvWarps * 32, 0, (y, a.ldy, q, d, s, a.w, a.row_bytes, a.N, a.K), gemv_int_kernel<DT, 2>); break;
    case 3: HLC_LAUNCH(grid, kGemvWarps * 32, 0, (y, a.ldy, q, d, s, a.w, a.row_bytes, a.N, a.K), gemv_int_kernel<DT, 3>); break;
    case 4: HLC_LAUNCH(grid, kGemvWarps * 32, 0, (y, a.ldy, q, d, s, a.w, a.row_bytes, a.N, a.K), gemv_int_kernel<DT, 4>); break;
    default: HLC_LAUNCH(grid, kGemvWarps * 32, 0, (y, a.ldy, q, d, s, a.w, a.row_bytes, a.N, a.K), gemv_int_kernel<DT, 8>); break;
  }
  HLC_LAUNCHED("gemv_int_kernel");
  return HLC_OK;
}

int int_acts_quantize(const GemmArgs& a, IntActs* q) {
  const int64_t ab = act_block(a.dtype), units = a.K / 32;
  const size_t q_bytes = (size_t)(a.M * a.K + 255) / 256 * 256;
  const size_t d_bytes = (sizeof(float) * (size_t)(a.M * (a.K / ab)) + 255) / 256 * 256;
  void* buf = nullptr;
  HLC_TRY(workspace(q_bytes + d_bytes + sizeof(int32_t) * (size_t)(a.M * units), &buf, 1));
  q->xq = static_cast<int8_t*>(buf);
  q->xd = reinterpret_cast<float*>(static_cast<char*>(buf) + q_bytes);
  q->xs = reinterpret_cast<int32_t*>(static_cast<char*>(buf) + q_bytes + d_bytes);
  return act_quantize_launch(a.dtype, a.x, a.ldx, a.M, a.K, q->xq, q->xd, q->xs, nullptr);
}

int gemv_int_run(const GemmArgs& a, const IntActs& q) {
  const int8_t* xq = q.xq;
  const float* xd = q.xd;
  const int32_t* xs = q.xs;
  // Token groups of 8, 4, 3, 2, 1 (the kernel keeps NT accumulators).
  for (int64_t t0 = 0; t0 < a.M;) {
    const int64_t left = a.M - t0;
    const int nt = left >= 8 ? 8 : left >= 4 ? 4 : (int)left;
    switch (a.dtype) {
      case kQ8_0: HLC_TRY(gemv_int_group<kQ8_0>(a, xq, xd, xs, t0, nt)); break;
      case kQ4_0: HLC_TRY(gemv_int_group<kQ4_0>(a, xq, xd, xs, t0, nt)); break;
      case kQ4_K: HLC_TRY(gemv_int_group<kQ4_K>(a, xq, xd, xs, t0, nt)); break;
      case kQ5_K: HLC_TRY(gemv_int_group<kQ5_K>(a, xq, xd, xs, t0, nt)); break;
      case kQ6_K: HLC_TRY(gemv_int_group<kQ6_K>(a, xq, xd, xs, t0, nt)); break;
      default: return set_error(HLC_UNSUPPORTED, "[matmul] no integer GEMV for weight type " + std::to_string(a.dtype));
    }
    t0 += nt;
  }
  return HLC_OK;
}

int gemv_int_launch(const GemmArgs& a) {
  IntActs q;
  HLC_TRY(int_acts_quantize(a, &q));
  return gemv_int_run(a, q);
}

}  // namespace hlc
