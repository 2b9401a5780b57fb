/**
 * Merges eval requests of many sequences into one native step per tick:
 * requests issued together (same tick, or while a step runs) are served in
 * the same step, one request per sequence per step, FIFO per sequence.
 */
import { callNative } from '../errors';
import type { NativeModelHandle } from '../native-types';

interface Request {
  seqId: number;
  tokens: Int32Array;
  allLogits: boolean;
  resolve: (logits: Float32Array) => void;
  reject: (err: unknown) => void;
}

export class StepScheduler {
  private queue: Request[] = [];
  private running = false;
  private scheduled = false;

  constructor(private readonly handle: () => NativeModelHandle) {}

  /** Queues `tokens` for sequence `seqId`; resolves its logits block. */
  submit(seqId: number, tokens: Int32Array, allLogits: boolean): Promise<Float32Array> {
    return new Promise((resolve, reject) => {
      this.queue.push({ seqId, tokens, allLogits, resolve, reject });
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

  /** True while a step runs or requests wait. */
  get busy(): boolean {
    return this.running || this.queue.length > 0;
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

  private async runStep(): Promise<void> {
    if (this.running || this.queue.length === 0) return;
    const batch: Request[] = [];
    const rest: Request[] = [];
    const seen = new Set<number>();
    for (const r of this.queue) {
      if (seen.has(r.seqId)) rest.push(r);
      else {
        seen.add(r.seqId);
        batch.push(r);
      }
    }
    this.queue = rest;
    this.running = true;
    try {
      let total = 0;
      for (const r of batch) total += r.tokens.length;
      const ids = new Int32Array(batch.length);
      const counts = new Int32Array(batch.length);
      const all = new Uint8Array(batch.length);
      const tokens = new Int32Array(total);
      let off = 0;
      batch.forEach((r, i) => {
        ids[i] = r.seqId;
        counts[i] = r.tokens.length;
        all[i] = r.allLogits ? 1 : 0;
        tokens.set(r.tokens, off);
        off += r.tokens.length;
      });
      const out = await callNative(() => this.handle().step(ids, counts, tokens, all));
      batch.forEach((r, i) => r.resolve(out[i]));
    } catch (err) {
      for (const r of batch) r.reject(err);
    } finally {
      this.running = false;
      this.kick();
    }
  }
}
