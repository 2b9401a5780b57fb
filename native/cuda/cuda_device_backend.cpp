// native/cuda/cuda_device_backend.cpp: see cuda_device_backend.h.
#include "cuda_device_backend.h"

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "device_arena.h"
#include "weight_mirror.h"

namespace hl {

namespace {

bool env_flag(const char* name) {
  const char* v = std::getenv(name);
  return v && v[0] && v[0] != '0';
}

class CudaBackend final : public Backend {
 public:
  CudaBackend(const CudaApi& api, int device)
      : api_(api),
        arena_([this](size_t n) { return raw_alloc(n); }, [this](void* p) { api_.hlc_free(p); },
               [this](void* p, size_t n) { check(api_.hlc_memset(p, 0, n), "memset"); }),
        sync_each_op_(env_flag("HYBRIDLM_CUDA_SYNC")),
        // Per-op synchronisation and graphs exclude each other (no sync inside a captured step).
        graphs_(env_flag("HYBRIDLM_CUDA_GRAPH") && !sync_each_op_ && api.hlc_graph_begin && api.hlc_graph_end &&
                api.hlc_graph_abort && api.hlc_graph_drop),
        graph_serial_(next_graph_serial()) {
    check(api_.hlc_set_device(device), "set_device");
    struct hlc_device_info info {};
    check(api_.hlc_device_info(device, &info), "device_info");
    name_ = std::string("cuda:") + info.name;
    if (const char* f = std::getenv("HYBRIDLM_CUDA_STATS")) stats_path_ = f;
  }
  ~CudaBackend() override {
    if (lost_) {
      arena_.abandon();
      return;
    }
    for (const auto& g : graph_health_) api_.hlc_graph_drop(g.first);
    mirror_.clear([this](void* p) { api_.hlc_free(p); });
  }

  const char* name() const override { return "cuda"; }
  Device device() const override { return Device::CUDA; }
  int n_threads() const override { return 1; }
  bool supports(Op op, DType t) const override {
    switch (op) {
      case Op::Matmul: case Op::Embed: case Op::MoeForward: return api_.hlc_supports_dtype((int32_t)t) != 0;
      default: return t == DType::F32;
    }
  }

  // ---- memory
  void* alloc(size_t bytes) override {
    alive("alloc");
    return arena_.alloc(bytes);
  }
  void release(void* p) noexcept override {
    if (lost_) arena_.abandon();
    arena_.release(p);
  }
  void upload(void* dst, const void* src, size_t n) override {
    alive("upload");
    done(api_.hlc_memcpy_h2d(dst, src, n), "upload");
  }
  void download(void* dst, const void* src, size_t n) override {
    alive("download");
    check(api_.hlc_memcpy_d2h(dst, src, n), "download (or a kernel queued before it)");
    if (!stats_path_.empty()) write_stats();
  }
  void copy(void* dst, const void* src, size_t n) override {
    alive("copy");
    done(api_.hlc_memcpy_d2d(dst, src, n), "copy");
  }
  void synchronize() override {
    alive("synchronize");
    check(api_.hlc_synchronize(), "synchronize");
  }
  const uint8_t* weights(const uint8_t* host, size_t bytes) override {
    std::lock_guard<std::mutex> lock(weights_mutex_);
    return mirror_.add(host, bytes);
  }
  uint64_t weight_copy_bytes() const override { return mirror_.bytes(); }

  // ---- decode steps as CUDA graphs (HYBRIDLM_CUDA_GRAPH=1; docs/cuda/README.md)
  void begin_step(int64_t key) override {
    graph_key_ = 0;
    if (!graphs_ || key <= 0 || lost_) return;
    const int64_t k = (graph_serial_ << 24) | key;  // this backend's graphs only
    if (graph_health_[k].disabled) return;
    flush_weights();  // the weight upload synchronises: never inside a step
    int mode = 0;
    check(api_.hlc_graph_begin(k, &mode), "graph begin");
    graph_key_ = k;
  }
  bool end_step() override {
    if (!graph_key_) return true;
    const int64_t k = graph_key_;
    graph_key_ = 0;
    int ran = 0;
    check(api_.hlc_graph_end(&ran), "graph step (or a kernel queued before it)");
    GraphHealth& h = graph_health_[k];
    if (ran == 1) h.refusals = 0;
    if (ran != 0) return true;
    // Nothing ran: the executor issues the ops again, eagerly. A step key
    // refused three times without a replay in between stops being captured.
    if (++h.refusals >= kMaxGraphRefusals) {
      h.disabled = true;
      const char* e = api_.hlc_last_error();
      std::fprintf(stderr, "[hybridlm] CUDA graph for step key %lld disabled after %d refusals (last: %s)\n",
                   (long long)(k & 0xffffff), kMaxGraphRefusals, e ? e : "");
    }
    return false;
  }
  void abort_step() noexcept override {
    if (!graph_key_) return;
    graph_key_ = 0;
    api_.hlc_graph_abort();
  }

  // ---- data movement
  void gather_rows(float* dst, const float* src, const int64_t* rows, int64_t n, int64_t width) override {
    op("gather_rows");
    done(api_.hlc_gather_rows(dst, src, rows, n, width), "gather_rows");
  }
  void add_scaled(float* y, const float* x, float alpha, int64_t n) override {
    op("add_scaled");
    done(api_.hlc_add_scaled(y, x, alpha, n), "add_scaled");
  }
  void fill_zero(void* dst, size_t bytes) override {
    alive("fill_zero");
    done(api_.hlc_memset(dst, 0, bytes), "fill_zero");
  }
  // F16 KV pages when the library has the typed entry points (older ones: F32 only).
  bool supports_kv(DType t) const override {
    return t == DType::F32 || (t == DType::F16 && api_.hlc_kv_write_typed && api_.hlc_attention_kv);
  }
  void kv_write(float* const* pages, int64_t page_size, const float* src, int64_t pos0, int64_t n, int64_t n_kv,
                int64_t head_dim, DType dtype) override {
    HL_CHECK(supports_kv(dtype), Unsupported, std::string("CUDA KV pages of type ") + dtype_name(dtype));
    if (dtype == DType::F16) {
      op("kv_write");
      int64_t n_pages = (pos0 + n + page_size - 1) / page_size;
      done(api_.hlc_kv_write_typed(pages, n_pages, page_size, src, pos0, n, n_kv, head_dim, 1), "kv_write");
      return;
    }
    op("kv_write");
    int64_t n_pages = (pos0 + n + page_size - 1) / page_size;
    done(api_.hlc_kv_write(pages, n_pages, page_size, src, pos0, n, n_kv, head_dim), "kv_write");
  }

  // ---- ops (weight arguments are mirror handles: translated here)
  void rmsnorm(float* y, const float* x, const float* w, int64_t n, int64_t dim, float eps) override {
    op("rmsnorm");
    done(api_.hlc_rmsnorm(y, x, dev(w), n, dim, eps), "rmsnorm");
  }
  bool argmax(int32_t* out, const float* logits, int64_t rows, int64_t vocab, float divisor) override {
    if (!api_.hlc_argmax_scaled) return false;
    op("argmax");
    done(api_.hlc_argmax_scaled(logits, out, rows, vocab, divisor), "argmax");
    return true;
  }
  void add_rmsnorm(float* h, float* u, const float* branch, float alpha, const float* w, int64_t n, int64_t dim,
                   float eps) override {
    if (!api_.hlc_add_rmsnorm) return Backend::add_rmsnorm(h, u, branch, alpha, w, n, dim, eps);
    op("add_rmsnorm");
    done(api_.hlc_add_rmsnorm(h, u, branch, alpha, dev(w), n, dim, eps), "add_rmsnorm");
  }
  // Strided inputs (column views): passed as they are to the library's
  // *_strided entry points; an older library without them gets contiguous
  // copies in scratch.
  void gated_rmsnorm(float* y, const float* x, const float* z, const float* w, int64_t n, int64_t dim, int64_t g,
                     float eps, int64_t z_stride) override {
    op("gated_rmsnorm");
    if (api_.hlc_gated_rmsnorm_strided)
      return done(api_.hlc_gated_rmsnorm_strided(y, x, z, dev(w), n, dim, g, eps, z_stride), "gated_rmsnorm");
    const float* zc = contiguous(0, z, n, z_stride, dim, "gated_rmsnorm");
    done(api_.hlc_gated_rmsnorm(y, x, zc, dev(w), n, dim, g, eps), "gated_rmsnorm");
  }
  void conv1d_causal_prefill(float* out, const float* in, const float* w, const float* bias, int64_t ch, int k,
                             const int32_t* cu, int n_seqs, float* const* states, int64_t in_stride) override {
    op("conv1d_causal_prefill");
    if (api_.hlc_conv1d_causal_prefill_strided)
      return done(api_.hlc_conv1d_causal_prefill_strided(out, in, dev(w), dev(bias), ch, k, cu, n_seqs, states,
                                                         in_stride),
                  "conv1d_causal_prefill");
    const float* inc = contiguous(0, in, cu[n_seqs], in_stride, ch, "conv1d_causal_prefill");
    done(api_.hlc_conv1d_causal_prefill(out, inc, dev(w), dev(bias), ch, k, cu, n_seqs, states),
         "conv1d_causal_prefill");
  }
  void conv1d_causal_step(float* out, const float* in, const float* w, const float* bias, int64_t ch, int k,
                          int n_seqs, float* const* states, int64_t in_stride) override {
    op("conv1d_causal_step");
    if (api_.hlc_conv1d_causal_step_strided)
      return done(api_.hlc_conv1d_causal_step_strided(out, in, dev(w), dev(bias), ch, k, n_seqs, states, in_stride),
                  "conv1d_causal_step");
    const float* inc = contiguous(0, in, n_seqs, in_stride, ch, "conv1d_causal_step");
    done(api_.hlc_conv1d_causal_step(out, inc, dev(w), dev(bias), ch, k, n_seqs, states), "conv1d_causal_step");
  }
  void ssm_scan(float* y, const float* x, const float* dt, const float* A, const float* B, const float* C,
                const float* D, const float* dt_bias, const SsmDims& d, const int32_t* cu, int n_seqs,
                float* const* states, int chunk, const SsmStrides& st) override {
    op("ssm_scan");
    if (api_.hlc_ssm_scan_strided)
      return done(api_.hlc_ssm_scan_strided(y, x, dt, dev(A), B, C, dev(D), dev(dt_bias), &d, cu, n_seqs, states, chunk,
                                            st.x, st.dt, st.bc),
                  "ssm_scan");
    SsmInputs in = contiguous(x, dt, B, C, d, cu[n_seqs], st, "ssm_scan");
    done(api_.hlc_ssm_scan(y, in.x, in.dt, dev(A), in.B, in.C, dev(D), dev(dt_bias), &d, cu, n_seqs, states, chunk),
         "ssm_scan");
  }
  void ssm_step(float* y, const float* x, const float* dt, const float* A, const float* B, const float* C,
                const float* D, const float* dt_bias, const SsmDims& d, int n_seqs, float* const* states,
                const SsmStrides& st) override {
    op("ssm_step");
    if (api_.hlc_ssm_step_strided)
      return done(api_.hlc_ssm_step_strided(y, x, dt, dev(A), B, C, dev(D), dev(dt_bias), &d, n_seqs, states, st.x,
                                            st.dt, st.bc),
                  "ssm_step");
    SsmInputs in = contiguous(x, dt, B, C, d, n_seqs, st, "ssm_step");
    done(api_.hlc_ssm_step(y, in.x, in.dt, dev(A), in.B, in.C, dev(D), dev(dt_bias), &d, n_seqs, states), "ssm_step");
  }
  void attention(float* out, const float* q, const AttentionDims& d, const int32_t* cu, int n_seqs,
                 const KvView* kv) override {
    const DType kv_type = n_seqs > 0 ? kv[0].dtype : DType::F32;
    for (int s = 0; s < n_seqs; s++)
      HL_CHECK(kv[s].dtype == kv_type && supports_kv(kv_type), Unsupported,
               std::string("CUDA attention over KV pages of type ") + dtype_name(kv[s].dtype));
    if (kv_type == DType::F16) {
      op("attention");
      done(api_.hlc_attention_kv(out, q, &d, cu, n_seqs, kv, 1), "attention");
      return;
    }
    op("attention");
    done(api_.hlc_attention(out, q, &d, cu, n_seqs, kv), "attention");
  }
  void matmul(float* y, const float* x, int64_t n, const WeightView& w) override {
    op("matmul");
    WeightView dw = dev(w);
    done(api_.hlc_matmul(y, x, n, &dw), "matmul");
  }
  // q/k/v and gate/up in one library call: decode with integer weights
  // quantizes the activations once for all of them (hlc_matmul_multi).
  void matmul_multi(float* const* ys, const float* x, int64_t n, const WeightView* ws, int n_mats) override {
    if (!api_.hlc_matmul_multi) return Backend::matmul_multi(ys, x, n, ws, n_mats);
    op("matmul");
    std::vector<WeightView> dws(ws, ws + n_mats);
    for (WeightView& w : dws) w = dev(w);
    done(api_.hlc_matmul_multi(ys, x, n, dws.data(), n_mats), "matmul");
  }
  void matmul_swiglu(float* out, float* up_out, const float* x, int64_t n, const WeightView& gate,
                     const WeightView& up) override {
    if (!api_.hlc_matmul_multi) return Backend::matmul_swiglu(out, up_out, x, n, gate, up);
    float* const ys[2] = {out, up_out};
    const WeightView ws[2] = {gate, up};
    matmul_multi(ys, x, n, ws, 2);
    swiglu(out, out, up_out, n, gate.rows);
  }
  void embed(float* out, const WeightView& w, const int32_t* ids, int64_t n, float scale) override {
    op("embed");
    WeightView dw = dev(w);
    done(api_.hlc_embed(out, &dw, ids, n, scale), "embed");
  }
  void swiglu(float* out, const float* gate, const float* up, int64_t n, int64_t width) override {
    op("swiglu");
    done(api_.hlc_swiglu(out, gate, up, n, width), "swiglu");
  }
  void moe_route(int32_t* ids, float* weights, const float* logits, int64_t n, int64_t e, int64_t k) override {
    op("moe_route");
    done(api_.hlc_moe_route(ids, weights, logits, n, e, k), "moe_route");
  }
  void moe_forward(float* out, const float* x, const int32_t* ids, const float* weights, int64_t n, int64_t k,
                   const MoeWeights& w) override {
    op("moe_forward");
    MoeWeights dw = w;
    dw.gate = dev(w.gate);
    dw.up = dev(w.up);
    dw.down = dev(w.down);
    done(api_.hlc_moe_forward(out, x, ids, weights, n, k, &dw), "moe_forward");
  }

 private:
  void* raw_alloc(size_t n) {
    void* p = nullptr;
    check(api_.hlc_malloc(&p, n), "malloc");
    return p;
  }

  template <typename T> const T* dev(const T* p) const { return mirror_.translate(p); }

  // `rows` rows of `width` floats that sit `stride` apart, as contiguous
  // device memory: src itself when already contiguous, else a copy in
  // scratch slot `slot` (grown, never shrunk; reuse is stream-ordered).
  const float* contiguous(int slot, const float* src, int64_t rows, int64_t stride, int64_t width, const char* what) {
    if (stride == 0 || stride == width || rows <= 1) return src;
    const size_t need = sizeof(float) * (size_t)(rows * width);
    Scratch& s = scratch_[slot];
    if (s.bytes < need) {
      if (s.ptr) arena_.release(s.ptr);
      s.ptr = nullptr;
      s.bytes = 0;
      s.ptr = arena_.alloc(need);
      s.bytes = need;
    }
    done(api_.hlc_copy_columns(static_cast<float*>(s.ptr), src, rows, stride, 0, width), what);
    return static_cast<const float*>(s.ptr);
  }
  struct SsmInputs {
    const float *x, *dt, *B, *C;
  };
  SsmInputs contiguous(const float* x, const float* dt, const float* B, const float* C, const SsmDims& d, int64_t rows,
                       const SsmStrides& st, const char* what) {
    const int64_t GN = d.n_groups * d.d_state;
    return SsmInputs{contiguous(0, x, rows, st.x, d.n_heads * d.head_dim, what),
                     contiguous(1, dt, rows, st.dt, d.n_heads, what), contiguous(2, B, rows, st.bc, GN, what),
                     contiguous(3, C, rows, st.bc, GN, what)};
  }
  WeightView dev(const WeightView& w) const {
    WeightView v = w;
    v.data = mirror_.translate(w.data);
    return v;
  }

  // Refuses every call once the device is lost.
  void alive(const char* what) const {
    if (lost_)
      throw Error(ErrorCode::Device, std::string("cuda ") + what + ": the CUDA device was lost earlier (" +
                                         lost_reason_ + "); dispose this model and load it again");
  }
  // Before an op: the device is alive and every weight is on it.
  void op(const char* what) {
    alive(what);
    ops_.fetch_add(1, std::memory_order_relaxed);
    flush_weights();
  }
  void flush_weights() {
    if (mirror_.pending()) {
      std::lock_guard<std::mutex> lock(weights_mutex_);
      mirror_.flush([this](size_t n) { return raw_alloc(n); },
                    [this](void* d, const void* s, size_t n) { check(api_.hlc_memcpy_h2d(d, s, n), "weight upload"); },
                    [this](void* p) { api_.hlc_free(p); },
                    [this] { check(api_.hlc_synchronize(), "synchronize"); });
    }
  }
  // After an enqueue: its status, and under HYBRIDLM_CUDA_SYNC the kernels' own.
  void done(int status, const char* what) {
    check(status, what);
    if (sync_each_op_) {
      int st = api_.hlc_synchronize();
      if (st != HLC_OK) fail(st, (std::string(what) + " (HYBRIDLM_CUDA_SYNC: the fault surfaced right after this op)").c_str());
    }
  }
  void check(int status, const char* what) {
    if (status != HLC_OK) fail(status, what);
  }
  [[noreturn]] void fail(int status, const char* what) {
    const char* e = api_.hlc_last_error();
    std::string msg = std::string("cuda ") + what + ": " + (e && *e ? e : "failed");
    const bool lost = status == HLC_DEVICE_LOST || (api_.hlc_device_lost && api_.hlc_device_lost());
    if (lost && !lost_) {
      lost_reason_ = msg;
      lost_ = true;
    }
    switch (status) {
      case HLC_OUT_OF_MEMORY: throw Error(ErrorCode::OutOfMemory, msg);
      case HLC_UNSUPPORTED: throw Error(ErrorCode::Unsupported, msg);
      case HLC_INVALID: throw Error(ErrorCode::Argument, msg);
      default: throw Error(ErrorCode::Device, msg);
    }
  }
  void write_stats() {
    uint64_t launches = 0, copies = 0, captures = 0, replays = 0, refused = 0;
    if (api_.hlc_counters) api_.hlc_counters(&launches, &copies);
    if (api_.hlc_graph_counters) api_.hlc_graph_counters(&captures, &replays, &refused);
    if (FILE* f = std::fopen(stats_path_.c_str(), "a")) {
      std::fprintf(f,
                   "{\"ops\":%llu,\"launches\":%llu,\"copies\":%llu,\"graph_captures\":%llu,\"graph_replays\":%llu,"
                   "\"graph_refused\":%llu}\n",
                   (unsigned long long)ops_.load(), (unsigned long long)launches, (unsigned long long)copies,
                   (unsigned long long)captures, (unsigned long long)replays, (unsigned long long)refused);
      std::fclose(f);
    }
  }

  static int64_t next_graph_serial() {
    static std::atomic<int64_t> serial{0};
    return ++serial;
  }
  static constexpr int kMaxGraphRefusals = 3;

  const CudaApi& api_;
  std::string name_;
  DeviceArena arena_;
  WeightMirror mirror_;
  std::mutex weights_mutex_;
  const bool sync_each_op_;
  const bool graphs_;           // HYBRIDLM_CUDA_GRAPH=1 and the library has the graph entry points
  const int64_t graph_serial_;  // high bits of this backend's graph keys
  int64_t graph_key_ = 0;       // the graph step in progress (0: none)
  struct GraphHealth {
    int refusals = 0;  // refused since the last replay
    bool disabled = false;
  };
  std::map<int64_t, GraphHealth> graph_health_;
  std::atomic<bool> lost_{false};
  std::string lost_reason_;
  std::atomic<uint64_t> ops_{0};
  std::string stats_path_;
  // Device scratch for strided inputs (contiguous()); the arena frees it with the backend.
  struct Scratch {
    void* ptr = nullptr;
    size_t bytes = 0;
  };
  Scratch scratch_[4];
};

}  // namespace

std::unique_ptr<Backend> make_cuda_device_backend(const CudaApi& api, int device) {
  return std::make_unique<CudaBackend>(api, device);
}

}  // namespace hl
