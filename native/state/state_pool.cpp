// native/state/state_pool.cpp: see state_pool.h.
// Snapshot format (little-endian): magic "HLSS", u32 version, u64 model
// fingerprint, i64 n_past, u64 conv bytes, u64 ssm bytes, u64 page bytes,
// i32 KV dtype, u64 n_pages, then conv, ssm and the pages. Restore checks
// every field against this model before allocating.
#include "state_pool.h"

#include <algorithm>
#include <cstring>

namespace hl {

static constexpr uint32_t kSnapshotVersion = 2;
static constexpr char kSnapshotMagic[4] = {'H', 'L', 'S', 'S'};

static std::string mb(uint64_t bytes) {
  char buf[32];
  if (bytes < 1000000)
    std::snprintf(buf, sizeof buf, "%.1f kB", (double)bytes / 1e3);
  else
    std::snprintf(buf, sizeof buf, "%.1f MB", (double)bytes / 1e6);
  return buf;
}

// ---- SequenceState

SequenceState::~SequenceState() { pool.release_state(*this); }

float* SequenceState::conv_layer(int64_t m) const {
  return reinterpret_cast<float*>(pool.slots_.ptr(slot)) + m * pool.dims_.conv_state_floats();
}
float* SequenceState::ssm_layer(int64_t m) const {
  return reinterpret_cast<float*>(pool.slots_.ptr(slot) + pool.conv_bytes_) + m * pool.dims_.ssm_state_floats();
}

// ---- pool

static uint64_t kv_chunk_pages(uint64_t page_bytes) {
  return std::max<uint64_t>(1, (uint64_t(4) << 20) / std::max<uint64_t>(1, page_bytes));  // ~4 MB chunks
}

static KvLayout layout_of(const ModelDims& d, const PoolOptions& o) {
  KvLayout l;
  l.n_attn_layers = d.n_attention_layers();
  l.n_kv_heads = d.n_kv_heads;
  l.head_dim = d.head_dim;
  l.page_size = o.page_size;
  l.dtype = o.kv_dtype;
  return l;
}

static uint64_t conv_bytes_of(const ModelDims& d) {
  return (sizeof(float) * (uint64_t)(d.n_mamba_layers() * d.conv_state_floats()) + 63) / 64 * 64;
}

StatePool::StatePool(Backend& backend, const ModelDims& dims, const PoolOptions& options)
    : backend_(backend),
      dims_(dims),
      options_(options),
      layout_(layout_of(dims, options)),
      conv_bytes_(conv_bytes_of(dims)),
      slot_bytes_(conv_bytes_ + sizeof(float) * (uint64_t)(dims.n_mamba_layers() * dims.ssm_state_floats())),
      slots_(backend, slot_bytes_, 1),
      pages_(backend, std::max<uint64_t>(64, layout_of(dims, options).page_bytes()),
             (int64_t)kv_chunk_pages(layout_of(dims, options).page_bytes())) {
  HL_CHECK(options.page_size >= 1, Argument, "KV page size must be >= 1");
  HL_CHECK(options.prefix_chunk >= 1, Argument, "prefix cache chunk must be >= 1 token");
}

StatePool::~StatePool() {
  clear_prefix_cache();
  std::map<int32_t, std::shared_ptr<SequenceState>> seqs;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    seqs.swap(seqs_);
  }
}

uint64_t StatePool::held_locked() const {
  int64_t unbacked = std::max<int64_t>(0, promised_slots_ - slots_.free_blocks());
  return fixed_ + scratch_ + slots_.reserved_bytes() + pages_.reserved_bytes() + (uint64_t)unbacked * slot_bytes_ +
         cache_.own_bytes() - (uint64_t)cache_.size() * slot_bytes_;  // slot copies are in slots_ already
}

std::string StatePool::usage_locked() const {
  const uint64_t held = held_locked();
  const uint64_t left = held >= options_.budget ? 0 : options_.budget - held;
  return mb(left) + " of the " + mb(options_.budget) + " budget is left (weights " + mb(fixed_) + ", scratch " +
         mb(scratch_) + ", " + std::to_string(seqs_.size()) + " sequences' state " +
         mb((uint64_t)seqs_.size() * slot_bytes_) + ", KV pages " + mb(pages_.reserved_bytes()) + ", prefix cache " +
         std::to_string(cache_.size()) + " entries)";
}

// Frees unused chunks, then evicts prefix-cache entries, until `bytes` more fit.
bool StatePool::make_room_locked(uint64_t bytes) {
  for (;;) {
    if (held_locked() + bytes <= options_.budget) return true;
    if (slots_.trim() + pages_.trim() > 0) continue;
    std::unique_ptr<PrefixCache::Entry> e = cache_.pop_lru();
    if (!e) return false;
    release_locked(e->checkpoint, true);
  }
}

// Free blocks are kept for reuse up to a quarter of the blocks in use (at
// least one chunk per arena); past that they go back to the backend, so the
// process shrinks after a burst of sequences instead of holding its peak.
void StatePool::give_back_idle_locked() {
  for (BlockArena* a : {&slots_, &pages_}) {
    const uint64_t keep = std::max(a->chunk_bytes(), (uint64_t)a->in_use() * a->block_bytes() / 4);
    if (a->idle_bytes() > keep) a->trim(a->idle_bytes() - keep);
  }
}

void StatePool::ensure_room_locked(uint64_t bytes, const std::string& what) {
  HL_CHECK(make_room_locked(bytes), OutOfMemory,
           what + " needs " + mb(bytes) + " more but only " + usage_locked() +
               "; dispose sequences or raise memoryBudget");
}

int32_t StatePool::acquire_locked(BlockArena& arena, const std::string& what) {
  if (arena.free_blocks() == 0) ensure_room_locked(arena.block_bytes(), what);
  // A new chunk takes at most a quarter of what is left (at least one block),
  // so one arena's growth does not leave the other no room.
  int32_t id = arena.acquire([&](uint64_t want) {
    const uint64_t held = held_locked();
    if (held + arena.block_bytes() > options_.budget) return uint64_t(0);
    return std::min(want, std::max(arena.block_bytes(), (options_.budget - held) / 4));
  });
  HL_CHECK(id >= 0, OutOfMemory, what + " does not fit: " + usage_locked());
  return id;
}

void StatePool::grow_scratch(uint64_t total_bytes) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (total_bytes > scratch_) ensure_room_locked(total_bytes - scratch_, "the step's scratch buffers");
  scratch_ = std::max(scratch_, total_bytes);
}

int32_t StatePool::insert(std::shared_ptr<SequenceState> s) {
  int32_t id = next_id_++;
  HL_CHECK(next_id_ > 0, Internal, "sequence ids exhausted");
  seqs_.emplace(id, std::move(s));
  return id;
}

int32_t StatePool::create() {
  std::lock_guard<std::mutex> lock(mutex_);
  HL_CHECK((int64_t)seqs_.size() < options_.max_sequences, OutOfMemory,
           "cannot create a sequence: maxSequences (" + std::to_string(options_.max_sequences) +
               ") are alive; dispose one first");
  if (promised_slots_ >= slots_.free_blocks())
    ensure_room_locked(slot_bytes_, "a new sequence's recurrent state");
  promised_slots_++;
  return insert(std::make_shared<SequenceState>(*this));
}

void StatePool::materialize_locked(SequenceState& s) {
  if (s.slot >= 0) return;
  promised_slots_--;
  try {
    s.slot = acquire_locked(slots_, "a sequence's recurrent state");
  } catch (...) {
    promised_slots_++;
    throw;
  }
  s.needs_zero = true;
}

std::shared_ptr<SequenceState> StatePool::get(int32_t id) const {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = seqs_.find(id);
  HL_CHECK(it != seqs_.end(), Disposed, "sequence " + std::to_string(id) + " has been disposed");
  return it->second;
}

void StatePool::dispose(int32_t id) {
  std::shared_ptr<SequenceState> victim;  // released after the lock (its destructor locks)
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = seqs_.find(id);
  if (it == seqs_.end()) return;
  victim = std::move(it->second);
  seqs_.erase(it);
}

void StatePool::release_state(SequenceState& s) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (s.eval_checkpoint) release_locked(*s.eval_checkpoint);
  if (s.slot >= 0)
    slots_.release(s.slot);
  else
    promised_slots_--;
  for (int32_t p : s.pages) pages_.release(p);
  give_back_idle_locked();
}

int64_t StatePool::n_sequences() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return (int64_t)seqs_.size();
}

float* StatePool::kv_block(const SequenceState& s, int64_t i, int64_t a, bool values) const {
  return reinterpret_cast<float*>(pages_.ptr(s.pages[i]) + layout_.layer_offset(a, values));
}

// ---- checkpoints and copy-on-write pages

Checkpoint StatePool::checkpoint_locked(SequenceState& s) {
  Checkpoint c;
  c.n_past = s.n_past;
  if (s.slot >= 0 && !s.needs_zero) {
    c.slot = acquire_locked(slots_, "a state checkpoint");
    backend_.copy(slots_.ptr(c.slot), slots_.ptr(s.slot), slot_bytes_);
  }
  c.pages = s.pages;
  for (int32_t p : c.pages) pages_.retain(p);
  return c;
}

void StatePool::release_locked(Checkpoint& c, bool cached) {
  if (c.slot >= 0) slots_.release(c.slot);
  for (int32_t p : c.pages) cached ? pages_.release_cached(p) : pages_.release(p);
  c.slot = -1;
  c.pages.clear();
}

void StatePool::restore_locked(SequenceState& s, Checkpoint&& c) {
  if (c.slot >= 0) {
    if (s.slot >= 0)
      slots_.release(s.slot);
    else
      promised_slots_--;
    s.slot = c.slot;
    s.needs_zero = false;
  } else {
    s.needs_zero = true;  // back to the zero state
  }
  for (int32_t p : s.pages) pages_.release(p);
  s.pages = std::move(c.pages);
  s.n_past = c.n_past;
  if (s.history_known) s.history.resize((size_t)std::min<int64_t>(s.n_past, (int64_t)s.history.size()));
  c.slot = -1;
}

void StatePool::truncate_pages_locked(std::vector<int32_t>& pages, int64_t n_tokens) {
  const size_t need = (size_t)((n_tokens + layout_.page_size - 1) / layout_.page_size);
  while (pages.size() > need) {
    pages_.release(pages.back());
    pages.pop_back();
  }
}

// Pages for positions [n_past, n_tokens): new ones appended, shared ones that
// will be written copied first. Throws OutOfMemory having undone its growth.
void StatePool::reserve_pages_locked(SequenceState& s, int64_t n_tokens) {
  if (layout_.n_attn_layers == 0 || n_tokens <= s.n_past) return;
  const int64_t ps = layout_.page_size;
  const size_t before = s.pages.size();
  const size_t need = (size_t)((n_tokens + ps - 1) / ps);
  try {
    for (size_t i = (size_t)(s.n_past / ps); i < std::min(before, need); i++) {
      if (pages_.refs(s.pages[i]) == 1) continue;
      int32_t copy = acquire_locked(pages_, "a copy-on-write KV page");
      backend_.copy(pages_.ptr(copy), pages_.ptr(s.pages[i]), layout_.page_bytes());
      pages_.release(s.pages[i]);
      s.pages[i] = copy;
    }
    while (s.pages.size() < need) s.pages.push_back(acquire_locked(pages_, "KV cache growth"));
  } catch (...) {
    truncate_pages_locked(s.pages, (int64_t)before * ps);
    throw;
  }
}

void StatePool::rollback(int32_t id) {
  auto s = get(id);
  HL_CHECK(!s->busy.load(), Busy, "sequence " + std::to_string(id) + " is being evaluated; roll back after it settles");
  std::lock_guard<std::mutex> lock(mutex_);
  if (!s->eval_checkpoint) return;
  std::unique_ptr<Checkpoint> c = std::move(s->eval_checkpoint);
  restore_locked(*s, std::move(*c));
}

// ---- steps

void StatePool::begin_step(std::vector<StepSequence>& batch) {
  std::vector<SequenceState*> to_zero;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    for (StepSequence& sq : batch) {
      if (sq.failed) continue;
      SequenceState& s = *sq.state;
      bool new_checkpoint = false;
      try {
        materialize_locked(s);
        if (s.needs_zero) to_zero.push_back(&s);
        if (sq.begin_eval && !s.eval_checkpoint) {
          s.eval_checkpoint = std::make_unique<Checkpoint>(checkpoint_locked(s));
          new_checkpoint = true;
        }
        reserve_pages_locked(s, s.n_past + (int64_t)sq.tokens.size());
      } catch (const Error& e) {
        if (new_checkpoint) {
          release_locked(*s.eval_checkpoint);
          s.eval_checkpoint.reset();
        }
        sq.failed = true;
        sq.error_code = e.code;
        sq.error = e.what();
      }
      if (sq.failed && s.eval_checkpoint) {  // the whole eval fails: back to its start
        std::unique_ptr<Checkpoint> c = std::move(s.eval_checkpoint);
        restore_locked(s, std::move(*c));
      }
    }
  }
  // Lazy zeroing, off the JS thread and outside the lock.
  for (SequenceState* s : to_zero) {
    if (!s->needs_zero) continue;
    backend_.fill_zero(slots_.ptr(s->slot), slot_bytes_);
    s->needs_zero = false;
  }
}

void StatePool::commit_step(std::vector<StepSequence>& batch) {
  std::lock_guard<std::mutex> lock(mutex_);
  for (StepSequence& sq : batch) {
    if (sq.failed) continue;
    SequenceState& s = *sq.state;
    s.n_past += (int64_t)sq.tokens.size();
    if (s.history_known) s.history.insert(s.history.end(), sq.tokens.begin(), sq.tokens.end());
    if (sq.end_eval && s.eval_checkpoint) {
      release_locked(*s.eval_checkpoint);
      s.eval_checkpoint.reset();
    }
    if (sq.cache_prefix && (sq.prompt_end || s.n_past % options_.prefix_chunk == 0)) {
      try {
        cache_insert_locked(s);
      } catch (const Error&) {
        // no room for a checkpoint: the cache just misses this prefix
      }
    }
  }
}

void StatePool::undo_locked(StepSequence& sq) {
  SequenceState& s = *sq.state;
  if (s.eval_checkpoint) {
    std::unique_ptr<Checkpoint> c = std::move(s.eval_checkpoint);
    restore_locked(s, std::move(*c));
  } else {
    truncate_pages_locked(s.pages, s.n_past);
  }
}

void StatePool::abort_step(std::vector<StepSequence>& batch) {
  std::lock_guard<std::mutex> lock(mutex_);
  for (StepSequence& sq : batch)
    if (!sq.failed) undo_locked(sq);
}

void StatePool::fail(StepSequence& sq, const Error& e) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (sq.failed) return;
  undo_locked(sq);
  sq.failed = true;
  sq.error_code = e.code;
  sq.error = e.what();
}

// ---- prefix cache

void StatePool::cache_insert_locked(SequenceState& s) {
  if (!prefix_cache_enabled() || !s.history_known || s.n_past == 0 || s.slot < 0) return;
  uint64_t h = PrefixCache::kSeed;
  for (int32_t t : s.history) h = PrefixCache::mix(h, t);
  if (cache_.find(s.history.data(), (int64_t)s.history.size(), h)) return;
  auto e = std::make_unique<PrefixCache::Entry>();
  e->hash = h;
  e->tokens = s.history;
  e->checkpoint = checkpoint_locked(s);
  e->own_bytes = slot_bytes_ + e->tokens.size() * sizeof(int32_t);
  for (int32_t p : e->checkpoint.pages) {  // the checkpoint's references become cache references
    pages_.retain_cached(p);
    pages_.release(p);
  }
  cache_.insert(std::move(e));
  const uint64_t page_bytes = pages_.block_bytes();
  while (cache_.size() > 0 && cache_.own_bytes() + (uint64_t)pages_.cached() * page_bytes > options_.prefix_cache_bytes) {
    std::unique_ptr<PrefixCache::Entry> old = cache_.pop_lru();
    release_locked(old->checkpoint, true);
  }
}

int32_t StatePool::create_from_prefix(const int32_t* tokens, int64_t n, int64_t* restored) {
  int32_t id = create();
  *restored = 0;
  if (!prefix_cache_enabled()) return id;
  std::shared_ptr<SequenceState> s = get(id);
  std::lock_guard<std::mutex> lock(mutex_);
  PrefixCache::Entry* e = cache_.find_longest(tokens, n - 1);
  if (!e) {
    cache_.stats.misses++;
    return id;
  }
  try {
    materialize_locked(*s);
  } catch (const Error&) {
    cache_.stats.misses++;
    return id;  // the prefill will meet the same budget and report it
  }
  backend_.copy(slots_.ptr(s->slot), slots_.ptr(e->checkpoint.slot), slot_bytes_);
  s->needs_zero = false;
  s->pages = e->checkpoint.pages;
  for (int32_t p : s->pages) pages_.retain(p);
  s->n_past = e->checkpoint.n_past;
  s->history = e->tokens;
  cache_.stats.hits++;
  cache_.stats.tokens_reused += s->n_past;
  *restored = s->n_past;
  return id;
}

PrefixCacheStats StatePool::prefix_stats() const {
  std::lock_guard<std::mutex> lock(mutex_);
  PrefixCacheStats st = cache_.stats;
  st.entries = cache_.size();
  st.bytes = cache_.own_bytes() + (uint64_t)pages_.cached() * pages_.block_bytes();
  return st;
}

void StatePool::clear_prefix_cache() {
  std::lock_guard<std::mutex> lock(mutex_);
  while (std::unique_ptr<PrefixCache::Entry> e = cache_.pop_lru()) release_locked(e->checkpoint, true);
  give_back_idle_locked();
}

// ---- fork

int32_t StatePool::fork(int32_t id) {
  auto src = get(id);
  HL_CHECK(!src->busy.load(), Busy, "sequence " + std::to_string(id) + " is being evaluated; fork after eval settles");
  int32_t out = create();
  auto dst = get(out);
  std::lock_guard<std::mutex> lock(mutex_);
  try {
    if (src->slot >= 0 && !src->needs_zero) {
      materialize_locked(*dst);
      backend_.copy(slots_.ptr(dst->slot), slots_.ptr(src->slot), slot_bytes_);
      dst->needs_zero = false;
    }
  } catch (...) {
    seqs_.erase(out);  // dst's destructor runs after the lock (we still hold dst)
    throw;
  }
  dst->pages = src->pages;
  for (int32_t p : dst->pages) pages_.retain(p);
  dst->n_past = src->n_past;
  dst->history = src->history;
  dst->history_known = src->history_known;
  return out;
}

// ---- snapshots

namespace {
struct Writer {
  std::vector<uint8_t>& out;
  template <typename T>
  void put(T v) {
    const uint8_t* p = reinterpret_cast<const uint8_t*>(&v);
    out.insert(out.end(), p, p + sizeof(T));
  }
  void bytes(const void* p, size_t n) {
    const uint8_t* b = static_cast<const uint8_t*>(p);
    out.insert(out.end(), b, b + n);
  }
  void from_backend(Backend& be, const void* p, size_t n) {
    size_t at = out.size();
    out.resize(at + n);
    be.download(out.data() + at, p, n);
  }
  void zeros(size_t n) { out.resize(out.size() + n, 0); }
};
struct Reader {
  const uint8_t* p;
  size_t left;
  template <typename T>
  T get(const char* field) {
    HL_CHECK(left >= sizeof(T), Format, std::string("snapshot: truncated at field '") + field + "'");
    T v;
    std::memcpy(&v, p, sizeof(T));
    p += sizeof(T);
    left -= sizeof(T);
    return v;
  }
  const uint8_t* take(size_t n, const char* field) {
    HL_CHECK(left >= n, Format,
             std::string("snapshot: truncated in '") + field + "' (need " + std::to_string(n) + " bytes, have " +
                 std::to_string(left) + ")");
    const uint8_t* r = p;
    p += n;
    left -= n;
    return r;
  }
};
}  // namespace

std::vector<uint8_t> StatePool::snapshot(int32_t id) const {
  auto s = get(id);
  HL_CHECK(!s->busy.load(), Busy, "sequence " + std::to_string(id) + " is being evaluated; snapshot after eval settles");
  std::lock_guard<std::mutex> lock(mutex_);
  const uint64_t ssm_bytes = slot_bytes_ - conv_bytes_, page_bytes = layout_.page_bytes();
  const uint64_t n_pages = s->pages.size();
  std::vector<uint8_t> out;
  out.reserve(64 + slot_bytes_ + n_pages * page_bytes);
  Writer w{out};
  w.bytes(kSnapshotMagic, 4);
  w.put<uint32_t>(kSnapshotVersion);
  w.put<uint64_t>(dims_.fingerprint());
  w.put<int64_t>(s->n_past);
  w.put<uint64_t>(conv_bytes_);
  w.put<uint64_t>(ssm_bytes);
  w.put<uint64_t>(page_bytes);
  w.put<int32_t>((int32_t)layout_.dtype);
  w.put<uint64_t>(n_pages);
  if (s->slot >= 0 && !s->needs_zero)
    w.from_backend(backend_, slots_.ptr(s->slot), slot_bytes_);
  else
    w.zeros(slot_bytes_);
  for (int32_t p : s->pages) w.from_backend(backend_, pages_.ptr(p), page_bytes);
  return out;
}

int32_t StatePool::restore(const uint8_t* data, size_t size) {
  Reader r{data, size};
  const uint8_t* magic = r.take(4, "magic");
  HL_CHECK(std::memcmp(magic, kSnapshotMagic, 4) == 0, Format, "snapshot: bad magic (not a hybridlm sequence snapshot)");
  uint32_t version = r.get<uint32_t>("version");
  HL_CHECK(version == kSnapshotVersion, Format,
           "snapshot: version " + std::to_string(version) + " is not supported (expected " +
               std::to_string(kSnapshotVersion) + ")");
  uint64_t fp = r.get<uint64_t>("fingerprint");
  HL_CHECK(fp == dims_.fingerprint(), Format, "snapshot: it was taken from a model with different dimensions");
  int64_t n_past = r.get<int64_t>("n_past");
  uint64_t conv_bytes = r.get<uint64_t>("conv_bytes"), ssm_bytes = r.get<uint64_t>("ssm_bytes");
  uint64_t page_bytes = r.get<uint64_t>("page_bytes");
  int32_t kv_dtype = r.get<int32_t>("kv_dtype");
  uint64_t n_pages = r.get<uint64_t>("n_pages");
  HL_CHECK(conv_bytes == conv_bytes_ && conv_bytes + ssm_bytes == slot_bytes_, Format,
           "snapshot: recurrent state sizes do not match this model");
  HL_CHECK(kv_dtype == (int32_t)layout_.dtype, Format,
           std::string("snapshot: KV pages are of another type than this model's (") + dtype_name(layout_.dtype) +
               "); load the model with the kvCacheType the snapshot was taken with");
  HL_CHECK(page_bytes == layout_.page_bytes(), Format, "snapshot: KV page size does not match this model");
  HL_CHECK(n_past >= 0 && n_past < (int64_t(1) << 40), Format, "snapshot: position out of range");
  uint64_t want_pages = layout_.n_attn_layers ? (uint64_t)((n_past + layout_.page_size - 1) / layout_.page_size) : 0;
  HL_CHECK(n_pages == want_pages, Format,
           "snapshot: holds " + std::to_string(n_pages) + " KV pages, position " + std::to_string(n_past) + " needs " +
               std::to_string(want_pages));
  HL_CHECK(r.left == slot_bytes_ + n_pages * page_bytes, Format,
           "snapshot: payload is " + std::to_string(r.left) + " bytes, expected " +
               std::to_string(slot_bytes_ + n_pages * page_bytes));
  int32_t id = create();
  std::shared_ptr<SequenceState> s = get(id);
  try {
    std::lock_guard<std::mutex> lock(mutex_);
    materialize_locked(*s);
    backend_.upload(slots_.ptr(s->slot), r.take(slot_bytes_, "state"), slot_bytes_);
    s->needs_zero = false;
    for (uint64_t i = 0; i < n_pages; i++) {
      s->pages.push_back(acquire_locked(pages_, "restoring a snapshot's KV pages"));
      backend_.upload(pages_.ptr(s->pages.back()), r.take(page_bytes, "kv"), page_bytes);
    }
    s->n_past = n_past;
    s->history_known = false;
  } catch (...) {
    dispose(id);
    throw;
  }
  return id;
}

// ---- accounting

PoolMemory StatePool::memory() const {
  std::lock_guard<std::mutex> lock(mutex_);
  PoolMemory m{};
  m.budget = options_.budget;
  m.fixed = fixed_ + scratch_;
  m.sequences = (int64_t)seqs_.size();
  m.recurrent = (uint64_t)m.sequences * slot_bytes_;
  const uint64_t pb = pages_.block_bytes();
  m.kv_pages = pages_.in_use() - pages_.cache_only();
  m.kv = (uint64_t)m.kv_pages * pb;
  m.prefix_cache = cache_.own_bytes() + (uint64_t)pages_.cache_only() * pb;
  m.total = held_locked();
  const uint64_t accounted = m.fixed + m.recurrent + m.kv + m.prefix_cache;
  m.pooled = m.total > accounted ? m.total - accounted : 0;
  return m;
}

}  // namespace hl
