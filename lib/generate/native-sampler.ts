/**
 * Sampling in the addon: the same algorithm, options and seeded generator as
 * {@link Sampler} (lib/generate/sampling.ts, the reference), run off the JS
 * thread for a whole batch of rows at once, rows in parallel. The same seed
 * and options pick the same tokens as the TS sampler (the one possible
 * difference: V8's and libm's exp may round the last bit of a double apart,
 * which changes a pick only for a draw within ~1e-16 of a boundary).
 */
import { ArgumentError, callNative, callNativeSync } from '../errors';
import { native } from '../native';
import type { NativeRowSampling, NativeSampledRow, NativeSamplerHandle } from '../native-types';
import { bannedIds, samplingParams, type SamplingOptions, type TokenLogprob } from './sampling';

/** A sampler whose state (parameters, generator) lives in the addon. */
export class NativeSampler {
  /** @internal the addon's sampler object */
  readonly handle: NativeSamplerHandle;
  /** How many of the last history tokens the penalties read (the rest need not be sent). */
  readonly penaltyLastN: number;
  /** @internal the sequence with evalAndSample calls in flight on this sampler, and how many */
  user: { seqId: number; pending: number } | null = null;

  /** Same arguments as {@link Sampler}: `usable(id)` false bans an id. */
  constructor(
    options: SamplingOptions,
    readonly vocab: number,
    usable?: (id: number) => boolean,
  ) {
    const p = samplingParams(options, vocab);
    this.penaltyLastN = p.penaltyLastN;
    this.handle = callNativeSync(
      () =>
        new (native().SamplerHandle)({
          ...p,
          vocab,
          biasIds: Int32Array.from(p.bias, ([id]) => id),
          biasValues: Float64Array.from(p.bias, ([, b]) => b),
          banned: Int32Array.from(bannedIds(vocab, usable)),
        }),
    );
  }

  /** The window of `history` the penalties read, as an Int32Array. */
  historyWindow(history: ArrayLike<number>): Int32Array {
    const from = Math.max(0, history.length - this.penaltyLastN);
    const out = new Int32Array(history.length - from);
    for (let i = from; i < history.length; i++) out[i - from] = history[i];
    return out;
  }
}

/** One row of {@link sampleBatch}. */
export interface SampleRow {
  sampler: NativeSampler;
  /** The row's logits (sampler.vocab floats). */
  logits: Float32Array;
  /** Tokens so far, prompt included (for the penalties). */
  history: ArrayLike<number>;
}

/** A sampled token, with its logprob and alternatives when asked for. */
export interface SampledToken {
  token: number;
  /** log-softmax of the row's raw logits at `token` (with `logprobs`). */
  logprob?: number;
  /** The `logprobs: n` most likely alternatives. */
  top?: TokenLogprob[];
}

/**
 * The native sampling request for rows sampled by `samplers` (null: a row not
 * sampled) with the given histories: each history's penalty window, packed.
 */
export function rowSampling(
  samplers: ReadonlyArray<NativeSampler | null>,
  histories: ReadonlyArray<ArrayLike<number>>,
  topN: number,
): NativeRowSampling {
  const windows = samplers.map((s, i) => {
    if (s !== null && !(s instanceof NativeSampler)) throw new ArgumentError('Expected each sampler to be a NativeSampler');
    return s ? s.historyWindow(histories[i]) : new Int32Array(0);
  });
  const historyCounts = Int32Array.from(windows, (w) => w.length);
  const history = new Int32Array(historyCounts.reduce((a, b) => a + b, 0));
  let off = 0;
  for (const w of windows) {
    history.set(w, off);
    off += w.length;
  }
  return { samplers: samplers.map((s) => s?.handle ?? null), historyCounts, history, topN };
}

/** `logprobs` option -> the native topN (-1: none). */
export function logprobsTopN(logprobs: boolean | number | undefined): number {
  if (logprobs !== undefined && typeof logprobs !== 'boolean' && !(Number.isInteger(logprobs) && logprobs >= 0 && logprobs <= 100)) {
    throw new ArgumentError(`Expected logprobs to be a boolean or an integer in [0, 100], got ${String(logprobs)}`);
  }
  return logprobs === true ? 0 : typeof logprobs === 'number' ? logprobs : -1;
}

/** A native row result as a {@link SampledToken}. */
export function sampledToken(row: NativeSampledRow): SampledToken {
  const s: SampledToken = { token: row.token };
  if (row.logprob !== undefined) s.logprob = row.logprob;
  if (row.topIds && row.topLogprobs) {
    s.top = Array.from(row.topIds, (token, j) => ({ token, logprob: row.topLogprobs![j] }));
  }
  return s;
}

/**
 * Samples one token per row, off the JS thread. A sampler may appear in one
 * row only and in one call at a time (BusyError otherwise), which keeps its
 * draws in call order. `logprobs`: true for each chosen token's logprob, a
 * number n for the n most likely alternatives too.
 */
export async function sampleBatch(rows: readonly SampleRow[], options: { logprobs?: boolean | number } = {}): Promise<SampledToken[]> {
  const topN = logprobsTopN(options.logprobs);
  if (rows.length === 0) return [];
  const sampling = rowSampling(
    rows.map((r) => r.sampler),
    rows.map((r) => r.history),
    topN,
  );
  const out = await callNative(() =>
    native().sampleBatch(
      rows.map((r) => r.logits),
      sampling,
    ),
  );
  return out.map(sampledToken);
}
