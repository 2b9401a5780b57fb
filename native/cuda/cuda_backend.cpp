// native/cuda/cuda_backend.cpp: see cuda_backend.h. The library is the one
// named by cuda_use_library() (lib/device/ finds the @hybridlm/cuda-* package
// and probes it in a child process first; docs/ci.md), else $HYBRIDLM_CUDA_LIB,
// else beside this addon. Every hlc_* call's status becomes a typed hl::Error.
#include "cuda_backend.h"

#include "../core/backend_registry.h"

#include <dlfcn.h>
#include <unistd.h>

#include <cstdlib>
#include <mutex>
#include <string>
#include <vector>

#include "cuda_api.h"
#include "cuda_device_backend.h"

namespace hl {

namespace {

std::string addon_dir() {
  Dl_info info;
  if (dladdr(reinterpret_cast<void*>(&addon_dir), &info) && info.dli_fname) {
    std::string p = info.dli_fname;
    size_t slash = p.find_last_of('/');
    if (slash != std::string::npos) return p.substr(0, slash);
  }
  return ".";
}

std::mutex chosen_mutex;
std::string chosen_library;  // set by cuda_use_library() before the first open
bool opened_once = false;

// Opens the library and resolves every symbol; on failure returns null and sets `why`.
const CudaApi* open_api(std::string& why, std::string& path) {
  static std::once_flag once;
  static CudaApi api;
  static const CudaApi* result = nullptr;
  static std::string error, opened;
  std::call_once(once, [] {
    std::vector<std::string> candidates;
    {
      std::lock_guard<std::mutex> lock(chosen_mutex);
      opened_once = true;
      if (!chosen_library.empty()) candidates.push_back(chosen_library);
    }
    if (candidates.empty()) {
      if (const char* env = std::getenv("HYBRIDLM_CUDA_LIB")) candidates.push_back(env);
      candidates.push_back(addon_dir() + "/libhybridlm_cuda.so");
    }
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
      error = "could not open the CUDA library (tried " + tried +
              "); install @hybridlm/cuda-linux-x64, or build it with `npm run build:cuda` where nvcc is installed";
      return;
    }
#define HLC_FN(name)                                                           \
  api.name = reinterpret_cast<decltype(api.name)>(dlsym(lib, #name));          \
  if (!api.name) {                                                             \
    error = opened + ": missing symbol " #name " (library from another version?)"; \
    return;                                                                    \
  }
    HLC_REQUIRED_FNS(HLC_FN)
#undef HLC_FN
    // Later additions: null in an older library, checked where used.
#define HLC_FN(name) api.name = reinterpret_cast<decltype(api.name)>(dlsym(lib, #name));
    HLC_OPTIONAL_FNS(HLC_FN)
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

}  // namespace

bool cuda_use_library(const std::string& path) {
  std::lock_guard<std::mutex> lock(chosen_mutex);
  if (opened_once) return false;
  chosen_library = path;
  return true;
}

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
    for (int d = 0; d < count; d++) {
      struct hlc_device_info info {};
      if (api->hlc_device_info(d, &info) != HLC_OK) continue;
      status.devices.push_back({info.name, info.major, info.minor, info.total_memory});
      status.driver_version = info.driver_version;
      status.runtime_version = info.runtime_version;
    }
    if (status.devices.empty()) {
      const char* e = api->hlc_last_error();
      status.reason = std::string("CUDA device info failed: ") + (e && *e ? e : "unknown error");
      return;
    }
    const CudaDeviceInfo& first = status.devices.front();
    status.available = true;
    status.device_count = count;
    status.reason = first.name + " (sm_" + std::to_string(first.major) + std::to_string(first.minor) + ")";
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
  return make_cuda_device_backend(*api, device);
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
