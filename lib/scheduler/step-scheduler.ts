/**
 * Continuous batching: merges eval requests of many sequences into one native
 * step per tick. Requests issued together (same tick, or while a step runs)
 * share a step, one request per sequence per step, FIFO per sequence.
 *
 * Each step takes at most `maxStepTokens` tokens and `maxBatchSequences`
 * sequences. Single-token decodes are served round-robin, but while a prefill
 * waits a `prefillShare` of the token budget (and one sequence slot) is kept
 * for prefill chunks, so a crowd of decodes never starves a new prompt. Long
 * prefills are split into chunks; a prompt that feeds the prefix cache is cut
 * at multiples of the cache chunk so checkpoints land on aligned positions.
 *
 * Evals are atomic (docs/MEMORY.md): the first chunk of a multi-token eval
 * asks the native side for a checkpoint, so a failure or an abort (checked
 * between chunks) puts the sequence back exactly where the eval started.
 *
 * Queue operations are O(1) per request: per-sequence FIFOs plus two
 * insertion-ordered maps of the sequences whose head request is a decode or a
 * prefill; planning a step looks at no more sequences than it takes.
 */
import { AbortError, callNative, fromNativeError } from '../errors';
import { STEP_FLAGS, type NativeModelHandle, type NativeSampledRow } from '../native-types';
import { rowSampling, type NativeSampler } from '../generate/native-sampler';

/** Sample the request's next token natively after its last chunk (its logits stay native). */
export interface StepSample {
  sampler: NativeSampler;
  /** Tokens so far, prompt included (the penalty window is taken from its end). */
  history: ArrayLike<number>;
  /** -1: no logprobs; else the chosen token's logprob and topN alternatives. */
  topN: number;
}

/** What a request resolves: its logits block, or with a StepSample the sampled row. */
export type StepOutput = Float32Array | NativeSampledRow;

/** Options of an eval request. */
export interface SubmitOptions {
  allLogits?: boolean;
  signal?: AbortSignal;
  /** Store prefix-cache checkpoints while this prompt is prefilled. */
  cachePrefix?: boolean;
  /** The sequence's position when the eval starts (aligns cache chunks). */
  startPosition?: number;
  /** Sample the next token natively after the last chunk instead of returning logits. */
  sample?: StepSample;
}

/** Batching limits of a {@link StepScheduler}. */
export interface SchedulerOptions {
  /** Most tokens one step evaluates. */
  maxStepTokens: number;
  /** Most sequences one step evaluates. */
  maxBatchSequences: number;
  /** Share of maxStepTokens kept for prefill chunks while a prefill waits (0..1). */
  prefillShare: number;
  /** Prefix-cache checkpoint spacing in tokens (aligns chunks of caching prompts). */
  prefixChunkTokens: number;
}

interface Request {
  seqId: number;
  tokens: Int32Array;
  allLogits: boolean;
  sample: StepSample | undefined;
  cachePrefix: boolean;
  startPosition: number;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | null;
  /** Tokens already evaluated. */
  done: number;
  /** In the step that is running. */
  inFlight: boolean;
  /** Settled (resolved, rejected or cancelled). */
  settled: boolean;
  /** Logits of finished chunks (all rows when allLogits, else only the latest). */
  parts: Float32Array[];
  resolve: (out: StepOutput) => void;
  reject: (err: unknown) => void;
}

interface Planned {
  req: Request;
  n: number;
}

export class StepScheduler {
  /** Per-sequence FIFO (index 0 is the head). */
  private readonly bySeq = new Map<number, Request[]>();
  /** Sequences whose head request has one token left / more than one, in service order. */
  private readonly decodeHeads = new Map<number, Request>();
  private readonly prefillHeads = new Map<number, Request>();
  private running = false;
  private scheduled = false;
  private readonly options: SchedulerOptions;

  /**
   * @param handle the model's native handle (throws DisposedError once disposed)
   * @param options batching limits (see {@link SchedulerOptions})
   */
  constructor(
    private readonly handle: () => NativeModelHandle,
    options: Partial<SchedulerOptions> = {},
  ) {
    this.options = {
      maxStepTokens: options.maxStepTokens ?? 512,
      maxBatchSequences: options.maxBatchSequences ?? 64,
      prefillShare: options.prefillShare ?? 0.25,
      prefixChunkTokens: options.prefixChunkTokens ?? 256,
    };
  }

  /** Queues `tokens` for sequence `seqId`; resolves its logits block (with `sample`: the sampled row). */
  submit(seqId: number, tokens: Int32Array, options: SubmitOptions = {}): Promise<StepOutput> {
    return new Promise((resolve, reject) => {
      if (options.signal?.aborted) {
        reject(new AbortError(`eval on sequence ${seqId} was aborted before it started`));
        return;
      }
      const req: Request = {
        seqId,
        tokens,
        allLogits: options.allLogits === true,
        sample: options.sample,
        cachePrefix: options.cachePrefix === true,
        startPosition: options.startPosition ?? 0,
        signal: options.signal,
        onAbort: null,
        done: 0,
        inFlight: false,
        settled: false,
        parts: [],
        resolve,
        reject,
      };
      if (req.signal) {
        req.onAbort = () => this.abort(req);
        req.signal.addEventListener('abort', req.onAbort, { once: true });
      }
      let q = this.bySeq.get(seqId);
      if (!q) this.bySeq.set(seqId, (q = []));
      q.push(req);
      if (q.length === 1) this.setHead(req);
      this.kick();
    });
  }

  /** Rejects every queued request of one sequence (or all when seqId is undefined). */
  cancel(err: Error, seqId?: number): void {
    const ids = seqId === undefined ? [...this.bySeq.keys()] : [seqId];
    for (const id of ids) {
      const q = this.bySeq.get(id);
      if (!q) continue;
      for (const r of [...q]) this.finish(r, err);
    }
  }

  private kick(): void {
    if (this.running || this.scheduled || this.bySeq.size === 0) return;
    this.scheduled = true;
    // setImmediate lets every eval issued in this tick join the same step.
    setImmediate(() => {
      this.scheduled = false;
      void this.runStep();
    });
  }

  private setHead(req: Request): void {
    if (req.tokens.length - req.done > 1) this.prefillHeads.set(req.seqId, req);
    else this.decodeHeads.set(req.seqId, req);
  }

  /** Settles a request (err: rejects) and promotes the next one of its sequence. */
  private finish(req: Request, err: unknown, value?: StepOutput): void {
    if (req.settled) return;
    req.settled = true;
    if (req.signal && req.onAbort) req.signal.removeEventListener('abort', req.onAbort);
    const q = this.bySeq.get(req.seqId);
    if (q && q[0] === req) {
      q.shift();
      this.decodeHeads.delete(req.seqId);
      this.prefillHeads.delete(req.seqId);
      if (q.length > 0) this.setHead(q[0]);
      else this.bySeq.delete(req.seqId);
    } else if (q) {
      q.splice(q.indexOf(req), 1); // a request behind the head (rare: evals of one sequence are serialised)
    }
    if (err !== undefined) req.reject(err);
    else req.resolve(value!);
  }

  /** An abort between chunks: a begun eval is rolled back first. */
  private abort(req: Request): void {
    if (req.settled || req.inFlight) return; // in flight: handled when the step returns
    this.rollbackAndReject(req);
  }

  private rollbackAndReject(req: Request): void {
    let err: unknown = new AbortError(`eval on sequence ${req.seqId} was aborted after ${req.done} of ${req.tokens.length} tokens`);
    if (req.done > 0) {
      try {
        this.handle().rollbackSequence(req.seqId);
      } catch (e) {
        err = e;
      }
    }
    this.finish(req, err);
  }

  /** The requests of the next step with the number of tokens each gets. */
  private plan(): Planned[] {
    const { maxStepTokens, maxBatchSequences, prefillShare, prefixChunkTokens } = this.options;
    const havePrefill = this.prefillHeads.size > 0;
    const reserve = havePrefill ? Math.max(1, Math.floor(maxStepTokens * prefillShare)) : 0;
    let budget = maxStepTokens;
    let slots = maxBatchSequences;
    const plan: Planned[] = [];
    for (const req of this.decodeHeads.values()) {
      if (slots <= (havePrefill ? 1 : 0) || budget <= reserve) break;
      plan.push({ req, n: 1 });
      budget--;
      slots--;
    }
    for (const req of this.prefillHeads.values()) {
      if (slots <= 0 || budget <= 0) break;
      let n = Math.min(req.tokens.length - req.done, budget);
      if (req.cachePrefix) {
        const pos = req.startPosition + req.done;
        n = Math.min(n, (Math.floor(pos / prefixChunkTokens) + 1) * prefixChunkTokens - pos);
      }
      plan.push({ req, n });
      budget -= n;
      slots--;
    }
    return plan;
  }

  private async runStep(): Promise<void> {
    if (this.running || this.bySeq.size === 0) return;
    const plan = this.plan();
    if (plan.length === 0) return;
    this.running = true;
    try {
      let total = 0;
      for (const p of plan) total += p.n;
      const ids = new Int32Array(plan.length);
      const counts = new Int32Array(plan.length);
      const flags = new Uint8Array(plan.length);
      const tokens = new Int32Array(total);
      let off = 0;
      plan.forEach(({ req, n }, i) => {
        req.inFlight = true;
        ids[i] = req.seqId;
        counts[i] = n;
        const last = req.done + n === req.tokens.length;
        const multi = req.tokens.length > 1;
        flags[i] =
          (req.allLogits ? STEP_FLAGS.allLogits : 0) |
          (multi && req.done === 0 ? STEP_FLAGS.beginEval : 0) |
          (multi && last ? STEP_FLAGS.endEval : 0) |
          (req.cachePrefix ? STEP_FLAGS.cachePrefix : 0) |
          (req.cachePrefix && last ? STEP_FLAGS.promptEnd : 0);
        tokens.set(req.tokens.subarray(req.done, req.done + n), off);
        off += n;
      });
      // Served decodes go to the back of the round-robin order.
      for (const { req, n } of plan) {
        if (n === 1 && this.decodeHeads.get(req.seqId) === req) {
          this.decodeHeads.delete(req.seqId);
          this.decodeHeads.set(req.seqId, req);
        }
      }
      // Requests finishing in this step with a sampler get their token sampled natively.
      const samples = plan.map(({ req, n }) => (req.sample && req.done + n === req.tokens.length ? req.sample : null));
      const sampling = samples.some((x) => x !== null)
        ? rowSampling(
            samples.map((x) => x?.sampler ?? null),
            samples.map((x) => x?.history ?? []),
            Math.max(-1, ...samples.map((x) => x?.topN ?? -1)),
          )
        : undefined;
      let out: Array<Float32Array | NativeSampledRow | Error>;
      try {
        out = await callNative(() => this.handle().step(ids, counts, tokens, flags, sampling));
      } catch (err) {
        // The step failed as a whole: the native side put every sequence back.
        for (const { req } of plan) {
          req.inFlight = false;
          this.finish(req, err);
        }
        return;
      }
      plan.forEach(({ req, n }, i) => {
        req.inFlight = false;
        if (req.settled) return; // cancelled (sequence disposed) while the step ran
        const r = out[i];
        // (isView / duck typing, not instanceof: the addon's objects may come from another realm)
        if (!ArrayBuffer.isView(r)) {
          if (typeof (r as NativeSampledRow).token === 'number') {
            req.done += n;
            this.finish(req, undefined, r as NativeSampledRow); // sampled natively
          } else {
            this.finish(req, fromNativeError(r)); // left out of the step; its eval was undone natively
          }
          return;
        }
        req.done += n;
        const logits = r as Float32Array;
        if (req.allLogits) req.parts.push(logits);
        else req.parts = [logits];
        if (req.done === req.tokens.length) {
          this.finish(req, undefined, req.parts.length === 1 ? req.parts[0] : concat(req.parts));
        } else if (req.signal?.aborted) {
          this.rollbackAndReject(req);
        } else if (req.tokens.length - req.done === 1 && this.prefillHeads.get(req.seqId) === req) {
          this.prefillHeads.delete(req.seqId);
          this.decodeHeads.set(req.seqId, req);
        }
      });
    } finally {
      this.running = false;
      this.kick();
    }
  }
}

function concat(parts: Float32Array[]): Float32Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Float32Array(n);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}
