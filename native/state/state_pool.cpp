// native/state/state_pool.cpp: see state_pool.h.
// Snapshot format (little-endian): magic "HLSS", u32 version, u64 model
// fingerprint, i64 n_past, u64 conv bytes, u64 ssm bytes, u64 page bytes,
// u64 n_pages, then conv, ssm and the pages. Restore checks every field
// against this model before allocating.
#include "state_pool.h"

#include <cstring>

namespace hl {

static constexpr uint32_t kSnapshotVersion = 1;
static constexpr char kSnapshotMagic[4] = {'H', 'L', 'S', 'S'};

SequenceState::SequenceState(Backend& backend, const ModelDims& d, const KvLayout& layout,
                             std::shared_ptr<KvPageCounter> counter)
    : conv(backend, sizeof(float) * d.n_mamba_layers() * d.conv_state_floats()),
      ssm(backend, sizeof(float) * d.n_mamba_layers() * d.ssm_state_floats()),
      kv(backend, layout, std::move(counter)) {}

StatePool::StatePool(Backend& backend, const ModelDims& dims, int64_t page_size)
    : backend_(backend), dims_(dims), counter_(std::make_shared<KvPageCounter>()) {
  layout_.n_attn_layers = dims.n_attention_layers();
  layout_.n_kv_heads = dims.n_kv_heads;
  layout_.head_dim = dims.head_dim;
  layout_.page_size = page_size;
}

int32_t StatePool::insert(std::shared_ptr<SequenceState> s) {
  std::lock_guard<std::mutex> lock(mutex_);
  int32_t id = next_id_++;
  HL_CHECK(next_id_ > 0, Internal, "sequence ids exhausted");
  seqs_.emplace(id, std::move(s));
  return id;
}

int32_t StatePool::create() { return insert(std::make_shared<SequenceState>(backend_, dims_, layout_, counter_)); }

std::shared_ptr<SequenceState> StatePool::get(int32_t id) const {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = seqs_.find(id);
  HL_CHECK(it != seqs_.end(), Disposed, "sequence " + std::to_string(id) + " has been disposed");
  return it->second;
}

int32_t StatePool::fork(int32_t id) {
  auto src = get(id);
  HL_CHECK(!src->busy.load(), Busy, "sequence " + std::to_string(id) + " is being evaluated; fork after eval settles");
  auto dst = std::make_shared<SequenceState>(backend_, dims_, layout_, counter_);
  backend_.copy(dst->conv.data(), src->conv.data(), src->conv.bytes());
  backend_.copy(dst->ssm.data(), src->ssm.data(), src->ssm.bytes());
  src->kv.copy_to(dst->kv, src->n_past);
  dst->n_past = src->n_past;
  return insert(std::move(dst));
}

void StatePool::dispose(int32_t id) {
  std::shared_ptr<SequenceState> victim;  // freed outside the lock
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = seqs_.find(id);
  if (it == seqs_.end()) return;
  victim = std::move(it->second);
  seqs_.erase(it);
}

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
  // Appends n bytes of backend memory.
  void from_backend(Backend& be, const void* p, size_t n) {
    size_t at = out.size();
    out.resize(at + n);
    be.download(out.data() + at, p, n);
  }
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
  int64_t n_pages = layout_.n_attn_layers ? (s->n_past + layout_.page_size - 1) / layout_.page_size : 0;
  std::vector<uint8_t> out;
  out.reserve(64 + s->conv.bytes() + s->ssm.bytes() + n_pages * layout_.page_bytes());
  Writer w{out};
  w.bytes(kSnapshotMagic, 4);
  w.put<uint32_t>(kSnapshotVersion);
  w.put<uint64_t>(dims_.fingerprint());
  w.put<int64_t>(s->n_past);
  w.put<uint64_t>(s->conv.bytes());
  w.put<uint64_t>(s->ssm.bytes());
  w.put<uint64_t>(layout_.page_bytes());
  w.put<uint64_t>((uint64_t)n_pages);
  w.from_backend(backend_, s->conv.data(), s->conv.bytes());
  w.from_backend(backend_, s->ssm.data(), s->ssm.bytes());
  for (int64_t i = 0; i < n_pages; i++) w.from_backend(backend_, s->kv.page(i), layout_.page_bytes());
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
  uint64_t page_bytes = r.get<uint64_t>("page_bytes"), n_pages = r.get<uint64_t>("n_pages");
  auto s = std::make_shared<SequenceState>(backend_, dims_, layout_, counter_);
  HL_CHECK(conv_bytes == s->conv.bytes() && ssm_bytes == s->ssm.bytes(), Format,
           "snapshot: recurrent state sizes do not match this model");
  HL_CHECK(page_bytes == layout_.page_bytes(), Format, "snapshot: KV page size does not match this model");
  HL_CHECK(n_past >= 0 && n_past < (int64_t(1) << 40), Format, "snapshot: position out of range");
  uint64_t want_pages = layout_.n_attn_layers ? (uint64_t)((n_past + layout_.page_size - 1) / layout_.page_size) : 0;
  HL_CHECK(n_pages == want_pages, Format,
           "snapshot: holds " + std::to_string(n_pages) + " KV pages, position " + std::to_string(n_past) + " needs " +
               std::to_string(want_pages));
  HL_CHECK(r.left == conv_bytes + ssm_bytes + n_pages * page_bytes, Format,
           "snapshot: payload is " + std::to_string(r.left) + " bytes, expected " +
               std::to_string(conv_bytes + ssm_bytes + n_pages * page_bytes));
  backend_.upload(s->conv.data(), r.take(conv_bytes, "conv"), conv_bytes);
  backend_.upload(s->ssm.data(), r.take(ssm_bytes, "ssm"), ssm_bytes);
  s->kv.reserve_tokens(n_past);
  for (uint64_t i = 0; i < n_pages; i++) backend_.upload(s->kv.page((int64_t)i), r.take(page_bytes, "kv"), page_bytes);
  s->n_past = n_past;
  return insert(std::move(s));
}

uint64_t StatePool::recurrent_bytes_per_sequence() const {
  return sizeof(float) * (uint64_t)dims_.n_mamba_layers() * (dims_.conv_state_floats() + dims_.ssm_state_floats());
}

int64_t StatePool::n_sequences() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return (int64_t)seqs_.size();
}

uint64_t StatePool::recurrent_bytes() const { return recurrent_bytes_per_sequence() * (uint64_t)n_sequences(); }

}  // namespace hl
