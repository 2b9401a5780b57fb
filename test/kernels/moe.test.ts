/**
 * MoE top-k routing (ids exact, ties to the lower id; softmax weights) and the
 * grouped expert FFN vs the dense per-token float64 loop over dequantized
 * weights, including an expert with no tokens, all tokens on one expert,
 * more (token, expert) pairs than one dispatch batch, every weight dtype; bad inputs.
 */
import { callNative, ArgumentError, ShapeError } from '../../lib/errors';
import { kernels } from '../../lib/kernels';
import { native } from '../../lib/native';
import { Tensor, type TensorDType } from '../../lib/tensor';
import { q8ActivationBlock, q8RoundActivations } from '../../lib/quant/q8-activations';
import { moeForwardRef, moeRouteRef } from '../reference/moe';
import { expectClose, expectEqualArrays, prng, randn, describeEachDevice } from './helpers';
import { TOL } from './tolerances';

describeEachDevice('moeRoute', (kn) => {
  test.each([
    { T: 1, E: 4, k: 1, seed: 1, ties: false },
    { T: 37, E: 8, k: 2, seed: 2, ties: false },
    { T: 20, E: 64, k: 6, seed: 3, ties: false },
    { T: 9, E: 72, k: 10, seed: 4, ties: false },
    { T: 50, E: 16, k: 4, seed: 5, ties: true },
    { T: 3, E: 5, k: 5, seed: 6, ties: true },
  ])('T=$T E=$E k=$k ties=$ties', async ({ T, E, k, seed, ties }) => {
    const r = prng(seed);
    const logits = randn(r, [T, E], 2);
    if (ties) for (let i = 0; i < logits.data.length; i++) logits.data[i] = Math.round(logits.data[i]); // many exact ties
    const got = await kn.moeRoute(logits, k);
    const ref = moeRouteRef(logits.data, T, E, k);
    expectEqualArrays('ids', got.ids, ref.ids);
    expectClose('weights', got.weights.data, ref.weights, TOL.elementwise, got.weights.shape);
  });
});

type IdsMode = 'route' | 'one-expert' | 'skip-expert';

interface ForwardCase {
  T: number;
  E: number;
  k: number;
  D: number;
  F: number;
  dtype: TensorDType;
  mode: IdsMode;
  seed: number;
}

const forwardCases: ForwardCase[] = [
  { T: 1, E: 4, k: 1, D: 8, F: 4, dtype: 'f32', mode: 'route', seed: 11 },
  { T: 13, E: 8, k: 2, D: 33, F: 17, dtype: 'f32', mode: 'route', seed: 12 },
  { T: 9, E: 8, k: 2, D: 64, F: 32, dtype: 'f32', mode: 'one-expert', seed: 13 },
  { T: 21, E: 6, k: 3, D: 31, F: 20, dtype: 'f32', mode: 'skip-expert', seed: 14 },
  { T: 7, E: 8, k: 2, D: 64, F: 48, dtype: 'f16', mode: 'route', seed: 15 },
  { T: 5, E: 4, k: 2, D: 40, F: 24, dtype: 'bf16', mode: 'skip-expert', seed: 16 },
  { T: 11, E: 8, k: 3, D: 64, F: 32, dtype: 'q8_0', mode: 'route', seed: 17 },
  { T: 1100, E: 8, k: 2, D: 32, F: 32, dtype: 'q8_0', mode: 'route', seed: 18 },
  { T: 40, E: 64, k: 6, D: 64, F: 32, dtype: 'f16', mode: 'route', seed: 19 },
  { T: 3, E: 8, k: 2, D: 256, F: 256, dtype: 'q4_k', mode: 'route', seed: 20 },
  { T: 2, E: 4, k: 2, D: 256, F: 512, dtype: 'q6_k', mode: 'skip-expert', seed: 21 },
];

/** The dense f64 loop with both matmul inputs rounded as the native int8 path rounds them. */
function moeForwardQ8Ref(x: Float32Array, ids: ArrayLike<number>, w: ArrayLike<number>, gate: Float32Array, up: Float32Array,
  down: Float32Array, T: number, k: number, D: number, F: number, block: 32 | 256): Float64Array {
  const xq = q8RoundActivations(x, D, block);
  const out = new Float64Array(T * D);
  for (let t = 0; t < T; t++)
    for (let j = 0; j < k; j++) {
      const e = ids[t * k + j];
      const h = new Float32Array(F);
      for (let f = 0; f < F; f++) {
        let g = 0;
        let u = 0;
        for (let d = 0; d < D; d++) {
          g += gate[(e * F + f) * D + d] * xq[t * D + d];
          u += up[(e * F + f) * D + d] * xq[t * D + d];
        }
        h[f] = (g / (1 + Math.exp(-g))) * u;
      }
      const hq = q8RoundActivations(h, F, block);
      for (let d = 0; d < D; d++) {
        let acc = 0;
        for (let f = 0; f < F; f++) acc += down[(e * D + d) * F + f] * hq[f];
        out[t * D + d] += w[t * k + j] * acc;
      }
    }
  return out;
}

describeEachDevice('moeForward vs dense reference', (kn, device) => {
  test.each(forwardCases)('$dtype T=$T E=$E k=$k D=$D F=$F $mode', async (c) => {
    const r = prng(c.seed);
    const x = randn(r, [c.T, c.D]);
    const q = (t: Tensor) => (c.dtype === 'f32' ? t : Tensor.quantize(t, c.dtype));
    const experts = {
      gate: q(randn(r, [c.E, c.F, c.D], 0.3)),
      up: q(randn(r, [c.E, c.F, c.D], 0.3)),
      down: q(randn(r, [c.E, c.D, c.F], 0.3)),
    };
    const route = await kn.moeRoute(randn(r, [c.T, c.E]), c.k);
    let ids = Array.from(route.ids);
    if (c.mode === 'one-expert') ids = ids.map((_, i) => (i % c.k === 0 ? 3 : (3 + (i % c.k)) % c.E)); // slot 0 of every token -> expert 3
    if (c.mode === 'skip-expert') ids = ids.map((e) => (e === 1 ? 0 : e)); // expert 1 gets no tokens (ids may repeat)
    const out = await kn.moeForward(x, ids, route.weights, experts);
    const [gate, up, down] = [experts.gate, experts.up, experts.down].map((t) => t.toFloat32().data as Float32Array);
    expect(out.shape).toEqual([c.T, c.D]);
    // (The CUDA backend rounds activations for Q8_0 only.)
    const block = device === 'cpu' || c.dtype === 'q8_0' ? q8ActivationBlock(c.dtype) : null;
    if (block) {
      // Block-format experts run integer dot products on activations rounded
      // to int8 blocks: the reference rounds x and the hidden rows the same way.
      const ref = moeForwardQ8Ref(x.data as Float32Array, ids, route.weights.data, gate, up, down, c.T, c.k, c.D, c.F, block);
      expectClose('moeForward', out.data, ref, TOL.q8Activations, out.shape);
    } else {
      const ref = moeForwardRef(x.data, ids, route.weights.data, gate, up, down, c.T, c.k, c.D, c.F);
      expectClose('moeForward', out.data, ref, TOL.moe, out.shape);
    }
  });

  test('all tokens on one expert (k = 1)', async () => {
    const r = prng(31);
    const [T, E, D, F] = [17, 5, 16, 8];
    const x = randn(r, [T, D]);
    const experts = { gate: randn(r, [E, F, D]), up: randn(r, [E, F, D]), down: randn(r, [E, D, F]) };
    const ids = new Int32Array(T).fill(E - 1);
    const w = Tensor.from(new Float32Array(T).fill(0.75), [T, 1]);
    const out = await kn.moeForward(x, ids, w, experts);
    const ref = moeForwardRef(x.data, ids, w.data, experts.gate.data, experts.up.data, experts.down.data, T, 1, D, F);
    expectClose('one expert', out.data, ref, TOL.moe, out.shape);
  });
});

describe('moe bad input', () => {
  const x = Tensor.zeros([2, 8]);
  const w = Tensor.zeros([2, 2]);
  const experts = { gate: Tensor.zeros([4, 6, 8]), up: Tensor.zeros([4, 6, 8]), down: Tensor.zeros([4, 8, 6]) };
  test('TS checks', async () => {
    await expect(kernels.moeRoute(Tensor.zeros([2, 4]), 5)).rejects.toBeInstanceOf(ArgumentError);
    await expect(kernels.moeForward(x, [0, 1, 2, 4], w, experts)).rejects.toThrow(/ids\[3\] to be an integer in \[0, E = 4\), got 4/);
    await expect(kernels.moeForward(x, [0, 1, 2], w, experts)).rejects.toThrow(/ids to have 4 entries/);
    await expect(kernels.moeForward(x, [0, 1, 2, 3], w, { ...experts, down: Tensor.zeros([4, 6, 8]) })).rejects.toBeInstanceOf(ShapeError);
    await expect(kernels.moeForward(x, [0, 1, 2, 3], Tensor.zeros([3, 2]), experts)).rejects.toThrow(/weights dim 0 to be 2/);
  });
  test('native layer re-validates', async () => {
    const n = native();
    const f = (k: number) => new Float32Array(k);
    const args = (ids: Int32Array, gateBytes = 4 * 6 * 8 * 4) =>
      n.moeForward(f(16), ids, f(4), new Uint8Array(gateBytes), new Uint8Array(4 * 6 * 8 * 4), new Uint8Array(4 * 8 * 6 * 4), 2, 2, 4, 8, 6, 0, 0, 0);
    await expect(callNative(() => args(Int32Array.of(0, 1, 2, 3)))).resolves.toHaveLength(16);
    await expect(callNative(() => args(Int32Array.of(0, 1, 2, 9)))).rejects.toThrow(/ids\[3\] = 9 is out of range \[0, nExperts = 4\)/);
    await expect(callNative(() => args(Int32Array.of(0, 1, -2, 3)))).rejects.toBeInstanceOf(ArgumentError);
    await expect(callNative(() => args(Int32Array.of(0, 1, 2, 3), 100))).rejects.toThrow(/gate has 100 bytes, expected 768/);
    await expect(callNative(() => n.moeRoute(f(8), 2, 4, 0))).rejects.toBeInstanceOf(ArgumentError);
    await expect(callNative(() => n.moeRoute(f(7), 2, 4, 2))).rejects.toBeInstanceOf(ShapeError);
  });
});
