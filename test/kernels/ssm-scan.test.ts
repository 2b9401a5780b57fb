/**
 * Mamba-2 scan (recurrence and chunked SSD) and single-step update vs the
 * float64 token loop; chunked == recurrence; split calls == one call;
 * scan == T steps; prefill(T) + step == prefill(T+1); bad inputs.
 */
import { callNative, ArgumentError, ShapeError } from '../../lib/errors';
import { kernels } from '../../lib/kernels';
import { native } from '../../lib/native';
import { Tensor } from '../../lib/tensor';
import { ssmScanRef } from '../reference/ssm';
import { cuFrom, expectClose, prng, randn, rows, uniform, describeEachDevice } from './helpers';
import { SAME_MATH, TOL } from './tolerances';

interface Dims {
  H: number;
  P: number;
  N: number;
  G: number;
}

/** Random but stable inputs: decays in (0, 1), a few dt entries above the softplus cut (20). */
function makeInputs(seed: number, T: number, d: Dims, S: number, bigDt = false) {
  const r = prng(seed);
  const x = randn(r, [T, d.H, d.P]);
  const dt = randn(r, [T, d.H], 0.7, -1);
  if (bigDt) for (let i = 0; i < dt.data.length; i += 7) dt.data[i] = 20 + 10 * r();
  const A = Tensor.from((uniform(r, [d.H], -1, 1.2).data as Float32Array).map((v) => -Math.exp(v)), [d.H]);
  const B = randn(r, [T, d.G, d.N]);
  const C = randn(r, [T, d.G, d.N]);
  const D = randn(r, [d.H]);
  const dtBias = uniform(r, [d.H], -1, 0.5);
  const state = randn(r, [S, d.H, d.P, d.N], 0.5);
  return { x, dt, A, B, C, D, dtBias, state };
}

const scanCases = [
  { lengths: [1], H: 1, P: 1, N: 1, G: 1, seed: 1 },
  { lengths: [31], H: 2, P: 7, N: 8, G: 1, seed: 2 },
  { lengths: [33], H: 4, P: 17, N: 16, G: 2, seed: 3 },
  { lengths: [64], H: 3, P: 16, N: 33, G: 3, seed: 4, bigDt: true },
  { lengths: [3, 17, 1, 0, 40], H: 4, P: 8, N: 16, G: 4, seed: 5 },
  { lengths: [100, 7], H: 2, P: 5, N: 128, G: 1, seed: 6 },
  { lengths: [2000], H: 2, P: 8, N: 16, G: 1, seed: 7 },
];

describeEachDevice('mamba2Scan vs reference', (kn) => {
  test.each(scanCases)('lengths=$lengths H=$H P=$P N=$N G=$G', async (c) => {
    const cu = cuFrom(c.lengths);
    const S = c.lengths.length;
    const inp = makeInputs(c.seed, cu[S], c, S, c.bigDt);
    const ref = ssmScanRef({ ...inp, ...c, x: inp.x.data, dt: inp.dt.data, A: inp.A.data, B: inp.B.data, C: inp.C.data,
      D: inp.D.data, dtBias: inp.dtBias.data, cu, states: inp.state.data });
    const opts = { D: inp.D, dtBias: inp.dtBias, initialState: inp.state, cuSeqlens: cu };
    const rec = await kn.mamba2Scan(inp.x, inp.dt, inp.A, inp.B, inp.C, opts);
    expectClose('y (recurrence)', rec.y.data, ref.y, TOL.ssmScan, rec.y.shape);
    expectClose('state (recurrence)', rec.state.data, ref.states, TOL.ssmScan, rec.state.shape);
    for (const chunkSize of [8, 16, 64]) {
      const ch = await kn.mamba2Scan(inp.x, inp.dt, inp.A, inp.B, inp.C, { ...opts, chunkSize });
      expectClose(`y (chunk ${chunkSize})`, ch.y.data, ref.y, TOL.ssmScan, ch.y.shape);
      expectClose(`state (chunk ${chunkSize})`, ch.state.data, ref.states, TOL.ssmScan, ch.state.shape);
      expectClose(`y chunk ${chunkSize} vs recurrence`, ch.y.data, rec.y.data, TOL.ssmChunkedVsRecurrent, ch.y.shape);
      expectClose(`state chunk ${chunkSize} vs recurrence`, ch.state.data, rec.state.data, TOL.ssmChunkedVsRecurrent);
    }
  });

  test('optional D, dtBias and state default to none / zeros', async () => {
    const d = { H: 2, P: 4, N: 8, G: 1 };
    const inp = makeInputs(11, 9, d, 1);
    const ref = ssmScanRef({ ...d, x: inp.x.data, dt: inp.dt.data, A: inp.A.data, B: inp.B.data, C: inp.C.data, cu: [0, 9] });
    const got = await kn.mamba2Scan(inp.x, inp.dt, inp.A, inp.B, inp.C);
    expect(got.state.shape).toEqual([2, 4, 8]);
    expectClose('y', got.y.data, ref.y, TOL.ssmScan);
    expectClose('state', got.state.data, ref.states, TOL.ssmScan);
  });
});

describeEachDevice('mamba2Scan state carry', (kn) => {
  const d = { H: 3, P: 9, N: 16, G: 1 };
  test.each([
    { T: 40, cut: 17, chunkSize: 0 },
    { T: 40, cut: 1, chunkSize: 16 },
    { T: 70, cut: 64, chunkSize: 64 },
  ])('two calls (cut at $cut, chunk $chunkSize) == one call', async ({ T, cut, chunkSize }) => {
    const inp = makeInputs(21 + cut, T, d, 1);
    const init = rows(inp.state, 0, 1).toFloat32();
    const one = await kn.mamba2Scan(inp.x, inp.dt, inp.A, inp.B, inp.C, { D: inp.D, initialState: reshape(init, [3, 9, 16]), chunkSize });
    const a = await kn.mamba2Scan(rows(inp.x, 0, cut), rows(inp.dt, 0, cut), inp.A, rows(inp.B, 0, cut), rows(inp.C, 0, cut), {
      D: inp.D,
      initialState: reshape(init, [3, 9, 16]),
      chunkSize,
    });
    const b = await kn.mamba2Scan(rows(inp.x, cut, T), rows(inp.dt, cut, T), inp.A, rows(inp.B, cut, T), rows(inp.C, cut, T), {
      D: inp.D,
      initialState: a.state,
      chunkSize,
    });
    expectClose('y', [...a.y.data, ...b.y.data], one.y.data, TOL.ssmChunkedVsRecurrent);
    expectClose('state', b.state.data, one.state.data, TOL.ssmChunkedVsRecurrent);
  });

  test.each([
    { T: 12, S: 1, H: 2, P: 5, N: 8, G: 1, seed: 31 },
    { T: 7, S: 3, H: 4, P: 17, N: 32, G: 2, seed: 32 },
  ])('scan == T single steps, final state included (S=$S)', async ({ T, S, seed, ...d }) => {
    // S sequences of T tokens each, packed sequence-major for the scan.
    const inp = makeInputs(seed, S * T, d, S);
    const cu = cuFrom(new Array(S).fill(T));
    const scan = await kn.mamba2Scan(inp.x, inp.dt, inp.A, inp.B, inp.C, {
      D: inp.D, dtBias: inp.dtBias, initialState: inp.state, cuSeqlens: cu, chunkSize: 4,
    });
    let state = inp.state;
    const ys: number[][] = Array.from({ length: S }, () => []);
    for (let t = 0; t < T; t++) {
      const pick = (src: Tensor) => stack(Array.from({ length: S }, (_, s) => rows(src, s * T + t, s * T + t + 1)));
      const res = await kn.mamba2Step(pick(inp.x), pick(inp.dt), inp.A, pick(inp.B), pick(inp.C), {
        D: inp.D, dtBias: inp.dtBias, state,
      });
      const per = d.H * d.P;
      for (let s = 0; s < S; s++) ys[s].push(...res.y.data.subarray(s * per, (s + 1) * per));
      state = res.state;
    }
    expectClose('y', ys.flat(), scan.y.data, TOL.ssmChunkedVsRecurrent);
    expectClose('state', state.data, scan.state.data, TOL.ssmChunkedVsRecurrent);
  });

  test('prefill(T) then step == prefill(T + 1)', async () => {
    const d = { H: 4, P: 8, N: 16, G: 2 };
    const T = 25;
    const inp = makeInputs(41, T + 1, d, 1);
    const opts = { D: inp.D, dtBias: inp.dtBias, chunkSize: 8 };
    const full = await kn.mamba2Scan(inp.x, inp.dt, inp.A, inp.B, inp.C, opts);
    const pre = await kn.mamba2Scan(rows(inp.x, 0, T), rows(inp.dt, 0, T), inp.A, rows(inp.B, 0, T), rows(inp.C, 0, T), opts);
    const last = (t: Tensor) => rows(t, T, T + 1);
    const step = await kn.mamba2Step(last(inp.x), last(inp.dt), inp.A, last(inp.B), last(inp.C), {
      D: inp.D, dtBias: inp.dtBias, state: reshape(pre.state, [1, 4, 8, 16]),
    });
    expectClose('y', step.y.data, full.y.data.subarray(T * 32), TOL.ssmChunkedVsRecurrent);
    expectClose('state', step.state.data, full.state.data, TOL.ssmChunkedVsRecurrent);
  });
});

describeEachDevice('mamba2Step vs reference', (kn) => {
  test.each([
    { S: 1, H: 1, P: 1, N: 1, G: 1, seed: 51 },
    { S: 3, H: 8, P: 16, N: 128, G: 2, seed: 52 },
    { S: 5, H: 6, P: 7, N: 33, G: 3, seed: 53 },
  ])('S=$S H=$H P=$P N=$N G=$G', async ({ S, seed, ...d }) => {
    const inp = makeInputs(seed, S, d, S, true);
    const got = await kn.mamba2Step(inp.x, inp.dt, inp.A, inp.B, inp.C, { D: inp.D, dtBias: inp.dtBias, state: inp.state });
    const ref = ssmScanRef({ ...d, x: inp.x.data, dt: inp.dt.data, A: inp.A.data, B: inp.B.data, C: inp.C.data, D: inp.D.data,
      dtBias: inp.dtBias.data, cu: cuFrom(new Array(S).fill(1)), states: inp.state.data });
    expectClose('y', got.y.data, ref.y, TOL.ssmStep, got.y.shape);
    expectClose('state', got.state.data, ref.states, TOL.ssmStep, got.state.shape);
  });
});

describe('mamba2 bad input', () => {
  const d = { H: 4, P: 2, N: 3, G: 2 };
  const inp = makeInputs(61, 5, d, 1);
  test('TS checks', async () => {
    await expect(kernels.mamba2Scan(inp.x, inp.dt, inp.A, Tensor.zeros([5, 2, 4]), inp.C)).rejects.toThrow(/C dim 2 to be 4/);
    await expect(kernels.mamba2Scan(inp.x, rows(inp.dt, 0, 4), inp.A, inp.B, inp.C)).rejects.toThrow(/dt dim 0 to be 5/);
    await expect(kernels.mamba2Scan(inp.x, inp.dt, inp.A, Tensor.zeros([5, 3, 3]), Tensor.zeros([5, 3, 3]))).rejects.toThrow(
      /divisible by G/,
    );
    await expect(kernels.mamba2Scan(inp.x, inp.dt, inp.A, inp.B, inp.C, { chunkSize: -1 })).rejects.toBeInstanceOf(ArgumentError);
    await expect(kernels.mamba2Scan(inp.x, inp.dt, inp.A, inp.B, inp.C, { initialState: Tensor.zeros([4, 2, 4]) })).rejects.toBeInstanceOf(
      ShapeError,
    );
    await expect(kernels.mamba2Step(inp.x, inp.dt, inp.A, inp.B, inp.C, { state: Tensor.zeros([1, 4, 2, 3]) })).rejects.toThrow(/state dim 0/);
  });
  test('native layer re-validates', async () => {
    const f = (n: number) => new Float32Array(n);
    const n = native();
    await expect(callNative(() => n.ssmScan(f(40), f(20), f(4), f(30), f(30), Int32Array.of(0, 5), 5, 4, 2, 3, 3))).rejects.toThrow(
      /nHeads 4 is not divisible by nGroups 3/,
    );
    await expect(callNative(() => n.ssmScan(f(40), f(20), f(4), f(29), f(30), Int32Array.of(0, 5), 5, 4, 2, 3, 2))).rejects.toThrow(
      /B has 29 elements, expected 30 = \[nTokens=5, nGroups=2, dState=3\]/,
    );
    await expect(
      callNative(() => n.ssmScan(f(40), f(20), f(4), f(30), f(30), Int32Array.of(0, 5), 5, 4, 2, 3, 2, { states: f(23) })),
    ).rejects.toThrow(/states has 23 elements, expected 24/);
    await expect(callNative(() => n.ssmStep(f(16), f(8), f(4), f(12), f(12), f(47), 2, 4, 2, 3, 2))).rejects.toBeInstanceOf(ShapeError);
    await expect(callNative(() => n.ssmScan(f(40), f(20), f(4), f(30), f(30), Int32Array.of(0, 3, 2, 5), 5, 4, 2, 3, 2))).rejects.toThrow(
      /non-decreasing/,
    );
  });
});

function reshape(t: Tensor, shape: number[]): Tensor {
  return Tensor.from(t.data as Float32Array, shape);
}

function stack(ts: Tensor[]): Tensor {
  const n = ts[0].numel;
  const out = new Float32Array(n * ts.length);
  ts.forEach((t, i) => out.set(t.data as Float32Array, i * n));
  return Tensor.from(out, [ts.length, ...ts[0].shape.slice(1)]);
}
