// bench/probe/peak.cpp: the machine's own ceilings, measured in the same run
// as the kernel benchmarks (docs/KERNELS.md, Benchmarks). Built by bench/kernels.ts with
// the host's native flags (bench only; the addon never uses -march=native).
//   read  GB/s: threads sum disjoint slices of a 512 MiB buffer (what a GEMV streams)
//   copy  GB/s: threads memcpy disjoint slices (read + write bytes counted)
//   fma   GFLOP/s: independent FMA chains in registers per thread
// Prints one JSON object. Usage: peak THREADS
#include <immintrin.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <thread>
#include <vector>

static double now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

template <typename Fn>
static double best_of(int reps, int threads, Fn fn) {
  double best = 1e30;
  for (int r = 0; r < reps; r++) {
    std::vector<std::thread> ts;
    double t0 = now();
    for (int i = 0; i < threads; i++) ts.emplace_back(fn, i);
    for (auto& t : ts) t.join();
    best = std::min(best, now() - t0);
  }
  return best;
}

int main(int argc, char** argv) {
  const int threads = argc > 1 ? std::atoi(argv[1]) : 1;
  const size_t bytes = (size_t)512 << 20, n = bytes / sizeof(float);
  float* a = (float*)aligned_alloc(64, bytes);
  float* b = (float*)aligned_alloc(64, bytes);
  for (size_t i = 0; i < n; i++) a[i] = (float)(i & 1023), b[i] = 0;
  volatile float sink = 0;
  const size_t per = n / threads;
  double t_read = best_of(5, threads, [&](int id) {
    const float* p = a + id * per;
#if defined(__AVX512F__)
    __m512 s0 = _mm512_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
    for (size_t i = 0; i < per; i += 64) {
      s0 = _mm512_add_ps(s0, _mm512_load_ps(p + i));
      s1 = _mm512_add_ps(s1, _mm512_load_ps(p + i + 16));
      s2 = _mm512_add_ps(s2, _mm512_load_ps(p + i + 32));
      s3 = _mm512_add_ps(s3, _mm512_load_ps(p + i + 48));
    }
    sink = _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(s0, s1), _mm512_add_ps(s2, s3)));
#else
    float s = 0;
    for (size_t i = 0; i < per; i++) s += p[i];
    sink = s;
#endif
  });
  double t_copy = best_of(5, threads, [&](int id) { std::memcpy(b + id * per, a + id * per, per * sizeof(float)); });
  const long iters = 100000000;
  double t_fma = best_of(3, threads, [&](int) {
#if defined(__AVX512F__)
    const __m512 m = _mm512_set1_ps(0.999999f), d = _mm512_set1_ps(1e-7f);
    __m512 c0 = _mm512_set1_ps(1.0f), c1 = _mm512_set1_ps(1.1f), c2 = _mm512_set1_ps(1.2f), c3 = _mm512_set1_ps(1.3f);
    __m512 c4 = _mm512_set1_ps(1.4f), c5 = _mm512_set1_ps(1.5f), c6 = _mm512_set1_ps(1.6f), c7 = _mm512_set1_ps(1.7f);
    __m512 c8 = _mm512_set1_ps(1.8f), c9 = _mm512_set1_ps(1.9f), ca = _mm512_set1_ps(2.0f), cb = _mm512_set1_ps(2.1f);
    for (long i = 0; i < iters / 16; i++) {
      // 12 independent chains: enough to cover 4-cycle latency on 2 pipes
      c0 = _mm512_fmadd_ps(c0, m, d); c1 = _mm512_fmadd_ps(c1, m, d); c2 = _mm512_fmadd_ps(c2, m, d);
      c3 = _mm512_fmadd_ps(c3, m, d); c4 = _mm512_fmadd_ps(c4, m, d); c5 = _mm512_fmadd_ps(c5, m, d);
      c6 = _mm512_fmadd_ps(c6, m, d); c7 = _mm512_fmadd_ps(c7, m, d); c8 = _mm512_fmadd_ps(c8, m, d);
      c9 = _mm512_fmadd_ps(c9, m, d); ca = _mm512_fmadd_ps(ca, m, d); cb = _mm512_fmadd_ps(cb, m, d);
    }
    __m512 s = _mm512_add_ps(_mm512_add_ps(_mm512_add_ps(c0, c1), _mm512_add_ps(c2, c3)),
                             _mm512_add_ps(_mm512_add_ps(c4, c5), _mm512_add_ps(c6, c7)));
    s = _mm512_add_ps(s, _mm512_add_ps(_mm512_add_ps(c8, c9), _mm512_add_ps(ca, cb)));
    sink = _mm512_reduce_add_ps(s);
#else
    float c[12];
    for (int j = 0; j < 12; j++) c[j] = 1.0f + j;
    for (long i = 0; i < iters; i++)
      for (int j = 0; j < 12; j++) c[j] = c[j] * 0.999999f + 1e-7f;
    sink = c[0];
#endif
  });
#if defined(__AVX512F__)
  const double fma_flops = (double)(iters / 16) * 12 * 16 * 2 * threads;
#else
  const double fma_flops = (double)iters * 12 * 2 * threads;
#endif
  std::printf("{\"threads\":%d,\"read_gbs\":%.2f,\"copy_gbs\":%.2f,\"fma_gflops\":%.1f}\n", threads,
              bytes / t_read / 1e9, 2.0 * bytes / t_copy / 1e9, fma_flops / t_fma / 1e9);
  (void)sink;
  return 0;
}
