// cuda/hybridlm_cuda.h: the C ABI of libhybridlm_cuda (built by nvcc when
// present). The CPU addon dlopen()s the library only when CUDA is requested
// or 'auto' finds a device, resolves these symbols, and wraps them in a
// Backend (native/core/backend.h). Every function returns 0 on success or a
// non-zero hlc_status; hlc_last_error() then holds a message (thread-local).
// Pointers passed to ops are DEVICE pointers unless noted; the parameter
// structs (native/core/op_types.h, tensor.h) are passed by host pointer and
// have identical layout in both libraries (plain PODs, same compiler ABI).
// Op semantics, layouts and preconditions: native/cpu/kernels.h — each CUDA
// op is the twin of the CPU kernel of the same name.
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "../native/core/op_types.h"
#include "../native/core/tensor.h"

#define HLC_ABI_VERSION 1

extern "C" {

enum hlc_status {
  HLC_OK = 0,
  HLC_NO_DEVICE = 1,     // no driver / no device / insufficient driver
  HLC_OUT_OF_MEMORY = 2,
  HLC_UNSUPPORTED = 3,   // dtype / shape / arch not supported by this build
  HLC_LAUNCH_FAILED = 4,
  HLC_INVALID = 5,       // bad argument
  HLC_DEVICE_LOST = 6,   // a sticky CUDA error (kernel fault, ...) killed the context:
                         // every later call returns this too; reload in a new process
};

struct hlc_device_info {
  char name[256];
  int major, minor;            // compute capability
  int multiprocessors;
  uint64_t total_memory;       // bytes
  uint64_t free_memory;        // bytes
  int driver_version;          // e.g. 13000
  int runtime_version;
  double memory_bandwidth_gbs; // theoretical, from clock * bus width (0 if unknown)
};

int hlc_abi_version(void);
const char* hlc_last_error(void);

// Device discovery. Never aborts: no driver or device -> HLC_NO_DEVICE.
int hlc_device_count(int* count);
int hlc_device_info(int device, struct hlc_device_info* out);
int hlc_set_device(int device);

// Memory (device, stream-ordered on the library's stream). h2d from pageable
// memory returns once the source is staged (the caller may reuse it); from
// pinned memory the copy is asynchronous: keep the buffer until
// hlc_synchronize(). d2h synchronises the stream before returning.
int hlc_malloc(void** ptr, size_t bytes);
int hlc_free(void* ptr);
int hlc_memcpy_h2d(void* dst, const void* src, size_t bytes);
int hlc_memcpy_d2h(void* dst, const void* src, size_t bytes);
int hlc_memcpy_d2d(void* dst, const void* src, size_t bytes);
int hlc_memset(void* dst, int value, size_t bytes);
int hlc_synchronize(void);

// Ops: the twins of native/cpu/kernels.h (no ThreadPool argument). Host
// arrays: cu_seqlens (copied by the library), states (arrays of device
// pointers, copied), kv (array of n_seqs KvView whose page arrays are host
// arrays of device pointers, copied).
int hlc_rmsnorm(float* y, const float* x, const float* w, int64_t n_tokens, int64_t dim, float eps);
int hlc_gated_rmsnorm(float* y, const float* x, const float* z, const float* w, int64_t n_tokens, int64_t dim,
                      int64_t n_groups, float eps);
int hlc_conv1d_causal_prefill(float* out, const float* in, const float* w, const float* bias, int64_t channels,
                              int d_conv, const int32_t* cu_seqlens, int n_seqs, float* const* states);
int hlc_conv1d_causal_step(float* out, const float* in, const float* w, const float* bias, int64_t channels, int d_conv,
                           int n_seqs, float* const* states);
int hlc_ssm_scan(float* y, const float* x, const float* dt_raw, const float* A, const float* B, const float* C,
                 const float* D, const float* dt_bias, const hl::SsmDims* dims, const int32_t* cu_seqlens, int n_seqs,
                 float* const* states, int chunk_size);
int hlc_ssm_step(float* y, const float* x, const float* dt_raw, const float* A, const float* B, const float* C,
                 const float* D, const float* dt_bias, const hl::SsmDims* dims, int n_seqs, float* const* states);
int hlc_attention(float* out, const float* q, const hl::AttentionDims* dims, const int32_t* cu_seqlens, int n_seqs,
                  const hl::KvView* kv);
int hlc_matmul(float* y, const float* x, int64_t n_tokens, const hl::WeightView* w);
int hlc_embed(float* out, const hl::WeightView* w, const int32_t* ids, int64_t n_tokens, float scale);
int hlc_swiglu(float* out, const float* gate, const float* up, int64_t n_tokens, int64_t n);
int hlc_moe_route(int32_t* ids, float* weights, const float* logits, int64_t n_tokens, int64_t n_experts,
                  int64_t top_k);
int hlc_moe_forward(float* out, const float* x, const int32_t* ids, const float* weights, int64_t n_tokens,
                    int64_t top_k, const hl::MoeWeights* w);
// (Addition.) Decode path of hlc_moe_forward: 1 (default) = up to 8 tokens run
// the grouped GEMV (gate|up + SwiGLU in one kernel, down + routing weights +
// the sum over the top_k in another); 0 = always the grouped GEMM tiles
// (benchmarks and tests compare the two). Results agree to f32 rounding.
int hlc_moe_decode_gemv(int on);
// Data movement between ops (twins of the CPU backend's, native/core/backend.h).
int hlc_copy_columns(float* dst, const float* src, int64_t rows, int64_t src_stride, int64_t col, int64_t width);
// rows: HOST array of n row indices (copied by the library).
int hlc_gather_rows(float* dst, const float* src, const int64_t* rows, int64_t n, int64_t width);
int hlc_add_scaled(float* y, const float* x, float alpha, int64_t n);
// pages: HOST array of device page pointers (copied); layout of kv_write in backend.h.
int hlc_kv_write(float* const* pages, int64_t n_pages, int64_t page_size, const float* src, int64_t pos0, int64_t n,
                 int64_t n_kv_heads, int64_t head_dim);

// Which weight dtypes hlc_matmul / hlc_embed / hlc_moe_forward accept
// (1 = yes): F32, F16, BF16, Q8_0, Q4_0, Q4_K, Q5_K, Q6_K.
int hlc_supports_dtype(int32_t dtype);

// Later additions (ABI version unchanged: additions only).
// Greedy sampling on the device: out[r] = argmax_v logits[r, v] (ties -> the
// lowest index; NaN entries skipped). logits [rows, vocab] f32; out [rows] int32.
int hlc_argmax(const float* logits, int32_t* out, int64_t rows, int64_t vocab);
// The executor's greedy pick (addition; optional in the bridge): the argmax of
// logits[r, v] / divisor (IEEE division, as the host divides logits by
// logits_scaling), first index on ties, NaN never wins, a NaN at index 0
// gives 0 — the CPU's rule, so the token equals the host sampler's.
int hlc_argmax_scaled(const float* logits, int32_t* out, int64_t rows, int64_t vocab, float divisor);
// Tensor-core kernel paths: -1 = auto (the policy per arch and weight format,
// docs/cuda/README.md "Tensor-core policy"), 0 = force the f32 SIMT paths,
// 1 = every tensor-core path the device has (HLC_UNSUPPORTED below sm_75):
// int8 mma for the block weight types and two-product f16 mma for F16 weights
// from sm_75; bf16 mma and 3xTF32 (F32 weights, SSD, attention prefill) from
// sm_80. Auto runs int8/f16/bf16 everywhere they exist and 3xTF32 only on
// sm_80/90/100 (TF32 = 1-2x f32 throughput elsewhere, so three products lose).
// The environment can override auto with HLC_TENSOR_CORES=0|1
// (HLC_DISABLE_TENSOR_CORES=1 is the older spelling of 0).
int hlc_use_tensor_cores(int mode);
// 1 when the 3xTF32 paths (F32 weights, SSD, attention prefill) run for the
// current device and mode, else 0.
int hlc_tensor_cores_active(void);

// Added by CUDA round 2 (additions only; the bridge treats them as optional).
// 1 once a sticky CUDA error has killed the context (see HLC_DEVICE_LOST).
int hlc_device_lost(void);
// Kernel launches and API copies (h2d/d2h/d2d/memset, argument uploads)
// issued since the library was loaded: launches per token = the difference
// across one decode step. Either pointer may be null.
int hlc_counters(uint64_t* launches, uint64_t* copies);
// KV caches of f16 elements. kv_dtype / dtype: 0 = F32 (hlc_attention /
// hlc_kv_write), 1 = F16; offsets in KvView and the kv_write layout count
// elements of that type (a page of f16 KV is half the bytes). Anything else:
// HLC_UNSUPPORTED. f16 values are written round-to-nearest-even and read
// back exactly; attention accumulates in f32.
int hlc_attention_kv(float* out, const float* q, const hl::AttentionDims* dims, const int32_t* cu_seqlens, int n_seqs,
                     const hl::KvView* kv, int32_t kv_dtype);
int hlc_kv_write_typed(float* const* pages, int64_t n_pages, int64_t page_size, const float* src, int64_t pos0,
                       int64_t n, int64_t n_kv_heads, int64_t head_dim, int32_t dtype);

// Strided inputs (additions; optional in the bridge): the same ops reading
// their per-token inputs as column views of wider buffers (z of the in_proj
// output, xBC, and x / B / C of the conv output), so the executor needs no
// copy_columns before them. A stride is the floats from one token's row to the
// next; 0 = contiguous (the row width); otherwise at least the row width.
// Outputs stay contiguous.
int hlc_gated_rmsnorm_strided(float* y, const float* x, const float* z, const float* w, int64_t n_tokens, int64_t dim,
                              int64_t n_groups, float eps, int64_t z_stride);
int hlc_conv1d_causal_prefill_strided(float* out, const float* in, const float* w, const float* bias, int64_t channels,
                                      int d_conv, const int32_t* cu_seqlens, int n_seqs, float* const* states,
                                      int64_t in_stride);
int hlc_conv1d_causal_step_strided(float* out, const float* in, const float* w, const float* bias, int64_t channels,
                                   int d_conv, int n_seqs, float* const* states, int64_t in_stride);
// x_stride: rows of x; dt_stride: rows of dt_raw; bc_stride: rows of B and of C.
int hlc_ssm_scan_strided(float* y, const float* x, const float* dt_raw, const float* A, const float* B, const float* C,
                         const float* D, const float* dt_bias, const hl::SsmDims* dims, const int32_t* cu_seqlens,
                         int n_seqs, float* const* states, int chunk_size, int64_t x_stride, int64_t dt_stride,
                         int64_t bc_stride);
int hlc_ssm_step_strided(float* y, const float* x, const float* dt_raw, const float* A, const float* B, const float* C,
                         const float* D, const float* dt_bias, const hl::SsmDims* dims, int n_seqs,
                         float* const* states, int64_t x_stride, int64_t dt_stride, int64_t bc_stride);
// ys[i] = x · ws[i]ᵀ for i < n_mats (q/k/v of a layer, gate/up): the same
// results as n_mats hlc_matmul calls; in decode (n_tokens <= 8) with integer
// weights of one activation block and K the activations are quantized once.
// ys, ws: host arrays (ws[i].data device pointers).
int hlc_matmul_multi(float* const* ys, const float* x, int64_t n_tokens, const hl::WeightView* ws, int n_mats);
// The residual add fused with the norm of its sum (addition; optional in the
// bridge): h += alpha * branch, then u = rmsnorm(h) * w; h, u, branch
// [n_tokens, dim]. One launch instead of add_scaled + rmsnorm.
int hlc_add_rmsnorm(float* h, float* u, const float* branch, float alpha, const float* w, int64_t n_tokens, int64_t dim,
                    float eps);

// Decode steps as CUDA graphs (additions; optional in the bridge; design:
// docs/cuda/README.md, Decode as a CUDA graph). The ops issued between
// hlc_graph_begin and hlc_graph_end do not run as they are issued:
// - *mode = 1 (capture): no graph for `key` yet; the ops are captured into one.
// - *mode = 2 (replay): a graph for `key` exists; each op only writes its host
//   arguments (page tables, KV positions, state pointers, work lists) into the
//   graph's argument area, at the offsets of the capture, and the library
//   checks that every value the graph froze (kernels, grid sizes, scalar
//   kernel parameters, device pointers) is the same as at the capture.
// h2d copies, memsets and d2d copies issued inside a step run before the
// step's kernels (hoisted: the step's inputs, zero fills of new buffers; never
// memory a kernel of the same step touched before); d2h copies and
// hlc_synchronize are refused inside a step. hlc_graph_end uploads the
// argument area (one copy) and launches the graph: *ran = 1 (replayed) or
// 2 (captured, then launched). *ran = 0: nothing of the step ran (the capture
// failed, or a frozen value changed: the graph is dropped; hlc_last_error()
// says why): issue the same ops again outside a graph step. A CUDA error is a
// status, as everywhere. key > 0.
int hlc_graph_begin(int64_t key, int* mode);
int hlc_graph_end(int* ran);
// Closes a step an error interrupted: its kernels never run (hoisted copies do).
int hlc_graph_abort(void);
// Drops the graph of `key` (-1: every graph) and its argument area.
int hlc_graph_drop(int64_t key);
// Graphs captured, steps replayed, and steps refused (ran = 0) since load.
int hlc_graph_counters(uint64_t* captures, uint64_t* replays, uint64_t* refused);

}  // extern "C"
