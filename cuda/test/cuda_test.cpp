// cuda/test/cuda_test.cpp: hybridlm_cuda_test — every kernel family of
// libhybridlm_cuda run over a case table and compared with its CPU twin
// (native/cpu, hl::cpu::*) or, for weight types the CPU kernels do not have
// yet (Q4_K, Q6_K), with an f64 reference over a scalar dequantizer written
// here from docs/KERNELS.md (Weight blocks). Plain C++ over the C ABI: no Node.js, no CUDA headers.
// Prints one line per case, then "N passed, N failed"; exit 1 on any failure.
// Without a device: "SKIPPED: <reason>" and exit 0.
// matmul and moe_forward are checked against an f64 reference over the
// spec dequantizer, on the activations the library multiplies: rounded to Q8
// blocks where it rounds them (act_block below), f32 otherwise (docs/KERNELS.md, Matmul: the same quantized activations).
// Tolerances: docs/KERNELS.md, Numerics contract; atol is scaled by the reference RMS
// when that is above 1 (atol scaled by the reference RMS).
// --chained: no hlc_synchronize after each op (the ops queue as the executor
// issues them; only the reads back synchronise), plus the "chain" family
// always runs without syncs: a decode step of a Mamba layer and of an
// attention layer, op by op as native/model issues them, several steps in a
// row, checked once at the end against the same sequence of CPU twins.
//   usage: hybridlm_cuda_test [--chained] [filter-substring]
#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <limits>
#include <memory>
#include <numeric>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "cpu/kernels.h"
#include "hybridlm_cuda.h"
#include "graph_plan.h"
#include "int_units.h"
#include "gemm_mma_tile.h"
#include "moe_decode.h"
#include "tc_policy.h"
#include "test/mma_emu.h"

using hl::DType;

namespace {

int g_pass = 0, g_fail = 0;
std::string g_filter;
std::string g_suffix;  // " [simt]" / " [tc]" while the tensor-core mode is forced
bool g_chained = false;  // --chained: no sync after each op
hl::ThreadPool* g_pool = nullptr;

// ---- device buffers

struct Dev {
  void* p = nullptr;
  size_t bytes = 0;
  // Poisoned with 0xff bytes (f32 NaN): an element a kernel fails to write fails the comparison.
  explicit Dev(size_t n) : bytes(n) {
    if (hlc_malloc(&p, n ? n : 1) != 0 || hlc_memset(p, 0xff, n ? n : 1) != 0) {
      std::fprintf(stderr, "hlc_malloc/memset(%zu) failed: %s\n", n, hlc_last_error());
      std::exit(2);
    }
  }
  Dev(const void* src, size_t n) : Dev(n) { put(src, n); }
  template <typename T> explicit Dev(const std::vector<T>& v) : Dev(v.data(), v.size() * sizeof(T)) {}
  ~Dev() { hlc_free(p); }
  Dev(const Dev&) = delete;
  Dev& operator=(const Dev&) = delete;
  void put(const void* src, size_t n) {
    if (n && hlc_memcpy_h2d(p, src, n) != 0) {
      std::fprintf(stderr, "h2d failed: %s\n", hlc_last_error());
      std::exit(2);
    }
  }
  template <typename T> std::vector<T> get(size_t count) const {
    std::vector<T> v(count);
    if (count && hlc_memcpy_d2h(v.data(), p, count * sizeof(T)) != 0) {
      std::fprintf(stderr, "d2h failed: %s\n", hlc_last_error());
      std::exit(2);
    }
    return v;
  }
  float* f() const { return static_cast<float*>(p); }
  int32_t* i() const { return static_cast<int32_t*>(p); }
  uint8_t* u8() const { return static_cast<uint8_t*>(p); }
};

std::vector<float> rnd(size_t n, uint32_t seed, float lo = -1.0f, float hi = 1.0f) {
  std::mt19937 g(seed);
  std::uniform_real_distribution<float> d(lo, hi);
  std::vector<float> v(n);
  for (auto& x : v) x = d(g);
  return v;
}

// Per-sequence recurrent states: random host twins (st) and device copies;
// pr / pd: the pointer arrays the CPU twin / the library take.
struct SeqStates {
  std::vector<std::vector<float>> st;
  std::vector<std::unique_ptr<Dev>> dst;
  std::vector<float*> pr, pd;
  SeqStates(int n, int64_t size, uint32_t seed, float lo = -1.0f, float hi = 1.0f) {
    for (int s = 0; s < n; s++) {
      st.push_back(rnd(std::max<int64_t>(1, size), seed + s, lo, hi));
      dst.emplace_back(new Dev(st.back()));
      pr.push_back(st.back().data());
      pd.push_back(dst.back()->f());
    }
  }
};

// ---- comparison

struct Cmp {
  double max_abs = 0, max_rel = 0, nmse = 0;
  int64_t bad = -1;
  float bad_out = 0, bad_ref = 0;
};

// Element i passes when |out - ref| <= atol_eff + rtol * |ref|.
Cmp compare(const float* out, const float* ref, int64_t n, double rtol, double atol) {
  Cmp c;
  double ss = 0, se = 0;
  for (int64_t i = 0; i < n; i++) ss += (double)ref[i] * ref[i];
  const double rms = n ? std::sqrt(ss / n) : 0;
  const double atol_eff = atol * std::max(1.0, rms);
  for (int64_t i = 0; i < n; i++) {
    const double o = out[i], r = ref[i], e = std::fabs(o - r);
    se += e * e;
    if (!(e <= atol_eff + rtol * std::fabs(r))) {  // NaN fails too
      if (c.bad < 0) {
        c.bad = i;
        c.bad_out = out[i];
        c.bad_ref = ref[i];
      }
    }
    if (e > c.max_abs || std::isnan(e)) c.max_abs = std::isnan(e) ? INFINITY : e;
    if (std::fabs(r) > atol_eff) c.max_rel = std::max(c.max_rel, e / std::fabs(r));
  }
  c.nmse = ss > 0 ? se / ss : se;
  return c;
}

bool selected(const std::string& name) { return g_filter.empty() || name.find(g_filter) != std::string::npos; }

// Reports one case. parts: (label, cmp) pairs all of which must pass.
void report(const std::string& name, const std::vector<std::pair<std::string, Cmp>>& parts, double nmse_max,
            const std::string& err = "") {
  bool ok = err.empty();
  std::string detail;
  for (auto& [label, c] : parts) {
    const bool part_ok = c.bad < 0 && c.nmse <= nmse_max;
    ok = ok && part_ok;
    char buf[256];
    if (part_ok) {
      std::snprintf(buf, sizeof buf, " %s[max_abs %.2e nmse %.1e]", label.c_str(), c.max_abs, c.nmse);
    } else {
      std::snprintf(buf, sizeof buf, " %s[FAIL at %lld: got %.7g want %.7g; max_abs %.2e max_rel %.2e nmse %.1e]",
                    label.c_str(), (long long)c.bad, c.bad_out, c.bad_ref, c.max_abs, c.max_rel, c.nmse);
    }
    detail += buf;
  }
  if (!err.empty()) detail = " error: " + err;
  std::printf("%s %s%s%s\n", ok ? "PASS" : "FAIL", name.c_str(), g_suffix.c_str(), detail.c_str());
  std::fflush(stdout);
  (ok ? g_pass : g_fail)++;
}

#define CALL(expr)                                   \
  do {                                               \
    int st_ = (expr);                                \
    if (st_ == 0 && !g_chained) st_ = hlc_synchronize(); \
    if (st_ != 0) {                                  \
      report(name, {}, 0, hlc_last_error());         \
      return;                                        \
    }                                                \
  } while (0)

// ---- weights: generation and an independent scalar dequantizer (docs/KERNELS.md, Weight blocks)

float h2f(uint16_t h) { return hl::f16_to_f32(h); }

int64_t block_of(DType t) { return hl::dtype_block_size(t); }
int64_t bytes_of_block(DType t) { return hl::dtype_block_bytes(t); }

// Random weight matrix [rows, K] in dtype t; scales small so outputs stay O(1).
std::vector<uint8_t> make_weights(DType t, int64_t rows, int64_t K, uint32_t seed) {
  const int64_t rb = K / block_of(t) * bytes_of_block(t);
  std::vector<uint8_t> w((size_t)(rows * rb));
  std::mt19937 g(seed);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  auto put16 = [&](uint8_t* p, uint16_t v) { std::memcpy(p, &v, 2); };
  for (int64_t r = 0; r < rows; r++) {
    uint8_t* row = w.data() + r * rb;
    switch (t) {
      case DType::F32:
        for (int64_t k = 0; k < K; k++) {
          float v = u(g);
          std::memcpy(row + 4 * k, &v, 4);
        }
        break;
      case DType::F16:
        for (int64_t k = 0; k < K; k++) put16(row + 2 * k, hl::f32_to_f16(u(g)));
        break;
      case DType::BF16:
        for (int64_t k = 0; k < K; k++) put16(row + 2 * k, hl::f32_to_bf16(u(g)));
        break;
      case DType::Q8_0:
        for (int64_t b = 0; b < K / 32; b++) {
          uint8_t* blk = row + b * 34;
          put16(blk, hl::f32_to_f16(u(g) * 0.02f));  // negative d included
          for (int i = 0; i < 32; i++) blk[2 + i] = (uint8_t)(int8_t)(g() % 255 - 127);
        }
        break;
      case DType::Q4_K:
        for (int64_t b = 0; b < K / 256; b++) {
          uint8_t* blk = row + b * 144;
          for (int i = 4; i < 144; i++) blk[i] = (uint8_t)g();
          put16(blk, hl::f32_to_f16(u(g) * 0.003f));
          put16(blk + 2, hl::f32_to_f16(u(g) * 0.003f));
        }
        break;
      case DType::Q4_0:
        for (int64_t b = 0; b < K / 32; b++) {
          uint8_t* blk = row + b * 18;
          for (int i = 2; i < 18; i++) blk[i] = (uint8_t)g();
          put16(blk, hl::f32_to_f16(u(g) * 0.05f));
        }
        break;
      case DType::Q5_K:
        for (int64_t b = 0; b < K / 256; b++) {
          uint8_t* blk = row + b * 176;
          for (int i = 4; i < 176; i++) blk[i] = (uint8_t)g();
          put16(blk, hl::f32_to_f16(u(g) * 0.0015f));
          put16(blk + 2, hl::f32_to_f16(u(g) * 0.003f));
        }
        break;
      case DType::Q6_K:
        for (int64_t b = 0; b < K / 256; b++) {
          uint8_t* blk = row + b * 210;
          for (int i = 0; i < 208; i++) blk[i] = (uint8_t)g();
          put16(blk + 208, hl::f32_to_f16(u(g) * 0.0005f));
        }
        break;
      default: break;
    }
  }
  return w;
}

// Element k of a row, from the spec (not from the CUDA decoders).
double deq(DType t, const uint8_t* row, int64_t k) {
  auto u16 = [](const uint8_t* p) { uint16_t v; std::memcpy(&v, p, 2); return v; };
  switch (t) {
    case DType::F32: { float v; std::memcpy(&v, row + 4 * k, 4); return v; }
    case DType::F16: return h2f(u16(row + 2 * k));
    case DType::BF16: return hl::bf16_to_f32(u16(row + 2 * k));
    case DType::Q8_0: {
      const uint8_t* blk = row + (k / 32) * 34;
      return (double)h2f(u16(blk)) * (int8_t)blk[2 + k % 32];
    }
    case DType::Q4_K: {
      const uint8_t* blk = row + (k / 256) * 144;
      const uint8_t* s = blk + 4;
      const int e = (int)(k % 256), sub = e / 32, l = e % 32;
      int sc, m;
      if (sub < 4) {
        sc = s[sub] & 63;
        m = s[sub + 4] & 63;
      } else {
        sc = (s[sub + 4] & 0x0f) | ((s[sub - 4] >> 6) << 4);
        m = (s[sub + 4] >> 4) | ((s[sub] >> 6) << 4);
      }
      const uint8_t byte = blk[16 + (sub / 2) * 32 + l];
      const int q = (sub % 2 == 0) ? (byte & 0x0f) : (byte >> 4);
      return (double)h2f(u16(blk)) * sc * q - (double)h2f(u16(blk + 2)) * m;
    }
    case DType::Q4_0: {
      const uint8_t* blk = row + (k / 32) * 18;
      const int j = (int)(k % 32);
      const uint8_t byte = blk[2 + j % 16];
      const int q = j < 16 ? (byte & 0x0f) : (byte >> 4);
      return (double)h2f(u16(blk)) * (q - 8);
    }
    case DType::Q5_K: {
      const uint8_t* blk = row + (k / 256) * 176;
      const uint8_t* s = blk + 4;
      const int e = (int)(k % 256), sub = e / 32, l = e % 32;
      int sc, m;
      if (sub < 4) {
        sc = s[sub] & 63;
        m = s[sub + 4] & 63;
      } else {
        sc = (s[sub + 4] & 0x0f) | ((s[sub - 4] >> 6) << 4);
        m = (s[sub + 4] >> 4) | ((s[sub] >> 6) << 4);
      }
      const uint8_t byte = blk[48 + (sub / 2) * 32 + l];
      const int q = ((sub % 2 == 0) ? (byte & 0x0f) : (byte >> 4)) + (((blk[16 + l] >> sub) & 1) ? 16 : 0);
      return (double)h2f(u16(blk)) * sc * q - (double)h2f(u16(blk + 2)) * m;
    }
    case DType::Q6_K: {
      const uint8_t* blk = row + (k / 256) * 210;
      const int e = (int)(k % 256), half = e / 128, within = e % 128, quad = within / 32, l = within % 32;
      const uint8_t* ql = blk + half * 64;
      const uint8_t* qh = blk + 128 + half * 32;
      const int8_t* sc = reinterpret_cast<const int8_t*>(blk + 192) + half * 8;
      const uint8_t lb = ql[l + (quad % 2) * 32];
      const int low = quad < 2 ? (lb & 0x0f) : (lb >> 4);
      const int high = (qh[l] >> (2 * quad)) & 3;
      return (double)h2f(u16(blk + 208)) * sc[l / 16 + 2 * quad] * ((low | (high << 4)) - 32);
    }
    default: return 0;
  }
}

// f64 reference of one weight row (spec dequantizer) · x, and sum |w·x| for the tolerance.
std::pair<double, double> ref_dot(DType t, const uint8_t* row, const float* x, int64_t K) {
  double ref = 0, mag = 0;
  for (int64_t k = 0; k < K; k++) {
    const double p = deq(t, row, k) * x[k];
    ref += p;
    mag += std::fabs(p);
  }
  return {ref, mag};
}

// Q8 round trip of one row (K % block == 0), per block: d = amax / 127,
// q = round-half-even(x / d).
void q8_roundtrip(const float* x, int64_t K, float* out, int64_t block = 32) {
  for (int64_t b = 0; b < K / block; b++) {
    float amax = 0.0f;
    for (int64_t i = 0; i < block; i++) amax = std::max(amax, std::fabs(x[b * block + i]));
    const float d = amax / 127.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    for (int64_t i = 0; i < block; i++) {
      const float prod = x[b * block + i] * id;
      float q = std::nearbyint(prod);
      q = std::min(127.0f, std::max(-127.0f, q));
      out[b * block + i] = q * d;
    }
  }
}

// The activation block the library rounds to int8 before its dot products
// (0: f32 activations): the block weight types, in CUDA as in the CPU twins
// (32 values for Q8_0/Q4_0, 256 for the K-quants; docs/KERNELS.md, Matmul).
int64_t act_block(DType t) {
  if (t == DType::Q8_0 || t == DType::Q4_0) return 32;
  if (t == DType::Q4_K || t == DType::Q5_K || t == DType::Q6_K) return 256;
  return 0;
}

bool cpu_has(DType t) { return t == DType::F32 || t == DType::F16 || t == DType::BF16 || t == DType::Q8_0; }

// ---- rmsnorm

void test_rmsnorm() {
  struct C { int64_t T, dim, groups; bool gated, alias; };
  const C cases[] = {{1, 1, 1, false, false},    {3, 31, 1, false, false},   {5, 1024, 1, false, false},
                     {7, 1025, 1, false, true},  {2, 4096, 1, false, false}, {33, 3072, 1, false, false},
                     {3, 64, 1, true, false},    {5, 3072, 1, true, false},  {4, 4096, 8, true, false},
                     {2, 96, 3, true, true},     {9, 8192, 1, true, false},  {1, 6144, 1, true, false}};
  for (const C& c : cases) {
    std::string name = std::string(c.gated ? "gated_rmsnorm" : "rmsnorm") + " T=" + std::to_string(c.T) +
                       " dim=" + std::to_string(c.dim) + " G=" + std::to_string(c.groups) + (c.alias ? " y=x" : "");
    if (!selected(name)) continue;
    const int64_t n = c.T * c.dim;
    auto x = rnd(n, 1), z = rnd(n, 2, -3, 3), w = rnd(c.dim, 3, 0.5f, 1.5f);
    std::vector<float> ref(n);
    if (c.gated) hl::cpu::gated_rmsnorm(*g_pool, ref.data(), x.data(), z.data(), w.data(), c.T, c.dim, c.groups, 1e-6f);
    else hl::cpu::rmsnorm(*g_pool, ref.data(), x.data(), w.data(), c.T, c.dim, 1e-6f);
    Dev dx(x), dz(z), dw(w), dy(n * 4);
    float* y = c.alias ? dx.f() : dy.f();
    if (c.gated) CALL(hlc_gated_rmsnorm(y, dx.f(), dz.f(), dw.f(), c.T, c.dim, c.groups, 1e-6f));
    else CALL(hlc_rmsnorm(y, dx.f(), dw.f(), c.T, c.dim, 1e-6f));
    auto out = (c.alias ? dx : dy).get<float>(n);
    report(name, {{"y", compare(out.data(), ref.data(), n, 1e-5, 1e-6)}}, 1e-7);
  }
}

// The residual add fused with the next norm vs the CPU twin (add then norm).
void test_add_rmsnorm() {
  struct C { int64_t T, dim; float alpha; };
  const C cases[] = {{1, 1, 1.0f}, {3, 31, 0.22f}, {5, 1024, 0.5f}, {2, 1025, 0.22f}, {33, 2048, 0.22f}, {1, 4096, 1.0f}};
  for (const C& c : cases) {
    std::string name = "add_rmsnorm T=" + std::to_string(c.T) + " dim=" + std::to_string(c.dim);
    if (!selected(name)) continue;
    const int64_t n = c.T * c.dim;
    auto h = rnd(n, 21), b = rnd(n, 22, -3, 3), w = rnd(c.dim, 23, 0.5f, 1.5f);
    std::vector<float> ref_h = h, ref_u(n);
    hl::cpu::add_rmsnorm(*g_pool, ref_h.data(), ref_u.data(), b.data(), c.alpha, w.data(), c.T, c.dim, 1e-6f);
    Dev dh(h), db(b), dw(w), du(n * 4);
    CALL(hlc_add_rmsnorm(dh.f(), du.f(), db.f(), c.alpha, dw.f(), c.T, c.dim, 1e-6f));
    auto out_h = dh.get<float>(n), out_u = du.get<float>(n);
    report(name, {{"h", compare(out_h.data(), ref_h.data(), n, 0, 0)}, {"u", compare(out_u.data(), ref_u.data(), n, 1e-5, 1e-6)}},
           1e-7);
  }
}

// ---- swiglu

void test_swiglu() {
  struct C { int64_t T, n; int offset; };
  const C cases[] = {{1, 1, 0}, {3, 1023, 0}, {5, 4096, 0}, {2, 4096, 1}, {17, 1536, 0}};
  for (const C& c : cases) {
    std::string name = "swiglu T=" + std::to_string(c.T) + " n=" + std::to_string(c.n) +
                       (c.offset ? " unaligned" : "");
    if (!selected(name)) continue;
    const int64_t n = c.T * c.n;
    auto g = rnd(n, 4, -6, 6), u = rnd(n, 5);
    std::vector<float> ref(n);
    hl::cpu::swiglu(*g_pool, ref.data(), g.data(), u.data(), c.T, c.n);
    Dev dg((n + 1) * 4), du((n + 1) * 4), dout((n + 1) * 4);
    dg.put(g.data(), n * 4);
    du.put(u.data(), n * 4);
    float* o = dout.f() + c.offset;  // unaligned output exercises the scalar path
    CALL(hlc_swiglu(o, dg.f(), du.f(), c.T, c.n));
    auto all = dout.get<float>(n + 1);
    report(name, {{"out", compare(all.data() + c.offset, ref.data(), n, 1e-5, 1e-6)}}, 1e-7);
  }
}

// ---- conv1d

void test_conv1d() {
  struct C { int64_t channels; int d_conv; std::vector<int32_t> lens; int calls; };
  const std::vector<C> cases = {
      {33, 4, {1}, 1},          {33, 4, {2}, 1},          {33, 4, {3}, 1},      {33, 4, {4}, 1},
      {40, 4, {5, 1, 0, 7}, 1}, {3328, 4, {1025}, 1},     {300, 4, {1026, 33}, 1},
      {129, 4, {100, 3, 2, 50}, 1}, {64, 2, {9, 1}, 1},   {64, 3, {31, 2}, 1},
      {77, 4, {1, 2, 1}, 3},    {3328, 4, {64, 65, 1}, 2}};
  for (const C& c : cases) {
    std::string lens;
    for (auto l : c.lens) lens += (lens.empty() ? "" : ",") + std::to_string(l);
    std::string name = "conv1d_prefill C=" + std::to_string(c.channels) + " K=" + std::to_string(c.d_conv) +
                       " lens={" + lens + "} calls=" + std::to_string(c.calls);
    if (!selected(name)) continue;
    const int n_seqs = (int)c.lens.size();
    std::vector<int32_t> cu(n_seqs + 1, 0);
    for (int s = 0; s < n_seqs; s++) cu[s + 1] = cu[s] + c.lens[s];
    const int64_t T = cu[n_seqs], C = c.channels, hist = c.d_conv - 1;
    auto w = rnd(C * c.d_conv, 6), bias = rnd(C, 7);
    std::vector<std::vector<float>> st_ref(n_seqs);
    std::vector<std::unique_ptr<Dev>> st_dev;
    std::vector<float*> st_ptr_ref, st_ptr_dev;
    for (int s = 0; s < n_seqs; s++) {
      st_ref[s] = rnd(std::max<int64_t>(1, hist * C), 100 + s);
      st_dev.emplace_back(new Dev(st_ref[s]));
      st_ptr_ref.push_back(st_ref[s].data());
      st_ptr_dev.push_back(st_dev[s]->f());
    }
    Dev dw(w), db(bias), din(std::max<int64_t>(1, T * C) * 4), dout(std::max<int64_t>(1, T * C) * 4);
    std::vector<std::pair<std::string, Cmp>> parts;
    bool failed = false;
    for (int call = 0; call < c.calls && !failed; call++) {
      auto in = rnd(T * C, 8 + call);
      std::vector<float> ref(T * C);
      hl::cpu::conv1d_causal_prefill(*g_pool, ref.data(), in.data(), w.data(), bias.data(), C, c.d_conv, cu.data(),
                                     n_seqs, st_ptr_ref.data());
      din.put(in.data(), T * C * 4);
      int st = hlc_conv1d_causal_prefill(dout.f(), din.f(), dw.f(), db.f(), C, c.d_conv, cu.data(), n_seqs,
                                         st_ptr_dev.data());
      if (st == 0) st = hlc_synchronize();
      if (st != 0) {
        report(name, {}, 0, hlc_last_error());
        return;
      }
      auto out = dout.get<float>(T * C);
      parts.push_back({"out" + std::to_string(call), compare(out.data(), ref.data(), T * C, 1e-5, 1e-6)});
    }
    for (int s = 0; s < n_seqs && hist > 0; s++) {
      auto sd = st_dev[s]->get<float>(hist * C);
      parts.push_back({"state" + std::to_string(s), compare(sd.data(), st_ref[s].data(), hist * C, 0, 0)});
    }
    report(name, parts, 1e-7);
  }
  // step
  struct S { int64_t channels; int d_conv, n_seqs, steps; };
  const S steps[] = {{3328, 4, 5, 3}, {33, 4, 1, 5}, {64, 2, 3, 2}};
  for (const S& c : steps) {
    std::string name = "conv1d_step C=" + std::to_string(c.channels) + " K=" + std::to_string(c.d_conv) +
                       " seqs=" + std::to_string(c.n_seqs) + " steps=" + std::to_string(c.steps);
    if (!selected(name)) continue;
    const int64_t C = c.channels, hist = c.d_conv - 1;
    auto w = rnd(C * c.d_conv, 9), bias = rnd(C, 10);
    std::vector<std::vector<float>> st_ref(c.n_seqs);
    std::vector<std::unique_ptr<Dev>> st_dev;
    std::vector<float*> pr, pd;
    for (int s = 0; s < c.n_seqs; s++) {
      st_ref[s] = rnd(hist * C, 200 + s);
      st_dev.emplace_back(new Dev(st_ref[s]));
      pr.push_back(st_ref[s].data());
      pd.push_back(st_dev[s]->f());
    }
    Dev dw(w), db(bias), din(c.n_seqs * C * 4), dout(c.n_seqs * C * 4);
    std::vector<std::pair<std::string, Cmp>> parts;
    for (int k = 0; k < c.steps; k++) {
      auto in = rnd(c.n_seqs * C, 300 + k);
      std::vector<float> ref(c.n_seqs * C);
      hl::cpu::conv1d_causal_step(*g_pool, ref.data(), in.data(), w.data(), bias.data(), C, c.d_conv, c.n_seqs,
                                  pr.data());
      din.put(in.data(), in.size() * 4);
      CALL(hlc_conv1d_causal_step(dout.f(), din.f(), dw.f(), db.f(), C, c.d_conv, c.n_seqs, pd.data()));
      auto out = dout.get<float>(c.n_seqs * C);
      parts.push_back({"out" + std::to_string(k), compare(out.data(), ref.data(), out.size(), 1e-5, 1e-6)});
    }
    for (int s = 0; s < c.n_seqs; s++) {
      auto sd = st_dev[s]->get<float>(hist * C);
      parts.push_back({"state" + std::to_string(s), compare(sd.data(), st_ref[s].data(), hist * C, 0, 0)});
    }
    report(name, parts, 1e-7);
  }
}

// ---- ssm scan / step

struct SsmInputs {
  std::vector<float> x, dt, A, B, C, D, dt_bias;
};

SsmInputs ssm_inputs(const hl::SsmDims& d, int64_t T, uint32_t seed) {
  SsmInputs in;
  in.x = rnd(T * d.n_heads * d.head_dim, seed);
  in.dt = rnd(T * d.n_heads, seed + 1, -3.0f, 1.0f);
  in.A = rnd(d.n_heads, seed + 2, -1.0f, 1.0f);
  for (auto& a : in.A) a = -std::exp(a);
  in.B = rnd(T * d.n_groups * d.d_state, seed + 3, -0.5f, 0.5f);
  in.C = rnd(T * d.n_groups * d.d_state, seed + 4, -0.5f, 0.5f);
  in.D = rnd(d.n_heads, seed + 5);
  in.dt_bias = rnd(d.n_heads, seed + 6, -1.0f, 0.0f);
  return in;
}

void test_ssm() {
  struct C { int64_t H, P, N, G; std::vector<int32_t> lens; int chunk; };
  const std::vector<C> cases = {
      {4, 16, 32, 1, {1, 5}, 0},          {4, 16, 32, 1, {1, 5}, 64},       {8, 64, 128, 2, {37, 130, 1}, 64},
      {6, 24, 48, 3, {300}, 128},         {48, 64, 128, 1, {512}, 256},     {4, 64, 128, 1, {1025, 1026}, 256},
      {2, 8, 256, 1, {200}, 64},          {4, 32, 64, 2, {64, 0, 63, 65}, 64}, {8, 64, 128, 1, {700, 33}, 0},
      {3, 40, 100, 1, {129, 257}, 128}};
  for (const C& c : cases) {
    std::string lens;
    for (auto l : c.lens) lens += (lens.empty() ? "" : ",") + std::to_string(l);
    std::string name = "ssm_scan H=" + std::to_string(c.H) + " P=" + std::to_string(c.P) + " N=" +
                       std::to_string(c.N) + " G=" + std::to_string(c.G) + " lens={" + lens +
                       "} chunk=" + std::to_string(c.chunk);
    if (!selected(name)) continue;
    const hl::SsmDims d{c.H, c.P, c.N, c.G};
    const int n_seqs = (int)c.lens.size();
    std::vector<int32_t> cu(n_seqs + 1, 0);
    for (int s = 0; s < n_seqs; s++) cu[s + 1] = cu[s] + c.lens[s];
    const int64_t T = cu[n_seqs], SZ = c.H * c.P * c.N, Y = T * c.H * c.P;
    SsmInputs in = ssm_inputs(d, T, 11);
    SeqStates ss(n_seqs, SZ, 400, -0.5f, 0.5f);
    auto& st = ss.st;
    auto& dst = ss.dst;
    auto& pr = ss.pr;
    auto& pd = ss.pd;
    std::vector<float> ref(Y);
    hl::cpu::ssm_scan(*g_pool, ref.data(), in.x.data(), in.dt.data(), in.A.data(), in.B.data(), in.C.data(),
                      in.D.data(), in.dt_bias.data(), d, cu.data(), n_seqs, pr.data(), 0);
    Dev dx(in.x), ddt(in.dt), dA(in.A), dB(in.B), dC(in.C), dD(in.D), dbias(in.dt_bias), dy(Y * 4);
    CALL(hlc_ssm_scan(dy.f(), dx.f(), ddt.f(), dA.f(), dB.f(), dC.f(), dD.f(), dbias.f(), &d, cu.data(), n_seqs,
                      pd.data(), c.chunk));
    auto y = dy.get<float>(Y);
    std::vector<std::pair<std::string, Cmp>> parts{{"y", compare(y.data(), ref.data(), Y, 1e-3, 1e-4)}};
    for (int s = 0; s < n_seqs; s++) {
      auto sd = dst[s]->get<float>(SZ);
      parts.push_back({"state" + std::to_string(s), compare(sd.data(), st[s].data(), SZ, 1e-3, 1e-4)});
    }
    report(name, parts, 1e-6);
  }
  // ssm_step: several consecutive steps
  struct S { int64_t H, P, N, G; int n_seqs, steps; };
  const S steps[] = {{48, 64, 128, 1, 3, 4}, {8, 24, 48, 2, 5, 2}, {4, 64, 256, 4, 1, 3}, {2, 8, 16, 1, 9, 1}};
  for (const S& c : steps) {
    std::string name = "ssm_step H=" + std::to_string(c.H) + " P=" + std::to_string(c.P) + " N=" +
                       std::to_string(c.N) + " G=" + std::to_string(c.G) + " seqs=" + std::to_string(c.n_seqs) +
                       " steps=" + std::to_string(c.steps);
    if (!selected(name)) continue;
    const hl::SsmDims d{c.H, c.P, c.N, c.G};
    const int64_t SZ = c.H * c.P * c.N, Y = c.n_seqs * c.H * c.P;
    SeqStates ss(c.n_seqs, SZ, 500, -0.5f, 0.5f);
    auto& st = ss.st;
    auto& dst = ss.dst;
    auto& pr = ss.pr;
    auto& pd = ss.pd;
    std::vector<std::pair<std::string, Cmp>> parts;
    for (int k = 0; k < c.steps; k++) {
      SsmInputs in = ssm_inputs(d, c.n_seqs, 600 + 10 * k);
      std::vector<float> ref(Y);
      hl::cpu::ssm_step(*g_pool, ref.data(), in.x.data(), in.dt.data(), in.A.data(), in.B.data(), in.C.data(),
                        in.D.data(), in.dt_bias.data(), d, c.n_seqs, pr.data());
      Dev dx(in.x), ddt(in.dt), dA(in.A), dB(in.B), dC(in.C), dD(in.D), dbias(in.dt_bias), dy(Y * 4);
      CALL(hlc_ssm_step(dy.f(), dx.f(), ddt.f(), dA.f(), dB.f(), dC.f(), dD.f(), dbias.f(), &d, c.n_seqs, pd.data()));
      auto y = dy.get<float>(Y);
      parts.push_back({"y" + std::to_string(k), compare(y.data(), ref.data(), Y, 3e-4, 1e-4)});
    }
    for (int s = 0; s < c.n_seqs; s++) {
      auto sd = dst[s]->get<float>(SZ);
      parts.push_back({"state" + std::to_string(s), compare(sd.data(), st[s].data(), SZ, 3e-4, 1e-4)});
    }
    report(name, parts, 1e-6);
  }
}

// ---- attention (paged KV with a shuffled page table, or one contiguous page)

void test_attention() {
  struct Seq { int64_t n_q, n_ctx; };
  struct C { int64_t Hq, Hkv, Dh, page; bool contiguous; std::vector<Seq> seqs; };
  const std::vector<C> cases = {
      {4, 4, 64, 16, false, {{5, 5}}},
      {12, 4, 64, 16, false, {{1, 1}, {1, 15}, {1, 16}, {1, 17}, {1, 300}}},
      {32, 8, 128, 32, false, {{100, 100}, {33, 200}}},
      {8, 1, 128, 64, false, {{1, 5000}}},
      {6, 2, 80, 16, false, {{17, 40}}},
      {4, 2, 32, 0, true, {{64, 64}, {3, 10}}},
      {16, 4, 256, 64, false, {{40, 40}}},
      {24, 8, 64, 64, false, {{1, 1000}, {2, 2}, {1, 64}, {1, 65}}},
      {12, 4, 128, 32, false, {{257, 257}}},
      // >= 16 queries: the tensor-core path on sm_80+ (split-KV partials in the first)
      {8, 1, 128, 64, false, {{16, 4000}}},
      {12, 4, 64, 16, false, {{50, 50}, {20, 300}, {1, 7}}},
      {6, 3, 96, 32, false, {{70, 70}}},
  };
  for (const C& c : cases) {
    std::string sq;
    for (auto& s : c.seqs) sq += (sq.empty() ? "" : ",") + std::to_string(s.n_q) + "/" + std::to_string(s.n_ctx);
    std::string name = "attention Hq=" + std::to_string(c.Hq) + " Hkv=" + std::to_string(c.Hkv) + " Dh=" +
                       std::to_string(c.Dh) + (c.contiguous ? " contiguous" : " page=" + std::to_string(c.page)) +
                       " q/ctx={" + sq + "}";
    if (!selected(name)) continue;
    const int n_seqs = (int)c.seqs.size();
    const int64_t Dh = c.Dh, Hkv = c.Hkv;
    std::vector<int32_t> cu(n_seqs + 1, 0);
    for (int s = 0; s < n_seqs; s++) cu[s + 1] = cu[s] + (int32_t)c.seqs[s].n_q;
    const int64_t T = cu[n_seqs];
    // Page pool: [pages][Hkv, page, Dh] (paged) or one [n_ctx, Hkv, Dh] block per sequence.
    std::vector<int64_t> page_count(n_seqs);
    int64_t total_pages = 0;
    for (int s = 0; s < n_seqs; s++) {
      page_count[s] = c.contiguous ? 1 : (c.seqs[s].n_ctx + c.page - 1) / c.page;
      total_pages += page_count[s];
    }
    int64_t page_floats = 0;
    for (int s = 0; s < n_seqs; s++)
      page_floats = std::max(page_floats, c.contiguous ? c.seqs[s].n_ctx * Hkv * Dh : Hkv * c.page * Dh);
    auto kpool = rnd(total_pages * page_floats, 21, -2, 2), vpool = rnd(total_pages * page_floats, 22);
    std::vector<int64_t> perm(total_pages);
    std::iota(perm.begin(), perm.end(), 0);
    std::shuffle(perm.begin(), perm.end(), std::mt19937(23));
    Dev dk(kpool), dv(vpool);
    std::vector<std::vector<const float*>> hk(n_seqs), hv(n_seqs), gk(n_seqs), gv(n_seqs);
    std::vector<hl::KvView> kv_h(n_seqs), kv_d(n_seqs);
    int64_t next = 0;
    for (int s = 0; s < n_seqs; s++) {
      for (int64_t p = 0; p < page_count[s]; p++) {
        const int64_t pg = perm[next++];
        hk[s].push_back(kpool.data() + pg * page_floats);
        hv[s].push_back(vpool.data() + pg * page_floats);
        gk[s].push_back(dk.f() + pg * page_floats);
        gv[s].push_back(dv.f() + pg * page_floats);
      }
      hl::KvView v{};
      v.n_ctx = c.seqs[s].n_ctx;
      if (c.contiguous) {
        v.page_size = std::max<int64_t>(1, c.seqs[s].n_ctx);
        v.head_stride = Dh;
        v.token_stride = Hkv * Dh;
      } else {
        v.page_size = c.page;
        v.head_stride = c.page * Dh;
        v.token_stride = Dh;
      }
      kv_h[s] = v;
      kv_h[s].k_pages = hk[s].data();
      kv_h[s].v_pages = hv[s].data();
      kv_d[s] = v;
      kv_d[s].k_pages = gk[s].data();
      kv_d[s].v_pages = gv[s].data();
    }
    const hl::AttentionDims dims{c.Hq, c.Hkv, Dh, 1.0f / std::sqrt((float)Dh)};
    auto q = rnd(T * c.Hq * Dh, 24, -2, 2);
    std::vector<float> ref(T * c.Hq * Dh);
    hl::cpu::attention(*g_pool, ref.data(), q.data(), dims, cu.data(), n_seqs, kv_h.data());
    Dev dq(q), dout(ref.size() * 4);
    CALL(hlc_attention(dout.f(), dq.f(), &dims, cu.data(), n_seqs, kv_d.data()));
    auto out = dout.get<float>(ref.size());
    report(name, {{"out", compare(out.data(), ref.data(), ref.size(), 1e-4, 1e-5)}}, 1e-7);
  }
}

// ---- matmul / embed

// y (from the library) vs the f64 reference over the spec dequantizer, on the
// activations the library multiplies (act_block rounding); per-output
// tolerance 1e-5 * sum |w * x| (+ f32 rounding of the CPU twin).
Cmp matmul_cmp(const std::vector<float>& y, DType t, const std::vector<uint8_t>& wb, int64_t rows, int64_t K,
               const std::vector<float>& x, int64_t T) {
  const int64_t rb = K / block_of(t) * bytes_of_block(t);
  std::vector<float> xr = x;
  if (const int64_t ab = act_block(t))
    for (int64_t tk = 0; tk < T; tk++) q8_roundtrip(x.data() + tk * K, K, xr.data() + tk * K, ab);
  Cmp cm;
  double se = 0, ss = 0;
  for (int64_t r = 0; r < rows; r++)
    for (int64_t tk = 0; tk < T; tk++) {
      const auto [ref, mag] = ref_dot(t, wb.data() + r * rb, xr.data() + tk * K, K);
      const size_t i = (size_t)(tk * rows + r);
      const double e = std::fabs((double)y[i] - (double)(float)ref);
      se += e * e;
      ss += ref * ref;
      cm.max_abs = std::max(cm.max_abs, std::isnan(e) ? INFINITY : e);
      if (!(e <= (double)(float)(1e-5 * mag + 1e-30)) && cm.bad < 0) {
        cm.bad = (int64_t)i;
        cm.bad_out = y[i];
        cm.bad_ref = (float)ref;
      }
    }
  cm.nmse = ss > 0 ? se / ss : se;
  return cm;
}

void test_matmul() {
  struct C { DType t; int64_t T, rows, K; };
  std::vector<C> cases;
  for (DType t : {DType::F32, DType::F16, DType::BF16, DType::Q8_0, DType::Q4_0, DType::Q4_K, DType::Q5_K,
                  DType::Q6_K}) {
    const bool k256 = t == DType::Q4_K || t == DType::Q5_K || t == DType::Q6_K;
    cases.push_back({t, 1, 1, k256 ? 256 : 32});
    cases.push_back({t, 1, 33, 256});
    cases.push_back({t, 3, 100, 512});
    cases.push_back({t, 8, 64, 1024});
    cases.push_back({t, 9, 65, 256});
    cases.push_back({t, 70, 130, 768});
    cases.push_back({t, 2, 2048, 1536});
    cases.push_back({t, 129, 67, 2048});
    cases.push_back({t, 16, 72, 512});  // prefill (GEMM tiles) from here: one 16-token mma row
    cases.push_back({t, 200, 100, 1280});
  }
  cases.push_back({DType::Q8_0, 33, 40, 160});  // a partial int8 K panel (5 units of 4 per panel)
  cases.push_back({DType::Q4_0, 65, 129, 96});
  for (DType t : {DType::F32, DType::F16, DType::BF16}) {
    cases.push_back({t, 1, 5, 33});
    cases.push_back({t, 17, 31, 31});
    cases.push_back({t, 4, 7, 12});
    cases.push_back({t, 40, 70, 100});  // K % 8 != 0: scalar weight loads in the f16 / bf16 tile
  }
  for (const C& c : cases) {
    std::string name = std::string("matmul ") + hl::dtype_name(c.t) + " T=" + std::to_string(c.T) +
                       " rows=" + std::to_string(c.rows) + " K=" + std::to_string(c.K);
    if (!selected(name)) continue;
    auto wb = make_weights(c.t, c.rows, c.K, 31);
    const int64_t rb = c.K / block_of(c.t) * bytes_of_block(c.t);
    auto x = rnd(c.T * c.K, 32);
    Dev dw(wb.data(), wb.size()), dx(x), dy(c.T * c.rows * 4);
    hl::WeightView dvw{dw.u8(), c.t, c.rows, c.K, rb};
    CALL(hlc_matmul(dy.f(), dx.f(), c.T, &dvw));
    auto y = dy.get<float>(c.T * c.rows);
    report(name, {{"y", matmul_cmp(y, c.t, wb, c.rows, c.K, x, c.T)}}, 1e-7);
  }
}

// ys[i] = x · ws[i]ᵀ in one hlc_matmul_multi call: shared int8 activations
// (decode, one activation block) or the per-matrix fallback.
void test_matmul_multi() {
  struct C { std::vector<DType> ts; std::vector<int64_t> rows; int64_t T, K; };
  const std::vector<C> cases = {
      {{DType::Q4_K, DType::Q4_K, DType::Q4_K}, {64, 32, 32}, 1, 512},   // q/k/v
      {{DType::Q4_K, DType::Q6_K}, {96, 96}, 3, 768},                     // gate/up of a Q4_K_M mix
      {{DType::Q8_0, DType::Q4_0, DType::Q8_0}, {40, 8, 33}, 2, 256},
      {{DType::Q4_K, DType::Q8_0}, {16, 16}, 1, 512},                     // two activation blocks: fallback
      {{DType::F16, DType::BF16}, {48, 20}, 2, 256},                      // no integer path: fallback
      {{DType::Q4_K, DType::Q5_K}, {70, 9}, 20, 512},                     // prefill: fallback to the GEMM
      {{DType::F16, DType::Q6_K, DType::BF16}, {33, 65, 17}, 48, 256},    // prefill, three GEMM tiles
      {{DType::Q8_0, DType::Q4_0}, {70, 40}, 17, 224}};                   // prefill, int8 tiles of 32-blocks
  for (const C& c : cases) {
    std::string types;
    for (DType t : c.ts) types += std::string(types.empty() ? "" : "+") + hl::dtype_name(t);
    const std::string name = "matmul_multi " + types + " T=" + std::to_string(c.T) + " K=" + std::to_string(c.K);
    if (!selected(name)) continue;
    const int n = (int)c.ts.size();
    auto x = rnd(c.T * c.K, 33);
    std::vector<std::vector<uint8_t>> wb;
    std::vector<std::unique_ptr<Dev>> dw, dy;
    std::vector<hl::WeightView> ws;
    std::vector<float*> ys;
    for (int i = 0; i < n; i++) {
      wb.push_back(make_weights(c.ts[i], c.rows[i], c.K, 50 + i));
      dw.emplace_back(new Dev(wb[i].data(), wb[i].size()));
      dy.emplace_back(new Dev(c.T * c.rows[i] * 4));
      ws.push_back({dw[i]->u8(), c.ts[i], c.rows[i], c.K, c.K / block_of(c.ts[i]) * bytes_of_block(c.ts[i])});
      ys.push_back(dy[i]->f());
    }
    Dev dx(x);
    CALL(hlc_matmul_multi(ys.data(), dx.f(), c.T, ws.data(), n));
    std::vector<std::pair<std::string, Cmp>> parts;
    for (int i = 0; i < n; i++)
      parts.push_back({"y" + std::to_string(i),
                       matmul_cmp(dy[i]->get<float>(c.T * c.rows[i]), c.ts[i], wb[i], c.rows[i], c.K, x, c.T)});
    report(name, parts, 1e-7);
  }
}

void test_embed() {
  struct C { DType t; int64_t vocab, dim, T; float scale; };
  std::vector<C> cases;
  for (DType t : {DType::F32, DType::F16, DType::BF16, DType::Q8_0, DType::Q4_0, DType::Q4_K, DType::Q5_K,
                  DType::Q6_K}) {
    cases.push_back({t, 50, 256, 7, 1.0f});
    cases.push_back({t, 1000, 1536, 3, 12.0f});
  }
  cases.push_back({DType::F32, 10, 33, 4, 1.0f});
  for (const C& c : cases) {
    std::string name = std::string("embed ") + hl::dtype_name(c.t) + " vocab=" + std::to_string(c.vocab) +
                       " dim=" + std::to_string(c.dim) + " T=" + std::to_string(c.T) + " scale=" +
                       std::to_string((int)c.scale);
    if (!selected(name)) continue;
    auto wb = make_weights(c.t, c.vocab, c.dim, 41);
    const int64_t rb = c.dim / block_of(c.t) * bytes_of_block(c.t);
    std::vector<int32_t> ids(c.T);
    std::mt19937 g(42);
    for (auto& id : ids) id = (int32_t)(g() % c.vocab);
    ids[0] = (int32_t)(c.vocab - 1);
    std::vector<float> ref(c.T * c.dim);
    for (int64_t t = 0; t < c.T; t++)
      for (int64_t i = 0; i < c.dim; i++) ref[t * c.dim + i] = (float)deq(c.t, wb.data() + ids[t] * rb, i) * c.scale;
    if (cpu_has(c.t)) {
      hl::WeightView hw{wb.data(), c.t, c.vocab, c.dim, rb};
      hl::cpu::embed(*g_pool, ref.data(), hw, ids.data(), c.T, c.scale);
    }
    Dev dw(wb.data(), wb.size()), di(ids), dout(ref.size() * 4);
    hl::WeightView dvw{dw.u8(), c.t, c.vocab, c.dim, rb};
    CALL(hlc_embed(dout.f(), &dvw, di.i(), c.T, c.scale));
    auto out = dout.get<float>(ref.size());
    report(name, {{"out", compare(out.data(), ref.data(), ref.size(), 1e-6, 1e-7)}}, 1e-7);
  }
}

// ---- moe

// Routing of a test case: k distinct random experts per token; every token on
// expert 3 in every slot; or k distinct experts out of the first k + 2 (experts
// shared by every token, the rest never chosen).
enum class Routing { kDistinct, kOneExpert, kHot };

std::string routing_name(Routing r) {
  return r == Routing::kOneExpert ? " one-expert" : r == Routing::kHot ? " hot" : "";
}

// One moe_forward case on the host: fused [E, F, D] gate / up and [E, D, F]
// down weights, x, the routing, and the f64 reference over the spec
// dequantizer on the activations the library multiplies (x, then h, rounded
// to int8 blocks for the block types; see the matmul note above).
struct MoeCase {
  DType t;
  int64_t T, E, k, D, Fd, rb_gu, rb_d;
  std::vector<uint8_t> gate, up, down;
  std::vector<float> x, wts, ref;
  std::vector<int32_t> ids;

  MoeCase(DType t_, int64_t T_, int64_t E_, int64_t k_, int64_t D_, int64_t F_, Routing r)
      : t(t_), T(T_), E(E_), k(k_), D(D_), Fd(F_) {
    gate = make_weights(t, E * Fd, D, 61);
    up = make_weights(t, E * Fd, D, 62);
    down = make_weights(t, E * D, Fd, 63);
    rb_gu = D / block_of(t) * bytes_of_block(t);
    rb_d = Fd / block_of(t) * bytes_of_block(t);
    x = rnd(T * D, 64);
    ids.resize(T * k);
    wts.resize(T * k);
    std::mt19937 g(65);
    for (int64_t tk = 0; tk < T; tk++) {
      std::vector<int32_t> all(E);
      std::iota(all.begin(), all.end(), 0);
      std::shuffle(all.begin(), r == Routing::kHot ? all.begin() + std::min(E, k + 2) : all.end(), g);
      float sum = 0;
      for (int64_t j = 0; j < k; j++) {
        ids[tk * k + j] = r == Routing::kOneExpert ? 3 : all[j];
        wts[tk * k + j] = 0.1f + (float)(g() % 100) / 100.0f;
        sum += wts[tk * k + j];
      }
      for (int64_t j = 0; j < k; j++) wts[tk * k + j] /= sum;
    }
    reference();
  }

  void reference() {
    ref.assign(T * D, 0.0f);
    std::vector<double> h(Fd);
    std::vector<float> xq(x), hf(Fd), hq(Fd);
    const int64_t ab = act_block(t);
    if (ab)
      for (int64_t tk = 0; tk < T; tk++) q8_roundtrip(x.data() + tk * D, D, xq.data() + tk * D, ab);
    for (int64_t tk = 0; tk < T; tk++) {
      std::vector<double> o(D, 0.0);
      for (int64_t j = 0; j < k; j++) {
        const int64_t e = ids[tk * k + j];
        if (e < 0 || e >= E) continue;  // a dropped pair contributes nothing
        for (int64_t f = 0; f < Fd; f++) {
          const double gs = ref_dot(t, gate.data() + (e * Fd + f) * rb_gu, xq.data() + tk * D, D).first;
          const double us = ref_dot(t, up.data() + (e * Fd + f) * rb_gu, xq.data() + tk * D, D).first;
          h[f] = gs / (1.0 + std::exp(-gs)) * us;
          hf[f] = (float)h[f];
        }
        hq = hf;
        if (ab) q8_roundtrip(hf.data(), Fd, hq.data(), ab);
        for (int64_t d = 0; d < D; d++)
          o[d] += wts[tk * k + j] * ref_dot(t, down.data() + (e * D + d) * rb_d, hq.data(), Fd).first;
      }
      for (int64_t d = 0; d < D; d++) ref[tk * D + d] = (float)o[d];
    }
  }

  // Block types: the hidden activations are re-quantized between the two
  // matmuls, and an f32-vs-f64 difference in h can flip one rounding (one Q8
  // step, ~1e-3 relative). A flip moves one hidden value by one step, amax / 127
  // of its block: over a 256-value block (K-quants) that step is coarser, hence 2e-2.
  double rtol() const {
    const int64_t ab = act_block(t);
    return ab == 256 ? 2e-2 : ab ? 3e-3 : 1e-4;
  }
  double nmse() const { return act_block(t) ? 1e-5 : 1e-7; }
  Cmp compare(const std::vector<float>& out) const {
    return ::compare(out.data(), ref.data(), (int64_t)ref.size(), rtol(), rtol() / 10);
  }
};

// A case's buffers on the device.
struct MoeDev {
  Dev dg, du, dd, dx, di, dwt, out;
  hl::MoeWeights mw;
  explicit MoeDev(const MoeCase& m)
      : dg(m.gate.data(), m.gate.size()), du(m.up.data(), m.up.size()), dd(m.down.data(), m.down.size()), dx(m.x),
        di(m.ids), dwt(m.wts), out(m.ref.size() * 4),
        mw{{dg.u8(), m.t, m.Fd, m.D, m.rb_gu}, {du.u8(), m.t, m.Fd, m.D, m.rb_gu}, {dd.u8(), m.t, m.D, m.Fd, m.rb_d},
           m.Fd * m.rb_gu, m.Fd * m.rb_gu, m.D * m.rb_d, m.E} {}
  int run(const MoeCase& m) { return hlc_moe_forward(out.f(), dx.f(), di.i(), dwt.f(), m.T, m.k, &mw); }
};

// One decode-sized case: the call, the same call again (bit-identical: no
// atomics) and, with tiles, through the GEMM tiles (hlc_moe_decode_gemv(0)),
// each against the reference.
// "launches": kernels per call at most 4 (block types: quantize x, gate|up,
// quantize h, down) or 2 (F32/F16/BF16).
void moe_decode_case(const std::string& name, const MoeCase& m, bool tiles) {
  MoeDev dm(m);
  uint64_t l0 = 0, l1 = 0;
  hlc_counters(&l0, nullptr);
  CALL(dm.run(m));
  hlc_counters(&l1, nullptr);
  const auto out = dm.out.get<float>(m.ref.size());
  CALL(dm.run(m));
  const auto again = dm.out.get<float>(m.ref.size());
  Cmp launches;
  const uint64_t bound = act_block(m.t) ? 4 : 2;
  if (l1 - l0 > bound) {
    launches.bad = 0;
    launches.bad_out = (float)(l1 - l0);
    launches.bad_ref = (float)bound;
  }
  std::vector<std::pair<std::string, Cmp>> parts = {
      {"out", m.compare(out)},
      {"again", compare(again.data(), out.data(), (int64_t)out.size(), 0, 0)},
      {"launches", launches}};
  if (tiles) {
    CALL(hlc_moe_decode_gemv(0));
    const int st = dm.run(m);
    hlc_moe_decode_gemv(1);
    CALL(st);
    parts.push_back({"tiles", m.compare(dm.out.get<float>(m.ref.size()))});
  }
  report(name, parts, m.nmse());
}

// The decode path inside graph steps (hlc_graph_begin / end): the first step
// captures, the next two replay with new activations and routing weights
// (hoisted uploads), each checked against its own reference.
void moe_decode_graph_case() {
  const std::string name = "moe_forward decode graph Q4_K T=2 E=32 k=4 D=512 F=256 steps=3";
  if (!selected(name)) return;
  MoeCase a(DType::Q4_K, 2, 32, 4, 512, 256, Routing::kHot), b = a;
  b.x = rnd(b.x.size(), 66);
  std::reverse(b.wts.begin(), b.wts.end());
  b.reference();
  MoeDev dm(a);
  uint64_t replays0 = 0, replays1 = 0, refused0 = 0, refused1 = 0;
  hlc_graph_counters(nullptr, &replays0, &refused0);
  std::vector<std::pair<std::string, Cmp>> parts;
  for (int step = 0; step < 3; step++) {
    const MoeCase& m = step == 1 ? b : a;
    int mode = 0, ran = 0;
    int st = hlc_graph_begin(7001, &mode);
    if (st == 0) {
      dm.dx.put(m.x.data(), m.x.size() * 4);
      dm.dwt.put(m.wts.data(), m.wts.size() * 4);
      st = dm.run(m);
      if (st != 0) hlc_graph_abort();
      else st = hlc_graph_end(&ran);
    }
    if (st == 0 && ran == 0) st = dm.run(m);  // refused: nothing ran
    CALL(st);
    parts.push_back({"out" + std::to_string(step), m.compare(dm.out.get<float>(m.ref.size()))});
  }
  hlc_graph_counters(nullptr, &replays1, &refused1);
  hlc_graph_drop(7001);
  Cmp replays;
  if (replays1 - replays0 != 2 || refused1 != refused0) {
    replays.bad = 0;
    replays.bad_out = (float)(replays1 - replays0);
    replays.bad_ref = 2;
  }
  parts.push_back({"replays", replays});
  report(name, parts, a.nmse());
}

// Decode shapes (<= 8 tokens: the grouped GEMV): 1, 2, 8 tokens, top_k 1..8,
// 32-64 experts (some chosen by several tokens, some by none), every weight type.
void test_moe_decode() {
  struct F { int64_t T, E, k; Routing r; };
  const F shapes[] = {{1, 32, 1, Routing::kDistinct}, {1, 64, 8, Routing::kDistinct}, {2, 64, 8, Routing::kHot},
                      {2, 48, 3, Routing::kDistinct}, {8, 40, 6, Routing::kHot},     {8, 64, 4, Routing::kDistinct},
                      {8, 32, 2, Routing::kOneExpert}, {8, 33, 5, Routing::kDistinct}, {2, 64, 7, Routing::kHot}};
  const DType types[] = {DType::F32, DType::F16, DType::BF16, DType::Q8_0,
                         DType::Q4_0, DType::Q4_K, DType::Q5_K, DType::Q6_K};
  for (size_t ti = 0; ti < sizeof types / sizeof types[0]; ti++)
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
      if ((i + ti) % 3 == 2) continue;  // two of every three shapes per type
      const DType t = types[ti];
      const F& c = shapes[i];
      // K-quants: rows of 2 super-blocks (D) / 1 (F); else 8 / 3 units per row.
      const bool k256 = act_block(t) == 256;
      const int64_t D = k256 ? 512 : 256, Fd = k256 ? 256 : 96;
      const std::string name = std::string("moe_forward decode ") + hl::dtype_name(t) + " T=" + std::to_string(c.T) +
                               " E=" + std::to_string(c.E) + " k=" + std::to_string(c.k) + " D=" + std::to_string(D) +
                               " F=" + std::to_string(Fd) + routing_name(c.r);
      if (selected(name)) moe_decode_case(name, MoeCase(t, c.T, c.E, c.k, D, Fd, c.r), true);
    }
  moe_decode_graph_case();
  // The h-tiny expert shape (D 1536: 48 units per gate row, more than a warp's lanes).
  for (DType t : {DType::Q8_0, DType::Q4_K, DType::BF16}) {
    const std::string name = std::string("moe_forward decode ") + hl::dtype_name(t) + " T=2 E=64 k=6 D=1536 F=512";
    if (selected(name)) moe_decode_case(name, MoeCase(t, 2, 64, 6, 1536, 512, Routing::kDistinct), false);
  }
}

void test_moe() {
  struct R { int64_t T, E, k; bool ties; };
  const R routes[] = {{1, 8, 1, false}, {5, 64, 6, false}, {33, 72, 10, false}, {7, 40, 8, true}, {3, 32, 32, false},
                      {2, 100, 4, true}};
  for (const R& c : routes) {
    std::string name = "moe_route T=" + std::to_string(c.T) + " E=" + std::to_string(c.E) + " k=" +
                       std::to_string(c.k) + (c.ties ? " ties" : "");
    if (!selected(name)) continue;
    auto lg = rnd(c.T * c.E, 51, -4, 4);
    if (c.ties)
      for (auto& v : lg) v = std::round(v);  // many exact ties
    std::vector<int32_t> ids_ref(c.T * c.k);
    std::vector<float> w_ref(c.T * c.k);
    hl::cpu::moe_route(*g_pool, ids_ref.data(), w_ref.data(), lg.data(), c.T, c.E, c.k);
    Dev dl(lg), di(c.T * c.k * 4), dw(c.T * c.k * 4);
    CALL(hlc_moe_route(di.i(), dw.f(), dl.f(), c.T, c.E, c.k));
    auto ids = di.get<int32_t>(c.T * c.k);
    auto w = dw.get<float>(c.T * c.k);
    Cmp ic;
    for (size_t i = 0; i < ids.size(); i++)
      if (ids[i] != ids_ref[i] && ic.bad < 0) {
        ic.bad = (int64_t)i;
        ic.bad_out = (float)ids[i];
        ic.bad_ref = (float)ids_ref[i];
      }
    report(name, {{"ids", ic}, {"weights", compare(w.data(), w_ref.data(), w.size(), 1e-5, 1e-6)}}, 1e-7);
  }
  struct F { int64_t T, E, k, D, Fd; DType t; Routing r; };
  const F fwd[] = {{1, 8, 2, 64, 32, DType::F32, Routing::kDistinct},
                   {5, 64, 6, 128, 64, DType::Q8_0, Routing::kDistinct},
                   {40, 72, 10, 256, 96, DType::F16, Routing::kDistinct},
                   {300, 16, 2, 64, 64, DType::BF16, Routing::kDistinct},
                   {70, 8, 1, 256, 512, DType::Q4_K, Routing::kOneExpert},
                   {9, 12, 3, 512, 256, DType::Q6_K, Routing::kDistinct},
                   {1000, 40, 8, 64, 32, DType::F32, Routing::kDistinct},
                   {50, 16, 4, 256, 96, DType::Q4_0, Routing::kDistinct},
                   {33, 8, 2, 256, 256, DType::Q5_K, Routing::kDistinct},
                   {40, 8, 2, 256, 64, DType::Q8_0, Routing::kDistinct},
                   {24, 12, 3, 256, 256, DType::Q6_K, Routing::kDistinct}};
  for (const F& c : fwd) {
    std::string name = std::string("moe_forward ") + hl::dtype_name(c.t) + " T=" + std::to_string(c.T) + " E=" +
                       std::to_string(c.E) + " k=" + std::to_string(c.k) + " D=" + std::to_string(c.D) +
                       " F=" + std::to_string(c.Fd) + routing_name(c.r);
    if (!selected(name)) continue;
    const MoeCase m(c.t, c.T, c.E, c.k, c.D, c.Fd, c.r);
    MoeDev dm(m);
    CALL(dm.run(m));
    report(name, {{"out", m.compare(dm.out.get<float>(m.ref.size()))}}, m.nmse());
  }
  test_moe_decode();
}

// ---- argmax

// Token ids compared exactly: the first differing row is the failure.
Cmp compare_ids(const std::vector<int32_t>& out, const std::vector<int32_t>& ref) {
  Cmp ic;
  for (size_t r = 0; r < ref.size(); r++)
    if (out[r] != ref[r]) {
      ic.bad = (int64_t)r;
      ic.bad_out = (float)out[r];
      ic.bad_ref = (float)ref[r];
      break;
    }
  return ic;
}

void test_argmax() {
  struct C { int64_t rows, vocab; bool ties, nan; };
  const C cases[] = {{1, 10, false, false}, {3, 49155, false, false}, {5, 1000, true, false}, {2, 100003, false, true},
                     {64, 257, true, true}};
  for (const C& c : cases) {
    std::string name = "argmax rows=" + std::to_string(c.rows) + " vocab=" + std::to_string(c.vocab) +
                       (c.ties ? " ties" : "") + (c.nan ? " nan" : "");
    if (!selected(name)) continue;
    auto lg = rnd(c.rows * c.vocab, 71, -10, 10);
    if (c.ties)
      for (auto& v : lg) v = std::round(v);
    if (c.nan)
      for (size_t i = 0; i < lg.size(); i += 97) lg[i] = std::numeric_limits<float>::quiet_NaN();
    std::vector<int32_t> ref(c.rows);
    for (int64_t r = 0; r < c.rows; r++) {
      int64_t best = -1;
      for (int64_t v = 0; v < c.vocab; v++) {
        const float x = lg[r * c.vocab + v];
        if (std::isnan(x)) continue;
        if (best < 0 || x > lg[r * c.vocab + best]) best = v;
      }
      ref[r] = (int32_t)std::max<int64_t>(0, best);
    }
    Dev dl(lg), dout(c.rows * 4);
    CALL(hlc_argmax(dl.f(), dout.i(), c.rows, c.vocab));
    auto out = dout.get<int32_t>(c.rows);
    report(name, {{"ids", compare_ids(out, ref)}}, 1e-7);
  }
}

// The executor's greedy pick: logits / divisor, the CPU twin's rule (first index
// on ties after the division, NaN never wins, a NaN at index 0 gives 0).
void test_argmax_scaled() {
  struct C { int64_t rows, vocab; float divisor; bool near_ties, nan; };
  const C cases[] = {{1, 10, 1.0f, false, false},      {3, 49155, 8.0f, false, false}, {6, 1000, 3.0f, true, false},
                     {4, 100003, 12.5f, false, true}, {64, 257, 7.0f, true, true}};
  for (const C& c : cases) {
    std::string name = "argmax_scaled rows=" + std::to_string(c.rows) + " vocab=" + std::to_string(c.vocab) +
                       (c.near_ties ? " near-ties" : "") + (c.nan ? " nan" : "");
    if (!selected(name)) continue;
    auto lg = rnd(c.rows * c.vocab, 72, -10, 10);
    for (int64_t r = 0; r < c.rows; r++) {
      float* row = lg.data() + r * c.vocab;
      // Neighbouring floats at the top: distinct before the division, often equal after it.
      if (c.near_ties) {
        row[c.vocab / 2] = 20.0f;
        row[c.vocab / 3] = std::nextafter(20.0f, 30.0f);
        row[c.vocab - 1] = std::nextafter(row[c.vocab / 3], 30.0f);
      }
      if (c.nan) {
        for (int64_t v = r % 5; v < c.vocab; v += 89) row[v] = std::numeric_limits<float>::quiet_NaN();
        if (r % 3 == 1) row[1] = -std::numeric_limits<float>::infinity();
      }
    }
    std::vector<int32_t> ref(c.rows);
    hl::cpu::argmax_rows(*g_pool, ref.data(), lg.data(), c.rows, c.vocab, c.divisor);
    Dev dl(lg), dout(c.rows * 4);
    CALL(hlc_argmax_scaled(dl.f(), dout.i(), c.rows, c.vocab, c.divisor));
    auto out = dout.get<int32_t>(c.rows);
    report(name, {{"ids", compare_ids(out, ref)}}, 1e-7);
  }
}

// ---- data movement (copy_columns, gather_rows, add_scaled, kv_write)

void test_data() {
  {
    const std::string name = "data copy_columns rows=37 stride=100 col=13 width=51";
    if (selected(name)) {
      const int64_t rows = 37, stride = 100, col = 13, width = 51;
      auto src = rnd(rows * stride, 81);
      std::vector<float> ref(rows * width);
      for (int64_t r = 0; r < rows; r++)
        for (int64_t c = 0; c < width; c++) ref[r * width + c] = src[r * stride + col + c];
      Dev ds(src), dd(ref.size() * 4);
      CALL(hlc_copy_columns(dd.f(), ds.f(), rows, stride, col, width));
      auto out = dd.get<float>(ref.size());
      report(name, {{"dst", compare(out.data(), ref.data(), ref.size(), 0, 0)}}, 0);
    }
  }
  {
    const std::string name = "data gather_rows n=9 width=300";
    if (selected(name)) {
      const int64_t n_src = 20, n = 9, width = 300;
      auto src = rnd(n_src * width, 82);
      std::vector<int64_t> rows = {3, 3, 19, 0, 7, 12, 1, 18, 5};
      std::vector<float> ref(n * width);
      for (int64_t i = 0; i < n; i++)
        for (int64_t c = 0; c < width; c++) ref[i * width + c] = src[rows[i] * width + c];
      Dev ds(src), dd(ref.size() * 4);
      CALL(hlc_gather_rows(dd.f(), ds.f(), rows.data(), n, width));
      auto out = dd.get<float>(ref.size());
      report(name, {{"dst", compare(out.data(), ref.data(), ref.size(), 0, 0)}}, 0);
    }
  }
  {
    const std::string name = "data add_scaled n=100003 alpha=0.22";
    if (selected(name)) {
      const int64_t n = 100003;
      auto y = rnd(n, 83), x = rnd(n, 84);
      std::vector<float> ref(y);
      for (int64_t i = 0; i < n; i++) ref[i] += 0.22f * x[i];
      Dev dy(y), dx(x);
      CALL(hlc_add_scaled(dy.f(), dx.f(), 0.22f, n));
      auto out = dy.get<float>(n);
      report(name, {{"y", compare(out.data(), ref.data(), n, 1e-6, 1e-7)}}, 1e-7);
    }
  }
  struct K { int64_t page, pos0, n, n_kv, dh; };
  const K kvs[] = {{16, 0, 1, 4, 64}, {16, 15, 2, 4, 64}, {32, 40, 100, 8, 128}, {64, 63, 1, 1, 80}};
  for (const K& c : kvs) {
    const std::string name = "data kv_write page=" + std::to_string(c.page) + " pos0=" + std::to_string(c.pos0) +
                             " n=" + std::to_string(c.n) + " Hkv=" + std::to_string(c.n_kv) + " Dh=" +
                             std::to_string(c.dh);
    if (!selected(name)) continue;
    const int64_t n_pages = (c.pos0 + c.n - 1) / c.page + 2, page_floats = c.n_kv * c.page * c.dh;
    auto pool = rnd(n_pages * page_floats, 85), src = rnd(c.n * c.n_kv * c.dh, 86);
    std::vector<float> ref(pool);
    for (int64_t t = 0; t < c.n; t++) {
      const int64_t p = c.pos0 + t;
      for (int64_t h = 0; h < c.n_kv; h++)
        for (int64_t d = 0; d < c.dh; d++)
          ref[(p / c.page) * page_floats + (h * c.page + p % c.page) * c.dh + d] = src[(t * c.n_kv + h) * c.dh + d];
    }
    Dev dp(pool), ds(src);
    std::vector<float*> pages;
    for (int64_t i = 0; i < n_pages; i++) pages.push_back(dp.f() + i * page_floats);
    CALL(hlc_kv_write(pages.data(), n_pages, c.page, ds.f(), c.pos0, c.n, c.n_kv, c.dh));
    auto out = dp.get<float>(pool.size());
    report(name, {{"pages", compare(out.data(), ref.data(), ref.size(), 0, 0)}}, 0);
  }
}

// ---- f16 KV: kv_write_typed stores f16, attention_kv reads it (vs the CPU
// twin over f32 pages holding the same f16-rounded values)

void test_kv_f16() {
  struct C { std::vector<std::pair<int64_t, int64_t>> seqs; int64_t Hq, Hkv, Dh, page; };
  const C cases[] = {{{{1, 100}, {1, 17}, {1, 1}}, 8, 2, 128, 16}, {{{20, 40}, {33, 33}}, 12, 4, 64, 16},
                     {{{1, 300}}, 16, 8, 80, 64}};
  for (const C& c : cases) {
    std::string sq;
    for (auto& s : c.seqs) sq += (sq.empty() ? "" : ",") + std::to_string(s.first) + "/" + std::to_string(s.second);
    const std::string name = "attention f16-kv Hq" + std::to_string(c.Hq) + "/" + std::to_string(c.Hkv) + " Dh" +
                             std::to_string(c.Dh) + " page=" + std::to_string(c.page) + " q/ctx={" + sq + "}";
    if (!selected(name)) continue;
    const int n_seqs = (int)c.seqs.size();
    const int64_t page_elems = c.Hkv * c.page * c.Dh;
    std::vector<int32_t> cu(n_seqs + 1, 0);
    int64_t total_pages = 0;
    for (int s = 0; s < n_seqs; s++) {
      cu[s + 1] = cu[s] + (int32_t)c.seqs[s].first;
      total_pages += (c.seqs[s].second + c.page - 1) / c.page;
    }
    const int64_t T = cu[n_seqs];
    // Keys/values for every position, written through kv_write_typed (f16) on
    // the device and rounded through f16 into f32 pages for the twin.
    std::vector<float> kpool(total_pages * page_elems, 0.0f), vpool(total_pages * page_elems, 0.0f);
    Dev dk(total_pages * page_elems * 2), dv(total_pages * page_elems * 2);
    hlc_memset(dk.p, 0, dk.bytes);  // slots past the last position stay 0, as in the twin's pools
    hlc_memset(dv.p, 0, dv.bytes);
    auto q = rnd(T * c.Hq * c.Dh, 31, -1, 1);
    std::vector<hl::KvView> kv_h(n_seqs), kv_d(n_seqs);
    std::vector<std::vector<float*>> kph(n_seqs), vph(n_seqs), kpd(n_seqs), vpd(n_seqs);
    int64_t page0 = 0;
    int st = 0;
    for (int s = 0; s < n_seqs && st == 0; s++) {
      const int64_t ctx = c.seqs[s].second, np = (ctx + c.page - 1) / c.page;
      for (int64_t p = 0; p < np; p++) {
        kph[s].push_back(kpool.data() + (page0 + p) * page_elems);
        vph[s].push_back(vpool.data() + (page0 + p) * page_elems);
        kpd[s].push_back(reinterpret_cast<float*>(dk.u8() + (page0 + p) * page_elems * 2));
        vpd[s].push_back(reinterpret_cast<float*>(dv.u8() + (page0 + p) * page_elems * 2));
      }
      auto ks = rnd(ctx * c.Hkv * c.Dh, 40 + s, -2, 2), vs = rnd(ctx * c.Hkv * c.Dh, 50 + s);
      for (int64_t t = 0; t < ctx; t++)
        for (int64_t h = 0; h < c.Hkv; h++)
          for (int64_t d = 0; d < c.Dh; d++) {
            const int64_t i = (t * c.Hkv + h) * c.Dh + d, at = (h * c.page + t % c.page) * c.Dh + d;
            kph[s][t / c.page][at] = h2f(hl::f32_to_f16(ks[i]));
            vph[s][t / c.page][at] = h2f(hl::f32_to_f16(vs[i]));
          }
      Dev dks(ks), dvs(vs);
      // Two writes (all but the last token, then the last) as prefill + decode do.
      st = hlc_kv_write_typed(kpd[s].data(), np, c.page, dks.f(), 0, ctx - 1, c.Hkv, c.Dh, 1);
      if (st == 0) st = hlc_kv_write_typed(vpd[s].data(), np, c.page, dvs.f(), 0, ctx - 1, c.Hkv, c.Dh, 1);
      if (st == 0)
        st = hlc_kv_write_typed(kpd[s].data(), np, c.page, dks.f() + (ctx - 1) * c.Hkv * c.Dh, ctx - 1, 1, c.Hkv, c.Dh, 1);
      if (st == 0)
        st = hlc_kv_write_typed(vpd[s].data(), np, c.page, dvs.f() + (ctx - 1) * c.Hkv * c.Dh, ctx - 1, 1, c.Hkv, c.Dh, 1);
      if (st == 0) st = hlc_synchronize();  // dks/dvs die at the end of this iteration
      kv_h[s] = hl::KvView{kph[s].data(), vph[s].data(), c.page, c.page * c.Dh, c.Dh, ctx};
      kv_d[s] = hl::KvView{kpd[s].data(), vpd[s].data(), c.page, c.page * c.Dh, c.Dh, ctx};
      page0 += np;
    }
    if (st != 0) {
      report(name, {}, 0, hlc_last_error());
      continue;
    }
    // The f16 pages as written, widened, must equal the rounded f32 pools exactly.
    auto kraw = dk.get<uint16_t>(total_pages * page_elems);
    std::vector<float> kback(kraw.size());
    for (size_t i = 0; i < kraw.size(); i++) kback[i] = h2f(kraw[i]);
    const hl::AttentionDims ad{c.Hq, c.Hkv, c.Dh, 1.0f / std::sqrt((float)c.Dh)};
    std::vector<float> ref(T * c.Hq * c.Dh);
    hl::cpu::attention(*g_pool, ref.data(), q.data(), ad, cu.data(), n_seqs, kv_h.data());
    Dev dq(q), dout(ref.size() * 4);
    CALL(hlc_attention_kv(dout.f(), dq.f(), &ad, cu.data(), n_seqs, kv_d.data(), 1));
    auto out = dout.get<float>(ref.size());
    report(name, {{"k pages", compare(kback.data(), kpool.data(), kpool.size(), 0, 0)},
                  {"out", compare(out.data(), ref.data(), ref.size(), 1e-4, 1e-5)}}, 1e-8);
  }
}

// ---- chain: decode steps op by op as native/model issues them, no syncs

// graph: every step's device ops run as a CUDA graph step (hlc_graph_begin /
// end; the first step captures, the others replay with new KV positions,
// context lengths and pages; a refused step runs again eagerly).
void test_chain(bool graph = false) {
  struct C { int n_seqs, steps; int64_t ctx0; DType wt; };
  const C cases[] = {{3, 4, 14, DType::F16}, {1, 3, 31, DType::BF16}};
  for (const C& c : cases) {
    const std::string name = std::string(graph ? "graph" : "chain") + " decode seqs=" + std::to_string(c.n_seqs) +
                             " steps=" + std::to_string(c.steps) + " ctx0=" + std::to_string(c.ctx0) + " " +
                             hl::dtype_name(c.wt);
    if (!selected(name)) continue;
    // Mamba: D=256, H=8, P=32, N=64, G=1, K=4. Attention: Hq=4, Hkv=2, Dh=64, page 16.
    const int64_t D = 256, H = 8, P = 32, N = 64, G = 1, K = 4, DI = H * P, GN = G * N, CC = DI + 2 * GN,
                  ZIN = DI + CC + H, Hq = 4, Hkv = 2, Dh = 64, PAGE = 16;
    const int S = c.n_seqs;
    const float eps = 1e-5f, res = 0.25f;
    const int64_t rb = D / block_of(c.wt) * bytes_of_block(c.wt);
    auto w_in = make_weights(c.wt, ZIN, D, 901), w_out = make_weights(c.wt, D, DI, 902),
         w_q = make_weights(c.wt, Hq * Dh, D, 903), w_k = make_weights(c.wt, Hkv * Dh, D, 904),
         w_v = make_weights(c.wt, Hkv * Dh, D, 905), w_o = make_weights(c.wt, D, Hq * Dh, 906);
    const int64_t rb_di = DI / block_of(c.wt) * bytes_of_block(c.wt), rb_o = Hq * Dh / block_of(c.wt) * bytes_of_block(c.wt);
    auto norm_w = rnd(D, 907, 0.5f, 1.5f), gnorm_w = rnd(DI, 908, 0.5f, 1.5f), conv_w = rnd(CC * K, 909),
         conv_b = rnd(CC, 910), A = rnd(H, 911, -1, 1), Dp = rnd(H, 912), dtb = rnd(H, 913, -1, 0);
    for (auto& a : A) a = -std::exp(a);
    hl::WeightView hv_in{w_in.data(), c.wt, ZIN, D, rb}, hv_out{w_out.data(), c.wt, D, DI, rb_di},
        hv_q{w_q.data(), c.wt, Hq * Dh, D, rb}, hv_k{w_k.data(), c.wt, Hkv * Dh, D, rb},
        hv_v{w_v.data(), c.wt, Hkv * Dh, D, rb}, hv_o{w_o.data(), c.wt, D, Hq * Dh, rb_o};
    Dev d_in(w_in.data(), w_in.size()), d_out(w_out.data(), w_out.size()), d_q(w_q.data(), w_q.size()),
        d_k(w_k.data(), w_k.size()), d_v(w_v.data(), w_v.size()), d_o(w_o.data(), w_o.size());
    hl::WeightView dv_in = hv_in, dv_out = hv_out, dv_q = hv_q, dv_k = hv_k, dv_v = hv_v, dv_o = hv_o;
    dv_in.data = d_in.u8(); dv_out.data = d_out.u8(); dv_q.data = d_q.u8(); dv_k.data = d_k.u8();
    dv_v.data = d_v.u8(); dv_o.data = d_o.u8();
    Dev dnw(norm_w), dgw(gnorm_w), dcw(conv_w), dcb(conv_b), dA(A), dDp(Dp), ddtb(dtb);
    // Per-sequence states (host twin and device), KV pages (host and device).
    const int64_t conv_sz = (K - 1) * CC, ssm_sz = H * P * N, page_floats = Hkv * PAGE * Dh;
    const int64_t max_ctx = c.ctx0 + c.steps, n_pages = (max_ctx + PAGE - 1) / PAGE;
    std::vector<std::vector<float>> conv_h(S), ssm_h(S), kp_h(S), vp_h(S);
    std::vector<std::unique_ptr<Dev>> conv_d, ssm_d, kp_d, vp_d;
    std::vector<float*> conv_ph(S), conv_pd(S), ssm_ph(S), ssm_pd(S);
    std::vector<std::vector<float*>> kph(S), vph(S), kpd(S), vpd(S);
    for (int s = 0; s < S; s++) {
      conv_h[s] = rnd(conv_sz, 920 + s);
      ssm_h[s] = rnd(ssm_sz, 930 + s, -0.3f, 0.3f);
      kp_h[s] = rnd(n_pages * page_floats, 940 + s, -1, 1);
      vp_h[s] = rnd(n_pages * page_floats, 950 + s);
      conv_d.emplace_back(new Dev(conv_h[s]));
      ssm_d.emplace_back(new Dev(ssm_h[s]));
      kp_d.emplace_back(new Dev(kp_h[s]));
      vp_d.emplace_back(new Dev(vp_h[s]));
      conv_ph[s] = conv_h[s].data();
      conv_pd[s] = conv_d[s]->f();
      ssm_ph[s] = ssm_h[s].data();
      ssm_pd[s] = ssm_d[s]->f();
      for (int64_t p = 0; p < n_pages; p++) {
        kph[s].push_back(kp_h[s].data() + p * page_floats);
        vph[s].push_back(vp_h[s].data() + p * page_floats);
        kpd[s].push_back(kp_d[s]->f() + p * page_floats);
        vpd[s].push_back(vp_d[s]->f() + p * page_floats);
      }
    }
    // Activations: host twin buffers and device ones.
    struct Buf {
      std::vector<float> h;
      std::unique_ptr<Dev> d;
      Buf(int64_t n) : h(n), d(new Dev(n * 4)) {}
      float* hp() { return h.data(); }
      float* dp() { return d->f(); }
    };
    auto hid = rnd(S * D, 960);
    Buf h(S * D), u(S * D), proj(S * ZIN), z(S * DI), xbc(S * CC), xc(S * CC), x(S * DI), B(S * GN), Cm(S * GN),
        dt(S * H), y(S * DI), out(S * D), q(S * Hq * Dh), k(S * Hkv * Dh), v(S * Hkv * Dh), o(S * Hq * Dh);
    h.h = hid;
    h.d->put(hid.data(), hid.size() * 4);
    std::vector<int32_t> cu(S + 1);
    for (int s = 0; s <= S; s++) cu[s] = s;
    const hl::SsmDims sd{H, P, N, G};
    const hl::AttentionDims ad{Hq, Hkv, Dh, 1.0f / std::sqrt((float)Dh)};
    int st = 0;
    auto dev_ok = [&](int r) { if (st == 0) st = r; };
    uint64_t launches0 = 0, launches1 = 0, replays0 = 0, replays1 = 0, refused0 = 0, refused1 = 0;
    hlc_counters(&launches0, nullptr);
    hlc_graph_counters(nullptr, &replays0, &refused0);
    const int64_t graph_key = 1000 + c.n_seqs * 10 + (int64_t)c.wt;
    for (int step = 0; step < c.steps && st == 0; step++) {
      const int64_t past = c.ctx0 + step;
      // Mamba layer (twin, then device; the device never syncs).
      hl::cpu::rmsnorm(*g_pool, u.hp(), h.hp(), norm_w.data(), S, D, eps);
      hl::cpu::matmul(*g_pool, proj.hp(), u.hp(), S, hv_in);
      auto cols = [&](std::vector<float>& dst, int64_t stride, int64_t col, int64_t width, const std::vector<float>& src) {
        for (int r = 0; r < S; r++)
          for (int64_t i = 0; i < width; i++) dst[r * width + i] = src[r * stride + col + i];
      };
      cols(z.h, ZIN, 0, DI, proj.h);
      cols(xbc.h, ZIN, DI, CC, proj.h);
      cols(dt.h, ZIN, DI + CC, H, proj.h);
      hl::cpu::conv1d_causal_step(*g_pool, xc.hp(), xbc.hp(), conv_w.data(), conv_b.data(), CC, (int)K, S, conv_ph.data());
      cols(x.h, CC, 0, DI, xc.h);
      cols(B.h, CC, DI, GN, xc.h);
      cols(Cm.h, CC, DI + GN, GN, xc.h);
      hl::cpu::ssm_step(*g_pool, y.hp(), x.hp(), dt.hp(), A.data(), B.hp(), Cm.hp(), Dp.data(), dtb.data(), sd, S,
                        ssm_ph.data());
      hl::cpu::gated_rmsnorm(*g_pool, y.hp(), y.hp(), z.hp(), gnorm_w.data(), S, DI, G, eps);
      hl::cpu::matmul(*g_pool, out.hp(), y.hp(), S, hv_out);
      for (int64_t i = 0; i < S * D; i++) h.h[i] += res * out.h[i];

      // Attention layer.
      hl::cpu::rmsnorm(*g_pool, u.hp(), h.hp(), norm_w.data(), S, D, eps);
      hl::cpu::matmul(*g_pool, q.hp(), u.hp(), S, hv_q);
      hl::cpu::matmul(*g_pool, k.hp(), u.hp(), S, hv_k);
      hl::cpu::matmul(*g_pool, v.hp(), u.hp(), S, hv_v);
      std::vector<hl::KvView> views_h(S), views_d(S);
      for (int s = 0; s < S; s++) {
        for (int64_t hh = 0; hh < Hkv; hh++)
          for (int64_t i = 0; i < Dh; i++) {
            kph[s][past / PAGE][(hh * PAGE + past % PAGE) * Dh + i] = k.h[(s * Hkv + hh) * Dh + i];
            vph[s][past / PAGE][(hh * PAGE + past % PAGE) * Dh + i] = v.h[(s * Hkv + hh) * Dh + i];
          }
        views_h[s] = hl::KvView{kph[s].data(), vph[s].data(), PAGE, PAGE * Dh, Dh, past + 1};
        views_d[s] = hl::KvView{kpd[s].data(), vpd[s].data(), PAGE, PAGE * Dh, Dh, past + 1};
      }
      hl::cpu::attention(*g_pool, o.hp(), q.hp(), ad, cu.data(), S, views_h.data());
      hl::cpu::matmul(*g_pool, out.hp(), o.hp(), S, hv_o);
      for (int64_t i = 0; i < S * D; i++) h.h[i] += res * out.h[i];

      // The device's step (the twin's above): a Mamba layer, then an attention layer.
      auto device_step = [&] {
        dev_ok(hlc_rmsnorm(u.dp(), h.dp(), dnw.f(), S, D, eps));
        dev_ok(hlc_matmul(proj.dp(), u.dp(), S, &dv_in));
        dev_ok(hlc_copy_columns(z.dp(), proj.dp(), S, ZIN, 0, DI));
        dev_ok(hlc_copy_columns(xbc.dp(), proj.dp(), S, ZIN, DI, CC));
        dev_ok(hlc_copy_columns(dt.dp(), proj.dp(), S, ZIN, DI + CC, H));
        dev_ok(hlc_conv1d_causal_step(xc.dp(), xbc.dp(), dcw.f(), dcb.f(), CC, (int)K, S, conv_pd.data()));
        dev_ok(hlc_copy_columns(x.dp(), xc.dp(), S, CC, 0, DI));
        dev_ok(hlc_copy_columns(B.dp(), xc.dp(), S, CC, DI, GN));
        dev_ok(hlc_copy_columns(Cm.dp(), xc.dp(), S, CC, DI + GN, GN));
        dev_ok(hlc_ssm_step(y.dp(), x.dp(), dt.dp(), dA.f(), B.dp(), Cm.dp(), dDp.f(), ddtb.f(), &sd, S, ssm_pd.data()));
        dev_ok(hlc_gated_rmsnorm(y.dp(), y.dp(), z.dp(), dgw.f(), S, DI, G, eps));
        dev_ok(hlc_matmul(out.dp(), y.dp(), S, &dv_out));
        dev_ok(hlc_add_scaled(h.dp(), out.dp(), res, S * D));

        dev_ok(hlc_rmsnorm(u.dp(), h.dp(), dnw.f(), S, D, eps));
        dev_ok(hlc_matmul(q.dp(), u.dp(), S, &dv_q));
        dev_ok(hlc_matmul(k.dp(), u.dp(), S, &dv_k));
        dev_ok(hlc_matmul(v.dp(), u.dp(), S, &dv_v));
        for (int s = 0; s < S && st == 0; s++) {
          dev_ok(hlc_kv_write(kpd[s].data(), past / PAGE + 1, PAGE, k.dp() + s * Hkv * Dh, past, 1, Hkv, Dh));
          dev_ok(hlc_kv_write(vpd[s].data(), past / PAGE + 1, PAGE, v.dp() + s * Hkv * Dh, past, 1, Hkv, Dh));
        }
        dev_ok(hlc_attention(o.dp(), q.dp(), &ad, cu.data(), S, views_d.data()));
        dev_ok(hlc_matmul(out.dp(), o.dp(), S, &dv_o));
        dev_ok(hlc_add_scaled(h.dp(), out.dp(), res, S * D));
      };
      if (!graph) {
        device_step();
        continue;
      }
      int mode = 0, ran = 0;
      dev_ok(hlc_graph_begin(graph_key, &mode));
      if (st != 0) break;
      device_step();
      if (st != 0) {
        hlc_graph_abort();
        break;
      }
      dev_ok(hlc_graph_end(&ran));
      if (st == 0 && ran == 0) device_step();  // refused: nothing ran
    }
    if (st == 0) st = hlc_synchronize();  // the one sync: kernel faults surface here
    if (st != 0) {
      report(name, {}, 0, hlc_last_error());
      continue;
    }
    // Launches per decode step: one kernel per op (13 Mamba ops; 7 + 2 * seqs
    // attention ops), plus the split-KV combine of attention. A launcher that
    // starts launching more kernels per decode op fails here.
    hlc_counters(&launches1, nullptr);
    hlc_graph_counters(nullptr, &replays1, &refused1);
    if (graph) hlc_graph_drop(graph_key);
    // Graph steps: one launch each; every step after the capture replays.
    const uint64_t per_step = (launches1 - launches0) / c.steps, bound = graph ? 1 : 13 + 7 + 2 * S + 1;
    const bool launches_ok = per_step <= bound && launches1 > launches0 &&
                             (!graph || (replays1 - replays0 == (uint64_t)c.steps - 1 && refused1 == refused0));
    std::printf("%s %s launches per step %llu (bound %llu)", launches_ok ? "PASS" : "FAIL", name.c_str(),
                (unsigned long long)per_step, (unsigned long long)bound);
    if (graph)
      std::printf(", %llu replays, %llu refused%s", (unsigned long long)(replays1 - replays0),
                  (unsigned long long)(refused1 - refused0), refused1 > refused0 ? (std::string(": ") + hlc_last_error()).c_str() : "");
    std::printf("%s\n", g_suffix.c_str());
    (launches_ok ? g_pass : g_fail)++;
    auto hd = h.d->get<float>(S * D);
    std::vector<std::pair<std::string, Cmp>> parts{{"h", compare(hd.data(), h.hp(), S * D, 2e-3, 2e-4)}};
    for (int s = 0; s < S; s++) {
      auto cs = conv_d[s]->get<float>(conv_sz);
      auto ss = ssm_d[s]->get<float>(ssm_sz);
      auto kk = kp_d[s]->get<float>(n_pages * page_floats);
      parts.push_back({"conv" + std::to_string(s), compare(cs.data(), conv_h[s].data(), conv_sz, 2e-3, 2e-4)});
      parts.push_back({"ssm" + std::to_string(s), compare(ss.data(), ssm_h[s].data(), ssm_sz, 2e-3, 2e-4)});
      parts.push_back({"k" + std::to_string(s), compare(kk.data(), kp_h[s].data(), n_pages * page_floats, 2e-3, 2e-4)});
    }
    report(name, parts, 1e-5);
  }
}

// ---- strided inputs: the *_strided ops read column views of wider buffers
// (as the executor passes the in_proj / conv outputs); references: the CPU
// twins on the compacted columns

// Rows of `width` floats at column `col` of a [rows, stride] buffer filled with
// noise: the buffer (to upload) and the compacted rows (for the twin).
struct Wide {
  std::vector<float> buf, rows;
};
Wide wide(int64_t rows, int64_t stride, int64_t col, int64_t width, uint32_t seed, float lo = -1.0f, float hi = 1.0f) {
  Wide w{rnd(rows * stride, seed + 1000, -9.0f, 9.0f), rnd(rows * width, seed, lo, hi)};
  for (int64_t r = 0; r < rows; r++)
    std::memcpy(w.buf.data() + r * stride + col, w.rows.data() + r * width, sizeof(float) * width);
  return w;
}

void test_strided() {
  {
    const std::string name = "strided gated_rmsnorm T=5 dim=256 G=2 z_stride=700";
    if (selected(name)) {
      const int64_t T = 5, dim = 256, G = 2, ZS = 700;
      auto x = rnd(T * dim, 1);
      auto w = rnd(dim, 3, 0.5f, 1.5f);
      Wide z = wide(T, ZS, 30, dim, 2, -3, 3);
      std::vector<float> ref(T * dim);
      hl::cpu::gated_rmsnorm(*g_pool, ref.data(), x.data(), z.rows.data(), w.data(), T, dim, G, 1e-6f);
      Dev dx(x), dz(z.buf), dw(w), dy(T * dim * 4);
      CALL(hlc_gated_rmsnorm_strided(dy.f(), dx.f(), dz.f() + 30, dw.f(), T, dim, G, 1e-6f, ZS));
      auto out = dy.get<float>(T * dim);
      report(name, {{"y", compare(out.data(), ref.data(), T * dim, 1e-5, 1e-6)}}, 1e-7);
    }
  }
  for (int step = 0; step < 2; step++) {
    const std::string name = step ? "strided conv1d_step C=300 K=4 seqs=3 in_stride=777"
                                  : "strided conv1d_prefill C=300 K=4 lens={7,40,1} in_stride=1000";
    if (!selected(name)) continue;
    const int64_t C = 300, K = 4, stride = step ? 777 : 1000, col = step ? 5 : 64;
    const std::vector<int32_t> cu = step ? std::vector<int32_t>{0, 1, 2, 3} : std::vector<int32_t>{0, 7, 47, 48};
    const int S = 3;
    const int64_t T = cu[S];
    auto w = rnd(C * K, 6), bias = rnd(C, 7);
    Wide in = wide(T, stride, col, C, 8);
    SeqStates ss(S, (K - 1) * C, 100);
    auto& st = ss.st;
    auto& dst = ss.dst;
    auto& pr = ss.pr;
    auto& pd = ss.pd;
    std::vector<float> ref(T * C);
    if (step) hl::cpu::conv1d_causal_step(*g_pool, ref.data(), in.rows.data(), w.data(), bias.data(), C, K, S, pr.data());
    else hl::cpu::conv1d_causal_prefill(*g_pool, ref.data(), in.rows.data(), w.data(), bias.data(), C, K, cu.data(), S, pr.data());
    Dev dw(w), db(bias), din(in.buf), dout(T * C * 4);
    if (step) CALL(hlc_conv1d_causal_step_strided(dout.f(), din.f() + col, dw.f(), db.f(), C, K, S, pd.data(), stride));
    else CALL(hlc_conv1d_causal_prefill_strided(dout.f(), din.f() + col, dw.f(), db.f(), C, K, cu.data(), S, pd.data(), stride));
    auto out = dout.get<float>(T * C);
    std::vector<std::pair<std::string, Cmp>> parts{{"out", compare(out.data(), ref.data(), T * C, 1e-5, 1e-6)}};
    for (int s = 0; s < S; s++) {
      auto sd = dst[s]->get<float>((K - 1) * C);
      parts.push_back({"state" + std::to_string(s), compare(sd.data(), st[s].data(), (K - 1) * C, 0, 0)});
    }
    report(name, parts, 1e-7);
  }
  // The scan reads x, B, C from one conv-output-like buffer [T, HP + 2 GN + 3]
  // and dt from an in_proj-like buffer [T, 2 HP + H + 5].
  struct Sc { bool step; std::vector<int32_t> lens; int chunk; };
  const Sc scans[] = {{false, {70, 33}, 0}, {false, {70, 33}, 64}, {true, {1, 1, 1}, 0}};
  for (const Sc& c : scans) {
    std::string lens;
    for (auto l : c.lens) lens += (lens.empty() ? "" : ",") + std::to_string(l);
    const std::string name = std::string("strided ") + (c.step ? "ssm_step" : "ssm_scan") + " H=8 P=16 N=64 G=2 lens={" +
                             lens + "} chunk=" + std::to_string(c.chunk);
    if (!selected(name)) continue;
    const int64_t H = 8, P = 16, N = 64, G = 2, HP = H * P, GN = G * N, XS = HP + 2 * GN + 3, DS = 2 * HP + H + 5;
    const hl::SsmDims d{H, P, N, G};
    const int S = (int)c.lens.size();
    std::vector<int32_t> cu(S + 1, 0);
    for (int s = 0; s < S; s++) cu[s + 1] = cu[s] + c.lens[s];
    const int64_t T = cu[S], SZ = H * P * N;
    SsmInputs in = ssm_inputs(d, T, 11);
    // One wide buffer holding x | B | C per row, one holding dt at column 2 HP.
    std::vector<float> xbc = rnd(T * XS, 12, -9, 9), dtb = rnd(T * DS, 13, -9, 9);
    for (int64_t t = 0; t < T; t++) {
      std::memcpy(xbc.data() + t * XS, in.x.data() + t * HP, sizeof(float) * HP);
      std::memcpy(xbc.data() + t * XS + HP, in.B.data() + t * GN, sizeof(float) * GN);
      std::memcpy(xbc.data() + t * XS + HP + GN, in.C.data() + t * GN, sizeof(float) * GN);
      std::memcpy(dtb.data() + t * DS + 2 * HP, in.dt.data() + t * H, sizeof(float) * H);
    }
    SeqStates ss(S, SZ, 400, -0.5f, 0.5f);
    auto& st = ss.st;
    auto& dst = ss.dst;
    auto& pr = ss.pr;
    auto& pd = ss.pd;
    std::vector<float> ref(T * HP);
    if (c.step)
      hl::cpu::ssm_step(*g_pool, ref.data(), in.x.data(), in.dt.data(), in.A.data(), in.B.data(), in.C.data(),
                        in.D.data(), in.dt_bias.data(), d, S, pr.data());
    else
      hl::cpu::ssm_scan(*g_pool, ref.data(), in.x.data(), in.dt.data(), in.A.data(), in.B.data(), in.C.data(),
                        in.D.data(), in.dt_bias.data(), d, cu.data(), S, pr.data(), 0);
    Dev dxbc(xbc), ddt(dtb), dA(in.A), dD(in.D), dbias(in.dt_bias), dy(T * HP * 4);
    const float* px = dxbc.f();
    const float* pB = dxbc.f() + HP;
    const float* pC = dxbc.f() + HP + GN;
    const float* pdt = ddt.f() + 2 * HP;
    if (c.step)
      CALL(hlc_ssm_step_strided(dy.f(), px, pdt, dA.f(), pB, pC, dD.f(), dbias.f(), &d, S, pd.data(), XS, DS, XS));
    else
      CALL(hlc_ssm_scan_strided(dy.f(), px, pdt, dA.f(), pB, pC, dD.f(), dbias.f(), &d, cu.data(), S, pd.data(),
                                c.chunk, XS, DS, XS));
    auto y = dy.get<float>(T * HP);
    std::vector<std::pair<std::string, Cmp>> parts{{"y", compare(y.data(), ref.data(), T * HP, 1e-3, 1e-4)}};
    for (int s = 0; s < S; s++) {
      auto sd = dst[s]->get<float>(SZ);
      parts.push_back({"state" + std::to_string(s), compare(sd.data(), st[s].data(), SZ, 1e-3, 1e-4)});
    }
    report(name, parts, 1e-6);
  }
}

// ---- the tensor-core policy table (host code; docs/cuda/README.md "Tensor-core policy")

// ---- graph_plan.h (host-only): the sizing rules that keep a captured decode
// step valid across steps: page-table room and the fixed split-KV plan.
void test_graph_plan() {
  if (!selected("graph_plan")) return;
  std::string why;
  for (int64_t n = 0; n <= 5000 && why.empty(); n++) {
    const int64_t c = hlc::graph_table_capacity(n);
    if (c < n || c < 16 || (c & (c - 1)) != 0 || (c > 16 && c / 2 >= n))
      why = "table capacity " + std::to_string(c) + " for " + std::to_string(n) + " entries";
  }
  for (int64_t items = 1; items <= 300 && why.empty(); items++)
    for (int64_t want : {1, 64, 264, 1000}) {
      const int64_t p = hlc::graph_split_parts(items, want);
      if (p < 1 || p > hlc::kMaxGraphParts || (p < hlc::kMaxGraphParts && p * items < want) ||
          (p > 1 && (p - 1) * items >= want))
        why = "split parts " + std::to_string(p) + " for " + std::to_string(items) + " items, " + std::to_string(want) +
              " blocks wanted";
    }
  // Every context length: the parts cover [0, kend) in order, once, on tile
  // boundaries; their number never depends on kend (the grid a graph froze).
  for (int64_t parts = 1; parts <= hlc::kMaxGraphParts && why.empty(); parts++)
    for (int64_t kend = 1; kend <= 700 && why.empty(); kend++) {
      int64_t next = 0;
      for (int64_t p = 0; p < parts; p++) {
        int64_t k0 = -1, k1 = -1;
        hlc::graph_part_range(kend, parts, p, 32, &k0, &k1);
        if (k0 != next || k1 < k0 || k1 > kend || (k1 < kend && k1 % 32 != 0)) {
          why = "part " + std::to_string(p) + " of " + std::to_string(parts) + " over " + std::to_string(kend) +
                " keys is [" + std::to_string(k0) + ", " + std::to_string(k1) + ")";
          break;
        }
        next = k1;
      }
      if (why.empty() && next != kend) why = "parts end at " + std::to_string(next) + " of " + std::to_string(kend);
    }
  std::printf("%s graph_plan: page-table room, fixed split-KV parts and their key ranges%s%s\n",
              why.empty() ? "PASS" : "FAIL", why.empty() ? "" : ": ", why.c_str());
  (why.empty() ? g_pass : g_fail)++;
}

void test_policy() {
  const std::string name = "policy: 3xTF32 by default on sm_80/90/100 only; int8 / f16 GEMM tiles from sm_75, bf16 from sm_80";
  if (!selected(name)) return;
  struct P { int major, minor; bool on; };
  const P table[] = {{7, 5, false}, {8, 0, true},  {8, 6, false}, {8, 7, false}, {8, 9, false},
                     {9, 0, true},  {10, 0, true}, {12, 0, false}};
  std::string bad;
  for (const P& p : table)
    if (hlc::tensor_cores_by_default(p.major, p.minor) != p.on)
      bad += " sm_" + std::to_string(p.major) + std::to_string(p.minor);
  // The prefill GEMM path per arch and format (docs/cuda/README.md "Tensor-core policy"):
  // S = SIMT, T = 3xTF32, H = two f16/bf16 products, I = int8; columns F32 F16 BF16 Q8_0 Q4_0 Q4_K Q5_K Q6_K.
  using G = hlc::GemmPath;
  const int dts[8] = {0, 1, 30, 8, 2, 12, 13, 14};
  struct R { int major, minor; const char* def; const char* forced; };
  const R rows[] = {{6, 1, "SSSSSSSS", "SSSSSSSS"}, {7, 5, "SHSIIIII", "SHSIIIII"}, {8, 0, "THHIIIII", "THHIIIII"},
                    {8, 6, "SHHIIIII", "THHIIIII"}, {8, 7, "SHHIIIII", "THHIIIII"}, {8, 9, "SHHIIIII", "THHIIIII"},
                    {9, 0, "THHIIIII", "THHIIIII"}, {10, 0, "THHIIIII", "THHIIIII"}, {12, 0, "SHHIIIII", "THHIIIII"}};
  auto code = [](G g) { return g == G::kSimt ? 'S' : g == G::kTf32x3 ? 'T' : g == G::kHalf2 ? 'H' : 'I'; };
  for (const R& r : rows)
    for (int i = 0; i < 8; i++) {
      const std::string at = " sm_" + std::to_string(r.major) + std::to_string(r.minor) + "/" + std::to_string(dts[i]);
      if (code(hlc::gemm_path(r.major, r.minor, dts[i], -1)) != r.def[i]) bad += at + "(auto)";
      if (code(hlc::gemm_path(r.major, r.minor, dts[i], 1)) != r.forced[i]) bad += at + "(forced on)";
      if (hlc::gemm_path(r.major, r.minor, dts[i], 0) != G::kSimt) bad += at + "(forced off)";
      if (hlc::gemm_path(r.major, r.minor, dts[i], -1, false) != G::kSimt) bad += at + "(no tensor units)";
    }
  // sm_75 parts without tensor cores, by device name
  struct N { int major, minor; const char* name; bool lacks; };
  const N names[] = {{7, 5, "NVIDIA GeForce GTX 1660 SUPER", true}, {7, 5, "NVIDIA GeForce GTX 1650", true},
                     {7, 5, "NVIDIA GeForce MX450", true},           {7, 5, "Quadro T1000", true},
                     {7, 5, "NVIDIA T400 4GB", true},                {7, 5, "Tesla T4", false},
                     {7, 5, "NVIDIA GeForce RTX 2080 Ti", false},    {7, 5, "Quadro RTX 4000", false},
                     {8, 6, "NVIDIA GeForce RTX 3060", false},       {6, 1, "NVIDIA GeForce GTX 1080", false}};
  for (const N& n : names)
    if (hlc::lacks_tensor_cores(n.major, n.minor, n.name) != n.lacks) bad += std::string(" name '") + n.name + "'";
  std::printf("%s %s%s\n", bad.empty() ? "PASS" : "FAIL", name.c_str(), bad.empty() ? "" : (" wrong for" + bad).c_str());
  (bad.empty() ? g_pass : g_fail)++;
}

// The activations as the library quantizes them (act_quantize_kernel): int8
// codes q, block scales d, sums of every 32 codes s, and the rounded values r = q * d.
struct QuantActs {
  std::vector<int8_t> q;
  std::vector<float> d, r;
  std::vector<int32_t> s;
  QuantActs(const std::vector<float>& x, int64_t rows, int64_t K, int64_t ab)
      : q(rows * K), d(rows * K / ab), r(rows * K), s(rows * K / 32, 0) {
    for (int64_t t0 = 0; t0 < rows; t0++) q8_roundtrip(x.data() + t0 * K, K, r.data() + t0 * K, ab);
    for (int64_t b = 0; b < rows * K / ab; b++) {
      float amax = 0.0f;
      for (int64_t j = 0; j < ab; j++) amax = std::max(amax, std::fabs(x[b * ab + j]));
      d[b] = amax / 127.0f;
      for (int64_t j = 0; j < ab; j++) {
        const int64_t i = b * ab + j;
        q[i] = (int8_t)(d[b] != 0.0f ? std::lrint(r[i] / d[b]) : 0);
        s[i / 32] += q[i];
      }
    }
  }
};

// ---- the integer GEMV's unit arithmetic (int_units.h) run on the host:
// unpacked codes, dp4a dots, offsets from the sums and scales of every block
// type, vs the f64 reference over the spec dequantizer with the same int8
// activations (the tolerance of test_matmul)

template <int DT, int NT>
void int_units_case(int64_t rows, int64_t K) {
  const DType t = static_cast<DType>(DT);
  const std::string name = std::string("int_units ") + hl::dtype_name(t) + " NT=" + std::to_string(NT) +
                           " rows=" + std::to_string(rows) + " K=" + std::to_string(K);
  if (!selected(name)) return;
  const int64_t rb = K / block_of(t) * bytes_of_block(t);
  auto wb = make_weights(t, rows, K, 77 + NT);
  auto x = rnd(NT * K, 78 + NT, -2.0f, 2.0f);
  const QuantActs qa(x, NT, K, act_block(t));
  const std::vector<int8_t>& xq = qa.q;
  const std::vector<float>& xd = qa.d;
  const std::vector<float>& xr = qa.r;
  const std::vector<int32_t>& xs = qa.s;
  Cmp cm;
  double se = 0, ss = 0;
  for (int64_t r = 0; r < rows; r++) {
    float acc[NT] = {};
    hlc::int_row_accumulate<DT, NT>(wb.data() + r * rb, K, 0, 1, qa.q.data(), qa.d.data(), qa.s.data(), acc);
    for (int64_t tk = 0; tk < NT; tk++) {
      const auto [ref, mag] = ref_dot(t, wb.data() + r * rb, xr.data() + tk * K, K);
      const double e = std::fabs((double)acc[tk] - ref);
      se += e * e;
      ss += ref * ref;
      cm.max_abs = std::max(cm.max_abs, std::isnan(e) ? INFINITY : e);
      if (!(e <= 1e-5 * mag + 1e-30) && cm.bad < 0) {
        cm.bad = r * NT + tk;
        cm.bad_out = acc[tk];
        cm.bad_ref = (float)ref;
      }
    }
  }
  cm.nmse = ss > 0 ? se / ss : se;
  report(name, {{"y", cm}}, 1e-7);
}

void test_int_units() {
  int_units_case<hlc::kQ8_0, 1>(17, 256);
  int_units_case<hlc::kQ4_0, 1>(17, 256);
  int_units_case<hlc::kQ4_0, 3>(9, 1024);
  int_units_case<hlc::kQ4_K, 1>(17, 512);
  int_units_case<hlc::kQ4_K, 4>(9, 2048);
  int_units_case<hlc::kQ5_K, 1>(17, 512);
  int_units_case<hlc::kQ5_K, 2>(9, 1536);
  int_units_case<hlc::kQ6_K, 1>(17, 512);
  int_units_case<hlc::kQ6_K, 8>(5, 1024);
}

// ---- the tensor-core GEMM tiles run on the host: fragment words (mma_frag.h)
// against the PTX element layouts (test/mma_emu.h), then whole GEMMs through
// the kernels' own tile code (gemm_mma_tile.h: panel fill with the weight
// unpacking, fragment reads, integer fold, output coordinates) with an
// emulated mma, vs the f64 reference (the tolerance of test_matmul)

// Fragment registers of a 16 x (4 * KW) A and a (4 * KW) x 8 B given as
// 32-bit words (A[row][word], B[col][word]), placed by mma_frag.h.
template <int KW>
void to_frags(const uint32_t (&A)[16][KW], const uint32_t (&B)[8][KW], uint32_t (*a)[4], uint32_t (*b)[2]) {
  for (int lane = 0; lane < 32; lane++) {
    for (int r = 0; r < 4; r++) a[lane][r] = A[hlc::frag::a_row(lane, r)][hlc::frag::a_word(lane, r)];
    for (int r = 0; r < 2; r++) b[lane][r] = B[hlc::frag::b_col(lane, r)][hlc::frag::b_word(lane, r)];
  }
}

// d (per lane, mma_frag.h's C layout) == ref [16][8]?
template <typename D>
bool c_equal(const D (*d)[4], const double (&ref)[16][8], double tol) {
  for (int lane = 0; lane < 32; lane++)
    for (int i = 0; i < 4; i++) {
      const double r = ref[hlc::frag::c_row(lane, i)][hlc::frag::c_col(lane, i)];
      if (!(std::fabs((double)d[lane][i] - r) <= tol * (1.0 + std::fabs(r)))) return false;
    }
  return true;
}

void test_mma_layouts() {
  const std::string name = "mma_tiles layouts: mma_frag.h words vs the PTX element layouts (s8 k32 / k16, sm_75 "
                           "m8n8k16, f16 / bf16 k16, sm_75 m16n8k8)";
  if (!selected(name)) return;
  std::mt19937 g(91);
  std::string bad;
  for (int trial = 0; trial < 4; trial++) {
    // s8: A 16 x 32, B 32 x 8 (words of 4 codes along k)
    uint32_t A[16][8], B[8][8];
    for (auto& row : A) for (auto& w : row) w = g();
    for (auto& col : B) for (auto& w : col) w = g();
    auto ref_s8 = [&](int k0, int k1, double (&ref)[16][8]) {
      for (int m = 0; m < 16; m++)
        for (int n = 0; n < 8; n++) {
          ref[m][n] = 0;
          for (int k = k0; k < k1; k++) ref[m][n] += mma_emu::s8_of(A[m][k / 4], k % 4) * mma_emu::s8_of(B[n][k / 4], k % 4);
        }
    };
    uint32_t a[32][4], b[32][2];
    to_frags<8>(A, B, a, b);
    double r32[16][8], r_lo[16][8], r_hi[16][8];
    ref_s8(0, 32, r32);
    ref_s8(0, 16, r_lo);
    ref_s8(16, 32, r_hi);
    int32_t d[32][4] = {};
    mma_emu::m16n8k32_s8(a, b, d);
    if (!c_equal(d, r32, 0)) bad += " s8-k32";
    uint32_t alo[32][2], ahi[32][2], blo[32][1], bhi[32][1];
    for (int l = 0; l < 32; l++) {
      alo[l][0] = a[l][0]; alo[l][1] = a[l][1]; blo[l][0] = b[l][0];
      ahi[l][0] = a[l][2]; ahi[l][1] = a[l][3]; bhi[l][0] = b[l][1];
    }
    int32_t dl[32][4] = {}, dh[32][4] = {};
    mma_emu::m16n8k16_s8(alo, blo, dl);
    mma_emu::m16n8k16_s8(ahi, bhi, dh);
    if (!c_equal(dl, r_lo, 0) || !c_equal(dh, r_hi, 0)) bad += " s8-k16-halves";
    int32_t d75[32][4] = {};
    for (int p = 0; p < 4; p++) {  // the sm_75 form: four m8n8k16
      int dp, ar, br;
      hlc::frag::s8_k16_part(p, dp, ar, br);
      uint32_t ap[32], bp[32];
      int32_t dd[32][2];
      for (int l = 0; l < 32; l++) {
        ap[l] = a[l][ar];
        bp[l] = b[l][br];
        dd[l][0] = d75[l][2 * dp];
        dd[l][1] = d75[l][2 * dp + 1];
      }
      mma_emu::m8n8k16_s8(ap, bp, dd);
      for (int l = 0; l < 32; l++) {
        d75[l][2 * dp] = dd[l][0];
        d75[l][2 * dp + 1] = dd[l][1];
      }
    }
    if (!c_equal(d75, r32, 0)) bad += " s8-sm75";
    // f16 / bf16: A 16 x 16, B 16 x 8 (words of 2 halves along k)
    for (bool bf16 : {false, true}) {
      uint32_t H[16][8], W[8][8];
      auto h = [&]() {
        const float v = std::uniform_real_distribution<float>(-2, 2)(g);
        return (uint32_t)(bf16 ? hl::f32_to_bf16(v) : hl::f32_to_f16(v));
      };
      for (auto& row : H) for (auto& w : row) w = h() | h() << 16;
      for (auto& col : W) for (auto& w : col) w = h() | h() << 16;
      double rh[16][8];
      for (int m = 0; m < 16; m++)
        for (int n = 0; n < 8; n++) {
          rh[m][n] = 0;
          for (int k = 0; k < 16; k++)
            rh[m][n] += (double)mma_emu::half_of(H[m][k / 2], k % 2, bf16) * mma_emu::half_of(W[n][k / 2], k % 2, bf16);
        }
      uint32_t ha[32][4], hb[32][2];
      to_frags<8>(H, W, ha, hb);
      float df[32][4] = {};
      mma_emu::m16n8k16_half(ha, hb, df, bf16);
      if (!c_equal(df, rh, 1e-6)) bad += bf16 ? " bf16-k16" : " f16-k16";
      if (bf16) continue;
      float d8[32][4] = {};
      for (int p = 0; p < 2; p++) {  // the sm_75 form: two m16n8k8
        int a0, a1, br;
        hlc::frag::f16_k8_part(p, a0, a1, br);
        uint32_t ap[32][2], bp[32][1];
        for (int l = 0; l < 32; l++) {
          ap[l][0] = ha[l][a0];
          ap[l][1] = ha[l][a1];
          bp[l][0] = hb[l][br];
        }
        mma_emu::m16n8k8_f16(ap, bp, d8);
      }
      if (!c_equal(d8, rh, 1e-6)) bad += " f16-sm75";
    }
  }
  std::printf("%s %s%s\n", bad.empty() ? "PASS" : "FAIL", name.c_str(), bad.empty() ? "" : (" wrong:" + bad).c_str());
  (bad.empty() ? g_pass : g_fail)++;
}

// x rows of a tile GEMM case: T tokens, through a permutation of x_rows > T rows when idx.
struct TileRows {
  int64_t x_rows;
  std::vector<int32_t> idx;
  TileRows(int64_t T, bool use_idx) : x_rows(use_idx ? T + 5 : T) {
    if (!use_idx) return;
    std::vector<int32_t> all(x_rows);
    std::iota(all.begin(), all.end(), 0);
    std::shuffle(all.begin(), all.end(), std::mt19937(93));
    idx.assign(all.begin(), all.begin() + T);
  }
  // The T rows the GEMM multiplies, in token order.
  std::vector<float> gather(const std::vector<float>& x, int64_t T, int64_t K) const {
    if (idx.empty()) return x;
    std::vector<float> o(T * K);
    for (int64_t t = 0; t < T; t++) std::copy_n(x.begin() + idx[t] * K, K, o.begin() + t * K);
    return o;
  }
};

std::string tile_case_name(const char* kind, DType t, int64_t T, int64_t N, int64_t K, const char* extra) {
  return std::string("mma_tiles ") + kind + " " + hl::dtype_name(t) + " T=" + std::to_string(T) + " N=" +
         std::to_string(N) + " K=" + std::to_string(K) + extra;
}

template <int DT>
void mma_tile_i8_case(int64_t T, int64_t N, int64_t K, bool use_idx) {
  namespace mt = hlc::mt;
  const DType t = static_cast<DType>(DT);
  const std::string name = tile_case_name("int8", t, T, N, K, use_idx ? " x_idx" : "");
  if (!selected(name)) return;
  const int64_t rb = K / block_of(t) * bytes_of_block(t), units = K / 32;
  auto wb = make_weights(t, N, K, 81);
  const TileRows rows(T, use_idx);
  auto x = rnd(rows.x_rows * K, 82, -2.0f, 2.0f);
  const QuantActs qa(x, rows.x_rows, K, act_block(t));
  std::vector<float> y(T * N, NAN);
  auto s = std::make_unique<mt::I8Smem>();
  std::vector<mt::I8Acc> acc(mt::kThreads);
  for (int64_t m0 = 0; m0 < T; m0 += mt::kBM)
    for (int64_t n0 = 0; n0 < N; n0 += mt::kBN) {
      const mt::I8Tile tile{qa.q.data(), qa.d.data(), qa.s.data(), K, use_idx ? rows.idx.data() : nullptr,
                            m0, std::min(T, m0 + mt::kBM), wb.data(), rb, n0, N};
      for (auto& ac : acc) mt::i8_acc_zero(ac);
      for (int64_t u0 = 0; u0 < units; u0 += mt::kI8Units) {
        for (int tid = 0; tid < mt::kThreads; tid++) mt::i8_fill<DT>(*s, tile, u0, tid);
        for (int ul = 0; ul < mt::kI8Units && u0 + ul < units; ul++)
          for (int warp = 0; warp < 8; warp++) {
            uint32_t a[32][2][4], b[32][2][2];
            int32_t dlo[32][16] = {}, dhi[32][16] = {};
            for (int l = 0; l < 32; l++) mt::i8_frags(*s, warp, l, ul, a[l], b[l]);
            for (int i = 0; i < 2; i++)
              for (int j = 0; j < 2; j++) {
                int32_t d0[32][4] = {}, d1[32][4] = {};
                if (DT == hlc::kQ6_K) {
                  uint32_t alo[32][2], ahi[32][2], blo[32][1], bhi[32][1];
                  for (int l = 0; l < 32; l++) {
                    alo[l][0] = a[l][i][0]; alo[l][1] = a[l][i][1]; blo[l][0] = b[l][j][0];
                    ahi[l][0] = a[l][i][2]; ahi[l][1] = a[l][i][3]; bhi[l][0] = b[l][j][1];
                  }
                  mma_emu::m16n8k16_s8(alo, blo, d0);
                  mma_emu::m16n8k16_s8(ahi, bhi, d1);
                } else {
                  uint32_t a4[32][4], b2[32][2];
                  for (int l = 0; l < 32; l++) {
                    std::copy_n(a[l][i], 4, a4[l]);
                    std::copy_n(b[l][j], 2, b2[l]);
                  }
                  mma_emu::m16n8k32_s8(a4, b2, d0);
                }
                for (int l = 0; l < 32; l++)
                  for (int c = 0; c < 4; c++) {
                    dlo[l][(2 * i + j) * 4 + c] = d0[l][c];
                    dhi[l][(2 * i + j) * 4 + c] = d1[l][c];
                  }
              }
            for (int l = 0; l < 32; l++) mt::i8_fold<DT>(acc[warp * 32 + l], *s, warp, l, ul, u0 + ul, dlo[l], dhi[l]);
          }
      }
      for (int tid = 0; tid < mt::kThreads; tid++)
        mt::store_tile(y.data(), N, m0, std::min(T, m0 + mt::kBM), n0, N, tid >> 5, tid & 31,
                       [&](int idx) { return acc[tid].f[idx]; });
    }
  report(name, {{"y", matmul_cmp(y, t, wb, N, K, rows.gather(x, T, K), T)}}, 1e-7);
}

template <bool BF16>
void mma_tile_half_case(int64_t T, int64_t N, int64_t K, bool vec, float xmax) {
  namespace mt = hlc::mt;
  const DType t = BF16 ? DType::BF16 : DType::F16;
  const std::string extra = std::string(vec ? " vec" : " scalar") + (xmax != 2.0f ? " |x|<" + std::to_string((double)xmax) : "");
  const std::string name = tile_case_name("half", t, T, N, K, extra.c_str());
  if (!selected(name)) return;
  const int64_t rb = K * 2;
  auto wb = make_weights(t, N, K, 85);
  auto x = rnd(T * K, 86, -xmax, xmax);
  std::vector<float> y(T * N, NAN);
  auto s = std::make_unique<mt::HSmem>();
  std::vector<std::array<float, 16>> hi(mt::kThreads), lo(mt::kThreads);
  for (int64_t m0 = 0; m0 < T; m0 += mt::kBM)
    for (int64_t n0 = 0; n0 < N; n0 += mt::kBN) {
      const mt::HTile tile{x.data(), K, nullptr, m0, std::min(T, m0 + mt::kBM), wb.data(), rb, n0, N, K,
                           vec, vec && K % 8 == 0};
      for (int i = 0; i < mt::kThreads; i++) hi[i].fill(0.0f), lo[i].fill(0.0f);
      for (int64_t k0 = 0; k0 < K; k0 += 2 * mt::kHWords) {
        for (int tid = 0; tid < mt::kThreads; tid++) mt::h_fill<BF16>(*s, tile, k0, tid);
        for (int ks = 0; ks < 2; ks++)
          for (int warp = 0; warp < 8; warp++) {
            uint32_t ah[32][2][4], al[32][2][4], b[32][2][2];
            for (int l = 0; l < 32; l++) mt::h_frags(*s, warp, l, ks, ah[l], al[l], b[l]);
            for (int i = 0; i < 2; i++)
              for (int j = 0; j < 2; j++)
                for (int part = 0; part < 2; part++) {
                  auto& acc = part ? lo : hi;
                  uint32_t a4[32][4], b2[32][2];
                  float d[32][4];
                  for (int l = 0; l < 32; l++) {
                    std::copy_n(part ? al[l][i] : ah[l][i], 4, a4[l]);
                    std::copy_n(b[l][j], 2, b2[l]);
                    std::copy_n(&acc[warp * 32 + l][(2 * i + j) * 4], 4, d[l]);
                  }
                  mma_emu::m16n8k16_half(a4, b2, d, BF16);
                  for (int l = 0; l < 32; l++) std::copy_n(d[l], 4, &acc[warp * 32 + l][(2 * i + j) * 4]);
                }
          }
      }
      for (int tid = 0; tid < mt::kThreads; tid++)
        mt::store_tile(y.data(), N, m0, std::min(T, m0 + mt::kBM), n0, N, tid >> 5, tid & 31,
                       [&](int idx) { return mt::h_result<BF16>(hi[tid][idx], lo[tid][idx]); });
    }
  report(name, {{"y", matmul_cmp(y, t, wb, N, K, x, T)}}, 1e-7);
}

void test_mma_tiles() {
  test_mma_layouts();
  mma_tile_i8_case<hlc::kQ8_0>(70, 67, 160, false);
  mma_tile_i8_case<hlc::kQ4_0>(17, 65, 256, true);
  mma_tile_i8_case<hlc::kQ4_K>(70, 33, 512, false);
  mma_tile_i8_case<hlc::kQ5_K>(20, 70, 512, true);
  mma_tile_i8_case<hlc::kQ6_K>(65, 40, 768, false);
  mma_tile_half_case<false>(70, 67, 96, true, 2.0f);
  mma_tile_half_case<false>(17, 30, 45, false, 2.0f);
  mma_tile_half_case<false>(20, 20, 64, true, 5.0e5f);   // beyond f16's range without the 2^-4 scaling
  mma_tile_half_case<false>(20, 20, 64, true, 1.0e-3f);  // lo below f16's normal range without the 2^11 lift
  mma_tile_half_case<true>(70, 67, 96, true, 2.0f);
  mma_tile_half_case<true>(33, 9, 31, false, 2.0f);
}

// ---- the MoE decode GEMV's arithmetic (moe_decode.h) run on the host: both
// phases with 32 emulated lanes per warp (partials summed in the shuffle
// tree's order), the activations quantized as the library quantizes them,
// vs the f64 reference of the moe_forward cases (their tolerance).

// F32/F16/BF16 units of 8 weights on the host (the device's FloatDot reads them with load8).
struct HostFloatDot {
  static constexpr int kUnit = 8;
  DType t;
  const float* x;
  int64_t ldx;
  float operator()(const uint8_t* row, int c, int64_t r) const {
    float s = 0.0f;
    for (int i = 0; i < 8; i++) s += (float)deq(t, row, 8 * c + i) * x[r * ldx + 8 * c + i];
    return s;
  }
};

// Lane 0's result of warp_sum over the 32 lane values v.
float warp_sum_host(float* v) {
  for (int o = 16; o > 0; o >>= 1) {
    float n[32];
    for (int l = 0; l < 32; l++) n[l] = v[l] + v[l ^ o];
    std::memcpy(v, n, sizeof n);
  }
  return v[0];
}

hlc::MoeExperts experts_of(const std::vector<uint8_t>& w, int64_t rows, int64_t row_bytes) {
  return {w.data(), rows * row_bytes, row_bytes};
}

// Phase 1 (moe_gate_up_kernel) on the host: h [pairs, F].
template <class Dot>
std::vector<float> emulate_gate_up(const MoeCase& m, const Dot& dot) {
  const hlc::MoeExperts gate = experts_of(m.gate, m.Fd, m.rb_gu), up = experts_of(m.up, m.Fd, m.rb_gu);
  std::vector<float> h(m.T * m.k * m.Fd);
  for (int64_t p = 0; p < m.T * m.k; p++)
    for (int64_t f = 0; f < m.Fd; f++) {
      float g[32], u[32];
      bool live = false;
      for (int lane = 0; lane < 32; lane++)
        live = hlc::moe_gate_up_lane(dot, gate, up, m.ids.data(), (int)m.k, m.E, p, f, (int)(m.D / dot.kUnit), lane,
                                     32, g[lane], u[lane]);
      const float gs = warp_sum_host(g), us = warp_sum_host(u);
      h[p * m.Fd + f] = live ? gs / (1.0f + std::exp(-gs)) * us : 0.0f;
    }
  return h;
}

// Phase 2 (moe_down_kernel) on the host: out [T, D].
template <class Dot>
std::vector<float> emulate_down(const MoeCase& m, const Dot& dot) {
  const hlc::MoeExperts down = experts_of(m.down, m.D, m.rb_d);
  std::vector<float> out(m.T * m.D);
  for (int64_t t = 0; t < m.T; t++)
    for (int64_t d = 0; d < m.D; d++) {
      float v[32];
      for (int lane = 0; lane < 32; lane++)
        v[lane] = hlc::moe_down_lane(dot, down, m.ids.data(), m.wts.data(), (int)m.k, m.E, t, d,
                                     (int)(m.Fd / dot.kUnit), lane, 32);
      out[t * m.D + d] = warp_sum_host(v);
    }
  return out;
}

// Both phases for a block type DT: x, then h, quantized as the library does.
template <int DT>
std::vector<float> emulate_moe_decode_int(const MoeCase& m) {
  constexpr int64_t ab = hlc::IntUnit<DT>::kActBlock;
  const QuantActs qx(m.x, m.T, m.D, ab);
  const std::vector<float> h = emulate_gate_up(m, hlc::IntDot<DT>{qx.q.data(), qx.d.data(), qx.s.data(), m.D});
  const QuantActs qh(h, m.T * m.k, m.Fd, ab);
  return emulate_down(m, hlc::IntDot<DT>{qh.q.data(), qh.d.data(), qh.s.data(), m.Fd});
}

std::vector<float> emulate_moe_decode(const MoeCase& m) {
  switch (m.t) {
    case DType::Q8_0: return emulate_moe_decode_int<hlc::kQ8_0>(m);
    case DType::Q4_0: return emulate_moe_decode_int<hlc::kQ4_0>(m);
    case DType::Q4_K: return emulate_moe_decode_int<hlc::kQ4_K>(m);
    case DType::Q5_K: return emulate_moe_decode_int<hlc::kQ5_K>(m);
    case DType::Q6_K: return emulate_moe_decode_int<hlc::kQ6_K>(m);
    default: {
      const std::vector<float> h = emulate_gate_up(m, HostFloatDot{m.t, m.x.data(), m.D});
      return emulate_down(m, HostFloatDot{m.t, h.data(), m.Fd});
    }
  }
}

void test_moe_decode_host() {
  struct C { DType t; int64_t T, E, k, D, Fd; Routing r; bool drop; };
  const C cases[] = {{DType::Q8_0, 8, 32, 4, 256, 96, Routing::kHot, false},
                     {DType::Q4_0, 2, 40, 8, 1024, 64, Routing::kDistinct, true},
                     {DType::Q4_K, 8, 32, 6, 512, 256, Routing::kHot, false},
                     {DType::Q5_K, 1, 64, 8, 256, 512, Routing::kDistinct, false},
                     {DType::Q6_K, 2, 33, 3, 768, 256, Routing::kOneExpert, false},
                     {DType::F16, 2, 32, 2, 136, 40, Routing::kHot, true}};
  for (const C& c : cases) {
    const std::string name = std::string("moe_decode_host ") + hl::dtype_name(c.t) + " T=" + std::to_string(c.T) +
                             " E=" + std::to_string(c.E) + " k=" + std::to_string(c.k) + " D=" +
                             std::to_string(c.D) + " F=" + std::to_string(c.Fd) + routing_name(c.r) +
                             (c.drop ? " dropped-pair" : "");
    if (!selected(name)) continue;
    MoeCase m(c.t, c.T, c.E, c.k, c.D, c.Fd, c.r);
    if (c.drop) {
      m.ids[1] = (int32_t)c.E;  // outside [0, E): contributes nothing
      m.reference();
    }
    report(name, {{"out", m.compare(emulate_moe_decode(m))}}, m.nmse());
  }
}

// ---- error paths (must not crash, must name the op)

void test_errors() {
  const std::string name = "errors: bad arguments return a status and a message";
  if (!selected(name)) return;
  bool ok = true;
  std::string why;
  auto expect = [&](int st, const char* what) {
    if (st == 0 || std::strlen(hlc_last_error()) == 0) {
      ok = false;
      why += std::string(" ") + what;
    }
  };
  expect(hlc_rmsnorm(nullptr, nullptr, nullptr, 4, 0, 1e-6f), "rmsnorm dim=0");
  hl::WeightView w{};
  w.dtype = static_cast<DType>(9);  // not a weight type of this build
  w.rows = 4;
  w.cols = 32;
  w.row_bytes = 18;
  w.data = reinterpret_cast<const uint8_t*>(16);
  float* dummy = reinterpret_cast<float*>(16);
  expect(hlc_matmul(dummy, dummy, 1, &w), "matmul dtype 9");
  hl::AttentionDims ad{6, 4, 64, 1.0f};
  int32_t cu[2] = {0, 1};
  hl::KvView kv{};
  expect(hlc_attention(dummy, dummy, &ad, cu, 1, &kv), "attention Hq % Hkv");
  hl::SsmDims sd{3, 4, 8, 2};
  float* st[1] = {nullptr};
  expect(hlc_ssm_scan(dummy, dummy, dummy, dummy, dummy, dummy, nullptr, nullptr, &sd, cu, 1, st, 0), "ssm H % G");
  std::printf("%s %s%s\n", ok ? "PASS" : "FAIL", name.c_str(), ok ? "" : (" not rejected:" + why).c_str());
  (ok ? g_pass : g_fail)++;
}

}  // namespace

int main(int argc, char** argv) {
  for (int i = 1; i < argc; i++) {
    if (std::strcmp(argv[i], "--chained") == 0) g_chained = true;
    else g_filter = argv[i];
  }
  if (g_chained) g_suffix = " [chained]";
  // Host-only families first: they need no device (CI runs them here).
  test_policy();
  test_int_units();
  test_graph_plan();
  test_mma_tiles();
  test_moe_decode_host();
  int n_dev = 0;
  if (hlc_device_count(&n_dev) != 0 || n_dev == 0) {
    std::printf("SKIPPED: %s\n", hlc_last_error());
    std::printf("%d passed, %d failed (host-only families; no device)\n", g_pass, g_fail);
    return g_fail == 0 ? 0 : 1;
  }
  struct hlc_device_info info{};
  if (hlc_device_info(0, &info) == 0)
    std::printf("device 0: %s (sm_%d%d, %d SMs, %.1f GiB, driver %d, runtime %d, %.0f GB/s theoretical)\n", info.name,
                info.major, info.minor, info.multiprocessors, info.total_memory / 1073741824.0, info.driver_version,
                info.runtime_version, info.memory_bandwidth_gbs);
  if (hlc_set_device(0) != 0) {
    std::printf("FAIL set_device: %s\n0 passed, 1 failed\n", hlc_last_error());
    return 1;
  }
  // HLC_TEST_THREADS caps the CPU references' threads (gpu-check runs many of these at once).
  const char* threads_env = std::getenv("HLC_TEST_THREADS");
  const int threads = threads_env ? std::atoi(threads_env) : std::min(8, hl::default_thread_count());
  hl::ThreadPool pool(std::max(1, threads));
  g_pool = &pool;
  test_rmsnorm();
  test_add_rmsnorm();
  test_swiglu();
  test_embed();
  test_conv1d();
  test_ssm();
  test_attention();
  test_matmul();
  test_matmul_multi();
  test_moe();
  test_argmax();
  test_argmax_scaled();
  test_data();
  test_kv_f16();
  test_strided();
  test_chain();
  test_chain(/*graph=*/true);
  test_errors();
  // sm_80+: the GEMM / SSD tiles and attention prefill have a 3xTF32
  // tensor-core path and a SIMT path; the default (policy per architecture,
  // tc_policy.h) ran above: run those families again with the other one.
  const bool tc_default = info.major >= 8 && hlc_tensor_cores_active() == 1;
  if (info.major >= 8) {
    if (hlc_use_tensor_cores(tc_default ? 0 : 1) == 0) {
      const std::string keep = g_suffix;
      g_suffix = keep + (tc_default ? " [simt]" : " [tc]");
      test_matmul();
      test_matmul_multi();
      test_moe();
      test_ssm();
      test_attention();
      test_kv_f16();
      test_strided();
      test_chain();
      hlc_use_tensor_cores(-1);
      g_suffix = keep;
    }
  }
  // sm_75+: the int8 / f16 / bf16 GEMM tiles run by default; where the rerun
  // above did not force the SIMT paths, the matmul families once more on the SIMT tile.
  if (info.major * 10 + info.minor >= 75 && !tc_default && hlc_use_tensor_cores(0) == 0) {
    const std::string keep = g_suffix;
    g_suffix = keep + " [simt]";
    test_matmul();
    test_matmul_multi();
    test_moe();
    hlc_use_tensor_cores(-1);
    g_suffix = keep;
  }
  std::printf("%d passed, %d failed\n", g_pass, g_fail);
  return g_fail == 0 ? 0 : 1;
}
