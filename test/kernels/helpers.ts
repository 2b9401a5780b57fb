/**
 * Test helpers: a seeded PRNG, random tensors, and a comparison that reports
 * max abs / rel diff, NMSE, where, and the first mismatching pairs.
 */
import { kernels, type KernelDevice } from '../../lib/kernels';
import { Tensor } from '../../lib/tensor';
import { describeGpu } from '../helpers/describe-gpu';
import type { Tolerance } from './tolerances';

export { prng } from '../helpers/random';

/** Normal(0, 1) samples (Box-Muller) from a uniform source. */
export function gauss(rand: () => number): () => number {
  return () => Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
}

/** f32 tensor of N(mean, std^2) values. */
export function randn(rand: () => number, shape: number[], std = 1, mean = 0): Tensor {
  const g = gauss(rand);
  const n = shape.reduce((a, b) => a * b, 1);
  const d = new Float32Array(n);
  for (let i = 0; i < n; i++) d[i] = mean + std * g();
  return Tensor.from(d, shape);
}

/** f32 tensor of U(lo, hi) values. */
export function uniform(rand: () => number, shape: number[], lo: number, hi: number): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const d = new Float32Array(n);
  for (let i = 0; i < n; i++) d[i] = lo + (hi - lo) * rand();
  return Tensor.from(d, shape);
}

function where(i: number, shape?: readonly number[]): string {
  if (!shape || shape.length === 0) return `[${i}]`;
  const idx: number[] = [];
  let r = i;
  for (let a = shape.length - 1; a >= 0; a--) {
    idx.unshift(r % shape[a]);
    r = Math.floor(r / shape[a]);
  }
  return `[${idx.join(', ')}]`;
}

/** Summary of the differences between got and ref. */
export function diffStats(got: ArrayLike<number>, ref: ArrayLike<number>) {
  let maxAbs = 0;
  let maxAbsAt = 0;
  let maxRel = 0;
  let maxRelAt = 0;
  let se = 0;
  let sr = 0;
  for (let i = 0; i < ref.length; i++) {
    const d = Math.abs(got[i] - ref[i]);
    const rel = d / Math.max(Math.abs(ref[i]), 1e-30);
    se += d * d;
    sr += ref[i] * ref[i];
    if (!(d <= maxAbs)) [maxAbs, maxAbsAt] = [d, i];
    if (!(rel <= maxRel)) [maxRel, maxRelAt] = [rel, i];
  }
  const rms = Math.sqrt(sr / Math.max(1, ref.length));
  return { maxAbs, maxAbsAt, maxRel, maxRelAt, nmse: sr > 0 ? se / sr : se, rms };
}

/**
 * Throws a descriptive error unless every element satisfies
 * |got - ref| <= tol.atol * rms(ref) + tol.rtol * |ref| and NMSE <= tol.nmse.
 */
export function expectClose(name: string, got: ArrayLike<number>, ref: ArrayLike<number>, tol: Tolerance, shape?: readonly number[]): void {
  if (got.length !== ref.length) throw new Error(`${name}: length ${got.length} != reference length ${ref.length}`);
  const st = diffStats(got, ref);
  const scale = st.rms > 0 ? st.rms : 1;
  const bad: number[] = [];
  for (let i = 0; i < ref.length; i++) {
    const d = Math.abs(got[i] - ref[i]);
    if (!(d <= tol.atol * scale + tol.rtol * Math.abs(ref[i]))) bad.push(i);
  }
  if (bad.length === 0 && st.nmse <= tol.nmse) return;
  const pairs = bad
    .slice(0, 5)
    .map((i) => `${where(i, shape)} got ${got[i]} ref ${ref[i]}`)
    .join('; ');
  throw new Error(
    `${name}: ${bad.length}/${ref.length} elements out of tolerance (rtol ${tol.rtol}, atol ${tol.atol} x rms ${st.rms.toExponential(3)}); ` +
      `max abs diff ${st.maxAbs.toExponential(3)} at ${where(st.maxAbsAt, shape)}, ` +
      `max rel diff ${st.maxRel.toExponential(3)} at ${where(st.maxRelAt, shape)}, NMSE ${st.nmse.toExponential(3)} (limit ${tol.nmse}). ` +
      `First: ${pairs}`,
  );
}

/** Exact equality with a useful message. */
export function expectEqualArrays(name: string, got: ArrayLike<number>, ref: ArrayLike<number>): void {
  if (got.length !== ref.length) throw new Error(`${name}: length ${got.length} != ${ref.length}`);
  for (let i = 0; i < ref.length; i++)
    if (!Object.is(got[i], ref[i]) && got[i] !== ref[i]) throw new Error(`${name}: first difference at [${i}]: got ${got[i]}, expected ${ref[i]}`);
}

/** Random packed-sequence offsets: the given lengths in order. */
export function cuFrom(lengths: number[]): Int32Array {
  const cu = new Int32Array(lengths.length + 1);
  lengths.forEach((l, i) => (cu[i + 1] = cu[i] + l));
  return cu;
}

/** Rows [r0, r1) of a tensor along dim 0, as a new f32 tensor. */
export function rows(t: Tensor, r0: number, r1: number): Tensor {
  const inner = t.shape.slice(1).reduce((a, b) => a * b, 1);
  return Tensor.from((t.data as Float32Array).slice(r0 * inner, r1 * inner), [r1 - r0, ...t.shape.slice(1)]);
}

/** Index of the options argument of each kernel (where `device` goes). */
const OPTIONS_AT: Record<keyof typeof kernels, number> = {
  rmsNorm: 2,
  gatedRmsNorm: 3,
  causalConv1d: 2,
  causalConv1dStep: 3,
  mamba2Scan: 5,
  mamba2Step: 5,
  attention: 3,
  attentionDecode: 3,
  moeRoute: 2,
  moeForward: 4,
  matmul: 2,
  swiglu: 2,
  embed: 2,
};

/** The kernel API with `device` merged into every call's options. */
export function kernelsOn(device: KernelDevice): typeof kernels {
  const bound: Record<string, unknown> = {};
  for (const name of Object.keys(OPTIONS_AT) as (keyof typeof kernels)[]) {
    const fn = kernels[name] as (...args: unknown[]) => unknown;
    bound[name] = (...args: unknown[]) => {
      const at = OPTIONS_AT[name];
      const a = [...args];
      while (a.length < at) a.push(undefined);
      a[at] = { ...((a[at] as object | undefined) ?? {}), device };
      return fn(...a);
    };
  }
  return bound as unknown as typeof kernels;
}

/**
 * Runs a case table on every backend's op table: the CPU always, CUDA where a
 * device is usable (elsewhere skipped with the reason printed, by describeGpu).
 */
export function describeEachDevice(name: string, body: (k: typeof kernels, device: KernelDevice) => void): void {
  describe(`${name} [cpu]`, () => body(kernelsOn('cpu'), 'cpu'));
  describeGpu(name, () => body(kernelsOn('cuda'), 'cuda'));
}
