// native/cuda/weight_mirror.h: device copies of the model's weights, one per
// byte range of host memory, however many views point into it.
// Backend::weights(host, bytes) is called once per view while the executor
// binds, and views overlap: an HF checkpoint's fused input_linear is split
// into gate and up row views of the same bytes, the tied lm_head is the
// embedding. Uploading per view would copy those bytes twice (gigabytes for
// an MoE model), and a device pointer handed out for the first view cannot
// be moved when a later view widens the range. So the mirror hands out the
// HOST address as the view's handle, merges overlapping ranges as they come,
// uploads each merged range once (flush(), before the next op runs), and
// translates a handle to its device address when an op is issued. Host and
// device pointers share one address space (UVA on 64-bit Linux), so a
// pointer that is not a handle (an activation) translates to itself.
#pragma once
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <vector>

namespace hl {

class WeightMirror {
 public:
  using AllocFn = std::function<void*(size_t)>;                        // throws on failure
  using UploadFn = std::function<void(void* dst, const void* src, size_t)>;
  using FreeFn = std::function<void(void*)>;
  using SyncFn = std::function<void()>;

  // Registers [host, host + bytes) (nothing is copied yet); returns the handle.
  const uint8_t* add(const uint8_t* host, size_t bytes);
  // Whether add() left ranges to upload.
  bool pending() const { return pending_; }
  // Uploads every pending range (one allocation each). Ranges replaced by a
  // wider merge are freed after sync() (kernels may still read them).
  void flush(const AllocFn& alloc, const UploadFn& upload, const FreeFn& free, const SyncFn& sync);
  // Device address of a handle (or of any address inside a registered range);
  // anything else is returned unchanged. Call after flush().
  template <typename T> T* translate(T* p) const {
    return static_cast<T*>(translate_raw(const_cast<void*>(static_cast<const void*>(p))));
  }
  // Bytes held on the device (merged ranges).
  uint64_t bytes() const { return bytes_; }
  // Number of merged ranges.
  size_t ranges() const { return ranges_.size(); }
  // Frees every device copy (the destructor of the owner calls this).
  void clear(const FreeFn& free);

 private:
  void* translate_raw(void* p) const;
  struct Range {
    uintptr_t end;
    void* dev;  // null while pending
  };
  std::map<uintptr_t, Range> ranges_;  // keyed by start, disjoint
  std::vector<void*> retired_;         // device copies of ranges merged away
  uint64_t bytes_ = 0;
  bool pending_ = false;
};

}  // namespace hl
