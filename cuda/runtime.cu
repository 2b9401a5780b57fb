// cuda/runtime.cu: device discovery, memory, the library stream, the
// workspace and the thread-local error message (hybridlm_cuda.h).
// Discovery never aborts: without a driver cudaGetDeviceCount returns
// cudaErrorInsufficientDriver (35) or cudaErrorNoDevice (100) and we report
// HLC_NO_DEVICE with the runtime's message. cudart is linked statically, so
// the NVIDIA driver (libcuda.so) is the only run-time dependency.
// State: one non-blocking stream and one grow-only workspace per device,
// created lazily under a mutex. Per-call arguments (cu_seqlens, state
// pointers, work lists) go through a pinned staging ring: memcpy into a slot,
// one cudaMemcpyAsync, an event marks when the slot may be reused. A copy
// from pageable memory would make the driver wait for the stream first (one
// host sync per op); the ring keeps a decode step free of host syncs.
// Arguments larger than a slot fall back to a pageable copy.
#include <stdio.h>
#include <string.h>

#include <atomic>
#include <mutex>
#include <string>
#include <vector>

#include "common.cuh"

namespace hlc {

// ---- errors

static thread_local std::string t_last_error;

int set_error(int status, const std::string& msg) {
  t_last_error = msg;
  return status;
}

// Errors after which the CUDA context is unusable: every later call fails too
// (a kernel fault, an assert, an ECC error). The library then answers
// HLC_DEVICE_LOST without touching CUDA again.
static bool is_sticky(cudaError_t e) {
  switch (e) {
    case cudaErrorIllegalAddress:
    case cudaErrorLaunchFailure:
    case cudaErrorLaunchTimeout:
    case cudaErrorHardwareStackError:
    case cudaErrorIllegalInstruction:
    case cudaErrorMisalignedAddress:
    case cudaErrorInvalidAddressSpace:
    case cudaErrorInvalidPc:
    case cudaErrorAssert:
    case cudaErrorECCUncorrectable:
    case cudaErrorContextIsDestroyed:
    case cudaErrorDevicesUnavailable:
      return true;
    default: return false;
  }
}

static std::atomic<bool> g_lost{false};
static std::mutex g_lost_mutex;
static std::string g_lost_reason;
static std::atomic<uint64_t> g_launches{0}, g_copies{0};

static thread_local const char* t_last_kernel = "none";

void note_launch(const char* name) {
  t_last_kernel = name;
  if (graph::in_step()) return graph::launched(name);  // part of the graph, counted as its launch
  g_launches.fetch_add(1, std::memory_order_relaxed);
}
void count_copy() { g_copies.fetch_add(1, std::memory_order_relaxed); }

bool check_each_launch() {
  static const bool on = [] {
    const char* v = getenv("HYBRIDLM_CUDA_SYNC");
    return v && v[0] && v[0] != '0';
  }();
  return on;
}

int status_from_cuda(cudaError_t e) {
  if (is_sticky(e)) return HLC_DEVICE_LOST;
  switch (e) {
    case cudaSuccess: return HLC_OK;
    case cudaErrorMemoryAllocation: return HLC_OUT_OF_MEMORY;
    case cudaErrorInsufficientDriver:
    case cudaErrorNoDevice:
    case cudaErrorInvalidDevice:
    case cudaErrorDevicesUnavailable:
    case cudaErrorInitializationError:
    case cudaErrorCompatNotSupportedOnDevice:
      return HLC_NO_DEVICE;
    case cudaErrorNoKernelImageForDevice:
    case cudaErrorUnsupportedPtxVersion:
    case cudaErrorInvalidPtx:
      return HLC_UNSUPPORTED;
    case cudaErrorInvalidValue:
      return HLC_INVALID;
    default: return HLC_LAUNCH_FAILED;
  }
}

int cuda_error(cudaError_t e, const char* what, const char* file, int line) {
  char buf[512];
  snprintf(buf, sizeof buf, "%s: %s (%s, code %d) at %s:%d", what, cudaGetErrorString(e), cudaGetErrorName(e),
           (int)e, file, line);
  if (is_sticky(e)) {
    std::lock_guard<std::mutex> lock(g_lost_mutex);
    if (!g_lost.load()) g_lost_reason = buf;
    g_lost.store(true);
    return set_error(HLC_DEVICE_LOST, std::string("CUDA device lost: ") + buf);
  }
  return set_error(status_from_cuda(e), buf);
}

static int lost_error() {
  std::lock_guard<std::mutex> lock(g_lost_mutex);
  return set_error(HLC_DEVICE_LOST, "CUDA device lost earlier (" + g_lost_reason +
                                        "); the context is unusable: dispose the model and reload it in a new process");
}

int check_launch(const char* name, const char* file, int line) {
  cudaError_t e = cudaGetLastError();
  if (e == cudaSuccess) e = cudaStreamSynchronize(stream());
  if (e == cudaSuccess) return HLC_OK;
  return cuda_error(e, (std::string(name) + " (HYBRIDLM_CUDA_SYNC: checked right after its launch)").c_str(), file,
                    line);
}

int check_pending_launches(const char* where) {
  const cudaError_t e = cudaGetLastError();
  if (e == cudaSuccess) return HLC_OK;
  return cuda_error(e, (std::string(where) + ": a kernel launch since the last check failed (the last one launched: " +
                        t_last_kernel + "; HYBRIDLM_CUDA_SYNC=1 names the failing one)").c_str(),
                    __FILE__, __LINE__);
}

// ---- per-device state

namespace {
constexpr int kMaxDevices = 64;
constexpr int kStageSlots = 64;
constexpr size_t kStageSlotBytes = 64 * 1024;
struct DeviceState {
  bool ready = false;
  cudaStream_t stream = nullptr;
  char* stage = nullptr;  // pinned [kStageSlots][kStageSlotBytes], null if unavailable
  cudaEvent_t stage_ev[kStageSlots] = {};
  bool stage_used[kStageSlots] = {};
  int stage_next = 0;
  void* ws[2] = {nullptr, nullptr};  // slot 0: per-op carve; slot 1: matmul activation scratch
  size_t ws_bytes[2] = {0, 0};
};
DeviceState g_dev[kMaxDevices];
std::recursive_mutex g_mutex;
int g_device = 0;  // the library's device (hlc_set_device)
std::atomic<int> g_epoch{1};  // bumped by hlc_set_device: threads re-bind
thread_local int t_bound_epoch = 0;
}  // namespace

std::recursive_mutex& op_mutex() { return g_mutex; }

int ensure_device() {
  if (g_lost.load(std::memory_order_relaxed)) return lost_error();
  // Fast path: this thread already made the library's device current.
  if (t_bound_epoch == g_epoch.load(std::memory_order_acquire) && g_dev[g_device].ready) return HLC_OK;
  std::lock_guard<std::recursive_mutex> lock(g_mutex);
  if (g_device < 0 || g_device >= kMaxDevices) return set_error(HLC_INVALID, "device index out of range");
  HLC_CHECK(cudaSetDevice(g_device));
  t_bound_epoch = g_epoch.load();
  DeviceState& d = g_dev[g_device];
  if (!d.ready) {
    HLC_CHECK(cudaStreamCreateWithFlags(&d.stream, cudaStreamNonBlocking));
    void* host = nullptr;
    if (cudaHostAlloc(&host, kStageSlots * kStageSlotBytes, cudaHostAllocDefault) == cudaSuccess) {
      bool ok = true;
      for (int i = 0; i < kStageSlots && ok; i++)
        ok = cudaEventCreateWithFlags(&d.stage_ev[i], cudaEventDisableTiming) == cudaSuccess;
      if (ok) d.stage = static_cast<char*>(host);
      else cudaFreeHost(host);
    }
    cudaGetLastError();  // staging is optional: pageable copies still work
    d.ready = true;
  }
  return HLC_OK;
}

cudaStream_t stream() { return g_dev[g_device].stream; }

int workspace(size_t bytes, void** out, int slot) {
  DeviceState& d = g_dev[g_device];
  if (bytes > d.ws_bytes[slot] && graph::in_step()) {
    // No reallocation (it synchronises) inside a step: the step is refused
    // and runs eagerly; the slot grows when the step ends (graph.cu).
    graph::workspace_too_small(bytes, slot);
  } else if (bytes > d.ws_bytes[slot]) {
    if (d.ws[slot]) {
      // Kernels queued earlier may still use the old buffer.
      HLC_CHECK(cudaStreamSynchronize(d.stream));
      HLC_CHECK(cudaFree(d.ws[slot]));
      d.ws[slot] = nullptr;
      d.ws_bytes[slot] = 0;
    }
    size_t want = bytes + bytes / 4;  // headroom: fewer reallocations
    cudaError_t e = cudaMalloc(&d.ws[slot], want);
    if (e != cudaSuccess) {
      cudaGetLastError();
      d.ws[slot] = nullptr;
      return set_error(HLC_OUT_OF_MEMORY, "workspace: cannot allocate " + std::to_string(want) + " bytes (" +
                                              cudaGetErrorString(e) + ")");
    }
    d.ws_bytes[slot] = want;
  }
  *out = d.ws[slot];
  return HLC_OK;
}

int upload(void* dst, const void* src, size_t bytes) {
  if (bytes == 0) return HLC_OK;
  DeviceState& d = g_dev[g_device];
  if (d.stage && bytes <= kStageSlotBytes) {
    const int i = d.stage_next;
    d.stage_next = (i + 1) % kStageSlots;
    if (d.stage_used[i]) HLC_CHECK(cudaEventSynchronize(d.stage_ev[i]));  // normally long done
    char* slot = d.stage + (size_t)i * kStageSlotBytes;
    memcpy(slot, src, bytes);
    count_copy();
    HLC_CHECK(cudaMemcpyAsync(dst, slot, bytes, cudaMemcpyHostToDevice, d.stream));
    HLC_CHECK(cudaEventRecord(d.stage_ev[i], d.stream));
    d.stage_used[i] = true;
    return HLC_OK;
  }
  count_copy();
  HLC_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, d.stream));
  return HLC_OK;
}

int Carve::commit() {
  if (graph::in_step()) return graph::commit(*this);
  HLC_TRY(workspace(total > 0 ? total : 256, reinterpret_cast<void**>(&base)));
  scratch = base + args_end;
  if (upload_end == 0) return HLC_OK;
  static thread_local std::vector<char> image;
  if (image.size() < upload_end) image.resize(upload_end);
  for (int i = 0; i < n; i++)
    if (srcs[i] && src_bytes[i]) memcpy(image.data() + offsets[i], srcs[i], src_bytes[i]);
  return upload(base, image.data(), upload_end);
}

}  // namespace hlc

using namespace hlc;

extern "C" {

HLC_EXPORT int hlc_abi_version(void) { return HLC_ABI_VERSION; }

HLC_EXPORT const char* hlc_last_error(void) { return t_last_error.c_str(); }

HLC_EXPORT int hlc_device_count(int* count) {
  if (!count) return set_error(HLC_INVALID, "hlc_device_count: count is null");
  *count = 0;
  int n = 0;
  cudaError_t e = cudaGetDeviceCount(&n);
  if (e != cudaSuccess) {
    cudaGetLastError();  // clear the (non-sticky) error
    char buf[384];
    snprintf(buf, sizeof buf, "no usable CUDA device: %s (%s, code %d)%s", cudaGetErrorString(e),
             cudaGetErrorName(e), (int)e,
             e == cudaErrorInsufficientDriver ? " - the NVIDIA driver is missing or older than this CUDA runtime"
                                              : "");
    return set_error(HLC_NO_DEVICE, buf);
  }
  if (n <= 0) return set_error(HLC_NO_DEVICE, "no CUDA device found");
  *count = n;
  return HLC_OK;
}

HLC_EXPORT int hlc_device_info(int device, struct hlc_device_info* out) {
  if (!out) return set_error(HLC_INVALID, "hlc_device_info: out is null");
  int n = 0;
  HLC_TRY(hlc_device_count(&n));
  if (device < 0 || device >= n)
    return set_error(HLC_INVALID, "hlc_device_info: device " + std::to_string(device) + " out of range (count " +
                                      std::to_string(n) + ")");
  cudaDeviceProp p;
  HLC_CHECK(cudaGetDeviceProperties(&p, device));
  snprintf(out->name, sizeof out->name, "%s", p.name);
  out->major = p.major;
  out->minor = p.minor;
  out->multiprocessors = p.multiProcessorCount;
  out->total_memory = p.totalGlobalMem;
  out->free_memory = 0;
  {
    int prev = 0;
    HLC_CHECK(cudaGetDevice(&prev));
    HLC_CHECK(cudaSetDevice(device));
    size_t fr = 0, tot = 0;
    cudaError_t e = cudaMemGetInfo(&fr, &tot);
    if (e == cudaSuccess) out->free_memory = fr;
    else cudaGetLastError();
    HLC_CHECK(cudaSetDevice(prev));
  }
  HLC_CHECK(cudaDriverGetVersion(&out->driver_version));
  HLC_CHECK(cudaRuntimeGetVersion(&out->runtime_version));
  int mem_clock_khz = 0, bus_bits = 0;
  if (cudaDeviceGetAttribute(&mem_clock_khz, cudaDevAttrMemoryClockRate, device) != cudaSuccess) {
    cudaGetLastError();
    mem_clock_khz = 0;
  }
  if (cudaDeviceGetAttribute(&bus_bits, cudaDevAttrGlobalMemoryBusWidth, device) != cudaSuccess) {
    cudaGetLastError();
    bus_bits = 0;
  }
  // DDR: two transfers per clock.
  out->memory_bandwidth_gbs = 2.0 * (double)mem_clock_khz * 1e3 * (bus_bits / 8.0) / 1e9;
  return HLC_OK;
}

HLC_EXPORT int hlc_set_device(int device) {
  std::lock_guard<std::recursive_mutex> lock(g_mutex);
  int n = 0;
  HLC_TRY(hlc_device_count(&n));
  if (device < 0 || device >= n || device >= kMaxDevices)
    return set_error(HLC_INVALID, "hlc_set_device: device " + std::to_string(device) + " out of range (count " +
                                      std::to_string(n) + ")");
  g_device = device;
  g_epoch.fetch_add(1);
  return ensure_device();
}

HLC_EXPORT int hlc_malloc(void** ptr, size_t bytes) {
  if (!ptr) return set_error(HLC_INVALID, "hlc_malloc: ptr is null");
  *ptr = nullptr;
  HLC_TRY(ensure_device());
  if (bytes == 0) return HLC_OK;
  cudaError_t e = cudaMalloc(ptr, bytes);
  if (e != cudaSuccess) {
    cudaGetLastError();
    *ptr = nullptr;
    return set_error(e == cudaErrorMemoryAllocation ? HLC_OUT_OF_MEMORY : status_from_cuda(e),
                     "hlc_malloc: cannot allocate " + std::to_string(bytes) + " bytes: " + cudaGetErrorString(e));
  }
  return HLC_OK;
}

HLC_EXPORT int hlc_free(void* ptr) {
  if (!ptr) return HLC_OK;
  if (g_lost.load()) return HLC_OK;  // the context and its memory are gone already
  // cudaFree synchronises the device: never while another thread captures a graph step.
  std::lock_guard<std::recursive_mutex> lock(op_mutex());
  HLC_TRY(ensure_device());
  HLC_CHECK(cudaFree(ptr));
  return HLC_OK;
}

HLC_EXPORT int hlc_memcpy_h2d(void* dst, const void* src, size_t bytes) {
  if (bytes == 0) return HLC_OK;
  if (!dst || !src) return set_error(HLC_INVALID, "hlc_memcpy_h2d: null pointer");
  // A graph step open on another thread holds this lock: no copy may land in its capture.
  std::lock_guard<std::recursive_mutex> lock(op_mutex());
  HLC_TRY(ensure_device());
  if (graph::in_step()) return graph::hoist_h2d(dst, src, bytes), HLC_OK;
  count_copy();
  HLC_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, stream()));
  return HLC_OK;
}

HLC_EXPORT int hlc_memcpy_d2h(void* dst, const void* src, size_t bytes) {
  if (bytes == 0) return HLC_OK;
  if (!dst || !src) return set_error(HLC_INVALID, "hlc_memcpy_d2h: null pointer");
  std::lock_guard<std::recursive_mutex> lock(op_mutex());
  HLC_TRY(ensure_device());
  if (graph::in_step()) return set_error(HLC_INVALID, "hlc_memcpy_d2h inside a graph step (end the step first)");
  count_copy();
  HLC_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToHost, stream()));
  HLC_CHECK(cudaStreamSynchronize(stream()));  // the caller reads dst next
  return check_pending_launches("hlc_memcpy_d2h");  // launches are not checked one by one
}

HLC_EXPORT int hlc_memcpy_d2d(void* dst, const void* src, size_t bytes) {
  if (bytes == 0) return HLC_OK;
  if (!dst || !src) return set_error(HLC_INVALID, "hlc_memcpy_d2d: null pointer");
  std::lock_guard<std::recursive_mutex> lock(op_mutex());
  HLC_TRY(ensure_device());
  if (graph::in_step()) return graph::hoist_d2d(dst, src, bytes), HLC_OK;
  count_copy();
  HLC_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, stream()));
  return HLC_OK;
}

HLC_EXPORT int hlc_memset(void* dst, int value, size_t bytes) {
  if (bytes == 0) return HLC_OK;
  if (!dst) return set_error(HLC_INVALID, "hlc_memset: null pointer");
  std::lock_guard<std::recursive_mutex> lock(op_mutex());
  HLC_TRY(ensure_device());
  if (graph::in_step()) return graph::hoist_memset(dst, value, bytes), HLC_OK;
  count_copy();
  HLC_CHECK(cudaMemsetAsync(dst, value, bytes, stream()));
  return HLC_OK;
}

HLC_EXPORT int hlc_synchronize(void) {
  std::lock_guard<std::recursive_mutex> lock(op_mutex());
  HLC_TRY(ensure_device());
  if (graph::in_step()) return set_error(HLC_INVALID, "hlc_synchronize inside a graph step (end the step first)");
  HLC_CHECK(cudaStreamSynchronize(stream()));
  return check_pending_launches("hlc_synchronize");
}

HLC_EXPORT int hlc_device_lost(void) { return g_lost.load() ? 1 : 0; }

HLC_EXPORT int hlc_counters(uint64_t* launches, uint64_t* copies) {
  if (launches) *launches = g_launches.load();
  if (copies) *copies = g_copies.load();
  return HLC_OK;
}

HLC_EXPORT int hlc_supports_dtype(int32_t dtype) {
  switch (dtype) {
    case 0:   // F32
    case 1:   // F16
    case 2:   // Q4_0
    case 8:   // Q8_0
    case 12:  // Q4_K
    case 13:  // Q5_K
    case 14:  // Q6_K
    case 30:  // BF16
      return 1;
    default: return 0;
  }
}

}  // extern "C"
