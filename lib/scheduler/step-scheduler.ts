/**
 * Continuous batching: merges eval requests of many sequences into one native
 * step per tick. Requests issued together (same tick, or while a step runs)
 * share a step, one request per sequence per step, FIFO per sequence. Long
 * prefills are split into chunks of at most `maxStepTokens` tokens so decodes
 * of other sequences are not stalled behind them: each step first takes
 * every pending single-token decode, then fills the rest of its token budget
 * with prefill chunks in arrival order.
 */
import { callNative } from '../errors';
import type { NativeModelHandle, NativeSampledRow } from '../native-types';
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

interface Request {
  seqId: number;
  tokens: Int32Array;
  allLogits: boolean;
  sample?: StepSample;
  /** Tokens already evaluated. */
  done: number;
  /** Logits of finished chunks (all rows when allLogits, else only the latest). */
  parts: Float32Array[];
  resolve: (out: StepOutput) => void;
  reject: (err: unknown) => void;
}

export class StepScheduler {
  private queue: Request[] = [];
  private running = false;
  private scheduled = false;

  /**
   * @param handle the model's native handle (throws DisposedError once disposed)
   * @param maxStepTokens token budget of one step (at least one token per sequence in it)
   */
  constructor(
    private readonly handle: () => NativeModelHandle,
    private readonly maxStepTokens = 512,
  ) {}

  /** Queues `tokens` for sequence `seqId`; resolves its logits block (with `sample`: the sampled row). */
  submit(seqId: number, tokens: Int32Array, allLogits: boolean, sample?: StepSample): Promise<StepOutput> {
    return new Promise((resolve, reject) => {
      this.queue.push({ seqId, tokens, allLogits, sample, done: 0, parts: [], resolve, reject });
      this.kick();
    });
  }

  /** Rejects every queued request of one sequence (or all when seqId is undefined). */
  cancel(err: Error, seqId?: number): void {
    const keep: Request[] = [];
    for (const r of this.queue) {
      if (seqId === undefined || r.seqId === seqId) r.reject(err);
      else keep.push(r);
    }
    this.queue = keep;
  }

  private kick(): void {
    if (this.running || this.scheduled || this.queue.length === 0) return;
    this.scheduled = true;
    // setImmediate lets every eval issued in this tick join the same step.
    setImmediate(() => {
      this.scheduled = false;
      void this.runStep();
    });
  }

  /** The head request of each sequence with the number of tokens it gets this step. */
  private plan(): Array<{ req: Request; n: number }> {
    const heads: Request[] = [];
    const seen = new Set<number>();
    for (const r of this.queue) {
      if (!seen.has(r.seqId)) {
        seen.add(r.seqId);
        heads.push(r);
      }
    }
    const left = (r: Request) => r.tokens.length - r.done;
    // Decodes first (one token each, always served), then prefill chunks in order.
    let budget = this.maxStepTokens;
    const plan: Array<{ req: Request; n: number }> = [];
    for (const r of heads) {
      if (left(r) === 1) {
        plan.push({ req: r, n: 1 });
        budget--;
      }
    }
    for (const r of heads) {
      if (left(r) === 1) continue;
      if (budget <= 0 && plan.length > 0) break;
      const n = Math.min(left(r), Math.max(1, budget));
      plan.push({ req: r, n });
      budget -= n;
    }
    return plan;
  }

  private async runStep(): Promise<void> {
    if (this.running || this.queue.length === 0) return;
    const plan = this.plan();
    this.running = true;
    try {
      let total = 0;
      for (const p of plan) total += p.n;
      const ids = new Int32Array(plan.length);
      const counts = new Int32Array(plan.length);
      const all = new Uint8Array(plan.length);
      const tokens = new Int32Array(total);
      let off = 0;
      plan.forEach(({ req, n }, i) => {
        ids[i] = req.seqId;
        counts[i] = n;
        all[i] = req.allLogits ? 1 : 0;
        tokens.set(req.tokens.subarray(req.done, req.done + n), off);
        off += n;
      });
      // Requests finishing in this step with a sampler get their token sampled natively.
      const samples = plan.map(({ req, n }) => (req.sample && req.done + n === req.tokens.length ? req.sample : null));
      const sampling = samples.some((s) => s !== null)
        ? rowSampling(
            samples.map((s) => s?.sampler ?? null),
            samples.map((s) => s?.history ?? []),
            Math.max(-1, ...samples.map((s) => s?.topN ?? -1)),
          )
        : undefined;
      const out = await callNative(() => this.handle().step(ids, counts, tokens, all, sampling));
      plan.forEach(({ req, n }, i) => {
        req.done += n;
        const o = out[i];
        if (!ArrayBuffer.isView(o)) {
          // sampled natively (isView, not instanceof: arrays made by the addon may come from another realm)
          this.settle(req, o);
          return;
        }
        if (req.allLogits) req.parts.push(o);
        else req.parts = [o];
        if (req.done === req.tokens.length) this.settle(req, req.parts.length === 1 ? req.parts[0] : concat(req.parts));
      });
    } catch (err) {
      // The failed step's requests fail; chunks already evaluated stay in the state.
      for (const { req } of plan) {
        const at = this.queue.indexOf(req);
        if (at >= 0) this.queue.splice(at, 1);
        req.reject(err);
      }
    } finally {
      this.running = false;
      this.kick();
    }
  }

  /** Resolves a finished request unless it was cancelled (sequence disposed) while the step ran. */
  private settle(req: Request, out: StepOutput): void {
    const at = this.queue.indexOf(req);
    if (at < 0) return;
    this.queue.splice(at, 1);
    req.resolve(out);
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
