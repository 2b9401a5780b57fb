// native/binding/kernels.cpp: the standalone kernel API (lib/kernels.ts).
// One JS function per kernel family: fn(typedArrays..., numbers..., options?)
// -> Promise. On the JS thread every argument is validated (kernel_args.h) and
// copied into a Job, and options.device picks the backend ('cpu' default,
// 'cuda'). On a libuv worker the job stages its inputs in that backend's
// memory, runs the op through the Backend op table (the same entry points the
// executor uses; kernel_device.h) and downloads the results; the Promise
// resolves with fresh Float32Array / Int32Array results (plus the final
// conv/SSM states where a kernel updates them). Signatures are typed in
// lib/native-kernel-types.ts.
#include <algorithm>
#include <cstring>
#include <memory>
#include <vector>

#include "async_job.h"
#include "exports.h"
#include "kernel_args.h"
#include "kernel_device.h"
#include "../cpu/simd/ops.h"
#include "../state/kv_pages.h"

namespace hl::binding {
namespace {

using F32 = std::vector<float>;
using I32 = std::vector<int32_t>;
using Bytes = std::vector<uint8_t>;

constexpr int64_t kMaxSynth = int64_t(1) << 31;  // elements of a zero state we allocate ourselves

Napi::Float32Array to_js(Napi::Env env, const F32& v) {
  auto a = Napi::Float32Array::New(env, v.size());
  if (!v.empty()) std::memcpy(a.Data(), v.data(), v.size() * sizeof(float));
  return a;
}
Napi::Int32Array to_js(Napi::Env env, const I32& v) {
  auto a = Napi::Int32Array::New(env, v.size());
  if (!v.empty()) std::memcpy(a.Data(), v.data(), v.size() * sizeof(int32_t));
  return a;
}

// Optional float array: absent -> empty (the kernel gets null).
F32 opt_f32(const KernelArgs& a, const Napi::Value& v, const char* name, int64_t n, const std::string& shape) {
  return KernelArgs::absent(v) ? F32() : a.f32(v, name, n, shape);
}
// States: given, or zeros of the same shape.
F32 states_or_zeros(const KernelArgs& a, const Napi::Value& v, const char* name, int64_t n, const std::string& shape) {
  if (!KernelArgs::absent(v)) return a.f32(v, name, n, shape);
  if (n > kMaxSynth) a.fail(ErrorCode::Shape, std::string(name) + " " + shape + " is too large");
  return F32((size_t)n, 0.0f);
}

// Runs job->run(backend, staging) on a worker with the device's shared
// backend locked; the staged buffers are freed when the op is done.
template <typename Job>
Napi::Promise launch(Napi::Env env, const char* name, std::shared_ptr<Job> job) {
  return run_async(
      env, name,
      [job] {
        KernelBackend b(job->device);
        Staging st(*b);
        job->run(*b, st);
      },
      [job](Napi::Env e) { return job->result(e); });
}

// The recurrent kernels (conv1d, SSM) in both forms: a step takes one row per
// sequence and its states positionally (states_arg); a prefill takes packed
// sequences (cuSeqlens at states_arg) and its states as an option.
struct SeqLayout {
  I32 cu;  // prefill only
  int64_t n_seqs = 0;
  Napi::Value states;
};
SeqLayout seq_layout(const KernelArgs& a, const Napi::CallbackInfo& info, bool step, size_t arg, int64_t count) {
  SeqLayout l;
  if (step) {
    l.n_seqs = count;
    l.states = info[arg];
  } else {
    l.cu = a.cu_seqlens(info[arg], "cuSeqlens", count);
    l.n_seqs = (int64_t)l.cu.size() - 1;
    l.states = a.opt("states");
  }
  return l;
}

// Stages `out` (n_out floats) and the states (updated in place, per_seq floats
// per sequence), runs op(out, state pointers) and downloads both.
template <typename Op>
void run_with_states(Staging& st, F32& out, size_t n_out, F32& states, int64_t n_seqs, int64_t per_seq, Op op) {
  float* d_out = st.out<float>(n_out);
  float* d_states = st.in(states);
  auto ptrs = Staging::split(d_states, n_seqs, per_seq);
  op(d_out, ptrs.data());
  st.download(out, d_out, n_out);
  st.download(states, d_states, states.size());
}

Napi::Object pair(Napi::Env env, const char* k1, Napi::Value v1, const char* k2, Napi::Value v2) {
  Napi::Object o = Napi::Object::New(env);
  o.Set(k1, v1);
  o.Set(k2, v2);
  return o;
}

// ---- norms

// rmsNorm(x, weight, nTokens, dim, {eps}) / gatedRmsNorm(x, z, weight, nTokens, dim, {eps, nGroups})
struct NormJob {
  F32 x, z, w, y;
  int64_t n, dim, groups;
  float eps;
  Device device;
  void run(Backend& b, Staging& st) {
    float* dy = st.out<float>(x.size());
    if (z.empty())
      b.rmsnorm(dy, st.in(x), st.in(w), n, dim, eps);
    else
      b.gated_rmsnorm(dy, st.in(x), st.in(z), st.in(w), n, dim, groups, eps, 0);
    st.download(y, dy, x.size());
  }
  Napi::Value result(Napi::Env env) { return to_js(env, y); }
};

Napi::Value norm(const Napi::CallbackInfo& info, bool gated) {
  KernelArgs a(info, gated ? "gatedRmsNorm" : "rmsNorm");
  const size_t o = gated ? 1 : 0;
  a.set_opts_index(4 + o);
  auto job = std::make_shared<NormJob>();
  job->device = a.device();
  job->n = a.integer(2 + o, "nTokens", 0);
  job->dim = a.integer(3 + o, "dim");
  job->eps = a.opt_number("eps", 1e-5f);
  if (job->eps < 0) a.fail(ErrorCode::Argument, "eps must be >= 0");
  job->groups = gated ? a.opt_integer("nGroups", 1, 1, job->dim) : 1;
  if (job->dim % job->groups != 0)
    a.fail(ErrorCode::Shape, "dim " + std::to_string(job->dim) + " is not divisible by nGroups " +
                                 std::to_string(job->groups));
  const std::string xs = shape_of({{"nTokens", job->n}, {"dim", job->dim}});
  job->x = a.f32(info[0], "x", a.numel({job->n, job->dim}, "x"), xs);
  if (gated) job->z = a.f32(info[1], "z", (int64_t)job->x.size(), xs);
  job->w = a.f32(info[1 + o], "weight", job->dim, shape_of({{"dim", job->dim}}));
  return launch(info.Env(), a.fn().c_str(), job);
}

// ---- conv1d

// conv1dPrefill(x, weight, cuSeqlens, nTokens, channels, dConv, {bias, states})
// conv1dStep(x, weight, states | null, nSeqs, channels, dConv, {bias})
struct ConvJob {
  F32 x, w, bias, states, out;
  I32 cu;
  int64_t channels, n_seqs;
  int d_conv;
  bool step;
  Device device;
  void run(Backend& b, Staging& st) {
    run_with_states(st, out, x.size(), states, n_seqs, (d_conv - 1) * channels, [&](float* dout, float* const* ptrs) {
      if (step)
        b.conv1d_causal_step(dout, st.in(x), st.in(w), st.optional(bias), channels, d_conv, (int)n_seqs, ptrs, 0);
      else
        b.conv1d_causal_prefill(dout, st.in(x), st.in(w), st.optional(bias), channels, d_conv, cu.data(), (int)n_seqs,
                                ptrs, 0);
    });
  }
  Napi::Value result(Napi::Env env) { return pair(env, "out", to_js(env, out), "states", to_js(env, states)); }
};

Napi::Value conv1d(const Napi::CallbackInfo& info, bool step) {
  KernelArgs a(info, step ? "conv1dStep" : "conv1dPrefill");
  a.set_opts_index(6);
  auto job = std::make_shared<ConvJob>();
  job->device = a.device();
  job->step = step;
  const int64_t count = a.integer(3, step ? "nSeqs" : "nTokens", 0);
  const int64_t C = job->channels = a.integer(4, "channels");
  const int64_t K = a.integer(5, "dConv", 1, 1024);
  job->d_conv = (int)K;
  SeqLayout seqs = seq_layout(a, info, step, 2, count);
  job->cu = std::move(seqs.cu);
  const int64_t S = job->n_seqs = seqs.n_seqs;
  job->x = a.f32(info[0], "x", a.numel({count, C}, "x"), shape_of({{step ? "nSeqs" : "nTokens", count}, {"channels", C}}));
  job->w = a.f32(info[1], "weight", a.numel({C, K}, "weight"), shape_of({{"channels", C}, {"dConv", K}}));
  job->bias = opt_f32(a, a.opt("bias"), "bias", C, shape_of({{"channels", C}}));
  job->states = states_or_zeros(a, seqs.states, "states", a.numel({S, K - 1, C}, "states"),
                                shape_of({{"nSeqs", S}, {"dConv - 1", K - 1}, {"channels", C}}));
  return launch(info.Env(), a.fn().c_str(), job);
}

// ---- Mamba-2 scan

// ssmScan(x, dt, A, B, C, cuSeqlens, nTokens, nHeads, headDim, dState, nGroups, {D, dtBias, states, chunkSize})
// ssmStep(x, dt, A, B, C, states | null, nSeqs, nHeads, headDim, dState, nGroups, {D, dtBias})
struct SsmJob {
  F32 x, dt, A, B, C, D, dt_bias, states, y;
  I32 cu;
  SsmDims dims;
  int64_t n_seqs;
  int chunk;
  bool step;
  Device device;
  void run(Backend& b, Staging& st) {
    const int64_t per_seq = dims.n_heads * dims.head_dim * dims.d_state;
    run_with_states(st, y, x.size(), states, n_seqs, per_seq, [&](float* dy, float* const* ptrs) {
      const float *dx = st.in(x), *ddt = st.in(dt), *dA = st.in(A), *dB = st.in(B), *dC = st.in(C);
      if (step)
        b.ssm_step(dy, dx, ddt, dA, dB, dC, st.optional(D), st.optional(dt_bias), dims, (int)n_seqs, ptrs, {});
      else
        b.ssm_scan(dy, dx, ddt, dA, dB, dC, st.optional(D), st.optional(dt_bias), dims, cu.data(), (int)n_seqs, ptrs,
                   chunk, {});
    });
  }
  Napi::Value result(Napi::Env env) { return pair(env, "y", to_js(env, y), "states", to_js(env, states)); }
};

Napi::Value ssm(const Napi::CallbackInfo& info, bool step) {
  KernelArgs a(info, step ? "ssmStep" : "ssmScan");
  a.set_opts_index(11);
  auto job = std::make_shared<SsmJob>();
  job->device = a.device();
  job->step = step;
  const char* tn = step ? "nSeqs" : "nTokens";
  const int64_t T = a.integer(6, tn, 0);
  const int64_t H = job->dims.n_heads = a.integer(7, "nHeads");
  const int64_t P = job->dims.head_dim = a.integer(8, "headDim");
  const int64_t N = job->dims.d_state = a.integer(9, "dState");
  const int64_t G = job->dims.n_groups = a.integer(10, "nGroups");
  if (H % G != 0)
    a.fail(ErrorCode::Shape, "nHeads " + std::to_string(H) + " is not divisible by nGroups " + std::to_string(G));
  job->chunk = step ? 0 : (int)a.opt_integer("chunkSize", 0, 0, 65536);
  SeqLayout seqs = seq_layout(a, info, step, 5, T);
  job->cu = std::move(seqs.cu);
  const int64_t S = job->n_seqs = seqs.n_seqs;
  job->x = a.f32(info[0], "x", a.numel({T, H, P}, "x"), shape_of({{tn, T}, {"nHeads", H}, {"headDim", P}}));
  job->dt = a.f32(info[1], "dt", a.numel({T, H}, "dt"), shape_of({{tn, T}, {"nHeads", H}}));
  job->A = a.f32(info[2], "A", H, shape_of({{"nHeads", H}}));
  const std::string bc = shape_of({{tn, T}, {"nGroups", G}, {"dState", N}});
  job->B = a.f32(info[3], "B", a.numel({T, G, N}, "B"), bc);
  job->C = a.f32(info[4], "C", a.numel({T, G, N}, "C"), bc);
  job->D = opt_f32(a, a.opt("D"), "D", H, shape_of({{"nHeads", H}}));
  job->dt_bias = opt_f32(a, a.opt("dtBias"), "dtBias", H, shape_of({{"nHeads", H}}));
  job->states = states_or_zeros(a, seqs.states, "states", a.numel({S, H, P, N}, "states"),
                                shape_of({{"nSeqs", S}, {"nHeads", H}, {"headDim", P}, {"dState", N}}));
  return launch(info.Env(), a.fn().c_str(), job);
}

// ---- attention

// attention(q, k, v, qCuSeqlens, kvCuSeqlens, nHeads, nKvHeads, headDim, {scale, pageSize, kvDtype})
// Sequence s has queries q[qCu[s] .. qCu[s+1]) = the last positions of its
// context k/v[kvCu[s] .. kvCu[s+1]). pageSize > 0 writes the context through
// Backend::kv_write into pages of kvDtype ('f32' default, 'f16', 'q8_0'; one
// page = a key block and a value block, KvLayout) with a scrambled page table
// (tests the paged path; the executor builds its KvViews from its own pool).
struct AttnJob {
  F32 q, k, v, out;
  I32 qcu, kvcu;
  AttentionDims dims;
  int64_t page;
  DType kv_dtype = DType::F32;
  Device device;
  void run(Backend& b, Staging& st) {
    const int64_t S = (int64_t)qcu.size() - 1, Hkv = dims.n_kv_heads, Dh = dims.head_dim;
    std::vector<std::vector<const float*>> kp((size_t)S), vp((size_t)S);
    std::vector<KvView> views((size_t)S);
    if (page > 0) {
      HL_CHECK(b.supports_kv(kv_dtype), Unsupported, std::string("attention: KV pages of type ") + dtype_name(kv_dtype));
      KvLayout layout;
      layout.n_attn_layers = 1;
      layout.n_kv_heads = Hkv;
      layout.head_dim = Dh;
      layout.page_size = page;
      layout.dtype = kv_dtype;
      int64_t total = 0;
      for (int64_t s = 0; s < S; s++) total += (kvcu[s + 1] - kvcu[s] + page - 1) / page;
      auto* pool = st.out<uint8_t>((size_t)(total * layout.page_bytes()));
      const float *dk = st.in(k), *dv = st.in(v);
      int64_t logical = 0;
      for (int64_t s = 0; s < S; s++) {
        const int64_t ctx = kvcu[s + 1] - kvcu[s];
        for (int64_t p = 0; p < (ctx + page - 1) / page; p++, logical++) {
          uint8_t* phys = pool + (total - 1 - logical) * layout.page_bytes();  // reversed: pages are not in order
          kp[s].push_back(reinterpret_cast<const float*>(phys + layout.layer_offset(0, false)));
          vp[s].push_back(reinterpret_cast<const float*>(phys + layout.layer_offset(0, true)));
        }
        const int64_t src = kvcu[s] * Hkv * Dh;
        b.kv_write(const_cast<float* const*>(kp[s].data()), page, dk + src, 0, ctx, Hkv, Dh, kv_dtype);
        b.kv_write(const_cast<float* const*>(vp[s].data()), page, dv + src, 0, ctx, Hkv, Dh, kv_dtype);
        views[s] = {kp[s].data(), vp[s].data(), page, layout.head_stride(), layout.token_stride(), ctx,
                    kv_dtype, layout.scale_offset()};
      }
    } else {
      const float *dk = st.in(k), *dv = st.in(v);
      for (int64_t s = 0; s < S; s++) {
        const int64_t ctx = kvcu[s + 1] - kvcu[s];
        kp[s] = {dk + kvcu[s] * Hkv * Dh};
        vp[s] = {dv + kvcu[s] * Hkv * Dh};
        views[s] = {kp[s].data(), vp[s].data(), std::max<int64_t>(1, ctx), Dh, Hkv * Dh, ctx};
      }
    }
    float* dout = st.out<float>(q.size());
    b.attention(dout, st.in(q), dims, qcu.data(), (int)S, views.data());
    st.download(out, dout, q.size());
  }
  Napi::Value result(Napi::Env env) { return to_js(env, out); }
};

Napi::Value attention(const Napi::CallbackInfo& info) {
  KernelArgs a(info, "attention");
  a.set_opts_index(8);
  auto job = std::make_shared<AttnJob>();
  job->device = a.device();
  const int64_t Hq = job->dims.n_heads = a.integer(5, "nHeads");
  const int64_t Hkv = job->dims.n_kv_heads = a.integer(6, "nKvHeads");
  const int64_t Dh = job->dims.head_dim = a.integer(7, "headDim");
  if (Hq % Hkv != 0)
    a.fail(ErrorCode::Shape, "nHeads " + std::to_string(Hq) + " is not divisible by nKvHeads " + std::to_string(Hkv));
  job->dims.scale = a.opt_number("scale", 1.0f / std::sqrt((float)Dh));
  job->page = a.opt_integer("pageSize", 0, 0, 4096);
  const Napi::Value kv_dtype = a.opt("kvDtype");
  if (!KernelArgs::absent(kv_dtype)) {
    const std::string name = kv_dtype.IsString() ? kv_dtype.As<Napi::String>().Utf8Value() : "";
    if (name != "f32" && name != "f16" && name != "q8_0")
      a.fail(ErrorCode::Argument, "kvDtype must be 'f32', 'f16' or 'q8_0', got '" + name + "'");
    job->kv_dtype = name == "f16" ? DType::F16 : name == "q8_0" ? DType::Q8_0 : DType::F32;
    if (job->kv_dtype != DType::F32 && job->page == 0) a.fail(ErrorCode::Argument, "kvDtype " + name + " needs pageSize > 0");
  }
  job->qcu = a.cu_seqlens(info[3], "qCuSeqlens", -1);
  job->kvcu = a.cu_seqlens(info[4], "kvCuSeqlens", -1);
  if (job->kvcu.size() != job->qcu.size())
    a.fail(ErrorCode::Shape, "kvCuSeqlens has " + std::to_string(job->kvcu.size()) + " entries, expected " +
                                 std::to_string(job->qcu.size()) + " (one per sequence + 1, like qCuSeqlens)");
  for (size_t s = 0; s + 1 < job->qcu.size(); s++) {
    const int64_t nq = job->qcu[s + 1] - job->qcu[s], nk = job->kvcu[s + 1] - job->kvcu[s];
    if (nq > nk)
      a.fail(ErrorCode::Shape, "sequence " + std::to_string(s) + " has " + std::to_string(nq) +
                                   " queries but only " + std::to_string(nk) + " keys (queries are the last positions)");
  }
  const int64_t nQ = job->qcu.back(), nK = job->kvcu.back();
  if (job->page > 0) {  // the paged copy must stay proportional to the context
    const int64_t S = (int64_t)job->qcu.size() - 1;
    if (a.numel({nK + S * job->page, Hkv, Dh}, "paged pool") > 4 * a.numel({nK, Hkv, Dh}, "k") + (int64_t(1) << 24))
      a.fail(ErrorCode::Argument, "pageSize " + std::to_string(job->page) + " is too large for " + std::to_string(S) +
                                      " sequences of " + std::to_string(nK) + " keys in total");
  }
  job->q = a.f32(info[0], "q", a.numel({nQ, Hq, Dh}, "q"), shape_of({{"nQ", nQ}, {"nHeads", Hq}, {"headDim", Dh}}));
  const std::string ks = shape_of({{"nKv", nK}, {"nKvHeads", Hkv}, {"headDim", Dh}});
  job->k = a.f32(info[1], "k", a.numel({nK, Hkv, Dh}, "k"), ks);
  job->v = a.f32(info[2], "v", a.numel({nK, Hkv, Dh}, "v"), ks);
  return launch(info.Env(), "attention", job);
}

// ---- matmul, embed, swiglu

WeightView weight_view(const uint8_t* data, DType t, int64_t rows, int64_t cols) {
  return WeightView{data, t, rows, cols, dtype_row_bytes(t, cols)};
}

// Throws UnsupportedError unless backend b runs `op` on weights of type t.
void require_support(Backend& b, const char* fn, Op op, DType t) {
  HL_CHECK(b.supports(op, t), Unsupported,
           std::string(fn) + ": the " + b.name() + " backend cannot run " + op_name(op) + " on " + dtype_name(t) +
               " weights");
}

// matmul(x, weight, nTokens, rows, cols, dtype)
struct MatmulJob {
  F32 x, y;
  Bytes w;
  DType t;
  int64_t n, rows, cols;
  Device device;
  void run(Backend& b, Staging& st) {
    require_support(b, "matmul", Op::Matmul, t);
    float* dy = st.out<float>((size_t)(n * rows));
    b.matmul(dy, st.in(x), n, weight_view(st.in(w), t, rows, cols));
    st.download(y, dy, (size_t)(n * rows));
  }
  Napi::Value result(Napi::Env env) { return to_js(env, y); }
};

Napi::Value matmul(const Napi::CallbackInfo& info) {
  KernelArgs a(info, "matmul");
  a.set_opts_index(6);
  auto job = std::make_shared<MatmulJob>();
  job->device = a.device();
  job->n = a.integer(2, "nTokens", 0);
  job->rows = a.integer(3, "rows");
  job->cols = a.integer(4, "cols");
  job->t = a.dtype(info[5], "dtype");
  const std::string ws = shape_of({{"rows", job->rows}, {"cols", job->cols}}) + " " + dtype_name(job->t);
  job->w = a.bytes(info[1], "weight", a.weight_bytes(job->t, job->rows, job->cols, "weight"), ws);
  job->x = a.f32(info[0], "x", a.numel({job->n, job->cols}, "x"), shape_of({{"nTokens", job->n}, {"cols", job->cols}}));
  a.numel({job->n, job->rows}, "y");
  return launch(info.Env(), "matmul", job);
}

// embed(ids, weight, vocab, dim, dtype, {scale})
struct EmbedJob {
  I32 ids;
  Bytes w;
  F32 out;
  DType t;
  int64_t vocab, dim;
  float scale;
  Device device;
  void run(Backend& b, Staging& st) {
    require_support(b, "embed", Op::Embed, t);
    const size_t n = ids.size() * (size_t)dim;
    float* dout = st.out<float>(n);
    b.embed(dout, weight_view(st.in(w), t, vocab, dim), st.in(ids), (int64_t)ids.size(), scale);
    st.download(out, dout, n);
  }
  Napi::Value result(Napi::Env env) { return to_js(env, out); }
};

Napi::Value embed(const Napi::CallbackInfo& info) {
  KernelArgs a(info, "embed");
  a.set_opts_index(5);
  auto job = std::make_shared<EmbedJob>();
  job->device = a.device();
  job->vocab = a.integer(2, "vocab");
  job->dim = a.integer(3, "dim");
  job->t = a.dtype(info[4], "dtype");
  job->scale = a.opt_number("scale", 1.0f);
  const std::string ws = shape_of({{"vocab", job->vocab}, {"dim", job->dim}}) + " " + dtype_name(job->t);
  job->w = a.bytes(info[1], "weight", a.weight_bytes(job->t, job->vocab, job->dim, "weight"), ws);
  if (!info[0].IsTypedArray() || info[0].As<Napi::TypedArray>().TypedArrayType() != napi_int32_array)
    a.fail(ErrorCode::Argument, "ids must be an Int32Array");
  const int64_t n = (int64_t)info[0].As<Napi::Int32Array>().ElementLength();
  job->ids = a.i32(info[0], "ids", n, "[nTokens]");
  a.numel({n, job->dim}, "out");
  for (int64_t t = 0; t < n; t++)
    if (job->ids[t] < 0 || job->ids[t] >= job->vocab)
      a.fail(ErrorCode::Argument, "ids[" + std::to_string(t) + "] = " + std::to_string(job->ids[t]) +
                                      " is out of range [0, " + std::to_string(job->vocab) + ")");
  return launch(info.Env(), "embed", job);
}

// swiglu(gate, up, nTokens, n)
struct SwigluJob {
  F32 gate, up, out;
  int64_t n_tokens, n;
  Device device;
  void run(Backend& b, Staging& st) {
    float* dout = st.out<float>(gate.size());
    b.swiglu(dout, st.in(gate), st.in(up), n_tokens, n);
    st.download(out, dout, gate.size());
  }
  Napi::Value result(Napi::Env env) { return to_js(env, out); }
};

Napi::Value swiglu(const Napi::CallbackInfo& info) {
  KernelArgs a(info, "swiglu");
  a.set_opts_index(4);
  auto job = std::make_shared<SwigluJob>();
  job->device = a.device();
  job->n_tokens = a.integer(2, "nTokens", 0);
  job->n = a.integer(3, "n");
  const std::string s = shape_of({{"nTokens", job->n_tokens}, {"n", job->n}});
  job->gate = a.f32(info[0], "gate", a.numel({job->n_tokens, job->n}, "gate"), s);
  job->up = a.f32(info[1], "up", (int64_t)job->gate.size(), s);
  return launch(info.Env(), "swiglu", job);
}

// ---- MoE

// moeRoute(logits, nTokens, nExperts, topK) -> {ids, weights}
struct RouteJob {
  F32 logits, weights;
  I32 ids;
  int64_t n, e, k;
  Device device;
  void run(Backend& b, Staging& st) {
    const size_t nk = (size_t)(n * k);
    int32_t* dids = st.out<int32_t>(nk);
    float* dweights = st.out<float>(nk);
    b.moe_route(dids, dweights, st.in(logits), n, e, k);
    st.download(ids, dids, nk);
    st.download(weights, dweights, nk);
  }
  Napi::Value result(Napi::Env env) { return pair(env, "ids", to_js(env, ids), "weights", to_js(env, weights)); }
};

Napi::Value moe_route(const Napi::CallbackInfo& info) {
  KernelArgs a(info, "moeRoute");
  a.set_opts_index(4);
  auto job = std::make_shared<RouteJob>();
  job->device = a.device();
  job->n = a.integer(1, "nTokens", 0);
  job->e = a.integer(2, "nExperts", 1, 1 << 16);
  job->k = a.integer(3, "topK", 1, job->e);
  job->logits = a.f32(info[0], "logits", a.numel({job->n, job->e}, "logits"),
                      shape_of({{"nTokens", job->n}, {"nExperts", job->e}}));
  return launch(info.Env(), "moeRoute", job);
}

// moeForward(x, ids, weights, gate, up, down, nTokens, topK, nExperts, dModel, dFf, gateType, upType, downType)
// gate, up: [nExperts, dFf, dModel]; down: [nExperts, dModel, dFf] (raw bytes in their dtype).
struct MoeJob {
  F32 x, weights, out;
  I32 ids;
  Bytes gate, up, down;
  DType tg, tu, td;
  int64_t n, k, e, d, f;
  Device device;
  void run(Backend& b, Staging& st) {
    for (DType wt : {tg, tu, td}) require_support(b, "moeForward", Op::MoeForward, wt);
    MoeWeights w;
    w.gate = weight_view(st.in(gate), tg, f, d);
    w.up = weight_view(st.in(up), tu, f, d);
    w.down = weight_view(st.in(down), td, d, f);
    w.gate_expert_stride = f * w.gate.row_bytes;
    w.up_expert_stride = f * w.up.row_bytes;
    w.down_expert_stride = d * w.down.row_bytes;
    w.n_experts = e;
    float* dout = st.out<float>(x.size());
    b.moe_forward(dout, st.in(x), st.in(ids), st.in(weights), n, k, w);
    st.download(out, dout, x.size());
  }
  Napi::Value result(Napi::Env env) { return to_js(env, out); }
};

Napi::Value moe_forward(const Napi::CallbackInfo& info) {
  KernelArgs a(info, "moeForward");
  a.set_opts_index(14);
  auto job = std::make_shared<MoeJob>();
  job->device = a.device();
  const int64_t n = job->n = a.integer(6, "nTokens", 0);
  const int64_t E = job->e = a.integer(8, "nExperts", 1, 1 << 16);
  const int64_t k = job->k = a.integer(7, "topK", 1, E);
  const int64_t D = job->d = a.integer(9, "dModel");
  const int64_t F = job->f = a.integer(10, "dFf");
  job->tg = a.dtype(info[11], "gateType");
  job->tu = a.dtype(info[12], "upType");
  job->td = a.dtype(info[13], "downType");
  const std::string nk = shape_of({{"nTokens", n}, {"topK", k}});
  job->x = a.f32(info[0], "x", a.numel({n, D}, "x"), shape_of({{"nTokens", n}, {"dModel", D}}));
  job->ids = a.i32(info[1], "ids", a.numel({n, k}, "ids"), nk);
  job->weights = a.f32(info[2], "weights", n * k, nk);
  for (size_t i = 0; i < job->ids.size(); i++)
    if (job->ids[i] < 0 || job->ids[i] >= E)
      a.fail(ErrorCode::Argument, "ids[" + std::to_string(i) + "] = " + std::to_string(job->ids[i]) +
                                      " is out of range [0, nExperts = " + std::to_string(E) + ")");
  const std::string gs = shape_of({{"nExperts", E}, {"dFf", F}, {"dModel", D}});
  job->gate = a.bytes(info[3], "gate", a.numel({E, a.weight_bytes(job->tg, F, D, "gate")}, "gate"),
                      gs + " " + dtype_name(job->tg));
  job->up = a.bytes(info[4], "up", a.numel({E, a.weight_bytes(job->tu, F, D, "up")}, "up"),
                    gs + " " + dtype_name(job->tu));
  job->down = a.bytes(info[5], "down", a.numel({E, a.weight_bytes(job->td, D, F, "down")}, "down"),
                      shape_of({{"nExperts", E}, {"dModel", D}, {"dFf", F}}) + " " + dtype_name(job->td));
  return launch(info.Env(), "moeForward", job);
}

// quantizeActivations(x, nTokens, K, block) -> { q, d, sum16, sum32 }: the
// int8 activation rounding of the block-format matmuls (SimdOps::quantize_act
// on the active SIMD path), synchronous: a test hook for small inputs.
Napi::Value quantize_activations(const Napi::CallbackInfo& info) {
  KernelArgs a(info, "quantizeActivations");
  const int64_t n = a.integer(1, "nTokens", 0);
  const int64_t K = a.integer(2, "K");
  const int64_t block = a.integer(3, "block", 32, 256);
  if (block != 32 && block != 256) a.fail(ErrorCode::Argument, "block must be 32 or 256, got " + std::to_string(block));
  if (K % block != 0)
    a.fail(ErrorCode::Shape, "K = " + std::to_string(K) + " is not a multiple of block " + std::to_string(block));
  const F32 x = a.f32(info[0], "x", a.numel({n, K}, "x"), shape_of({{"nTokens", n}, {"K", K}}));
  std::vector<int8_t> q((size_t)(n * K));
  F32 d((size_t)(n * K / block)), s16((size_t)(n * K / 16)), s32((size_t)(n * K / 32));
  const cpu::SimdOps& ops = cpu::simd_ops();
  for (int64_t t = 0; t < n; t++)
    ops.quantize_act(q.data() + t * K, d.data() + t * K / block, s16.data() + t * K / 16, s32.data() + t * K / 32,
                     x.data() + t * K, K, block);
  Napi::Env env = info.Env();
  auto qa = Napi::Int8Array::New(env, q.size());
  if (!q.empty()) std::memcpy(qa.Data(), q.data(), q.size());
  Napi::Object o = Napi::Object::New(env);
  o.Set("q", qa);
  o.Set("d", to_js(env, d));
  o.Set("sum16", to_js(env, s16));
  o.Set("sum32", to_js(env, s32));
  return o;
}

template <Napi::Value (*Fn)(const Napi::CallbackInfo&)>
Napi::Value guarded(const Napi::CallbackInfo& info) {
  return guard(info.Env(), [&] { return Fn(info); });
}

Napi::Value rms_norm_js(const Napi::CallbackInfo& i) { return norm(i, false); }
Napi::Value gated_rms_norm_js(const Napi::CallbackInfo& i) { return norm(i, true); }
Napi::Value conv1d_prefill_js(const Napi::CallbackInfo& i) { return conv1d(i, false); }
Napi::Value conv1d_step_js(const Napi::CallbackInfo& i) { return conv1d(i, true); }
Napi::Value ssm_scan_js(const Napi::CallbackInfo& i) { return ssm(i, false); }
Napi::Value ssm_step_js(const Napi::CallbackInfo& i) { return ssm(i, true); }

}  // namespace

void register_kernel_exports(Napi::Env env, Napi::Object exports) {
  auto add = [&](const char* name, Napi::Function::Callback fn) { exports.Set(name, Napi::Function::New(env, fn, name)); };
  add("rmsNorm", guarded<rms_norm_js>);
  add("gatedRmsNorm", guarded<gated_rms_norm_js>);
  add("conv1dPrefill", guarded<conv1d_prefill_js>);
  add("conv1dStep", guarded<conv1d_step_js>);
  add("ssmScan", guarded<ssm_scan_js>);
  add("ssmStep", guarded<ssm_step_js>);
  add("attention", guarded<attention>);
  add("matmul", guarded<matmul>);
  add("embed", guarded<embed>);
  add("swiglu", guarded<swiglu>);
  add("moeRoute", guarded<moe_route>);
  add("moeForward", guarded<moe_forward>);
  add("quantizeActivations", guarded<quantize_activations>);
}

}  // namespace hl::binding
