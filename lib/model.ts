/**
 * A loaded Granite 4.0-H model: weights memory-mapped by the addon, a state
 * pool for sequences, and the step scheduler that batches their evals.
 */
import { DisposedError, UnsupportedError, callNative, callNativeSync } from './errors';
import { ChatSession, type ChatSessionOptions } from './generate/chat-session';
import type { GenerationStream } from './generate/generate';
import { chatStream, completeOn, generateStream } from './generate/model-generate';
import type { ChatOptions, ChatResult, CompletionResult, PromptInput } from './generate/types';
import type { ModelConfig, ModelFiles } from './loaders/types';
import type { NativeModelHandle } from './native-types';
import { StepScheduler, type SchedulerOptions } from './scheduler/step-scheduler';
import { Sequence } from './sequence';
import type { Tokenizer } from './tokenizer/tokenizer';
import type { ChatMessage } from './tokenizer/types';

/**
 * Bytes the runtime holds for a model, all counted against one budget
 * (docs/MEMORY.md). total = weights + scratch + recurrentState + kvCache +
 * prefixCache + pooled; free = budget - total.
 */
export interface ModelMemory {
  /** The most bytes the model may hold (loadModel's memoryBudget). */
  budget: number;
  /** Bytes still available under the budget. */
  free: number;
  /** Everything held: the sum of the parts below. */
  total: number;
  /** Weight bytes referenced (memory-mapped) plus owned copies: f32 small vectors and weights quantized on load. */
  weights: number;
  /** Step scratch buffers (grown to the largest step so far) and device weight copies. */
  scratch: number;
  /** Conv + SSM state of every live sequence (fixed per sequence). */
  recurrentState: number;
  /** KV pages referenced by live sequences (a page shared by forks counts once). */
  kvCache: number;
  /** Prefix-cache checkpoints: their recurrent-state copies and the KV pages only the cache still holds. */
  prefixCache: number;
  /** Free blocks kept for reuse and checkpoints of evals in progress (given back under pressure). */
  pooled: number;
  /** Live sequences. */
  sequences: number;
  /** KV pages referenced by live sequences, and the size of one. */
  kvPages: number;
  kvPageBytes: number;
  /** Tokens per KV page. */
  kvPageTokens: number;
  /** Element type of the KV pages. */
  kvCacheType: 'f16' | 'f32' | 'q8_0';
  /** Recurrent state bytes of one sequence. */
  recurrentBytesPerSequence: number;
}

/** Counters of the prefix-state cache. */
export interface PrefixCacheStats {
  /** Checkpoints held. */
  entries: number;
  /** Bytes they hold: recurrent-state copies, token keys and every KV page they reference. */
  bytes: number;
  /** Fresh generations that restored a cached prefix, and those that found none. */
  hits: number;
  misses: number;
  /** Prompt tokens restored instead of prefilled, in total. */
  tokensReused: number;
}

/** The prefix-state cache of a model (see docs/MEMORY.md). */
export interface PrefixCache {
  /** False when loaded with `prefixCache: false`. */
  readonly enabled: boolean;
  stats(): PrefixCacheStats;
  /** Drops every checkpoint. */
  clear(): void;
}

export type DeviceName = 'cpu' | 'cuda';

export class Model {
  /** Normalised configuration (docs/MODEL.md field names), frozen. */
  readonly config: ModelConfig;
  /** What the model actually runs on. */
  readonly device: DeviceName;
  /** Why `device` was chosen (e.g. why 'auto' fell back to CPU). */
  readonly deviceReason: string;
  /** The files and validated tensor table the model was loaded from. */
  readonly files: ModelFiles;
  /** @internal */
  readonly scheduler: StepScheduler;
  /** The prefix-state cache used by generate / complete / chat on fresh sequences. */
  readonly prefixCache: PrefixCache;
  private nativeHandle: NativeModelHandle | null;
  private readonly live = new Set<Sequence>();
  private readonly tokenizerOrError: Tokenizer | Error | null;

  /** @internal use loadModel() */
  constructor(
    handle: NativeModelHandle,
    files: ModelFiles,
    device: DeviceName,
    deviceReason: string,
    scheduling: Partial<SchedulerOptions> = {},
    tokenizer: Tokenizer | Error | null = null,
    prefixCacheEnabled = false,
  ) {
    this.tokenizerOrError = tokenizer;
    this.nativeHandle = handle;
    this.files = files;
    this.config = files.config;
    this.device = device;
    const kvNote = handle.memory().kvNote;
    this.deviceReason = kvNote ? `${deviceReason}; ${kvNote}` : deviceReason;
    this.scheduler = new StepScheduler(() => this.handle, {
      ...scheduling,
      prefixChunkTokens: handle.memory().prefixChunkTokens,
    });
    this.prefixCache = {
      enabled: prefixCacheEnabled,
      stats: () => this.handle.prefixCacheStats(),
      clear: () => this.handle.clearPrefixCache(),
    };
  }

  /** @internal the native handle; throws DisposedError after dispose(). */
  get handle(): NativeModelHandle {
    if (!this.nativeHandle) throw new DisposedError('the model has been disposed');
    return this.nativeHandle;
  }

  get isDisposed(): boolean {
    return this.nativeHandle === null;
  }

  /** The model's tokenizer and chat template; throws when the model file carries none (or it failed to load). */
  get tokenizer(): Tokenizer {
    const t = this.tokenizerOrError;
    if (t === null) throw new UnsupportedError(`${this.files.files[0]}: the model carries no tokenizer`);
    if (t instanceof Error) throw t;
    return t;
  }

  /** True when {@link tokenizer} is available. */
  get hasTokenizer(): boolean {
    return this.tokenizerOrError !== null && !(this.tokenizerOrError instanceof Error);
  }

  /**
   * Streams generated text: iterate for `{text, tokens}` pieces, or await
   * `.result`. The prompt is raw text (special-token strings recognised),
   * chat messages (rendered with the chat template, content kept plain) or
   * token ids. Runs on a fresh sequence unless `options.sequence` is given.
   */
  generate(prompt: PromptInput, options: ChatOptions = {}): GenerationStream {
    return generateStream(this, prompt, options);
  }

  /** Generates to the end: text, tokens, finishReason, usage and timings. */
  complete(prompt: PromptInput, options: ChatOptions = {}): Promise<CompletionResult> {
    return completeOn(this, prompt, options);
  }

  /** One chat turn over `messages`: the completion plus parsed `toolCalls` and the assistant `message`. */
  async chat(messages: readonly ChatMessage[], options: ChatOptions = {}): Promise<ChatResult> {
    return chatStream(this, messages, options).result;
  }

  /** A multi-turn conversation that keeps its sequence between turns (each turn prefills only its new tokens). */
  createChatSession(options: ChatSessionOptions = {}): ChatSession {
    return new ChatSession(this, options);
  }

  /**
   * A new, empty sequence (position 0). O(1) on the JS thread: its state is
   * taken from the pool and zeroed by its first eval, off the JS thread.
   * Throws OutOfMemoryError when one more sequence would pass the memory
   * budget (after evicting prefix-cache entries) or maxSequences.
   */
  createSequence(): Sequence {
    const id = callNativeSync(() => this.handle.createSequence());
    return this.adoptSequence(id, 0);
  }

  /**
   * @internal A fresh sequence holding the longest cached prefix of
   * `tokens` (at most tokens.length - 1 of them, so at least one is left to
   * evaluate); `restored` says how many.
   */
  async sequenceForPrompt(tokens: readonly number[]): Promise<{ seq: Sequence; restored: number }> {
    if (!this.prefixCache.enabled || tokens.length < 2) return { seq: this.createSequence(), restored: 0 };
    const { id, restored } = await callNative(() => this.handle.createSequenceFromPrefix(Int32Array.from(tokens)));
    return { seq: this.adoptSequence(id, restored), restored };
  }

  /** Logits of every position of `tokens` fed from an empty state: Float32Array [tokens.length * vocab_size]. */
  async logits(tokens: ArrayLike<number>): Promise<Float32Array> {
    const seq = this.createSequence();
    try {
      return await seq.eval(tokens, { allLogits: true });
    } finally {
      seq.dispose();
    }
  }

  /** Recreates a sequence from Sequence.snapshot() bytes (validated against this model). */
  async restoreSequence(bytes: Uint8Array): Promise<Sequence> {
    const id = await callNative(() => this.handle.restoreSequence(bytes));
    return this.adoptSequence(id, this.handle.sequencePosition(id));
  }

  /** Bytes held for weights, recurrent state, KV pages and the prefix cache, against the budget. */
  memory(): ModelMemory {
    const m = this.handle.memory();
    return {
      budget: m.budget,
      free: Math.max(0, m.budget - m.total),
      total: m.total,
      weights: m.weights,
      scratch: m.fixed - m.weights,
      recurrentState: m.recurrentState,
      kvCache: m.kvCache,
      prefixCache: m.prefixCache,
      pooled: m.pooled,
      sequences: m.sequences,
      kvPages: m.kvPages,
      kvPageBytes: m.kvPageBytes,
      kvPageTokens: m.kvPageTokens,
      kvCacheType: m.kvCacheType,
      recurrentBytesPerSequence: m.recurrentBytesPerSequence,
    };
  }

  /** Frees the model and every sequence. Queued evals reject with DisposedError; a step in flight finishes first. */
  async dispose(): Promise<void> {
    if (!this.nativeHandle) return;
    const handle = this.nativeHandle;
    this.scheduler.cancel(new DisposedError('the model has been disposed'));
    for (const s of [...this.live]) s.dispose();
    this.nativeHandle = null;
    handle.dispose();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.dispose();
  }

  /** @internal */
  adoptSequence(id: number, position: number): Sequence {
    const seq = new Sequence(this, id, position);
    this.live.add(seq);
    return seq;
  }

  /** @internal */
  forgetSequence(seq: Sequence): void {
    this.live.delete(seq);
  }
}
