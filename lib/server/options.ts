/**
 * Options of {@link createServer} with their defaults, validated once so a
 * bad value fails at start-up with the option named.
 */
import { ArgumentError } from '../errors';
import { intOption } from '../int-option';

/** Options of createServer (every field optional; defaults shown). */
export interface ServerOptions {
  /** The model id clients send and /v1/models lists. Default: the model file's name without extension. */
  modelName?: string;
  /** When set, every endpoint but /health requires `Authorization: Bearer <apiKey>`. Default none. */
  apiKey?: string;
  /** Sequences generating at once (n > 1 takes n of them); more requests wait in the queue. Default 8. */
  maxSequences?: number;
  /** Requests that may wait for a sequence; past it requests get 429 with Retry-After. Default 64. */
  maxQueue?: number;
  /** Most tokens of prompt + completion in one sequence; longer requests get 400. Default 8192. */
  contextLength?: number;
  /** Largest request body in bytes (413 past it). Default 16 MiB. */
  maxBodyBytes?: number;
  /** A request (queue wait included) is cancelled after this many ms. Default 600000 (10 minutes). */
  requestTimeoutMs?: number;
  /** On drain (SIGTERM), in-flight requests get this many ms to finish before they are cancelled. Default 30000. */
  drainTimeoutMs?: number;
  /** Fastify request logging to stdout (JSON lines). Default false. */
  logger?: boolean;
}

/** ServerOptions with every default applied. */
export type ResolvedServerOptions = Required<Omit<ServerOptions, 'apiKey' | 'modelName'>> & { apiKey: string | null; modelName: string };

/** Applies defaults and checks every field; `defaultName` is used when modelName is absent. */
export function resolveServerOptions(o: ServerOptions, defaultName: string): ResolvedServerOptions {
  if (o.apiKey !== undefined && (typeof o.apiKey !== 'string' || o.apiKey.length === 0)) {
    throw new ArgumentError('Expected apiKey to be a non-empty string');
  }
  if (o.modelName !== undefined && (typeof o.modelName !== 'string' || o.modelName.length === 0)) {
    throw new ArgumentError('Expected modelName to be a non-empty string');
  }
  return {
    modelName: o.modelName ?? defaultName,
    apiKey: o.apiKey ?? null,
    maxSequences: intOption(o.maxSequences, 'maxSequences', 1, 8),
    maxQueue: intOption(o.maxQueue, 'maxQueue', 0, 64),
    contextLength: intOption(o.contextLength, 'contextLength', 2, 8192),
    maxBodyBytes: intOption(o.maxBodyBytes, 'maxBodyBytes', 1024, 16 * 1024 * 1024),
    requestTimeoutMs: intOption(o.requestTimeoutMs, 'requestTimeoutMs', 1, 600_000),
    drainTimeoutMs: intOption(o.drainTimeoutMs, 'drainTimeoutMs', 0, 30_000),
    logger: o.logger === true,
  };
}
