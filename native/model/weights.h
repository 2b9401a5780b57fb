// native/model/weights.h: model files memory-mapped read-only, and the tensor
// table the TS loader validated. Big matrices are used in place (never
// copied); small vectors (norms, conv, A, D, dt_bias) are widened once to
// owned f32 buffers. Every offset/extent is re-checked here against the
// mapped file size before any pointer is formed.
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "../core/tensor.h"

namespace hl {

class MappedFile {
 public:
  explicit MappedFile(const std::string& path);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  const uint8_t* data() const { return data_; }
  uint64_t size() const { return size_; }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  const uint8_t* data_ = nullptr;
  uint64_t size_ = 0;
};

enum class TensorTransform { None, NegExp };

// One entry of the loader's tensor table (lib/loaders/types.ts TensorEntry).
struct TensorRecord {
  std::string name;         // canonical name
  std::string source_name;  // name in the file
  int file = 0;
  uint64_t offset = 0;
  DType dtype = DType::F32;
  std::vector<int64_t> shape;  // outermost first, rank 1..3
  uint64_t row_bytes = 0;
  uint64_t matrix_bytes = 0;
  TensorTransform transform = TensorTransform::None;
  uint64_t data_bytes = 0;  // bytes of tensor data (set on validation)
};

class WeightStore {
 public:
  // Maps the files (checking their sizes against the loader's) and validates
  // every record's extent.
  WeightStore(const std::vector<std::string>& paths, const std::vector<uint64_t>& expected_sizes,
              std::vector<TensorRecord> records);

  bool has(const std::string& name) const { return records_.count(name) != 0; }
  const TensorRecord& record(const std::string& name) const;

  // A [rows, cols] matrix (rank 2), or expert 0 of a [E, rows, cols] tensor.
  WeightView matrix(const std::string& name, int64_t rows, int64_t cols) const;
  // Bytes between experts of a rank-3 tensor.
  uint64_t expert_stride(const std::string& name) const { return record(name).matrix_bytes; }
  // A tensor widened to f32 (transform applied), owned here; checks numel.
  const float* vector_f32(const std::string& name, int64_t numel);

  // Bytes this store holds: mapped tensor bytes referenced + owned f32 copies.
  uint64_t bytes() const;

 private:
  void check_shape(const TensorRecord& r, const std::vector<int64_t>& expected) const;
  const uint8_t* base(const TensorRecord& r) const;

  std::vector<std::unique_ptr<MappedFile>> files_;
  std::map<std::string, TensorRecord> records_;
  std::map<std::string, Buffer> owned_;
};

}  // namespace hl
