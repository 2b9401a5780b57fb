/**
 * Options and results of generation (`model.generate`, `model.complete`,
 * `model.chat`, ChatSession).
 */
import type { ModelConfig } from '../loaders/types';
import type { Sequence } from '../sequence';
import type { Tokenizer } from '../tokenizer/tokenizer';
import type { ChatDocument, ChatMessage, ChatTool, ParsedToolCall } from '../tokenizer/types';
import type { SamplingOptions, TokenLogprob } from './sampling';

/**
 * What generation needs from a model: two config fields, the tokenizer and
 * sequences. `Model` (lib/model.ts) implements it; the generation code depends
 * on this interface, not on the Model class.
 */
export interface GenerationModel {
  readonly config: Pick<ModelConfig, 'vocab_size' | 'eos_token_id'>;
  /** The model's tokenizer; throws when the model file has none (see hasTokenizer). */
  readonly tokenizer: Tokenizer;
  readonly hasTokenizer: boolean;
  createSequence(): Sequence;
  restoreSequence(bytes: Uint8Array): Promise<Sequence>;
  /** A fresh sequence from the longest cached prefix of `tokens` (absent: no prefix cache). */
  sequenceForPrompt?(tokens: readonly number[]): Promise<{ seq: Sequence; restored: number }>;
  readonly prefixCache?: { readonly enabled: boolean };
}

/** Generation controls: sampling plus stopping, cancellation and reporting. Every field optional. */
export interface GenerateOptions extends SamplingOptions {
  /** Most tokens to generate. Default 512. */
  maxTokens?: number;
  /** Stop strings: generation ends when the text contains one; it is not emitted. Default none. */
  stop?: string | readonly string[];
  /** Stop token ids (not emitted). Default: the model's EOS. */
  stopTokens?: readonly number[];
  /** Do not stop on EOS (other stopTokens still apply). Default false. */
  ignoreEos?: boolean;
  /** Cancels generation: it ends within one step with finishReason 'abort'. */
  signal?: AbortSignal;
  /** Report each chosen token's logprob (true) and the top-n alternatives (a number n). Default false. */
  logprobs?: boolean | number;
  /** Leave special tokens out of the text. Default true. */
  skipSpecial?: boolean;
  /**
   * Continue this sequence instead of a fresh one (the prompt is appended to
   * its state; it is not disposed). Default: a fresh sequence, disposed after.
   */
  sequence?: Sequence;
}

/** Options of chat generation: GenerateOptions plus what the chat template takes. */
export interface ChatOptions extends GenerateOptions {
  /** Tools offered to the model. */
  tools?: readonly ChatTool[];
  /** Documents to ground the answer in. */
  documents?: readonly ChatDocument[];
  /** Extra variables for the model's Jinja template. */
  templateVariables?: Record<string, unknown>;
}

/** What a prompt can be: raw text (special-token strings recognised), chat messages, or token ids. */
export type PromptInput = string | readonly ChatMessage[] | ArrayLike<number>;

/** A chosen token's logprob with its alternatives. */
export interface GeneratedTokenLogprob extends TokenLogprob {
  /** The top-n alternatives (with `logprobs: n`). */
  top?: TokenLogprob[];
}

/** One streamed piece. */
export interface GenerationPiece {
  /** New text (never half a character, never part of a stop string). */
  text: string;
  /** Tokens generated since the previous piece. */
  tokens: number[];
  /** With `logprobs`: one entry per token of `tokens`. */
  logprobs?: GeneratedTokenLogprob[];
}

/** Why generation ended. */
export type FinishReason = 'stop' | 'length' | 'abort';

/** The final result of a generation. */
export interface CompletionResult {
  /** Generated text (stop string and stop token excluded). */
  text: string;
  /** Generated token ids (a stop token excluded; the tokens of a stop string included). */
  tokens: number[];
  finishReason: FinishReason;
  /** With finishReason 'stop': the stop token or stop string that ended it. */
  stoppedBy?: { token: number } | { string: string };
  usage: {
    /**
     * Prompt tokens: those evaluated plus those restored from the prefix
     * cache (a chat session's later turns count only their new tokens).
     */
    promptTokens: number;
    /** Prompt tokens restored from the prefix cache instead of being prefilled (0 on a miss). */
    cachedPromptTokens: number;
    completionTokens: number;
    totalTokens: number;
  };
  timings: {
    prefillMs: number;
    decodeMs: number;
    /** Prompt tokens evaluated (cached ones excluded) per second of prefill. */
    prefillTokensPerSecond: number;
    decodeTokensPerSecond: number;
  };
  /** With `logprobs`: one entry per generated token. */
  logprobs?: GeneratedTokenLogprob[];
}

/** The result of a chat turn: the completion plus parsed tool calls and the assistant message. */
export interface ChatResult extends CompletionResult {
  /** Tool calls parsed from the text (`<tool_call>…</tool_call>`). */
  toolCalls: ParsedToolCall[];
  /** The assistant message: text without tool-call blocks, plus tool_calls in OpenAI shape. */
  message: ChatMessage;
}
