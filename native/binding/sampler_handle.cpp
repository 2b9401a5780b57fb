// native/binding/sampler_handle.cpp: `new SamplerHandle(params)` and
// `sampleBatch(samplers, logits, historyCounts, history, topN)` (typed in
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

struct BatchJob {
  std::vector<std::shared_ptr<TokenSampler>> samplers;
  std::vector<float> logits;  // copied rows, [rows, vocab] (vocab per sampler)
  std::vector<size_t> offsets;
  std::vector<int32_t> history;
  std::vector<int64_t> history_offsets;  // rows + 1
  int64_t top_n = -1;
  SamplerClaims claims;
  std::vector<SampledToken> out;

  void run() {
    std::vector<SampleRow> rows(samplers.size());
    for (size_t r = 0; r < rows.size(); r++) {
      rows[r].sampler = samplers[r].get();
      rows[r].logits = logits.data() + offsets[r];
      rows[r].history = history.data() + history_offsets[r];
      rows[r].n_history = history_offsets[r + 1] - history_offsets[r];
    }
    sample_rows(rows, top_n, out, ThreadPool::shared());
  }
};

// sampleBatch(samplers: SamplerHandle[], logits: Float32Array[], historyCounts: Int32Array,
//             history: Int32Array, topN: number)
//   -> Promise<{ tokens: Int32Array, logprobs: Float64Array | null,
//                topIds: Int32Array | null, topLogprobs: Float64Array | null }>
// topN < 0: no logprobs; else each row's chosen logprob and topN alternatives
// ([rows, topN], id -1 / logprob -inf where a row has fewer).
Napi::Value sample_batch(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guard(env, [&]() -> Napi::Value {
    HL_CHECK(info.Length() == 5 && info[0].IsArray() && info[1].IsArray() && info[2].IsTypedArray() &&
                 info[3].IsTypedArray() && info[4].IsNumber(),
             Argument, "sampleBatch(samplers, logits, historyCounts, history, topN) got the wrong arguments");
    auto samplers = info[0].As<Napi::Array>();
    auto logits = info[1].As<Napi::Array>();
    auto counts = info[2].As<Napi::TypedArray>();
    auto history = info[3].As<Napi::TypedArray>();
    HL_CHECK(counts.TypedArrayType() == napi_int32_array && history.TypedArrayType() == napi_int32_array, Argument,
             "sampleBatch: historyCounts and history must be Int32Arrays");
    const size_t n = samplers.Length();
    HL_CHECK(n > 0 && logits.Length() == n && counts.ElementLength() == n, Argument,
             "sampleBatch: samplers, logits and historyCounts must have the same non-zero length");
    double top_n = info[4].As<Napi::Number>().DoubleValue();
    HL_CHECK(top_n == std::floor(top_n) && top_n >= -1 && top_n <= 100000, Argument,
             "sampleBatch: topN must be an integer >= -1");
    auto job = std::make_shared<BatchJob>();
    job->top_n = (int64_t)top_n;
    auto cnt = counts.As<Napi::Int32Array>();
    auto hist = history.As<Napi::Int32Array>();
    job->history.assign(hist.Data(), hist.Data() + hist.ElementLength());
    job->history_offsets.push_back(0);
    size_t total = 0;
    for (size_t r = 0; r < n; r++) {
      const std::string what = "sampleBatch: row " + std::to_string(r);
      auto s = unwrap_sampler(samplers.Get((uint32_t)r), what + " sampler");
      Napi::Value lv = logits.Get((uint32_t)r);
      HL_CHECK(lv.IsTypedArray() && lv.As<Napi::TypedArray>().TypedArrayType() == napi_float32_array, Argument,
               what + ": logits must be a Float32Array");
      HL_CHECK((int64_t)lv.As<Napi::Float32Array>().ElementLength() == s->vocab(), Argument,
               what + ": expected " + std::to_string(s->vocab()) + " logits, got " +
                   std::to_string(lv.As<Napi::Float32Array>().ElementLength()));
      HL_CHECK(cnt[r] >= 0 && job->history_offsets.back() + cnt[r] <= (int64_t)job->history.size(), Argument,
               what + ": historyCounts is out of range");
      job->history_offsets.push_back(job->history_offsets.back() + cnt[r]);
      job->offsets.push_back(total);
      total += (size_t)s->vocab();
      job->samplers.push_back(std::move(s));
    }
    HL_CHECK(job->history_offsets.back() == (int64_t)job->history.size(), Argument,
             "sampleBatch: historyCounts do not add up to history.length");
    job->logits.resize(total);
    for (size_t r = 0; r < n; r++) {
      auto a = logits.Get((uint32_t)r).As<Napi::Float32Array>();
      std::memcpy(job->logits.data() + job->offsets[r], a.Data(), a.ElementLength() * sizeof(float));
    }
    for (size_t r = 0; r < n; r++) job->claims.claim(job->samplers[r], "sampleBatch: row " + std::to_string(r) + " sampler");
    return run_async(
        env, "hybridlm.sample", [job]() { job->run(); },
        [job](Napi::Env env) -> Napi::Value {
          const size_t rows = job->out.size();
          Napi::Object o = Napi::Object::New(env);
          auto tokens = Napi::Int32Array::New(env, rows);
          for (size_t r = 0; r < rows; r++) tokens[r] = job->out[r].token;
          o.Set("tokens", tokens);
          if (job->top_n < 0) {
            o.Set("logprobs", env.Null());
            o.Set("topIds", env.Null());
            o.Set("topLogprobs", env.Null());
            return o;
          }
          const size_t k = (size_t)job->top_n;
          auto lp = Napi::Float64Array::New(env, rows);
          auto ids = Napi::Int32Array::New(env, rows * k);
          auto tlp = Napi::Float64Array::New(env, rows * k);
          for (size_t r = 0; r < rows; r++) {
            const TokenLogprobs& t = job->out[r].logprobs;
            lp[r] = t.logprob;
            for (size_t j = 0; j < k; j++) {
              ids[r * k + j] = j < t.top_ids.size() ? t.top_ids[j] : -1;
              tlp[r * k + j] = j < t.top_ids.size() ? t.top_logprobs[j] : -INFINITY;
            }
          }
          o.Set("logprobs", lp);
          o.Set("topIds", ids);
          o.Set("topLogprobs", tlp);
          return o;
        });
  });
}

}  // namespace

std::shared_ptr<TokenSampler> unwrap_sampler(const Napi::Value& v, const std::string& what) {
  HL_CHECK(v.IsObject() && v.As<Napi::Object>().CheckTypeTag(&kSamplerTag), Argument,
           what + " must be a SamplerHandle");
  SamplerHandle* h = SamplerHandle::Unwrap(v.As<Napi::Object>());
  HL_CHECK(h != nullptr && h->sampler() != nullptr, Argument, what + " is not a live SamplerHandle");
  return h->sampler();
}

void register_sampler_exports(Napi::Env env, Napi::Object exports) {
  exports.Set("SamplerHandle", SamplerHandle::define(env));
  exports.Set("sampleBatch", Napi::Function::New(env, sample_batch, "sampleBatch"));
}

}  // namespace hl::binding
