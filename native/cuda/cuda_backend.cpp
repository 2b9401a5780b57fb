// native/cuda/cuda_backend.cpp: see cuda_backend.h. The library is looked for
// in $HYBRIDLM_CUDA_LIB, then beside this addon (build/Release or the
// prebuild folder). Every hlc_* call's status becomes a typed hl::Error.
#include "cuda_backend.h"

#include "../core/backend_registry.h"

#include <dlfcn.h>
#include <unistd.h>

#include <cstdlib>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "../../cuda/hybridlm_cuda.h"

namespace hl {

namespace {

// Function table resolved from the library.
struct CudaApi {
#define HLC_FN(name) decltype(&::name) name = nullptr;
  HLC_FN(hlc_abi_version)
  HLC_FN(hlc_last_error)
  HLC_FN(hlc_device_count)
  HLC_FN(hlc_device_info)
  HLC_FN(hlc_set_device)
  HLC_FN(hlc_malloc)
  HLC_FN(hlc_free)
  HLC_FN(hlc_memcpy_h2d)
  HLC_FN(hlc_memcpy_d2h)
  HLC_FN(hlc_memcpy_d2d)
  HLC_FN(hlc_memset)
  HLC_FN(hlc_synchronize)
  HLC_FN(hlc_rmsnorm)
  HLC_FN(hlc_gated_rmsnorm)
  HLC_FN(hlc_conv1d_causal_prefill)
  HLC_FN(hlc_conv1d_causal_step)
  HLC_FN(hlc_ssm_scan)
  HLC_FN(hlc_ssm_step)
  HLC_FN(hlc_attention)
  HLC_FN(hlc_matmul)
  HLC_FN(hlc_embed)
  HLC_FN(hlc_swiglu)
  HLC_FN(hlc_moe_route)
  HLC_FN(hlc_moe_forward)
  HLC_FN(hlc_copy_columns)
  HLC_FN(hlc_gather_rows)
  HLC_FN(hlc_add_scaled)
  HLC_FN(hlc_kv_write)
  HLC_FN(hlc_supports_dtype)
#undef HLC_FN
};

std::string addon_dir() {
  Dl_info info;
  if (dladdr(reinterpret_cast<void*>(&addon_dir), &info) && info.dli_fname) {
    std::string p = info.dli_fname;
    size_t slash = p.find_last_of('/');
    if (slash != std::string::npos) return p.substr(0, slash);
  }
  return ".";
}

// Opens the library and resolves every symbol; on failure returns null and sets `why`.
const CudaApi* open_api(std::string& why, std::string& path) {
  static std::once_flag once;
  static CudaApi api;
  static const CudaApi* result = nullptr;
  static std::string error, opened;
  std::call_once(once, [] {
    std::vector<std::string> candidates;
    if (const char* env = std::getenv("HYBRIDLM_CUDA_LIB")) candidates.push_back(env);
    candidates.push_back(addon_dir() + "/libhybridlm_cuda.so");
    void* lib = nullptr;
    std::string tried;
    for (const auto& c : candidates) {
      lib = dlopen(c.c_str(), RTLD_NOW | RTLD_LOCAL);
      if (lib) {
        opened = c;
        break;
      }
      const char* err = dlerror();  // read once: it clears itself
      tried += (tried.empty() ? "" : ", ") + c;
      // A missing file needs no detail; a present one that fails to load does.
      if (access(c.c_str(), F_OK) == 0 && err) tried += std::string(" (") + err + ")";
    }
    if (!lib) {
      error = "the CUDA library is not built (looked for " + tried + "); build it with `npm run build:cuda` where nvcc is installed";
      return;
    }
#define HLC_FN(name)                                                           \
  api.name = reinterpret_cast<decltype(api.name)>(dlsym(lib, #name));          \
  if (!api.name) {                                                             \
    error = opened + ": missing symbol " #name " (library from another version?)"; \
    return;                                                                    \
  }
    HLC_FN(hlc_abi_version) HLC_FN(hlc_last_error) HLC_FN(hlc_device_count) HLC_FN(hlc_device_info)
    HLC_FN(hlc_set_device) HLC_FN(hlc_malloc) HLC_FN(hlc_free) HLC_FN(hlc_memcpy_h2d) HLC_FN(hlc_memcpy_d2h)
    HLC_FN(hlc_memcpy_d2d) HLC_FN(hlc_memset) HLC_FN(hlc_synchronize) HLC_FN(hlc_rmsnorm) HLC_FN(hlc_gated_rmsnorm)
    HLC_FN(hlc_conv1d_causal_prefill) HLC_FN(hlc_conv1d_causal_step) HLC_FN(hlc_ssm_scan) HLC_FN(hlc_ssm_step)
    HLC_FN(hlc_attention) HLC_FN(hlc_matmul) HLC_FN(hlc_embed) HLC_FN(hlc_swiglu) HLC_FN(hlc_moe_route)
    HLC_FN(hlc_moe_forward) HLC_FN(hlc_copy_columns) HLC_FN(hlc_gather_rows) HLC_FN(hlc_add_scaled)
    HLC_FN(hlc_kv_write) HLC_FN(hlc_supports_dtype)
#undef HLC_FN
    if (api.hlc_abi_version() != HLC_ABI_VERSION) {
      error = opened + ": ABI version " + std::to_string(api.hlc_abi_version()) + ", this addon needs " +
              std::to_string(HLC_ABI_VERSION);
      return;
    }
    result = &api;
  });
  why = error;
  path = opened;
  return result;
}

class CudaBackend final : public Backend {
 public:
  CudaBackend(const CudaApi& api, int device) : api_(api) {
    check(api_.hlc_set_device(device), "set_device");
    struct hlc_device_info info {};
    check(api_.hlc_device_info(device, &info), "device_info");
    name_ = std::string("cuda:") + info.name;
  }
  ~CudaBackend() override {
    for (auto& kv : weight_copies_) api_.hlc_free(kv.second);
  }

  const char* name() const override { return "cuda"; }
  Device device() const override { return Device::CUDA; }
  int n_threads() const override { return 1; }
  bool supports(Op op, DType t) const override {
    switch (op) {
      case Op::Matmul: case Op::Embed: case Op::MoeForward: return api_.hlc_supports_dtype((int32_t)t) != 0;
      default: return t == DType::F32;
    }
  }

  void* alloc(size_t bytes) override {
    void* p = nullptr;
    check(api_.hlc_malloc(&p, bytes ? bytes : 1), "malloc");
    check(api_.hlc_memset(p, 0, bytes ? bytes : 1), "memset");
    return p;
  }
  void release(void* p) noexcept override { api_.hlc_free(p); }
  void upload(void* dst, const void* src, size_t n) override { check(api_.hlc_memcpy_h2d(dst, src, n), "upload"); }
  void download(void* dst, const void* src, size_t n) override { check(api_.hlc_memcpy_d2h(dst, src, n), "download"); }
  void copy(void* dst, const void* src, size_t n) override { check(api_.hlc_memcpy_d2d(dst, src, n), "copy"); }
  void synchronize() override { check(api_.hlc_synchronize(), "synchronize"); }

  const uint8_t* weights(const uint8_t* host, size_t bytes) override {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = weight_copies_.find(host);
    if (it != weight_copies_.end() && weight_sizes_[host] >= bytes) return static_cast<const uint8_t*>(it->second);
    void* dev = alloc(bytes);
    upload(dev, host, bytes);
    if (it != weight_copies_.end()) api_.hlc_free(it->second), weight_bytes_ -= weight_sizes_[host];
    weight_copies_[host] = dev;
    weight_sizes_[host] = bytes;
    weight_bytes_ += bytes;
    return static_cast<const uint8_t*>(dev);
  }
  uint64_t weight_copy_bytes() const override { return weight_bytes_; }

  void copy_columns(float* dst, const float* src, int64_t rows, int64_t stride, int64_t col, int64_t width) override {
    check(api_.hlc_copy_columns(dst, src, rows, stride, col, width), "copy_columns");
  }
  void gather_rows(float* dst, const float* src, const int64_t* rows, int64_t n, int64_t width) override {
    check(api_.hlc_gather_rows(dst, src, rows, n, width), "gather_rows");
  }
  void add_scaled(float* y, const float* x, float alpha, int64_t n) override {
    check(api_.hlc_add_scaled(y, x, alpha, n), "add_scaled");
  }
  void kv_write(float* const* pages, int64_t page_size, const float* src, int64_t pos0, int64_t n, int64_t n_kv,
                int64_t head_dim) override {
    int64_t n_pages = (pos0 + n + page_size - 1) / page_size;
    check(api_.hlc_kv_write(pages, n_pages, page_size, src, pos0, n, n_kv, head_dim), "kv_write");
  }

  void rmsnorm(float* y, const float* x, const float* w, int64_t n, int64_t dim, float eps) override {
    check(api_.hlc_rmsnorm(y, x, w, n, dim, eps), "rmsnorm");
  }
  void gated_rmsnorm(float* y, const float* x, const float* z, const float* w, int64_t n, int64_t dim, int64_t g,
                     float eps) override {
    check(api_.hlc_gated_rmsnorm(y, x, z, w, n, dim, g, eps), "gated_rmsnorm");
  }
  void conv1d_causal_prefill(float* out, const float* in, const float* w, const float* bias, int64_t ch, int k,
                             const int32_t* cu, int n_seqs, float* const* states) override {
    check(api_.hlc_conv1d_causal_prefill(out, in, w, bias, ch, k, cu, n_seqs, states), "conv1d_causal_prefill");
  }
  void conv1d_causal_step(float* out, const float* in, const float* w, const float* bias, int64_t ch, int k,
                          int n_seqs, float* const* states) override {
    check(api_.hlc_conv1d_causal_step(out, in, w, bias, ch, k, n_seqs, states), "conv1d_causal_step");
  }
  void ssm_scan(float* y, const float* x, const float* dt, const float* A, const float* B, const float* C,
                const float* D, const float* dt_bias, const SsmDims& d, const int32_t* cu, int n_seqs,
                float* const* states, int chunk) override {
    check(api_.hlc_ssm_scan(y, x, dt, A, B, C, D, dt_bias, &d, cu, n_seqs, states, chunk), "ssm_scan");
  }
  void ssm_step(float* y, const float* x, const float* dt, const float* A, const float* B, const float* C,
                const float* D, const float* dt_bias, const SsmDims& d, int n_seqs, float* const* states) override {
    check(api_.hlc_ssm_step(y, x, dt, A, B, C, D, dt_bias, &d, n_seqs, states), "ssm_step");
  }
  void attention(float* out, const float* q, const AttentionDims& d, const int32_t* cu, int n_seqs,
                 const KvView* kv) override {
    check(api_.hlc_attention(out, q, &d, cu, n_seqs, kv), "attention");
  }
  void matmul(float* y, const float* x, int64_t n, const WeightView& w) override {
    check(api_.hlc_matmul(y, x, n, &w), "matmul");
  }
  void embed(float* out, const WeightView& w, const int32_t* ids, int64_t n, float scale) override {
    check(api_.hlc_embed(out, &w, ids, n, scale), "embed");
  }
  void swiglu(float* out, const float* gate, const float* up, int64_t n, int64_t width) override {
    check(api_.hlc_swiglu(out, gate, up, n, width), "swiglu");
  }
  void moe_route(int32_t* ids, float* weights, const float* logits, int64_t n, int64_t e, int64_t k) override {
    check(api_.hlc_moe_route(ids, weights, logits, n, e, k), "moe_route");
  }
  void moe_forward(float* out, const float* x, const int32_t* ids, const float* weights, int64_t n, int64_t k,
                   const MoeWeights& w) override {
    check(api_.hlc_moe_forward(out, x, ids, weights, n, k, &w), "moe_forward");
  }

 private:
  void check(int status, const char* what) const {
    if (status == HLC_OK) return;
    std::string msg = std::string("cuda ") + what + ": " + (api_.hlc_last_error() ? api_.hlc_last_error() : "failed");
    switch (status) {
      case HLC_OUT_OF_MEMORY: throw Error(ErrorCode::OutOfMemory, msg);
      case HLC_UNSUPPORTED: throw Error(ErrorCode::Unsupported, msg);
      case HLC_INVALID: throw Error(ErrorCode::Argument, msg);
      default: throw Error(ErrorCode::Device, msg);
    }
  }

  const CudaApi& api_;
  std::string name_;
  std::mutex mutex_;
  std::map<const uint8_t*, void*> weight_copies_;
  std::map<const uint8_t*, size_t> weight_sizes_;
  uint64_t weight_bytes_ = 0;
};

}  // namespace

const CudaStatus& cuda_status() {
  static std::once_flag once;
  static CudaStatus status;
  std::call_once(once, [] {
    std::string why, path;
    const CudaApi* api = open_api(why, path);
    status.library_path = path;
    if (!api) {
      status.reason = why;
      return;
    }
    int count = 0;
    if (api->hlc_device_count(&count) != HLC_OK || count <= 0) {
      const char* e = api->hlc_last_error();
      status.reason = e && *e ? e : "no CUDA device found";
      return;
    }
    struct hlc_device_info info {};
    api->hlc_device_info(0, &info);
    status.available = true;
    status.device_count = count;
    status.reason = std::string(info.name) + " (sm_" + std::to_string(info.major) + std::to_string(info.minor) + ")";
  });
  return status;
}

std::unique_ptr<Backend> make_cuda_backend(int device) {
  const CudaStatus& st = cuda_status();
  HL_CHECK(st.available, Device, "CUDA is not available: " + st.reason);
  std::string why, path;
  const CudaApi* api = open_api(why, path);
  HL_CHECK(device >= 0 && device < st.device_count, Device,
           "CUDA device " + std::to_string(device) + " does not exist (" + std::to_string(st.device_count) + " found)");
  return std::make_unique<CudaBackend>(*api, device);
}

namespace {
const BackendRegistration cuda_registration{
    Device::CUDA, "cuda", [](const BackendOptions& o) { return make_cuda_backend(o.device_index); },
    []() {
      const CudaStatus& st = cuda_status();
      return BackendAvailability{st.available, st.reason};
    }};
}  // namespace

}  // namespace hl
