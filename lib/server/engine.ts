/**
 * What the HTTP server needs from the serving engine, and nothing more: the
 * server translates OpenAI requests into these calls and the engine knows
 * nothing of HTTP (docs/SERVING.md). A loaded {@link Model} satisfies it; tests
 * may pass a scripted stand-in.
 */
import type { GenerationStream } from '../generate/generate';
import type { ChatOptions } from '../generate/types';
import type { ModelConfig } from '../loaders/types';
import type { ModelMemory, PrefixCacheStats } from '../model';
import type { Sequence } from '../sequence';
import type { Tokenizer } from '../tokenizer/tokenizer';

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
  /** A new, empty sequence. */
  createSequence(): Sequence;
  /**
   * A fresh sequence holding the longest cached prefix of `tokens` (at most
   * all but the last) and how many tokens it restored; the server forks it
   * for n > 1. Engines without a prefix cache may omit it.
   */
  sequenceForPrompt?(tokens: readonly number[]): Promise<{ seq: Sequence; restored: number }>;
  /** Bytes held against the budget (budget, free, weights, KV pages, prefix cache). */
  memory(): ModelMemory;
  /** The prefix-state cache's counters. */
  readonly prefixCache?: { stats(): PrefixCacheStats };
  dispose(): Promise<void>;
}
