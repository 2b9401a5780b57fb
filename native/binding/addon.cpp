// native/binding/addon.cpp: module entry; each *_handle / kernels file
// registers its own exports.
#include <napi.h>

#include "../cuda/cuda_backend.h"
#include "../core/dtype.h"
#include "../core/thread_pool.h"
#include "../cpu/cpu_features.h"
#include "../cpu/simd/ops.h"
#include "exports.h"
#include "js_error.h"

namespace hl::binding {

static Napi::Value cpu_info(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const CpuFeatures& f = cpu_features();
  Napi::Object o = Napi::Object::New(env);
  o.Set("arch", Napi::String::New(env, f.arch));
  o.Set("avx2", Napi::Boolean::New(env, f.avx2));
  o.Set("fma", Napi::Boolean::New(env, f.fma));
  o.Set("f16c", Napi::Boolean::New(env, f.f16c));
  o.Set("avx512f", Napi::Boolean::New(env, f.avx512f));
  o.Set("avx512bw", Napi::Boolean::New(env, f.avx512bw));
  o.Set("avx512vnni", Napi::Boolean::New(env, f.avx512vnni));
  o.Set("avx512bf16", Napi::Boolean::New(env, f.avx512bf16));
  o.Set("neon", Napi::Boolean::New(env, f.neon));
  o.Set("dotprod", Napi::Boolean::New(env, f.dotprod));
  o.Set("threads", Napi::Number::New(env, default_thread_count()));
  o.Set("simd", Napi::String::New(env, cpu::simd_ops().name));
  return o;
}

static Napi::Value cuda_status_js(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const CudaStatus& st = cuda_status();
  Napi::Object o = Napi::Object::New(env);
  o.Set("available", Napi::Boolean::New(env, st.available));
  o.Set("reason", Napi::String::New(env, st.reason));
  o.Set("library", Napi::String::New(env, st.library_path));
  o.Set("devices", Napi::Number::New(env, st.device_count));
  o.Set("driverVersion", Napi::Number::New(env, st.driver_version));
  o.Set("runtimeVersion", Napi::Number::New(env, st.runtime_version));
  Napi::Array gpus = Napi::Array::New(env, st.devices.size());
  for (size_t i = 0; i < st.devices.size(); i++) {
    Napi::Object g = Napi::Object::New(env);
    g.Set("name", Napi::String::New(env, st.devices[i].name));
    g.Set("computeCapability", Napi::String::New(env, std::to_string(st.devices[i].major) + "." +
                                                          std::to_string(st.devices[i].minor)));
    g.Set("totalMemory", Napi::Number::New(env, static_cast<double>(st.devices[i].total_memory)));
    gpus.Set(static_cast<uint32_t>(i), g);
  }
  o.Set("gpus", gpus);
  return o;
}

// The weight-type table of native/core/dtype.h: [{ id, name, blockSize, blockBytes }].
static Napi::Value dtypes_js(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Array a = Napi::Array::New(env);
  uint32_t i = 0;
  for (const DTypeInfo& d : kDTypes) {
    Napi::Object o = Napi::Object::New(env);
    o.Set("id", Napi::Number::New(env, (double)(int32_t)d.type));
    o.Set("name", Napi::String::New(env, d.name));
    o.Set("blockSize", Napi::Number::New(env, (double)d.block_size));
    o.Set("blockBytes", Napi::Number::New(env, (double)d.block_bytes));
    a.Set(i++, o);
  }
  return a;
}

// cudaUseLibrary(path): the CUDA library the first cudaStatus() opens; false when it is too late.
static Napi::Value cuda_use_library_js(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsString()) {
    throw make_js_error(env, ErrorCode::Argument, "cudaUseLibrary(path): path must be a string");
  }
  return Napi::Boolean::New(env, cuda_use_library(info[0].As<Napi::String>().Utf8Value()));
}

static Napi::Object init(Napi::Env env, Napi::Object exports) {
  exports.Set("dtypes", Napi::Function::New(env, dtypes_js, "dtypes"));
  exports.Set("cpuInfo", Napi::Function::New(env, cpu_info, "cpuInfo"));
  exports.Set("cudaAvailable", Napi::Function::New(
                                   env, [](const Napi::CallbackInfo& info) -> Napi::Value {
                                     return Napi::Boolean::New(info.Env(), cuda_status().available);
                                   },
                                   "cudaAvailable"));
  exports.Set("cudaStatus", Napi::Function::New(env, cuda_status_js, "cudaStatus"));
  exports.Set("cudaUseLibrary", Napi::Function::New(env, cuda_use_library_js, "cudaUseLibrary"));
  register_model_exports(env, exports);
  register_kernel_exports(env, exports);
  register_sampler_exports(env, exports);
  return exports;
}

}  // namespace hl::binding

static Napi::Object init_module(Napi::Env env, Napi::Object exports) { return hl::binding::init(env, exports); }
NODE_API_MODULE(hybridlm, init_module)
