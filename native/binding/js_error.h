// native/binding/js_error.h: hl::Error -> JS Error carrying a string `code`
// (lib/errors.ts maps the code to a HybridLMError subclass).
#pragma once
#include <napi.h>

#include <string>

#include "../core/error.h"

namespace hl::binding {

Napi::Error make_js_error(Napi::Env env, ErrorCode code, const std::string& message);

// Runs fn() and turns any C++ exception into a thrown JS error with a code.
template <typename Fn>
Napi::Value guard(Napi::Env env, Fn&& fn) {
  try {
    return fn();
  } catch (const Napi::Error&) {
    throw;
  } catch (const Error& e) {
    throw make_js_error(env, e.code, e.what());
  } catch (const std::bad_alloc&) {
    throw make_js_error(env, ErrorCode::OutOfMemory, "out of memory");
  } catch (const std::exception& e) {
    throw make_js_error(env, ErrorCode::Internal, e.what());
  } catch (...) {
    throw make_js_error(env, ErrorCode::Internal, "unknown native error");
  }
}

}  // namespace hl::binding
