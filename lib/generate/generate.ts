/**
 * The token loop: prefill the prompt into a sequence, then sample, stream and
 * feed one token per step until a stop token, a stop string, maxTokens or an
 * abort. {@link GenerationStream} wraps it as an AsyncIterable of pieces with
 * a `result` promise.
 */
import { AbortError, ArgumentError } from '../errors';
import type { Sequence } from '../sequence';
import type { Tokenizer } from '../tokenizer/tokenizer';
import type { StreamingDetokenizer } from '../tokenizer/detokenizer';
import { NativeSampler, type SampledToken } from './native-sampler';
import { StopStringMatcher } from './stop';
import type { CompletionResult, FinishReason, GenerateOptions, GeneratedTokenLogprob, GenerationPiece } from './types';

/** What the loop runs on. */
export interface GenerationJob {
  seq: Sequence;
  /** Tokens to feed before sampling (the new part of the prompt; non-empty). */
  prompt: readonly number[];
  /** Every token in the sequence's context once the prompt is fed (for penalties). */
  context: readonly number[];
  tokenizer: Tokenizer | null;
  vocab: number;
  eos: number | null;
  options: GenerateOptions;
  /** Prompt tokens already in the sequence from the prefix cache (reported as usage.cachedPromptTokens). */
  cachedPromptTokens?: number;
  /** Store prefix-cache checkpoints while prefilling the prompt. */
  cachePrefix?: boolean;
}

/** Live progress of a job, readable while it runs and after it stops. */
export interface GenerationState {
  /** Tokens appended to the sequence by this job (prompt + fed generated tokens). */
  fed: number[];
  tokens: number[];
  text: string;
  logprobs: GeneratedTokenLogprob[];
  finishReason: FinishReason | null;
  stoppedBy?: CompletionResult['stoppedBy'];
  prefillMs: number;
  decodeMs: number;
  decodeSteps: number;
  /** Prompt tokens restored from the prefix cache. */
  cachedPromptTokens: number;
}

/** Checks GenerateOptions fields the sampler does not own. */
export function checkGenerateOptions(o: GenerateOptions): void {
  if (o.maxTokens !== undefined && (!Number.isInteger(o.maxTokens) || o.maxTokens < 1)) {
    throw new ArgumentError(`Expected maxTokens to be an integer >= 1, got ${String(o.maxTokens)}`);
  }
  const stops = o.stop === undefined ? [] : typeof o.stop === 'string' ? [o.stop] : o.stop;
  if (!Array.isArray(stops) || stops.some((s) => typeof s !== 'string')) {
    throw new ArgumentError(`Expected stop to be a string or an array of strings, got ${JSON.stringify(o.stop)}`);
  }
  if (o.stopTokens !== undefined && (!Array.isArray(o.stopTokens) || o.stopTokens.some((t) => !Number.isInteger(t)))) {
    throw new ArgumentError(`Expected stopTokens to be an array of token ids, got ${JSON.stringify(o.stopTokens)}`);
  }
  if (o.logprobs !== undefined && typeof o.logprobs !== 'boolean' && !(Number.isInteger(o.logprobs) && o.logprobs >= 0 && o.logprobs <= 100)) {
    throw new ArgumentError(`Expected logprobs to be a boolean or an integer in [0, 100], got ${String(o.logprobs)}`);
  }
  if (o.signal !== undefined && !(o.signal instanceof AbortSignal)) {
    throw new ArgumentError('Expected signal to be an AbortSignal');
  }
}

/** A fresh {@link GenerationState}. */
export function newGenerationState(): GenerationState {
  return {
    fed: [],
    tokens: [],
    text: '',
    logprobs: [],
    finishReason: null,
    prefillMs: 0,
    decodeMs: 0,
    decodeSteps: 0,
    cachedPromptTokens: 0,
  };
}

/**
 * Builds the result object from a state (`processed`: prompt tokens
 * evaluated; the prompt also counts the tokens restored from the prefix cache).
 */
export function resultOf(state: GenerationState, processed: number): CompletionResult {
  const rate = (n: number, ms: number) => (ms > 0 ? (n * 1000) / ms : 0);
  const promptTokens = processed + state.cachedPromptTokens;
  const out: CompletionResult = {
    text: state.text,
    tokens: [...state.tokens],
    finishReason: state.finishReason ?? 'abort',
    usage: {
      promptTokens,
      cachedPromptTokens: state.cachedPromptTokens,
      completionTokens: state.tokens.length,
      totalTokens: promptTokens + state.tokens.length,
    },
    timings: {
      prefillMs: state.prefillMs,
      decodeMs: state.decodeMs,
      prefillTokensPerSecond: rate(processed, state.prefillMs),
      decodeTokensPerSecond: rate(state.decodeSteps, state.decodeMs),
    },
  };
  if (state.stoppedBy) out.stoppedBy = state.stoppedBy;
  if (state.logprobs.length) out.logprobs = [...state.logprobs];
  return out;
}

/**
 * Runs a generation job, yielding pieces and returning the result. Updates
 * `state` as it goes, so a consumer that stops iterating still sees what was
 * generated and fed.
 */
export async function* runGeneration(job: GenerationJob, state: GenerationState): AsyncGenerator<GenerationPiece, CompletionResult> {
  const o = job.options;
  checkGenerateOptions(o);
  if (job.prompt.length === 0) throw new ArgumentError('the prompt encodes to no tokens: nothing to generate from');
  const stops = o.stop === undefined ? [] : typeof o.stop === 'string' ? [o.stop] : [...o.stop];
  if (stops.length && !job.tokenizer) throw new ArgumentError('stop strings need a tokenizer, and this model has none');
  const stopTokens = new Set(o.stopTokens ?? []);
  if (!o.ignoreEos && job.eos !== null) stopTokens.add(job.eos);
  const maxTokens = o.maxTokens ?? 512;
  const topN = typeof o.logprobs === 'number' ? o.logprobs : 0;
  const wantLogprobs = o.logprobs === true || topN > 0;
  const history = [...job.context];
  // Sampled in the addon right after each forward pass: only token ids (and
  // the logprobs asked for) cross into JS, never a vocab-wide logits row.
  const sampler = new NativeSampler(o, job.vocab, job.tokenizer ? (id) => job.tokenizer!.isUsable(id) : undefined);
  const sampleOptions = { history, logprobs: wantLogprobs ? Math.max(topN, 0) : false };
  const detok: StreamingDetokenizer | null = job.tokenizer?.createDetokenizer({ skipSpecial: o.skipSpecial ?? true }) ?? null;
  const matcher = new StopStringMatcher(stops);
  const aborted = () => o.signal?.aborted === true;

  let pieceTokens: number[] = [];
  let pieceLogprobs: GeneratedTokenLogprob[] = [];
  const piece = (text: string): GenerationPiece => {
    const p: GenerationPiece = { text, tokens: pieceTokens };
    if (wantLogprobs) p.logprobs = pieceLogprobs;
    pieceTokens = [];
    pieceLogprobs = [];
    state.text += text;
    return p;
  };

  if (aborted()) {
    state.finishReason = 'abort';
    return resultOf(state, 0);
  }
  state.cachedPromptTokens = job.cachedPromptTokens ?? 0;
  const t0 = performance.now();
  let next: SampledToken;
  try {
    next = await job.seq.evalAndSample(job.prompt, sampler, { ...sampleOptions, signal: o.signal, cachePrefix: job.cachePrefix });
  } catch (err) {
    if (!(err instanceof AbortError)) throw err;
    state.finishReason = 'abort'; // the prompt was rolled back: nothing fed
    return resultOf(state, 0);
  }
  state.fed.push(...job.prompt);
  state.prefillMs = performance.now() - t0;

  for (;;) {
    if (aborted()) {
      state.finishReason = 'abort';
      break;
    }
    const token = next.token;
    if (stopTokens.has(token)) {
      state.finishReason = 'stop';
      state.stoppedBy = { token };
      break;
    }
    state.tokens.push(token);
    history.push(token);
    pieceTokens.push(token);
    if (wantLogprobs) {
      const entry: GeneratedTokenLogprob = { token, logprob: next.logprob! };
      if (topN > 0) entry.top = next.top ?? [];
      pieceLogprobs.push(entry);
      state.logprobs.push(entry);
    }
    const { text, stopped } = matcher.push(detok ? detok.push(token) : '');
    if (stopped !== null) {
      state.finishReason = 'stop';
      state.stoppedBy = { string: stopped };
      if (text || pieceTokens.length) yield piece(text);
      return resultOf(state, state.fed.length - state.decodeSteps);
    }
    if (text) yield piece(text);
    if (state.tokens.length >= maxTokens) {
      state.finishReason = 'length';
      break;
    }
    if (aborted()) {
      state.finishReason = 'abort';
      break;
    }
    const t = performance.now();
    next = await job.seq.evalAndSample([token], sampler, sampleOptions);
    state.decodeMs += performance.now() - t;
    state.decodeSteps++;
    state.fed.push(token);
  }
  const rest = matcher.push(detok ? detok.flush() : '').text + matcher.flush();
  if (rest || pieceTokens.length) yield piece(rest);
  return resultOf(state, state.fed.length - state.decodeSteps);
}

/**
 * A running generation: iterate it for streamed pieces (once), or await
 * `result` (which runs it to the end when nobody iterates). Breaking out of
 * the iteration stops generation; `result` then resolves with what was made
 * (finishReason 'abort').
 */
export class GenerationStream<R extends CompletionResult = CompletionResult> implements AsyncIterable<GenerationPiece> {
  private iterated = false;
  private settled = false;
  private resolveResult!: (r: R) => void;
  private rejectResult!: (e: unknown) => void;
  private readonly resultPromise: Promise<R>;

  /**
   * @internal `finish` turns the loop's result (or, after an early stop,
   * null) into the final result; `cleanup` runs once when the loop ends in
   * any way (result, early stop or error), before `finish`.
   */
  constructor(
    private readonly source: AsyncGenerator<GenerationPiece, CompletionResult>,
    private readonly finish: (r: CompletionResult | null) => Promise<R> | R,
    private readonly cleanup: () => void = () => undefined,
  ) {
    this.resultPromise = new Promise<R>((resolve, reject) => {
      this.resolveResult = resolve;
      this.rejectResult = reject;
    });
    // The consumer may never await `result`; don't report its rejection as unhandled.
    this.resultPromise.catch(() => undefined);
  }

  /** The final result. */
  get result(): Promise<R> {
    if (!this.iterated) void this.drain();
    return this.resultPromise;
  }

  async *[Symbol.asyncIterator](): AsyncIterator<GenerationPiece> {
    if (this.iterated) throw new ArgumentError('a generation can be iterated only once');
    this.iterated = true;
    let done = false;
    try {
      for (;;) {
        const step = await this.source.next();
        if (step.done) {
          done = true;
          await this.settle(step.value);
          return;
        }
        yield step.value;
      }
    } catch (err) {
      done = true;
      this.fail(err);
      throw err;
    } finally {
      if (!done) {
        await this.source.return(undefined as unknown as CompletionResult);
        await this.settle(null);
      }
    }
  }

  private async drain(): Promise<void> {
    try {
      for await (const _ of this) {
        // pieces are dropped: the caller wants only the result
      }
    } catch {
      // already delivered through the result promise
    }
  }

  private async settle(r: CompletionResult | null): Promise<void> {
    if (this.settled) return;
    this.settled = true;
    try {
      this.cleanup();
      this.resolveResult(await this.finish(r));
    } catch (err) {
      this.rejectResult(err);
    }
  }

  private fail(err: unknown): void {
    if (this.settled) return;
    this.settled = true;
    try {
      this.cleanup();
    } catch {
      // the original error is the one to report
    }
    this.rejectResult(err);
  }
}
