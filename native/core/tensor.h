// native/core/tensor.h: TensorView (non-owning), Buffer (owning, aligned),
// WeightView (a matrix of weight rows in any supported dtype).
// Shapes are outermost-first (PyTorch order); the innermost dim is contiguous.
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <new>
#include <string>
#include <utility>

#include "dtype.h"
#include "error.h"

namespace hl {

enum class Device { CPU = 0, CUDA = 1 };

struct TensorView {
  void* data = nullptr;
  DType dtype = DType::F32;
  Device device = Device::CPU;
  int rank = 0;
  int64_t shape[4] = {0, 0, 0, 0};

  int64_t numel() const {
    int64_t n = 1;
    for (int i = 0; i < rank; i++) n *= shape[i];
    return n;
  }
  float* f32() const { return static_cast<float*>(data); }
};

// A row-major matrix of `rows` weight rows, each `cols` elements long, stored
// in `dtype` (blocks along cols for quantized types). Rows are `row_bytes`
// apart, so views into a bigger tensor (an expert, the gate half of a fused
// gate|up projection) need no copy.
struct WeightView {
  const uint8_t* data = nullptr;
  DType dtype = DType::F32;
  int64_t rows = 0;
  int64_t cols = 0;
  int64_t row_bytes = 0;

  const uint8_t* row(int64_t r) const { return data + r * row_bytes; }
  // Rows [begin, begin + n) as a view of their own.
  WeightView slice_rows(int64_t begin, int64_t n) const {
    WeightView v = *this;
    v.data = data + begin * row_bytes;
    v.rows = n;
    return v;
  }
};

// Owning, 64-byte aligned, zero-initialised host memory.
class Buffer {
 public:
  Buffer() = default;
  explicit Buffer(size_t bytes) { allocate(bytes); }
  ~Buffer() { std::free(ptr_); }
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;
  Buffer(Buffer&& o) noexcept : ptr_(o.ptr_), bytes_(o.bytes_) { o.ptr_ = nullptr; o.bytes_ = 0; }
  Buffer& operator=(Buffer&& o) noexcept {
    if (this != &o) {
      std::free(ptr_);
      ptr_ = o.ptr_; bytes_ = o.bytes_;
      o.ptr_ = nullptr; o.bytes_ = 0;
    }
    return *this;
  }

  void allocate(size_t bytes) {
    std::free(ptr_);
    ptr_ = nullptr;
    bytes_ = 0;
    if (bytes == 0) return;
    size_t rounded = (bytes + 63) / 64 * 64;
    ptr_ = std::aligned_alloc(64, rounded);
    if (!ptr_) throw Error(ErrorCode::OutOfMemory, "out of memory allocating " + std::to_string(bytes) + " bytes");
    std::memset(ptr_, 0, rounded);
    bytes_ = bytes;
  }
  // Grow (never shrink) keeping no contents: scratch space reused across steps.
  void reserve(size_t bytes) { if (bytes > bytes_) allocate(bytes); }

  void* data() const { return ptr_; }
  float* f32() const { return static_cast<float*>(ptr_); }
  size_t bytes() const { return bytes_; }

 private:
  void* ptr_ = nullptr;
  size_t bytes_ = 0;
};

}  // namespace hl
