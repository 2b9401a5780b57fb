// native/model/weights.cpp: see weights.h.
#include "weights.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <exception>
#include <thread>

#include "../core/thread_pool.h"
#include "quantize.h"

namespace hl {

MappedFile::MappedFile(const std::string& path) : path_(path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  HL_CHECK(fd >= 0, Format, path + ": cannot open (" + std::strerror(errno) + ")");
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    ::close(fd);
    throw Error(ErrorCode::Format, path + ": cannot stat (" + std::strerror(errno) + ")");
  }
  size_ = (uint64_t)st.st_size;
  if (size_ > 0) {
    void* p = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd, 0);
    if (p == MAP_FAILED) {
      ::close(fd);
      throw Error(ErrorCode::OutOfMemory, path + ": mmap failed (" + std::strerror(errno) + ")");
    }
    data_ = static_cast<const uint8_t*>(p);
  }
  ::close(fd);
}

MappedFile::~MappedFile() {
  if (data_) ::munmap(const_cast<uint8_t*>(data_), size_);
}

static std::string shape_str(const std::vector<int64_t>& s) {
  std::string out = "[";
  for (size_t i = 0; i < s.size(); i++) out += (i ? ", " : "") + std::to_string(s[i]);
  return out + "]";
}

WeightStore::WeightStore(const std::vector<std::string>& paths, const std::vector<uint64_t>& expected_sizes,
                         std::vector<TensorRecord> records, DType quantize)
    : quantize_(quantize) {
  HL_CHECK(quantize == DType::F32 || quantize == DType::Q8_0 || quantize == DType::Q4_K, Argument,
           std::string("weights: cannot quantize on load to ") + dtype_name(quantize) + " (only Q8_0 and Q4_K)");
  HL_CHECK(paths.size() == expected_sizes.size() && !paths.empty(), Argument,
           "weights: files and fileSizes must be non-empty and of equal length");
  for (size_t i = 0; i < paths.size(); i++) {
    auto f = std::make_unique<MappedFile>(paths[i]);
    HL_CHECK(f->size() == expected_sizes[i], Format,
             paths[i] + ": file is " + std::to_string(f->size()) + " bytes, the loader validated " +
                 std::to_string(expected_sizes[i]) + " (changed on disk?)");
    files_.push_back(std::move(f));
  }
  const uint64_t limit = uint64_t(1) << 52;
  for (auto& r : records) {
    const std::string where = paths.at(0) + ": tensor '" + r.source_name + "'";
    HL_CHECK(r.file >= 0 && (size_t)r.file < files_.size(), Format, where + ": file index out of range");
    const std::string& fpath = files_[r.file]->path();
    const std::string at = fpath + ": tensor '" + r.source_name + "'";
    HL_CHECK(!r.shape.empty() && r.shape.size() <= 3, Shape, at + ": rank " + std::to_string(r.shape.size()) + " not in 1..3");
    for (int64_t d : r.shape) HL_CHECK(d > 0 && (uint64_t)d < limit, Shape, at + ": bad dimension in " + shape_str(r.shape));
    int64_t cols = r.shape.back();
    HL_CHECK(cols % dtype_block_size(r.dtype) == 0, Format,
             at + ": row length " + std::to_string(cols) + " is not a multiple of the " + dtype_name(r.dtype) +
                 " block size " + std::to_string(dtype_block_size(r.dtype)));
    uint64_t row = (uint64_t)dtype_row_bytes(r.dtype, cols);
    int64_t rows = r.shape.size() >= 2 ? r.shape[r.shape.size() - 2] : 1;
    int64_t mats = r.shape.size() == 3 ? r.shape[0] : 1;
    if (r.shape.size() == 1) r.row_bytes = row;
    if (r.shape.size() < 3) r.matrix_bytes = (uint64_t)rows * r.row_bytes;
    HL_CHECK(r.row_bytes >= row && r.row_bytes < limit && r.matrix_bytes < limit && r.offset < limit, Format,
             at + ": row stride " + std::to_string(r.row_bytes) + " is smaller than a row (" + std::to_string(row) + " bytes)");
    // extent of the last byte touched, in 128-bit-safe steps (all factors < 2^52, products checked)
    long double ext = (long double)r.offset + (long double)(mats - 1) * r.matrix_bytes +
                      (long double)(rows - 1) * r.row_bytes + row;
    HL_CHECK(ext <= (long double)files_[r.file]->size(), Format,
             at + ": data [" + std::to_string(r.offset) + ", " + std::to_string((uint64_t)ext) +
                 ") extends past the end of the file (" + std::to_string(files_[r.file]->size()) + " bytes)");
    r.data_bytes = (uint64_t)mats * rows * row;
    std::string key = r.name;
    HL_CHECK(!records_.count(key), Format, at + ": duplicate canonical tensor '" + key + "'");
    records_.emplace(key, std::move(r));
  }
  if (quantize_ == DType::Q4_K) {
    std::vector<std::string> names;
    for (const auto& kv : records_) names.push_back(kv.first);
    mix_ = Q4KMix(names);
  }
}

const TensorRecord& WeightStore::record(const std::string& name) const {
  auto it = records_.find(name);
  HL_CHECK(it != records_.end(), Format, files_[0]->path() + ": missing tensor '" + name + "'");
  return it->second;
}

const uint8_t* WeightStore::base(const TensorRecord& r) const {
  return r.owned ? r.owned : files_[r.file]->data() + r.offset;
}

// One row of a float tensor as f32 (no transform).
static void widen_row(DType t, const uint8_t* src, float* out, int64_t cols) {
  for (int64_t j = 0; j < cols; j++) {
    if (t == DType::F32) {
      std::memcpy(&out[j], src + 4 * j, 4);
    } else {
      uint16_t h;
      std::memcpy(&h, src + 2 * j, 2);
      out[j] = t == DType::F16 ? f16_to_f32(h) : bf16_to_f32(h);
    }
  }
}

DType WeightStore::quantize_target(const TensorRecord& r) const {
  if (quantize_ == DType::F32 || r.owned) return DType::F32;
  if (r.dtype != DType::F32 && r.dtype != DType::F16 && r.dtype != DType::BF16) return DType::F32;
  if (r.shape.size() < 2 || r.transform != TensorTransform::None) return DType::F32;
  static const std::string router = "ffn_gate_inp";
  if (r.name.size() >= router.size() && r.name.compare(r.name.size() - router.size(), router.size(), router) == 0)
    return DType::F32;
  const int64_t cols = r.shape.back();
  const DType want = quantize_ == DType::Q4_K ? mix_.type_of(r.name) : quantize_;
  if (cols % dtype_block_size(want) == 0) return want;
  if (cols % dtype_block_size(DType::Q8_0) == 0) return DType::Q8_0;
  return DType::F32;
}

// Converts r ([rows, cols] or [E, rows, cols], any strides) into contiguous
// rows of `target` blocks, split over the machine's cores by rows, and points
// r at the owned copy. The mapped source pages are dropped from this
// process's resident set afterwards (read-only private mapping: they would
// simply be read from the file again if touched).
void WeightStore::quantize_tensor(TensorRecord& r, DType target) {
  const int64_t cols = r.shape.back();
  const int64_t rows = r.shape[r.shape.size() - 2];
  const int64_t mats = r.shape.size() == 3 ? r.shape[0] : 1;
  const int64_t n_rows = mats * rows;
  const uint64_t qrow = (uint64_t)dtype_row_bytes(target, cols);
  Buffer buf((size_t)(qrow * (uint64_t)n_rows));
  uint8_t* dst = static_cast<uint8_t*>(buf.data());
  const uint8_t* src = base(r);
  const DType from = r.dtype;
  const uint64_t row_stride = r.row_bytes, mat_stride = r.matrix_bytes;
  auto work = [&](int64_t begin, int64_t end) {
    std::vector<float> row((size_t)cols);
    for (int64_t k = begin; k < end; k++) {
      widen_row(from, src + (uint64_t)(k / rows) * mat_stride + (uint64_t)(k % rows) * row_stride, row.data(), cols);
      quantize_row(target, row.data(), cols, dst + (uint64_t)k * qrow);
    }
  };
  const int64_t work_items = n_rows * cols;
  const int n_threads = (int)std::min<int64_t>({(int64_t)default_thread_count(), n_rows,
                                                 std::max<int64_t>(1, work_items / (1 << 16))});
  if (n_threads <= 1) {
    work(0, n_rows);
  } else {
    std::vector<std::thread> threads;
    std::vector<std::exception_ptr> errors((size_t)n_threads);
    for (int t = 0; t < n_threads; t++) {
      threads.emplace_back([&, t]() {
        try {
          work(n_rows * t / n_threads, n_rows * (t + 1) / n_threads);
        } catch (...) {
          errors[(size_t)t] = std::current_exception();
        }
      });
    }
    for (auto& th : threads) th.join();
    for (auto& e : errors)
      if (e) std::rethrow_exception(e);
  }
  if (!r.owned) {
    const uint64_t extent = (uint64_t)(mats - 1) * mat_stride + (uint64_t)(rows - 1) * row_stride +
                            (uint64_t)dtype_row_bytes(from, cols);
    const uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
    uintptr_t lo = ((uintptr_t)src + page - 1) / page * page, hi = ((uintptr_t)src + extent) / page * page;
    if (page > 0 && hi > lo) ::madvise(reinterpret_cast<void*>(lo), hi - lo, MADV_DONTNEED);
  }
  r.owned = dst;
  r.dtype = target;
  r.row_bytes = qrow;
  r.matrix_bytes = (uint64_t)rows * qrow;
  r.data_bytes = (uint64_t)n_rows * qrow;
  quantized_[r.name] = std::move(buf);
}

WeightView WeightStore::matrix(const std::string& name, int64_t rows, int64_t cols) {
  record(name);  // throws naming the tensor if it is missing
  TensorRecord& r = records_.at(name);
  HL_CHECK(r.shape.size() >= 2, Shape, files_[r.file]->path() + ": tensor '" + r.source_name + "' must be a matrix");
  const std::vector<int64_t> tail(r.shape.end() - 2, r.shape.end()), expected{rows, cols};
  HL_CHECK(tail == expected, Shape,
           files_[r.file]->path() + ": tensor '" + r.source_name + "' has shape " + shape_str(tail) + ", expected " +
               shape_str(expected));
  const DType target = quantize_target(r);
  if (target != DType::F32) quantize_tensor(r, target);
  WeightView v;
  v.data = base(r);
  v.dtype = r.dtype;
  v.rows = rows;
  v.cols = cols;
  v.row_bytes = (int64_t)r.row_bytes;
  return v;
}

const float* WeightStore::vector_f32(const std::string& name, int64_t numel) {
  auto it = owned_.find(name);
  if (it != owned_.end()) return it->second.f32();
  const TensorRecord& r = record(name);
  int64_t n = 1;
  for (int64_t d : r.shape) n *= d;
  HL_CHECK(n == numel, Shape,
           files_[r.file]->path() + ": tensor '" + r.source_name + "' has " + std::to_string(n) + " elements, expected " +
               std::to_string(numel));
  HL_CHECK(r.dtype == DType::F32 || r.dtype == DType::F16 || r.dtype == DType::BF16, Unsupported,
           files_[r.file]->path() + ": tensor '" + r.source_name + "' must be F32/F16/BF16, got " + dtype_name(r.dtype));
  Buffer buf(sizeof(float) * numel);
  float* out = buf.f32();
  int64_t cols = r.shape.back();
  int64_t rows = numel / cols;
  for (int64_t i = 0; i < rows; i++) {
    float* o = out + i * cols;
    widen_row(r.dtype, base(r) + i * r.row_bytes, o, cols);
    if (r.transform == TensorTransform::NegExp)
      for (int64_t j = 0; j < cols; j++) o[j] = -std::exp(o[j]);
  }
  const float* p = buf.f32();
  owned_.emplace(name, std::move(buf));
  return p;
}

uint64_t WeightStore::bytes() const {
  // A tensor widened into an owned copy no longer counts its mapped bytes.
  uint64_t b = 0;
  for (auto& kv : records_) b += owned_.count(kv.first) ? owned_.at(kv.first).bytes() : kv.second.data_bytes;
  return b;
}

}  // namespace hl
