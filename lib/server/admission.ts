/**
 * Admission control: a fixed number of sequence slots (a request takes one
 * per choice), a bounded FIFO queue of requests waiting for slots, and 429
 * with Retry-After once the queue is full. The queue is strictly FIFO, so a
 * large request at its head is not starved by small ones behind it.
 */
import { ApiError } from './api-error';

interface Waiter {
  slots: number;
  admit: (release: Release) => void;
}

/** Frees what {@link Admission.acquire} granted (idempotent). */
export type Release = () => void;

export class Admission {
  private used = 0;
  private runningRequests = 0;
  private readonly queue: Waiter[] = [];
  /** Smoothed seconds a request holds its slots (for Retry-After). */
  private meanHoldSeconds = 1;

  /**
   * @param capacity sequence slots
   * @param maxQueue requests that may wait; past it acquire() throws a 429
   */
  constructor(
    readonly capacity: number,
    readonly maxQueue: number,
  ) {}

  /** Requests holding slots. */
  get running(): number {
    return this.runningRequests;
  }

  /** Requests waiting for slots. */
  get waiting(): number {
    return this.queue.length;
  }

  /** Slots in use. */
  get slotsInUse(): number {
    return this.used;
  }

  /**
   * Waits for `slots` slots (at most `capacity`; the caller rejects larger
   * requests first). Throws a 429 ApiError when the queue is full, and the
   * signal's reason when it aborts while waiting.
   */
  async acquire(slots: number, signal: AbortSignal): Promise<Release> {
    if (slots > this.capacity) throw new RangeError(`a request of ${slots} slots can never be admitted (capacity ${this.capacity})`);
    signal.throwIfAborted();
    if (this.queue.length === 0 && this.used + slots <= this.capacity) return this.grant(slots);
    if (this.queue.length >= this.maxQueue) {
      const retry = this.retryAfterSeconds();
      throw new ApiError(
        429,
        `the server is busy: ${this.runningRequests} requests running and ${this.queue.length} waiting; retry in ${retry} s`,
        'rate_limit_error',
        'rate_limit_exceeded',
        null,
        { 'Retry-After': String(retry) },
      );
    }
    return new Promise<Release>((resolve, reject) => {
      const waiter: Waiter = {
        slots,
        admit: (release) => {
          signal.removeEventListener('abort', onAbort);
          resolve(release);
        },
      };
      const onAbort = () => {
        const at = this.queue.indexOf(waiter);
        if (at >= 0) this.queue.splice(at, 1);
        reject(signal.reason);
        this.pump();
      };
      signal.addEventListener('abort', onAbort, { once: true });
      this.queue.push(waiter);
    });
  }

  /** Seconds a client should wait before retrying, from how long requests hold their slots. */
  retryAfterSeconds(): number {
    const rounds = Math.ceil((this.queue.length + 1) / this.capacity);
    return Math.min(60, Math.max(1, Math.ceil(rounds * this.meanHoldSeconds)));
  }

  private grant(slots: number): Release {
    this.used += slots;
    this.runningRequests++;
    const started = performance.now();
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.used -= slots;
      this.runningRequests--;
      const held = (performance.now() - started) / 1000;
      this.meanHoldSeconds = 0.8 * this.meanHoldSeconds + 0.2 * held;
      this.pump();
    };
  }

  /** Grants waiting requests in order while their slots fit. */
  private pump(): void {
    while (this.queue.length > 0 && this.used + this.queue[0].slots <= this.capacity) {
      const w = this.queue.shift()!;
      w.admit(this.grant(w.slots));
    }
  }
}
