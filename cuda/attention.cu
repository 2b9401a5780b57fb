// cuda/attention.cu: causal GQA attention over a (paged) f32 or f16 KV cache, prefill and
// decode in one kernel (docs/KERNELS.md), twin of native/cpu/attention.cpp.
//   out[i, hq, :] = sum_j softmax_j(scale * q[i, hq, :] · k[j, kvh, :]) * v[j, kvh, :],
//   j = 0 .. pos(i),  kvh = hq / (Hq / Hkv),  pos(i) = n_ctx - n_q + i
// Layouts: q, out [n_tokens, Hq, Dh] packed by cu_seqlens (host); key j of kv
// head h at k_pages[j / page_size] + h * head_stride + (j % page_size) * token_stride
// (KvView; page arrays are host arrays of device pointers, flattened and copied).
// Algorithm (FlashAttention-2 online softmax, f32 SIMT path for every arch):
// a work item is (sequence, kv head, 32 rows), rows = (query token, query head
// of the group) pairs, so one K/V tile serves all Hq/Hkv heads of a kv head
// (GQA: K/V read once per group, the decode case included). 4 warps x 8 rows;
// K/V tiles of 32 keys staged in shared memory; lane j scores key j for the
// warp's 8 rows, warp max/sum give m and l, and each lane accumulates
// Dh/32 output columns of its rows in registers (p broadcast by shuffle).
// Key tiles beyond the item's last visible position are never loaded; inside
// a tile each row masks keys past its own position.
// Split-KV (Flash-Decoding): when items < 2 x SMs, each item's key range is
// split into parts of >= 256 keys that write (m, l, o) partials; a combine
// kernel merges them: M = max m_i, l = sum l_i e^(m_i - M), o = sum o_i e^(m_i - M) / l.
// Numerics: scores, exp, m, l, o in f32; m starts at -inf and a row with no
// visible key yet uses 0 as the exp base (no exp(-inf - -inf)); an all-masked
// row outputs 0.
// Tensor cores (sm_80+, prefill-like calls, Dh in {64, 80, 96, 128, 256} when
// shared memory allows): attention_mma_kernel (attention_mma.cu), 3xTF32, 64-row items;
// hlc_use_tensor_cores(0) / HLC_DISABLE_TENSOR_CORES=1 force the SIMT kernel.
#include <algorithm>
#include <vector>

#include "attention.cuh"

namespace hlc {

// ---- device code

template <int DPL>
__global__ void __launch_bounds__(kAttnWarps * 32)
attention_kernel(AttnArgs a, const AttnItem* items) {
  extern __shared__ float smem[];
  const int64_t Dh = a.Dh;
  float* Qs = smem;                           // [32][Dh]
  float* Ks = Qs + kAttnRows * Dh;            // [32][Dh + 1] (padded: lane j reads row j)
  float* Vs = Ks + kAttnKeys * (Dh + 1);      // [32][Dh]
  const AttnItem it = items[blockIdx.x];
  const SeqKv sk = a.seqs[it.seq];
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  const int64_t G = a.G;

  // Stage the item's query rows (zeros for rows past r1): warp per row, lanes over Dh.
  for (int r = warp; r < kAttnRows; r += kAttnWarps) {
    const int64_t R = it.r0 + r;
    const float* src = nullptr;
    if (R < it.r1) src = a.q + ((sk.q_start + R / G) * a.Hq + (int64_t)it.kvh * G + R % G) * Dh;
    for (int64_t d = lane; d < Dh; d += 32) Qs[r * Dh + d] = src ? src[d] : 0.0f;
  }
  // Per-row state of this warp's rows.
  float m[kRowsPerWarp], l[kRowsPerWarp], o[kRowsPerWarp][DPL];
  int64_t kend[kRowsPerWarp];
#pragma unroll
  for (int r = 0; r < kRowsPerWarp; r++) {
    m[r] = -INFINITY;
    l[r] = 0.0f;
#pragma unroll
    for (int i = 0; i < DPL; i++) o[r][i] = 0.0f;
    const int64_t R = it.r0 + warp * kRowsPerWarp + r;
    const int64_t e = R < it.r1 ? row_pos(sk, R, G) + 1 : 0;
    kend[r] = e < it.k1 ? e : it.k1;
  }
  const int64_t last_end = row_pos(sk, it.r1 - 1, G) + 1;
  const int64_t kstop = last_end < it.k1 ? last_end : it.k1;
  const float* const* kp = a.kp + sk.page_off;
  const float* const* vp = a.vp + sk.page_off;

  for (int64_t j0 = it.k0; j0 < kstop; j0 += kAttnKeys) {
    __syncthreads();  // previous tile fully consumed (and Qs staged on the first pass)
    for (int j = warp; j < kAttnKeys; j += kAttnWarps) {  // warp per key, lanes over Dh
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
      for (int64_t d = lane; d < Dh; d += 32) {
        Ks[j * (Dh + 1) + d] = kr ? kv_at(kr, off + d, a.kv_f16) : 0.0f;
        Vs[j * Dh + d] = vr ? kv_at(vr, off + d, a.kv_f16) : 0.0f;
      }
    }
    __syncthreads();
    // Scores: lane = key j0 + lane, for the warp's 8 rows.
    float s[kRowsPerWarp];
#pragma unroll
    for (int r = 0; r < kRowsPerWarp; r++) s[r] = 0.0f;
    const float* krow = Ks + lane * (Dh + 1);
    const float* qw = Qs + warp * kRowsPerWarp * Dh;
    for (int64_t d = 0; d < Dh; d++) {
      const float kd = krow[d];
#pragma unroll
      for (int r = 0; r < kRowsPerWarp; r++) s[r] += qw[r * Dh + d] * kd;
    }
    const int64_t key = j0 + lane;
#pragma unroll
    for (int r = 0; r < kRowsPerWarp; r++) {
      if (j0 >= kend[r]) continue;  // uniform over the warp: nothing visible in this tile
      const bool vis = key < kend[r];
      const float sc = vis ? s[r] * a.scale : -INFINITY;
      const float m_new = fmaxf(m[r], warp_max(sc));
      const float base = m_new == -INFINITY ? 0.0f : m_new;
      const float p = vis ? __expf(sc - base) : 0.0f;
      const float corr = __expf(m[r] - base);  // m = -inf -> 0 (l and o are 0 then)
      l[r] = l[r] * corr + warp_sum(p);
      m[r] = m_new;
#pragma unroll
      for (int i = 0; i < DPL; i++) o[r][i] *= corr;
      for (int j = 0; j < kAttnKeys; j++) {
        const float pj = __shfl_sync(kFullMask, p, j);
#pragma unroll
        for (int i = 0; i < DPL; i++) {
          const int64_t d = lane + 32 * i;
          if (d < Dh) o[r][i] += pj * Vs[j * Dh + d];
        }
      }
    }
  }
  // Epilogue: final rows or partials.
#pragma unroll
  for (int r = 0; r < kRowsPerWarp; r++) {
    const int64_t rl = warp * kRowsPerWarp + r, R = it.r0 + rl;
    if (R >= it.r1) continue;
    if (it.partial >= 0) {
      float* part = a.partials + it.partial;  // m [32], l [32], o [32, Dh]
      if (lane == 0) {
        part[rl] = m[r];
        part[kAttnRows + rl] = l[r];
      }
#pragma unroll
      for (int i = 0; i < DPL; i++) {
        const int64_t d = lane + 32 * i;
        if (d < Dh) part[2 * kAttnRows + rl * Dh + d] = o[r][i];
      }
    } else {
      const int64_t hq = (int64_t)it.kvh * G + R % G;
      float* dst = a.out + ((sk.q_start + R / G) * a.Hq + hq) * Dh;
      const float inv = l[r] > 0.0f ? 1.0f / l[r] : 0.0f;
#pragma unroll
      for (int i = 0; i < DPL; i++) {
        const int64_t d = lane + 32 * i;
        if (d < Dh) dst[d] = o[r][i] * inv;
      }
    }
  }
}

// grid (n_merges, rows_per_item); threads over Dh.
__global__ void attention_combine_kernel(AttnArgs a, const AttnMerge* merges) {
  const AttnMerge mg = merges[blockIdx.x];
  const int64_t rl = blockIdx.y, R = mg.r0 + rl;
  if (R >= mg.r1) return;
  const SeqKv sk = a.seqs[mg.seq];
  const int64_t Dh = a.Dh, RP = a.rows_per_item, part_floats = RP * (2 + Dh);
  float M = -INFINITY;
  for (int64_t p = 0; p < mg.n_parts; p++) M = fmaxf(M, a.partials[mg.first + p * part_floats + rl]);
  const int64_t hq = (int64_t)mg.kvh * a.G + R % a.G;
  float* dst = a.out + ((sk.q_start + R / a.G) * a.Hq + hq) * Dh;
  for (int64_t d = threadIdx.x; d < Dh; d += blockDim.x) {
    float l = 0.0f, o = 0.0f;
    if (M != -INFINITY) {
      for (int64_t p = 0; p < mg.n_parts; p++) {
        const float* part = a.partials + mg.first + p * part_floats;
        const float lp = part[RP + rl];
        if (lp == 0.0f) continue;
        const float f = __expf(part[rl] - M);
        l += lp * f;
        o += part[2 * RP + rl * Dh + d] * f;
      }
    }
    dst[d] = l > 0.0f ? o / l : 0.0f;
  }
}

// ---- launchers

static int sm_count() {
  static int n = 0;
  if (n == 0) {
    int dev = 0;
    if (cudaGetDevice(&dev) != cudaSuccess || cudaDeviceGetAttribute(&n, cudaDevAttrMultiProcessorCount, dev) != cudaSuccess) {
      cudaGetLastError();
      n = 32;
    }
  }
  return n;
}

template <int DPL>
static int attention_launch_dpl(const AttnArgs& a, const AttnItem* items, int64_t n_items, size_t smem) {
  HLC_CHECK(cudaFuncSetAttribute(attention_kernel<DPL>, cudaFuncAttributeMaxDynamicSharedMemorySize, (int)smem));
  HLC_LAUNCH((unsigned)n_items, kAttnWarps * 32, smem, (a, items), attention_kernel<DPL>);
  HLC_LAUNCHED("attention_kernel");
  return HLC_OK;
}

}  // namespace hlc

extern "C" HLC_EXPORT int hlc_attention_kv(float* out, const float* q, const hl::AttentionDims* dims,
                                           const int32_t* cu_seqlens, int n_seqs, const hl::KvView* kv,
                                           int32_t kv_dtype) {
  using namespace hlc;
  if (kv_dtype != 0 && kv_dtype != 1)
    return set_error(HLC_UNSUPPORTED, "[attention] KV element type " + std::to_string(kv_dtype) +
                                          " (only F32 = 0 and F16 = 1)");
  HLC_REQUIRE(dims, "[attention] dims is null");
  const int64_t Hq = dims->n_heads, Hkv = dims->n_kv_heads, Dh = dims->head_dim;
  HLC_REQUIRE(Hq > 0 && Hkv > 0 && Hq % Hkv == 0 && Dh > 0, "[attention] bad dims: need Hq % Hkv == 0, Dh > 0");
  if (Dh > 256) return set_error(HLC_UNSUPPORTED, "[attention] head_dim " + std::to_string(Dh) + " > 256");
  HLC_REQUIRE(n_seqs >= 0, "[attention] negative n_seqs");
  if (n_seqs == 0) return HLC_OK;
  HLC_REQUIRE(cu_seqlens && kv, "[attention] null host array");
  HLC_REQUIRE(cu_seqlens[0] == 0, "[attention] cu_seqlens[0] must be 0");
  const int64_t G = Hq / Hkv;
  // Per-sequence KV descriptors and flattened page tables.
  std::vector<SeqKv> seqs((size_t)n_seqs);
  std::vector<const float*> kptr, vptr;
  for (int s = 0; s < n_seqs; s++) {
    const int64_t nq = cu_seqlens[s + 1] - cu_seqlens[s];
    const hl::KvView& v = kv[s];
    HLC_REQUIRE(nq >= 0, "[attention] cu_seqlens must be non-decreasing");
    HLC_REQUIRE(v.n_ctx >= nq, "[attention] sequence " + std::to_string(s) + ": n_ctx < number of queries");
    HLC_REQUIRE(v.n_ctx == 0 || (v.page_size > 0 && v.k_pages && v.v_pages),
                "[attention] sequence " + std::to_string(s) + ": bad KV view");
    const int64_t n_pages = v.n_ctx > 0 ? ceil_div(v.n_ctx, v.page_size) : 0;
    seqs[s] = {cu_seqlens[s], nq, v.n_ctx, v.page_size > 0 ? v.page_size : 1, v.head_stride, v.token_stride,
               (int64_t)kptr.size()};
    for (int64_t p = 0; p < n_pages; p++) {
      kptr.push_back(v.k_pages[p]);
      vptr.push_back(v.v_pages[p]);
    }
  }
  const int64_t T = cu_seqlens[n_seqs];
  if (T == 0) return HLC_OK;
  HLC_REQUIRE(out && q, "[attention] null pointer");
  std::lock_guard<std::recursive_mutex> lock(op_mutex());
  HLC_TRY(ensure_device());

  // Path: tensor cores for prefill-like calls (some sequence with >= 16
  // queries) on sm_80+ when Dh % 8 == 0 and the shared memory fits; else SIMT.
  int dev = 0, max_smem = 0;
  HLC_CHECK(cudaGetDevice(&dev));
  HLC_CHECK(cudaDeviceGetAttribute(&max_smem, cudaDevAttrMaxSharedMemoryPerBlockOptin, dev));
  int64_t max_nq = 0;
  for (int s = 0; s < n_seqs; s++) max_nq = std::max(max_nq, seqs[s].n_q);
  const size_t smem_mma =
      sizeof(float) * (size_t)(kMmaRows * (Dh + 4) + kMmaKeys * (Dh + 4) + kMmaKeys * (Dh + 8) + kAttnWarps * 16 * (kMmaKeys + 4));
  const int nt_mma = (int)(Dh / 8);
  const bool use_mma = tensor_cores_enabled() && max_nq >= kMmaMinQueries && Dh % 8 == 0 &&
                       (nt_mma == 8 || nt_mma == 10 || nt_mma == 12 || nt_mma == 16 || nt_mma == 32) &&
                       smem_mma <= (size_t)max_smem;
  const int64_t RP = use_mma ? kMmaRows : kAttnRows;
  // Work items (sequence, kv head, RP rows), then split-KV when they are few.
  std::vector<AttnItem> items;
  for (int s = 0; s < n_seqs; s++) {
    const int64_t rows = seqs[s].n_q * G;
    for (int64_t kvh = 0; kvh < Hkv; kvh++)
      for (int64_t r0 = 0; r0 < rows; r0 += RP) {
        const int64_t r1 = std::min(rows, r0 + RP);
        const int64_t kend = seqs[s].n_ctx - seqs[s].n_q + (r1 - 1) / G + 1;
        items.push_back({s, (int32_t)kvh, (int32_t)r0, (int32_t)r1, 0, kend, -1});
      }
  }
  std::vector<AttnMerge> merges;
  int64_t partial_floats = 0;
  const int64_t part_floats = RP * (2 + Dh);
  const int64_t want_blocks = 2LL * sm_count();
  // Inside a graph step every item is split into the same number of parts
  // whatever the lengths (graph_plan.h): the grids stay those of the capture
  // while the key ranges, in the argument image, follow the sequences.
  const bool in_graph = graph::in_step();
  if (in_graph) {
    const int64_t n_parts = graph_split_parts((int64_t)items.size(), want_blocks);
    std::vector<AttnItem> split;
    for (const AttnItem& it : items) {
      merges.push_back({it.seq, it.kvh, it.r0, it.r1, partial_floats, n_parts});
      for (int64_t p = 0; p < n_parts; p++) {
        AttnItem part = it;
        graph_part_range(it.k1, n_parts, p, kAttnKeys, &part.k0, &part.k1);
        part.partial = partial_floats;
        partial_floats += part_floats;
        split.push_back(part);
      }
    }
    items.swap(split);
  } else if ((int64_t)items.size() < want_blocks) {
    const int64_t want = ceil_div(want_blocks, (int64_t)items.size());
    std::vector<AttnItem> split;
    for (const AttnItem& it : items) {
      const int64_t n_parts = std::min(want, std::max<int64_t>(1, it.k1 / kMinSplitKeys));
      if (n_parts == 1) {
        split.push_back(it);
        continue;
      }
      merges.push_back({it.seq, it.kvh, it.r0, it.r1, partial_floats, n_parts});
      for (int64_t p = 0; p < n_parts; p++) {
        AttnItem part = it;
        part.k0 = it.k1 * p / n_parts;
        part.k1 = it.k1 * (p + 1) / n_parts;
        part.partial = partial_floats;
        partial_floats += part_floats;
        split.push_back(part);
      }
    }
    items.swap(split);
  }
  std::stable_sort(items.begin(), items.end(), [](const AttnItem& x, const AttnItem& y) {
    return (int64_t)(x.r1 - x.r0) * (x.k1 - x.k0) > (int64_t)(y.r1 - y.r0) * (y.k1 - y.k0);
  });
  const int64_t n_items = (int64_t)items.size();
  HLC_REQUIRE(n_items <= 0x7fffffffLL && (int64_t)merges.size() <= 0x7fffffffLL, "[attention] too many work items");

  Carve cv;
  const int i_seq = cv.arg(seqs.data(), sizeof(SeqKv) * n_seqs);
  // Page tables inside a graph step: room for GraphTableRoom pointers, so
  // the image layout holds while the sequences grow by pages.
  static GraphTableRoom room;
  const size_t table_room = in_graph ? sizeof(float*) * (size_t)room((int64_t)kptr.size()) : 0;
  const int i_kp = cv.arg(kptr.data(), sizeof(float*) * kptr.size(), table_room);
  const int i_vp = cv.arg(vptr.data(), sizeof(float*) * vptr.size(), table_room);
  const int i_it = cv.arg(items.data(), sizeof(AttnItem) * n_items);
  const int i_mg = cv.arg(merges.data(), sizeof(AttnMerge) * merges.size());
  const int i_pt = cv.add(sizeof(float) * std::max<int64_t>(1, partial_floats));
  HLC_TRY(cv.commit());

  AttnArgs a{out, q, cv.ptr<SeqKv>(i_seq), cv.ptr<const float* const>(i_kp), cv.ptr<const float* const>(i_vp),
             cv.ptr<float>(i_pt), Hq, G, Dh, RP, dims->scale, kv_dtype == 1 ? 1 : 0};
  const AttnItem* d_items = cv.ptr<AttnItem>(i_it);
  if (use_mma) {
    HLC_TRY(attention_mma_launch(nt_mma, a, d_items, n_items, smem_mma));
  } else {
    const size_t smem = sizeof(float) * (size_t)(kAttnRows * Dh + kAttnKeys * (Dh + 1) + kAttnKeys * Dh);
    if (smem > (size_t)max_smem)
      return set_error(HLC_UNSUPPORTED, "[attention] head_dim " + std::to_string(Dh) + " needs " +
                                            std::to_string(smem) + " bytes of shared memory; this device allows " +
                                            std::to_string(max_smem));
    const int dpl = (int)ceil_div(Dh, 32);
    if (dpl <= 1) HLC_TRY(attention_launch_dpl<1>(a, d_items, n_items, smem));
    else if (dpl <= 2) HLC_TRY(attention_launch_dpl<2>(a, d_items, n_items, smem));
    else if (dpl <= 3) HLC_TRY(attention_launch_dpl<3>(a, d_items, n_items, smem));
    else if (dpl <= 4) HLC_TRY(attention_launch_dpl<4>(a, d_items, n_items, smem));
    else HLC_TRY(attention_launch_dpl<8>(a, d_items, n_items, smem));
  }
  if (!merges.empty()) {
    dim3 grid((unsigned)merges.size(), (unsigned)RP);
    const int threads = (int)std::min<int64_t>(256, ceil_div(Dh, 32) * 32);
    HLC_LAUNCH(grid, threads, 0, (a, cv.ptr<AttnMerge>(i_mg)), attention_combine_kernel);
    HLC_LAUNCHED("attention_combine_kernel");
  }
  return HLC_OK;
}

extern "C" HLC_EXPORT int hlc_attention(float* out, const float* q, const hl::AttentionDims* dims,
                                        const int32_t* cu_seqlens, int n_seqs, const hl::KvView* kv) {
  return hlc_attention_kv(out, q, dims, cu_seqlens, n_seqs, kv, 0);
}
