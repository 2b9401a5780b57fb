// native/binding/sampler_handle.h: the JS object wrapping one TokenSampler
// (lib/generate/native-sampler.ts), shared with the model surface so a step
// can sample right after its forward pass.
#pragma once
#include <napi.h>

#include <memory>
#include <string>
#include <vector>

#include "../core/error.h"
#include "../model/sampler.h"

namespace hl::binding {

// The sampler inside a SamplerHandle; throws hl::Error naming `what` when
// `v` is anything else.
std::shared_ptr<TokenSampler> unwrap_sampler(const Napi::Value& v, const std::string& what);

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

}  // namespace hl::binding
