/**
 * The kernel-level API: each compute kernel of the model callable on its own
 * over {@link Tensor}s (tests, benchmarks, experiments). Every function checks
 * argument types and shapes first (ShapeError / ArgumentError naming the
 * argument with expected vs actual), then runs the kernel off the JS thread on
 * the chosen device ({@link KernelOptions.device}: the CPU by default, or
 * CUDA) through the same backend op table the model executor uses, and
 * resolves with new host tensors. Layouts follow docs/KERNELS.md:
 * row-major, outermost first; packed sequences are given by `cuSeqlens`
 * (token offsets [nSeqs + 1], starting at 0 and ending at T).
 */
import { types } from 'util';
import { cudaReport } from './device/select-device';
import { ArgumentError, DeviceError, ShapeError, UnsupportedError, callNative } from './errors';
import { native } from './native';
import { ggmlTypeId } from './dtype';
import { Tensor } from './tensor';

/** Packed-sequence offsets: [nSeqs + 1] non-decreasing integers from 0 to T. */
export type CuSeqlens = Int32Array | readonly number[];

// ---- argument checks

function fmt(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

/** Checks `t` is a Tensor of rank spec.length (f32 unless anyDtype) and returns its shape. */
function dims(t: unknown, name: string, spec: readonly string[], anyDtype = false): number[] {
  if (!(t instanceof Tensor)) throw new ArgumentError(`Expected ${name} to be a Tensor, got ${typeof t}`);
  if (!anyDtype && t.dtype !== 'f32') throw new ArgumentError(`Expected ${name} to be an f32 tensor, got ${t.dtype}`);
  if (t.shape.length !== spec.length)
    throw new ShapeError(`Expected ${name} to have ${spec.length} dims [${spec.join(', ')}], got ${fmt(t.shape)}`);
  return [...t.shape];
}

/** Throws ShapeError unless `got` equals `expected`. */
function same(name: string, axis: string, got: number, expected: number, source: string): void {
  if (got !== expected) throw new ShapeError(`Expected ${name} ${axis} to be ${expected} (${source}), got ${got}`);
}

function f32(t: Tensor): Float32Array {
  return t.data as Float32Array;
}

function optionalF32(t: Tensor | undefined | null, name: string, n: number, what: string): Float32Array | null {
  if (t === undefined || t === null) return null;
  const [len] = dims(t, name, [what]);
  same(name, 'dim 0', len, n, what);
  return f32(t);
}

function positiveInt(v: unknown, name: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1)
    throw new ArgumentError(`Expected ${name} to be a positive integer, got ${String(v)}`);
  return v;
}

function finite(v: unknown, name: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new ArgumentError(`Expected ${name} to be a finite number, got ${String(v)}`);
  return v;
}

/** Validates cuSeqlens (or builds [0, T] when absent). */
function seqlens(cu: CuSeqlens | undefined, T: number, name = 'cuSeqlens'): Int32Array {
  if (cu === undefined) return Int32Array.of(0, T);
  if (!types.isInt32Array(cu) && !Array.isArray(cu)) throw new ArgumentError(`Expected ${name} to be an Int32Array or number[]`);
  if (cu.length < 2) throw new ShapeError(`Expected ${name} to have nSeqs + 1 >= 2 entries, got ${cu.length}`);
  for (let i = 0; i < cu.length; i++) {
    const v = cu[i];
    if (!Number.isInteger(v) || v < 0 || v > 0x7fffffff) throw new ArgumentError(`Expected ${name}[${i}] to be an int32 >= 0, got ${v}`);
    if (i === 0 && v !== 0) throw new ShapeError(`Expected ${name}[0] to be 0, got ${v}`);
    if (i > 0 && v < cu[i - 1]) throw new ShapeError(`Expected ${name} to be non-decreasing, got ${name}[${i}] = ${v} < ${cu[i - 1]}`);
  }
  if (cu[cu.length - 1] !== T) throw new ShapeError(`Expected ${name} to end at T = ${T}, got ${cu[cu.length - 1]}`);
  return Int32Array.from(cu);
}

function int32Ids(ids: unknown, name: string, n: number, limit: number, limitName: string): Int32Array {
  if (!types.isInt32Array(ids) && !Array.isArray(ids)) throw new ArgumentError(`Expected ${name} to be an Int32Array or number[]`);
  if (ids.length !== n) throw new ShapeError(`Expected ${name} to have ${n} entries, got ${ids.length}`);
  for (let i = 0; i < ids.length; i++) {
    const v = ids[i] as number;
    if (!Number.isInteger(v) || v < 0 || v >= limit)
      throw new ArgumentError(`Expected ${name}[${i}] to be an integer in [0, ${limitName} = ${limit}), got ${v}`);
  }
  return Int32Array.from(ids as ArrayLike<number>);
}

/** State tensor: rank 3 per-sequence shape (one sequence) or rank 4 with nSeqs first. */
function stateArg(t: Tensor | undefined | null, name: string, nSeqs: number, inner: readonly number[], spec: readonly string[]) {
  if (t === undefined || t === null) return null;
  const want = t.shape.length === inner.length && nSeqs === 1 ? inner : [nSeqs, ...inner];
  const got = dims(t, name, want.length === inner.length ? spec : ['nSeqs', ...spec]);
  for (let i = 0; i < want.length; i++) same(name, `dim ${i}`, got[i], want[i], `expected shape ${fmt(want)}`);
  return f32(t);
}

// ---- options

/** Device a kernel runs on. */
export type KernelDevice = 'cpu' | 'cuda';

/** Options every kernel accepts. */
export interface KernelOptions {
  /**
   * 'cpu' (default) or 'cuda'. Inputs are copied to the device, the op runs
   * there and results come back as host tensors. A device that is not
   * available here rejects with DeviceError naming the reason.
   */
  device?: KernelDevice;
}

// 'cuda' goes through the same child-process self-test as loadModel's device
// choice (lib/device/) before the library is opened in this process.
async function deviceOf(options: KernelOptions | undefined): Promise<{ device: KernelDevice }> {
  const device = options?.device ?? 'cpu';
  if (device !== 'cpu' && device !== 'cuda') throw new ArgumentError(`Expected device to be 'cpu' or 'cuda', got ${String(device)}`);
  if (device === 'cuda') {
    const cuda = await cudaReport();
    if (!cuda.available) throw new DeviceError(`device 'cuda' is not available: ${cuda.reason}`);
  }
  return { device };
}

/** Options of {@link rmsNorm}. */
export interface RmsNormOptions extends KernelOptions {
  /** Added to the mean square before rsqrt. Default 1e-5. */
  eps?: number;
}
/** Options of {@link gatedRmsNorm}. */
export interface GatedRmsNormOptions extends RmsNormOptions {
  /** Groups normalised separately (dim must divide evenly). Default 1. */
  nGroups?: number;
}
/** Options of {@link causalConv1d}. */
export interface CausalConv1dOptions extends KernelOptions {
  /** Bias [C]. Default none. */
  bias?: Tensor;
  /** Conv state before the first token: [W-1, C] (one sequence) or [nSeqs, W-1, C]. Default zeros. */
  initialState?: Tensor;
  /** Packed sequences in x. Default one sequence of all T tokens. */
  cuSeqlens?: CuSeqlens;
}
/** Options of {@link causalConv1dStep}. */
export interface CausalConv1dStepOptions extends KernelOptions {
  /** Bias [C]. Default none. */
  bias?: Tensor;
}
/** Options of {@link mamba2Scan}. */
export interface Mamba2ScanOptions extends KernelOptions {
  /** SSM state before the first token: [H, P, N] or [nSeqs, H, P, N]. Default zeros. */
  initialState?: Tensor;
  /** > 0: chunked SSD evaluation with this chunk length; 0: token recurrence. Default 0. */
  chunkSize?: number;
  /** Skip connection D [H]. Default none. */
  D?: Tensor;
  /** Added to dt before softplus, [H]. Default none. */
  dtBias?: Tensor;
  /** Packed sequences in x. Default one sequence. */
  cuSeqlens?: CuSeqlens;
}
/** Options of {@link mamba2Step}. */
export interface Mamba2StepOptions extends KernelOptions {
  /** SSM state [S, H, P, N]. Default zeros. */
  state?: Tensor;
  /** Skip connection D [H]. Default none. */
  D?: Tensor;
  /** Added to dt before softplus, [H]. Default none. */
  dtBias?: Tensor;
}
/** Options of {@link attention}. */
export interface AttentionOptions extends KernelOptions {
  /** Score multiplier (Granite: attention_multiplier). Default 1 / sqrt(Dh). */
  scale?: number;
  /** Only causal attention is implemented. Default true. */
  causal?: boolean;
  /** Packed sequences in q/k/v. Default one sequence. */
  cuSeqlens?: CuSeqlens;
}
/** Options of {@link attentionDecode}. */
export interface AttentionDecodeOptions extends KernelOptions {
  /** Score multiplier. Default 1 / sqrt(Dh). */
  scale?: number;
  /** Batched caches only: keys visible per sequence (1..L). Default L for all. */
  contextLengths?: readonly number[];
  /** Run through a paged KV pool with this page size (tests the paged path). Default contiguous. */
  pageSize?: number;
  /** Element type of those pages (needs pageSize): keys and values are rounded to it on write. Default 'f32'. */
  kvDtype?: 'f32' | 'f16' | 'q8_0';
}
/** Options of {@link embed}. */
export interface EmbedOptions extends KernelOptions {
  /** Multiplies the looked-up rows. Default 1. */
  scale?: number;
}
/** Expert weights of {@link moeForward}, any weight dtype each. */
export interface MoeExperts {
  /** [E, F, D] */
  gate: Tensor;
  /** [E, F, D] */
  up: Tensor;
  /** [E, D, F] */
  down: Tensor;
}

// ---- kernels

/** RMSNorm: y = x * rsqrt(mean(x^2) + eps) * weight; x [T, dim], weight [dim]. */
async function rmsNorm(x: Tensor, weight: Tensor, options: RmsNormOptions = {}): Promise<Tensor> {
  const [T, dim] = dims(x, 'x', ['T', 'dim']);
  same('weight', 'dim 0', dims(weight, 'weight', ['dim'])[0], dim, 'x dim 1');
  const eps = finite(options.eps ?? 1e-5, 'eps');
  const dev = await deviceOf(options);
  const y = await callNative(() => native().rmsNorm(f32(x), f32(weight), T, dim, { eps, ...dev }));
  return new Tensor('f32', [T, dim], y);
}

/** Gated RMSNorm (Mamba-2): u = x * silu(z), normalised per group, times weight. x, z [T, dim]. */
async function gatedRmsNorm(x: Tensor, z: Tensor, weight: Tensor, options: GatedRmsNormOptions = {}): Promise<Tensor> {
  const [T, dim] = dims(x, 'x', ['T', 'dim']);
  const [zt, zd] = dims(z, 'z', ['T', 'dim']);
  same('z', 'dim 0', zt, T, 'x dim 0');
  same('z', 'dim 1', zd, dim, 'x dim 1');
  same('weight', 'dim 0', dims(weight, 'weight', ['dim'])[0], dim, 'x dim 1');
  const nGroups = positiveInt(options.nGroups ?? 1, 'nGroups');
  if (dim % nGroups !== 0) throw new ShapeError(`Expected dim ${dim} to be divisible by nGroups ${nGroups}`);
  const eps = finite(options.eps ?? 1e-5, 'eps');
  const dev = await deviceOf(options);
  const y = await callNative(() => native().gatedRmsNorm(f32(x), f32(z), f32(weight), T, dim, { eps, nGroups, ...dev }));
  return new Tensor('f32', [T, dim], y);
}

/** Causal depthwise conv1d + bias + SiLU over x [T, C] with weight [C, W]; returns the output and final state. */
async function causalConv1d(x: Tensor, weight: Tensor, options: CausalConv1dOptions = {}): Promise<{ out: Tensor; state: Tensor }> {
  const [T, C] = dims(x, 'x', ['T', 'C']);
  const [wc, W] = dims(weight, 'weight', ['C', 'W']);
  same('weight', 'dim 0', wc, C, 'x dim 1');
  const cu = seqlens(options.cuSeqlens, T);
  const S = cu.length - 1;
  const bias = optionalF32(options.bias, 'bias', C, 'C');
  const states = stateArg(options.initialState, 'initialState', S, [W - 1, C], ['W-1', 'C']);
  const dev = await deviceOf(options);
  const r = await callNative(() => native().conv1dPrefill(f32(x), f32(weight), cu, T, C, W, { bias, states, ...dev }));
  const stateShape = options.cuSeqlens === undefined ? [W - 1, C] : [S, W - 1, C];
  return { out: new Tensor('f32', [T, C], r.out), state: new Tensor('f32', stateShape, r.states) };
}

/** One decode step of the causal conv: x [S, C] (one token per sequence), state [S, W-1, C]. */
async function causalConv1dStep(
  x: Tensor,
  weight: Tensor,
  state: Tensor,
  options: CausalConv1dStepOptions = {},
): Promise<{ out: Tensor; state: Tensor }> {
  const [S, C] = dims(x, 'x', ['S', 'C']);
  const [wc, W] = dims(weight, 'weight', ['C', 'W']);
  same('weight', 'dim 0', wc, C, 'x dim 1');
  const [ss, sw, sc] = dims(state, 'state', ['S', 'W-1', 'C']);
  same('state', 'dim 0', ss, S, 'x dim 0');
  same('state', 'dim 1', sw, W - 1, 'weight dim 1 - 1');
  same('state', 'dim 2', sc, C, 'x dim 1');
  const bias = optionalF32(options.bias, 'bias', C, 'C');
  const dev = await deviceOf(options);
  const r = await callNative(() => native().conv1dStep(f32(x), f32(weight), f32(state), S, C, W, { bias, ...dev }));
  return { out: new Tensor('f32', [S, C], r.out), state: new Tensor('f32', [S, W - 1, C], r.states) };
}

/** Shapes shared by the scan and the step: x [T, H, P], dt [T, H], A [H], B, C [T, G, N]. */
function ssmShapes(x: Tensor, dt: Tensor, A: Tensor, B: Tensor, C: Tensor, t: string) {
  const [T, H, P] = dims(x, 'x', [t, 'H', 'P']);
  const [dtT, dtH] = dims(dt, 'dt', [t, 'H']);
  same('dt', 'dim 0', dtT, T, 'x dim 0');
  same('dt', 'dim 1', dtH, H, 'x dim 1');
  same('A', 'dim 0', dims(A, 'A', ['H'])[0], H, 'x dim 1');
  const [bT, G, N] = dims(B, 'B', [t, 'G', 'N']);
  same('B', 'dim 0', bT, T, 'x dim 0');
  const [cT, cG, cN] = dims(C, 'C', [t, 'G', 'N']);
  same('C', 'dim 0', cT, T, 'x dim 0');
  same('C', 'dim 1', cG, G, 'B dim 1');
  same('C', 'dim 2', cN, N, 'B dim 2');
  if (H % G !== 0) throw new ShapeError(`Expected H = ${H} to be divisible by G = ${G}`);
  return { T, H, P, G, N };
}

/** Mamba-2 selective scan over packed sequences; returns y [T, H, P] and the final state. */
async function mamba2Scan(
  x: Tensor,
  dt: Tensor,
  A: Tensor,
  B: Tensor,
  C: Tensor,
  options: Mamba2ScanOptions = {},
): Promise<{ y: Tensor; state: Tensor }> {
  const { T, H, P, G, N } = ssmShapes(x, dt, A, B, C, 'T');
  const cu = seqlens(options.cuSeqlens, T);
  const S = cu.length - 1;
  const chunkSize = options.chunkSize ?? 0;
  if (!Number.isInteger(chunkSize) || chunkSize < 0 || chunkSize > 65536)
    throw new ArgumentError(`Expected chunkSize to be an integer in [0, 65536], got ${chunkSize}`);
  const states = stateArg(options.initialState, 'initialState', S, [H, P, N], ['H', 'P', 'N']);
  const D = optionalF32(options.D, 'D', H, 'H');
  const dtBias = optionalF32(options.dtBias, 'dtBias', H, 'H');
  const dev = await deviceOf(options);
  const r = await callNative(() =>
    native().ssmScan(f32(x), f32(dt), f32(A), f32(B), f32(C), cu, T, H, P, N, G, { D, dtBias, states, chunkSize, ...dev }),
  );
  const stateShape = options.cuSeqlens === undefined ? [H, P, N] : [S, H, P, N];
  return { y: new Tensor('f32', [T, H, P], r.y), state: new Tensor('f32', stateShape, r.states) };
}

/** One Mamba-2 decode step per sequence: x [S, H, P], dt [S, H], B, C [S, G, N], state [S, H, P, N]. */
async function mamba2Step(
  x: Tensor,
  dt: Tensor,
  A: Tensor,
  B: Tensor,
  C: Tensor,
  options: Mamba2StepOptions = {},
): Promise<{ y: Tensor; state: Tensor }> {
  const { T: S, H, P, G, N } = ssmShapes(x, dt, A, B, C, 'S');
  let states: Float32Array | null = null;
  if (options.state !== undefined) {
    const got = dims(options.state, 'state', ['S', 'H', 'P', 'N']);
    [S, H, P, N].forEach((d, i) => same('state', `dim ${i}`, got[i], d, `expected ${fmt([S, H, P, N])}`));
    states = f32(options.state);
  }
  const D = optionalF32(options.D, 'D', H, 'H');
  const dtBias = optionalF32(options.dtBias, 'dtBias', H, 'H');
  const dev = await deviceOf(options);
  const r = await callNative(() =>
    native().ssmStep(f32(x), f32(dt), f32(A), f32(B), f32(C), states, S, H, P, N, G, { D, dtBias, ...dev }),
  );
  return { y: new Tensor('f32', [S, H, P], r.y), state: new Tensor('f32', [S, H, P, N], r.states) };
}

/** Causal GQA attention (prefill): q [T, Hq, Dh], k, v [T, Hkv, Dh] -> [T, Hq, Dh]. */
async function attention(q: Tensor, k: Tensor, v: Tensor, options: AttentionOptions = {}): Promise<Tensor> {
  if (options.causal === false) throw new UnsupportedError('attention: only causal attention is implemented (causal: true)');
  const [T, Hq, Dh] = dims(q, 'q', ['T', 'Hq', 'Dh']);
  const [kT, Hkv, kD] = dims(k, 'k', ['T', 'Hkv', 'Dh']);
  same('k', 'dim 0', kT, T, 'q dim 0');
  same('k', 'dim 2', kD, Dh, 'q dim 2');
  const vs = dims(v, 'v', ['T', 'Hkv', 'Dh']);
  vs.forEach((d, i) => same('v', `dim ${i}`, d, k.shape[i], `k dim ${i}`));
  if (Hq % Hkv !== 0) throw new ShapeError(`Expected Hq = ${Hq} to be divisible by Hkv = ${Hkv}`);
  const scale = finite(options.scale ?? 1 / Math.sqrt(Dh), 'scale');
  const cu = seqlens(options.cuSeqlens, T);
  const dev = await deviceOf(options);
  const out = await callNative(() => native().attention(f32(q), f32(k), f32(v), cu, cu, Hq, Hkv, Dh, { scale, ...dev }));
  return new Tensor('f32', [T, Hq, Dh], out);
}

/**
 * Attention of the newest queries against a contiguous KV cache.
 * One sequence: q [Hq, Dh] (one query) or [n, Hq, Dh] (the last n positions), caches [L, Hkv, Dh].
 * Batched: q [S, Hq, Dh], caches [S, L, Hkv, Dh], one query per sequence at position contextLengths[s] - 1.
 */
async function attentionDecode(q: Tensor, kCache: Tensor, vCache: Tensor, options: AttentionDecodeOptions = {}): Promise<Tensor> {
  const batched = kCache instanceof Tensor && kCache.shape.length === 4;
  const cacheSpec = batched ? ['S', 'L', 'Hkv', 'Dh'] : ['L', 'Hkv', 'Dh'];
  const ks = dims(kCache, 'kCache', cacheSpec);
  dims(vCache, 'vCache', cacheSpec).forEach((d, i) => same('vCache', `dim ${i}`, d, ks[i], `kCache dim ${i}`));
  const [L, Hkv, Dh] = ks.slice(-3);
  let qs: number[];
  if (batched) qs = dims(q, 'q', ['S', 'Hq', 'Dh']);
  else if (q instanceof Tensor && q.shape.length === 2) qs = [1, ...dims(q, 'q', ['Hq', 'Dh'])];
  else qs = dims(q, 'q', ['n', 'Hq', 'Dh']);
  const [nq, Hq, qD] = qs;
  same('q', `dim ${qs.length - 1}`, qD, Dh, 'cache head dim');
  if (Hq % Hkv !== 0) throw new ShapeError(`Expected Hq = ${Hq} to be divisible by Hkv = ${Hkv}`);
  const scale = finite(options.scale ?? 1 / Math.sqrt(Dh), 'scale');
  const pageSize = options.pageSize === undefined ? 0 : positiveInt(options.pageSize, 'pageSize');
  const kvDtype = options.kvDtype ?? 'f32';
  if (!['f32', 'f16', 'q8_0'].includes(kvDtype)) throw new ArgumentError(`Expected kvDtype 'f32', 'f16' or 'q8_0', got ${String(kvDtype)}`);
  if (kvDtype !== 'f32' && pageSize === 0) throw new ArgumentError(`kvDtype '${kvDtype}' needs a pageSize`);
  let qCu: Int32Array, kvCu: Int32Array, k: Float32Array, v: Float32Array;
  if (!batched) {
    if (nq > L) throw new ShapeError(`Expected at most L = ${L} queries, got ${nq}`);
    if (options.contextLengths !== undefined) throw new ArgumentError('contextLengths needs batched caches [S, L, Hkv, Dh]');
    [qCu, kvCu, k, v] = [Int32Array.of(0, nq), Int32Array.of(0, L), f32(kCache), f32(vCache)];
  } else {
    const S = ks[0];
    same('q', 'dim 0', nq, S, 'kCache dim 0');
    const lens = options.contextLengths ?? new Array<number>(S).fill(L);
    if (lens.length !== S) throw new ShapeError(`Expected contextLengths to have ${S} entries, got ${lens.length}`);
    lens.forEach((n, i) => {
      if (!Number.isInteger(n) || n < 1 || n > L) throw new ArgumentError(`Expected contextLengths[${i}] in [1, ${L}], got ${n}`);
    });
    const row = Hkv * Dh;
    qCu = Int32Array.from({ length: S + 1 }, (_, i) => i);
    kvCu = new Int32Array(S + 1);
    lens.forEach((n, i) => (kvCu[i + 1] = kvCu[i] + n));
    k = new Float32Array(kvCu[S] * row);
    v = new Float32Array(kvCu[S] * row);
    lens.forEach((n, s) => {
      k.set(f32(kCache).subarray(s * L * row, (s * L + n) * row), kvCu[s] * row);
      v.set(f32(vCache).subarray(s * L * row, (s * L + n) * row), kvCu[s] * row);
    });
  }
  const dev = await deviceOf(options);
  const out = await callNative(() => native().attention(f32(q), k, v, qCu, kvCu, Hq, Hkv, Dh, { scale, pageSize, kvDtype, ...dev }));
  return new Tensor('f32', [...q.shape], out);
}

/** Top-k routing: ids [T, k] (largest logit first, ties to the lower id) and softmax weights [T, k]. */
async function moeRoute(logits: Tensor, topK: number, options: KernelOptions = {}): Promise<{ ids: Int32Array; weights: Tensor }> {
  const [T, E] = dims(logits, 'logits', ['T', 'E']);
  positiveInt(topK, 'topK');
  if (topK > E) throw new ArgumentError(`Expected topK <= E = ${E}, got ${topK}`);
  const dev = await deviceOf(options);
  const r = await callNative(() => native().moeRoute(f32(logits), T, E, topK, dev));
  return { ids: r.ids, weights: new Tensor('f32', [T, topK], r.weights) };
}

/** MoE FFN: out[t] = sum_j weights[t, j] * down_e(silu(gate_e x) * up_e x), e = ids[t, j]; x [T, D]. */
async function moeForward(
  x: Tensor,
  ids: Int32Array | readonly number[],
  weights: Tensor,
  experts: MoeExperts,
  options: KernelOptions = {},
): Promise<Tensor> {
  const [T, D] = dims(x, 'x', ['T', 'D']);
  const [wT, k] = dims(weights, 'weights', ['T', 'k']);
  same('weights', 'dim 0', wT, T, 'x dim 0');
  if (k < 1) throw new ShapeError('Expected weights dim 1 (top k) to be >= 1');
  if (typeof experts !== 'object' || experts === null) throw new ArgumentError('Expected experts to be { gate, up, down }');
  const [E, F, gD] = dims(experts.gate, 'experts.gate', ['E', 'F', 'D'], true);
  same('experts.gate', 'dim 2', gD, D, 'x dim 1');
  dims(experts.up, 'experts.up', ['E', 'F', 'D'], true).forEach((d, i) => same('experts.up', `dim ${i}`, d, experts.gate.shape[i], `gate dim ${i}`));
  const ds = dims(experts.down, 'experts.down', ['E', 'D', 'F'], true);
  [E, D, F].forEach((d, i) => same('experts.down', `dim ${i}`, ds[i], d, `expected ${fmt([E, D, F])}`));
  if (k > E) throw new ShapeError(`Expected top k = ${k} <= E = ${E}`);
  const idArr = int32Ids(ids, 'ids', T * k, E, 'E');
  const { gate, up, down } = experts;
  const dev = await deviceOf(options);
  const out = await callNative(() =>
    native().moeForward(f32(x), idArr, f32(weights), gate.data, up.data, down.data, T, k, E, D, F,
      ggmlTypeId(gate.dtype), ggmlTypeId(up.dtype), ggmlTypeId(down.dtype), dev),
  );
  return new Tensor('f32', [T, D], out);
}

/** y = x · weightᵀ: x [T, K], weight [N, K] in any dtype -> [T, N]. */
async function matmul(x: Tensor, weight: Tensor, options: KernelOptions = {}): Promise<Tensor> {
  const [T, K] = dims(x, 'x', ['T', 'K']);
  const [N, wK] = dims(weight, 'weight', ['N', 'K'], true);
  same('weight', 'dim 1', wK, K, 'x dim 1');
  const dev = await deviceOf(options);
  const y = await callNative(() => native().matmul(f32(x), weight.data, T, N, K, ggmlTypeId(weight.dtype), dev));
  return new Tensor('f32', [T, N], y);
}

/** SwiGLU: silu(gate) * up, both [T, n]. */
async function swiglu(gate: Tensor, up: Tensor, options: KernelOptions = {}): Promise<Tensor> {
  const [T, n] = dims(gate, 'gate', ['T', 'n']);
  dims(up, 'up', ['T', 'n']).forEach((d, i) => same('up', `dim ${i}`, d, gate.shape[i], `gate dim ${i}`));
  const dev = await deviceOf(options);
  const y = await callNative(() => native().swiglu(f32(gate), f32(up), T, n, dev));
  return new Tensor('f32', [T, n], y);
}

/** Embedding lookup: table [V, D] in any dtype; out [T, D] = scale * table[ids]. */
async function embed(ids: Int32Array | readonly number[], table: Tensor, options: EmbedOptions = {}): Promise<Tensor> {
  const [V, D] = dims(table, 'table', ['V', 'D'], true);
  const idArr = int32Ids(ids, 'ids', (ids as ArrayLike<number>)?.length ?? -1, V, 'V');
  const scale = finite(options.scale ?? 1, 'scale');
  const dev = await deviceOf(options);
  const out = await callNative(() => native().embed(idArr, table.data, V, D, ggmlTypeId(table.dtype), { scale, ...dev }));
  return new Tensor('f32', [idArr.length, D], out);
}

/** The standalone kernels; each returns a Promise and runs off the JS thread. */
export const kernels = {
  rmsNorm,
  gatedRmsNorm,
  causalConv1d,
  causalConv1dStep,
  mamba2Scan,
  mamba2Step,
  attention,
  attentionDecode,
  moeRoute,
  moeForward,
  matmul,
  swiglu,
  embed,
};
