// native/cuda/cuda_backend.h: finds and opens libhybridlm_cuda (cuda/) at run
// time. The CPU addon never links CUDA: without the library, a driver or a
// device, cuda_status() says why and make_cuda_backend() throws DeviceError.
#pragma once
#include <memory>
#include <string>

#include "../core/backend.h"

namespace hl {

struct CudaStatus {
  bool available = false;
  std::string reason;        // why not, or the device name when available
  std::string library_path;  // the library that was opened (if any)
  int device_count = 0;
};

// Probes once (cached): library present, ABI matches, a device visible.
const CudaStatus& cuda_status();

// A backend running every op on CUDA device `device`.
std::unique_ptr<Backend> make_cuda_backend(int device);

}  // namespace hl
