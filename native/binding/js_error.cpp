// native/binding/js_error.cpp: see js_error.h.
#include "js_error.h"

namespace hl::binding {

Napi::Error make_js_error(Napi::Env env, ErrorCode code, const std::string& message) {
  Napi::Error err = Napi::Error::New(env, message);
  err.Set("code", Napi::String::New(env, error_code_name(code)));
  return err;
}

}  // namespace hl::binding
