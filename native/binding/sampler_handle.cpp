// native/binding/sampler_handle.cpp: `new SamplerHandle(params)`,
// `sampleBatch(logits, sampling)` and RowSampling (typed in
// lib/native-types.ts). Parameters arrive validated by lib/generate/sampling.ts
// and are checked again here; sampling runs off the JS thread, rows in
// parallel on ThreadPool::shared().
#include "sampler_handle.h"

#include <cmath>
#include <cstring>
#include <vector>

#include "async_job.h"
#include "exports.h"
#include "js_error.h"

namespace hl::binding {

namespace {

// Marks objects made by SamplerHandle so unwrap never misreads another wrap.
const napi_type_tag kSamplerTag = {0x6b1f3a2c9d4e5f60ULL, 0x8a7b6c5d4e3f2a19ULL};

double num(const Napi::Object& o, const char* key) {
  Napi::Value v = o.Get(key);
  HL_CHECK(v.IsNumber(), Argument, std::string("sampler params.") + key + " must be a number");
  double d = v.As<Napi::Number>().DoubleValue();
  HL_CHECK(!std::isnan(d), Argument, std::string("sampler params.") + key + " is NaN");
  return d;
}

int64_t integer(const Napi::Object& o, const char* key, int64_t lo, int64_t hi) {
  double d = num(o, key);
  HL_CHECK(d == std::floor(d) && d >= (double)lo && d <= (double)hi, Argument,
           std::string("sampler params.") + key + " must be an integer in [" + std::to_string(lo) + ", " +
               std::to_string(hi) + "]");
  return (int64_t)d;
}

template <typename T>
T typed(const Napi::Object& o, const char* key, napi_typedarray_type type) {
  Napi::Value v = o.Get(key);
  HL_CHECK(v.IsTypedArray() && v.As<Napi::TypedArray>().TypedArrayType() == type, Argument,
           std::string("sampler params.") + key + " has the wrong type");
  return v.As<T>();
}

class SamplerHandle : public Napi::ObjectWrap<SamplerHandle> {
 public:
  static Napi::Function define(Napi::Env env) {
    return DefineClass(env, "SamplerHandle", {InstanceAccessor<&SamplerHandle::vocab>("vocab")});
  }

  // params: { vocab, temperature, topK, topP, minP, repeatPenalty, presencePenalty,
  //           frequencyPenalty, penaltyLastN, seed, biasIds: Int32Array,
  //           biasValues: Float64Array, banned: Int32Array }
  explicit SamplerHandle(const Napi::CallbackInfo& info) : Napi::ObjectWrap<SamplerHandle>(info) {
    Napi::Env env = info.Env();
    guard(env, [&]() -> Napi::Value {
      HL_CHECK(info.Length() == 1 && info[0].IsObject(), Argument, "SamplerHandle expects a params object");
      Napi::Object o = info[0].As<Napi::Object>();
      SamplerParams p;
      int64_t vocab = integer(o, "vocab", 1, int64_t(1) << 31);
      p.temperature = num(o, "temperature");
      p.top_k = integer(o, "topK", 0, int64_t(1) << 53);
      p.top_p = num(o, "topP");
      p.min_p = num(o, "minP");
      p.repeat_penalty = num(o, "repeatPenalty");
      p.presence_penalty = num(o, "presencePenalty");
      p.frequency_penalty = num(o, "frequencyPenalty");
      p.penalty_last_n = integer(o, "penaltyLastN", 0, int64_t(1) << 53);
      p.seed = (uint32_t)integer(o, "seed", 0, 4294967295LL);
      auto ids = typed<Napi::Int32Array>(o, "biasIds", napi_int32_array);
      auto vals = typed<Napi::Float64Array>(o, "biasValues", napi_float64_array);
      HL_CHECK(ids.ElementLength() == vals.ElementLength(), Argument,
               "sampler params.biasIds and biasValues must have the same length");
      for (size_t i = 0; i < ids.ElementLength(); i++) p.bias.emplace_back(ids[i], vals[i]);
      auto banned = typed<Napi::Int32Array>(o, "banned", napi_int32_array);
      p.banned.assign(banned.Data(), banned.Data() + banned.ElementLength());
      sampler_ = std::make_shared<TokenSampler>(std::move(p), vocab);
      info.This().As<Napi::Object>().TypeTag(&kSamplerTag);
      return env.Undefined();
    });
  }

  std::shared_ptr<TokenSampler> sampler() const { return sampler_; }

 private:
  Napi::Value vocab(const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), sampler_ ? (double)sampler_->vocab() : 0.0);
  }

  std::shared_ptr<TokenSampler> sampler_;
};

// The sampler inside a SamplerHandle; throws naming `what` when `v` is anything else.
std::shared_ptr<TokenSampler> unwrap_sampler(const Napi::Value& v, const std::string& what) {
  HL_CHECK(v.IsObject() && v.As<Napi::Object>().CheckTypeTag(&kSamplerTag), Argument,
           what + " must be a SamplerHandle");
  SamplerHandle* h = SamplerHandle::Unwrap(v.As<Napi::Object>());
  HL_CHECK(h != nullptr && h->sampler() != nullptr, Argument, what + " is not a live SamplerHandle");
  return h->sampler();
}

// sampleBatch(logits: Float32Array[], sampling: RowSampling spec with a sampler on every row)
//   -> Promise<Array<{ token, logprob?, topIds?, topLogprobs? }>>
Napi::Value sample_batch(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guard(env, [&]() -> Napi::Value {
    HL_CHECK(info.Length() == 2 && info[0].IsArray(), Argument, "sampleBatch(logits, sampling) got the wrong arguments");
    auto rows = info[0].As<Napi::Array>();
    const size_t n = rows.Length();
    HL_CHECK(n > 0, Argument, "sampleBatch: no rows");
    auto sampling = std::make_shared<RowSampling>(info[1], n, "sampleBatch");
    // Copies: the rows are JS memory the caller may reuse while the job runs.
    auto logits = std::make_shared<std::vector<std::vector<float>>>(n);
    for (size_t r = 0; r < n; r++) {
      const std::string what = "sampleBatch: row " + std::to_string(r);
      HL_CHECK(sampling->sampled(r), Argument, what + " has no sampler");
      Napi::Value lv = rows.Get((uint32_t)r);
      HL_CHECK(lv.IsTypedArray() && lv.As<Napi::TypedArray>().TypedArrayType() == napi_float32_array, Argument,
               what + ": logits must be a Float32Array");
      auto a = lv.As<Napi::Float32Array>();
      HL_CHECK((int64_t)a.ElementLength() == sampling->vocab(r), Argument,
               what + ": expected " + std::to_string(sampling->vocab(r)) + " logits, got " +
                   std::to_string(a.ElementLength()));
      (*logits)[r].assign(a.Data(), a.Data() + a.ElementLength());
    }
    return run_async(
        env, "hybridlm.sample",
        [sampling, logits]() {
          std::vector<const float*> ptrs;
          for (auto& l : *logits) ptrs.push_back(l.data());
          sampling->run(ptrs, {}, ThreadPool::shared());
        },
        [sampling, n](Napi::Env env) -> Napi::Value {
          Napi::Array out = Napi::Array::New(env, n);
          for (size_t r = 0; r < n; r++) out.Set((uint32_t)r, sampling->result(env, r));
          return out;
        });
  });
}

}  // namespace

RowSampling::RowSampling(const Napi::Value& spec, size_t n_rows, const std::string& where) {
  HL_CHECK(spec.IsObject(), Argument, where + ": sampling must be an object");
  Napi::Object o = spec.As<Napi::Object>();
  Napi::Value sv = o.Get("samplers");
  HL_CHECK(sv.IsArray() && sv.As<Napi::Array>().Length() == n_rows, Argument,
           where + ": sampling.samplers must be an array with one entry per row");
  auto counts = typed<Napi::Int32Array>(o, "historyCounts", napi_int32_array);
  auto hist = typed<Napi::Int32Array>(o, "history", napi_int32_array);
  HL_CHECK(counts.ElementLength() == n_rows, Argument, where + ": sampling.historyCounts needs one entry per row");
  Napi::Value tv = o.Get("topN");
  HL_CHECK(tv.IsNumber(), Argument, where + ": sampling.topN must be a number");
  double top_n = tv.As<Napi::Number>().DoubleValue();
  HL_CHECK(top_n == std::floor(top_n) && top_n >= -1 && top_n <= 100000, Argument,
           where + ": sampling.topN must be an integer >= -1");
  top_n_ = (int64_t)top_n;
  history_.assign(hist.Data(), hist.Data() + hist.ElementLength());
  history_offsets_.push_back(0);
  for (size_t r = 0; r < n_rows; r++) {
    HL_CHECK(counts[r] >= 0 && history_offsets_.back() + counts[r] <= (int64_t)history_.size(), Argument,
             where + ": sampling.historyCounts[" + std::to_string(r) + "] is out of range");
    history_offsets_.push_back(history_offsets_.back() + counts[r]);
    Napi::Value s = sv.As<Napi::Array>().Get((uint32_t)r);
    samplers_.push_back(s.IsNull() || s.IsUndefined()
                            ? nullptr
                            : unwrap_sampler(s, where + ": row " + std::to_string(r) + " sampler"));
  }
  HL_CHECK(history_offsets_.back() == (int64_t)history_.size(), Argument,
           where + ": sampling.historyCounts do not add up to history.length");
  for (size_t r = 0; r < n_rows; r++)
    if (samplers_[r]) claims_.claim(samplers_[r], where + ": row " + std::to_string(r) + " sampler");
}

void RowSampling::run(const std::vector<const float*>& logits, const std::vector<int32_t>& picked, ThreadPool& pool) {
  std::vector<SampleRow> rows;
  std::vector<size_t> at;
  out_.assign(samplers_.size(), SampledToken{});
  for (size_t r = 0; r < samplers_.size(); r++) {
    if (!samplers_[r]) continue;
    if (r < picked.size() && picked[r] >= 0) {
      out_[r].token = picked[r];
      continue;
    }
    SampleRow row;
    row.sampler = samplers_[r].get();
    row.logits = logits[r];
    row.history = history_.data() + history_offsets_[r];
    row.n_history = history_offsets_[r + 1] - history_offsets_[r];
    rows.push_back(row);
    at.push_back(r);
  }
  std::vector<SampledToken> got;
  sample_rows(rows, top_n_, got, pool);
  for (size_t i = 0; i < at.size(); i++) out_[at[i]] = std::move(got[i]);
}

Napi::Object RowSampling::result(Napi::Env env, size_t row) const {
  const SampledToken& t = out_[row];
  Napi::Object o = Napi::Object::New(env);
  o.Set("token", Napi::Number::New(env, t.token));
  if (top_n_ >= 0) o.Set("logprob", Napi::Number::New(env, t.logprobs.logprob));
  if (top_n_ > 0) {
    const size_t k = t.logprobs.top_ids.size();
    auto ids = Napi::Int32Array::New(env, k);
    auto lps = Napi::Float64Array::New(env, k);
    for (size_t j = 0; j < k; j++) {
      ids[j] = t.logprobs.top_ids[j];
      lps[j] = t.logprobs.top_logprobs[j];
    }
    o.Set("topIds", ids);
    o.Set("topLogprobs", lps);
  }
  return o;
}

void register_sampler_exports(Napi::Env env, Napi::Object exports) {
  exports.Set("SamplerHandle", SamplerHandle::define(env));
  exports.Set("sampleBatch", Napi::Function::New(env, sample_batch, "sampleBatch"));
}

}  // namespace hl::binding
