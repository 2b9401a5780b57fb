// native/state/state_pool.h: per-sequence recurrent state and KV pages.
// Each sequence owns: conv state [n_mamba, d_conv-1, conv_channels] and SSM
// state [n_mamba, H, P, N] (f32, fixed size), plus KvPages for the attention
// layers (growing with context). Sequences are shared_ptrs so a step in
// flight keeps its sequences alive even if JS disposes them meanwhile.
#pragma once
#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <vector>

#include "../core/backend.h"
#include "../core/tensor.h"
#include "../core/model_dims.h"
#include "kv_pages.h"

namespace hl {

struct SequenceState {
  SequenceState(Backend& backend, const ModelDims& dims, const KvLayout& layout,
                std::shared_ptr<KvPageCounter> counter);

  DeviceBuffer conv;    // [n_mamba, d_conv - 1, conv_channels], backend memory
  DeviceBuffer ssm;     // [n_mamba, H, P, N], backend memory
  KvPages kv;           // attention layers
  int64_t n_past = 0;   // tokens consumed
  std::atomic<bool> busy{false};  // inside a step

  float* conv_layer(int64_t m, const ModelDims& d) const { return conv.f32() + m * d.conv_state_floats(); }
  float* ssm_layer(int64_t m, const ModelDims& d) const { return ssm.f32() + m * d.ssm_state_floats(); }
};

class StatePool {
 public:
  StatePool(Backend& backend, const ModelDims& dims, int64_t page_size);

  int32_t create();
  // Deep copy of a sequence's state into a new id.
  int32_t fork(int32_t id);
  // Throws Disposed if the id is unknown.
  std::shared_ptr<SequenceState> get(int32_t id) const;
  void dispose(int32_t id);

  // Serialise (header + conv + ssm + KV of the first n_past tokens).
  std::vector<uint8_t> snapshot(int32_t id) const;
  // Validate and load a snapshot into a new sequence.
  int32_t restore(const uint8_t* data, size_t size);

  // Bytes of recurrent state per sequence (conv + SSM over all Mamba layers).
  uint64_t recurrent_bytes_per_sequence() const;
  uint64_t recurrent_bytes() const;
  uint64_t kv_bytes() const { return (uint64_t)counter_->pages() * layout_.page_bytes(); }
  int64_t kv_pages() const { return counter_->pages(); }
  const KvLayout& kv_layout() const { return layout_; }
  int64_t n_sequences() const;

 private:
  int32_t insert(std::shared_ptr<SequenceState> s);

  Backend& backend_;
  ModelDims dims_;
  KvLayout layout_;
  std::shared_ptr<KvPageCounter> counter_;
  mutable std::mutex mutex_;
  std::map<int32_t, std::shared_ptr<SequenceState>> seqs_;
  int32_t next_id_ = 1;
};

}  // namespace hl
