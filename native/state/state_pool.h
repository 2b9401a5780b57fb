// native/state/state_pool.h: every sequence's state of one model, drawn from
// one budgeted memory pool (docs/MEMORY.md).
// A sequence holds a recurrent-state slot — conv [n_mamba, d_conv-1, C] then
// SSM [n_mamba, H, P, N], f32 — and a table of refcounted KV pages. Slots and
// pages are blocks of two BlockArenas; every byte the pool allocates, plus the
// model's weights and scratch, is counted against the budget. When a new
// sequence, a page or a checkpoint would pass it, the pool gives back free
// chunks, then evicts prefix-cache entries (LRU), then throws OutOfMemory.
// Sequences are shared_ptrs so a step in flight keeps its sequences alive
// even if JS disposes them meanwhile.
#pragma once
#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "../core/backend.h"
#include "../core/model_dims.h"
#include "block_arena.h"
#include "kv_pages.h"
#include "prefix_cache.h"

namespace hl {

class StatePool;

struct PoolOptions {
  uint64_t budget = UINT64_MAX;      // bytes: weights + state + KV + cache + scratch
  int64_t max_sequences = 1 << 20;
  int64_t page_size = 16;            // tokens per KV page
  DType kv_dtype = DType::F16;
  uint64_t prefix_cache_bytes = 0;   // 0: prefix cache off
  int64_t prefix_chunk = 256;        // checkpoint every this many prefilled tokens
};

struct SequenceState {
  explicit SequenceState(StatePool& p) : pool(p) {}
  ~SequenceState();
  SequenceState(const SequenceState&) = delete;
  SequenceState& operator=(const SequenceState&) = delete;

  StatePool& pool;
  int32_t slot = -1;          // recurrent-state block; -1 until first used (its budget is held)
  bool needs_zero = true;     // slot not zeroed yet (zeroed by the first step, off the JS thread)
  std::vector<int32_t> pages; // KV page ids, one reference each
  int64_t n_past = 0;         // tokens consumed
  std::vector<int32_t> history;  // the tokens consumed, when known (prefix-cache keys)
  bool history_known = true;
  std::unique_ptr<Checkpoint> eval_checkpoint;  // state before the eval in progress
  std::atomic<bool> busy{false};                 // inside a step

  float* conv_layer(int64_t m) const;
  float* ssm_layer(int64_t m) const;
};

// One sequence's part of a step.
struct StepSequence {
  std::shared_ptr<SequenceState> state;
  std::vector<int32_t> tokens;
  bool all_logits = false;
  bool begin_eval = false;  // first chunk of a multi-token eval: checkpoint first
  bool end_eval = false;    // last chunk of its eval: drop the checkpoint after
  bool cache_prefix = false;  // store prefix-cache checkpoints at chunk ends
  bool prompt_end = false;    // this chunk ends a prompt (checkpoint there too)
  // in: only the greedy token of the last row is wanted (a plain greedy
  // sampler, no logprobs): the backend picks it where the logits are, and
  // `logits` stays empty.
  bool argmax_only = false;
  std::vector<float> logits;  // out: [rows, vocab]
  int32_t argmax = -1;        // out, with argmax_only: argmax of the last row's logits
  // out: why this sequence was left out of the step (it is as before its eval)
  bool failed = false;
  ErrorCode error_code = ErrorCode::Internal;
  std::string error;
};

struct PoolMemory {
  uint64_t budget, fixed, recurrent, kv, prefix_cache, pooled, total;
  int64_t kv_pages, sequences;
};

class StatePool {
 public:
  StatePool(Backend& backend, const ModelDims& dims, const PoolOptions& options);
  ~StatePool();

  // Weights and scratch: held outside the arenas, counted against the budget.
  void set_fixed_bytes(uint64_t weights) { fixed_ = weights; }
  // Takes budget for `bytes` more scratch (OutOfMemory when it cannot), then records the new total.
  void grow_scratch(uint64_t total_bytes);

  // A new empty sequence. O(1): its slot is taken (and zeroed) at first use.
  int32_t create();
  // A new sequence sharing this one's KV pages (copy-on-write) with a copy of its recurrent state.
  int32_t fork(int32_t id);
  // A new sequence restored from the longest cached prefix of tokens[0, n - 1); sets *restored.
  int32_t create_from_prefix(const int32_t* tokens, int64_t n, int64_t* restored);
  std::shared_ptr<SequenceState> get(int32_t id) const;  // throws Disposed if unknown
  void dispose(int32_t id);
  // Puts a sequence back to the checkpoint of its unfinished eval (none: nothing to do).
  void rollback(int32_t id);

  std::vector<uint8_t> snapshot(int32_t id) const;
  int32_t restore(const uint8_t* data, size_t size);

  // Step hooks (GraniteHybrid::step): claim slots, checkpoints and KV pages
  // for every sequence (a sequence that cannot get them is marked failed and
  // left untouched); then either commit the tokens or undo the step.
  void begin_step(std::vector<StepSequence>& batch);
  void commit_step(std::vector<StepSequence>& batch);
  void abort_step(std::vector<StepSequence>& batch);
  // Leaves one sequence out of a begun step (undone, marked failed with e).
  void fail(StepSequence& sq, const Error& e);

  // Address of page i's layer-a key (values) block of a sequence.
  float* kv_block(const SequenceState& s, int64_t i, int64_t a, bool values) const;
  const KvLayout& kv_layout() const { return layout_; }
  uint64_t recurrent_bytes_per_sequence() const { return slot_bytes_; }
  int64_t n_sequences() const;
  PoolMemory memory() const;
  PrefixCacheStats prefix_stats() const;
  void clear_prefix_cache();
  int64_t prefix_chunk() const { return options_.prefix_chunk; }
  bool prefix_cache_enabled() const { return options_.prefix_cache_bytes > 0; }

 private:
  friend struct SequenceState;
  using Lock = std::unique_lock<std::mutex>;
  int32_t insert(std::shared_ptr<SequenceState> s);
  uint64_t held_locked() const;
  std::string usage_locked() const;
  // Throws OutOfMemory naming `what` when `bytes` cannot be made to fit.
  void ensure_room_locked(uint64_t bytes, const std::string& what);
  bool make_room_locked(uint64_t bytes);
  // Returns free blocks past a slack to the backend (docs/MEMORY.md, Giving memory back).
  void give_back_idle_locked();
  int32_t acquire_locked(BlockArena& arena, const std::string& what);
  void materialize_locked(SequenceState& s);
  void reserve_pages_locked(SequenceState& s, int64_t n_tokens);
  void truncate_pages_locked(std::vector<int32_t>& pages, int64_t n_tokens);
  Checkpoint checkpoint_locked(SequenceState& s);
  void restore_locked(SequenceState& s, Checkpoint&& c);
  void release_locked(Checkpoint& c, bool cached = false);
  void release_state(SequenceState& s);
  void cache_insert_locked(SequenceState& s);
  void undo_locked(StepSequence& sq);

  Backend& backend_;
  ModelDims dims_;
  PoolOptions options_;
  KvLayout layout_;
  uint64_t conv_bytes_ = 0, slot_bytes_ = 0;
  uint64_t fixed_ = 0, scratch_ = 0;
  mutable std::mutex mutex_;
  BlockArena slots_, pages_;
  int64_t promised_slots_ = 0;  // sequences whose slot is not taken yet
  std::map<int32_t, std::shared_ptr<SequenceState>> seqs_;
  int32_t next_id_ = 1;
  PrefixCache cache_;
};

}  // namespace hl
