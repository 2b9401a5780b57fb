// cuda/attention_mma.cu: the tensor-core attention kernel (sm_80+), same
// contract as attention_kernel in attention.cu (which plans the work items,
// split-KV partials and the combine). Compiled for every arch; below sm_80
// the body is empty and the host never launches it.
#include "attention.cuh"
#include "mma.cuh"

namespace hlc {

// ---- device code

// Tensor-core path (sm_80+, Dh % 8 == 0): FlashAttention-2 with 3xTF32
// mma.sync m16n8k8 (mma.cuh; f32-level accuracy). Item = 64 rows, warp w owns
// rows 16w .. 16w+15; per 32-key tile: S = Q Kᵀ (16 x 32 per warp, 4 n8
// tiles over Dh/8 k-steps), online softmax on the accumulator fragments
// (row max / sum over the 4 lanes of a group by shuffles), P goes through a
// per-warp shared buffer into A-fragment layout, O += P V (Dh/8 n8 tiles).
// Fragment coordinates: g = lane / 4, t = lane % 4; C element c of n8 tile j
// is (row g + 8 (c >= 2), col 8 j + 2 t + (c & 1)). Row strides Dh + 4 (Q, K),
// Dh + 8 (V) and 36 (P) keep the fragment reads free of bank conflicts.
template <int NT>  // NT = Dh / 8
__global__ void __launch_bounds__(kAttnWarps * 32)
attention_mma_kernel(AttnArgs a, const AttnItem* items) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
  constexpr int DH = NT * 8, LQ = DH + 4, LV = DH + 8, LP = kMmaKeys + 4;
  extern __shared__ float smem[];
  float* Qs = smem;                       // [64][LQ]
  float* Ks = Qs + kMmaRows * LQ;         // [32][LQ]
  float* Vs = Ks + kMmaKeys * LQ;         // [32][LV]
  float* Ps = Vs + kMmaKeys * LV;         // [4 warps][16][LP]
  const AttnItem it = items[blockIdx.x];
  const SeqKv sk = a.seqs[it.seq];
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, g = lane >> 2, t = lane & 3;
  const int64_t G = a.G;
  for (int r = warp; r < kMmaRows; r += kAttnWarps) {
    const int64_t R = it.r0 + r;
    const float* src = nullptr;
    if (R < it.r1) src = a.q + ((sk.q_start + R / G) * a.Hq + (int64_t)it.kvh * G + R % G) * DH;
    for (int d = lane; d < DH; d += 32) Qs[r * LQ + d] = src ? src[d] : 0.0f;
  }
  // This thread's two rows: h = 0 -> row 16 w + g, h = 1 -> row 16 w + g + 8.
  int64_t kend[2];
  float m[2] = {-INFINITY, -INFINITY}, l[2] = {0.0f, 0.0f};
#pragma unroll
  for (int h = 0; h < 2; h++) {
    const int64_t R = it.r0 + warp * 16 + g + 8 * h;
    const int64_t e = R < it.r1 ? row_pos(sk, R, G) + 1 : 0;
    kend[h] = e < it.k1 ? e : it.k1;
  }
  float o[NT][4];
#pragma unroll
  for (int j = 0; j < NT; j++)
#pragma unroll
    for (int c = 0; c < 4; c++) o[j][c] = 0.0f;
  const int64_t last_end = row_pos(sk, it.r1 - 1, G) + 1;
  const int64_t kstop = last_end < it.k1 ? last_end : it.k1;
  const float* const* kp = a.kp + sk.page_off;
  const float* const* vp = a.vp + sk.page_off;
  float* P = Ps + warp * 16 * LP;
  const float* Qw = Qs + warp * 16 * LQ;

  for (int64_t j0 = it.k0; j0 < kstop; j0 += kMmaKeys) {
    __syncthreads();
    for (int j = warp; j < kMmaKeys; j += kAttnWarps) {
      const int64_t key = j0 + j;
      const float* kr = nullptr;
      const float* vr = nullptr;
      int64_t off = 0;
      if (key < kstop) {
        const int64_t page = key / sk.page_size;
        off = (int64_t)it.kvh * sk.head_stride + (key - page * sk.page_size) * sk.token_stride;
        kr = kp[page];
        vr = vp[page];
      }
      for (int d = lane; d < DH; d += 32) {
        Ks[j * LQ + d] = kr ? kv_at(kr, off + d, a.kv_f16) : 0.0f;
        Vs[j * LV + d] = vr ? kv_at(vr, off + d, a.kv_f16) : 0.0f;
      }
    }
    __syncthreads();
    // S = Q Kᵀ
    float sc[4][4];
#pragma unroll
    for (int j = 0; j < 4; j++)
#pragma unroll
      for (int c = 0; c < 4; c++) sc[j][c] = 0.0f;
#pragma unroll 2
    for (int kd = 0; kd < DH; kd += 8) {
      uint32_t ah[4], al[4];
      split_tf32(Qw[g * LQ + kd + t], ah[0], al[0]);
      split_tf32(Qw[(g + 8) * LQ + kd + t], ah[1], al[1]);
      split_tf32(Qw[g * LQ + kd + t + 4], ah[2], al[2]);
      split_tf32(Qw[(g + 8) * LQ + kd + t + 4], ah[3], al[3]);
#pragma unroll
      for (int j = 0; j < 4; j++) {
        uint32_t bh[2], bl[2];
        split_tf32(Ks[(j * 8 + g) * LQ + kd + t], bh[0], bl[0]);
        split_tf32(Ks[(j * 8 + g) * LQ + kd + t + 4], bh[1], bl[1]);
        mma_tf32(sc[j], al, bh);
        mma_tf32(sc[j], ah, bl);
        mma_tf32(sc[j], ah, bh);
      }
    }
    // Online softmax per row (h), over this thread's 8 columns, then the group's 4 lanes.
    float corr[2];
#pragma unroll
    for (int h = 0; h < 2; h++) {
      float mx = -INFINITY;
#pragma unroll
      for (int j = 0; j < 4; j++)
#pragma unroll
        for (int c2 = 0; c2 < 2; c2++) {
          const int c = 2 * h + c2;
          const int64_t key = j0 + j * 8 + 2 * t + c2;
          sc[j][c] = key < kend[h] ? sc[j][c] * a.scale : -INFINITY;
          mx = fmaxf(mx, sc[j][c]);
        }
      mx = fmaxf(mx, __shfl_xor_sync(kFullMask, mx, 1));
      mx = fmaxf(mx, __shfl_xor_sync(kFullMask, mx, 2));
      const float m_new = fmaxf(m[h], mx);
      const float base = m_new == -INFINITY ? 0.0f : m_new;
      corr[h] = __expf(m[h] - base);  // m = -inf -> 0 (l and o are 0 then)
      float sum = 0.0f;
#pragma unroll
      for (int j = 0; j < 4; j++)
#pragma unroll
        for (int c2 = 0; c2 < 2; c2++) {
          const int c = 2 * h + c2;
          const float p = sc[j][c] == -INFINITY ? 0.0f : __expf(sc[j][c] - base);
          sc[j][c] = p;
          sum += p;
        }
      l[h] = l[h] * corr[h] + sum;  // partial over this lane's columns; reduced at the end
      m[h] = m_new;
    }
#pragma unroll
    for (int j = 0; j < NT; j++) {
      o[j][0] *= corr[0];
      o[j][1] *= corr[0];
      o[j][2] *= corr[1];
      o[j][3] *= corr[1];
    }
    // P (C layout) -> shared -> A layout.
    __syncwarp();
#pragma unroll
    for (int j = 0; j < 4; j++)
#pragma unroll
      for (int c = 0; c < 4; c++) P[(g + (c >= 2 ? 8 : 0)) * LP + j * 8 + 2 * t + (c & 1)] = sc[j][c];
    __syncwarp();
    // O += P V
#pragma unroll
    for (int kk = 0; kk < kMmaKeys; kk += 8) {
      uint32_t ah[4], al[4];
      split_tf32(P[g * LP + kk + t], ah[0], al[0]);
      split_tf32(P[(g + 8) * LP + kk + t], ah[1], al[1]);
      split_tf32(P[g * LP + kk + t + 4], ah[2], al[2]);
      split_tf32(P[(g + 8) * LP + kk + t + 4], ah[3], al[3]);
#pragma unroll
      for (int j = 0; j < NT; j++) {
        uint32_t bh[2], bl[2];
        split_tf32(Vs[(kk + t) * LV + j * 8 + g], bh[0], bl[0]);
        split_tf32(Vs[(kk + t + 4) * LV + j * 8 + g], bh[1], bl[1]);
        mma_tf32(o[j], al, bh);
        mma_tf32(o[j], ah, bl);
        mma_tf32(o[j], ah, bh);
      }
    }
  }
  // Row sums over the group's 4 lanes; epilogue.
#pragma unroll
  for (int h = 0; h < 2; h++) {
    l[h] += __shfl_xor_sync(kFullMask, l[h], 1);
    l[h] += __shfl_xor_sync(kFullMask, l[h], 2);
  }
  const int64_t RP = a.rows_per_item;
#pragma unroll
  for (int h = 0; h < 2; h++) {
    const int64_t rl = warp * 16 + g + 8 * h, R = it.r0 + rl;
    if (R >= it.r1) continue;
    if (it.partial >= 0) {
      float* part = a.partials + it.partial;  // m [RP], l [RP], o [RP, Dh]
      if (t == 0) {
        part[rl] = m[h];
        part[RP + rl] = l[h];
      }
#pragma unroll
      for (int j = 0; j < NT; j++) {
        part[2 * RP + rl * DH + j * 8 + 2 * t] = o[j][2 * h];
        part[2 * RP + rl * DH + j * 8 + 2 * t + 1] = o[j][2 * h + 1];
      }
    } else {
      float* dst = a.out + ((sk.q_start + R / G) * a.Hq + (int64_t)it.kvh * G + R % G) * DH;
      const float inv = l[h] > 0.0f ? 1.0f / l[h] : 0.0f;
#pragma unroll
      for (int j = 0; j < NT; j++) {
        dst[j * 8 + 2 * t] = o[j][2 * h] * inv;
        dst[j * 8 + 2 * t + 1] = o[j][2 * h + 1] * inv;
      }
    }
  }
#endif
}

// ---- launchers

template <int NT>
static int attention_mma_launch_nt(const AttnArgs& a, const AttnItem* items, int64_t n_items, size_t smem) {
  HLC_CHECK(cudaFuncSetAttribute(attention_mma_kernel<NT>, cudaFuncAttributeMaxDynamicSharedMemorySize, (int)smem));
  HLC_LAUNCH((unsigned)n_items, kAttnWarps * 32, smem, (a, items), attention_mma_kernel<NT>);
  HLC_LAUNCHED("attention_mma_kernel");
  return HLC_OK;
}

int attention_mma_launch(int nt, const AttnArgs& a, const AttnItem* items, int64_t n_items, size_t smem) {
  switch (nt) {
    case 8: return attention_mma_launch_nt<8>(a, items, n_items, smem);
    case 10: return attention_mma_launch_nt<10>(a, items, n_items, smem);
    case 12: return attention_mma_launch_nt<12>(a, items, n_items, smem);
    case 16: return attention_mma_launch_nt<16>(a, items, n_items, smem);
    case 32: return attention_mma_launch_nt<32>(a, items, n_items, smem);
    default: return set_error(HLC_UNSUPPORTED, "[attention] no tensor-core kernel for head_dim " + std::to_string(nt * 8));
  }
}

}  // namespace hlc
