// native/binding/exports.h: registration hooks of the binding files.
#pragma once
#include <napi.h>

namespace hl::binding {
void register_model_exports(Napi::Env env, Napi::Object exports);   // model_handle.cpp
void register_kernel_exports(Napi::Env env, Napi::Object exports);  // kernels.cpp
}  // namespace hl::binding
