// native/cpu/simd/vec.h: the one vector abstraction the fast CPU kernels are
// written against (kernels_simd.h), instantiated once per ISA.
//
// Each ISA header defines, in its own namespace hl::simd::<isa>, a struct Vec:
//   F, W             f32 register type and its lane count (scalar: float, 1)
//   zero/set1/load/store/add/mul/fma(a, b, c) = a*b + c/hsum
//   load_f16/load_bf16  W halves/bfloats -> F (exact widening)
//   load_i8          W int8 -> F (exact; Q8_0 KV codes)
//   f16(h)           one half -> float (exact)
//   max(a, b)        a > b ? a : b per lane: a NaN lane of `a` keeps b
//   any_gt(a, b)     whether some lane has a > b (ordered: NaN is never greater)
//   exp(x)           e^x per lane (polynomial, ~2 ulp; scalar: std::exp)
//   min(a, b), div(a, b), hmax(v) (largest lane, no NaN lanes)
//   store_i8(p, v)   W lanes holding integers in [-127, 127] -> W int8 at p
//   Q, q8_zero, q8_fma(acc, w, x, scale), q8_hsum:
//                    one 32-element int8 block dot, int32 lanes -> f32, times a
//                    scale, added to acc (w may be -128..127; x must be in
//                    [-127, 127] so AVX2 maddubs pairs cannot saturate);
//                    q8_fma2: two consecutive blocks at once (one zmm on AVX-512)
//   I, A, FA         unsigned-weight int8 dots (kquant_simd.h): I = 32 weight
//                    codes, A = int32 lanes, FA = f32 lanes of A's width;
//                    iload / iload_nib16 (16 bytes -> low nibbles, high nibbles),
//                    ibits(v, s, mask) = (v >> s) & mask and ishl4 per byte, ior,
//                    adot(acc, u, x, s0, s1): acc += s0 * (u . x) over bytes 0-15
//                    and s1 * (u . x) over bytes 16-31 (u in [0, 63]; x int8),
//                    adot1: unscaled; afma(acc, a, s) = acc + f32(a) * s;
//                    fma8(acc, a, b): acc += a[i] * b[i] over 8 floats; fa_hsum
//   IG, ig_*         the int8 GEMM (igemm_simd.h): IG = W int32 lanes, each
//                    also 4 bytes; ig_load (W * 4 bytes), ig_bcast (4 bytes to
//                    every lane), ig_zero, ig_to_f (int32 -> F),
//                    ig_sub(v, s) (v - s per lane); ig_dot2: two ig_dot steps
//                    (u <= 63: AVX2 adds the int16 pairs before widening);
//                    kIgDirectPack: the Vec has ig_transpose<G>(out, p, stride)
//                    (W rows of G bytes -> G / 4 IGs, IG k = bytes 4k..4k+3
//                    of every row), ig_store, ig_flip (^ 0x80 per byte, with
//                    kIgU8Codes), ig_bits(v, s, mask) = (v >> s) & mask and
//                    ig_shl4 per byte, ig_or: igemm_simd.h's direct repack;
//                    ig_dot(acc, u, x): acc[l] += sum_j u[4l + j] * x[4l + j]
//                    (u unsigned codes, x int8 in [-127, 127]); kIgU8Codes: u
//                    may be 0..255 (otherwise 0..127, and ig_dot_signed takes
//                    int8 u); kIgGroups x kIgTokens: the tile (groups of W rows);
//                    kIgMinTokens[3]: igemm's crossover (Q8_0, Q4_0, K-quants)
// The ISA translation units (isa_*.cpp) are the only files compiled with
// wider flags. They include exactly one ISA header, then kernels_simd.h, and
// export one SimdOps table (ops.h); nothing else in the addon sees the
// intrinsics. Because inline functions shared with baseline files could be
// emitted with AVX-512 encodings and picked by the linker, code in these TUs
// uses only its Vec, its own templates and extern libm calls.
#pragma once
#include <cstdint>
#include <cstring>
