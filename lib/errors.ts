/**
 * Typed errors. Every error hybridlm throws is a {@link HybridLMError} with a
 * string `code`; native errors arrive with the same codes (native/core/error.h)
 * and are rebuilt here as the matching subclass.
 */

/** Base class of every error hybridlm throws. */
export class HybridLMError extends Error {
  /** Stable machine-readable code, e.g. `ERR_HYBRIDLM_FORMAT`. */
  readonly code: string;
  constructor(message: string, code = 'ERR_HYBRIDLM', options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** A model file is malformed, truncated or inconsistent (names the file, tensor or field). */
export class ModelFormatError extends HybridLMError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, 'ERR_HYBRIDLM_FORMAT', options);
  }
}

/** A tensor has the wrong rank or shape. */
export class ShapeError extends HybridLMError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, 'ERR_HYBRIDLM_SHAPE', options);
  }
}

/** The model, tensor type, op or option is not supported by this build. */
export class UnsupportedError extends HybridLMError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, 'ERR_HYBRIDLM_UNSUPPORTED', options);
  }
}

/** The requested device is unavailable. */
export class DeviceError extends HybridLMError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, 'ERR_HYBRIDLM_DEVICE', options);
  }
}

/** An allocation failed. */
export class OutOfMemoryError extends HybridLMError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, 'ERR_HYBRIDLM_OOM', options);
  }
}

/** The object was used after dispose(). */
export class DisposedError extends HybridLMError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, 'ERR_HYBRIDLM_DISPOSED', options);
  }
}

/** A second concurrent call on an object that serves one at a time. */
export class BusyError extends HybridLMError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, 'ERR_HYBRIDLM_BUSY', options);
  }
}

/** An argument has the wrong type or is out of range (token ids, options). */
export class ArgumentError extends HybridLMError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, 'ERR_HYBRIDLM_ARGUMENT', options);
  }
}

/** No native addon could be loaded: names the platform, each place tried and how to build from source. */
export class AddonLoadError extends HybridLMError {
  /** Every place the loader looked, in order, with why it was not used. */
  readonly attempts: readonly { origin: string; path: string; error?: string }[];
  constructor(message: string, attempts: readonly { origin: string; path: string; error?: string }[]) {
    super(message, 'ERR_HYBRIDLM_ADDON');
    this.attempts = attempts;
  }
}

/** An eval was aborted through its AbortSignal; the sequence is as it was before that eval. */
export class AbortError extends HybridLMError {
  constructor(message = 'the operation was aborted', options?: { cause?: unknown }) {
    super(message, 'ERR_HYBRIDLM_ABORTED', options);
  }
}

const byCode: Record<string, new (message: string, options?: { cause?: unknown }) => HybridLMError> = {
  ERR_HYBRIDLM_FORMAT: ModelFormatError,
  ERR_HYBRIDLM_SHAPE: ShapeError,
  ERR_HYBRIDLM_UNSUPPORTED: UnsupportedError,
  ERR_HYBRIDLM_DEVICE: DeviceError,
  ERR_HYBRIDLM_OOM: OutOfMemoryError,
  ERR_HYBRIDLM_DISPOSED: DisposedError,
  ERR_HYBRIDLM_BUSY: BusyError,
  ERR_HYBRIDLM_ARGUMENT: ArgumentError,
  ERR_HYBRIDLM_ABORTED: AbortError,
};

/**
 * Rebuilds an error thrown by the addon as its typed class. `site` is an Error
 * captured before the native call so the stack shows the caller.
 */
export function fromNativeError(err: unknown, site?: Error): HybridLMError {
  if (err instanceof HybridLMError) return err;
  const e = err as { code?: unknown; message?: unknown };
  const message = typeof e?.message === 'string' ? e.message : String(err);
  const Cls = typeof e?.code === 'string' ? byCode[e.code] : undefined;
  const out = Cls ? new Cls(message) : new HybridLMError(`internal error: ${message}`, 'ERR_HYBRIDLM_INTERNAL');
  if (site?.stack) out.stack = `${out.name}: ${message}\n${site.stack.split('\n').slice(1).join('\n')}`;
  return out;
}

/** Awaits a native Promise, rethrowing failures as typed errors with the caller's stack. */
export async function callNative<T>(fn: () => Promise<T>): Promise<T> {
  const site = new Error();
  try {
    return await fn();
  } catch (err) {
    throw fromNativeError(err, site);
  }
}

/** Runs a synchronous native call, rethrowing failures as typed errors. */
export function callNativeSync<T>(fn: () => T): T {
  const site = new Error();
  try {
    return fn();
  } catch (err) {
    throw fromNativeError(err, site);
  }
}
