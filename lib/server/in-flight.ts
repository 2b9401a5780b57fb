/**
 * The life of one HTTP request that runs generation: an AbortSignal that
 * fires when the client disconnects, when the per-request timeout passes, or
 * when a drain gives up waiting; and the set of such requests, which a drain
 * waits on.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ApiError, unavailable } from './api-error';

/** Why a request was cancelled. */
export type CancelReason = 'disconnect' | 'timeout' | 'shutdown';

export class InFlight {
  private readonly controller = new AbortController();
  private reasonValue: CancelReason | null = null;
  private readonly timer: NodeJS.Timeout;
  /** performance.now() at arrival. */
  readonly startedAt = performance.now();

  constructor(
    req: IncomingMessage,
    res: ServerResponse,
    timeoutMs: number,
    private readonly set: InFlightSet,
  ) {
    // 'close' before the response finished means the client went away.
    res.on('close', () => {
      if (!res.writableFinished) this.cancel('disconnect');
    });
    req.on('aborted', () => this.cancel('disconnect'));
    this.timer = setTimeout(() => this.cancel('timeout'), timeoutMs);
    this.timer.unref();
    set.add(this);
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** Why it was cancelled, or null while it is not. */
  get reason(): CancelReason | null {
    return this.reasonValue;
  }

  cancel(reason: CancelReason): void {
    if (this.reasonValue !== null) return;
    this.reasonValue = reason;
    this.controller.abort(this.error());
  }

  /** The error to answer once cancelled (timeout: 408; shutdown: 503). */
  error(): ApiError {
    switch (this.reasonValue) {
      case 'timeout':
        return new ApiError(408, 'the request timed out and was cancelled', 'timeout_error', 'request_timeout');
      case 'shutdown':
        return unavailable('the server is shutting down');
      case 'disconnect':
      case null:
        return new ApiError(499, 'the client closed the request', 'invalid_request_error', 'client_closed_request');
      default:
        return this.reasonValue satisfies never;
    }
  }

  /** Ends tracking (call once the response is over). */
  finish(): void {
    clearTimeout(this.timer);
    this.set.delete(this);
  }
}

/** The requests running now; {@link whenEmpty} lets a drain wait for them. */
export class InFlightSet {
  private readonly live = new Set<InFlight>();
  private waiters: Array<() => void> = [];

  get size(): number {
    return this.live.size;
  }

  add(r: InFlight): void {
    this.live.add(r);
  }

  delete(r: InFlight): void {
    this.live.delete(r);
    if (this.live.size === 0) {
      const w = this.waiters;
      this.waiters = [];
      for (const f of w) f();
    }
  }

  /** Cancels every request. */
  cancelAll(reason: CancelReason): void {
    for (const r of [...this.live]) r.cancel(reason);
  }

  /** Resolves once no request is in flight. */
  whenEmpty(): Promise<void> {
    if (this.live.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }
}
