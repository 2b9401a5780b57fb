// native/binding/sampler_handle.h: the JS object wrapping one TokenSampler
// (lib/generate/native-sampler.ts), and RowSampling, the sampling request a
// batch of logits rows carries: sampleBatch's rows, or a model step's rows,
// sampled right after the forward pass so only token ids cross into JS.
#pragma once
#include <napi.h>

#include <memory>
#include <string>
#include <vector>

#include "../core/error.h"
#include "../core/thread_pool.h"
#include "../model/sampler.h"

namespace hl::binding {

// Marks samplers busy on the JS thread and clears them when it goes out of
// scope (on whichever thread finishes the job). A sampler already busy, or
// twice in one batch, is refused with Busy.
class SamplerClaims {
 public:
  SamplerClaims() = default;
  SamplerClaims(const SamplerClaims&) = delete;
  SamplerClaims& operator=(const SamplerClaims&) = delete;
  ~SamplerClaims() {
    for (auto& s : held_) s->busy = false;
  }
  void claim(const std::shared_ptr<TokenSampler>& s, const std::string& what) {
    bool expected = false;
    if (!s->busy.compare_exchange_strong(expected, true))
      throw Error(ErrorCode::Busy, what + " is already sampling (a sampler serves one row at a time)");
    held_.push_back(s);
  }

 private:
  std::vector<std::shared_ptr<TokenSampler>> held_;
};

// Which rows of a batch to sample, with what, read from JS
//   { samplers: Array<SamplerHandle | null>, historyCounts: Int32Array,
//     history: Int32Array, topN: number }
// (null: that row is not sampled; topN < 0: no logprobs, else the chosen
// token's logprob and topN alternatives). Reading validates everything and
// claims the samplers until this object dies.
class RowSampling {
 public:
  RowSampling(const Napi::Value& spec, size_t n_rows, const std::string& where);

  bool sampled(size_t row) const { return samplers_[row] != nullptr; }
  // Leaves a row out (its sequence failed in the step): nothing is drawn for it.
  void skip(size_t row) { samplers_[row] = nullptr; }
  int64_t vocab(size_t row) const { return samplers_[row]->vocab(); }
  // The row's token is just the argmax of its logits (a plain greedy sampler
  // and no logprobs asked), so a step can pick it without returning logits.
  bool argmax_only(size_t row) const { return samplers_[row] && top_n_ < 0 && samplers_[row]->plain_greedy(); }
  // Samples every sampled row; logits[row] points at that row's [vocab]
  // floats, or picked[row] >= 0 is the row's token already (argmax_only rows
  // whose step picked it). Runs off the JS thread (rows in parallel on `pool`).
  void run(const std::vector<const float*>& logits, const std::vector<int32_t>& picked, ThreadPool& pool);
  // { token, logprob?, topIds?, topLogprobs? } of a sampled row, after run().
  Napi::Object result(Napi::Env env, size_t row) const;

 private:
  std::vector<std::shared_ptr<TokenSampler>> samplers_;
  std::vector<int32_t> history_;
  std::vector<int64_t> history_offsets_;  // rows + 1
  int64_t top_n_ = -1;
  SamplerClaims claims_;
  std::vector<SampledToken> out_;  // per row
};

}  // namespace hl::binding
