// test/kernels/native/simd_consistency.cpp: every SimdOps table this build has
// vs the scalar table, on random inputs and odd sizes. The jest suites test
// the x86 paths through the addon, and simd-consistency.test.ts runs this
// program against the build's objects; it is also how the NEON path is
// checked without arm hardware (cross-compiled, run under qemu-user):
//   aarch64-linux-gnu-g++ -std=c++17 -O2 -ffp-contract=off -I. -static \
//     test/kernels/native/simd_consistency.cpp native/cpu/simd/isa_*.cpp native/cpu/simd_dispatch.cpp \
//     native/cpu/cpu_features.cpp -o /tmp/simd_check && qemu-aarch64 /tmp/simd_check
// (natively: g++ with the per-ISA flags of CMakeLists.txt, or link the build's objects.)
// Exact equality where the math is exact (activation quantization, block
// decoding); relative error bounds elsewhere. Exit status 1 on any mismatch.
#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <random>
#include <vector>

#include "native/core/dtype.h"
#include "native/cpu/cpu_features.h"
#include "native/cpu/simd/ops.h"

using namespace hl;
using namespace hl::cpu;

static int failures = 0;
static std::mt19937 rng(7);

static std::vector<float> randv(size_t n, float s = 1.0f) {
  std::normal_distribution<float> g(0.0f, s);
  std::vector<float> v(n);
  for (auto& x : v) x = g(rng);
  return v;
}

static void check(const char* isa, const char* what, const float* got, const float* ref, size_t n, double tol) {
  double scale = 1e-30;
  for (size_t i = 0; i < n; i++) scale = std::max(scale, (double)std::fabs(ref[i]));
  for (size_t i = 0; i < n; i++)
    if (!(std::fabs((double)got[i] - ref[i]) <= tol * scale)) {
      std::printf("FAIL %s %s: [%zu] got %g ref %g\n", isa, what, i, got[i], ref[i]);
      failures++;
      return;
    }
}

static void run(const SimdOps& o, const SimdOps& s) {
  const char* isa = o.name;
  for (int64_t n : {1, 7, 16, 33, 128, 1025}) {
    auto a = randv(n), b = randv(n);
    float g = o.dot_f32(a.data(), b.data(), n), r = s.dot_f32(a.data(), b.data(), n);
    check(isa, "dot_f32", &g, &r, 1, 1e-4 * std::sqrt((double)n));
    auto y1 = b, y2 = b;
    o.axpy_f32(y1.data(), 0.5f, a.data(), n);
    s.axpy_f32(y2.data(), 0.5f, a.data(), n);
    check(isa, "axpy_f32", y1.data(), y2.data(), n, 1e-6);
    std::vector<float> p1(n), p2(n);
    float s1 = o.exp_sub_sum(p1.data(), a.data(), n, 0.7f), s2 = s.exp_sub_sum(p2.data(), a.data(), n, 0.7f);
    check(isa, "exp_sub_sum", p1.data(), p2.data(), n, 1e-6);
    check(isa, "exp_sub_sum sum", &s1, &s2, 1, 1e-6);
    // sampler scans: exact (a max and a comparison round nothing)
    auto m = a;
    if (n > 3) m[n / 2] = NAN;
    float mx1 = o.max_f32(m.data(), n), mx2 = s.max_f32(m.data(), n);
    if (mx1 != mx2) {
      std::printf("FAIL %s max_f32 n=%lld: %g vs %g\n", isa, (long long)n, mx1, mx2);
      failures++;
    }
    for (float t : {-1.0f, 0.5f, 2.5f})
      for (int64_t from : {int64_t(0), n / 3})
        if (o.first_gt(m.data(), from, n, t) != s.first_gt(m.data(), from, n, t)) {
          std::printf("FAIL %s first_gt n=%lld t=%g\n", isa, (long long)n, t);
          failures++;
        }
    for (int64_t Dh : {64, 80, 7}) {
      auto v = randv(n * Dh), o1 = randv(Dh), o2 = o1;
      std::vector<const float*> vr(n);
      for (int64_t j = 0; j < n; j++) vr[j] = v.data() + j * Dh;
      o.pv_accumulate(o1.data(), p1.data(), vr.data(), n, Dh);
      s.pv_accumulate(o2.data(), p1.data(), vr.data(), n, Dh);
      check(isa, "pv_accumulate", o1.data(), o2.data(), Dh, 1e-4);
    }
  }
  // attn_rows: R rows over n strided keys (ld = one row of 3 heads), starting
  // from a running state that a first call over part of the keys left.
  for (int64_t Dh : {64, 80, 7, 128})
    for (int64_t R : {1, 3, 4, 6})
      for (int64_t n : {1, 16, 70}) {
        const int64_t ld = 3 * Dh;
        auto q = randv(R * Dh), kf = randv(n * ld), vf = randv(n * ld);
        std::vector<uint16_t> kh(n * ld), vh(n * ld);
        for (int64_t i = 0; i < n * ld; i++) kh[i] = f32_to_f16(kf[i]), vh[i] = f32_to_f16(vf[i]);
        std::vector<const float*> qr(R);
        for (int64_t r = 0; r < R; r++) qr[r] = q.data() + r * Dh;
        for (RowKind kind : {RowKind::F32, RowKind::F16}) {
          const bool f16 = kind == RowKind::F16;
          const auto* k = f16 ? reinterpret_cast<const uint8_t*>(kh.data()) : reinterpret_cast<const uint8_t*>(kf.data());
          const auto* v = f16 ? reinterpret_cast<const uint8_t*>(vh.data()) : reinterpret_cast<const uint8_t*>(vf.data());
          const int64_t ldb = ld * (f16 ? 2 : 4), first = n / 2;
          std::vector<float> st1(R * (Dh + 2)), st2;
          for (int64_t r = 0; r < R; r++) st1[r] = -INFINITY, st1[R + r] = 0.0f;
          st2 = st1;
          for (auto [t, st] : {std::pair{&o, &st1}, std::pair{&s, &st2}}) {
            float *m = st->data(), *l = m + R, *out = l + R;
            const AttnPrefetch rest{k + first * ldb, v + first * ldb, ldb, n - first};
            t->attn_rows(m, l, out, qr.data(), R, k, v, ldb, first, Dh, 0.3f, kind, rest);
            t->attn_rows(m, l, out, qr.data(), R, rest.k, rest.v, ldb, n - first, Dh, 0.3f, kind, AttnPrefetch{});
          }
          check(isa, "attn_rows", st1.data(), st2.data(), st1.size(), 1e-4);
        }
      }
  // attn_rows_q8: the same over Q8_0 rows (codes ld bytes apart, a scale per
  // 32 codes lds floats apart; Dh 80 ends in a partial block, 7 in a tail).
  for (int64_t Dh : {64, 80, 7, 128})
    for (int64_t R : {1, 3, 4, 6})
      for (int64_t n : {1, 16, 70}) {
        const int64_t ld = 3 * Dh, nb = (Dh + 31) / 32, lds = 3 * nb;
        auto q = randv(R * Dh), kd = randv(n * lds, 0.02f), vd = randv(n * lds, 0.02f);
        std::vector<int8_t> kc(n * ld), vc(n * ld);
        std::mt19937 gen(7);
        std::uniform_int_distribution<int> code(-127, 127);
        for (int64_t i = 0; i < n * ld; i++) kc[i] = (int8_t)code(gen), vc[i] = (int8_t)code(gen);
        std::vector<const float*> qr(R);
        for (int64_t r = 0; r < R; r++) qr[r] = q.data() + r * Dh;
        const int64_t first = n / 2;
        std::vector<float> st1(R * (Dh + 2)), st2;
        for (int64_t r = 0; r < R; r++) st1[r] = -INFINITY, st1[R + r] = 0.0f;
        st2 = st1;
        for (auto [t, st] : {std::pair{&o, &st1}, std::pair{&s, &st2}}) {
          float *m = st->data(), *l = m + R, *out = l + R;
          const Q8Run head{kc.data(), kd.data(), vc.data(), vd.data(), ld, lds};
          const Q8Run rest{kc.data() + first * ld, kd.data() + first * lds, vc.data() + first * ld,
                           vd.data() + first * lds, ld, lds};
          t->attn_rows_q8(m, l, out, qr.data(), R, head, first, Dh, 0.3f, rest, n - first);
          t->attn_rows_q8(m, l, out, qr.data(), R, rest, n - first, Dh, 0.3f, Q8Run{}, 0);
        }
        check(isa, "attn_rows_q8", st1.data(), st2.data(), st1.size(), 1e-4);
      }
  const std::vector<std::array<int64_t, 3>> shapes = {{1, 9, 33}, {3, 13, 128}, {5, 8, 1536}, {37, 19, 96}};
  for (auto [T, N, K] : shapes) {
    auto x = randv(T * K), wf = randv(N * K, 0.1f);
    std::vector<uint16_t> wh(N * K);
    for (int64_t i = 0; i < N * K; i++) wh[i] = f32_to_f16(wf[i]);
    std::vector<const float*> xr(T);
    for (int64_t t = 0; t < T; t++) xr[t] = x.data() + t * K;
    for (RowKind kind : {RowKind::F32, RowKind::F16, RowKind::BF16}) {
      std::vector<const uint8_t*> wr(N);
      for (int64_t r = 0; r < N; r++)
        wr[r] = kind == RowKind::F32 ? reinterpret_cast<const uint8_t*>(wf.data() + r * K)
                                     : reinterpret_cast<const uint8_t*>(wh.data() + r * K);
      std::vector<float> y1(T * N), y2(T * N);
      o.gemm(y1.data(), N, xr.data(), T, wr.data(), N, K, kind);
      s.gemm(y2.data(), N, xr.data(), T, wr.data(), N, K, kind);
      check(isa, "gemm", y1.data(), y2.data(), T * N, 1e-4);
    }
    // packed prefill form vs scalar gemm
    std::vector<const float*> wfr(N);
    for (int64_t r = 0; r < N; r++) wfr[r] = wf.data() + r * K;
    std::vector<float> y1(T * N), y2(T * N);
    std::vector<float> xt(o.x_panel * K);
    for (int64_t t0 = 0; t0 < T; t0 += o.x_panel) {
      int64_t nt = std::min<int64_t>(o.x_panel, T - t0);
      o.pack_x(xt.data(), xr.data() + t0, nt, K);
      o.gemm_xt(y1.data() + t0 * N, N, xt.data(), nt, wfr.data(), N, K, false);
    }
    std::vector<const uint8_t*> wr(N);
    for (int64_t r = 0; r < N; r++) wr[r] = reinterpret_cast<const uint8_t*>(wfr[r]);
    s.gemm(y2.data(), N, xr.data(), T, wr.data(), N, K, RowKind::F32);
    check(isa, "gemm_xt", y1.data(), y2.data(), T * N, 1e-4);
    // activation quantization is exact: compare bytes, scales and both sums
    for (int64_t block : {32, 256}) {
      if (K % block != 0) continue;
      std::vector<int8_t> q1(T * K), q2(T * K);
      std::vector<float> d1(T * K / block), d2(T * K / block), a1(T * K / 16), a2(T * K / 16), b1(T * K / 32),
          b2(T * K / 32);
      for (int64_t t = 0; t < T; t++) {
        o.quantize_act(q1.data() + t * K, d1.data() + t * K / block, a1.data() + t * K / 16, b1.data() + t * K / 32,
                       xr[t], K, block);
        s.quantize_act(q2.data() + t * K, d2.data() + t * K / block, a2.data() + t * K / 16, b2.data() + t * K / 32,
                       xr[t], K, block);
      }
      if (q1 != q2 || d1 != d2 || a1 != a2 || b1 != b2) {
        std::printf("FAIL %s quantize_act (block %d) differs\n", isa, (int)block);
        failures++;
      }
    }
    {
      // SiLU: polynomial exp on the SIMD tables, std::exp on scalar
      std::vector<float> g = randv(T * K, 8.0f), u = randv(T * K), z1(T * K), z2(T * K);
      o.silu_mul(z1.data(), g.data(), u.data(), T * K);
      s.silu_mul(z2.data(), g.data(), u.data(), T * K);
      check(isa, "silu_mul", z1.data(), z2.data(), T * K, 1e-6);
    }
    if (K % 32 == 0) {
      std::vector<int8_t> q2(T * K);
      std::vector<float> d2(T * K / 32);
      for (int64_t t = 0; t < T; t++)
        s.quantize_act(q2.data() + t * K, d2.data() + t * K / 32, nullptr, nullptr, xr[t], K, 32);
      std::vector<uint8_t> wq(N * K / 32 * 34);
      for (auto& b : wq) b = (uint8_t)rng();
      for (int64_t blk = 0; blk < N * K / 32; blk++) {  // sane scales
        uint16_t h = f32_to_f16(0.01f * (float)(blk % 7 + 1));
        std::memcpy(&wq[blk * 34], &h, 2);
      }
      std::vector<const uint8_t*> qr(N);
      std::vector<const int8_t*> xq(T);
      std::vector<const float*> xd(T);
      for (int64_t r = 0; r < N; r++) qr[r] = wq.data() + r * (K / 32) * 34;
      for (int64_t t = 0; t < T; t++) xq[t] = q2.data() + t * K, xd[t] = d2.data() + t * K / 32;
      o.gemm_q8_0(y1.data(), N, xq.data(), xd.data(), T, qr.data(), N, K);
      s.gemm_q8_0(y2.data(), N, xq.data(), xd.data(), T, qr.data(), N, K);
      check(isa, "gemm_q8_0", y1.data(), y2.data(), T * N, 1e-4);
    }
  }
  // block decoders: random bytes (finite scales), bit-exact
  const std::vector<std::array<int, 3>> formats = {{8, 34, 32}, {2, 18, 32}, {12, 144, 256}, {13, 176, 256}, {14, 210, 256}};
  for (auto [type, bytes, elems] : formats) {
    const int nb = 8;
    std::vector<uint8_t> src(nb * bytes);
    for (auto& b : src) b = (uint8_t)rng();
    for (int blk = 0; blk < nb; blk++) {
      uint16_t h = f32_to_f16(0.37f * (blk - 3)), h2 = f32_to_f16(-0.11f * blk);
      int off = type == 14 ? 208 : 0;
      std::memcpy(&src[blk * bytes + off], &h, 2);
      if (type == 12 || type == 13) std::memcpy(&src[blk * bytes + 2], &h2, 2);
    }
    std::vector<float> y1(nb * elems), y2(nb * elems);
    if (type != 8) {  // gemm_kq: 2 rows of nb * elems / 2, 1..5 tokens (one full tile and a tail)
      const int64_t K = nb * elems / 2, block = type == 2 ? 32 : 256;
      auto x = randv(5 * K);
      std::vector<int8_t> q(5 * K);
      std::vector<float> d(5 * K / block);
      std::vector<float> s16(5 * K / 16), s32(5 * K / 32);
      QAct xa[5];
      for (int t = 0; t < 5; t++) {
        s.quantize_act(q.data() + t * K, d.data() + t * K / block, s16.data() + t * K / 16, s32.data() + t * K / 32,
                       x.data() + t * K, K, block);
        xa[t] = QAct{q.data() + t * K, d.data() + t * K / block, s16.data() + t * K / 16, s32.data() + t * K / 32};
      }
      const uint8_t* wr[2] = {src.data(), src.data() + nb / 2 * bytes};
      for (int n_x : {1, 5}) {
        float g1[10], g2[10];
        o.gemm_kq(g1, 2, xa, n_x, wr, 2, K, type);
        s.gemm_kq(g2, 2, xa, n_x, wr, 2, K, type);
        check(isa, "gemm_kq", g1, g2, 2 * n_x, 1e-4);
      }
    }
    o.dequant(type, src.data(), y1.data(), nb * elems);
    s.dequant(type, src.data(), y2.data(), nb * elems);
    if (std::memcmp(y1.data(), y2.data(), y1.size() * 4) != 0) {
      std::printf("FAIL %s dequant type %d not bit-exact\n", isa, type);
      failures++;
    }
  }
  for (int64_t N : {128, 64, 100, 16, 3}) {
    const int64_t nt = 9, st = N + 5;
    auto S1 = randv(N), B = randv(nt * st), C = randv(nt * st), da = randv(nt), dx = randv(nt);
    for (auto& v : da) v = std::exp(-std::fabs(v));
    auto S2 = S1;
    std::vector<float> y1(nt), y2(nt);
    o.ssm_row_scan(S1.data(), N, B.data(), C.data(), st, da.data(), dx.data(), y1.data(), nt);
    s.ssm_row_scan(S2.data(), N, B.data(), C.data(), st, da.data(), dx.data(), y2.data(), nt);
    check(isa, "ssm_row_scan y", y1.data(), y2.data(), nt, 1e-5);
    check(isa, "ssm_row_scan S", S1.data(), S2.data(), N, 1e-5);
  }
}

// The int8 GEMM (repack + tiles) of table o vs the scalar GEMV (gemm_kq /
// gemm_q8_0) on random block bytes with sane scales: every format, token
// counts around the tile sizes, row counts with partial row groups.
static void run_igemm(const SimdOps& o, const SimdOps& s) {
  const std::vector<std::array<int, 3>> formats = {{8, 34, 32}, {2, 18, 32}, {12, 144, 256}, {13, 176, 256}, {14, 210, 256}};
  for (auto [type, bytes, elems] : formats)
    for (int64_t K : {256, 768}) {
      const int64_t N = 37, nb = N * K / elems, block = type == 8 || type == 2 ? 32 : 256;
      std::vector<uint8_t> src(nb * bytes);
      for (auto& b : src) b = (uint8_t)rng();
      for (int64_t blk = 0; blk < nb; blk++) {
        uint16_t h = f32_to_f16(0.01f * (float)(blk % 7 + 1)), h2 = f32_to_f16(0.003f * (float)(blk % 5));
        std::memcpy(&src[blk * bytes + (type == 14 ? 208 : 0)], &h, 2);
        if (type == 12 || type == 13) std::memcpy(&src[blk * bytes + 2], &h2, 2);
      }
      std::vector<const uint8_t*> wr(N);
      for (int64_t r = 0; r < N; r++) wr[r] = src.data() + r * (K / elems) * bytes;
      const int64_t T = 13;
      auto x = randv(T * K);
      std::vector<int8_t> q(T * K);
      std::vector<float> d(T * K / block), s16(T * K / 16), s32(T * K / 32);
      std::vector<QAct> xa(T);
      std::vector<const int8_t*> xq(T);
      std::vector<const float*> xd(T);
      for (int64_t t = 0; t < T; t++) {
        s.quantize_act(q.data() + t * K, d.data() + t * K / block, s16.data() + t * K / 16, s32.data() + t * K / 32,
                       x.data() + t * K, K, block);
        xa[t] = QAct{q.data() + t * K, d.data() + t * K / block, s16.data() + t * K / 16, s32.data() + t * K / 32};
        xq[t] = xa[t].q, xd[t] = xa[t].d;
      }
      std::vector<uint8_t> packed(o.igemm_packed_bytes(type, N, K) + 64);
      uint8_t* pk = packed.data() + (64 - reinterpret_cast<uintptr_t>(packed.data()) % 64) % 64;
      o.igemm_pack(pk, type, wr.data(), N, K);
      for (int64_t n_x : {1, 3, 5, 7, 13}) {
        std::vector<float> y1(n_x * N), y2(n_x * N);
        o.igemm(y1.data(), N, xa.data(), n_x, pk, N, K, type);
        if (type == 8) s.gemm_q8_0(y2.data(), N, xq.data(), xd.data(), n_x, wr.data(), N, K);
        else s.gemm_kq(y2.data(), N, xa.data(), n_x, wr.data(), N, K, type);
        char what[64];
        std::snprintf(what, sizeof what, "igemm type %d K=%lld T=%lld", type, (long long)K, (long long)n_x);
        check(o.name, what, y1.data(), y2.data(), y1.size(), 1e-5);
      }
    }
}

// igemm_pack (the direct repack from equally spaced rows where the table has
// one) vs igemm_pack_reference (row by row) of the same table, byte for byte:
// random block bytes (any scale bits), full and partial row groups, several
// K, rows row_bytes apart, further apart, and not equally spaced.
static void run_igemm_pack(const SimdOps& o) {
  const std::vector<std::array<int, 3>> formats = {{8, 34, 32}, {2, 18, 32}, {12, 144, 256}, {13, 176, 256}, {14, 210, 256}};
  for (auto [type, bytes, elems] : formats)
    for (int64_t K : {256, 512, 1536})
      for (int64_t N : {1, 5, 16, 37, 64})
        for (int spacing = 0; spacing < 3; spacing++) {  // row_bytes apart, 24 bytes more, uneven
          const int64_t row_bytes = K / elems * bytes, pitch = row_bytes + (spacing ? 24 : 0);
          std::vector<uint8_t> src(N * pitch + 48 * N);
          for (auto& b : src) b = (uint8_t)rng();
          std::vector<const uint8_t*> wr(N);
          for (int64_t r = 0; r < N; r++) wr[r] = src.data() + r * pitch + (spacing == 2 ? 24 * (r % 3) : 0);
          const size_t n = (size_t)o.igemm_packed_bytes(type, N, K);
          std::vector<uint8_t> got(n + 64, 0xa5), ref(n + 64, 0x5a);
          o.igemm_pack(got.data(), type, wr.data(), N, K);
          o.igemm_pack_reference(ref.data(), type, wr.data(), N, K);
          for (size_t i = 0; i < n; i++)
            if (got[i] != ref[i]) {
              std::printf("FAIL %s igemm_pack type %d K=%lld N=%lld spacing %d: byte %zu is %d, reference %d\n", o.name,
                          type, (long long)K, (long long)N, spacing, i, got[i], ref[i]);
              failures++;
              break;
            }
        }
}

int main() {
  const SimdOps* s = simd_ops_scalar();
  int n = 0;
  const CpuFeatures& f = cpu_features();
  const bool avx2 = f.avx2 && f.fma && f.f16c, avx512 = avx2 && f.avx512bw && f.avx512vl && f.avx512vnni;
  run_igemm(*s, *s);
  run_igemm_pack(*s);
  for (const SimdOps* o : {avx2 ? simd_ops_avx2() : nullptr, avx512 ? simd_ops_avx512() : nullptr, simd_ops_neon()}) {
    if (!o) continue;  // not built for this arch, or this CPU lacks the ISA
    run(*o, *s);
    run_igemm(*o, *s);
    run_igemm_pack(*o);
    n++;
    std::printf("%s vs scalar: %s\n", o->name, failures ? "FAIL" : "ok");
  }
  std::printf("%d table(s) checked, %d failure(s)\n", n, failures);
  return failures ? 1 : 0;
}
