/** Causal depthwise conv1d (prefill + step) vs float64 reference, state carry, bad inputs. */
import { callNative, ArgumentError, ShapeError } from '../../lib/errors';
import { kernels } from '../../lib/kernels';
import { native } from '../../lib/native';
import { Tensor } from '../../lib/tensor';
import { conv1dRef } from '../reference/conv1d';
import { cuFrom, expectClose, prng, randn, rows, describeEachDevice } from './helpers';
import { SAME_MATH, TOL } from './tolerances';

interface Case {
  lengths: number[];
  C: number;
  W: number;
  seed: number;
  bias?: boolean;
  state?: boolean;
}

const cases: Case[] = [
  { lengths: [1], C: 1, W: 4, seed: 1 },
  { lengths: [2], C: 31, W: 4, seed: 2, bias: true },
  { lengths: [3], C: 32, W: 4, seed: 3, bias: true, state: true },
  { lengths: [4], C: 33, W: 4, seed: 4, state: true },
  { lengths: [7], C: 65, W: 2, seed: 5, bias: true, state: true },
  { lengths: [5], C: 16, W: 1, seed: 6, bias: true },
  { lengths: [1025], C: 24, W: 4, seed: 7, bias: true, state: true },
  { lengths: [1026], C: 130, W: 4, seed: 8, bias: true },
  { lengths: [3, 1, 0, 10, 2], C: 67, W: 4, seed: 9, bias: true, state: true },
  { lengths: [13, 64, 1], C: 129, W: 3, seed: 10, bias: true, state: true },
];

describeEachDevice('causalConv1d vs reference', (kn) => {
  test.each(cases)('lengths=$lengths C=$C W=$W', async (c) => {
    const r = prng(c.seed);
    const cu = cuFrom(c.lengths);
    const S = c.lengths.length;
    const T = cu[S];
    const x = randn(r, [T, c.C]);
    const w = randn(r, [c.C, c.W], 0.5);
    const bias = c.bias ? randn(r, [c.C]) : undefined;
    const state = c.state ? randn(r, [S, c.W - 1, c.C]) : undefined;
    const got = await kn.causalConv1d(x, w, { bias, initialState: state, cuSeqlens: cu });
    const ref = conv1dRef(x.data, w.data, bias?.data ?? null, c.C, c.W, cu, state?.data ?? null);
    expectClose('out', got.out.data as Float32Array, ref.out, TOL.elementwise, got.out.shape);
    expect(got.state.shape).toEqual([S, c.W - 1, c.C]);
    expectClose('state', got.state.data as Float32Array, ref.states, { rtol: 0, atol: 0, nmse: 0 }, got.state.shape);
  });
});

describeEachDevice('causalConv1d state carry', (kn) => {
  // Split one sequence into consecutive calls (pieces shorter than W-1 included).
  const splits = [
    { T: 10, pieces: [4, 6], C: 40, W: 4, seed: 21 },
    { T: 9, pieces: [1, 1, 1, 6], C: 65, W: 4, seed: 22 },
    { T: 33, pieces: [2, 31], C: 8, W: 4, seed: 23 },
  ];
  test.each(splits)('pieces $pieces == one call', async ({ T, pieces, C, W, seed }) => {
    const r = prng(seed);
    const x = randn(r, [T, C]);
    const w = randn(r, [C, W]);
    const bias = randn(r, [C]);
    const whole = await kn.causalConv1d(x, w, { bias });
    let state: Tensor | undefined;
    let t0 = 0;
    const outs: number[] = [];
    for (const n of pieces) {
      const part = await kn.causalConv1d(rows(x, t0, t0 + n), w, { bias, initialState: state });
      outs.push(...part.out.data);
      state = part.state;
      t0 += n;
    }
    expectClose('split out', outs, whole.out.data, SAME_MATH);
    expectClose('split state', state!.data, whole.state.data, SAME_MATH);
  });

  test.each([
    { T: 6, C: 33, W: 4, S: 1, seed: 31 },
    { T: 5, C: 70, W: 4, S: 3, seed: 32 },
    { T: 3, C: 8, W: 2, S: 2, seed: 33 },
  ])('T=$T single steps == prefill (S=$S sequences)', async ({ T, C, W, S, seed }) => {
    const r = prng(seed);
    const w = randn(r, [C, W]);
    const bias = randn(r, [C]);
    const init = randn(r, [S, W - 1, C]);
    // x for sequence s, token t at xs[s][t]
    const xs = Array.from({ length: S }, () => randn(r, [T, C]));
    let state = init;
    const stepOut: number[][] = Array.from({ length: S }, () => []);
    for (let t = 0; t < T; t++) {
      const xt = new Float32Array(S * C);
      for (let s = 0; s < S; s++) xt.set((xs[s].data as Float32Array).subarray(t * C, (t + 1) * C), s * C);
      const res = await kn.causalConv1dStep(Tensor.from(xt, [S, C]), w, state, { bias });
      for (let s = 0; s < S; s++) stepOut[s].push(...res.out.data.subarray(s * C, (s + 1) * C));
      state = res.state;
    }
    const packed = new Float32Array(S * T * C);
    xs.forEach((x, s) => packed.set(x.data as Float32Array, s * T * C));
    const pre = await kn.causalConv1d(Tensor.from(packed, [S * T, C]), w, {
      bias,
      initialState: init,
      cuSeqlens: cuFrom(new Array(S).fill(T)),
    });
    expectClose('step out', stepOut.flat(), pre.out.data, SAME_MATH);
    expectClose('step state', state.data, pre.state.data, SAME_MATH);
  });
});

describe('causalConv1d bad input', () => {
  const x = Tensor.zeros([5, 8]);
  const w = Tensor.zeros([8, 4]);
  test('shapes are checked in TS', async () => {
    await expect(kernels.causalConv1d(x, Tensor.zeros([7, 4]))).rejects.toThrow(/weight dim 0 to be 8/);
    await expect(kernels.causalConv1d(x, w, { cuSeqlens: [0, 2, 4] })).rejects.toThrow(/end at T = 5/);
    await expect(kernels.causalConv1d(x, w, { cuSeqlens: [0, 3, 2, 5] })).rejects.toThrow(/non-decreasing/);
    await expect(kernels.causalConv1d(x, w, { initialState: Tensor.zeros([2, 8]) })).rejects.toBeInstanceOf(ShapeError);
    await expect(kernels.causalConv1dStep(Tensor.zeros([2, 8]), w, Tensor.zeros([1, 3, 8]))).rejects.toThrow(/state dim 0/);
  });
  test('native layer re-validates', async () => {
    const n = native();
    const cu = Int32Array.of(0, 5);
    await expect(callNative(() => n.conv1dPrefill(new Float32Array(40), new Float32Array(32), Int32Array.of(0, 6), 5, 8, 4))).rejects.toThrow(
      /cuSeqlens must end at the token count 5, got 6/,
    );
    await expect(callNative(() => n.conv1dPrefill(new Float32Array(40), new Float32Array(32), Int32Array.of(1, 5), 5, 8, 4))).rejects.toThrow(
      /cuSeqlens\[0\] must be 0/,
    );
    await expect(
      callNative(() => n.conv1dPrefill(new Float32Array(40), new Float32Array(32), cu, 5, 8, 4, { states: new Float32Array(23) })),
    ).rejects.toThrow(/states has 23 elements, expected 24/);
    await expect(callNative(() => n.conv1dPrefill(new Float32Array(40), new Float32Array(32), cu, 5, 8, 0))).rejects.toBeInstanceOf(ArgumentError);
    await expect(callNative(() => n.conv1dStep(new Float32Array(16), new Float32Array(32), new Float32Array(47), 2, 8, 4))).rejects.toBeInstanceOf(
      ShapeError,
    );
  });
});
