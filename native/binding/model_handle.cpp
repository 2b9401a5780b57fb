// native/binding/model_handle.cpp: the model/sequence surface of the addon.
// JS passes the loader's validated tensor table and config; everything that
// guards memory is checked again here. Loading, steps, forks, snapshots and
// restores run off the JS thread (run_async); only O(1) calls are synchronous.
#include <napi.h>

#include <atomic>
#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "../core/backend_registry.h"
#include "../model/granite_hybrid.h"
#include "async_job.h"
#include "exports.h"
#include "js_error.h"
#include "sampler_handle.h"

namespace hl::binding {

namespace {

// ---- argument readers (throw hl::Error naming the field)

int64_t get_int(const Napi::Object& o, const char* key, const std::string& where) {
  Napi::Value v = o.Get(key);
  HL_CHECK(v.IsNumber(), Argument, where + "." + key + " must be a number");
  double d = v.As<Napi::Number>().DoubleValue();
  HL_CHECK(std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 9007199254740992.0, Argument,
           where + "." + key + " must be an integer, got " + std::to_string(d));
  return (int64_t)d;
}

double get_num(const Napi::Object& o, const char* key, const std::string& where) {
  Napi::Value v = o.Get(key);
  HL_CHECK(v.IsNumber(), Argument, where + "." + key + " must be a number");
  return v.As<Napi::Number>().DoubleValue();
}

std::string get_str(const Napi::Object& o, const char* key, const std::string& where) {
  Napi::Value v = o.Get(key);
  HL_CHECK(v.IsString(), Argument, where + "." + key + " must be a string");
  return v.As<Napi::String>().Utf8Value();
}

Napi::Array get_array(const Napi::Object& o, const char* key, const std::string& where) {
  Napi::Value v = o.Get(key);
  HL_CHECK(v.IsArray(), Argument, where + "." + key + " must be an array");
  return v.As<Napi::Array>();
}

// spec.dims: ModelDims field for field (same names), built from the validated
// ModelConfig by lib/loaders/model-dims.ts. Only types and invariants are
// checked here (ModelDims::validate); no config field is read by name.
ModelDims read_dims(const Napi::Object& o) {
  const std::string w = "dims";
  ModelDims d;
  static const std::pair<const char*, int64_t ModelDims::*> ints[] = {
      {"vocab", &ModelDims::vocab},           {"d_model", &ModelDims::d_model},
      {"n_layers", &ModelDims::n_layers},     {"n_heads", &ModelDims::n_heads},
      {"n_kv_heads", &ModelDims::n_kv_heads}, {"head_dim", &ModelDims::head_dim},
      {"ssm_heads", &ModelDims::ssm_heads},   {"ssm_head_dim", &ModelDims::ssm_head_dim},
      {"d_state", &ModelDims::d_state},       {"n_groups", &ModelDims::n_groups},
      {"d_conv", &ModelDims::d_conv},         {"d_inner", &ModelDims::d_inner},
      {"chunk_size", &ModelDims::chunk_size}, {"n_experts", &ModelDims::n_experts},
      {"top_k", &ModelDims::top_k},           {"expert_ff", &ModelDims::expert_ff},
      {"shared_ff", &ModelDims::shared_ff},
  };
  static const std::pair<const char*, float ModelDims::*> floats[] = {
      {"embedding_multiplier", &ModelDims::embedding_multiplier},
      {"residual_multiplier", &ModelDims::residual_multiplier},
      {"attention_multiplier", &ModelDims::attention_multiplier},
      {"logits_scaling", &ModelDims::logits_scaling},
      {"rms_norm_eps", &ModelDims::rms_norm_eps},
      {"dt_min", &ModelDims::dt_min},
      {"dt_max", &ModelDims::dt_max},
  };
  for (const auto& [key, field] : ints) d.*field = get_int(o, key, w);
  for (const auto& [key, field] : floats) d.*field = (float)get_num(o, key, w);
  Napi::Array kinds = get_array(o, "layer_kinds", w);
  HL_CHECK(kinds.Length() < 100000, Argument, "dims.layer_kinds is too long");
  for (uint32_t i = 0; i < kinds.Length(); i++) {
    Napi::Value k = kinds.Get(i);
    const double v = k.IsNumber() ? k.As<Napi::Number>().DoubleValue() : -1;
    HL_CHECK(v == (double)LayerKind::Mamba || v == (double)LayerKind::Attention, Argument,
             "dims.layer_kinds[" + std::to_string(i) + "] must be 0 (mamba) or 1 (attention)");
    d.layer_kinds.push_back((LayerKind)(int32_t)v);
  }
  Napi::Value tied = o.Get("tied");
  HL_CHECK(tied.IsBoolean(), Argument, "dims.tied must be a boolean");
  d.tied = tied.As<Napi::Boolean>().Value();
  d.validate();
  return d;
}

TensorRecord read_tensor(const Napi::Object& t, uint32_t i) {
  const std::string w = "tensors[" + std::to_string(i) + "]";
  TensorRecord r;
  r.name = get_str(t, "name", w);
  r.source_name = get_str(t, "sourceName", w);
  r.file = (int)get_int(t, "file", w);
  int64_t off = get_int(t, "offset", w);
  HL_CHECK(off >= 0, Argument, w + ".offset must be >= 0");
  r.offset = (uint64_t)off;
  r.dtype = dtype_from_int((int32_t)get_int(t, "dtype", w), "tensor '" + r.source_name + "'");
  Napi::Array shape = get_array(t, "shape", w);
  HL_CHECK(shape.Length() >= 1 && shape.Length() <= 3, Shape, w + ".shape must have 1..3 dims");
  for (uint32_t k = 0; k < shape.Length(); k++) {
    Napi::Value v = shape.Get(k);
    HL_CHECK(v.IsNumber(), Argument, w + ".shape must hold numbers");
    double dv = v.As<Napi::Number>().DoubleValue();
    HL_CHECK(dv >= 1 && dv < 4503599627370496.0 && dv == std::floor(dv), Shape, w + ".shape has a bad dimension");
    r.shape.push_back((int64_t)dv);
  }
  int64_t rb = get_int(t, "rowBytes", w), mb = get_int(t, "matrixBytes", w);
  HL_CHECK(rb >= 0 && mb >= 0, Argument, w + ": strides must be >= 0");
  r.row_bytes = (uint64_t)rb;
  r.matrix_bytes = (uint64_t)mb;
  std::string tr = get_str(t, "transform", w);
  HL_CHECK(tr == "none" || tr == "negExp", Argument, w + ".transform must be 'none' or 'negExp'");
  r.transform = tr == "negExp" ? TensorTransform::NegExp : TensorTransform::None;
  return r;
}

// ---- the JS class wrapping one loaded model

class ModelHandle : public Napi::ObjectWrap<ModelHandle> {
 public:
  static Napi::Function define(Napi::Env env) {
    return DefineClass(env, "ModelHandle",
                       {InstanceMethod<&ModelHandle::step>("step"),
                        InstanceMethod<&ModelHandle::create_sequence>("createSequence"),
                        InstanceMethod<&ModelHandle::create_from_prefix>("createSequenceFromPrefix"),
                        InstanceMethod<&ModelHandle::rollback_sequence>("rollbackSequence"),
                        InstanceMethod<&ModelHandle::prefix_cache_stats>("prefixCacheStats"),
                        InstanceMethod<&ModelHandle::clear_prefix_cache>("clearPrefixCache"),
                        InstanceMethod<&ModelHandle::fail_next_step>("failNextStep"),
                        InstanceMethod<&ModelHandle::set_scan_policy>("setScanPolicy"),
                        InstanceMethod<&ModelHandle::fork_sequence>("forkSequence"),
                        InstanceMethod<&ModelHandle::dispose_sequence>("disposeSequence"),
                        InstanceMethod<&ModelHandle::snapshot_sequence>("snapshotSequence"),
                        InstanceMethod<&ModelHandle::restore_sequence>("restoreSequence"),
                        InstanceMethod<&ModelHandle::sequence_position>("sequencePosition"),
                        InstanceMethod<&ModelHandle::memory>("memory"),
                        InstanceMethod<&ModelHandle::step_count>("stepCount"),
                        InstanceMethod<&ModelHandle::parallel_region_count>("parallelRegionCount"),
                        InstanceMethod<&ModelHandle::dispose>("dispose")});
  }

  explicit ModelHandle(const Napi::CallbackInfo& info) : Napi::ObjectWrap<ModelHandle>(info) {
    HL_CHECK(info.Length() == 1 && info[0].IsExternal(), Argument, "ModelHandle is created by loadModel only");
    model_ = *info[0].As<Napi::External<std::shared_ptr<GraniteHybrid>>>().Data();
  }

 private:
  std::shared_ptr<GraniteHybrid> live() const {
    HL_CHECK(model_ != nullptr, Disposed, "model has been disposed");
    return model_;
  }

  // A step's batch and its model: the batch's sequences are released before
  // the model (members are destroyed in reverse order).
  struct StepJob {
    std::shared_ptr<GraniteHybrid> model;
    std::vector<StepSequence> batch;
  };

  // step(seqIds: Int32Array, counts: Int32Array, tokens: Int32Array, flags: Uint8Array, sampling?)
  //   -> Promise<Array<Float32Array | sampled | Error>> (one per sequence: its logits [rows, vocab];
  //      for a row `sampling` names a sampler, the token sampled from its last logits row
  //      (sampler_handle.h RowSampling), so that row's logits never cross into JS; or the error
  //      that left it out of the step, as it was before its eval).
  //   flags bits: 1 all logits, 2 begin eval (checkpoint), 4 end eval, 8 store prefix-cache
  //   checkpoints, 16 the chunk ends a prompt.
  Napi::Value step(const Napi::CallbackInfo& info) {
    return guard(info.Env(), [&]() -> Napi::Value {
      auto model = live();
      HL_CHECK((info.Length() == 4 || info.Length() == 5) && info[0].IsTypedArray() && info[1].IsTypedArray() &&
                   info[2].IsTypedArray() && info[3].IsTypedArray(),
               Argument, "step(seqIds, counts, tokens, flags, sampling?) expects four typed arrays");
      auto ids = info[0].As<Napi::Int32Array>();
      auto counts = info[1].As<Napi::Int32Array>();
      auto tokens = info[2].As<Napi::Int32Array>();
      auto flags = info[3].As<Napi::Uint8Array>();
      HL_CHECK(ids.TypedArrayType() == napi_int32_array && counts.TypedArrayType() == napi_int32_array &&
                   tokens.TypedArrayType() == napi_int32_array && flags.TypedArrayType() == napi_uint8_array,
               Argument, "step: wrong typed array types");
      size_t n = ids.ElementLength();
      HL_CHECK(n > 0 && counts.ElementLength() == n && flags.ElementLength() == n, Argument,
               "step: seqIds, counts and flags must have the same non-zero length");
      auto job = std::make_shared<StepJob>();
      job->model = model;
      job->batch.resize(n);
      size_t off = 0;
      for (size_t s = 0; s < n; s++) {
        int32_t c = counts[s];
        HL_CHECK(c > 0 && off + (size_t)c <= tokens.ElementLength(), Argument,
                 "step: counts[" + std::to_string(s) + "] = " + std::to_string(c) + " is out of range");
        StepSequence& sq = job->batch[s];
        sq.state = model->states().get(ids[s]);
        for (size_t j = 0; j < s; j++)
          HL_CHECK(job->batch[j].state != sq.state, Argument, "step: a sequence appears twice in one batch");
        // Token ids are range-checked by GraniteHybrid::step (a bad one fails its sequence only).
        sq.tokens.assign(tokens.Data() + off, tokens.Data() + off + c);
        const uint8_t f = flags[s];
        sq.all_logits = f & 1;
        sq.begin_eval = f & 2;
        sq.end_eval = f & 4;
        sq.cache_prefix = f & 8;
        sq.prompt_end = f & 16;
        off += (size_t)c;
      }
      HL_CHECK(off == tokens.ElementLength(), Argument, "step: counts do not add up to tokens.length");
      std::shared_ptr<RowSampling> sampling;
      if (info.Length() == 5 && !info[4].IsUndefined()) {
        sampling = std::make_shared<RowSampling>(info[4], n, "step");
        for (size_t s = 0; s < n; s++) {
          HL_CHECK(!sampling->sampled(s) || (!job->batch[s].all_logits && sampling->vocab(s) == model->dims().vocab),
                   Argument, "step: row " + std::to_string(s) + " is sampled, so it needs allLogits off and a sampler of vocab " +
                                 std::to_string(model->dims().vocab));
          job->batch[s].argmax_only = sampling->argmax_only(s);
        }
      }
      // Mark busy on the JS thread so fork/snapshot/another step refuse meanwhile.
      for (size_t s = 0; s < n; s++) {
        bool expected = false;
        if (!job->batch[s].state->busy.compare_exchange_strong(expected, true)) {
          for (size_t j = 0; j < s; j++) job->batch[j].state->busy = false;
          throw Error(ErrorCode::Busy, "sequence " + std::to_string(ids[s]) + " is already being evaluated");
        }
      }
      return run_async(
          info.Env(), "hybridlm.step",
          [job, sampling]() {
            struct Release {
              std::vector<StepSequence>& b;
              ~Release() {
                for (auto& s : b) s.state->busy = false;
              }
            } release{job->batch};
            job->model->step(job->batch);
            if (sampling) {
              std::vector<const float*> rows;
              std::vector<int32_t> picked;
              for (size_t s = 0; s < job->batch.size(); s++) {
                if (job->batch[s].failed) sampling->skip(s);
                rows.push_back(job->batch[s].logits.data());
                picked.push_back(job->batch[s].argmax_only ? job->batch[s].argmax : -1);
              }
              sampling->run(rows, picked, ThreadPool::shared());
            }
          },
          [job, sampling](Napi::Env env) -> Napi::Value {
            Napi::Array out = Napi::Array::New(env, job->batch.size());
            for (size_t s = 0; s < job->batch.size(); s++) {
              const StepSequence& sq = job->batch[s];
              if (sq.failed) {
                out.Set((uint32_t)s, make_js_error(env, sq.error_code, sq.error).Value());
                continue;
              }
              if (sampling && sampling->sampled(s)) {
                out.Set((uint32_t)s, sampling->result(env, s));
                continue;
              }
              Napi::Float32Array a = Napi::Float32Array::New(env, sq.logits.size());
              std::memcpy(a.Data(), sq.logits.data(), sq.logits.size() * sizeof(float));
              out.Set((uint32_t)s, a);
            }
            return out;
          });
    });
  }

  int32_t seq_id(const Napi::CallbackInfo& info) {
    HL_CHECK(info.Length() >= 1 && info[0].IsNumber(), Argument, "expected a sequence id");
    return info[0].As<Napi::Number>().Int32Value();
  }

  Napi::Value create_sequence(const Napi::CallbackInfo& info) {
    return guard(info.Env(), [&]() -> Napi::Value {
      return Napi::Number::New(info.Env(), live()->states().create());
    });
  }

  // createSequenceFromPrefix(tokens: Int32Array) -> Promise<{ id, restored }>: a new
  // sequence holding the longest cached prefix of tokens[0, n - 1).
  Napi::Value create_from_prefix(const Napi::CallbackInfo& info) {
    return guard(info.Env(), [&]() -> Napi::Value {
      auto model = live();
      HL_CHECK(info.Length() == 1 && info[0].IsTypedArray() &&
                   info[0].As<Napi::TypedArray>().TypedArrayType() == napi_int32_array,
               Argument, "createSequenceFromPrefix expects an Int32Array");
      auto arr = info[0].As<Napi::Int32Array>();
      auto tokens = std::make_shared<std::vector<int32_t>>(arr.Data(), arr.Data() + arr.ElementLength());
      auto id = std::make_shared<int32_t>(0);
      auto restored = std::make_shared<int64_t>(0);
      return run_async(
          info.Env(), "hybridlm.prefix",
          [model, tokens, id, restored]() {
            *id = model->states().create_from_prefix(tokens->data(), (int64_t)tokens->size(), restored.get());
          },
          [id, restored](Napi::Env env) -> Napi::Value {
            Napi::Object o = Napi::Object::New(env);
            o.Set("id", Napi::Number::New(env, *id));
            o.Set("restored", Napi::Number::New(env, (double)*restored));
            return o;
          });
    });
  }

  // O(pages): swaps the checkpoint's slot and page table back in.
  Napi::Value rollback_sequence(const Napi::CallbackInfo& info) {
    return guard(info.Env(), [&]() -> Napi::Value {
      live()->states().rollback(seq_id(info));
      return info.Env().Undefined();
    });
  }

  Napi::Value prefix_cache_stats(const Napi::CallbackInfo& info) {
    return guard(info.Env(), [&]() -> Napi::Value {
      Napi::Env env = info.Env();
      PrefixCacheStats st = live()->states().prefix_stats();
      Napi::Object o = Napi::Object::New(env);
      o.Set("entries", Napi::Number::New(env, (double)st.entries));
      o.Set("bytes", Napi::Number::New(env, (double)st.bytes));
      o.Set("hits", Napi::Number::New(env, (double)st.hits));
      o.Set("misses", Napi::Number::New(env, (double)st.misses));
      o.Set("tokensReused", Napi::Number::New(env, (double)st.tokens_reused));
      return o;
    });
  }

  Napi::Value clear_prefix_cache(const Napi::CallbackInfo& info) {
    return guard(info.Env(), [&]() -> Napi::Value {
      live()->states().clear_prefix_cache();
      return info.Env().Undefined();
    });
  }

  // Test hook: the next step fails after `layers` layers.
  Napi::Value fail_next_step(const Napi::CallbackInfo& info) {
    return guard(info.Env(), [&]() -> Napi::Value {
      HL_CHECK(info.Length() == 1 && info[0].IsNumber(), Argument, "failNextStep(layers) expects a number");
      live()->fail_next_step_after(info[0].As<Napi::Number>().Int64Value());
      return info.Env().Undefined();
    });
  }

  // Test hook: prefill steps whose longest sequence brings >= minTokens new
  // tokens use the chunked scan with chunks of `chunk` tokens.
  Napi::Value set_scan_policy(const Napi::CallbackInfo& info) {
    return guard(info.Env(), [&]() -> Napi::Value {
      HL_CHECK(info.Length() == 2 && info[0].IsNumber() && info[1].IsNumber(), Argument,
               "setScanPolicy(minTokens, chunk) expects two numbers");
      const int64_t min_tokens = info[0].As<Napi::Number>().Int64Value(), chunk = info[1].As<Napi::Number>().Int64Value();
      HL_CHECK(min_tokens >= 1 && chunk >= 1 && chunk <= 65536, Argument,
               "setScanPolicy: minTokens must be >= 1 and chunk in [1, 65536]");
      live()->set_scan_policy(min_tokens, chunk);
      return info.Env().Undefined();
    });
  }

  Napi::Value fork_sequence(const Napi::CallbackInfo& info) {
    return guard(info.Env(), [&]() -> Napi::Value {
      auto model = live();
      int32_t id = seq_id(info);
      model->states().get(id);  // throws Disposed now rather than later
      auto out = std::make_shared<int32_t>(0);
      return run_async(
          info.Env(), "hybridlm.fork", [model, id, out]() { *out = model->states().fork(id); },
          [out](Napi::Env env) -> Napi::Value { return Napi::Number::New(env, *out); });
    });
  }

  Napi::Value dispose_sequence(const Napi::CallbackInfo& info) {
    return guard(info.Env(), [&]() -> Napi::Value {
      if (model_) model_->states().dispose(seq_id(info));
      return info.Env().Undefined();
    });
  }

  Napi::Value snapshot_sequence(const Napi::CallbackInfo& info) {
    return guard(info.Env(), [&]() -> Napi::Value {
      auto model = live();
      int32_t id = seq_id(info);
      model->states().get(id);
      auto bytes = std::make_shared<std::vector<uint8_t>>();
      return run_async(
          info.Env(), "hybridlm.snapshot", [model, id, bytes]() { *bytes = model->states().snapshot(id); },
          [bytes](Napi::Env env) -> Napi::Value {
            // Hand the worker's vector to the Buffer instead of copying it on the
            // JS thread (a snapshot can be hundreds of MB); runtimes that forbid
            // external buffers get a copy.
            auto owned = std::make_unique<std::vector<uint8_t>>(std::move(*bytes));
            auto buf = Napi::Buffer<uint8_t>::NewOrCopy(
                env, owned->data(), owned->size(),
                [](Napi::Env, uint8_t*, std::vector<uint8_t>* v) { delete v; }, owned.get());
            owned.release();  // the Buffer's finalizer owns it now
            return buf;
          });
    });
  }

  Napi::Value restore_sequence(const Napi::CallbackInfo& info) {
    return guard(info.Env(), [&]() -> Napi::Value {
      auto model = live();
      HL_CHECK(info.Length() >= 1 && info[0].IsTypedArray(), Argument, "restoreSequence expects a Buffer");
      auto arr = info[0].As<Napi::Uint8Array>();
      HL_CHECK(arr.TypedArrayType() == napi_uint8_array, Argument, "restoreSequence expects a Buffer / Uint8Array");
      auto bytes = std::make_shared<std::vector<uint8_t>>(arr.Data(), arr.Data() + arr.ByteLength());
      auto out = std::make_shared<int32_t>(0);
      return run_async(
          info.Env(), "hybridlm.restore",
          [model, bytes, out]() { *out = model->states().restore(bytes->data(), bytes->size()); },
          [out](Napi::Env env) -> Napi::Value { return Napi::Number::New(env, *out); });
    });
  }

  Napi::Value sequence_position(const Napi::CallbackInfo& info) {
    return guard(info.Env(), [&]() -> Napi::Value {
      return Napi::Number::New(info.Env(), (double)live()->states().get(seq_id(info))->n_past);
    });
  }

  // Native forward steps run so far: concurrent evals that shared a step count once.
  Napi::Value step_count(const Napi::CallbackInfo& info) {
    return guard(info.Env(), [&]() -> Napi::Value { return Napi::Number::New(info.Env(), (double)live()->steps_run()); });
  }

  // Thread-pool fork/joins the model's backend has run so far (0 on CUDA).
  Napi::Value parallel_region_count(const Napi::CallbackInfo& info) {
    return guard(info.Env(), [&]() -> Napi::Value {
      return Napi::Number::New(info.Env(), (double)live()->backend().parallel_regions());
    });
  }

  Napi::Value memory(const Napi::CallbackInfo& info) {
    return guard(info.Env(), [&]() -> Napi::Value {
      Napi::Env env = info.Env();
      auto model = live();
      StatePool& st = model->states();
      PoolMemory m = st.memory();
      const KvLayout& kl = st.kv_layout();
      Napi::Object o = Napi::Object::New(env);
      auto num = [&](const char* k, double v) { o.Set(k, Napi::Number::New(env, v)); };
      num("weights", (double)model->weights().bytes());
      num("deviceWeights", (double)model->backend().weight_copy_bytes());
      num("fixed", (double)m.fixed);
      num("recurrentState", (double)m.recurrent);
      num("kvCache", (double)m.kv);
      num("kvPages", (double)m.kv_pages);
      num("kvPageBytes", (double)kl.page_bytes());
      num("kvPageTokens", (double)kl.page_size);
      num("prefixCache", (double)m.prefix_cache);
      num("pooled", (double)m.pooled);
      num("total", (double)m.total);
      num("budget", (double)m.budget);
      num("sequences", (double)m.sequences);
      num("recurrentBytesPerSequence", (double)st.recurrent_bytes_per_sequence());
      num("prefixChunkTokens", (double)st.prefix_chunk());
      o.Set("kvCacheType", Napi::String::New(env, kl.dtype == DType::F32 ? "f32" : kl.dtype == DType::F16 ? "f16" : "q8_0"));
      o.Set("kvNote", Napi::String::New(env, model->kv_note()));
      o.Set("threads", Napi::Number::New(env, model->n_threads()));
      return o;
    });
  }

  // Drops this handle's reference; a step in flight keeps the model alive
  // until it settles.
  Napi::Value dispose(const Napi::CallbackInfo& info) {
    model_.reset();
    return info.Env().Undefined();
  }

  std::shared_ptr<GraniteHybrid> model_;
};

struct AddonData {
  Napi::FunctionReference model_ctor;
};

// loadModel(spec) -> Promise<ModelHandle>
// spec: { files: string[], fileSizes: number[], dims, tensors: TensorEntry[], threads, pageSize }
Napi::Value load_model(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guard(env, [&]() -> Napi::Value {
    HL_CHECK(info.Length() == 1 && info[0].IsObject(), Argument, "loadModel expects a spec object");
    Napi::Object spec = info[0].As<Napi::Object>();
    Napi::Array files = get_array(spec, "files", "spec");
    Napi::Array sizes = get_array(spec, "fileSizes", "spec");
    std::vector<std::string> paths;
    std::vector<uint64_t> expected;
    for (uint32_t i = 0; i < files.Length(); i++) {
      HL_CHECK(files.Get(i).IsString() && sizes.Get(i).IsNumber(), Argument, "spec.files/fileSizes malformed");
      paths.push_back(files.Get(i).As<Napi::String>().Utf8Value());
      expected.push_back((uint64_t)sizes.Get(i).As<Napi::Number>().Int64Value());
    }
    HL_CHECK(spec.Get("dims").IsObject(), Argument, "spec.dims must be an object");
    ModelDims dims = read_dims(spec.Get("dims").As<Napi::Object>());
    Napi::Array tensors = get_array(spec, "tensors", "spec");
    std::vector<TensorRecord> records;
    for (uint32_t i = 0; i < tensors.Length(); i++) {
      HL_CHECK(tensors.Get(i).IsObject(), Argument, "spec.tensors[" + std::to_string(i) + "] must be an object");
      records.push_back(read_tensor(tensors.Get(i).As<Napi::Object>(), i));
    }
    std::string device = get_str(spec, "device", "spec");
    HL_CHECK(device == "cpu" || device == "cuda", Argument, "spec.device must be 'cpu' or 'cuda'");
    int64_t threads = get_int(spec, "threads", "spec");
    PoolOptions pool;
    pool.page_size = get_int(spec, "pageSize", "spec");
    HL_CHECK(threads >= 1 && threads <= 1024, Argument, "threads must be within 1..1024");
    HL_CHECK(pool.page_size >= 1 && pool.page_size <= 4096, Argument, "pageSize must be within 1..4096");
    // Pool options; absent ones (direct callers such as the device probe) take defaults.
    auto has = [&](const char* k) { return !spec.Get(k).IsUndefined(); };
    if (has("memoryBudget")) {
      const double budget = get_num(spec, "memoryBudget", "spec");
      HL_CHECK(budget >= 1 && budget <= 1.8e19, Argument, "spec.memoryBudget must be a positive number of bytes");
      pool.budget = (uint64_t)budget;
    }
    if (has("maxSequences")) pool.max_sequences = get_int(spec, "maxSequences", "spec");
    HL_CHECK(pool.max_sequences >= 1, Argument, "spec.maxSequences must be >= 1");
    const std::string kv = has("kvCacheType") ? get_str(spec, "kvCacheType", "spec") : "f16";
    HL_CHECK(kv == "f16" || kv == "f32" || kv == "q8_0", Argument,
             "spec.kvCacheType must be 'f16', 'f32' or 'q8_0', got '" + kv + "'");
    pool.kv_dtype = kv == "f32" ? DType::F32 : kv == "f16" ? DType::F16 : DType::Q8_0;
    const double cache_bytes = has("prefixCacheBytes") ? get_num(spec, "prefixCacheBytes", "spec") : 0.0;
    HL_CHECK(cache_bytes >= 0 && cache_bytes <= 1.8e19, Argument, "spec.prefixCacheBytes must be >= 0");
    pool.prefix_cache_bytes = (uint64_t)cache_bytes;
    if (has("prefixChunkTokens")) pool.prefix_chunk = get_int(spec, "prefixChunkTokens", "spec");
    HL_CHECK(pool.prefix_chunk >= 1, Argument, "spec.prefixChunkTokens must be >= 1");
    // Quantize on load (WeightStore::matrix): absent means 'none'.
    DType quantize = DType::F32;
    if (!spec.Get("quantize").IsUndefined()) {
      std::string q = get_str(spec, "quantize", "spec");
      HL_CHECK(q == "none" || q == "q8_0" || q == "q4_k", Argument,
               "spec.quantize must be 'none', 'q8_0' or 'q4_k', got '" + q + "'");
      quantize = q == "q8_0" ? DType::Q8_0 : q == "q4_k" ? DType::Q4_K : DType::F32;
    }
    auto result = std::make_shared<std::shared_ptr<GraniteHybrid>>();
    auto recs = std::make_shared<std::vector<TensorRecord>>(std::move(records));
    return run_async(
        env, "hybridlm.load",
        [paths, expected, dims, recs, threads, pool, device, quantize, result]() {
          auto store = std::make_unique<WeightStore>(paths, expected, std::move(*recs), quantize);
          BackendOptions opts;
          opts.n_threads = (int)threads;
          auto backend = make_backend(device == "cuda" ? Device::CUDA : Device::CPU, opts);
          *result = std::make_shared<GraniteHybrid>(dims, std::move(store), std::move(backend), pool);
        },
        [result](Napi::Env env) -> Napi::Value {
          AddonData* data = env.GetInstanceData<AddonData>();
          auto* holder = new std::shared_ptr<GraniteHybrid>(*result);
          auto ext = Napi::External<std::shared_ptr<GraniteHybrid>>::New(
              env, holder, [](Napi::Env, std::shared_ptr<GraniteHybrid>* p) { delete p; });
          return data->model_ctor.New({ext});
        });
  });
}

}  // namespace

void register_model_exports(Napi::Env env, Napi::Object exports) {
  auto* data = new AddonData();
  data->model_ctor = Napi::Persistent(ModelHandle::define(env));
  env.SetInstanceData<AddonData>(data);
  exports.Set("loadModel", Napi::Function::New(env, load_model, "loadModel"));
}

}  // namespace hl::binding
