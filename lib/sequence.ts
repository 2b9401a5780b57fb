/**
 * A Sequence: one conversation's state inside a model — conv + SSM state of
 * every Mamba layer and the KV pages of the attention layers. Operations on
 * one sequence run in call order; evals of different sequences issued
 * together share one native step.
 */
import { ArgumentError, BusyError, DisposedError, callNative } from './errors';
import { NativeSampler, logprobsTopN, sampledToken, type SampledToken } from './generate/native-sampler';
import type { NativeSampledRow } from './native-types';
import type { Model } from './model';
import { toTokenArray } from './tokens';

/** Options of {@link Sequence.eval}. */
export interface EvalOptions {
  /** Return the logits of every new position ([tokens.length * vocab]) instead of only the last. Default false. */
  allLogits?: boolean;
  /**
   * Aborts the eval: it is checked between prefill chunks (at most one chunk
   * of maxStepTokens is computed after the abort), and the promise rejects
   * with AbortError leaving the sequence exactly as before this eval.
   */
  signal?: AbortSignal;
  /** @internal store prefix-cache checkpoints while prefilling (model.generate on a fresh sequence). */
  cachePrefix?: boolean;
}

export class Sequence {
  private disposed = false;
  private tail: Promise<unknown> = Promise.resolve();
  private positionValue: number;

  /** @internal created by Model.createSequence / fork / restoreSequence */
  constructor(
    private readonly model: Model,
    /** Native id of this sequence's state slot. */
    readonly id: number,
    position = 0,
  ) {
    this.positionValue = position;
  }

  /** Number of tokens this sequence has consumed. */
  get position(): number {
    return this.positionValue;
  }

  /** True once dispose() was called (or the model was disposed). */
  get isDisposed(): boolean {
    return this.disposed || this.model.isDisposed;
  }

  /**
   * Feeds `tokens` (appending to the state) and resolves the logits of the
   * last new position (Float32Array of vocab_size), or of every new position
   * with `allLogits`. Concurrent calls on one sequence are queued in order.
   * Atomic: if it fails (OutOfMemoryError, a bad token id, a native error) or
   * is aborted, the sequence — state, KV length and position — is as before.
   */
  eval(tokens: ArrayLike<number>, options: EvalOptions = {}): Promise<Float32Array> {
    try {
      this.checkLive('eval');
      const ids = toTokenArray(tokens, this.model.config.vocab_size);
      return this.enqueue(async () => {
        this.checkLive('eval');
        const out = (await this.model.scheduler.submit(this.id, ids, {
          allLogits: options.allLogits === true,
          signal: options.signal,
          cachePrefix: options.cachePrefix === true,
          startPosition: this.positionValue,
        })) as Float32Array;
        this.positionValue += ids.length;
        return out;
      });
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /**
   * Feeds `tokens` like {@link eval}, then picks the next token with `sampler`
   * right after the forward pass, in the addon: the logits never cross into
   * JS (only the token, and with `logprobs` its logprob and alternatives).
   * `history`: the tokens so far, prompt included, for the penalties
   * (default: `tokens`). Same token as `sampler`'s options and seed give the
   * TS {@link Sampler} over `eval`'s logits. Atomic and abortable like {@link eval}.
   */
  evalAndSample(
    tokens: ArrayLike<number>,
    sampler: NativeSampler,
    options: { history?: ArrayLike<number>; logprobs?: boolean | number } & Pick<EvalOptions, 'signal' | 'cachePrefix'> = {},
  ): Promise<SampledToken> {
    try {
      this.checkLive('evalAndSample');
      const ids = toTokenArray(tokens, this.model.config.vocab_size);
      if (!(sampler instanceof NativeSampler) || sampler.vocab !== this.model.config.vocab_size) {
        throw new ArgumentError(`Expected sampler to be a NativeSampler over ${this.model.config.vocab_size} ids`);
      }
      // One sequence at a time per sampler: its draws must follow one order.
      if (sampler.user && sampler.user.seqId !== this.id) {
        throw new BusyError(`this NativeSampler is sampling for sequence ${sampler.user.seqId}; give each sequence its own`);
      }
      sampler.user ??= { seqId: this.id, pending: 0 };
      sampler.user.pending++;
      const release = () => {
        if (sampler.user && --sampler.user.pending === 0) sampler.user = null;
      };
      // The penalty window as of this call (the caller may keep appending to its history).
      const sample = { sampler, history: sampler.historyWindow(options.history ?? ids), topN: logprobsTopN(options.logprobs) };
      return this.enqueue(async () => {
        try {
          this.checkLive('evalAndSample');
          const out = await this.model.scheduler.submit(this.id, ids, {
            sample,
            signal: options.signal,
            cachePrefix: options.cachePrefix === true,
            startPosition: this.positionValue,
          });
          this.positionValue += ids.length;
          return sampledToken(out as NativeSampledRow);
        } finally {
          release();
        }
      });
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /**
   * A new sequence that continues exactly like this one. O(state): it copies
   * the recurrent state and shares every KV page copy-on-write (a shared page
   * is copied only when one of them writes into it).
   */
  fork(): Promise<Sequence> {
    try {
      this.checkLive('fork');
      return this.enqueue(async () => {
        this.checkLive('fork');
        const id = await callNative(() => this.model.handle.forkSequence(this.id));
        return this.model.adoptSequence(id, this.positionValue);
      });
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /** Serialises the whole state (position, conv, SSM, KV) into a Buffer for Model.restoreSequence. */
  snapshot(): Promise<Buffer> {
    try {
      this.checkLive('snapshot');
      return this.enqueue(async () => {
        this.checkLive('snapshot');
        return callNative(() => this.model.handle.snapshotSequence(this.id));
      });
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /** Bytes this sequence refers to: its recurrent state plus its KV pages (shared pages counted in full). */
  memoryBytes(): number {
    this.checkLive('memoryBytes');
    const m = this.model.handle.memory();
    const pages = m.kvPageTokens > 0 && m.kvPageBytes > 0 ? Math.ceil(this.positionValue / m.kvPageTokens) : 0;
    return m.recurrentBytesPerSequence + pages * m.kvPageBytes;
  }

  /** Frees the state. Queued evals reject with DisposedError; using it afterwards throws DisposedError. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.model.scheduler.cancel(new DisposedError(`sequence ${this.id} has been disposed`), this.id);
    this.model.forgetSequence(this);
    if (!this.model.isDisposed) this.model.handle.disposeSequence(this.id);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.dispose();
  }

  private checkLive(op: string): void {
    if (this.model.isDisposed) throw new DisposedError(`cannot ${op}: the model has been disposed`);
    if (this.disposed) throw new DisposedError(`cannot ${op}: sequence ${this.id} has been disposed`);
  }

  private enqueue<T>(op: () => Promise<T>): Promise<T> {
    const run = this.tail.then(op, op);
    this.tail = run.catch(() => undefined);
    return run;
  }
}
