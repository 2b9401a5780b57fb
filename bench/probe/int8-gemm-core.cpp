// bench/probe/int8-gemm-core.cpp: one core, thread CPU time (robust on a shared
// machine), one thread piece of a block-format matmul (256 rows x K = 1536):
// the int8 GEMM split into repack and tiles, the GEMV path run tile by tile,
// and the previous f32 path (dequantize + pack_x + gemm_xt), best of 7 calls.
// Bench only (not part of the addon); build from the repository root:
//   g++ -std=c++17 -O3 -ffp-contract=off -I. -c native/cpu/simd/isa_avx512.cpp -mavx2 -mfma -mf16c \
//     -mavx512f -mavx512bw -mavx512vl -mavx512vnni -o /tmp/a512.o
//   g++ -std=c++17 -O3 -ffp-contract=off -I. -c native/cpu/simd/isa_avx2.cpp -mavx2 -mfma -mf16c -o /tmp/a2.o
//   g++ -std=c++17 -O3 -ffp-contract=off -I. bench/probe/int8-gemm-core.cpp native/cpu/simd/isa_scalar.cpp \
//     native/cpu/simd/isa_neon.cpp /tmp/a512.o /tmp/a2.o -o /tmp/int8-gemm-core
//   /tmp/int8-gemm-core <ggml type: 8 q8_0, 2 q4_0, 12 q4_k, 13 q5_k, 14 q6_k> [avx512|avx2]
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <random>
#include <vector>

#include "native/core/dtype.h"
#include "native/cpu/simd/ops.h"

using namespace hl;
using namespace hl::cpu;

static double now() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

int main(int argc, char** argv) {
  if (argc < 2) return std::fprintf(stderr, "usage: %s <type> [avx512|avx2]\n", argv[0]), 2;
  const SimdOps& o = *(argc > 2 && !std::strcmp(argv[2], "avx2") ? simd_ops_avx2() : simd_ops_avx512());
  const int type = std::atoi(argv[1]);
  const int bytes = type == 8 ? 34 : type == 2 ? 18 : type == 12 ? 144 : type == 13 ? 176 : 210;
  const int el = type == 8 || type == 2 ? 32 : 256;
  const int64_t N = 256, K = 1536;
  std::mt19937 rng(1);
  std::vector<uint8_t> w(N * K / el * bytes);
  for (auto& b : w) b = (uint8_t)rng();
  for (int64_t i = 0; i < N * K / el; i++) {  // sane scales
    const uint16_t h = f32_to_f16(0.01f);
    std::memcpy(&w[i * bytes + (type == 14 ? 208 : 0)], &h, 2);
    if (type == 12 || type == 13) std::memcpy(&w[i * bytes + 2], &h, 2);
  }
  std::vector<const uint8_t*> wr(N);
  for (int64_t r = 0; r < N; r++) wr[r] = w.data() + r * K / el * bytes;
  std::vector<uint8_t> pk(o.igemm_packed_bytes(type, N, K) + 64);
  uint8_t* p = pk.data() + (64 - reinterpret_cast<uintptr_t>(pk.data()) % 64) % 64;
  std::vector<float> fw(N * K);
  std::printf("%s, type %d, %lld rows x K %lld, ms per call (GFLOP/s)\n", o.name, type, (long long)N, (long long)K);
  std::printf("| T | repack | int8 tiles | int8 GEMM total | GEMV | old f32 path |\n|---:|---:|---:|---:|---:|---:|\n");
  for (int T : {1, 2, 4, 5, 8, 16, 32, 128, 512}) {
    std::vector<int8_t> q(T * K);
    std::vector<float> d(T * K / 32), s16(T * K / 16), s32(T * K / 32), x(T * K), y(T * N);
    std::normal_distribution<float> g;
    for (auto& v : x) v = g(rng);
    std::vector<QAct> xa(T);
    std::vector<const int8_t*> xq(T);
    std::vector<const float*> xd(T), xr(T), wf(N);
    for (int t = 0; t < T; t++) {
      o.quantize_act(q.data() + t * K, d.data() + t * K / el, s16.data() + t * K / 16, s32.data() + t * K / 32,
                     x.data() + t * K, K, el);
      xa[t] = QAct{q.data() + t * K, d.data() + t * K / el, s16.data() + t * K / 16, s32.data() + t * K / 32};
      xq[t] = xa[t].q, xd[t] = xa[t].d, xr[t] = x.data() + t * K;
    }
    for (int64_t r = 0; r < N; r++) wf[r] = fw.data() + r * K;
    std::vector<float> xt((T + o.x_panel - 1) / o.x_panel * o.x_panel * K);
    auto best = [&](auto f) {
      double b = 1e9;
      for (int i = 0; i < 7; i++) {
        const double t0 = now();
        f();
        b = std::min(b, now() - t0);
      }
      return b * 1e3;
    };
    const double tp = best([&] { o.igemm_pack(p, type, wr.data(), N, K); });
    const double tk = best([&] { o.igemm(y.data(), N, xa.data(), T, p, N, K, type); });
    const double tg = type == 8 ? best([&] { o.gemm_q8_0(y.data(), N, xq.data(), xd.data(), T, wr.data(), N, K); })
                                : best([&] { o.gemm_kq(y.data(), N, xa.data(), T, wr.data(), N, K, type); });
    const double to = best([&] {
      for (int64_t r = 0; r < N; r++) o.dequant(type, wr[r], fw.data() + r * K, K);
      for (int p0 = 0; p0 < T; p0 += o.x_panel) {
        const int nt = std::min(o.x_panel, T - p0);
        o.pack_x(xt.data(), xr.data() + p0, nt, K);
        o.gemm_xt(y.data() + p0 * N, N, xt.data(), nt, wf.data(), N, K, false);
      }
    });
    const double fl = 2.0 * T * N * K / 1e6;
    std::printf("| %d | %.4f | %.4f (%.0f) | %.4f (%.0f) | %.4f (%.0f) | %.4f (%.0f) |\n", T, tp, tk, fl / tk, tp + tk,
                fl / (tp + tk), tg, fl / tg, to, fl / to);
  }
  return 0;
}
