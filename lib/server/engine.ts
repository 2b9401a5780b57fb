/**
 * What the HTTP server needs from the serving engine, and nothing more: the
 * server translates OpenAI requests into these calls and the engine knows
 * nothing of HTTP (docs/SERVING.md). A loaded {@link Model} satisfies it; tests
 * may pass a scripted stand-in.
 */
import type { GenerationStream } from '../generate/generate';
import type { ChatOptions } from '../generate/types';
import type { ModelConfig } from '../loaders/types';
import type { ModelMemory } from '../model';
import type { Sequence } from '../sequence';
import type { Tokenizer } from '../tokenizer/tokenizer';

/** Prefix-state cache counters, when the engine keeps such a cache. */
export interface PrefixCacheStats {
  entries: number;
  bytes: number;
  hits: number;
  misses: number;
  tokensReused: number;
}

/** Memory figures the server reads for admission and /metrics (budget fields only where the engine has a budget). */
export type EngineMemory = ModelMemory & {
  /** The most bytes the model may hold, when budgeted. */
  budget?: number;
  /** Bytes held by the prefix cache. */
  prefixCache?: number;
  /** Bytes left under the budget. */
  free?: number;
};

/** The engine surface the server drives (a loaded Model is one). */
export interface ServingEngine {
  readonly config: Pick<ModelConfig, 'vocab_size' | 'eos_token_id'>;
  readonly files?: { readonly files: readonly string[] };
  readonly hasTokenizer: boolean;
  /** Throws when the model carries no tokenizer (check hasTokenizer). */
  readonly tokenizer: Tokenizer;
  readonly isDisposed: boolean;
  /** Streams a generation over prompt token ids (fresh sequence unless options.sequence). */
  generate(prompt: readonly number[], options: ChatOptions): GenerationStream;
  /** A new, empty sequence (the server forks it for n > 1). */
  createSequence(): Sequence;
  memory(): EngineMemory;
  /** The prefix-state cache, where the engine has one. */
  readonly prefixCache?: { stats(): PrefixCacheStats };
  dispose(): Promise<void>;
}
