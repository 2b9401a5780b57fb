// native/cpu/attention.cpp: causal GQA attention over a (paged) KV cache,
// prefill and decode in one kernel (docs/KERNELS.md, Attention).
//   out[i, hq, :] = sum_j softmax_j(scale * q[i, hq, :] · k[j, kvh, :]) * v[j, kvh, :],
//   j = 0 .. pos(i),  kvh = hq / (Hq / Hkv),  pos(i) = n_ctx - n_q + i
// Layouts: q, out [n_tokens, Hq, Dh] (packed, cu_seqlens); keys/values through
// KvView (contiguous [n_ctx, Hkv, Dh] or pages [pages][Hkv, page, Dh]).
// Algorithm (FlashAttention-2 style online softmax): a work item is
// (sequence, kv head, query tile). Its rows are the query tile's tokens times
// the Hq/Hkv query heads sharing that kv head, so every K/V tile of kKeyTile
// keys is loaded once for all of them. Per row: running max m, running sum l,
// accumulator o; a tile that raises m rescales l and o by exp(m_old - m_new).
// Key tiles past the tile's last query position are never visited; inside the
// diagonal tile each row stops at its own position.
// Split-KV (Flash-Decoding): when there are fewer items than threads (decode,
// short prompts), each item's key range is split into parts of >= kMinSplitKeys
// keys; parts write (m, l, o) partials and a merge computes
//   M = max m_i, l = sum l_i e^(m_i - M), o = sum o_i e^(m_i - M) / l.
// Per key tile, the R x 64 scores come from one register-blocked call
// (SimdOps::gemm), exp(s - m) and its sum from SimdOps::exp_sub_sum, and P·V
// from SimdOps::pv_accumulate, which keeps a row of o in registers across the
// tile's keys.
// Decode path: an item of at most kFusedMaxRows rows (decode, short queries)
// takes the keys all its rows see run by run (a kv head's keys are contiguous
// inside a page) through SimdOps::attn_rows, which fuses scores, softmax and
// P·V with f16 widened in registers (attention_runs); only the causal
// diagonal of a short query goes through key tiles.
// Parallelisation: items are handed out dynamically, most expensive first.
// KV pages may be F32, F16 or Q8_0 (KvView): F16 keys go straight into the
// score GEMM, other non-F32 rows are widened per key tile.
// Numerics: scores, exp, m, l, o in f32 (exp: ~2 ulp polynomial on the SIMD
// paths, std::exp on scalar); a row with no visible key yet uses 0
// as the exp base, so exp(-inf - (-inf)) never happens; an all-masked row is 0.
#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "kernel_util.h"
#include "kernels.h"

namespace hl::cpu {

constexpr int64_t kKeyTile = 64;
constexpr int64_t kTileRows = 32;  // (token, query head) rows per item
constexpr int64_t kMinSplitKeys = 64;
constexpr int64_t kFusedMaxRows = 8;  // items with at most this many rows use attention_runs
constexpr int64_t kPrefetchRuns = 2;  // page runs between a prefetch and its use

namespace {

struct Item {
  int64_t seq, kvh, q0, q1;  // query tokens [q0, q1) of the sequence
  int64_t k0, k1;            // keys [k0, k1)
  int64_t partial;           // offset of this part's (m, l, o) in the partial buffer; -1 = final
};

struct Merge {
  int64_t seq, kvh, q0, q1;
  int64_t first_part, n_parts;  // offsets: first_part + i * part_floats
};

struct Ctx {
  float* out;       // [n_tokens, Hq, Dh]
  const float* q;   // [n_tokens, Hq, Dh]
  const AttentionDims& d;
  const int32_t* cu;
  const KvView* kv;
  int64_t G;  // query heads per kv head

  int64_t n_q(int64_t s) const { return cu[s + 1] - cu[s]; }
  int64_t pos(int64_t s, int64_t qi) const { return kv[s].n_ctx - n_q(s) + qi; }
  int64_t row_offset(int64_t s, int64_t qi, int64_t r_in_group, int64_t kvh) const {
    return ((cu[s] + qi) * d.n_heads + kvh * G + r_in_group) * d.head_dim;
  }
  // Address of key (values: v_pages) j's row of kv head kvh, in the view's dtype,
  // and for Q8_0 its scales.
  const void* row(const float* const* pages, int64_t s, int64_t kvh, int64_t j, const float** scales) const {
    const KvView& v = kv[s];
    const uint8_t* page = reinterpret_cast<const uint8_t*>(pages[j / v.page_size]);
    const int64_t el = kvh * v.head_stride + (j % v.page_size) * v.token_stride;
    switch (v.dtype) {
      case DType::F16: return page + el * 2;
      case DType::Q8_0:
        *scales = reinterpret_cast<const float*>(page + v.scale_offset) +
                  el / d.head_dim * kv_q8_blocks(d.head_dim);
        return page + el;
      default: return page + el * 4;
    }
  }
};

}  // namespace

// ---- kernels

// Fresh online-softmax state of R rows.
static void init_rows(int64_t R, int64_t Dh, float* m, float* l, float* o) {
  for (int64_t r = 0; r < R; r++) {
    m[r] = -std::numeric_limits<float>::infinity();
    l[r] = 0.0f;
  }
  std::fill(o, o + R * Dh, 0.0f);
}

// Key j's K and V rows as the f32 kernels read them: K as stored unless Q8_0,
// V as stored only when F32; the others are widened into slot i of kv_f32
// ([2, kKeyTile, Dh]: keys, then values).
static void key_rows(const Ctx& c, const Item& it, int64_t j, int64_t i, float* kv_f32, const void** k,
                     const void** v) {
  const KvView& kv = c.kv[it.seq];
  const int64_t Dh = c.d.head_dim;
  const float* ks = nullptr;
  const float* vs = nullptr;
  *k = c.row(kv.k_pages, it.seq, it.kvh, j, &ks);
  *v = c.row(kv.v_pages, it.seq, it.kvh, j, &vs);
  if (kv.dtype == DType::Q8_0) {
    kv_row_to_f32(kv_f32 + i * Dh, *k, ks, Dh, kv.dtype);
    *k = kv_f32 + i * Dh;
  }
  if (kv.dtype != DType::F32) {
    kv_row_to_f32(kv_f32 + (kKeyTile + i) * Dh, *v, vs, Dh, kv.dtype);
    *v = kv_f32 + (kKeyTile + i) * Dh;
  }
}

// Bytes from one key's row of a kv head to the next within a page.
static int64_t key_stride_bytes(const KvView& v) { return v.token_stride * kv_elem_bytes(v.dtype); }

// Online softmax of an item's rows over keys [ja, jb) in tiles of kKeyTile
// (score GEMM over per-key row pointers; each row stops at its own position).
// m, l: [R]; o: [R, Dh].
static void attention_tile(const Ctx& c, const Item& it, int64_t ja, int64_t jb, float* m, float* l, float* o,
                           float* sc /* [R, kKeyTile] */, const float** kp, const float** vp,
                           const float** qp /* [R] */, float* kv_f32 /* [2, kKeyTile, Dh] */) {
  const int64_t Dh = c.d.head_dim, G = c.G, R = (it.q1 - it.q0) * G;
  const float ninf = -std::numeric_limits<float>::infinity();
  const SimdOps& ops = simd_ops();
  const DType kv_type = c.kv[it.seq].dtype;
  // F32 and F16 keys feed the score GEMM as stored; Q8_0 keys and non-F32
  // values are widened per tile into kv_f32 (reads stay half / quarter size).
  const RowKind k_kind = kv_type == DType::F16 ? RowKind::F16 : RowKind::F32;
  for (int64_t r = 0; r < R; r++) qp[r] = c.q + c.row_offset(it.seq, it.q0 + r / G, r % G, it.kvh);  // [Dh]
  for (int64_t j0 = ja; j0 < jb; j0 += kKeyTile) {
    const int64_t j1 = std::min(jb, j0 + kKeyTile);
    for (int64_t j = j0; j < j1; j++) {
      const void* krow;
      const void* vrow;
      key_rows(c, it, j, j - j0, kv_f32, &krow, &vrow);
      kp[j - j0] = static_cast<const float*>(krow);
      vp[j - j0] = static_cast<const float*>(vrow);
    }
    // All R x (j1 - j0) raw scores q·k of the tile in one register-blocked call.
    ops.gemm(sc, kKeyTile, qp, R, reinterpret_cast<const uint8_t* const*>(kp), j1 - j0, Dh, k_kind);
    for (int64_t r = 0; r < R; r++) {
      const int64_t qi = it.q0 + r / G;
      const int64_t jend = std::min(j1, c.pos(it.seq, qi) + 1);
      if (jend <= j0) continue;
      float* srow = sc + r * kKeyTile;  // [kKeyTile]
      float mx = ninf;
      for (int64_t j = j0; j < jend; j++) {
        srow[j - j0] *= c.d.scale;
        mx = std::max(mx, srow[j - j0]);
      }
      float* orow = o + r * Dh;
      const float m_new = std::max(m[r], mx);
      const float base = m_new == ninf ? 0.0f : m_new;
      if (m_new > m[r] && m[r] != ninf) {
        const float corr = std::exp(m[r] - m_new);
        l[r] *= corr;
        for (int64_t e = 0; e < Dh; e++) orow[e] *= corr;
      }
      const float sum = ops.exp_sub_sum(srow, srow, jend - j0, base);
      ops.pv_accumulate(orow, srow, vp, jend - j0, Dh);
      l[r] += sum;
      m[r] = m_new;
    }
  }
}

// Online softmax of an item's rows over keys [ja, jb) that every row sees
// (decode, and the keys before a short query's first position): walks the
// page runs, where one kv head's keys are a fixed stride apart, and hands each
// run to the fused SimdOps::attn_rows (attn_rows_q8 for Q8_0 pages: codes
// widened in registers, never through scratch).
static void attention_runs(const Ctx& c, const Item& it, int64_t ja, int64_t jb, float* m, float* l, float* o,
                           const float** qp) {
  const KvView& v = c.kv[it.seq];
  const int64_t Dh = c.d.head_dim, G = c.G, R = (it.q1 - it.q0) * G;
  const SimdOps& ops = simd_ops();
  const bool q8 = v.dtype == DType::Q8_0;
  // Q8_0: a key's scales follow the previous key's by its row's share of the page.
  const int64_t q8_lds = q8 ? v.token_stride / Dh * kv_q8_blocks(Dh) : 0;
  for (int64_t r = 0; r < R; r++) qp[r] = c.q + c.row_offset(it.seq, it.q0 + r / G, r % G, it.kvh);
  for (int64_t j = ja; j < jb;) {
    const int64_t run_end = std::min(jb, (j / v.page_size + 1) * v.page_size);
    // Pages are scattered: the hardware prefetcher cannot follow a jump to the
    // next run, so the kernel requests the run kPrefetchRuns pages ahead as it
    // reads this one, a row per key.
    const int64_t ahead = (j / v.page_size + kPrefetchRuns) * v.page_size;
    const int64_t n_ahead = ahead < jb ? std::min(jb, ahead + v.page_size) - ahead : 0;
    const float* ks = nullptr;
    const float* vs = nullptr;
    const float* pf_ks = nullptr;
    const float* pf_vs = nullptr;
    const auto* pf_k = n_ahead ? static_cast<const uint8_t*>(c.row(v.k_pages, it.seq, it.kvh, ahead, &pf_ks)) : nullptr;
    const auto* pf_v = n_ahead ? static_cast<const uint8_t*>(c.row(v.v_pages, it.seq, it.kvh, ahead, &pf_vs)) : nullptr;
    const auto* k = static_cast<const uint8_t*>(c.row(v.k_pages, it.seq, it.kvh, j, &ks));
    const auto* vv = static_cast<const uint8_t*>(c.row(v.v_pages, it.seq, it.kvh, j, &vs));
    if (q8) {
      const auto codes = [](const uint8_t* p) { return reinterpret_cast<const int8_t*>(p); };
      const Q8Run run{codes(k), ks, codes(vv), vs, v.token_stride, q8_lds};
      const Q8Run next{codes(pf_k), pf_ks, codes(pf_v), pf_vs, v.token_stride, q8_lds};
      ops.attn_rows_q8(m, l, o, qp, R, run, run_end - j, Dh, c.d.scale, next, n_ahead);
    } else {
      const AttnPrefetch pf{pf_k, pf_v, n_ahead ? key_stride_bytes(v) : 0, n_ahead};
      ops.attn_rows(m, l, o, qp, R, k, vv, key_stride_bytes(v), run_end - j, Dh, c.d.scale,
                    v.dtype == DType::F16 ? RowKind::F16 : RowKind::F32, pf);
    }
    j = run_end;
  }
}

static void write_rows(const Ctx& c, int64_t s, int64_t kvh, int64_t q0, int64_t R, const float* l, const float* o) {
  const int64_t Dh = c.d.head_dim;
  for (int64_t r = 0; r < R; r++) {
    float* dst = c.out + c.row_offset(s, q0 + r / c.G, r % c.G, kvh);
    const float inv = l[r] > 0.0f ? 1.0f / l[r] : 0.0f;
    for (int64_t e = 0; e < Dh; e++) dst[e] = o[r * Dh + e] * inv;
  }
}

// ---- entry point

void attention(ThreadPool& pool, float* out, const float* q, const AttentionDims& dims,
               const int32_t* cu_seqlens, int n_seqs, const KvView* kv) {
  const Ctx c{out, q, dims, cu_seqlens, kv, dims.n_heads / dims.n_kv_heads};
  const int64_t Dh = dims.head_dim;
  const int64_t q_tile = std::max<int64_t>(1, kTileRows / c.G);

  std::vector<Item> items;
  for (int64_t s = 0; s < n_seqs; s++)
    for (int64_t kvh = 0; kvh < dims.n_kv_heads; kvh++)
      for (int64_t q0 = 0; q0 < c.n_q(s); q0 += q_tile) {
        const int64_t q1 = std::min(c.n_q(s), q0 + q_tile);
        items.push_back({s, kvh, q0, q1, 0, c.pos(s, q1 - 1) + 1, -1});
      }

  // Split-KV when the items cannot keep every thread busy.
  std::vector<Merge> merges;
  int64_t partial_floats = 0;
  const int64_t n_base = (int64_t)items.size();
  if (n_base > 0 && n_base < pool.size()) {
    const int64_t want = (pool.size() + n_base - 1) / n_base;
    std::vector<Item> split;
    for (const Item& it : items) {
      const int64_t n_parts = std::min(want, std::max<int64_t>(1, it.k1 / kMinSplitKeys));
      if (n_parts == 1) {
        split.push_back(it);
        continue;
      }
      const int64_t part_floats = (it.q1 - it.q0) * c.G * (Dh + 2);
      merges.push_back({it.seq, it.kvh, it.q0, it.q1, partial_floats, n_parts});
      for (int64_t p = 0; p < n_parts; p++) {
        Item part = it;
        part.k0 = it.k1 * p / n_parts;
        part.k1 = it.k1 * (p + 1) / n_parts;
        part.partial = partial_floats;
        partial_floats += part_floats;
        split.push_back(part);
      }
    }
    items.swap(split);
  }
  std::stable_sort(items.begin(), items.end(), [](const Item& a, const Item& b) {
    return (a.q1 - a.q0) * (a.k1 - a.k0) > (b.q1 - b.q0) * (b.k1 - b.k0);
  });
  auto partials = scratch_f32(partial_floats);

  parallel_items(pool, (int64_t)items.size(), [&](int64_t i) {
    const Item& it = items[i];
    const int64_t R = (it.q1 - it.q0) * c.G;
    thread_local std::vector<float> buf;
    thread_local std::vector<const float*> ptrs;
    buf.resize((size_t)(R * (Dh + 2) + R * kKeyTile + 2 * kKeyTile * Dh));
    ptrs.resize((size_t)(2 * kKeyTile + R));
    float* m = it.partial >= 0 ? partials.get() + it.partial : buf.data();
    float* l = m + R;
    float* o = l + R;
    float* kv_f32 = buf.data() + R * (Dh + 2) + R * kKeyTile;
    const float** qp = ptrs.data() + 2 * kKeyTile;
    init_rows(R, Dh, m, l, o);
    // Keys every row of the item sees go through the fused run path when the
    // rows are few (decode); the rest (the causal diagonal) through key tiles.
    const int64_t shared_end = R <= kFusedMaxRows ? std::min(it.k1, c.pos(it.seq, it.q0) + 1) : it.k0;
    if (shared_end > it.k0) attention_runs(c, it, it.k0, shared_end, m, l, o, qp);
    const int64_t ja = std::max(it.k0, shared_end);
    if (ja < it.k1)
      attention_tile(c, it, ja, it.k1, m, l, o, buf.data() + R * (Dh + 2), ptrs.data(), ptrs.data() + kKeyTile, qp,
                     kv_f32);
    if (it.partial < 0) write_rows(c, it.seq, it.kvh, it.q0, R, l, o);
  });

  // Merge split parts: M = max m_i; l = sum l_i e^(m_i - M); o = sum o_i e^(m_i - M).
  for (const Merge& mg : merges) {
    const int64_t R = (mg.q1 - mg.q0) * c.G, part_floats = R * (Dh + 2);
    std::vector<float> l(R, 0.0f), o(R * Dh, 0.0f);
    for (int64_t r = 0; r < R; r++) {
      float M = -std::numeric_limits<float>::infinity();
      for (int64_t p = 0; p < mg.n_parts; p++) M = std::max(M, partials[mg.first_part + p * part_floats + r]);
      if (M == -std::numeric_limits<float>::infinity()) continue;
      for (int64_t p = 0; p < mg.n_parts; p++) {
        const float* part = partials.get() + mg.first_part + p * part_floats;  // m [R], l [R], o [R, Dh]
        if (part[R + r] == 0.0f) continue;
        const float f = std::exp(part[r] - M);
        l[r] += part[R + r] * f;
        axpy_f32(o.data() + r * Dh, f, part + 2 * R + r * Dh, Dh);
      }
    }
    write_rows(c, mg.seq, mg.kvh, mg.q0, R, l.data(), o.data());
  }
}

}  // namespace hl::cpu
