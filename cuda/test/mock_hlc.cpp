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
// Environment (for tests): HLC_MOCK_MALLOC_FAIL_SIZE=B fails every allocation
// of exactly B bytes with HLC_OUT_OF_MEMORY (no room for that buffer); HLC_MOCK_FAULT_AT=N makes the N-th op (1-based)
// fail as a sticky device fault (with HLC_MOCK_FAULT_ASYNC=1 the op itself
// succeeds and the fault surfaces at the next synchronising call, as a
// kernel fault does on a GPU); HLC_MOCK_STATS=<file> writes the call counts
// as JSON at exit. Never shipped.
// Graph steps (hlc_graph_*) are emulated as a CUDA graph behaves: at capture
// each op is recorded, not run, as a closure over the values the real library
// freezes into its launches (scalars, device pointers, the layout of its
// argument image) plus its host arguments as bytes (the argument image: page
// tables, KV positions, state pointers, cu_seqlens, row lists); at replay each
// op only replaces its image and must match the recorded frozen values (else
// the step is refused); launching runs every recorded closure over the
// current images and current memory, so a per-step value that reached an op
// as a frozen value is stale at replay. Ops read "device" memory only when
// they run. HLC_MOCK_GRAPH_FAIL_CAPTURE=N makes the N-th capture fail;
// HLC_MOCK_GRAPH_UNCHECKED=1 skips the frozen-value check and
// HLC_MOCK_GRAPH_FREEZE_KV_POS=1 freezes kv_write's position (together: a
// deliberately wrong design, which the tests must catch).
#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <type_traits>
#include <stdexcept>
#include <vector>

#include "cpu/kernels.h"
#include "graph_plan.h"
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

bool in_graph_step();

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
  else if (!in_graph_step()) g_counts.launches++;  // inside a step: the graph launch counts
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

// ---- graph steps (see the top of the file)
enum GraphMode { kEager = 0, kCapture = 1, kReplay = 2 };
struct Recorded {
  const char* name;
  std::string frozen;                   // what a real graph bakes into the op's launches
  std::vector<char> image;              // the op's host arguments (uploaded every step)
  std::function<int(const char*)> run;  // holds the frozen values; reads the image
};
struct Graph {
  std::vector<Recorded> ops;
};
GraphMode g_mode = kEager;
int64_t g_key = 0;
std::map<int64_t, Graph> g_graphs;
Graph g_capturing;
size_t g_replay_pos = 0;
std::string g_refusal;
std::vector<std::function<void()>> g_hoisted;  // copies issued inside a step: run before its ops
uint64_t g_captures = 0, g_replays = 0, g_refused = 0, g_capture_attempts = 0;
bool env_on(const char* name) {
  const char* e = std::getenv(name);
  return e && e[0] == '1';
}
const long g_fail_capture = [] {
  const char* e = std::getenv("HLC_MOCK_GRAPH_FAIL_CAPTURE");
  return e ? std::atol(e) : 0L;
}();
const bool g_unchecked = env_on("HLC_MOCK_GRAPH_UNCHECKED");
const bool g_freeze_kv_pos = env_on("HLC_MOCK_GRAPH_FREEZE_KV_POS");
bool in_graph_step() { return g_mode != kEager; }

// Frozen values as bytes, field by field (no padding bytes).
struct Frozen {
  std::string b;
  template <typename T> Frozen& operator<<(const T& v) {
    static_assert(std::is_trivially_copyable<T>::value, "plain values only");
    b.append(reinterpret_cast<const char*>(&v), sizeof v);
    return *this;
  }
  Frozen& view(const hl::WeightView& w) { return *this << w.data << w.dtype << w.rows << w.cols << w.row_bytes; }
};
// Host arguments, copied; put() returns the offset of the copy.
struct Image {
  std::vector<char> b;
  size_t put(const void* p, size_t n, size_t reserve = 0) {
    // A negative count turned into a size_t would be a caller bug: refuse it
    // (the bound also tells the compiler the copy below is sane).
    if (n > (size_t(1) << 40) || reserve > (size_t(1) << 40)) throw std::length_error("mock: argument image too large");
    const size_t off = b.size();
    b.resize(off + (std::max(n, reserve) + 7) / 8 * 8);
    if (n) std::memcpy(b.data() + off, p, n);
    return off;
  }
};

// Runs an op now (outside a step), records it (capture), or replaces its
// recorded image after checking its frozen values (replay).
int issue(const char* name, const Frozen& frozen, Image image, std::function<int(const char*)> run) {
  if (g_mode == kEager) return run(image.b.data());
  if (g_mode == kCapture) {
    g_capturing.ops.push_back({name, frozen.b, std::move(image.b), std::move(run)});
    return HLC_OK;
  }
  if (!g_refusal.empty()) return HLC_OK;
  Graph& g = g_graphs[g_key];
  if (g_replay_pos >= g.ops.size()) {
    g_refusal = std::string("mock: the step issued more ops than the graph holds (") + name + ")";
    return HLC_OK;
  }
  Recorded& r = g.ops[g_replay_pos++];
  if (std::strcmp(r.name, name) != 0 || (!g_unchecked && r.frozen != frozen.b)) {
    g_refusal = "mock: op " + std::to_string(g_replay_pos - 1) + " (" + name + ") differs from the captured one (" +
                r.name + ")";
    return HLC_OK;
  }
  r.image = std::move(image.b);
  return HLC_OK;
}
// A copy inside a step runs before the step's ops (hoisted), as in the library.
int copy_op(std::function<void()> f) {
  if (!in_graph_step()) f();
  else g_hoisted.push_back(std::move(f));
  return HLC_OK;
}
void run_hoisted() {
  for (auto& f : g_hoisted) f();
  g_hoisted.clear();
}
int launch(Graph& g) {
  g_counts.launches++;  // the graph
  g_counts.copies++;    // its argument area
  for (Recorded& r : g.ops) {
    const int st = r.run(r.image.data());
    if (st != HLC_OK) return st;
  }
  return HLC_OK;
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

namespace {
// Attention's host arguments as the library's image lays them out: cu_seqlens,
// the per-sequence views, then the flattened k and v page tables, each reserved
// at hlc::GraphTableRoom entries (the frozen layout changes only when the
// pages of the step pass a power of two).
struct AttnImage {
  size_t cu, views, kp, vp;
  int64_t cap;
};
AttnImage put_attention(Image& im, const int32_t* cu, int S, const hl::KvView* kv) {
  AttnImage a{};
  a.cu = im.put(cu, sizeof(int32_t) * (S + 1));
  a.views = im.put(kv, sizeof(hl::KvView) * S);
  std::vector<const float*> kp, vp;
  for (int s = 0; s < S; s++) {
    const int64_t n_pages = kv[s].page_size > 0 ? (kv[s].n_ctx + kv[s].page_size - 1) / kv[s].page_size : 0;
    kp.insert(kp.end(), kv[s].k_pages, kv[s].k_pages + n_pages);
    vp.insert(vp.end(), kv[s].v_pages, kv[s].v_pages + n_pages);
  }
  static hlc::GraphTableRoom room;
  a.cap = in_graph_step() ? room((int64_t)kp.size()) : (int64_t)kp.size();
  a.kp = im.put(kp.data(), sizeof(float*) * kp.size(), sizeof(float*) * a.cap);
  a.vp = im.put(vp.data(), sizeof(float*) * vp.size(), sizeof(float*) * a.cap);
  return a;
}
// The views of an attention image with their page pointers into the image; f16
// pages widened into f32 copies kept in `store`.
int views_of(const char* img, const AttnImage& a, int S, const hl::AttentionDims* d, int32_t dtype,
             std::vector<hl::KvView>& views, std::vector<std::vector<const float*>>& tables,
             std::vector<std::vector<float>>& store) {
  const hl::KvView* kv = reinterpret_cast<const hl::KvView*>(img + a.views);
  const float* const* kp = reinterpret_cast<const float* const*>(img + a.kp);
  const float* const* vp = reinterpret_cast<const float* const*>(img + a.vp);
  views.assign(kv, kv + S);
  tables.assign(2 * S, {});
  int64_t off = 0;
  for (int s = 0; s < S; s++) {
    const int64_t n_pages = kv[s].page_size > 0 ? (kv[s].n_ctx + kv[s].page_size - 1) / kv[s].page_size : 0;
    for (int which = 0; which < 2; which++) {
      std::vector<const float*>& t = tables[2 * s + which];
      for (int64_t p = 0; p < n_pages; p++) {
        const float* page = (which ? vp : kp)[off + p];
        if (!is_device(page)) {
          g_err = "mock: attention page is not device memory";
          return HLC_INVALID;
        }
        if (dtype == 1) {
          const int64_t elems = (d->n_kv_heads - 1) * kv[s].head_stride + (kv[s].page_size - 1) * kv[s].token_stride +
                                d->head_dim;
          const uint16_t* src = reinterpret_cast<const uint16_t*>(page);
          store.emplace_back(elems);
          for (int64_t i = 0; i < elems; i++) store.back()[i] = hl::f16_to_f32(src[i]);
          page = store.back().data();
        }
        t.push_back(page);
      }
    }
    views[s].k_pages = tables[2 * s].data();
    views[s].v_pages = tables[2 * s + 1].data();
    if (dtype == 1) views[s].dtype = hl::DType::F32;  // the widened copies
    off += n_pages;
  }
  return HLC_OK;
}
}  // namespace

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
  static const size_t fail_size = [] {
    const char* e = std::getenv("HLC_MOCK_MALLOC_FAIL_SIZE");
    return e ? (size_t)std::strtoull(e, nullptr, 10) : 0;
  }();
  if (fail_size && n == fail_size) {
    *p = nullptr;
    g_err = "mock: out of device memory for " + std::to_string(n) + " bytes (HLC_MOCK_MALLOC_FAIL_SIZE)";
    return HLC_OUT_OF_MEMORY;
  }
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
// Inside a graph step the source is copied at the call (the caller may reuse it).
int hlc_memcpy_h2d(void* d, const void* s, size_t n) {
  BEGIN("memcpy_h2d", d);
  g_counts.h2d++;
  g_counts.h2d_bytes += n;
  std::vector<char> src(static_cast<const char*>(s), static_cast<const char*>(s) + n);
  return copy_op([d, src] { std::memcpy(d, src.data(), src.size()); });
}
int hlc_memcpy_d2h(void* d, const void* s, size_t n) {
  if (in_graph_step()) { g_err = "mock: hlc_memcpy_d2h inside a graph step"; return HLC_INVALID; }
  if (int st = sync_point()) return st;
  BEGIN("memcpy_d2h", s);
  g_counts.d2h++;
  std::memcpy(d, s, n);
  return 0;
}
int hlc_memcpy_d2d(void* d, const void* s, size_t n) {
  BEGIN("memcpy_d2d", d, s);
  return copy_op([=] { std::memmove(d, s, n); });
}
int hlc_memset(void* d, int v, size_t n) {
  BEGIN("memset", d);
  return copy_op([=] { std::memset(d, v, n); });
}
int hlc_synchronize(void) {
  if (in_graph_step()) { g_err = "mock: hlc_synchronize inside a graph step"; return HLC_INVALID; }
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

int hlc_graph_begin(int64_t key, int* mode) {
  if (g_lost) return lost();
  if (!mode || key <= 0) { g_err = "mock: hlc_graph_begin: bad key or null mode"; return HLC_INVALID; }
  if (in_graph_step()) { g_err = "mock: hlc_graph_begin inside a graph step"; return HLC_INVALID; }
  g_key = key;
  g_refusal.clear();
  g_replay_pos = 0;
  g_capturing = Graph{};
  g_mode = g_graphs.count(key) ? kReplay : kCapture;
  *mode = g_mode;
  return HLC_OK;
}
int hlc_graph_end(int* ran) {
  if (!ran || !in_graph_step()) { g_err = "mock: hlc_graph_end without hlc_graph_begin"; return HLC_INVALID; }
  const GraphMode mode = g_mode;
  g_mode = kEager;
  *ran = 0;
  run_hoisted();
  if (g_lost) return lost();
  if (mode == kCapture) {
    if (++g_capture_attempts == (uint64_t)g_fail_capture) {
      g_refused++;
      g_err = "mock: injected capture failure (HLC_MOCK_GRAPH_FAIL_CAPTURE)";
      return HLC_OK;
    }
    Graph& g = g_graphs[g_key] = std::move(g_capturing);
    g_captures++;
    *ran = 2;
    return launch(g);
  }
  Graph& g = g_graphs[g_key];
  if (g_refusal.empty() && g_replay_pos != g.ops.size())
    g_refusal = "mock: the step issued " + std::to_string(g_replay_pos) + " ops, the graph holds " +
                std::to_string(g.ops.size());
  if (!g_refusal.empty()) {
    g_graphs.erase(g_key);
    g_refused++;
    g_err = g_refusal;
    return HLC_OK;
  }
  g_replays++;
  *ran = 1;
  return launch(g);
}
int hlc_graph_abort(void) {
  if (!in_graph_step()) return HLC_OK;
  g_mode = kEager;
  run_hoisted();
  g_capturing = Graph{};
  return HLC_OK;
}
int hlc_graph_drop(int64_t key) {
  if (key < 0) g_graphs.clear();
  else g_graphs.erase(key);
  return HLC_OK;
}
int hlc_graph_counters(uint64_t* captures, uint64_t* replays, uint64_t* refused) {
  if (captures) *captures = g_captures;
  if (replays) *replays = g_replays;
  if (refused) *refused = g_refused;
  return HLC_OK;
}

int hlc_rmsnorm(float* y, const float* x, const float* w, int64_t T, int64_t dim, float eps) {
  if (dim <= 0) { g_err = "dim"; return HLC_INVALID; }
  BEGIN("rmsnorm", y, x, w);
  return issue("rmsnorm", Frozen() << y << x << w << T << dim << eps, Image(),
               [=](const char*) -> int { return guard([&] { hl::cpu::rmsnorm(pool(), y, x, w, T, dim, eps); }); });
}
int hlc_add_rmsnorm(float* h, float* u, const float* branch, float alpha, const float* w, int64_t T, int64_t dim,
                    float eps) {
  if (dim <= 0) { g_err = "dim"; return HLC_INVALID; }
  BEGIN("add_rmsnorm", h, u, branch, w);
  return issue("add_rmsnorm", Frozen() << h << u << branch << alpha << w << T << dim << eps, Image(),
               [=](const char*) -> int {
                 return guard([&] { hl::cpu::add_rmsnorm(pool(), h, u, branch, alpha, w, T, dim, eps); });
               });
}
int hlc_gated_rmsnorm_strided(float* y, const float* x, const float* z, const float* w, int64_t T, int64_t dim,
                              int64_t G, float eps, int64_t z_stride) {
  BEGIN("gated_rmsnorm", y, x, z, w);
  return issue("gated_rmsnorm", Frozen() << y << x << z << w << T << dim << G << eps << z_stride, Image(),
               [=](const char*) -> int {
                 auto zc = compact(z, T, z_stride, dim);
                 return guard([&] { hl::cpu::gated_rmsnorm(pool(), y, x, zc.data(), w, T, dim, G, eps); });
               });
}
int hlc_gated_rmsnorm(float* y, const float* x, const float* z, const float* w, int64_t T, int64_t dim, int64_t G,
                      float eps) {
  return hlc_gated_rmsnorm_strided(y, x, z, w, T, dim, G, eps, 0);
}
int hlc_conv1d_causal_prefill_strided(float* out, const float* in, const float* w, const float* b, int64_t C, int K,
                                      const int32_t* cu, int S, float* const* st, int64_t in_stride) {
  BEGIN("conv1d_causal_prefill", out, in, w, b);
  TRY(check_array("conv1d_causal_prefill", st, S));
  Image im;
  const size_t i_cu = im.put(cu, sizeof(int32_t) * (S + 1)), i_st = im.put(st, sizeof(float*) * S);
  return issue("conv1d_causal_prefill", Frozen() << out << in << w << b << C << K << S << in_stride << i_st,
               std::move(im), [=](const char* img) -> int {
                 const int32_t* c = reinterpret_cast<const int32_t*>(img + i_cu);
                 float* const* s = reinterpret_cast<float* const*>(img + i_st);
                 TRY(check_array("conv1d_causal_prefill", s, S));
                 auto ic = compact(in, c[S], in_stride, C);
                 return guard([&] { hl::cpu::conv1d_causal_prefill(pool(), out, ic.data(), w, b, C, K, c, S, s); });
               });
}
int hlc_conv1d_causal_prefill(float* out, const float* in, const float* w, const float* b, int64_t C, int K,
                              const int32_t* cu, int S, float* const* st) {
  return hlc_conv1d_causal_prefill_strided(out, in, w, b, C, K, cu, S, st, 0);
}
int hlc_conv1d_causal_step_strided(float* out, const float* in, const float* w, const float* b, int64_t C, int K,
                                   int S, float* const* st, int64_t in_stride) {
  BEGIN("conv1d_causal_step", out, in, w, b);
  TRY(check_array("conv1d_causal_step", st, S));
  Image im;
  const size_t i_st = im.put(st, sizeof(float*) * S);
  return issue("conv1d_causal_step", Frozen() << out << in << w << b << C << K << S << in_stride, std::move(im),
               [=](const char* img) -> int {
                 float* const* s = reinterpret_cast<float* const*>(img + i_st);
                 TRY(check_array("conv1d_causal_step", s, S));
                 auto ic = compact(in, S, in_stride, C);
                 return guard([&] { hl::cpu::conv1d_causal_step(pool(), out, ic.data(), w, b, C, K, S, s); });
               });
}
int hlc_conv1d_causal_step(float* out, const float* in, const float* w, const float* b, int64_t C, int K, int S,
                           float* const* st) {
  return hlc_conv1d_causal_step_strided(out, in, w, b, C, K, S, st, 0);
}
int hlc_ssm_scan_strided(float* y, const float* x, const float* dt, const float* A, const float* B, const float* C,
                         const float* D, const float* bias, const hl::SsmDims* d, const int32_t* cu, int S,
                         float* const* st, int chunk, int64_t xs, int64_t dts, int64_t bcs) {
  if (d->n_heads % d->n_groups) { g_err = "H % G"; return HLC_INVALID; }
  BEGIN("ssm_scan", y, x, dt, A, B, C, D, bias);
  TRY(check_array("ssm_scan", st, S));
  Image im;
  const size_t i_cu = im.put(cu, sizeof(int32_t) * (S + 1)), i_st = im.put(st, sizeof(float*) * S);
  const hl::SsmDims dims = *d;
  return issue("ssm_scan",
               Frozen() << y << x << dt << A << B << C << D << bias << dims << S << chunk << xs << dts << bcs << i_st,
               std::move(im), [=](const char* img) -> int {
                 const int32_t* c = reinterpret_cast<const int32_t*>(img + i_cu);
                 float* const* s = reinterpret_cast<float* const*>(img + i_st);
                 TRY(check_array("ssm_scan", s, S));
                 const int64_t T = c[S], GN = dims.n_groups * dims.d_state;
                 auto xc = compact(x, T, xs, dims.n_heads * dims.head_dim), dc = compact(dt, T, dts, dims.n_heads),
                      bc = compact(B, T, bcs, GN), cc = compact(C, T, bcs, GN);
                 return guard([&] {
                   hl::cpu::ssm_scan(pool(), y, xc.data(), dc.data(), A, bc.data(), cc.data(), D, bias, dims, c, S, s,
                                     chunk);
                 });
               });
}
int hlc_ssm_scan(float* y, const float* x, const float* dt, const float* A, const float* B, const float* C,
                 const float* D, const float* bias, const hl::SsmDims* d, const int32_t* cu, int S,
                 float* const* st, int chunk) {
  return hlc_ssm_scan_strided(y, x, dt, A, B, C, D, bias, d, cu, S, st, chunk, 0, 0, 0);
}
int hlc_ssm_step_strided(float* y, const float* x, const float* dt, const float* A, const float* B, const float* C,
                         const float* D, const float* bias, const hl::SsmDims* d, int S, float* const* st, int64_t xs,
                         int64_t dts, int64_t bcs) {
  BEGIN("ssm_step", y, x, dt, A, B, C, D, bias);
  TRY(check_array("ssm_step", st, S));
  Image im;
  const size_t i_st = im.put(st, sizeof(float*) * S);
  const hl::SsmDims dims = *d;
  return issue("ssm_step", Frozen() << y << x << dt << A << B << C << D << bias << dims << S << xs << dts << bcs,
               std::move(im), [=](const char* img) -> int {
                 float* const* s = reinterpret_cast<float* const*>(img + i_st);
                 TRY(check_array("ssm_step", s, S));
                 const int64_t GN = dims.n_groups * dims.d_state;
                 auto xc = compact(x, S, xs, dims.n_heads * dims.head_dim), dc = compact(dt, S, dts, dims.n_heads),
                      bc = compact(B, S, bcs, GN), cc = compact(C, S, bcs, GN);
                 return guard([&] {
                   hl::cpu::ssm_step(pool(), y, xc.data(), dc.data(), A, bc.data(), cc.data(), D, bias, dims, S, s);
                 });
               });
}
int hlc_ssm_step(float* y, const float* x, const float* dt, const float* A, const float* B, const float* C,
                 const float* D, const float* bias, const hl::SsmDims* d, int S, float* const* st) {
  return hlc_ssm_step_strided(y, x, dt, A, B, C, D, bias, d, S, st, 0, 0, 0);
}
// f16 pages: widened into f32 copies when the op runs, then the CPU twin.
int hlc_attention_kv(float* out, const float* q, const hl::AttentionDims* d, const int32_t* cu, int S,
                     const hl::KvView* kv, int32_t dtype) {
  if (dtype != 0 && dtype != 1) { g_err = "kv dtype"; return HLC_UNSUPPORTED; }
  if (d->n_heads % d->n_kv_heads) { g_err = "Hq % Hkv"; return HLC_INVALID; }
  BEGIN("attention", out, q);
  Image im;
  const AttnImage a = put_attention(im, cu, S, kv);
  const hl::AttentionDims dims = *d;
  return issue("attention",
               Frozen() << out << q << dims.n_heads << dims.n_kv_heads << dims.head_dim << dims.scale << S << dtype
                        << a.cap,
               std::move(im), [=](const char* img) -> int {
                 std::vector<hl::KvView> views;
                 std::vector<std::vector<const float*>> tables;
                 std::vector<std::vector<float>> store;
                 TRY(views_of(img, a, S, &dims, dtype, views, tables, store));
                 const int32_t* c = reinterpret_cast<const int32_t*>(img + a.cu);
                 return guard([&] { hl::cpu::attention(pool(), out, q, dims, c, S, views.data()); });
               });
}
int hlc_attention(float* out, const float* q, const hl::AttentionDims* d, const int32_t* cu, int S,
                  const hl::KvView* kv) {
  return hlc_attention_kv(out, q, d, cu, S, kv, 0);
}
int hlc_matmul(float* y, const float* x, int64_t T, const hl::WeightView* w) {
  if ((int)w->dtype == 9) { g_err = "dtype 9"; return HLC_UNSUPPORTED; }
  BEGIN("matmul", y, x, w->data);
  const hl::WeightView wv = *w;
  return issue("matmul", Frozen().view(wv) << y << x << T, Image(),
               [=](const char*) -> int { return guard([&] { hl::cpu::matmul(pool(), y, x, T, wv); }); });
}
int hlc_embed(float* out, const hl::WeightView* w, const int32_t* ids, int64_t T, float scale) {
  BEGIN("embed", out, w->data, ids);
  const hl::WeightView wv = *w;
  return issue("embed", Frozen().view(wv) << out << ids << T << scale, Image(),
               [=](const char*) -> int { return guard([&] { hl::cpu::embed(pool(), out, wv, ids, T, scale); }); });
}
int hlc_swiglu(float* out, const float* g, const float* u, int64_t T, int64_t n) {
  BEGIN("swiglu", out, g, u);
  return issue("swiglu", Frozen() << out << g << u << T << n, Image(),
               [=](const char*) -> int { return guard([&] { hl::cpu::swiglu(pool(), out, g, u, T, n); }); });
}
int hlc_moe_route(int32_t* ids, float* w, const float* lg, int64_t T, int64_t E, int64_t k) {
  BEGIN("moe_route", ids, w, lg);
  return issue("moe_route", Frozen() << ids << w << lg << T << E << k, Image(),
               [=](const char*) -> int { return guard([&] { hl::cpu::moe_route(pool(), ids, w, lg, T, E, k); }); });
}
int hlc_moe_forward(float* out, const float* x, const int32_t* ids, const float* w, int64_t T, int64_t k,
                    const hl::MoeWeights* mw) {
  BEGIN("moe_forward", out, x, ids, w, mw->gate.data, mw->up.data, mw->down.data);
  const hl::MoeWeights m = *mw;
  return issue("moe_forward",
               Frozen().view(m.gate).view(m.up).view(m.down)
                   << m.gate_expert_stride << m.up_expert_stride << m.down_expert_stride << m.n_experts << out << x
                   << ids << w << T << k,
               Image(), [=](const char*) -> int { return guard([&] { hl::cpu::moe_forward(pool(), out, x, ids, w, T, k, m); }); });
}
int hlc_moe_decode_gemv(int on) {
  if (on == 0 || on == 1) return 0;
  g_err = "mock: [moe_decode_gemv] on must be 0 or 1";
  return HLC_INVALID;
}
int hlc_copy_columns(float* dst, const float* src, int64_t rows, int64_t stride, int64_t col, int64_t width) {
  BEGIN("copy_columns", dst, src);
  return issue("copy_columns", Frozen() << dst << src << rows << stride << col << width, Image(), [=](const char*) -> int {
    for (int64_t r = 0; r < rows; r++) std::memcpy(dst + r * width, src + r * stride + col, sizeof(float) * width);
    return HLC_OK;
  });
}
int hlc_gather_rows(float* dst, const float* src, const int64_t* rows, int64_t n, int64_t width) {
  BEGIN("gather_rows", dst, src);
  Image im;
  const size_t i_rows = im.put(rows, sizeof(int64_t) * n);
  return issue("gather_rows", Frozen() << dst << src << n << width, std::move(im), [=](const char* img) -> int {
    const int64_t* r = reinterpret_cast<const int64_t*>(img + i_rows);
    for (int64_t i = 0; i < n; i++) std::memcpy(dst + i * width, src + r[i] * width, sizeof(float) * width);
    return HLC_OK;
  });
}
int hlc_add_scaled(float* y, const float* x, float alpha, int64_t n) {
  BEGIN("add_scaled", y, x);
  return issue("add_scaled", Frozen() << y << x << alpha << n, Image(), [=](const char*) -> int {
    for (int64_t i = 0; i < n; i++) y[i] += alpha * x[i];
    return HLC_OK;
  });
}
// The library's image: the position, then the pages touched (a decode: one).
// HLC_MOCK_GRAPH_FREEZE_KV_POS=1 freezes the position instead (a wrong design).
int hlc_kv_write_typed(float* const* pages, int64_t n_pages, int64_t page_size, const float* src, int64_t pos0,
                       int64_t n, int64_t n_kv, int64_t head_dim, int32_t dtype) {
  if (dtype != 0 && dtype != 1) { g_err = "kv dtype"; return HLC_UNSUPPORTED; }
  if (n == 0) return HLC_OK;
  BEGIN("kv_write", src);
  const int64_t first = pos0 / page_size, touched = (pos0 + n - 1) / page_size - first + 1;
  if (first + touched > n_pages) { g_err = "mock: kv_write past the pages given"; return HLC_INVALID; }
  TRY(check_array("kv_write", pages + first, (int)touched));
  Image im;
  const size_t i_pos = im.put(&pos0, sizeof pos0), i_pages = im.put(pages + first, sizeof(float*) * touched);
  Frozen fz;
  fz << page_size << src << n << n_kv << head_dim << dtype << touched;
  if (g_freeze_kv_pos) fz << pos0;
  return issue("kv_write", fz, std::move(im), [=](const char* img) -> int {
    const int64_t p0 = g_freeze_kv_pos ? pos0 : *reinterpret_cast<const int64_t*>(img + i_pos);
    float* const* pg = reinterpret_cast<float* const*>(img + i_pages);
    TRY(check_array("kv_write", pg, (int)touched));
    const int64_t base = p0 / page_size;
    for (int64_t t = 0; t < n; t++) {
      const int64_t p = p0 + t;
      float* page = pg[p / page_size - base];
      for (int64_t h = 0; h < n_kv; h++) {
        const float* s = src + (t * n_kv + h) * head_dim;
        const int64_t at = (h * page_size + p % page_size) * head_dim;
        if (dtype == 0) std::memcpy(page + at, s, sizeof(float) * head_dim);
        else
          for (int64_t e = 0; e < head_dim; e++) reinterpret_cast<uint16_t*>(page)[at + e] = hl::f32_to_f16(s[e]);
      }
    }
    return HLC_OK;
  });
}
int hlc_kv_write(float* const* pages, int64_t n_pages, int64_t page_size, const float* src, int64_t pos0, int64_t n,
                 int64_t n_kv, int64_t head_dim) {
  return hlc_kv_write_typed(pages, n_pages, page_size, src, pos0, n, n_kv, head_dim, 0);
}
int hlc_argmax_scaled(const float* lg, int32_t* out, int64_t rows, int64_t vocab, float divisor) {
  if (vocab <= 0 || divisor == 0.0f || divisor != divisor) { g_err = "argmax_scaled shape"; return HLC_INVALID; }
  BEGIN("argmax", lg, out);
  return issue("argmax", Frozen() << lg << out << rows << vocab << divisor, Image(), [=](const char*) -> int {
    return guard([&] { hl::cpu::argmax_rows(pool(), out, lg, rows, vocab, divisor); });
  });
}
int hlc_argmax(const float* lg, int32_t* out, int64_t rows, int64_t vocab) {
  BEGIN("argmax", lg, out);
  return issue("argmax", Frozen() << lg << out << rows << vocab, Image(), [=](const char*) -> int {
    for (int64_t r = 0; r < rows; r++) {
      int64_t best = -1;
      for (int64_t v = 0; v < vocab; v++) {
        const float x = lg[r * vocab + v];
        if (x != x) continue;
        if (best < 0 || x > lg[r * vocab + best]) best = v;
      }
      out[r] = (int32_t)(best < 0 ? 0 : best);
    }
    return HLC_OK;
  });
}
int hlc_matmul_multi(float* const* ys, const float* x, int64_t T, const hl::WeightView* ws, int n) {
  for (int i = 0; i < n; i++) TRY(hlc_matmul(ys[i], x, T, &ws[i]));
  return 0;
}
}  // extern "C"
