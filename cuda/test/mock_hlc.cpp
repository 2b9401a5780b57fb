// cuda/test/mock_hlc.cpp: a host-only stand-in for libhybridlm_cuda, used
// where there is no GPU, in two builds:
// - hybridlm_cuda_test_mock: the kernel test binary linked against it, a
//   self-check of the harness (references, tolerances, cases). Every case
//   should pass except "errors" (the mock validates little); a failure is a
//   bug in the harness, not in the CUDA kernels.
// - libhybridlm_cuda_mock.so: loaded by the addon through HYBRIDLM_CUDA_LIB,
//   it runs the whole CUDA bridge (native/cuda: arena, weight mirror, error
//   and device-lost handling) on the CPU. "Device" memory is host memory
//   from hlc_malloc, and every op checks that its device-pointer arguments
//   lie inside such allocations, so a weight handle the bridge forgot to
//   translate (a host pointer) fails loudly instead of working by accident.
// Environment (for tests): HLC_MOCK_FAULT_AT=N makes the N-th op (1-based)
// fail as a sticky device fault (with HLC_MOCK_FAULT_ASYNC=1 the op itself
// succeeds and the fault surfaces at the next synchronising call, as a
// kernel fault does on a GPU); HLC_MOCK_STATS=<file> writes the call counts
// as JSON at exit. Never shipped.
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "cpu/kernels.h"
#include "hybridlm_cuda.h"

namespace {
thread_local std::string g_err;
hl::ThreadPool& pool() {
  static hl::ThreadPool p(2);
  return p;
}

// ---- "device" allocations and call counts
std::mutex g_mem_mutex;
std::map<uintptr_t, size_t> g_allocs;  // start -> bytes
struct Counts {
  uint64_t mallocs = 0, frees = 0, h2d = 0, h2d_bytes = 0, d2h = 0, copies = 0, ops = 0, launches = 0, syncs = 0,
           live_bytes = 0, peak_bytes = 0;
} g_counts;
std::atomic<bool> g_lost{false};
long g_fault_at = [] {
  const char* e = std::getenv("HLC_MOCK_FAULT_AT");
  return e ? std::atol(e) : 0L;
}();
bool g_fault_async = [] {
  const char* e = std::getenv("HLC_MOCK_FAULT_ASYNC");
  return e && e[0] == '1';
}();
std::atomic<bool> g_fault_pending{false};
std::string g_fault_op;

struct StatsAtExit {
  ~StatsAtExit() {
    const char* path = std::getenv("HLC_MOCK_STATS");
    if (!path) return;
    if (FILE* f = std::fopen(path, "w")) {
      const Counts& c = g_counts;
      std::fprintf(f,
                   "{\"mallocs\":%llu,\"frees\":%llu,\"h2d\":%llu,\"h2d_bytes\":%llu,\"d2h\":%llu,\"ops\":%llu,"
                   "\"launches\":%llu,\"syncs\":%llu,\"peak_bytes\":%llu,\"lost\":%s}\n",
                   (unsigned long long)c.mallocs, (unsigned long long)c.frees, (unsigned long long)c.h2d,
                   (unsigned long long)c.h2d_bytes, (unsigned long long)c.d2h, (unsigned long long)c.ops,
                   (unsigned long long)c.launches,
                   (unsigned long long)c.syncs, (unsigned long long)c.peak_bytes, g_lost ? "true" : "false");
      std::fclose(f);
    }
  }
} g_stats_at_exit;

bool is_device(const void* p) {
  if (!p) return true;  // empty inputs may pass null
  std::lock_guard<std::mutex> lock(g_mem_mutex);
  const uintptr_t a = reinterpret_cast<uintptr_t>(p);
  auto it = g_allocs.upper_bound(a);
  if (it == g_allocs.begin()) return false;
  --it;
  return a < it->first + it->second;
}

int lost() {
  g_err = "mock: device lost (HLC_MOCK_FAULT_AT)";
  return HLC_DEVICE_LOST;
}

// A synchronising call: reports an asynchronous fault queued earlier.
int sync_point() {
  if (g_fault_pending.exchange(false)) {
    g_lost = true;
    g_err = "mock: an illegal address was encountered (injected into " + g_fault_op + ")";
    return HLC_DEVICE_LOST;
  }
  return g_lost ? lost() : HLC_OK;
}

// Starts an op: device alive, fault injection, every listed pointer on the
// "device". Copies (names "memcpy_*", "memset") count as copies, every other
// op as one kernel launch (hlc_counters: the library's launches, at least one per op).
int begin_op(const char* name, std::initializer_list<const void*> ptrs) {
  if (g_lost) return lost();
  const uint64_t n = ++g_counts.ops;
  if (std::strncmp(name, "mem", 3) == 0) g_counts.copies++;
  else g_counts.launches++;
  if (g_fault_at > 0 && (long)n == g_fault_at) {
    g_fault_op = name;
    if (g_fault_async) {
      g_fault_pending = true;  // reported by the next synchronising call
    } else {
      g_lost = true;
      g_err = std::string("mock: injected sticky fault in ") + name;
      return HLC_DEVICE_LOST;
    }
  }
  int i = 0;
  for (const void* p : ptrs) {
    if (!is_device(p)) {
      g_err = std::string("mock: ") + name + ": argument " + std::to_string(i) + " (" +
              std::to_string(reinterpret_cast<uintptr_t>(p)) + ") is not device memory";
      return HLC_INVALID;
    }
    i++;
  }
  return HLC_OK;
}
int check_array(const char* name, float* const* arr, int n) {
  for (int i = 0; i < n; i++)
    if (!is_device(arr[i])) {
      g_err = std::string("mock: ") + name + ": state/page pointer " + std::to_string(i) + " is not device memory";
      return HLC_INVALID;
    }
  return HLC_OK;
}

template <typename F> int guard(F&& f) {
  try {
    f();
    return HLC_OK;
  } catch (const std::exception& e) {
    g_err = e.what();
    return HLC_UNSUPPORTED;
  }
}
// Strided inputs (the *_strided ops): compacted into contiguous rows, then the contiguous op.
std::vector<float> compact(const float* src, int64_t rows, int64_t stride, int64_t width) {
  std::vector<float> out((size_t)(rows * width));
  for (int64_t r = 0; r < rows; r++)
    std::memcpy(out.data() + r * width, src + r * (stride ? stride : width), sizeof(float) * width);
  return out;
}
}  // namespace

#define BEGIN(name, ...)                         \
  do {                                           \
    int st_ = begin_op(name, {__VA_ARGS__});     \
    if (st_ != HLC_OK) return st_;               \
  } while (0)
#define TRY(expr)                                \
  do {                                           \
    int st_ = (expr);                            \
    if (st_ != HLC_OK) return st_;               \
  } while (0)

extern "C" {
int hlc_abi_version(void) { return HLC_ABI_VERSION; }
const char* hlc_last_error(void) { return g_err.c_str(); }
int hlc_device_count(int* c) { *c = 1; return 0; }
int hlc_device_info(int, struct hlc_device_info* o) {
  std::memset(o, 0, sizeof *o);
  std::strcpy(o->name, "host mock (no GPU)");
  o->major = 9;
  return 0;
}
int hlc_set_device(int) { return g_lost ? lost() : 0; }
int hlc_malloc(void** p, size_t n) {
  if (g_lost) return lost();
  *p = std::malloc(n ? n : 1);
  if (!*p) return HLC_OUT_OF_MEMORY;
  std::lock_guard<std::mutex> lock(g_mem_mutex);
  g_allocs[reinterpret_cast<uintptr_t>(*p)] = n ? n : 1;
  g_counts.mallocs++;
  g_counts.live_bytes += n;
  if (g_counts.live_bytes > g_counts.peak_bytes) g_counts.peak_bytes = g_counts.live_bytes;
  return 0;
}
int hlc_free(void* p) {
  if (!p) return 0;
  std::lock_guard<std::mutex> lock(g_mem_mutex);
  auto it = g_allocs.find(reinterpret_cast<uintptr_t>(p));
  if (it == g_allocs.end()) {
    g_err = "mock: hlc_free of a pointer hlc_malloc did not return";
    return HLC_INVALID;
  }
  g_counts.live_bytes -= it->second;
  g_allocs.erase(it);
  g_counts.frees++;
  std::free(p);
  return 0;
}
int hlc_memcpy_h2d(void* d, const void* s, size_t n) {
  BEGIN("memcpy_h2d", d);
  g_counts.h2d++;
  g_counts.h2d_bytes += n;
  std::memcpy(d, s, n);
  return 0;
}
int hlc_memcpy_d2h(void* d, const void* s, size_t n) {
  if (int st = sync_point()) return st;
  BEGIN("memcpy_d2h", s);
  g_counts.d2h++;
  std::memcpy(d, s, n);
  return 0;
}
int hlc_memcpy_d2d(void* d, const void* s, size_t n) {
  BEGIN("memcpy_d2d", d, s);
  std::memmove(d, s, n);
  return 0;
}
int hlc_memset(void* d, int v, size_t n) {
  BEGIN("memset", d);
  std::memset(d, v, n);
  return 0;
}
int hlc_synchronize(void) {
  g_counts.syncs++;
  return sync_point();
}
int hlc_supports_dtype(int32_t) { return 1; }
int hlc_use_tensor_cores(int) { g_err = "mock"; return HLC_UNSUPPORTED; }
int hlc_tensor_cores_active(void) { return 0; }
int hlc_device_lost(void) { return g_lost ? 1 : 0; }
int hlc_counters(uint64_t* launches, uint64_t* copies) {
  if (launches) *launches = g_counts.launches;
  if (copies) *copies = g_counts.copies;
  return 0;
}

int hlc_rmsnorm(float* y, const float* x, const float* w, int64_t T, int64_t dim, float eps) {
  if (dim <= 0) { g_err = "dim"; return HLC_INVALID; }
  BEGIN("rmsnorm", y, x, w);
  return guard([&] { hl::cpu::rmsnorm(pool(), y, x, w, T, dim, eps); });
}
int hlc_add_rmsnorm(float* h, float* u, const float* branch, float alpha, const float* w, int64_t T, int64_t dim,
                    float eps) {
  if (dim <= 0) { g_err = "dim"; return HLC_INVALID; }
  BEGIN("add_rmsnorm", h, u, branch, w);
  return guard([&] { hl::cpu::add_rmsnorm(pool(), h, u, branch, alpha, w, T, dim, eps); });
}
int hlc_gated_rmsnorm(float* y, const float* x, const float* z, const float* w, int64_t T, int64_t dim, int64_t G,
                      float eps) {
  BEGIN("gated_rmsnorm", y, x, z, w);
  return guard([&] { hl::cpu::gated_rmsnorm(pool(), y, x, z, w, T, dim, G, eps); });
}
int hlc_conv1d_causal_prefill(float* out, const float* in, const float* w, const float* b, int64_t C, int K,
                              const int32_t* cu, int S, float* const* st) {
  BEGIN("conv1d_causal_prefill", out, in, w, b);
  TRY(check_array("conv1d_causal_prefill", st, S));
  return guard([&] { hl::cpu::conv1d_causal_prefill(pool(), out, in, w, b, C, K, cu, S, st); });
}
int hlc_conv1d_causal_step(float* out, const float* in, const float* w, const float* b, int64_t C, int K, int S,
                           float* const* st) {
  BEGIN("conv1d_causal_step", out, in, w, b);
  TRY(check_array("conv1d_causal_step", st, S));
  return guard([&] { hl::cpu::conv1d_causal_step(pool(), out, in, w, b, C, K, S, st); });
}
int hlc_ssm_scan(float* y, const float* x, const float* dt, const float* A, const float* B, const float* C,
                 const float* D, const float* bias, const hl::SsmDims* d, const int32_t* cu, int S,
                 float* const* st, int chunk) {
  if (d->n_heads % d->n_groups) { g_err = "H % G"; return HLC_INVALID; }
  BEGIN("ssm_scan", y, x, dt, A, B, C, D, bias);
  TRY(check_array("ssm_scan", st, S));
  return guard([&] { hl::cpu::ssm_scan(pool(), y, x, dt, A, B, C, D, bias, *d, cu, S, st, chunk); });
}
int hlc_ssm_step(float* y, const float* x, const float* dt, const float* A, const float* B, const float* C,
                 const float* D, const float* bias, const hl::SsmDims* d, int S, float* const* st) {
  BEGIN("ssm_step", y, x, dt, A, B, C, D, bias);
  TRY(check_array("ssm_step", st, S));
  return guard([&] { hl::cpu::ssm_step(pool(), y, x, dt, A, B, C, D, bias, *d, S, st); });
}
int hlc_attention(float* out, const float* q, const hl::AttentionDims* d, const int32_t* cu, int S,
                  const hl::KvView* kv) {
  if (d->n_heads % d->n_kv_heads) { g_err = "Hq % Hkv"; return HLC_INVALID; }
  BEGIN("attention", out, q);
  for (int s = 0; s < S; s++) {
    const int64_t n_pages = (kv[s].n_ctx + kv[s].page_size - 1) / kv[s].page_size;
    TRY(check_array("attention k", const_cast<float* const*>(kv[s].k_pages), (int)n_pages));
    TRY(check_array("attention v", const_cast<float* const*>(kv[s].v_pages), (int)n_pages));
  }
  return guard([&] { hl::cpu::attention(pool(), out, q, *d, cu, S, kv); });
}
int hlc_matmul(float* y, const float* x, int64_t T, const hl::WeightView* w) {
  if ((int)w->dtype == 9) { g_err = "dtype 9"; return HLC_UNSUPPORTED; }
  BEGIN("matmul", y, x, w->data);
  return guard([&] { hl::cpu::matmul(pool(), y, x, T, *w); });
}
int hlc_embed(float* out, const hl::WeightView* w, const int32_t* ids, int64_t T, float scale) {
  BEGIN("embed", out, w->data, ids);
  return guard([&] { hl::cpu::embed(pool(), out, *w, ids, T, scale); });
}
int hlc_swiglu(float* out, const float* g, const float* u, int64_t T, int64_t n) {
  BEGIN("swiglu", out, g, u);
  return guard([&] { hl::cpu::swiglu(pool(), out, g, u, T, n); });
}
int hlc_moe_route(int32_t* ids, float* w, const float* lg, int64_t T, int64_t E, int64_t k) {
  BEGIN("moe_route", ids, w, lg);
  return guard([&] { hl::cpu::moe_route(pool(), ids, w, lg, T, E, k); });
}
int hlc_moe_forward(float* out, const float* x, const int32_t* ids, const float* w, int64_t T, int64_t k,
                    const hl::MoeWeights* mw) {
  BEGIN("moe_forward", out, x, ids, w, mw->gate.data, mw->up.data, mw->down.data);
  return guard([&] { hl::cpu::moe_forward(pool(), out, x, ids, w, T, k, *mw); });
}
int hlc_copy_columns(float* dst, const float* src, int64_t rows, int64_t stride, int64_t col, int64_t width) {
  BEGIN("copy_columns", dst, src);
  for (int64_t r = 0; r < rows; r++) std::memcpy(dst + r * width, src + r * stride + col, sizeof(float) * width);
  return 0;
}
int hlc_gather_rows(float* dst, const float* src, const int64_t* rows, int64_t n, int64_t width) {
  BEGIN("gather_rows", dst, src);
  for (int64_t i = 0; i < n; i++) std::memcpy(dst + i * width, src + rows[i] * width, sizeof(float) * width);
  return 0;
}
int hlc_add_scaled(float* y, const float* x, float alpha, int64_t n) {
  BEGIN("add_scaled", y, x);
  for (int64_t i = 0; i < n; i++) y[i] += alpha * x[i];
  return 0;
}
int hlc_kv_write(float* const* pages, int64_t n_pages, int64_t page_size, const float* src, int64_t pos0, int64_t n,
                 int64_t n_kv, int64_t head_dim) {
  BEGIN("kv_write", src);
  TRY(check_array("kv_write", pages, (int)n_pages));
  for (int64_t t = 0; t < n; t++) {
    const int64_t p = pos0 + t;
    for (int64_t h = 0; h < n_kv; h++)
      std::memcpy(pages[p / page_size] + (h * page_size + p % page_size) * head_dim, src + (t * n_kv + h) * head_dim,
                  sizeof(float) * head_dim);
  }
  return 0;
}
int hlc_argmax_scaled(const float* lg, int32_t* out, int64_t rows, int64_t vocab, float divisor) {
  if (vocab <= 0 || divisor == 0.0f || divisor != divisor) { g_err = "argmax_scaled shape"; return HLC_INVALID; }
  BEGIN("argmax", lg, out);
  return guard([&] { hl::cpu::argmax_rows(pool(), out, lg, rows, vocab, divisor); });
}
int hlc_argmax(const float* lg, int32_t* out, int64_t rows, int64_t vocab) {
  BEGIN("argmax", lg, out);
  for (int64_t r = 0; r < rows; r++) {
    int64_t best = -1;
    for (int64_t v = 0; v < vocab; v++) {
      const float x = lg[r * vocab + v];
      if (x != x) continue;
      if (best < 0 || x > lg[r * vocab + best]) best = v;
    }
    out[r] = (int32_t)(best < 0 ? 0 : best);
  }
  return 0;
}
int hlc_kv_write_typed(float* const* pages, int64_t n_pages, int64_t page_size, const float* src, int64_t pos0,
                       int64_t n, int64_t n_kv, int64_t head_dim, int32_t dtype) {
  if (dtype == 0) return hlc_kv_write(pages, n_pages, page_size, src, pos0, n, n_kv, head_dim);
  if (dtype != 1) { g_err = "kv dtype"; return HLC_UNSUPPORTED; }
  BEGIN("kv_write", src);
  TRY(check_array("kv_write", pages, (int)n_pages));
  for (int64_t t = 0; t < n; t++) {
    const int64_t p = pos0 + t;
    for (int64_t h = 0; h < n_kv; h++)
      for (int64_t d = 0; d < head_dim; d++)
        reinterpret_cast<uint16_t*>(pages[p / page_size])[(h * page_size + p % page_size) * head_dim + d] =
            hl::f32_to_f16(src[(t * n_kv + h) * head_dim + d]);
  }
  return 0;
}
int hlc_gated_rmsnorm_strided(float* y, const float* x, const float* z, const float* w, int64_t T, int64_t dim,
                              int64_t G, float eps, int64_t z_stride) {
  BEGIN("gated_rmsnorm", y, x, z, w);
  auto zc = compact(z, T, z_stride, dim);
  return guard([&] { hl::cpu::gated_rmsnorm(pool(), y, x, zc.data(), w, T, dim, G, eps); });
}
int hlc_conv1d_causal_prefill_strided(float* out, const float* in, const float* w, const float* b, int64_t C, int K,
                                      const int32_t* cu, int S, float* const* st, int64_t in_stride) {
  BEGIN("conv1d_causal_prefill", out, in, w, b);
  TRY(check_array("conv1d_causal_prefill", st, S));
  auto ic = compact(in, cu[S], in_stride, C);
  return guard([&] { hl::cpu::conv1d_causal_prefill(pool(), out, ic.data(), w, b, C, K, cu, S, st); });
}
int hlc_conv1d_causal_step_strided(float* out, const float* in, const float* w, const float* b, int64_t C, int K,
                                   int S, float* const* st, int64_t in_stride) {
  BEGIN("conv1d_causal_step", out, in, w, b);
  TRY(check_array("conv1d_causal_step", st, S));
  auto ic = compact(in, S, in_stride, C);
  return guard([&] { hl::cpu::conv1d_causal_step(pool(), out, ic.data(), w, b, C, K, S, st); });
}
int hlc_ssm_scan_strided(float* y, const float* x, const float* dt, const float* A, const float* B, const float* C,
                         const float* D, const float* bias, const hl::SsmDims* d, const int32_t* cu, int S,
                         float* const* st, int chunk, int64_t xs, int64_t dts, int64_t bcs) {
  if (d->n_heads % d->n_groups) { g_err = "H % G"; return HLC_INVALID; }
  BEGIN("ssm_scan", y, x, dt, A, B, C, D, bias);
  TRY(check_array("ssm_scan", st, S));
  const int64_t T = cu[S], GN = d->n_groups * d->d_state;
  auto xc = compact(x, T, xs, d->n_heads * d->head_dim), dc = compact(dt, T, dts, d->n_heads),
       bc = compact(B, T, bcs, GN), cc = compact(C, T, bcs, GN);
  return guard([&] {
    hl::cpu::ssm_scan(pool(), y, xc.data(), dc.data(), A, bc.data(), cc.data(), D, bias, *d, cu, S, st, chunk);
  });
}
int hlc_ssm_step_strided(float* y, const float* x, const float* dt, const float* A, const float* B, const float* C,
                         const float* D, const float* bias, const hl::SsmDims* d, int S, float* const* st, int64_t xs,
                         int64_t dts, int64_t bcs) {
  BEGIN("ssm_step", y, x, dt, A, B, C, D, bias);
  TRY(check_array("ssm_step", st, S));
  const int64_t GN = d->n_groups * d->d_state;
  auto xc = compact(x, S, xs, d->n_heads * d->head_dim), dc = compact(dt, S, dts, d->n_heads),
       bc = compact(B, S, bcs, GN), cc = compact(C, S, bcs, GN);
  return guard([&] {
    hl::cpu::ssm_step(pool(), y, xc.data(), dc.data(), A, bc.data(), cc.data(), D, bias, *d, S, st);
  });
}
int hlc_matmul_multi(float* const* ys, const float* x, int64_t T, const hl::WeightView* ws, int n) {
  for (int i = 0; i < n; i++) TRY(hlc_matmul(ys[i], x, T, &ws[i]));
  return 0;
}
// f16 pages: widened into f32 copies, then the CPU twin.
int hlc_attention_kv(float* out, const float* q, const hl::AttentionDims* d, const int32_t* cu, int S,
                     const hl::KvView* kv, int32_t dtype) {
  if (dtype == 0) return hlc_attention(out, q, d, cu, S, kv);
  if (dtype != 1) { g_err = "kv dtype"; return HLC_UNSUPPORTED; }
  std::vector<std::vector<float>> store;
  std::vector<std::vector<const float*>> kp(S), vp(S);
  std::vector<hl::KvView> views(kv, kv + S);
  for (int s = 0; s < S; s++) {
    const int64_t n_pages = (kv[s].n_ctx + kv[s].page_size - 1) / kv[s].page_size;
    const int64_t elems = (d->n_kv_heads - 1) * kv[s].head_stride + (kv[s].page_size - 1) * kv[s].token_stride + d->head_dim;
    for (int64_t p = 0; p < n_pages; p++)
      for (int which = 0; which < 2; which++) {
        const uint16_t* src = reinterpret_cast<const uint16_t*>((which ? kv[s].v_pages : kv[s].k_pages)[p]);
        if (!is_device(src)) { g_err = "mock: attention page is not device memory"; return HLC_INVALID; }
        store.emplace_back(elems);
        for (int64_t i = 0; i < elems; i++) store.back()[i] = hl::f16_to_f32(src[i]);
        (which ? vp[s] : kp[s]).push_back(store.back().data());
      }
    views[s].k_pages = kp[s].data();
    views[s].v_pages = vp[s].data();
    views[s].dtype = hl::DType::F32;  // the widened copies
  }
  BEGIN("attention", out, q);
  return guard([&] { hl::cpu::attention(pool(), out, q, *d, cu, S, views.data()); });
}
}  // extern "C"
