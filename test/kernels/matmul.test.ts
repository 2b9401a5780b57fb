/**
 * matmul over F32 / F16 / BF16 / Q8_0 / Q4_0 / Q4_K / Q5_K / Q6_K weights vs a
 * float64 matmul of the dequantized weights (error bounded by 1e-5 of
 * sum |x·w| per output). The block formats run integer dot products on
 * activations rounded to int8 blocks (32 for Q8_0 / Q4_0, 256 for the
 * K-quants), so their reference uses the *same* rounded activations
 * (docs/KERNELS.md, Matmul). The block-format grid runs every token count
 * through the GEMV and int8 GEMM paths (repacked row groups with odd tails,
 * several row blocks per thread). Embedding lookup over every dtype; bad inputs.
 */
import { callNative, ArgumentError, ShapeError, UnsupportedError } from '../../lib/errors';
import { kernels } from '../../lib/kernels';
import { native } from '../../lib/native';
import { Tensor, bf16BitsToF32, f16BitsToF32, type TensorDType } from '../../lib/tensor';
import { q8ActivationBlock, q8RoundActivations } from '../../lib/quant/q8-activations';
import { matmulRef } from '../reference/matmul';
import { expectEqualArrays, prng, randn, describeEachDevice } from './helpers';
import { MATMUL_REL } from './tolerances';

function weight(w: Tensor, dtype: TensorDType): Tensor {
  return dtype === 'f32' ? w : Tensor.quantize(w, dtype);
}

const cases: { T: number; N: number; K: number; dtype: TensorDType; seed: number }[] = [
  { T: 1, N: 1, K: 1, dtype: 'f32', seed: 1 },
  { T: 3, N: 5, K: 31, dtype: 'f32', seed: 2 },
  { T: 17, N: 67, K: 33, dtype: 'f32', seed: 3 },
  { T: 64, N: 130, K: 96 + 16, dtype: 'f32', seed: 4 },
  { T: 1, N: 7, K: 33, dtype: 'f16', seed: 5 },
  { T: 5, N: 67, K: 127, dtype: 'f16', seed: 6 },
  { T: 2, N: 33, K: 1025, dtype: 'f16', seed: 7 },
  { T: 1, N: 3, K: 80, dtype: 'bf16', seed: 8 },
  { T: 9, N: 64, K: 131, dtype: 'bf16', seed: 9 },
  { T: 1, N: 1, K: 32, dtype: 'q8_0', seed: 10 },
  { T: 3, N: 31, K: 96, dtype: 'q8_0', seed: 11 },
  { T: 33, N: 67, K: 256, dtype: 'q8_0', seed: 12 },
  { T: 4, N: 70, K: 4096, dtype: 'q8_0', seed: 13 },
  { T: 65, N: 9, K: 4096 + 32, dtype: 'f16', seed: 14 },
  { T: 5, N: 4, K: 33, dtype: 'f16', seed: 15 },
  { T: 4, N: 5, K: 17, dtype: 'bf16', seed: 16 },
  { T: 7, N: 13, K: 1056, dtype: 'q8_0', seed: 17 },
  { T: 1, N: 5, K: 32, dtype: 'q4_0', seed: 20 },
  { T: 6, N: 33, K: 1024 + 32, dtype: 'q4_0', seed: 21 },
  { T: 3, N: 4, K: 96, dtype: 'q4_0', seed: 27 },
  { T: 1, N: 3, K: 256, dtype: 'q4_k', seed: 22 },
  { T: 9, N: 17, K: 768, dtype: 'q4_k', seed: 23 },
  { T: 4, N: 40, K: 2048, dtype: 'q4_k', seed: 28 },
  { T: 2, N: 9, K: 512, dtype: 'q5_k', seed: 24 },
  { T: 7, N: 5, K: 1792, dtype: 'q5_k', seed: 29 },
  { T: 1, N: 7, K: 256, dtype: 'q6_k', seed: 25 },
  { T: 5, N: 31, K: 1280, dtype: 'q6_k', seed: 26 },
  { T: 13, N: 6, K: 512, dtype: 'q6_k', seed: 30 },
];

// Every block format x token counts on both sides of each path switch (GEMV
// tiles of 4, int8 GEMM tiles of 3..6 tokens), row counts that leave partial
// row groups (groups of 8 / 16 rows), and (q8_0 K=2048) several repacked row
// blocks per thread. Sizes stay small: the float64 reference runs in JS.
const BLOCK_DTYPES: TensorDType[] = ['q8_0', 'q4_0', 'q4_k', 'q5_k', 'q6_k'];
const GRID_TOKENS = [1, 2, 3, 4, 5, 7, 8, 16, 17, 33, 64, 130];
const blockGrid = [
  ...BLOCK_DTYPES.flatMap((dtype, d) =>
    GRID_TOKENS.map((T, i) => ({
      T,
      N: T >= 64 ? 21 : [37, 16, 53][i % 3],
      K: T < 64 && i % 2 ? 512 : 256,
      dtype,
      seed: 100 + 20 * d + i,
    })),
  ),
  { T: 12, N: 150, K: 2048, dtype: 'q8_0' as TensorDType, seed: 199 },
  { T: 9, N: 21, K: 96, dtype: 'q4_0' as TensorDType, seed: 198 },
];

describeEachDevice('matmul vs float64 over dequantized weights', (kn, device) => {
  test.each([...cases, ...blockGrid])('$dtype T=$T N=$N K=$K', async ({ T, N, K, dtype, seed }) => {
    const r = prng(seed);
    const x = randn(r, [T, K]);
    const w = weight(randn(r, [N, K], 0.5), dtype);
    const y = await kn.matmul(x, w);
    expect(y.shape).toEqual([T, N]);
    // (The CUDA backend rounds activations for Q8_0 only.)
    const block = device === 'cpu' || dtype === 'q8_0' ? q8ActivationBlock(dtype) : null;
    const xs = block ? q8RoundActivations(x.data, K, block) : x.data;
    const { y: ref, absSum } = matmulRef(xs, w.toFloat32().data, T, N, K);
    for (let i = 0; i < ref.length; i++) {
      const err = Math.abs(y.data[i] - ref[i]);
      if (!(err <= MATMUL_REL * absSum[i] + 1e-30))
        throw new Error(
          `matmul ${dtype}: out[${Math.floor(i / N)}, ${i % N}] got ${y.data[i]} ref ${ref[i]}: |err| ${err.toExponential(3)} > ` +
            `${MATMUL_REL} * sum|x w| ${absSum[i].toExponential(3)}`,
        );
    }
  });
});

// From 16 tokens a matmul call quantizes / packs its activations once for
// all thread pieces (shared preparation); below, each piece does it for
// itself. Per token the arithmetic is the same, so a 24-token call must equal
// its two 12-token halves bit for bit (12 tokens: above every ISA's int8 GEMM
// crossover and the f32 GEMV cut, so both sides run the same GEMM paths).
describe('matmul with shared activation preparation == per-piece preparation [cpu]', () => {
  test.each(['f32', 'f16', 'bf16', 'q8_0', 'q4_0', 'q4_k', 'q5_k', 'q6_k'] as TensorDType[])('%s', async (dtype) => {
    const r = prng(77);
    const T = 24, N = 300, K = 512;
    const x = randn(r, [T, K]);
    const w = weight(randn(r, [N, K], 0.5), dtype);
    const whole = await kernels.matmul(x, w);
    const half = (t0: number) => new Tensor('f32', [12, K], x.data.slice(t0 * K, (t0 + 12) * K));
    const a = await kernels.matmul(half(0), w);
    const b = await kernels.matmul(half(12), w);
    expectEqualArrays(`${dtype} tokens 0..11`, whole.data.subarray(0, 12 * N), a.data);
    expectEqualArrays(`${dtype} tokens 12..23`, whole.data.subarray(12 * N), b.data);
  });
});

describeEachDevice('embed', (kn) => {
  test.each([
    { V: 50, D: 33, dtype: 'f32' as const, scale: 1 },
    { V: 50, D: 64, dtype: 'f16' as const, scale: 10 },
    { V: 7, D: 31, dtype: 'bf16' as const, scale: 0.5 },
    { V: 300, D: 96, dtype: 'q8_0' as const, scale: 12 },
    { V: 9, D: 64, dtype: 'q4_0' as const, scale: 1 },
    { V: 9, D: 512, dtype: 'q4_k' as const, scale: 2 },
    { V: 5, D: 256, dtype: 'q5_k' as const, scale: 1 },
    { V: 6, D: 256, dtype: 'q6_k' as const, scale: 3 },
  ])('$dtype V=$V D=$D scale=$scale', async ({ V, D, dtype, scale }) => {
    const r = prng(V + D);
    const table = weight(randn(r, [V, D]), dtype);
    const ids = [0, V - 1, 3 % V, Math.floor(V / 2), 0];
    const out = await kn.embed(ids, table, { scale });
    const deq = table.toFloat32().data;
    const want = new Float32Array(ids.length * D);
    ids.forEach((id, t) => {
      for (let i = 0; i < D; i++) want[t * D + i] = Math.fround(deq[id * D + i] * scale);
    });
    expect(out.shape).toEqual([ids.length, D]);
    expectEqualArrays('embed', out.data, want);
  });
});

describeEachDevice('exhaustive 16-bit conversions (native widening == TS decoding)', (kn) => {
  test.each([
    { dtype: 'f16' as const, decode: f16BitsToF32 },
    { dtype: 'bf16' as const, decode: bf16BitsToF32 },
  ])('$dtype: all 65536 bit patterns', async ({ dtype, decode }) => {
    const bits = new Uint16Array(65536).map((_, i) => i);
    const table = new Tensor(dtype, [65536, 1], new Uint8Array(bits.buffer));
    const out = await kn.embed(Int32Array.from(bits), table);
    expectEqualArrays(dtype, out.data, Float32Array.from(bits, decode));
  });
});

describe('matmul / embed bad input', () => {
  test('TS checks', async () => {
    await expect(kernels.matmul(Tensor.zeros([2, 8]), Tensor.zeros([3, 9]))).rejects.toThrow(/weight dim 1 to be 8/);
    await expect(kernels.matmul(Tensor.zeros([2, 8]), Tensor.zeros([3, 8, 1]))).rejects.toBeInstanceOf(ShapeError);
    await expect(kernels.embed([0, 5], Tensor.zeros([5, 4]))).rejects.toThrow(/ids\[1\] to be an integer in \[0, V = 5\), got 5/);
    await expect(kernels.embed([0.5], Tensor.zeros([5, 4]))).rejects.toBeInstanceOf(ArgumentError);
    expect(() => Tensor.quantize(Tensor.zeros([2, 33]), 'q8_0')).toThrow(ShapeError);
  });
  test('native layer re-validates', async () => {
    const n = native();
    const x = new Float32Array(64);
    await expect(callNative(() => n.matmul(x, new Uint8Array(34 * 3), 2, 3, 32, 8))).resolves.toHaveLength(6);
    await expect(callNative(() => n.matmul(x, new Uint8Array(34 * 3 - 1), 2, 3, 32, 8))).rejects.toThrow(
      /weight has 101 bytes, expected 102 for \[rows=3, cols=32\] Q8_0/,
    );
    await expect(callNative(() => n.matmul(new Float32Array(66), new Uint8Array(3 * 33 * 2), 2, 3, 33, 8))).rejects.toThrow(
      /multiple of 32 columns/,
    );
    await expect(callNative(() => n.matmul(x, new Uint8Array(18 * 3), 2, 3, 32, 2))).resolves.toHaveLength(6);
    await expect(callNative(() => n.matmul(x, new Uint8Array(20 * 3), 2, 3, 32, 3))).rejects.toBeInstanceOf(UnsupportedError);
    await expect(callNative(() => n.matmul(x, new Uint8Array(18 * 3), 2, 3, 32, 77))).rejects.toBeInstanceOf(UnsupportedError);
    await expect(callNative(() => n.embed(Int32Array.of(0, -1), new Float32Array(20), 5, 4, 0))).rejects.toThrow(
      /ids\[1\] = -1 is out of range \[0, 5\)/,
    );
    await expect(callNative(() => n.embed(Int32Array.of(0), new Float32Array(20), 5, 4, 0, { scale: Infinity }))).rejects.toBeInstanceOf(
      ArgumentError,
    );
  });
});
