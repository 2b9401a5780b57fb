/** RMSNorm and gated RMSNorm vs float64 references; bad inputs. */
import { callNative, ArgumentError, ShapeError } from '../../lib/errors';
import { kernels } from '../../lib/kernels';
import { native } from '../../lib/native';
import { Tensor } from '../../lib/tensor';
import { gatedRmsnormRef, rmsnormRef } from '../reference/rmsnorm';
import { expectClose, prng, randn, describeEachDevice } from './helpers';
import { TOL } from './tolerances';

const cases = [
  { T: 1, dim: 1, seed: 1 },
  { T: 3, dim: 31, seed: 2 },
  { T: 4, dim: 32, seed: 3 },
  { T: 5, dim: 33, seed: 4 },
  { T: 7, dim: 127, seed: 5 },
  { T: 2, dim: 1025, seed: 6 },
  { T: 3, dim: 4096 + 16, seed: 7 },
  { T: 300, dim: 64, seed: 8 },
];

describeEachDevice('rmsNorm', (kn) => {
  test.each(cases)('T=$T dim=$dim', async ({ T, dim, seed }) => {
    const r = prng(seed);
    const x = randn(r, [T, dim], 3, 0.5);
    const w = randn(r, [dim], 1, 1);
    const y = await kn.rmsNorm(x, w, { eps: 1e-6 });
    expect(y.shape).toEqual([T, dim]);
    expectClose('rmsNorm', y.data as Float32Array, rmsnormRef(x.data, w.data, T, dim, 1e-6), TOL.elementwise, y.shape);
  });

  test('zero rows stay finite (eps dominates)', async () => {
    const y = await kn.rmsNorm(Tensor.zeros([2, 8]), Tensor.from(new Float32Array(8).fill(1), [8]));
    expect(Array.from(y.data)).toEqual(new Array(16).fill(0));
  });
});

const gatedCases = [
  { T: 1, dim: 8, G: 1, seed: 11 },
  { T: 3, dim: 33, G: 1, seed: 12 },
  { T: 5, dim: 64, G: 2, seed: 13 },
  { T: 9, dim: 96, G: 3, seed: 14 },
  { T: 2, dim: 3072, G: 8, seed: 15 },
  { T: 17, dim: 130, G: 5, seed: 16 },
];

describeEachDevice('gatedRmsNorm', (kn) => {
  test.each(gatedCases)('T=$T dim=$dim G=$G', async ({ T, dim, G, seed }) => {
    const r = prng(seed);
    const x = randn(r, [T, dim]);
    const z = randn(r, [T, dim], 2);
    const w = randn(r, [dim], 0.5, 1);
    const y = await kn.gatedRmsNorm(x, z, w, { nGroups: G, eps: 1e-5 });
    expectClose('gatedRmsNorm', y.data as Float32Array, gatedRmsnormRef(x.data, z.data, w.data, T, dim, G, 1e-5), TOL.elementwise, y.shape);
  });
});

describe('norm bad input', () => {
  const x = Tensor.zeros([3, 4]);
  const w = Tensor.zeros([4]);
  test('wrong rank names the argument', async () => {
    await expect(kernels.rmsNorm(Tensor.zeros([3, 4, 5]), w)).rejects.toThrow(
      new ShapeError('Expected x to have 2 dims [T, dim], got [3, 4, 5]'),
    );
  });
  test('weight length mismatch', async () => {
    await expect(kernels.rmsNorm(x, Tensor.zeros([5]))).rejects.toThrow(/weight dim 0 to be 4/);
    await expect(kernels.rmsNorm(x, Tensor.zeros([5]))).rejects.toBeInstanceOf(ShapeError);
  });
  test('non-tensor and bad options', async () => {
    await expect(kernels.rmsNorm([1, 2] as unknown as Tensor, w)).rejects.toBeInstanceOf(ArgumentError);
    await expect(kernels.rmsNorm(x, w, { eps: NaN })).rejects.toBeInstanceOf(ArgumentError);
    await expect(kernels.gatedRmsNorm(x, x, w, { nGroups: 3 })).rejects.toThrow(/divisible by nGroups/);
  });
  test('native layer re-validates lengths', async () => {
    const call = (f: () => Promise<unknown>) => callNative(f);
    await expect(call(() => native().rmsNorm(new Float32Array(11), new Float32Array(4), 3, 4))).rejects.toThrow(
      /rmsNorm: x has 11 elements, expected 12 = \[nTokens=3, dim=4\]/,
    );
    await expect(call(() => native().rmsNorm(new Float32Array(12), new Float32Array(4), 3.5, 4))).rejects.toBeInstanceOf(ArgumentError);
    await expect(
      call(() => native().gatedRmsNorm(new Float32Array(12), new Float32Array(12), new Float32Array(4), 3, 4, { nGroups: 3 })),
    ).rejects.toBeInstanceOf(ShapeError);
    await expect(call(() => native().rmsNorm(new Float64Array(12) as unknown as Float32Array, new Float32Array(4), 3, 4))).rejects.toThrow(
      /x must be a Float32Array/,
    );
  });
});
