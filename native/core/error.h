// native/core/error.h: the one exception type C++ throws toward JS.
// js_error.cpp turns `code` into a string code that lib/errors.ts maps to a
// HybridLMError subclass, so every failure reaches the caller typed.
#pragma once
#include <stdexcept>
#include <string>

namespace hl {

enum class ErrorCode {
  Format,       // malformed or inconsistent model file
  Shape,        // tensor shape/rank mismatch
  Unsupported,  // dtype/op/device not supported by this build
  Device,       // device unavailable
  OutOfMemory,  // allocation failed
  Disposed,     // use after dispose
  Busy,         // concurrent call on an object that allows one at a time
  Argument,     // bad argument value (token id out of range, ...)
  Internal,     // a bug: should never reach users
};

struct Error : std::runtime_error {
  ErrorCode code;
  Error(ErrorCode c, const std::string& msg) : std::runtime_error(msg), code(c) {}
};

inline const char* error_code_name(ErrorCode c) {
  switch (c) {
    case ErrorCode::Format: return "ERR_HYBRIDLM_FORMAT";
    case ErrorCode::Shape: return "ERR_HYBRIDLM_SHAPE";
    case ErrorCode::Unsupported: return "ERR_HYBRIDLM_UNSUPPORTED";
    case ErrorCode::Device: return "ERR_HYBRIDLM_DEVICE";
    case ErrorCode::OutOfMemory: return "ERR_HYBRIDLM_OOM";
    case ErrorCode::Disposed: return "ERR_HYBRIDLM_DISPOSED";
    case ErrorCode::Busy: return "ERR_HYBRIDLM_BUSY";
    case ErrorCode::Argument: return "ERR_HYBRIDLM_ARGUMENT";
    case ErrorCode::Internal: return "ERR_HYBRIDLM_INTERNAL";
  }
  return "ERR_HYBRIDLM_INTERNAL";
}

// HL_CHECK(cond, code, msg-expression): throw hl::Error when cond is false.
#define HL_CHECK(cond, code, msg)                              \
  do {                                                         \
    if (!(cond)) throw ::hl::Error(::hl::ErrorCode::code, msg); \
  } while (0)

}  // namespace hl
