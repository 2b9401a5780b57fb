/** SwiGLU vs float64 reference; bad inputs. */
import { callNative, ShapeError } from '../../lib/errors';
import { native } from '../../lib/native';
import { Tensor } from '../../lib/tensor';
import { swigluRef } from '../reference/swiglu';
import { expectClose, prng, randn, uniform, describeEachDevice } from './helpers';
import { TOL } from './tolerances';

const cases = [
  { T: 1, n: 1, seed: 1 },
  { T: 3, n: 31, seed: 2 },
  { T: 2, n: 33, seed: 3 },
  { T: 64, n: 512 + 16, seed: 4 },
  { T: 1, n: 40000, seed: 5 },
];

describeEachDevice('swiglu', (kn) => {
  test.each(cases)('T=$T n=$n', async ({ T, n, seed }) => {
    const r = prng(seed);
    const g = randn(r, [T, n], 4);
    const u = randn(r, [T, n]);
    const y = await kn.swiglu(g, u);
    expectClose('swiglu', y.data as Float32Array, swigluRef(g.data, u.data), TOL.elementwise, y.shape);
  });

  test('extreme gates stay finite', async () => {
    const g = Tensor.from([-1000, -90, 0, 90, 1000], [1, 5]);
    const y = await kn.swiglu(g, Tensor.from([1, 1, 1, 1, 1], [1, 5]));
    expect(Array.from(y.data).every(Number.isFinite)).toBe(true);
    expect(y.data[4]).toBe(1000);
  });

  // The SIMD paths' SiLU uses a polynomial exp (docs/KERNELS.md, SiLU): every
  // element keeps its relative accuracy across the exp range, tails included.
  test('silu relative error <= 1e-6 per element for gates in [-80, 80]', async () => {
    const r = prng(9);
    const g = uniform(r, [1, 4099], -80, 80);
    const u = uniform(r, [1, 4099], 0.5, 2);
    const y = await kn.swiglu(g, u);
    const ref = swigluRef(g.data, u.data);
    for (let i = 0; i < ref.length; i++) {
      const err = Math.abs(y.data[i] - ref[i]);
      if (!(err <= 1e-6 * Math.abs(ref[i])))
        throw new Error(`swiglu[${i}] gate ${g.data[i]}: got ${y.data[i]} ref ${ref[i]}, relative error ${err / Math.abs(ref[i])}`);
    }
  });

  test('bad input', async () => {
    await expect(kn.swiglu(Tensor.zeros([2, 3]), Tensor.zeros([2, 4]))).rejects.toBeInstanceOf(ShapeError);
    await expect(callNative(() => native().swiglu(new Float32Array(6), new Float32Array(5), 2, 3))).rejects.toThrow(/up has 5 elements, expected 6/);
  });
});
