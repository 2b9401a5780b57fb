// cuda/gemm_mma.cu: the tensor-core prefill GEMM tiles (matmul and the MoE
// grouped GEMM, same GemmArgs as matmul.cu's SIMT tile; docs/cuda/README.md,
// "Tensor-core GEMMs"):
//  - int8 (Q8_0 / Q4_0 / Q4_K / Q5_K / Q6_K weights, sm_75+): the activation
//    rows quantized once per matmul (act_quantize_kernel: int8 blocks of 32 /
//    256 with per-32 code sums, the CPU twin's rounding), weight codes
//    unpacked to int8 in shared memory (IntUnit::load), one s8 x s8 -> s32
//    mma per 32-wide unit (m16n8k32; Q6_K: two m16n8k16, one per 16-weight
//    scale), then IntUnit::gemm_fold: Q8_0 / Q4_0 scale in f32 per unit
//    (Q4_0's -8 through the code sums), the K-quants sum sc * D and m * S
//    exactly in int32 over the super-block and scale once. The integer dots
//    and offsets are the CPU twin's int8 GEMM's; both equal the f64 matmul of
//    the decoded weights with the quantized activations up to f32 rounding.
//  - F16 / BF16 weights (f16 sm_75+, bf16 sm_80+): the f32 activations split
//    into hi + lo in the weight's type (gemm_mma_tile.h, HalfSplit), two mma
//    products with f32 accumulation; the weights are exact.
// The tile code (fills, fragments, folds) is gemm_mma_tile.h, shared with the
// host test family "mma_tiles".
#include "gemm_mma.cuh"
#include "gemm_mma_tile.h"
#include "mma.cuh"

namespace hlc {

static_assert(mt::kBM == kGemmTileM, "the tensor-core tiles take the MoE tile list's token tiles");

// ---- device code

template <int DT>
__global__ void __launch_bounds__(mt::kThreads)
gemm_i8_kernel(GemmArgs a, const int8_t* xq, const float* xd, const int32_t* xs) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 750
  __shared__ mt::I8Smem s;
  const int tid = threadIdx.x, warp = tid >> 5, lane = tid & 31;
  int64_t m0, m1, e;
  if (!gemm_block_rows(a, m0, m1, e)) return;
  const mt::I8Tile tile{xq, xd, xs, a.K, a.x_idx, m0, m1, a.w + e * a.expert_stride,
                        a.row_bytes, (int64_t)blockIdx.x * mt::kBN, a.N};
  mt::I8Acc acc;
  mt::i8_acc_zero(acc);
  const int64_t units = a.K / 32;
  for (int64_t u0 = 0; u0 < units; u0 += mt::kI8Units) {
    mt::i8_fill<DT>(s, tile, u0, tid);
    __syncthreads();
#pragma unroll
    for (int ul = 0; ul < mt::kI8Units; ul++) {
      if (u0 + ul >= units) break;
      uint32_t af[2][4], bf[2][2];
      mt::i8_frags(s, warp, lane, ul, af, bf);
      int32_t dlo[16], dhi[16];
#pragma unroll
      for (int i = 0; i < 16; i++) dlo[i] = dhi[i] = 0;
#pragma unroll
      for (int i = 0; i < 2; i++)
#pragma unroll
        for (int j = 0; j < 2; j++) {
          int(&dl)[4] = *reinterpret_cast<int(*)[4]>(&dlo[(2 * i + j) * 4]);
          if (DT == kQ6_K) {
            int(&dh)[4] = *reinterpret_cast<int(*)[4]>(&dhi[(2 * i + j) * 4]);
            mma_s8_k16(dl, af[i][0], af[i][1], bf[j][0]);
            mma_s8_k16(dh, af[i][2], af[i][3], bf[j][1]);
          } else {
            mma_s8_k32(dl, af[i], bf[j]);
          }
        }
      mt::i8_fold<DT>(acc, s, warp, lane, ul, u0 + ul, dlo, dhi);
    }
    __syncthreads();
  }
  mt::store_tile(a.y, a.ldy, m0, m1, tile.n0, a.N, warp, lane, [&](int idx) { return acc.f[idx]; });
#endif
}

template <bool BF16>
__global__ void __launch_bounds__(mt::kThreads) gemm_half_kernel(GemmArgs a, bool xvec, bool wvec) {
#if defined(__CUDA_ARCH__) && (__CUDA_ARCH__ >= 800 || (__CUDA_ARCH__ >= 750 && !BF16))
  __shared__ mt::HSmem s;
  const int tid = threadIdx.x, warp = tid >> 5, lane = tid & 31;
  int64_t m0, m1, e;
  if (!gemm_block_rows(a, m0, m1, e)) return;
  const mt::HTile tile{a.x, a.ldx, a.x_idx, m0, m1, a.w + e * a.expert_stride, a.row_bytes,
                       (int64_t)blockIdx.x * mt::kBN, a.N, a.K, xvec, wvec};
  float hi[16], lo[16];
#pragma unroll
  for (int i = 0; i < 16; i++) hi[i] = lo[i] = 0.0f;
  for (int64_t k0 = 0; k0 < a.K; k0 += 2 * mt::kHWords) {
    mt::h_fill<BF16>(s, tile, k0, tid);
    __syncthreads();
#pragma unroll
    for (int ks = 0; ks < 2; ks++) {
      uint32_t ah[2][4], al[2][4], bf[2][2];
      mt::h_frags(s, warp, lane, ks, ah, al, bf);
#pragma unroll
      for (int i = 0; i < 2; i++)
#pragma unroll
        for (int j = 0; j < 2; j++) {
          float(&dh)[4] = *reinterpret_cast<float(*)[4]>(&hi[(2 * i + j) * 4]);
          float(&dl)[4] = *reinterpret_cast<float(*)[4]>(&lo[(2 * i + j) * 4]);
          mma_half_k16<BF16>(dh, ah[i], bf[j]);
          mma_half_k16<BF16>(dl, al[i], bf[j]);
        }
    }
    __syncthreads();
  }
  mt::store_tile(a.y, a.ldy, m0, m1, tile.n0, a.N, warp, lane,
                 [&](int idx) { return mt::h_result<BF16>(hi[idx], lo[idx]); });
#endif
}

// ---- launchers

bool gemm_i8_weights_ok(const GemmArgs& a) {
  return is_int_weight(a.dtype) && a.row_bytes % 2 == 0 && a.expert_stride % 2 == 0 &&
         reinterpret_cast<uintptr_t>(a.w) % 2 == 0;
}

int gemm_mma_launch(const GemmArgs& a, GemmPath path) {
  const int64_t gy = a.tiles ? a.n_tiles : ceil_div(a.M, mt::kBM);
  if (gy <= 0) return HLC_OK;
  if (gy > 65535) return set_error(HLC_UNSUPPORTED, "[matmul] too many token tiles (" + std::to_string(gy) + ")");
  const dim3 grid((unsigned)ceil_div(a.N, mt::kBN), (unsigned)gy);
  if (path == GemmPath::kInt8) {
    HLC_REQUIRE(a.x_rows > 0, "[matmul] a block-type GEMM needs x_rows");
    // Every x row quantized once (rows keep their indexing through x_idx).
    const int64_t ab = act_block(a.dtype), units = a.K / 32;
    const size_t q_bytes = (size_t)(a.x_rows * a.K + 255) / 256 * 256;
    const size_t d_bytes = (sizeof(float) * (size_t)(a.x_rows * (a.K / ab)) + 255) / 256 * 256;
    void* buf = nullptr;
    HLC_TRY(workspace(q_bytes + d_bytes + sizeof(int32_t) * (size_t)(a.x_rows * units), &buf, 1));
    int8_t* xq = static_cast<int8_t*>(buf);
    float* xd = reinterpret_cast<float*>(static_cast<char*>(buf) + q_bytes);
    int32_t* xs = reinterpret_cast<int32_t*>(static_cast<char*>(buf) + q_bytes + d_bytes);
    HLC_TRY(act_quantize_launch(a.dtype, a.x, a.ldx, a.x_rows, a.K, xq, xd, xs, nullptr));
    switch (a.dtype) {
      case kQ8_0: HLC_LAUNCH(grid, mt::kThreads, 0, (a, xq, xd, xs), gemm_i8_kernel<kQ8_0>); break;
      case kQ4_0: HLC_LAUNCH(grid, mt::kThreads, 0, (a, xq, xd, xs), gemm_i8_kernel<kQ4_0>); break;
      case kQ4_K: HLC_LAUNCH(grid, mt::kThreads, 0, (a, xq, xd, xs), gemm_i8_kernel<kQ4_K>); break;
      case kQ5_K: HLC_LAUNCH(grid, mt::kThreads, 0, (a, xq, xd, xs), gemm_i8_kernel<kQ5_K>); break;
      case kQ6_K: HLC_LAUNCH(grid, mt::kThreads, 0, (a, xq, xd, xs), gemm_i8_kernel<kQ6_K>); break;
      default: return set_error(HLC_UNSUPPORTED, "[matmul] no int8 GEMM for weight type " + std::to_string(a.dtype));
    }
    HLC_LAUNCHED("gemm_i8_kernel");
    return HLC_OK;
  }
  if (path == GemmPath::kHalf2 && (a.dtype == kF16 || a.dtype == kBF16)) {
    const uintptr_t wp = reinterpret_cast<uintptr_t>(a.w);
    const bool wvec = a.K % 8 == 0 && wp % 16 == 0 && a.row_bytes % 16 == 0 && a.expert_stride % 16 == 0;
    const bool xvec = aligned16(a.x) && a.ldx % 4 == 0;
    if (a.dtype == kF16) HLC_LAUNCH(grid, mt::kThreads, 0, (a, xvec, wvec), gemm_half_kernel<false>);
    else HLC_LAUNCH(grid, mt::kThreads, 0, (a, xvec, wvec), gemm_half_kernel<true>);
    HLC_LAUNCHED("gemm_half_kernel");
    return HLC_OK;
  }
  return set_error(HLC_UNSUPPORTED, "[matmul] no tensor-core GEMM for weight type " + std::to_string(a.dtype));
}

}  // namespace hlc
