// native/cuda/cuda_backend.h: finds and opens libhybridlm_cuda (cuda/) at run
// time. The CPU addon never links CUDA: without the library, a driver or a
// device, cuda_status() says why and make_cuda_backend() throws DeviceError.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "../core/backend.h"

namespace hl {

struct CudaDeviceInfo {
  std::string name;
  int major = 0, minor = 0;  // compute capability
  uint64_t total_memory = 0;
};

struct CudaStatus {
  bool available = false;
  std::string reason;        // why not, or the device name when available
  std::string library_path;  // the library that was opened (if any)
  int device_count = 0;
  int driver_version = 0;    // e.g. 13000 (0 when unknown)
  int runtime_version = 0;   // the CUDA runtime the library was built with
  std::vector<CudaDeviceInfo> devices;
};

// Names the library to open instead of $HYBRIDLM_CUDA_LIB / beside the addon.
// Only before the first cuda_status(); returns false when that already ran.
bool cuda_use_library(const std::string& path);

// Probes once (cached): library present, ABI matches, a device visible.
const CudaStatus& cuda_status();

// A backend running every op on CUDA device `device`.
std::unique_ptr<Backend> make_cuda_backend(int device);

}  // namespace hl
