/**
 * `model.generate`, `model.complete` and `model.chat`: turn a prompt (raw
 * text, chat messages or token ids) into tokens, run the token loop on a
 * fresh sequence (or the caller's), and shape the result.
 */
import { ArgumentError } from '../errors';
import type { ChatMessage } from '../tokenizer/types';
import { parseToolCalls } from '../tokenizer/tool-calls';
import type { Tokenizer } from '../tokenizer/tokenizer';
import { GenerationStream, checkGenerateOptions, newGenerationState, resultOf, runGeneration } from './generate';
import { Sampler } from './sampling';
import type { ChatOptions, ChatResult, CompletionResult, GenerateOptions, GenerationModel, GenerationPiece, PromptInput } from './types';
import type { Sequence } from '../sequence';

function isMessages(input: PromptInput): input is readonly ChatMessage[] {
  return Array.isArray(input) && input.length > 0 && typeof input[0] === 'object' && input[0] !== null;
}

/** Token ids of a prompt: raw text (special-token strings recognised, BOS if the model adds one), chat messages, or ids. */
export function promptTokens(
  model: { readonly tokenizer: Tokenizer; readonly config: { readonly vocab_size: number } },
  input: PromptInput,
  options: ChatOptions = {},
): number[] {
  if (typeof input === 'string') {
    const tok = model.tokenizer;
    const ids = tok.encode(input, { special: true });
    return tok.addBos && tok.bosTokenId !== null ? [tok.bosTokenId, ...ids] : ids;
  }
  if (isMessages(input)) {
    return model.tokenizer.encodeChat(input, {
      tools: options.tools,
      documents: options.documents,
      templateVariables: options.templateVariables,
      addGenerationPrompt: true,
    });
  }
  if (input !== null && typeof input === 'object' && typeof (input as ArrayLike<number>).length === 'number') {
    const ids = Array.from(input as ArrayLike<number>);
    const vocab = model.config.vocab_size;
    ids.forEach((t, i) => {
      if (!Number.isInteger(t) || t < 0 || t >= vocab) {
        throw new ArgumentError(`prompt[${i}] = ${String(t)} is not a valid token id: expected an integer in [0, ${vocab})`);
      }
    });
    return ids;
  }
  throw new ArgumentError(`Expected the prompt to be a string, an array of chat messages or token ids, got ${typeof input}`);
}

/** The model's tokenizer, or null when it has none (generation then yields tokens only). */
export function tokenizerOrNull(model: GenerationModel): Tokenizer | null {
  return model.hasTokenizer ? model.tokenizer : null;
}

/** Streams a generation; see Model.generate. */
export function generateStream(model: GenerationModel, input: PromptInput, options: ChatOptions = {}): GenerationStream {
  return streamOn(model, promptTokens(model, input, options), options, (r) => r);
}

/**
 * Runs the loop over `prompt` on options.sequence, or on a fresh sequence
 * (disposed at the end) that starts from the longest prefix of the prompt in
 * the model's prefix cache and leaves checkpoints of this prompt there.
 */
function streamOn<R extends CompletionResult>(
  model: GenerationModel,
  prompt: number[],
  options: GenerateOptions,
  shape: (r: CompletionResult) => R,
): GenerationStream<R> {
  checkGenerateOptions(options);
  new Sampler(options, model.config.vocab_size); // validates the sampling options before any state is made
  const own = options.sequence === undefined;
  let seq: Sequence | null = options.sequence ?? null;
  const state = newGenerationState();
  const tokenizer = tokenizerOrNull(model);
  const caching = own && model.prefixCache?.enabled === true && model.sequenceForPrompt !== undefined;
  async function* source(): AsyncGenerator<GenerationPiece, CompletionResult> {
    let restored = 0;
    let current: Sequence;
    if (seq) current = seq;
    else if (caching) ({ seq: current, restored } = await model.sequenceForPrompt!(prompt));
    else current = model.createSequence();
    seq = current;
    return yield* runGeneration(
      {
        seq: current,
        prompt: prompt.slice(restored),
        context: prompt,
        tokenizer,
        vocab: model.config.vocab_size,
        eos: tokenizer?.eosTokenId ?? model.config.eos_token_id,
        options,
        cachedPromptTokens: restored,
        cachePrefix: caching,
      },
      state,
    );
  }
  return new GenerationStream<R>(
    source(),
    (r) => shape(r ?? resultOf(state, state.fed.length - state.decodeSteps)),
    () => {
      if (own) seq?.dispose();
    },
  );
}

/** Runs a completion to the end; see Model.complete. */
export async function completeOn(model: GenerationModel, input: PromptInput, options: ChatOptions = {}): Promise<CompletionResult> {
  return streamOn(model, promptTokens(model, input, options), options, (r) => r).result;
}

/** Shapes a completion as a chat result: tool calls parsed, the assistant message built. */
export function chatResultOf(r: CompletionResult): ChatResult {
  const { content, toolCalls } = parseToolCalls(r.text);
  const message: ChatMessage = { role: 'assistant', content };
  if (toolCalls.length) {
    message.tool_calls = toolCalls.map((c) => ({ type: 'function' as const, function: { name: c.name, arguments: c.arguments } }));
  }
  return { ...r, toolCalls, message };
}

/** Streams a chat turn; see Model.chat. */
export function chatStream(model: GenerationModel, messages: readonly ChatMessage[], options: ChatOptions = {}): GenerationStream<ChatResult> {
  if (!isMessages(messages)) throw new ArgumentError('Expected messages to be a non-empty array of chat messages');
  return streamOn(model, promptTokens(model, messages, options), options, chatResultOf);
}
