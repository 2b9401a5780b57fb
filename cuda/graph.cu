// cuda/graph.cu: decode steps as CUDA graphs (hlc_graph_*, hybridlm_cuda.h;
// design and what is proven: docs/cuda/README.md, Decode as a CUDA graph).
// One graph per key (the caller's batch size), captured from the library
// stream the first time a step of that key runs, then replayed:
// - Every launch goes through HLC_LAUNCH (common.cuh). At capture the gate
//   records its frozen values (kernel, grid, block, shared memory, parameter
//   bytes); at replay the ops run their host code again without launching
//   and the gate compares each launch with the record. Any difference (a
//   buffer that moved, a size that changed) refuses the replay: nothing ran,
//   the caller issues the step again eagerly and the next step re-captures.
// - Host arguments (Carve::arg pieces: page tables, KV positions, state
//   pointers, work lists) go to the graph's argument area: a pinned host image
//   and its device twin at the same offsets at every step. hlc_graph_end
//   uploads the image in one copy, then launches the graph.
// - Copies issued inside a step run before the step's kernels (hoisted).
// - During a replay the stream is captured into a throwaway graph, so a
//   kernel launched without HLC_LAUNCH is recorded there instead of running
//   on stale arguments; if that graph has any node the replay is refused.
// The library lock is held from hlc_graph_begin to hlc_graph_end: another
// thread's ops cannot land inside a captured step.
#include <string.h>

#include <map>
#include <string>
#include <vector>

#include "common.cuh"

namespace hlc {
namespace graph {
namespace {

constexpr size_t kAlign = 256;
constexpr size_t kMinArea = 64 * 1024;
constexpr int kMaxGraphs = 16;  // least recently used ones are dropped

enum Mode { kEager = 0, kCapture = 1, kReplay = 2 };

struct Graph {
  cudaGraphExec_t exec = nullptr;
  std::vector<unsigned char> frozen;  // the launch records of the capture, in order
  char* host = nullptr;               // pinned argument image
  char* dev = nullptr;                // its device twin
  size_t capacity = 0, used = 0;
  cudaEvent_t uploaded = nullptr;     // the last upload of `host` is done
  uint64_t last_use = 0;
};

struct Hoisted {
  int kind;  // 0 h2d, 1 memset, 2 d2d
  void* dst;
  const void* src;
  int value;
  size_t bytes;
  std::vector<char> data;  // h2d: the source, copied at the call
};

struct Step {
  Mode mode = kEager;
  int64_t key = 0;
  Graph* g = nullptr;
  size_t used = 0;            // argument area bytes carved so far
  size_t cursor = 0;          // replay: position in g->frozen
  size_t launches = 0;
  std::string failure;        // why the capture failed / the replay is refused
  bool name_pending = false;  // failure names a launch whose kernel name follows
  size_t area_need = 0;       // the argument area this step would need
  size_t ws_need[2] = {0, 0}; // workspace slots this step would need (grown when it ends)
  std::vector<Hoisted> hoisted;
};

std::map<int64_t, Graph> g_graphs;
Step g_step;
thread_local bool t_in_step = false;  // this thread opened the step (other threads wait on the lock)
size_t g_area_hint = kMinArea;
uint64_t g_use_clock = 0;
uint64_t g_captures = 0, g_replays = 0, g_refused = 0;

void fail(const std::string& why) {
  if (g_step.failure.empty()) g_step.failure = why;
}

void free_graph(Graph& g) {
  if (g.exec) cudaGraphExecDestroy(g.exec);
  if (g.uploaded) cudaEventDestroy(g.uploaded);
  if (g.host) cudaFreeHost(g.host);
  if (g.dev) cudaFree(g.dev);
  cudaGetLastError();
  g = Graph{};
}

void drop(int64_t key) {
  auto it = g_graphs.find(key);
  if (it == g_graphs.end()) return;
  free_graph(it->second);
  g_graphs.erase(it);
}

// A new graph's argument area (before the capture begins: no allocation inside it).
int make_area(Graph& g, size_t capacity) {
  HLC_CHECK(cudaHostAlloc(reinterpret_cast<void**>(&g.host), capacity, cudaHostAllocDefault));
  HLC_CHECK(cudaMalloc(reinterpret_cast<void**>(&g.dev), capacity));
  HLC_CHECK(cudaEventCreateWithFlags(&g.uploaded, cudaEventDisableTiming));
  g.capacity = capacity;
  return HLC_OK;
}

// After a step that found a workspace slot too small: grow it now, outside
// the step (it synchronises), so the next capture fits. A graph step can need
// more than the eager step it replaces (attention's fixed split has more parts).
int grow_workspace() {
  for (int slot = 0; slot < 2; slot++) {
    const size_t need = g_step.ws_need[slot];
    g_step.ws_need[slot] = 0;
    void* p = nullptr;
    if (need) HLC_TRY(workspace(need, &p, slot));
  }
  return HLC_OK;
}

// The copies issued inside the step, in order, before its kernels.
int run_hoisted() {
  std::vector<Hoisted> list;
  list.swap(g_step.hoisted);
  for (const Hoisted& h : list) {
    if (h.kind == 0) {
      HLC_TRY(upload(h.dst, h.data.data(), h.bytes));
    } else if (h.kind == 1) {
      count_copy();
      HLC_CHECK(cudaMemsetAsync(h.dst, h.value, h.bytes, stream()));
    } else {
      count_copy();
      HLC_CHECK(cudaMemcpyAsync(h.dst, h.src, h.bytes, cudaMemcpyDeviceToDevice, stream()));
    }
  }
  return HLC_OK;
}

// Ends the stream capture of the step (the graph or the throwaway one).
int end_capture(cudaGraph_t* out) {
  *out = nullptr;
  const cudaError_t e = cudaStreamEndCapture(stream(), out);
  if (e == cudaSuccess) return HLC_OK;
  const int st = status_from_cuda(e);
  if (st == HLC_DEVICE_LOST) return cuda_error(e, "cudaStreamEndCapture", __FILE__, __LINE__);
  cudaGetLastError();  // an invalidated capture: the step did not run, nothing is lost
  fail(std::string("the stream capture failed: ") + cudaGetErrorString(e));
  return HLC_OK;
}

void set_mode(Mode m) {
  g_step.mode = m;
  t_in_step = m != kEager;
}

void finish_step() {
  set_mode(kEager);
  g_step.g = nullptr;
  op_mutex().unlock();  // taken by hlc_graph_begin
}

}  // namespace

bool in_step() { return t_in_step; }

bool gate(const void* fn, dim3 grid, dim3 block, size_t smem, const void* params, size_t bytes) {
  Step& s = g_step;
  unsigned char head[sizeof(fn) + 6 * sizeof(unsigned) + sizeof(size_t) * 2];
  size_t h = 0;
  auto put = [&](const void* p, size_t n) {
    memcpy(head + h, p, n);
    h += n;
  };
  const unsigned dims[6] = {grid.x, grid.y, grid.z, block.x, block.y, block.z};
  put(&fn, sizeof fn);
  put(dims, sizeof dims);
  put(&smem, sizeof smem);
  put(&bytes, sizeof bytes);
  const size_t index = s.launches++;
  if (s.mode == kCapture) {
    std::vector<unsigned char>& f = s.g->frozen;
    f.insert(f.end(), head, head + h);
    f.insert(f.end(), static_cast<const unsigned char*>(params), static_cast<const unsigned char*>(params) + bytes);
    return true;
  }
  if (!s.failure.empty()) return false;
  const std::vector<unsigned char>& f = s.g->frozen;
  if (s.cursor + h + bytes > f.size() || memcmp(f.data() + s.cursor, head, h) != 0 ||
      memcmp(f.data() + s.cursor + h, params, bytes) != 0) {
    fail("launch " + std::to_string(index) + " differs from the capture (kernel, grid, block, shared memory or "
         "parameters)");
    s.name_pending = true;
    return false;
  }
  s.cursor += h + bytes;
  return false;
}

void launched(const char* name) {
  if (!g_step.name_pending) return;
  g_step.name_pending = false;
  g_step.failure += std::string(": ") + name;
}

int commit(Carve& cv) {
  Step& s = g_step;
  Graph& g = *s.g;
  const size_t args = (cv.args_end + kAlign - 1) / kAlign * kAlign;
  const size_t off = s.used;
  s.used += args;
  s.area_need = s.used;
  if (s.used > g.capacity) {
    fail("the argument area (" + std::to_string(g.capacity) + " bytes) is too small");
    cv.base = g.dev;  // never launched: the capture fails / the replay is refused
  } else {
    cv.base = g.dev + off;
    for (int i = 0; i < cv.n; i++)
      if (cv.srcs[i] && cv.src_bytes[i]) memcpy(g.host + off + cv.offsets[i], cv.srcs[i], cv.src_bytes[i]);
  }
  cv.scratch = nullptr;
  if (cv.total > cv.args_end) {
    void* ws = nullptr;
    HLC_TRY(workspace(cv.total - cv.args_end, &ws));
    cv.scratch = static_cast<char*>(ws);
  }
  return HLC_OK;
}

void workspace_too_small(size_t bytes, int slot) {
  if (bytes > g_step.ws_need[slot]) g_step.ws_need[slot] = bytes;
  fail("workspace slot " + std::to_string(slot) + " is smaller than the " + std::to_string(bytes) +
       " bytes an op needs (grown when the step ends)");
}

void hoist_h2d(void* dst, const void* src, size_t bytes) {
  Hoisted h{0, dst, nullptr, 0, bytes, {}};
  h.data.assign(static_cast<const char*>(src), static_cast<const char*>(src) + bytes);
  g_step.hoisted.push_back(std::move(h));
}
void hoist_memset(void* dst, int value, size_t bytes) { g_step.hoisted.push_back({1, dst, nullptr, value, bytes, {}}); }
void hoist_d2d(void* dst, const void* src, size_t bytes) { g_step.hoisted.push_back({2, dst, src, 0, bytes, {}}); }

}  // namespace graph
}  // namespace hlc

using namespace hlc;
using namespace hlc::graph;

extern "C" {

HLC_EXPORT int hlc_graph_begin(int64_t key, int* mode) {
  HLC_REQUIRE(mode && key > 0, "hlc_graph_begin: key must be > 0 and mode non-null");
  *mode = 0;
  HLC_TRY(ensure_device());
  op_mutex().lock();  // held until hlc_graph_end / hlc_graph_abort
  auto fail_begin = [](int st) {
    op_mutex().unlock();
    return st;
  };
  if (in_step()) return fail_begin(set_error(HLC_INVALID, "hlc_graph_begin: a graph step is already open"));
  Step& s = g_step;
  s = Step{};
  s.key = key;
  auto it = g_graphs.find(key);
  if (it != g_graphs.end() && it->second.exec) {
    Graph& g = it->second;
    // The previous upload of the image must be done before it is rewritten
    // (normally long done: the caller downloaded the previous step's logits).
    cudaError_t e = cudaEventSynchronize(g.uploaded);
    if (e == cudaSuccess)
      e = cudaStreamBeginCapture(stream(), cudaStreamCaptureModeRelaxed);  // the throwaway graph
    if (e != cudaSuccess) return fail_begin(cuda_error(e, "hlc_graph_begin (replay)", __FILE__, __LINE__));
    g.last_use = ++g_use_clock;
    s.g = &g;
    set_mode(kReplay);
    *mode = kReplay;
    return HLC_OK;
  }
  drop(key);
  if ((int)g_graphs.size() >= kMaxGraphs) {
    auto lru = g_graphs.begin();
    for (auto i = g_graphs.begin(); i != g_graphs.end(); ++i)
      if (i->second.last_use < lru->second.last_use) lru = i;
    drop(lru->first);
  }
  Graph& g = g_graphs[key];
  g.last_use = ++g_use_clock;
  int st = make_area(g, g_area_hint);
  if (st == HLC_OK) {
    const cudaError_t e = cudaStreamBeginCapture(stream(), cudaStreamCaptureModeRelaxed);
    if (e != cudaSuccess) st = cuda_error(e, "cudaStreamBeginCapture", __FILE__, __LINE__);
  }
  if (st != HLC_OK) {
    const std::string msg = hlc_last_error();
    drop(key);
    return fail_begin(set_error(st, msg));
  }
  s.g = &g;
  set_mode(kCapture);
  *mode = kCapture;
  return HLC_OK;
}

HLC_EXPORT int hlc_graph_end(int* ran) {
  if (!ran || !in_step()) return set_error(HLC_INVALID, "hlc_graph_end: no graph step is open (or ran is null)");
  *ran = 0;
  Step& s = g_step;
  Graph& g = *s.g;
  const Mode mode = s.mode;
  cudaGraph_t captured = nullptr;
  int st = end_capture(&captured);
  if (st == HLC_OK && mode == kCapture && s.failure.empty()) {
    const cudaError_t e = cudaGraphInstantiate(&g.exec, captured, 0);
    if (e != cudaSuccess) {
      if (status_from_cuda(e) == HLC_DEVICE_LOST) st = cuda_error(e, "cudaGraphInstantiate", __FILE__, __LINE__);
      cudaGetLastError();
      g.exec = nullptr;
      fail(std::string("cudaGraphInstantiate: ") + cudaGetErrorString(e));
    }
    g.used = s.used;
  } else if (st == HLC_OK && mode == kReplay) {
    size_t nodes = 0;
    if (captured && cudaGraphGetNodes(captured, nullptr, &nodes) == cudaSuccess && nodes > 0)
      fail(std::to_string(nodes) + " kernel launch(es) or copies bypassed HLC_LAUNCH inside the step");
    cudaGetLastError();
    if (s.failure.empty() && (s.cursor != g.frozen.size() || s.used != g.used))
      fail("the step issued other launches or arguments than the capture");
  }
  if (captured) cudaGraphDestroy(captured);
  const bool ok = st == HLC_OK && s.failure.empty();
  const std::string failure = s.failure;
  const size_t need = s.area_need;
  const int64_t key = s.key;
  set_mode(kEager);  // the copies and the launch below run outside the step
  if (!ok) {
    if (need > g.capacity) g_area_hint = std::max(g_area_hint, 2 * need);
    drop(key);
  }
  if (st == HLC_OK) st = run_hoisted();
  if (st == HLC_OK) st = grow_workspace();
  if (st == HLC_OK && ok) {
    count_copy();
    cudaError_t e = g.used ? cudaMemcpyAsync(g.dev, g.host, g.used, cudaMemcpyHostToDevice, stream()) : cudaSuccess;
    if (e == cudaSuccess) e = cudaEventRecord(g.uploaded, stream());
    if (e == cudaSuccess) e = cudaGraphLaunch(g.exec, stream());
    if (e != cudaSuccess) st = cuda_error(e, "cudaGraphLaunch", __FILE__, __LINE__);
    else {
      note_launch("cudaGraphLaunch");
      *ran = mode == kCapture ? 2 : 1;
      (mode == kCapture ? g_captures : g_replays)++;
    }
  }
  if (!ok) {
    g_refused++;
    if (st == HLC_OK) set_error(HLC_OK, "graph step not run: " + failure);
  }
  finish_step();
  return st;
}

HLC_EXPORT int hlc_graph_abort(void) {
  if (!in_step()) return HLC_OK;
  cudaGraph_t captured = nullptr;
  int st = end_capture(&captured);
  if (captured) cudaGraphDestroy(captured);
  const int64_t key = g_step.key;
  const bool capturing = g_step.mode == kCapture;
  set_mode(kEager);
  if (capturing) drop(key);
  if (st == HLC_OK) st = run_hoisted();
  if (st == HLC_OK) st = grow_workspace();
  finish_step();
  return st;
}

HLC_EXPORT int hlc_graph_drop(int64_t key) {
  if (in_step()) return set_error(HLC_INVALID, "hlc_graph_drop inside a graph step");
  std::lock_guard<std::recursive_mutex> lock(op_mutex());
  if (key >= 0) {
    drop(key);
  } else {
    while (!g_graphs.empty()) drop(g_graphs.begin()->first);
  }
  return HLC_OK;
}

HLC_EXPORT int hlc_graph_counters(uint64_t* captures, uint64_t* replays, uint64_t* refused) {
  if (captures) *captures = g_captures;
  if (replays) *replays = g_replays;
  if (refused) *refused = g_refused;
  return HLC_OK;
}

}  // extern "C"
