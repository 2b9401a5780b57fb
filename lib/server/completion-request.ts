/**
 * POST /v1/completions request body -> prompts and options. `prompt` is a
 * string, an array of strings, an array of token ids, or an array of such
 * arrays; each prompt gets `n` choices.
 */
import { invalidField } from './api-error';
import { type CommonRequest, parseCommon } from './common-request';
import { type JsonObject, optBool, optInt, optString, tokenIds } from './fields';

/** One prompt: text (special-token strings recognised) or token ids. */
export type CompletionPrompt = { text: string } | { ids: number[] };

/** Most prompts one request may batch. */
export const MAX_PROMPTS = 16;

/** A validated completion request. */
export interface CompletionRequest extends CommonRequest {
  prompts: CompletionPrompt[];
  /** Prepend the prompt text to each choice's text. */
  echo: boolean;
  /** logprobs: n -> the chosen token's logprob and the n most likely alternatives per position (null: none). */
  logprobs: number | null;
}

function prompts(o: JsonObject, vocab: number): CompletionPrompt[] {
  const p = o.prompt;
  if (p === undefined || p === null) throw invalidField('prompt', 'prompt is required', 'missing_required_parameter');
  if (typeof p === 'string') return [{ text: p }];
  if (!Array.isArray(p) || p.length === 0) throw invalidField('prompt', 'prompt must be a string, an array of strings or an array of token ids', 'invalid_type');
  if (p.every((x) => typeof x === 'number')) return [{ ids: tokenIds(p, 'prompt', vocab) }];
  if (p.length > MAX_PROMPTS) throw invalidField('prompt', `prompt takes at most ${MAX_PROMPTS} prompts, got ${p.length}`);
  return p.map((x, i) => {
    if (typeof x === 'string') return { text: x };
    if (Array.isArray(x)) {
      if (x.length === 0) throw invalidField(`prompt[${i}]`, `prompt[${i}] is empty`);
      return { ids: tokenIds(x, `prompt[${i}]`, vocab) };
    }
    throw invalidField(`prompt[${i}]`, `prompt[${i}] must be a string or an array of token ids`, 'invalid_type');
  });
}

/** Validates a completion body. */
export function parseCompletionRequest(o: JsonObject, vocab: number): CompletionRequest {
  const list = prompts(o, vocab);
  const suffix = optString(o, 'suffix');
  if (suffix) throw invalidField('suffix', 'suffix is not supported');
  const common = parseCommon(o, vocab, ['max_tokens']);
  const bestOf = optInt(o, 'best_of', 1, 16);
  if (bestOf !== undefined && bestOf !== common.n) throw invalidField('best_of', 'best_of is supported only equal to n');
  const echo = optBool(o, 'echo') ?? false;
  const logprobs = optInt(o, 'logprobs', 0, 20) ?? null;
  if (echo && logprobs !== null) throw invalidField('echo', 'echo with logprobs is not supported (prompt logprobs are not computed)');
  // OpenAI's legacy default: 16 tokens.
  return { ...common, maxTokens: common.maxTokens ?? 16, prompts: list, echo, logprobs };
}
