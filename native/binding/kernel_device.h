// native/binding/kernel_device.h: where the standalone kernel API runs an op.
// kernels.cpp reads the `device` option ('cpu' by default, or 'cuda'), asks
// the registry whether that backend can run here (DeviceError with the reason
// when not), and runs every op through the same Backend op table the executor
// uses: inputs are staged in backend memory, the op runs, results come back.
// One backend per device is created on first use and shared by all kernel
// calls; calls on one device are serialised (the CPU pool and the CUDA stream
// run one op at a time anyway).
#pragma once
#include <memory>
#include <mutex>
#include <vector>

#include "../core/backend.h"
#include "../core/backend_registry.h"
#include "../core/thread_pool.h"

namespace hl::binding {

// The shared kernel-API backend of a device, locked for the duration of one op.
class KernelBackend {
 public:
  explicit KernelBackend(Device device) : lock_(slot(device).mutex) {
    Slot& s = slot(device);
    if (!s.backend) {
      BackendOptions opts;
      opts.n_threads = default_thread_count();
      s.backend = make_backend(device, opts);
    }
    backend_ = s.backend.get();
  }
  Backend& operator*() const { return *backend_; }
  Backend* operator->() const { return backend_; }

 private:
  struct Slot {
    std::mutex mutex;
    std::unique_ptr<Backend> backend;
  };
  // Process-lifetime and never destroyed: at exit the device library (and its
  // own statics) may already be torn down, so a backend must not be freed then.
  static Slot& slot(Device device) {
    static Slot* slots = new Slot[2];
    return slots[device == Device::CUDA ? 1 : 0];
  }
  std::unique_lock<std::mutex> lock_;
  Backend* backend_ = nullptr;
};

// Host vectors staged in backend memory for one op; freed when it goes out of scope.
class Staging {
 public:
  explicit Staging(Backend& b) : b_(b) {}

  // A copy of `host` in backend memory (at least one byte even when empty).
  template <typename T>
  T* in(const std::vector<T>& host) {
    T* p = out<T>(host.size());
    if (!host.empty()) b_.upload(p, host.data(), host.size() * sizeof(T));
    return p;
  }
  // As in(), but null for an empty (absent) optional input.
  template <typename T>
  const T* optional(const std::vector<T>& host) {
    return host.empty() ? nullptr : in(host);
  }
  // Zero-filled backend memory for n values.
  template <typename T>
  T* out(size_t n) {
    buffers_.emplace_back(b_, n * sizeof(T));
    return static_cast<T*>(buffers_.back().data());
  }
  // host = the n values at dev (after the op has finished).
  template <typename T>
  void download(std::vector<T>& host, const T* dev, size_t n) {
    host.resize(n);
    b_.synchronize();
    if (n) b_.download(host.data(), dev, n * sizeof(T));
  }
  // Per-sequence pointers into one [n_seqs, per_seq] backend buffer.
  static std::vector<float*> split(float* base, int64_t n_seqs, int64_t per_seq) {
    std::vector<float*> p((size_t)n_seqs);
    for (int64_t s = 0; s < n_seqs; s++) p[s] = base + s * per_seq;
    return p;
  }

 private:
  Backend& b_;
  std::vector<DeviceBuffer> buffers_;
};

}  // namespace hl::binding
