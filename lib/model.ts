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
import { StepScheduler } from './scheduler/step-scheduler';
import { Sequence } from './sequence';
import type { Tokenizer } from './tokenizer/tokenizer';
import type { ChatMessage } from './tokenizer/types';

/** Bytes the runtime really holds for a model. */
export interface ModelMemory {
  /** Weight bytes referenced (memory-mapped) plus owned copies: f32 small vectors and weights quantized on load. */
  weights: number;
  /** Conv + SSM state of every live sequence (fixed per sequence). */
  recurrentState: number;
  /** KV pages in use by the attention layers. */
  kvCache: number;
  /** weights + recurrentState + kvCache. */
  total: number;
  /** Live sequences. */
  sequences: number;
  /** KV pages in use and the size of one. */
  kvPages: number;
  kvPageBytes: number;
  /** Tokens per KV page. */
  kvPageTokens: number;
  /** Recurrent state bytes of one sequence. */
  recurrentBytesPerSequence: number;
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
  private nativeHandle: NativeModelHandle | null;
  private readonly live = new Set<Sequence>();
  private readonly tokenizerOrError: Tokenizer | Error | null;

  /** @internal use loadModel() */
  constructor(
    handle: NativeModelHandle,
    files: ModelFiles,
    device: DeviceName,
    deviceReason: string,
    maxStepTokens = 512,
    tokenizer: Tokenizer | Error | null = null,
  ) {
    this.tokenizerOrError = tokenizer;
    this.nativeHandle = handle;
    this.files = files;
    this.config = files.config;
    this.device = device;
    this.deviceReason = deviceReason;
    this.scheduler = new StepScheduler(() => this.handle, maxStepTokens);
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

  /** A new, empty sequence (position 0). */
  createSequence(): Sequence {
    const id = callNativeSync(() => this.handle.createSequence());
    return this.adoptSequence(id, 0);
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

  /** Bytes held for weights, recurrent state and KV pages. */
  memory(): ModelMemory {
    const m = this.handle.memory();
    return {
      weights: m.weights,
      recurrentState: m.recurrentState,
      kvCache: m.kvCache,
      total: m.weights + m.recurrentState + m.kvCache,
      sequences: m.sequences,
      kvPages: m.kvPages,
      kvPageBytes: m.kvPageBytes,
      kvPageTokens: m.kvPageTokens,
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
