// native/model/sampler.h: token sampling next to the forward pass, so a batch
// of 64 sequences never ships 64 full-vocab logits rows to JavaScript.
// The algorithm is lib/generate/sampling.ts step for step (that file is the
// reference): unusable ids masked -> logit bias -> repetition / presence /
// frequency penalties -> argmax when temperature is 0, else top-k -> top-p ->
// min-p -> temperature -> a draw from the seeded generator (sampler_rng.h).
// Every value is rounded where the TS one is (f32 logits, f64 probabilities),
// so the same seed picks the same token; the only difference left is exp,
// which V8 and libm may round differently in the last bit of a double, and
// that can change a pick only when a draw lands within ~1e-16 of a boundary.
#pragma once
#include <atomic>
#include <cstdint>
#include <mutex>
#include <utility>
#include <vector>

#include "../core/thread_pool.h"
#include "sampler_rng.h"

namespace hl {

struct SamplerParams {
  double temperature = 0.0;  // 0 = greedy
  int64_t top_k = 40;        // 0 = all
  double top_p = 0.95;       // 1 = off
  double min_p = 0.05;       // 0 = off
  double repeat_penalty = 1.0;
  double presence_penalty = 0.0;
  double frequency_penalty = 0.0;
  int64_t penalty_last_n = 64;
  std::vector<std::pair<int32_t, double>> bias;  // added to logits[id]
  std::vector<int32_t> banned;                   // ids never produced
  uint32_t seed = 0;
};

// One generation's sampler: its parameters and generator. sample() on one
// sampler must be serialised by the caller (`busy` marks it in use).
class TokenSampler {
 public:
  TokenSampler(SamplerParams params, int64_t vocab);

  int64_t vocab() const { return vocab_; }
  const SamplerParams& params() const { return p_; }
  // sample() is then cpu::argmax of the logits as given: temperature 0, no
  // banned ids, no bias, no active penalty (a backend may pick it on device).
  bool plain_greedy() const;

  // The next token from `logits` [vocab] given the tokens so far (only the
  // last penalty_last_n of `history` matter). `work`: vocab floats of scratch.
  int32_t sample(const float* logits, const int32_t* history, int64_t n_history, float* work);

  std::atomic<bool> busy{false};

 private:
  void apply_penalties(float* l, const int32_t* history, int64_t n_history) const;

  SamplerParams p_;
  int64_t vocab_;
  SamplerRng rng_;
};

// The k largest non-NaN, non -inf entries' indices, largest first (ties: lower index first).
void top_indices(const float* l, int64_t n, int64_t k, std::vector<int32_t>& out);

// log-softmax of `logits` at `token` and the top_n most likely alternatives
// (`work`: n floats of scratch).
struct TokenLogprobs {
  double logprob = 0.0;
  std::vector<int32_t> top_ids;
  std::vector<double> top_logprobs;
};
void logprobs_of(const float* logits, int64_t n, int32_t token, int64_t top_n, float* work, TokenLogprobs& out);

// One row of a batch: its sampler, logits [vocab] and history.
struct SampleRow {
  TokenSampler* sampler = nullptr;
  const float* logits = nullptr;
  const int32_t* history = nullptr;
  int64_t n_history = 0;
};

struct SampledToken {
  int32_t token = 0;
  TokenLogprobs logprobs;  // filled when top_n >= 0
};

// Samples every row (rows in parallel on `pool`; each sampler appears at most
// once). top_n < 0: no logprobs; otherwise the chosen token's logprob and the
// top_n alternatives.
void sample_rows(const std::vector<SampleRow>& rows, int64_t top_n, std::vector<SampledToken>& out, ThreadPool& pool);

}  // namespace hl
