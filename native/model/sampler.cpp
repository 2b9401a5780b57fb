// native/model/sampler.cpp: see sampler.h. The vocab-wide passes (greedy max,
// the top-k scan, the log-sum-exp of logprobs) run on the SIMD table; the
// rest touches at most the candidates.
#include "sampler.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>

#include "../core/error.h"
#include "../cpu/kernels.h"
#include "../cpu/simd/ops.h"

namespace hl {

namespace {

// Candidate order of the TS sampler: larger logit first, lower id on ties.
struct Better {
  const float* l;
  bool operator()(int32_t a, int32_t b) const { return l[a] > l[b] || (l[a] == l[b] && a < b); }
};

bool usable_value(float v) { return !(v == -INFINITY || std::isnan(v)); }

void sorted_indices(const float* l, int64_t n, std::vector<int32_t>& out) {
  out.clear();
  for (int64_t i = 0; i < n; i++)
    if (usable_value(l[i])) out.push_back((int32_t)i);
  std::sort(out.begin(), out.end(), Better{l});
}

}  // namespace

void top_indices(const float* l, int64_t n, int64_t k, std::vector<int32_t>& out) {
  out.clear();
  if (k <= 0) return;
  // A heap whose front is the worst kept index; once k are kept, only values
  // above that one's can enter, so whole vectors below it are skipped.
  const Better better{l};
  int64_t i = 0;
  for (; i < n && (int64_t)out.size() < k; i++)
    if (usable_value(l[i])) {
      out.push_back((int32_t)i);
      std::push_heap(out.begin(), out.end(), better);
    }
  if ((int64_t)out.size() == k) {
    const cpu::SimdOps& ops = cpu::simd_ops();
    float floor = l[out.front()];
    while ((i = ops.first_gt(l, i, n, floor)) < n) {
      std::pop_heap(out.begin(), out.end(), better);
      out.back() = (int32_t)i;
      std::push_heap(out.begin(), out.end(), better);
      floor = l[out.front()];
      i++;
    }
  }
  std::sort_heap(out.begin(), out.end(), better);
}

TokenSampler::TokenSampler(SamplerParams params, int64_t vocab) : p_(std::move(params)), vocab_(vocab), rng_(p_.seed) {
  HL_CHECK(vocab_ >= 1, Argument, "sampler: vocab must be >= 1");
  HL_CHECK(p_.temperature >= 0 && p_.top_k >= 0 && p_.top_p >= 0 && p_.top_p <= 1 && p_.min_p >= 0 && p_.min_p <= 1 &&
               p_.repeat_penalty > 0 && p_.penalty_last_n >= 0,
           Argument, "sampler: a parameter is out of range");
  for (auto& [id, b] : p_.bias) {
    HL_CHECK(id >= 0 && id < vocab_, Argument,
             "sampler: logitBias key " + std::to_string(id) + " is not a token id in [0, " + std::to_string(vocab_) + ")");
    HL_CHECK(!std::isnan(b), Argument, "sampler: logitBias[" + std::to_string(id) + "] is NaN");
  }
  for (int32_t id : p_.banned)
    HL_CHECK(id >= 0 && id < vocab_, Argument, "sampler: banned id " + std::to_string(id) + " is out of range");
}

bool TokenSampler::plain_greedy() const {
  const bool penalties = p_.penalty_last_n != 0 &&
                         (p_.repeat_penalty != 1 || p_.presence_penalty != 0 || p_.frequency_penalty != 0);
  return p_.temperature == 0 && p_.banned.empty() && p_.bias.empty() && !penalties;
}

void TokenSampler::apply_penalties(float* l, const int32_t* history, int64_t n_history) const {
  if (p_.penalty_last_n == 0 ||
      (p_.repeat_penalty == 1 && p_.presence_penalty == 0 && p_.frequency_penalty == 0))
    return;
  const int64_t from = std::max<int64_t>(0, n_history - p_.penalty_last_n);
  std::vector<int32_t> ids(history + from, history + n_history);
  std::sort(ids.begin(), ids.end());
  for (size_t a = 0; a < ids.size();) {
    size_t b = a;
    while (b < ids.size() && ids[b] == ids[a]) b++;
    const int32_t id = ids[a];
    const double count = (double)(b - a);
    a = b;
    if (id < 0 || id >= vocab_) continue;
    double v = l[id];
    v = v > 0 ? v / p_.repeat_penalty : v * p_.repeat_penalty;
    l[id] = (float)(v - p_.presence_penalty - count * p_.frequency_penalty);
  }
}

int32_t TokenSampler::sample(const float* logits, const int32_t* history, int64_t n_history, float* l) {
  std::memcpy(l, logits, (size_t)vocab_ * sizeof(float));
  for (int32_t id : p_.banned) l[id] = -INFINITY;
  for (auto& [id, b] : p_.bias) l[id] = (float)((double)l[id] + b);
  apply_penalties(l, history, n_history);
  if (p_.temperature == 0) return cpu::argmax(l, vocab_);

  std::vector<int32_t> cand;
  if (p_.top_k > 0) top_indices(l, vocab_, p_.top_k, cand);
  else sorted_indices(l, vocab_, cand);
  if (cand.empty()) return cpu::argmax(l, vocab_);
  const double lmax = l[cand[0]];
  // top-p and min-p on the untempered distribution, then temperature.
  size_t n = cand.size();
  if (p_.top_p < 1 || p_.min_p > 0) {
    std::vector<double> p(n);
    double z = 0;
    for (size_t i = 0; i < n; i++) {
      p[i] = std::exp((double)l[cand[i]] - lmax);
      z += p[i];
    }
    if (p_.top_p < 1) {
      double acc = 0;
      for (size_t i = 0; i < n; i++) {
        acc += p[i] / z;
        if (acc >= p_.top_p) {
          n = i + 1;
          break;
        }
      }
    }
    if (p_.min_p > 0) {
      size_t keep = 1;
      while (keep < n && p[keep] >= p_.min_p * p[0]) keep++;
      n = keep;
    }
  }
  std::vector<double> w(n);
  double total = 0;
  for (size_t i = 0; i < n; i++) {
    w[i] = std::exp(((double)l[cand[i]] - lmax) / p_.temperature);
    total += w[i];
  }
  double r = rng_.next() * total;
  for (size_t i = 0; i < n; i++) {
    r -= w[i];
    if (r < 0) return cand[i];
  }
  return cand[n - 1];
}

void logprobs_of(const float* logits, int64_t n, int32_t token, int64_t top_n, float* work, TokenLogprobs& out) {
  const cpu::SimdOps& ops = cpu::simd_ops();
  const float max = ops.max_f32(logits, n);
  // Sum of exp in blocks, accumulated in f64 so 100K terms keep their precision.
  constexpr int64_t kBlock = 1024;
  double sum = 0;
  for (int64_t i = 0; i < n; i += kBlock)
    sum += ops.exp_sub_sum(work, logits + i, std::min(kBlock, n - i), max);
  const double lse = (double)max + std::log(sum);
  out.logprob = (double)logits[token] - lse;
  out.top_ids.clear();
  out.top_logprobs.clear();
  if (top_n > 0) {
    top_indices(logits, n, top_n, out.top_ids);
    for (int32_t id : out.top_ids) out.top_logprobs.push_back((double)logits[id] - lse);
  }
}

void sample_rows(const std::vector<SampleRow>& rows, int64_t top_n, std::vector<SampledToken>& out, ThreadPool& pool) {
  out.assign(rows.size(), SampledToken{});
  pool.parallel_for((int64_t)rows.size(), [&](int64_t begin, int64_t end, int) {
    std::vector<float> work;
    for (int64_t r = begin; r < end; r++) {
      const SampleRow& row = rows[(size_t)r];
      const int64_t vocab = row.sampler->vocab();
      work.resize((size_t)vocab);
      out[(size_t)r].token = row.sampler->sample(row.logits, row.history, row.n_history, work.data());
      if (top_n >= 0) logprobs_of(row.logits, vocab, out[(size_t)r].token, top_n, work.data(), out[(size_t)r].logprobs);
    }
  });
}

}  // namespace hl
