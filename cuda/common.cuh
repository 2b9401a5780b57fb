// cuda/common.cuh: shared helpers of the CUDA kernel library (private to cuda/).
// - error plumbing: every hlc_* entry point returns an hlc_status and leaves a
//   message in the thread-local hlc_last_error(); nothing here exits, aborts
//   or throws across the C ABI. HLC_CHECK(cudaCall) records "<call>: <cuda
//   error> (code) at file:line" and returns the mapped status from the caller.
// - the library stream (one per device, non-blocking) and a grow-only device
//   workspace used for per-call arguments and scratch (stream-ordered reuse:
//   every op runs on the one stream, so a later op's argument upload cannot
//   overtake an earlier op's kernels).
// - warp / block reductions, 16-byte vector loads, f16/bf16 decoding.
// Indexing: kernels compute element offsets in int64_t (docs/KERNELS.md, Conventions).
#pragma once
#include <cuda_fp16.h>
#include <cuda_runtime.h>
#include <stdint.h>

#include <string.h>

#include <algorithm>
#include <mutex>
#include <string>
#include <type_traits>

// The library is built with -fvisibility=hidden; only the C ABI is exported
// (exports.map additionally keeps static cudart's symbols local).
#pragma GCC visibility push(default)
#include "hybridlm_cuda.h"
#pragma GCC visibility pop
#define HLC_EXPORT __attribute__((visibility("default")))

namespace hlc {

// ---- errors

// Records msg as this thread's last error and returns status.
int set_error(int status, const std::string& msg);
int status_from_cuda(cudaError_t e);
int cuda_error(cudaError_t e, const char* what, const char* file, int line);

#define HLC_CHECK(call)                                                         \
  do {                                                                          \
    cudaError_t hlc_err_ = (call);                                              \
    if (hlc_err_ != cudaSuccess) return ::hlc::cuda_error(hlc_err_, #call, __FILE__, __LINE__); \
  } while (0)

// After every kernel launch: counts it (hlc_counters) and remembers its name.
// The launch status is NOT read here (no cudaGetLastError per launch on the
// hot path): a configuration error stays pending in the runtime and is
// reported, with the last kernel's name, by the next synchronising call
// (hlc_memcpy_d2h, hlc_synchronize), normally the end of the step. With
// HYBRIDLM_CUDA_SYNC=1 in the environment every launch is checked and
// synchronised at once, so an error names its own kernel (debugging; slow).
#define HLC_LAUNCHED(name)                                                      \
  do {                                                                          \
    ::hlc::note_launch(name);                                                   \
    if (::hlc::check_each_launch() && !::hlc::graph::in_step()) {               \
      int hlc_st_ = ::hlc::check_launch(name, __FILE__, __LINE__);              \
      if (hlc_st_ != HLC_OK) return hlc_st_;                                    \
    }                                                                           \
  } while (0)

// Argument check: HLC_REQUIRE(cond, "[op] message").
#define HLC_REQUIRE(cond, msg)                                                  \
  do {                                                                          \
    if (!(cond)) return ::hlc::set_error(HLC_INVALID, msg);                     \
  } while (0)

// Propagates a non-zero status from a helper.
#define HLC_TRY(expr)                                                           \
  do {                                                                          \
    int hlc_st_ = (expr);                                                       \
    if (hlc_st_ != HLC_OK) return hlc_st_;                                      \
  } while (0)

// ---- decode steps as CUDA graphs (graph.cu; docs/cuda/README.md, Decode as a CUDA graph)

struct Carve;
namespace graph {
// Between hlc_graph_begin and hlc_graph_end: ops are captured (capture) or
// only write their argument images and check their launches (replay).
bool in_step();
// A launch inside a step: at capture its frozen values (kernel, grid, block,
// shared memory, parameter bytes) are recorded, at replay compared with the
// record. Returns whether to launch now (outside a step; at capture, into the graph).
bool gate(const void* fn, dim3 grid, dim3 block, size_t smem, const void* params, size_t bytes);
// Carve::commit inside a step: arguments into the graph's argument area.
int commit(Carve& cv);
// workspace() inside a step: the existing slot or, when too small, a failed step.
void workspace_too_small(size_t bytes, int slot);
// h2d / memset / d2d inside a step: run before the step's kernels (hlc_graph_end).
void hoist_h2d(void* dst, const void* src, size_t bytes);
void hoist_memset(void* dst, int value, size_t bytes);
void hoist_d2d(void* dst, const void* src, size_t bytes);
void launched(const char* name);  // names the launch a replay refused
}  // namespace graph

// Kernel parameters a graph replay compares byte for byte: scalars and
// pointers, and the structs marked padding-free with HLC_GRAPH_PARAM_STRUCT
// (padding bytes hold garbage, which would refuse every replay).
template <class T> struct graph_param_ok : std::integral_constant<bool, std::is_scalar<T>::value> {};
#define HLC_GRAPH_PARAM_STRUCT(T, bytes)                                                 \
  template <> struct graph_param_ok<T> : std::true_type {};                              \
  static_assert(sizeof(T) == (bytes), #T ": kernel parameter structs must hold no padding bytes")

template <typename... P> struct LaunchGate {
  void (*fn)(P...);
  dim3 grid, block;
  size_t smem;
  bool operator()(P... args) const {
    static_assert((graph_param_ok<P>::value && ...),
                  "a kernel parameter is not a scalar, a pointer or an HLC_GRAPH_PARAM_STRUCT");
    if (!graph::in_step()) return true;
    constexpr size_t n = (sizeof(P) + ... + 0);
    unsigned char buf[n > 0 ? n : 1];
    size_t off = 0;
    ((memcpy(buf + off, &args, sizeof(P)), off += sizeof(P)), ...);
    return graph::gate(reinterpret_cast<const void*>(fn), grid, block, smem, buf, n);
  }
};
template <typename... P> LaunchGate<P...> launch_gate(void (*fn)(P...), dim3 grid, dim3 block, size_t smem) {
  return LaunchGate<P...>{fn, grid, block, smem};
}
// Every kernel launch: HLC_LAUNCH(grid, block, smem, (args...), kernel) for
// kernel<<<grid, block, smem, stream()>>>(args...), so a graph step can record
// or check it (a plain <<<>>> launch inside a replayed step is detected and
// the replay refused). Follow it with HLC_LAUNCHED(name) as before.
#define HLC_LAUNCH(grid, block, smem, ARGS, ...)                                  \
  do {                                                                          \
    const dim3 hlc_g_(grid), hlc_b_(block);                                     \
    const size_t hlc_s_ = (smem);                                               \
    if (::hlc::launch_gate(__VA_ARGS__, hlc_g_, hlc_b_, hlc_s_) ARGS)           \
      __VA_ARGS__<<<hlc_g_, hlc_b_, hlc_s_, ::hlc::stream()>>> ARGS;            \
  } while (0)

// ---- library state (runtime.cu)

// Makes sure the library's device is current on this thread and initialised;
// returns a status. Cheap after the first call on a thread (no cudaSetDevice
// per op); HLC_DEVICE_LOST once a sticky CUDA error has been seen.
int ensure_device();
// Kernel launches and host<->device argument copies since load (hlc_counters).
void note_launch(const char* name);
void count_copy();
// HYBRIDLM_CUDA_SYNC=1: check and synchronise after every launch (read once).
bool check_each_launch();
// cudaGetLastError + stream sync after a launch, naming it (debug mode).
int check_launch(const char* name, const char* file, int line);
// The pending launch error (if any) once the stream is synchronised: called by
// the synchronising entry points, names the last kernel launched.
int check_pending_launches(const char* where);
cudaStream_t stream();
// Serialises ops that share the workspace (the library is thread-safe but
// not concurrent: one op enqueues at a time).
std::recursive_mutex& op_mutex();
// Device workspace of at least `bytes`, 256-byte aligned, in one of two
// slots (0: the op's own carve; 1: matmul's activation scratch, so a matmul
// inside an op never moves the op's buffers). Valid until the next call for
// the same slot (which may reallocate after a stream sync).
int workspace(size_t bytes, void** out, int slot = 0);
// Tensor-core kernel paths: sm_80+ and not disabled by hlc_use_tensor_cores(0)
// or HLC_DISABLE_TENSOR_CORES=1 (matmul.cu).
bool tensor_cores_enabled();
// Uploads `bytes` of host memory to dst on the library stream.
int upload(void* dst, const void* src, size_t bytes);

// Carves aligned sub-buffers out of one workspace allocation: call arg() for
// every piece filled from host memory (the op's arguments: page tables, state
// pointers, work lists), then add() for scratch pieces (sizes only), then
// commit(), then ptr(). commit() uploads all the arg() pieces in ONE copy (a
// host image of the carve's head), not one copy per array. Inside a graph
// step the arguments go to the graph's argument area instead (uploaded once
// per step) and the scratch pieces after them to the workspace.
struct Carve {
  size_t offsets[16];
  const void* srcs[16];
  size_t src_bytes[16];
  int n = 0;
  size_t total = 0, upload_end = 0;
  size_t args_end = 0;       // pieces below: arguments (base); from here on: scratch
  char* base = nullptr;
  char* scratch = nullptr;   // where the piece at args_end lies (base + args_end outside a step)
  int add(size_t bytes) {
    offsets[n] = total;
    srcs[n] = nullptr;
    src_bytes[n] = 0;
    total += (bytes + 255) / 256 * 256;
    return n++;
  }
  // reserve: room for at least this many bytes (>= bytes).
  int arg(const void* src, size_t bytes, size_t reserve = 0) {
    const int i = add(std::max<size_t>(std::max(bytes, reserve), 1));
    srcs[i] = src;
    src_bytes[i] = bytes;
    if (bytes) upload_end = offsets[i] + bytes;
    args_end = total;
    return i;
  }
  int commit();  // runtime.cu
  template <typename T> T* ptr(int i) const {
    return reinterpret_cast<T*>(offsets[i] < args_end ? base + offsets[i] : scratch + (offsets[i] - args_end));
  }
};

// ---- device helpers

constexpr unsigned kFullMask = 0xffffffffu;

__device__ __forceinline__ float warp_sum(float v) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(kFullMask, v, o);
  return v;
}

__device__ __forceinline__ float warp_max(float v) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(kFullMask, v, o));
  return v;
}

// Sum over the whole block (blockDim.x a multiple of 32, <= 1024); every
// thread gets the result. `red` is shared scratch of >= 32 floats.
__device__ __forceinline__ float block_sum(float v, float* red) {
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, n_warps = blockDim.x >> 5;
  v = warp_sum(v);
  __syncthreads();  // red may still be read by a previous call
  if (lane == 0) red[warp] = v;
  __syncthreads();
  float t = lane < n_warps ? red[lane] : 0.0f;
  return warp_sum(t);
}

__device__ __forceinline__ float silu_f(float v) { return v / (1.0f + __expf(-v)); }
// softplus(v) = log(1 + e^v), = v above 20 (matches native/cpu/kernel_util.h).
__device__ __forceinline__ float softplus_f(float v) { return v > 20.0f ? v : log1pf(expf(v)); }

__device__ __forceinline__ uint16_t ld_u16(const uint8_t* p) { return *reinterpret_cast<const uint16_t*>(p); }

__device__ __forceinline__ float f16_bits_to_f32(uint16_t h) {
  return __half2float(__ushort_as_half(h));
}
__device__ __forceinline__ float bf16_bits_to_f32(uint16_t b) { return __uint_as_float((uint32_t)b << 16); }

__device__ __forceinline__ float4 ld_f4(const float* p) { return *reinterpret_cast<const float4*>(p); }

inline bool aligned16(const void* p) { return (reinterpret_cast<uintptr_t>(p) & 15) == 0; }

__host__ __device__ inline int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

}  // namespace hlc
