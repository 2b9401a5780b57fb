// cuda/bench/cuda_bench.cpp: hybridlm_cuda_bench — per-kernel throughput of
// libhybridlm_cuda on synthetic Granite-4.0-H-like shapes (docs/KERNELS.md, Benchmarks).
// Prints one line per case: kernel, shape, dtype, median time, the metric
// (GB/s for decode-type kernels, TFLOP/s for prefill-type) and its % of the
// card's peak: measured device-to-device copy bandwidth (and the theoretical
// DRAM figure) for GB/s, the datasheet dense bf16/fp16 tensor peak for TFLOP/s
// (table below by device name; override with HLC_PEAK_TFLOPS=<n>).
// Timing: host clock around batches of launches closed by hlc_synchronize;
// reps per batch sized to >= 2 ms; median of 11 batches after a warm-up.
// No assertions (bench only); no device -> "SKIPPED: <reason>", exit 0.
//   usage: hybridlm_cuda_bench [filter-substring]
// Shapes: "h-tiny" = d_model 1536, Mamba H=48 P=64 N=128 G=1, attention
// 12/4 heads x 128, 64 experts top-6 F=512, vocab 100352. "h-1b" = d_model
// 1536, Mamba H=48 P=64 N=128 G=1, attention 12/4 x 128, dense FFN 4096.
// "h-micro" = d_model 2048, Mamba H=64 P=64, attention 32/8 x 64, FFN 8192.
// (The real shapes: lib/synthetic/shapes.ts.)
// (Synthetic stand-ins: weights are random, only the shapes matter.)
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "hybridlm_cuda.h"

using hl::DType;

namespace {

std::string g_filter;
double g_copy_gbs = 0, g_dram_gbs = 0, g_peak_tflops = 0, g_peak_tops = 0;

struct Dev {
  void* p = nullptr;
  explicit Dev(size_t n) {
    if (hlc_malloc(&p, n ? n : 1) != 0) {
      std::fprintf(stderr, "hlc_malloc(%zu) failed: %s\n", n, hlc_last_error());
      std::exit(2);
    }
  }
  ~Dev() { hlc_free(p); }
  float* f() const { return static_cast<float*>(p); }
  int32_t* i() const { return static_cast<int32_t*>(p); }
  uint8_t* u8() const { return static_cast<uint8_t*>(p); }
};

// Fills device memory with small random bytes/values (valid for every type:
// f32/f16/bf16 from 16-bit patterns of small magnitude, quant blocks random).
void fill(void* p, size_t bytes_total, uint32_t seed, bool floats) {
  // Random data for the first <= 64 MiB, then device-side copies of it (the
  // 32K-context KV pools are GiBs; generating them on the host is slow).
  const size_t bytes = std::min<size_t>(bytes_total, 64u << 20);
  std::vector<uint8_t> h(bytes);
  std::mt19937 g(seed);
  if (floats) {
    std::uniform_real_distribution<float> u(-0.5f, 0.5f);
    for (size_t i = 0; i + 4 <= bytes; i += 4) {
      float v = u(g);
      std::memcpy(&h[i], &v, 4);
    }
  } else {
    for (size_t i = 0; i + 2 <= bytes; i += 2) {
      uint16_t v = (uint16_t)(0x2000 + g() % 0x1000);  // small positive f16/bf16, small quant scales
      std::memcpy(&h[i], &v, 2);
    }
  }
  hlc_memcpy_h2d(p, h.data(), bytes);
  for (size_t done = bytes; done < bytes_total;) {
    const size_t n = std::min(done, bytes_total - done);
    hlc_memcpy_d2d(static_cast<uint8_t*>(p) + done, p, n);
    done += n;
  }
}

// Median seconds per call of fn.
double time_op(const std::function<int()>& fn) {
  if (fn() != 0 || hlc_synchronize() != 0) return -1;
  auto now = [] { return std::chrono::steady_clock::now(); };
  auto t0 = now();
  fn();
  hlc_synchronize();
  const double one = std::chrono::duration<double>(now() - t0).count();
  const int reps = std::max(1, (int)std::min(1000.0, 2e-3 / std::max(one, 1e-7)));
  std::vector<double> samples;
  for (int s = 0; s < 11; s++) {
    auto a = now();
    for (int r = 0; r < reps; r++) fn();
    if (hlc_synchronize() != 0) return -1;
    samples.push_back(std::chrono::duration<double>(now() - a).count() / reps);
  }
  std::sort(samples.begin(), samples.end());
  return samples[samples.size() / 2];
}

void line(const std::string& kernel, const std::string& shape, const std::string& dtype, double sec, double bytes,
          double flops, bool int8 = false) {
  if (sec < 0) {
    std::printf("%-22s %-44s %-5s ERROR %s\n", kernel.c_str(), shape.c_str(), dtype.c_str(), hlc_last_error());
    return;
  }
  std::printf("%-22s %-44s %-5s %9.1f us", kernel.c_str(), shape.c_str(), dtype.c_str(), sec * 1e6);
  if (bytes > 0) {
    const double gbs = bytes / sec / 1e9;
    std::printf("  %8.1f GB/s (%5.1f%% of copy %.0f", gbs, 100 * gbs / g_copy_gbs, g_copy_gbs);
    if (g_dram_gbs > 0) std::printf(", %5.1f%% of DRAM %.0f", 100 * gbs / g_dram_gbs, g_dram_gbs);
    std::printf(")");
  }
  if (flops > 0) {
    const double tf = flops / sec / 1e12;
    std::printf("  %8.2f TFLOP/s", tf);
    if (g_peak_tflops > 0) std::printf(" (%5.1f%% of %.0f bf16 tensor peak)", 100 * tf / g_peak_tflops, g_peak_tflops);
    if (int8 && g_peak_tops > 0) std::printf(" (%5.1f%% of %.0f int8 TOP/s peak)", 100 * tf / g_peak_tops, g_peak_tops);
  }
  std::printf("\n");
  std::fflush(stdout);
}

bool selected(const std::string& s) { return g_filter.empty() || s.find(g_filter) != std::string::npos; }

// Dense tensor-core peaks by device name: bf16/fp16 TFLOP/s (f32 accumulate)
// and int8 TOP/s, no sparsity (HLC_PEAK_TFLOPS=<n> / HLC_PEAK_TOPS=<n> override).
void tensor_peaks(const std::string& name, double* tflops, double* tops) {
  struct P { const char* key; double tflops, tops; };
  const P table[] = {{"H200", 989, 1979},    {"H100 NVL", 835, 1670}, {"H100 PCIe", 756, 1513}, {"H100", 989, 1979},
                     {"GH200", 989, 1979},   {"A100", 312, 624},      {"L40S", 362, 733},       {"L40", 181, 362},
                     {"L4", 121, 242},       {"A10G", 70, 140},       {"A10", 125, 250},        {"RTX 4090", 165, 661},
                     {"RTX 4080", 97, 390},  {"RTX 3090", 71, 284},   {"RTX 3080", 60, 238},    {"A6000", 155, 310},
                     {"T4", 65, 130},        {"RTX 2080", 40, 161}};
  *tflops = *tops = 0;
  for (const P& p : table)
    if (name.find(p.key) != std::string::npos) {
      *tflops = p.tflops;
      *tops = p.tops;
      break;
    }
  if (const char* e = std::getenv("HLC_PEAK_TFLOPS")) *tflops = std::atof(e);
  if (const char* e = std::getenv("HLC_PEAK_TOPS")) *tops = std::atof(e);
}

int64_t row_bytes(DType t, int64_t K) { return K / hl::dtype_block_size(t) * hl::dtype_block_bytes(t); }

// ---- cases

void bench_copy() {
  const size_t bytes = 512ull << 20;
  Dev a(bytes), b(bytes);
  hlc_memset(a.p, 1, bytes);
  double s = time_op([&] { return hlc_memcpy_d2d(b.p, a.p, bytes); });
  g_copy_gbs = s > 0 ? 2.0 * bytes / s / 1e9 : 1;
  std::printf("%-22s %-44s %-5s %9.1f us  %8.1f GB/s (read + write; the peak used below)\n", "copy d2d", "512 MiB", "-",
              s * 1e6, g_copy_gbs);
}

void bench_matmul() {
  struct M { const char* model; const char* what; int64_t rows, K; };
  const M mats[] = {{"h-tiny", "in_proj", 2 * 3072 + 2 * 128 + 48, 1536}, {"h-tiny", "out_proj", 1536, 3072},
                    {"h-tiny", "lm_head", 100352, 1536},                 {"h-1b", "in_proj", 2 * 3072 + 2 * 128 + 48, 1536},
                    {"h-1b", "out_proj", 1536, 3072},                    {"h-1b", "ffn_gate+up", 2 * 4096, 1536},
                    {"h-1b", "ffn_down", 1536, 4096},                    {"h-micro", "in_proj", 2 * 4096 + 2 * 128 + 64, 2048},
                    {"h-micro", "ffn_gate+up", 2 * 8192, 2048},         {"h-micro", "ffn_down", 2048, 8192}};
  for (DType t : {DType::BF16, DType::Q8_0, DType::Q4_K, DType::Q6_K})
    for (const M& m : mats)
      for (int64_t T : {1, 8}) {
        std::string shape = std::string(m.model) + " " + m.what + " " + std::to_string(m.rows) + "x" +
                            std::to_string(m.K) + " T=" + std::to_string(T);
        if (!selected("gemv " + shape)) continue;
        const int64_t rb = row_bytes(t, m.K);
        Dev w(m.rows * rb), x(T * m.K * 4), y(T * m.rows * 4);
        fill(w.p, m.rows * rb, 1, t == DType::F32);
        fill(x.p, T * m.K * 4, 2, true);
        hl::WeightView wv{w.u8(), t, m.rows, m.K, rb};
        double s = time_op([&] { return hlc_matmul(y.f(), x.f(), T, &wv); });
        line("gemv (decode)", shape, hl::dtype_name(t), s, (double)m.rows * rb + T * m.K * 4.0 + T * m.rows * 4.0,
             2.0 * T * m.rows * m.K);
      }
  for (DType t : {DType::BF16, DType::Q4_K}) {
    const int64_t T = 4096, rows = 6448, K = 1536;
    std::string shape = "h-tiny in_proj 6448x1536 T=4096";
    if (!selected("gemm " + shape)) continue;
    const int64_t rb = row_bytes(t, K);
    Dev w(rows * rb), x(T * K * 4), y(T * rows * 4);
    fill(w.p, rows * rb, 3, false);
    fill(x.p, T * K * 4, 4, true);
    hl::WeightView wv{w.u8(), t, rows, K, rb};
    for (int tc : {-1, 0}) {  // default (tc_policy.h), then forced SIMT
      if (hlc_use_tensor_cores(tc) != 0) continue;
      double s = time_op([&] { return hlc_matmul(y.f(), x.f(), T, &wv); });
      line(tc ? "gemm (prefill)" : "gemm (prefill) simt", shape, hl::dtype_name(t), s, 0, 2.0 * T * rows * K);
    }
    hlc_use_tensor_cores(-1);
  }
}

// Prefill GEMMs of one h-1b layer at 512 tokens (Mamba in/out projections,
// dense FFN), per weight format: the default path (tc_policy.h: int8 mma for
// the block types, two f16/bf16 products, 3xTF32 or SIMT for F32), then the
// f32 SIMT tile; one line per matrix and a "layer" line (sum of the medians).
void bench_prefill_gemm() {
  struct M { const char* what; int64_t rows, K; };
  const M mats[] = {{"in_proj", 2 * 3072 + 2 * 128 + 48, 1536}, {"out_proj", 1536, 3072},
                    {"ffn_gate+up", 2 * 4096, 1536}, {"ffn_down", 1536, 4096}};
  const int64_t T = 512;
  for (DType t : {DType::F16, DType::BF16, DType::Q8_0, DType::Q4_0, DType::Q4_K, DType::Q5_K, DType::Q6_K, DType::F32}) {
    const bool int8 = t != DType::F16 && t != DType::BF16 && t != DType::F32;
    if (!selected(std::string("gemm prefill h-1b ") + hl::dtype_name(t))) continue;
    double total[2] = {0, 0}, flops = 0;
    for (const M& m : mats) {
      const int64_t rb = row_bytes(t, m.K);
      Dev w(m.rows * rb), x(T * m.K * 4), y(T * m.rows * 4);
      fill(w.p, m.rows * rb, 5, t == DType::F32);
      fill(x.p, T * m.K * 4, 6, true);
      hl::WeightView wv{w.u8(), t, m.rows, m.K, rb};
      const std::string shape =
          std::string("h-1b ") + m.what + " " + std::to_string(m.rows) + "x" + std::to_string(m.K) + " T=512";
      flops += 2.0 * T * m.rows * m.K;
      for (int simt = 0; simt < 2; simt++) {  // the default path, then the forced f32 SIMT tile
        const double s = hlc_use_tensor_cores(simt ? 0 : -1) == 0
                             ? time_op([&] { return hlc_matmul(y.f(), x.f(), T, &wv); })
                             : -1;
        line(simt ? "gemm prefill simt" : "gemm prefill", shape, hl::dtype_name(t), s, 0, 2.0 * T * m.rows * m.K,
             int8 && !simt);
        total[simt] = s < 0 || total[simt] < 0 ? -1 : total[simt] + s;
      }
      hlc_use_tensor_cores(-1);
    }
    for (int simt = 0; simt < 2; simt++)
      line(simt ? "gemm prefill simt" : "gemm prefill", "h-1b layer (the 4 matmuls) T=512", hl::dtype_name(t),
           total[simt], 0, flops, int8 && !simt);
  }
}

void bench_ssm() {
  for (int64_t T : {512, 4096}) {
    const int64_t H = 48, P = 64, N = 128, G = 1;
    for (int chunk : {0, 256}) {
      std::string shape = "h-tiny H48 P64 N128 T=" + std::to_string(T) + (chunk ? " chunk=256" : " recurrence");
      if (!selected("ssm_scan " + shape)) continue;
      Dev x(T * H * P * 4), dt(T * H * 4), A(H * 4), B(T * G * N * 4), C(T * G * N * 4), D(H * 4), bias(H * 4),
          y(T * H * P * 4), st(H * P * N * 4);
      fill(D.p, H * 4, 30, true);
      fill(bias.p, H * 4, 31, true);
      fill(x.p, T * H * P * 4, 5, true);
      fill(dt.p, T * H * 4, 6, true);
      fill(A.p, H * 4, 7, true);
      fill(B.p, T * G * N * 4, 8, true);
      fill(C.p, T * G * N * 4, 9, true);
      hlc_memset(st.p, 0, H * P * N * 4);
      hl::SsmDims d{H, P, N, G};
      int32_t cu[2] = {0, (int32_t)T};
      float* states[1] = {st.f()};
      const double Q = 256;
      const double flops = T * (2 * Q * G * N + 2 * Q * H * P + 4.0 * H * P * N);  // docs/KERNELS.md nominal
      for (int tc : {-1, 0}) {
        if ((chunk == 0 && tc == 0) || hlc_use_tensor_cores(tc) != 0) continue;
        double s = time_op([&] {
          return hlc_ssm_scan(y.f(), x.f(), dt.f(), A.f(), B.f(), C.f(), D.f(), bias.f(), &d, cu, 1, states, chunk);
        });
        line(tc ? "ssm_scan" : "ssm_scan simt", shape, "f32", s, 0, flops);
      }
      hlc_use_tensor_cores(-1);
    }
  }
  for (int S : {1, 8, 32}) {
    const int64_t H = 48, P = 64, N = 128, G = 1;
    std::string shape = "h-tiny state update seqs=" + std::to_string(S);
    if (!selected("ssm_step " + shape)) continue;
    Dev x(S * H * P * 4), dt(S * H * 4), A(H * 4), B(S * G * N * 4), C(S * G * N * 4), D(H * 4), bias(H * 4),
        y(S * H * P * 4), st((size_t)S * H * P * N * 4);
    fill(x.p, S * H * P * 4, 10, true);
    fill(dt.p, S * H * 4, 11, true);
    fill(A.p, H * 4, 12, true);
    fill(B.p, S * G * N * 4, 13, true);
    fill(C.p, S * G * N * 4, 14, true);
    fill(D.p, H * 4, 32, true);
    fill(bias.p, H * 4, 33, true);
    hlc_memset(st.p, 0, (size_t)S * H * P * N * 4);
    std::vector<float*> states;
    for (int s = 0; s < S; s++) states.push_back(st.f() + (int64_t)s * H * P * N);
    hl::SsmDims d{H, P, N, G};
    double s = time_op([&] {
      return hlc_ssm_step(y.f(), x.f(), dt.f(), A.f(), B.f(), C.f(), D.f(), bias.f(), &d, S, states.data());
    });
    line("ssm_step", shape, "f32", s, 2.0 * S * H * P * N * 4, 0);
  }
}

void bench_attention() {
  struct A { const char* model; int64_t Hq, Hkv, Dh; };
  const A shapes[] = {{"h-tiny/h-1b", 12, 4, 128}, {"h-micro", 32, 8, 64}};
  for (const A& a : shapes) {
    const int64_t T = 4096, page = 64, n_pages = T / page;
    std::string shape = std::string(a.model) + " Hq" + std::to_string(a.Hq) + "/" + std::to_string(a.Hkv) +
                        " Dh" + std::to_string(a.Dh) + " T=4096 page=64";
    if (!selected("attention prefill " + shape)) continue;
    const size_t page_floats = a.Hkv * page * a.Dh;
    Dev q(T * a.Hq * a.Dh * 4), out(T * a.Hq * a.Dh * 4), k(n_pages * page_floats * 4), v(n_pages * page_floats * 4);
    fill(q.p, T * a.Hq * a.Dh * 4, 15, true);
    fill(k.p, n_pages * page_floats * 4, 16, true);
    fill(v.p, n_pages * page_floats * 4, 17, true);
    std::vector<const float*> kp, vp;
    for (int64_t p = 0; p < n_pages; p++) {
      kp.push_back(k.f() + p * page_floats);
      vp.push_back(v.f() + p * page_floats);
    }
    hl::KvView kv{kp.data(), vp.data(), page, page * a.Dh, a.Dh, T};
    hl::AttentionDims dims{a.Hq, a.Hkv, a.Dh, 1.0f / 128};
    int32_t cu[2] = {0, (int32_t)T};
    for (int tc : {-1, 0}) {
      if (hlc_use_tensor_cores(tc) != 0) continue;
      double s = time_op([&] { return hlc_attention(out.f(), q.f(), &dims, cu, 1, &kv); });
      line(tc ? "attention prefill" : "attention prefill simt", shape, "f32", s, 0,
           2.0 * T * T * a.Dh * a.Hq);  // causal: 4*T^2*Dh*Hq / 2
    }
    hlc_use_tensor_cores(-1);
  }
  for (int64_t ctx : {1024, 32768})
    for (int S : {1, 8, 32}) {
      const A a = shapes[0];
      const int64_t page = 64, pages_per = (ctx + page - 1) / page;
      std::string shape = "h-tiny Hq12/4 Dh128 ctx=" + std::to_string(ctx) + " seqs=" + std::to_string(S);
      if (!selected("attention decode " + shape)) continue;
      const size_t page_floats = a.Hkv * page * a.Dh;
      Dev q(S * a.Hq * a.Dh * 4), out(S * a.Hq * a.Dh * 4), k(S * pages_per * page_floats * 4),
          v(S * pages_per * page_floats * 4);
      fill(q.p, S * a.Hq * a.Dh * 4, 18, true);
      fill(k.p, S * pages_per * page_floats * 4, 34, true);  // never time on zeros
      fill(v.p, S * pages_per * page_floats * 4, 35, true);
      std::vector<std::vector<const float*>> kp(S), vp(S);
      std::vector<hl::KvView> kv(S);
      std::vector<int32_t> cu(S + 1);
      for (int s = 0; s < S; s++) {
        for (int64_t p = 0; p < pages_per; p++) {
          kp[s].push_back(k.f() + (s * pages_per + p) * page_floats);
          vp[s].push_back(v.f() + (s * pages_per + p) * page_floats);
        }
        kv[s] = hl::KvView{kp[s].data(), vp[s].data(), page, page * a.Dh, a.Dh, ctx};
        cu[s + 1] = s + 1;
      }
      hl::AttentionDims dims{a.Hq, a.Hkv, a.Dh, 1.0f / 128};
      double s = time_op([&] { return hlc_attention(out.f(), q.f(), &dims, cu.data(), S, kv.data()); });
      line("attention decode", shape, "f32", s, 2.0 * S * ctx * a.Hkv * a.Dh * 4, 0);
    }
}

// GB/s counts each touched expert's weights once (what a decode step must
// read). Up to 8 tokens the default path is the grouped GEMV; "moe_forward
// tiles" runs the same call through the grouped GEMM tiles (hlc_moe_decode_gemv(0)).
void bench_moe() {
  const int64_t E = 64, k = 6, D = 1536, F = 512;
  for (DType t : {DType::BF16, DType::Q8_0, DType::Q4_K})
    for (int64_t T : {1, 2, 8, 32, 4096}) {
      std::string shape = "h-tiny E64 k6 D1536 F512 T=" + std::to_string(T);
      if (!selected("moe_forward " + shape)) continue;
      if (T == 4096 && t == DType::Q8_0) continue;
      const int64_t rb_gu = row_bytes(t, D), rb_d = row_bytes(t, F);
      Dev gate(E * F * rb_gu), up(E * F * rb_gu), down(E * D * rb_d), x(T * D * 4), out(T * D * 4), ids(T * k * 4),
          wts(T * k * 4);
      fill(gate.p, E * F * rb_gu, 19, false);
      fill(up.p, E * F * rb_gu, 20, false);
      fill(down.p, E * D * rb_d, 21, false);
      fill(x.p, T * D * 4, 22, true);
      std::vector<int32_t> hid(T * k);
      std::vector<float> hw(T * k, 1.0f / k);
      std::mt19937 g(23);
      std::vector<char> touched(E, 0);
      for (int64_t t0 = 0; t0 < T; t0++) {
        std::vector<int32_t> all(E);
        for (int64_t e = 0; e < E; e++) all[e] = (int32_t)e;
        std::shuffle(all.begin(), all.end(), g);
        for (int64_t j = 0; j < k; j++) {
          hid[t0 * k + j] = all[j];
          touched[all[j]] = 1;
        }
      }
      hlc_memcpy_h2d(ids.p, hid.data(), hid.size() * 4);
      hlc_memcpy_h2d(wts.p, hw.data(), hw.size() * 4);
      hl::MoeWeights mw{{gate.u8(), t, F, D, rb_gu}, {up.u8(), t, F, D, rb_gu}, {down.u8(), t, D, F, rb_d},
                        F * rb_gu, F * rb_gu, D * rb_d, E};
      int64_t n_touched = 0;
      for (char c : touched) n_touched += c;
      const double bytes = (double)n_touched * (2.0 * F * rb_gu + D * rb_d);
      auto run = [&] { return hlc_moe_forward(out.f(), x.f(), ids.i(), wts.f(), T, k, &mw); };
      const double s = time_op(run);
      line("moe_forward", shape, hl::dtype_name(t), s, T <= 32 ? bytes : 0, T > 32 ? 2.0 * T * k * 3 * F * D : 0);
      if (T <= 8 && hlc_moe_decode_gemv(0) == 0) {
        const double st = time_op(run);
        hlc_moe_decode_gemv(1);
        line("moe_forward tiles", shape, hl::dtype_name(t), st, bytes, 0);
      }
    }
}

void bench_small() {
  for (int64_t T : {1, 32, 4096}) {
    const int64_t dim = 3072;
    std::string shape = "gated dim=3072 T=" + std::to_string(T);
    if (!selected("rmsnorm " + shape)) continue;
    Dev x(T * dim * 4), z(T * dim * 4), w(dim * 4), y(T * dim * 4);
    fill(x.p, T * dim * 4, 24, true);
    fill(z.p, T * dim * 4, 25, true);
    fill(w.p, dim * 4, 26, true);
    double s = time_op([&] { return hlc_gated_rmsnorm(y.f(), x.f(), z.f(), w.f(), T, dim, 1, 1e-6f); });
    line("gated_rmsnorm", shape, "f32", s, 3.0 * T * dim * 4, 0);
  }
  for (int S : {1, 32}) {
    const int64_t C = 48 * 64 + 2 * 128;
    std::string shape = "C=3328 K=4 seqs=" + std::to_string(S);
    if (!selected("conv1d_step " + shape)) continue;
    Dev in(S * C * 4), out(S * C * 4), w(C * 4 * 4), b(C * 4), st(S * 3 * C * 4);
    fill(in.p, S * C * 4, 27, true);
    fill(w.p, C * 16, 28, true);
    hlc_memset(st.p, 0, S * 3 * C * 4);
    std::vector<float*> states;
    for (int s = 0; s < S; s++) states.push_back(st.f() + s * 3 * C);
    double s = time_op([&] { return hlc_conv1d_causal_step(out.f(), in.f(), w.f(), b.f(), C, 4, S, states.data()); });
    line("conv1d_step", shape, "f32", s, S * C * 4.0 * (1 + 1 + 2 * 3), 0);
  }
  {
    const int64_t rows = 32, vocab = 100352;
    if (selected("argmax")) {
      Dev l(rows * vocab * 4), o(rows * 4);
      fill(l.p, rows * vocab * 4, 29, true);
      double s = time_op([&] { return hlc_argmax(l.f(), o.i(), rows, vocab); });
      line("argmax", "rows=32 vocab=100352", "f32", s, rows * vocab * 4.0, 0);
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc > 1) g_filter = argv[1];
  int n = 0;
  if (hlc_device_count(&n) != 0 || n == 0) {
    std::printf("SKIPPED: %s\n", hlc_last_error());
    return 0;
  }
  struct hlc_device_info info{};
  if (hlc_device_info(0, &info) != 0 || hlc_set_device(0) != 0) {
    std::printf("ERROR: %s\n", hlc_last_error());
    return 1;
  }
  g_dram_gbs = info.memory_bandwidth_gbs;
  tensor_peaks(info.name, &g_peak_tflops, &g_peak_tops);
  std::printf("device: %s sm_%d%d, %d SMs, %.1f GiB, driver %d, runtime %d, DRAM %.0f GB/s theoretical, "
              "bf16 tensor peak %s TFLOP/s\n",
              info.name, info.major, info.minor, info.multiprocessors, info.total_memory / 1073741824.0,
              info.driver_version, info.runtime_version, info.memory_bandwidth_gbs,
              g_peak_tflops > 0 ? std::to_string((int)g_peak_tflops).c_str() : "unknown");
  std::printf("note: on sm_80+ GEMM, SSD and attention-prefill tiles run 3xTF32 on tensor cores; \"simt\" rows force them off.\n");
  std::printf("note: prefill GEMMs run int8 mma on block-quantized weights and two f16/bf16 mma products on F16/BF16\n"
              "      weights from sm_75 (bf16 sm_80); \"gemm prefill simt\" rows force the f32 SIMT tile; int8 peak %s TOP/s.\n",
              g_peak_tops > 0 ? std::to_string((int)g_peak_tops).c_str() : "unknown");
  bench_copy();
  bench_matmul();
  bench_prefill_gemm();
  bench_ssm();
  bench_attention();
  bench_moe();
  bench_small();
  return 0;
}
