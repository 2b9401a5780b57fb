// native/binding/kernel_args.h: argument readers for the standalone kernel API
// (kernels.cpp). Every reader validates what guards memory (types, integer
// ranges, element and byte counts against the shapes given) and throws
// hl::Error naming the function, the argument, and expected vs actual; the
// typed-array readers copy into owned storage on the JS thread, so a worker
// never touches JS memory (which JS could detach or mutate meanwhile).
#pragma once
#include <napi.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "../core/backend_registry.h"
#include "../core/dtype.h"
#include "../core/error.h"

namespace hl::binding {

constexpr int64_t kMaxDim = 0x7fffffff;
constexpr int64_t kMaxElems = int64_t(1) << 40;

class KernelArgs {
 public:
  KernelArgs(const Napi::CallbackInfo& info, const char* fn) : info_(info), fn_(fn) {}

  [[noreturn]] void fail(ErrorCode code, const std::string& msg) const { throw Error(code, fn_ + ": " + msg); }

  // Positional integer in [lo, hi].
  int64_t integer(size_t i, const char* name, int64_t lo = 1, int64_t hi = kMaxDim) const {
    return to_int(info_[i], name, lo, hi);
  }
  // Optional options-object field (last positional argument).
  Napi::Value opt(const char* name) const {
    Napi::Value o = info_[opts_index()];
    if (o.IsUndefined() || o.IsNull()) return info_.Env().Undefined();
    if (!o.IsObject()) fail(ErrorCode::Argument, "options must be an object");
    return o.As<Napi::Object>().Get(name);
  }
  void set_opts_index(size_t i) { opts_ = i; }
  size_t opts_index() const { return opts_; }

  int64_t opt_integer(const char* name, int64_t def, int64_t lo, int64_t hi) const {
    Napi::Value v = opt(name);
    return absent(v) ? def : to_int(v, name, lo, hi);
  }
  float opt_number(const char* name, float def) const {
    Napi::Value v = opt(name);
    if (absent(v)) return def;
    if (!v.IsNumber() || !std::isfinite(v.As<Napi::Number>().DoubleValue()))
      fail(ErrorCode::Argument, std::string(name) + " must be a finite number");
    return (float)v.As<Napi::Number>().DoubleValue();
  }

  static bool absent(const Napi::Value& v) { return v.IsUndefined() || v.IsNull(); }

  // The `device` option: 'cpu' (default) or 'cuda'; DeviceError with the
  // registry's reason when that backend cannot run here.
  Device device() const {
    Napi::Value v = opt("device");
    if (absent(v)) return Device::CPU;
    const std::string name = v.IsString() ? v.As<Napi::String>().Utf8Value() : "";
    if (name != "cpu" && name != "cuda") fail(ErrorCode::Argument, "device must be 'cpu' or 'cuda', got " + describe(v));
    const Device d = name == "cuda" ? Device::CUDA : Device::CPU;
    BackendAvailability av = backend_availability(d);
    if (!av.available) fail(ErrorCode::Device, "device '" + name + "' is not available: " + av.reason);
    return d;
  }

  int64_t to_int(const Napi::Value& v, const char* name, int64_t lo, int64_t hi) const {
    double d = v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : NAN;
    if (!std::isfinite(d) || std::floor(d) != d || d < (double)lo || d > (double)hi)
      fail(ErrorCode::Argument, std::string(name) + " must be an integer in [" + std::to_string(lo) + ", " +
                                    std::to_string(hi) + "], got " + describe(v));
    return (int64_t)d;
  }

  // Product of dims; throws when it exceeds kMaxElems.
  int64_t numel(std::initializer_list<int64_t> dims, const char* name) const {
    int64_t n = 1;
    for (int64_t d : dims) {
      if (d < 0 || (d != 0 && n > kMaxElems / d)) fail(ErrorCode::Shape, std::string(name) + " is too large");
      n *= d;
    }
    return n;
  }

  // Float32Array with exactly `expected` elements; `shape` names the dims.
  std::vector<float> f32(const Napi::Value& v, const char* name, int64_t expected, const std::string& shape) const {
    if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_float32_array)
      fail(ErrorCode::Argument, std::string(name) + " must be a Float32Array, got " + describe(v));
    auto a = v.As<Napi::Float32Array>();
    check_len(name, (int64_t)a.ElementLength(), expected, shape);
    std::vector<float> out((size_t)expected);
    if (expected > 0) std::memcpy(out.data(), a.Data(), (size_t)expected * sizeof(float));
    return out;
  }
  std::vector<int32_t> i32(const Napi::Value& v, const char* name, int64_t expected, const std::string& shape) const {
    if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_int32_array)
      fail(ErrorCode::Argument, std::string(name) + " must be an Int32Array, got " + describe(v));
    auto a = v.As<Napi::Int32Array>();
    check_len(name, (int64_t)a.ElementLength(), expected, shape);
    std::vector<int32_t> out((size_t)expected);
    if (expected > 0) std::memcpy(out.data(), a.Data(), (size_t)expected * sizeof(int32_t));
    return out;
  }
  // Raw bytes of any typed array (weights in their storage dtype).
  std::vector<uint8_t> bytes(const Napi::Value& v, const char* name, int64_t expected, const std::string& shape) const {
    if (!v.IsTypedArray()) fail(ErrorCode::Argument, std::string(name) + " must be a typed array, got " + describe(v));
    auto a = v.As<Napi::TypedArray>();
    const int64_t n = (int64_t)a.ByteLength();
    if (n != expected)
      fail(ErrorCode::Shape, std::string(name) + " has " + std::to_string(n) + " bytes, expected " +
                                 std::to_string(expected) + " for " + shape);
    std::vector<uint8_t> out((size_t)expected);
    if (expected > 0)
      std::memcpy(out.data(), static_cast<const uint8_t*>(a.ArrayBuffer().Data()) + a.ByteOffset(), (size_t)n);
    return out;
  }

  // Weight dtype id (GGUF ggml_type) that the CPU kernels implement.
  DType dtype(const Napi::Value& v, const char* name) const {
    int64_t id = to_int(v, name, 0, 255);
    return dtype_from_int((int32_t)id, fn_ + ": " + name);
  }
  // Bytes of a [rows, cols] weight in dtype t; cols must fill whole blocks.
  int64_t weight_bytes(DType t, int64_t rows, int64_t cols, const char* name) const {
    const int64_t bs = dtype_block_size(t);
    if (cols % bs != 0)
      fail(ErrorCode::Shape, std::string(name) + ": " + dtype_name(t) + " rows need a multiple of " +
                                 std::to_string(bs) + " columns, got " + std::to_string(cols));
    return numel({rows, dtype_row_bytes(t, cols)}, name);
  }

  // cu_seqlens [n_seqs + 1]: starts at 0, non-decreasing, ends at n_tokens
  // (any end when n_tokens < 0).
  std::vector<int32_t> cu_seqlens(const Napi::Value& v, const char* name, int64_t n_tokens) const {
    if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_int32_array)
      fail(ErrorCode::Argument, std::string(name) + " must be an Int32Array, got " + describe(v));
    int64_t len = (int64_t)v.As<Napi::Int32Array>().ElementLength();
    if (len < 2 || len - 1 > kMaxDim)
      fail(ErrorCode::Shape, std::string(name) + " must have n_seqs + 1 >= 2 entries, got " + std::to_string(len));
    std::vector<int32_t> cu = i32(v, name, len, "[nSeqs + 1]");
    if (cu[0] != 0) fail(ErrorCode::Shape, std::string(name) + "[0] must be 0, got " + std::to_string(cu[0]));
    for (int64_t s = 0; s + 1 < len; s++)
      if (cu[s + 1] < cu[s])
        fail(ErrorCode::Shape, std::string(name) + " must be non-decreasing, got " + name + "[" +
                                   std::to_string(s + 1) + "] = " + std::to_string(cu[s + 1]) + " < " +
                                   std::to_string(cu[s]));
    if (n_tokens >= 0 && cu[len - 1] != n_tokens)
      fail(ErrorCode::Shape, std::string(name) + " must end at the token count " + std::to_string(n_tokens) +
                                 ", got " + std::to_string(cu[len - 1]));
    return cu;
  }

  const Napi::CallbackInfo& info() const { return info_; }
  const std::string& fn() const { return fn_; }

 private:
  void check_len(const char* name, int64_t got, int64_t expected, const std::string& shape) const {
    if (got != expected)
      fail(ErrorCode::Shape, std::string(name) + " has " + std::to_string(got) + " elements, expected " +
                                 std::to_string(expected) + " = " + shape);
  }
  static std::string describe(const Napi::Value& v) {
    if (v.IsUndefined()) return "undefined";
    if (v.IsNull()) return "null";
    if (v.IsNumber()) {
      double d = v.As<Napi::Number>().DoubleValue();
      char buf[64];
      std::snprintf(buf, sizeof buf, "%.17g", d);
      return buf;
    }
    if (v.IsTypedArray()) return "a typed array of another element type";
    if (v.IsArray()) return "an Array";
    if (v.IsString()) return "'" + v.As<Napi::String>().Utf8Value().substr(0, 40) + "'";
    return "a value of another type";
  }

  const Napi::CallbackInfo& info_;
  std::string fn_;
  size_t opts_ = 0;
};

// "[nTokens=3, dim=4]"
inline std::string shape_of(std::initializer_list<std::pair<const char*, int64_t>> dims) {
  std::string s = "[";
  bool first = true;
  for (auto& d : dims) {
    if (!first) s += ", ";
    first = false;
    s += std::string(d.first) + "=" + std::to_string(d.second);
  }
  return s + "]";
}

}  // namespace hl::binding
