/**
 * Token sampling over a Float32Array of logits, pure TS. Order (llama.cpp's):
 * unusable ids masked -> logit bias -> repetition / presence / frequency
 * penalties -> greedy when temperature is 0, else top-k -> top-p -> min-p ->
 * temperature -> a draw from the seeded generator.
 */
import { randomInt } from 'node:crypto';
import { ArgumentError } from '../errors';
import { intOption } from '../int-option';
import { Rng } from './rng';

/** Sampling controls (every field optional; defaults shown). */
export interface SamplingOptions {
  /** 0 = greedy (argmax; IBM's recommendation for Granite). Default 0. */
  temperature?: number;
  /** Keep the k most likely tokens; 0 = all. Default 40. */
  topK?: number;
  /** Keep the smallest set whose probability reaches p; 1 = off. Default 0.95. */
  topP?: number;
  /** Drop tokens less likely than minP × the most likely one; 0 = off. Default 0.05. */
  minP?: number;
  /** Divide positive (multiply negative) logits of recently seen tokens; 1 = off. Default 1. */
  repeatPenalty?: number;
  /** Subtracted once from the logit of every recently seen token. Default 0. */
  presencePenalty?: number;
  /** Subtracted per occurrence from the logit of every recently seen token. Default 0. */
  frequencyPenalty?: number;
  /** How many of the last tokens (prompt included) the penalties look at. Default 64. */
  penaltyLastN?: number;
  /** Added to the logits of the given ids (-Infinity bans a token; +Infinity is refused). Default none. */
  logitBias?: Readonly<Record<number, number>> | ReadonlyMap<number, number>;
  /** Seed of the sampler's generator: same seed + same input = same output. Default random. */
  seed?: number;
}

/** One alternative reported with logprobs. */
export interface TokenLogprob {
  token: number;
  /** log-softmax of the model's logits (before any sampling transform). */
  logprob: number;
}

function num(v: unknown, name: string, lo: number, hi: number, dflt: number): number {
  if (v === undefined) return dflt;
  if (typeof v !== 'number' || Number.isNaN(v) || v < lo || v > hi) {
    throw new ArgumentError(`Expected ${name} to be a number in [${lo}, ${hi}], got ${String(v)}`);
  }
  return v;
}

/** Sampling options checked, defaulted and resolved (what the TS and the native sampler both run on). */
export interface SamplingParams {
  temperature: number;
  topK: number;
  topP: number;
  minP: number;
  repeatPenalty: number;
  presencePenalty: number;
  frequencyPenalty: number;
  penaltyLastN: number;
  /** [token id, bias] pairs. */
  bias: Array<[number, number]>;
  /** The generator's seed mod 2^32 (drawn at random when the options give none). */
  seed: number;
}

/** Validates `options` for a vocabulary of `vocab` ids; ArgumentError names the bad option. */
export function samplingParams(options: SamplingOptions, vocab: number): SamplingParams {
  const repeatPenalty = num(options.repeatPenalty, 'repeatPenalty', 0, 100, 1);
  if (repeatPenalty === 0) throw new ArgumentError('Expected repeatPenalty to be > 0 (1 = off), got 0');
  if (options.seed !== undefined && (!Number.isInteger(options.seed) || !Number.isSafeInteger(options.seed))) {
    throw new ArgumentError(`Expected seed to be an integer, got ${String(options.seed)}`);
  }
  const entries = options.logitBias instanceof Map ? [...options.logitBias.entries()] : Object.entries(options.logitBias ?? {});
  const bias = entries.map(([k, v]): [number, number] => {
    const id = Number(k);
    if (!Number.isInteger(id) || id < 0 || id >= vocab) {
      throw new ArgumentError(`logitBias key ${String(k)} is not a token id: expected an integer in [0, ${vocab})`);
    }
    // -Infinity bans a token; +Infinity would make every weight NaN (inf - inf), so it is refused.
    if (typeof v !== 'number' || Number.isNaN(v) || v === Infinity) {
      throw new ArgumentError(`logitBias[${id}] must be a finite number or -Infinity, got ${String(v)}`);
    }
    return [id, v];
  });
  return {
    temperature: num(options.temperature, 'temperature', 0, 100, 0),
    topK: intOption(options.topK, 'topK', 0, 40),
    topP: num(options.topP, 'topP', 0, 1, 0.95),
    minP: num(options.minP, 'minP', 0, 1, 0.05),
    repeatPenalty,
    presencePenalty: num(options.presencePenalty, 'presencePenalty', -100, 100, 0),
    frequencyPenalty: num(options.frequencyPenalty, 'frequencyPenalty', -100, 100, 0),
    penaltyLastN: intOption(options.penaltyLastN, 'penaltyLastN', 0, 64),
    bias,
    seed: (options.seed ?? randomInt(0, 2 ** 32 - 1)) >>> 0,
  };
}

/** Ids for which `usable(id)` is false, ascending (none without `usable`). */
export function bannedIds(vocab: number, usable?: (id: number) => boolean): number[] {
  const out: number[] = [];
  if (usable) for (let i = 0; i < vocab; i++) if (!usable(i)) out.push(i);
  return out;
}

export class Sampler {
  readonly temperature: number;
  readonly topK: number;
  readonly topP: number;
  readonly minP: number;
  readonly repeatPenalty: number;
  readonly presencePenalty: number;
  readonly frequencyPenalty: number;
  readonly penaltyLastN: number;
  private readonly bias: Array<[number, number]>;
  private readonly rng: Rng;
  private readonly work: Float32Array;
  private readonly banned: number[];

  /**
   * `vocab`: logits length. `usable(id)` false marks ids that must never be
   * produced (padding rows past the tokenizer's vocabulary).
   */
  constructor(options: SamplingOptions, vocab: number, usable?: (id: number) => boolean) {
    const p = samplingParams(options, vocab);
    this.temperature = p.temperature;
    this.topK = p.topK;
    this.topP = p.topP;
    this.minP = p.minP;
    this.repeatPenalty = p.repeatPenalty;
    this.presencePenalty = p.presencePenalty;
    this.frequencyPenalty = p.frequencyPenalty;
    this.penaltyLastN = p.penaltyLastN;
    this.bias = p.bias;
    this.rng = new Rng(p.seed);
    this.work = new Float32Array(vocab);
    this.banned = bannedIds(vocab, usable);
  }

  /** Picks the next token from `logits` given the tokens so far (`history`, prompt included). */
  sample(logits: Float32Array, history: readonly number[]): number {
    const l = this.work;
    if (logits.length !== l.length) {
      throw new ArgumentError(`Expected ${l.length} logits, got ${logits.length}`);
    }
    l.set(logits);
    for (const id of this.banned) l[id] = -Infinity;
    for (const [id, b] of this.bias) l[id] += b;
    this.applyPenalties(l, history);
    if (this.temperature === 0) return argmax(l);

    const cand = this.topK > 0 ? topIndices(l, this.topK) : sortedIndices(l);
    if (cand.length === 0) return argmax(l);
    const lmax = l[cand[0]];
    // top-p and min-p on the untempered distribution, then temperature.
    let n = cand.length;
    if (this.topP < 1 || this.minP > 0) {
      const p = cand.map((id) => Math.exp(l[id] - lmax));
      const z = p.reduce((a, b) => a + b, 0);
      if (this.topP < 1) {
        let acc = 0;
        for (let i = 0; i < n; i++) {
          acc += p[i] / z;
          if (acc >= this.topP) {
            n = i + 1;
            break;
          }
        }
      }
      if (this.minP > 0) {
        let keep = 1;
        while (keep < n && p[keep] >= this.minP * p[0]) keep++;
        n = keep;
      }
    }
    const w = new Float64Array(n);
    let total = 0;
    for (let i = 0; i < n; i++) {
      w[i] = Math.exp((l[cand[i]] - lmax) / this.temperature);
      total += w[i];
    }
    let r = this.rng.next() * total;
    for (let i = 0; i < n; i++) {
      r -= w[i];
      if (r < 0) return cand[i];
    }
    return cand[n - 1];
  }

  private applyPenalties(l: Float32Array, history: readonly number[]): void {
    if (this.penaltyLastN === 0 || (this.repeatPenalty === 1 && this.presencePenalty === 0 && this.frequencyPenalty === 0)) return;
    const counts = new Map<number, number>();
    for (let i = Math.max(0, history.length - this.penaltyLastN); i < history.length; i++) {
      counts.set(history[i], (counts.get(history[i]) ?? 0) + 1);
    }
    for (const [id, c] of counts) {
      if (id < 0 || id >= l.length) continue;
      let v = l[id];
      v = v > 0 ? v / this.repeatPenalty : v * this.repeatPenalty;
      l[id] = v - this.presencePenalty - c * this.frequencyPenalty;
    }
  }
}

/** Index of the largest value (the first on ties). */
export function argmax(l: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < l.length; i++) if (l[i] > l[best]) best = i;
  return best;
}

/** The k largest finite entries' indices, largest first. */
export function topIndices(l: ArrayLike<number>, k: number): number[] {
  const idx: number[] = [];
  let floor = -Infinity;
  for (let i = 0; i < l.length; i++) {
    const v = l[i];
    if (v === -Infinity || Number.isNaN(v) || (idx.length === k && v <= floor)) continue;
    // insertion into a small sorted array (k is small in practice)
    let j = idx.length === k ? k - 1 : idx.length;
    if (idx.length < k) idx.push(i);
    while (j > 0 && l[idx[j - 1]] < v) {
      idx[j] = idx[j - 1];
      j--;
    }
    idx[j] = i;
    if (idx.length === k) floor = l[idx[k - 1]];
  }
  return idx;
}

function sortedIndices(l: Float32Array): number[] {
  const idx: number[] = [];
  for (let i = 0; i < l.length; i++) if (l[i] !== -Infinity && !Number.isNaN(l[i])) idx.push(i);
  return idx.sort((a, b) => l[b] - l[a] || a - b);
}

/** log-softmax of `logits` at `token`, and the `topN` most likely alternatives. */
export function logprobsOf(logits: Float32Array, token: number, topN: number): { logprob: number; top: TokenLogprob[] } {
  let max = -Infinity;
  for (let i = 0; i < logits.length; i++) if (logits[i] > max) max = logits[i];
  let sum = 0;
  for (let i = 0; i < logits.length; i++) sum += Math.exp(logits[i] - max);
  const lse = max + Math.log(sum);
  const top = topN > 0 ? topIndices(logits, topN).map((id) => ({ token: id, logprob: logits[id] - lse })) : [];
  return { logprob: logits[token] - lse, top };
}
