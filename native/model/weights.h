// native/model/weights.h: model files memory-mapped read-only, and the tensor
// table the TS loader validated. Big matrices are used in place (never
// copied); small vectors (norms, conv, A, D, dt_bias) are widened once to
// owned f32 buffers. Every offset/extent is re-checked here against the
// mapped file size before any pointer is formed.
// Quantize on load: with a target (Q8_0 / Q4_K), every F32/F16/BF16 matrix
// handed out by matrix() is converted once into an owned buffer of blocks
// (quantize.h) and its record is rewritten to describe that buffer. Target
// Q4_K means the Q4_K_M mix of Q4_K and Q6_K (quant_mix.h).
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "../core/tensor.h"
#include "quant_mix.h"

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
  const uint8_t* owned = nullptr;  // quantized on load: data lives here, not in the file
};

class WeightStore {
 public:
  // Maps the files (checking their sizes against the loader's) and validates
  // every record's extent. quantize: DType::F32 keeps every tensor as stored;
  // Q8_0 or Q4_K converts float matrices on first use (see matrix()).
  WeightStore(const std::vector<std::string>& paths, const std::vector<uint64_t>& expected_sizes,
              std::vector<TensorRecord> records, DType quantize = DType::F32);

  bool has(const std::string& name) const { return records_.count(name) != 0; }
  const TensorRecord& record(const std::string& name) const;

  // A [rows, cols] matrix (rank 2), or expert 0 of a [E, rows, cols] tensor.
  // Under a quantize target, a float matrix is first converted (once; later
  // calls reuse it): to the target (under Q4_K: the mix's type for its name)
  // if cols is a multiple of its block size, else to Q8_0 if cols % 32 == 0,
  // else it stays as stored. Rows and experts
  // of the converted tensor are contiguous. Never converted: the MoE router
  // (ffn_gate_inp: routing stays f32) and tensors with a value transform.
  WeightView matrix(const std::string& name, int64_t rows, int64_t cols);
  // Bytes between experts of a rank-3 tensor (of the converted data, once
  // matrix() has converted it).
  uint64_t expert_stride(const std::string& name) const { return record(name).matrix_bytes; }
  // A tensor widened to f32 (transform applied), owned here; checks numel.
  const float* vector_f32(const std::string& name, int64_t numel);

  // Bytes this store holds: mapped tensor bytes referenced + owned f32 copies
  // + owned quantized tensors (which replace their mapped bytes).
  uint64_t bytes() const;

 private:
  const uint8_t* base(const TensorRecord& r) const;
  DType quantize_target(const TensorRecord& r) const;
  void quantize_tensor(TensorRecord& r, DType target);

  std::vector<std::unique_ptr<MappedFile>> files_;
  std::map<std::string, TensorRecord> records_;
  std::map<std::string, Buffer> owned_;      // f32 copies of vectors
  std::map<std::string, Buffer> quantized_;  // tensors quantized on load
  DType quantize_ = DType::F32;
  Q4KMix mix_{{}};  // built from the tensor names when quantize_ is Q4_K
};

}  // namespace hl
