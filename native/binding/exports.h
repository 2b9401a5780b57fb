// native/binding/exports.h: registration hooks of the binding files.
#pragma once
#include <napi.h>

namespace hl::binding {
void register_model_exports(Napi::Env env, Napi::Object exports);   // model_handle.cpp
void register_kernel_exports(Napi::Env env, Napi::Object exports);  // kernels.cpp
void register_sampler_exports(Napi::Env env, Napi::Object exports); // sampler_handle.cpp
}  // namespace hl::binding
