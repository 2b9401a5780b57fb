/** What every route handler of one server shares. */
import type { Admission } from './admission';
import { ApiError, unavailable } from './api-error';
import type { ServingEngine } from './engine';
import type { InFlightSet } from './in-flight';
import type { ServerMetrics } from './metrics';
import type { ResolvedServerOptions } from './options';

/** Where the server is in its life: /health answers 200 only when 'ready'. */
export type ServerState = 'loading' | 'ready' | 'draining' | 'failed';

export interface ServerContext {
  readonly options: ResolvedServerOptions;
  readonly admission: Admission;
  readonly metrics: ServerMetrics;
  readonly inflight: InFlightSet;
  readonly state: ServerState;
  /** The loaded engine, or null while loading or after a failed load. */
  readonly loaded: ServingEngine | null;
}

/** The engine for a request that generates or tokenizes; 503 while loading or draining. */
export function engineFor(ctx: ServerContext): ServingEngine {
  if (ctx.state === 'draining') throw unavailable('the server is shutting down');
  if (ctx.state === 'failed') throw new ApiError(500, 'the model failed to load', 'server_error', 'model_load_failed');
  if (ctx.state !== 'ready' || !ctx.loaded) throw unavailable('the model is still loading', 5);
  return ctx.loaded;
}

/** Unix seconds now (OpenAI's `created`). */
export function unixNow(): number {
  return Math.floor(Date.now() / 1000);
}
