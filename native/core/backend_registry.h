// native/core/backend_registry.h: how the executor, the kernel API and the
// binding obtain a Backend without knowing which folder implements it.
#pragma once
#include <memory>
#include <string>

#include "backend.h"

namespace hl {

struct BackendOptions {
  int n_threads = 1;     // CPU worker threads
  int device_index = 0;  // CUDA device ordinal
};

struct BackendAvailability {
  bool available = false;
  std::string reason;  // why not, or what was found (e.g. the GPU's name)
};

using BackendFactory = std::unique_ptr<Backend> (*)(const BackendOptions&);
using BackendProbe = BackendAvailability (*)();

// A backend registers itself with a static BackendRegistration in its own folder.
struct BackendRegistration {
  BackendRegistration(Device device, const char* name, BackendFactory make, BackendProbe probe);
};

// Whether `device` can run here, and why not (cached by the backend).
BackendAvailability backend_availability(Device device);
// A new backend for `device`; throws DeviceError when it is unavailable.
std::unique_ptr<Backend> make_backend(Device device, const BackendOptions& options);

}  // namespace hl
