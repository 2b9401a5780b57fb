/**
 * Errors as OpenAI clients expect them: an HTTP status and the body
 * `{ error: { message, type, code, param } }`. Every failure the server
 * answers goes through {@link ApiError}.
 */
import { HybridLMError } from '../errors';

/** The JSON body of an error response. */
export interface ApiErrorBody {
  error: { message: string; type: string; code: string | null; param: string | null };
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly type: string,
    readonly code: string | null = null,
    readonly param: string | null = null,
    /** Extra response headers (Retry-After). */
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(message);
    this.name = 'ApiError';
  }

  body(): ApiErrorBody {
    return { error: { message: this.message, type: this.type, code: this.code, param: this.param } };
  }
}

/** 400 for a request field: `param` names it (dotted path, e.g. `messages[2].role`). */
export function invalidField(param: string, message: string, code = 'invalid_value'): ApiError {
  return new ApiError(400, message, 'invalid_request_error', code, param);
}

/** 400 for a request that is well-formed but cannot be served (too long, too big). */
export function invalidRequest(message: string, code: string, param: string | null = null): ApiError {
  return new ApiError(400, message, 'invalid_request_error', code, param);
}

/** 503: try again later (loading, draining, memory momentarily short). */
export function unavailable(message: string, retryAfterSeconds = 1): ApiError {
  return new ApiError(503, message, 'server_error', 'service_unavailable', null, { 'Retry-After': String(retryAfterSeconds) });
}

/** Turns anything thrown while serving into an ApiError (engine errors keep their message). */
export function toApiError(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  if (err instanceof HybridLMError) {
    switch (err.code) {
      case 'ERR_HYBRIDLM_ARGUMENT':
      case 'ERR_HYBRIDLM_UNSUPPORTED':
        return invalidRequest(err.message, 'invalid_request');
      case 'ERR_HYBRIDLM_OOM':
        // The budget is shared: another request's state may be holding it right now.
        return unavailable(`out of memory: ${err.message}`);
      case 'ERR_HYBRIDLM_DISPOSED':
        return unavailable('the model is shutting down');
      default:
        break;
    }
  }
  const message = err instanceof Error ? err.message : String(err);
  return new ApiError(500, `internal error: ${message}`, 'server_error', 'internal_error');
}
