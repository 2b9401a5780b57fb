// native/model/weights.cpp: see weights.h.
#include "weights.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstring>

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
                         std::vector<TensorRecord> records) {
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
}

const TensorRecord& WeightStore::record(const std::string& name) const {
  auto it = records_.find(name);
  HL_CHECK(it != records_.end(), Format, files_[0]->path() + ": missing tensor '" + name + "'");
  return it->second;
}

const uint8_t* WeightStore::base(const TensorRecord& r) const { return files_[r.file]->data() + r.offset; }

void WeightStore::check_shape(const TensorRecord& r, const std::vector<int64_t>& expected) const {
  HL_CHECK(r.shape == expected, Shape,
           files_[r.file]->path() + ": tensor '" + r.source_name + "' has shape " + shape_str(r.shape) +
               ", expected " + shape_str(expected));
}

WeightView WeightStore::matrix(const std::string& name, int64_t rows, int64_t cols) const {
  const TensorRecord& r = record(name);
  HL_CHECK(r.shape.size() >= 2, Shape, files_[r.file]->path() + ": tensor '" + r.source_name + "' must be a matrix");
  std::vector<int64_t> tail(r.shape.end() - 2, r.shape.end());
  check_shape(TensorRecord{r.name, r.source_name, r.file, 0, r.dtype, tail}, {rows, cols});
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
    const uint8_t* src = base(r) + i * r.row_bytes;
    for (int64_t j = 0; j < cols; j++) {
      float v;
      if (r.dtype == DType::F32) {
        std::memcpy(&v, src + 4 * j, 4);
      } else {
        uint16_t h;
        std::memcpy(&h, src + 2 * j, 2);
        v = r.dtype == DType::F16 ? f16_to_f32(h) : bf16_to_f32(h);
      }
      out[i * cols + j] = r.transform == TensorTransform::NegExp ? -std::exp(v) : v;
    }
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
