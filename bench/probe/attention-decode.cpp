// bench/probe/attention-decode.cpp: one decode step's attention over a long
// context as the executor runs it: Hq = 12, Hkv = 4, Dh = 64 (h-350m), 4
// attention layers, KV in the pool's page layout (a page = page_size tokens of
// every layer's key block and value block, pages in one arena), 2 threads.
// Prints wall ms per token (best and mean of reps) and the K/V bytes read per
// second at the best. Bench only (not part of the addon); after
// `npm run build:native`, from the repository root:
//   O=build/CMakeFiles/hybridlm.dir/native
//   g++ -std=c++17 -O2 -I. bench/probe/attention-decode.cpp $O/cpu/attention.cpp.o $O/cpu/kv_rows.cpp.o \
//     $O/cpu/simd/*.o $O/cpu/simd_dispatch.cpp.o $O/cpu/cpu_features.cpp.o $O/core/thread_pool.cpp.o \
//     -lpthread -o /tmp/attention-decode
//   /tmp/attention-decode [contexts=1024,32768] [f16|f32|q8_0] [page_size=16] [reps=20]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "native/core/thread_pool.h"
#include "native/cpu/kernels.h"

using namespace hl;

int main(int argc, char** argv) {
  std::vector<int64_t> contexts;
  for (const char* p = argc > 1 ? argv[1] : "1024,32768"; *p;) {
    char* end;
    contexts.push_back(std::strtoll(p, &end, 10));
    p = *end ? end + 1 : end;
  }
  const std::string type = argc > 2 ? argv[2] : "f16";
  const DType dt = type == "f32" ? DType::F32 : type == "q8_0" ? DType::Q8_0 : DType::F16;
  const int64_t page = argc > 3 ? std::atoll(argv[3]) : 16;
  const int reps = argc > 4 ? std::atoi(argv[4]) : 20;
  const int64_t Hq = 12, Hkv = 4, Dh = 64, layers = 4;
  const int64_t elem_bytes = dt == DType::F32 ? 4 : dt == DType::F16 ? 2 : 1;
  const int64_t scale_bytes = dt == DType::Q8_0 ? Hkv * page * ((Dh + kKvQ8Block - 1) / kKvQ8Block) * 4 : 0;
  const int64_t block = (Hkv * page * Dh * elem_bytes + scale_bytes + 63) / 64 * 64;
  const int64_t page_bytes = layers * 2 * block;
  ThreadPool pool(2);
  std::mt19937 rng(1);
  std::normal_distribution<float> normal;
  std::printf("| context | KV | page | ms/token best | ms/token mean | K/V GB/s at best |\n|---:|---|---:|---:|---:|---:|\n");
  for (int64_t ctx : contexts) {
    const int64_t n_pages = (ctx + page - 1) / page;
    std::vector<uint8_t> arena((size_t)(n_pages * page_bytes + 64));
    uint8_t* base = arena.data() + (64 - reinterpret_cast<uintptr_t>(arena.data()) % 64) % 64;
    std::vector<float> src((size_t)(ctx * Hkv * Dh)), q((size_t)(Hq * Dh)), out((size_t)(Hq * Dh));
    for (float& x : src) x = normal(rng);
    for (float& x : q) x = 0.2f * normal(rng);
    std::vector<std::vector<float*>> kp((size_t)layers), vp((size_t)layers);
    for (int64_t l = 0; l < layers; l++) {
      for (int64_t p = 0; p < n_pages; p++) {
        kp[l].push_back(reinterpret_cast<float*>(base + p * page_bytes + 2 * l * block));
        vp[l].push_back(reinterpret_cast<float*>(base + p * page_bytes + (2 * l + 1) * block));
      }
      cpu::kv_write(kp[l].data(), page, src.data(), 0, ctx, Hkv, Dh, dt);
      cpu::kv_write(vp[l].data(), page, src.data(), 0, ctx, Hkv, Dh, dt);
    }
    const AttentionDims dims{Hq, Hkv, Dh, 0.125f};
    const int32_t cu[2] = {0, 1};
    double best = 1e30, sum = 0;
    for (int r = 0; r < reps; r++) {
      const auto t0 = std::chrono::steady_clock::now();
      for (int64_t l = 0; l < layers; l++) {
        const KvView view{kp[l].data(), vp[l].data(), page, page * Dh, Dh, ctx, dt, Hkv * page * Dh};
        cpu::attention(pool, out.data(), q.data(), dims, cu, 1, &view);
      }
      const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
      best = std::min(best, ms);
      sum += ms;
    }
    const double bytes = (double)layers * 2 * ctx * Hkv * (Dh * elem_bytes + scale_bytes / (Hkv * page));
    std::printf("| %lld | %s | %lld | %.3f | %.3f | %.1f |\n", (long long)ctx, type.c_str(), (long long)page, best,
                sum / reps, bytes / best / 1e6);
  }
  return 0;
}
