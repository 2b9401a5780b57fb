/**
 * The request fields /v1/chat/completions and /v1/completions share: model,
 * n, streaming, stop strings, and sampling. OpenAI's fields keep OpenAI's
 * meaning: with `temperature` > 0 only `top_p` truncates (top-k and min-p stay
 * off unless the request sets vLLM's `top_k` / `min_p`).
 */
import type { GenerateOptions } from '../generate/types';
import { invalidField } from './api-error';
import { type JsonObject, optBool, optInt, optNumber, optObject, optString } from './fields';

/** Most choices one request may ask for. */
export const MAX_N = 16;
/** Most stop strings one request may give. */
export const MAX_STOP_STRINGS = 16;

/** What the shared fields turn into. */
export interface CommonRequest {
  n: number;
  stream: boolean;
  /** stream_options.include_usage: a final chunk with `choices: []` and the usage. */
  includeUsage: boolean;
  /** max_tokens / max_completion_tokens, or undefined (then: whatever fits the context). */
  maxTokens: number | undefined;
  /** Sampling and stopping for the engine (maxTokens set later, once the prompt length is known). */
  generate: GenerateOptions;
}

/** Checks `model` (absent, or the served name). */
export function checkModel(o: JsonObject, servedName: string): void {
  const model = optString(o, 'model');
  if (model !== undefined && model !== servedName) {
    throw invalidField('model', `The model '${model}' does not exist; this server serves '${servedName}'`, 'model_not_found');
  }
}

function stopStrings(o: JsonObject): string[] | undefined {
  const v = o.stop;
  if (v === undefined || v === null) return undefined;
  const list = typeof v === 'string' ? [v] : v;
  if (!Array.isArray(list) || list.some((s) => typeof s !== 'string')) {
    throw invalidField('stop', 'stop must be a string or an array of strings', 'invalid_type');
  }
  if (list.length > MAX_STOP_STRINGS) throw invalidField('stop', `stop takes at most ${MAX_STOP_STRINGS} strings, got ${list.length}`);
  return (list as string[]).filter((s) => s.length > 0);
}

function logitBias(o: JsonObject, vocab: number): Map<number, number> | undefined {
  const bias = optObject(o, 'logit_bias');
  if (!bias) return undefined;
  const out = new Map<number, number>();
  for (const [k, v] of Object.entries(bias)) {
    const id = Number(k);
    if (!/^\d+$/.test(k) || id >= vocab) throw invalidField('logit_bias', `logit_bias key '${k}' is not a token id in [0, ${vocab})`);
    if (typeof v !== 'number' || !Number.isFinite(v) || v < -100 || v > 100) {
      throw invalidField('logit_bias', `logit_bias['${k}'] must be a number in [-100, 100], got ${JSON.stringify(v)}`);
    }
    // OpenAI: -100 bans the token, 100 forces it.
    out.set(id, v <= -100 ? -Infinity : v);
  }
  return out;
}

/** Reads the shared fields; `maxTokensKeys` lists the names max_tokens may go by, in priority order. */
export function parseCommon(o: JsonObject, vocab: number, maxTokensKeys: readonly string[]): CommonRequest {
  const n = optInt(o, 'n', 1, MAX_N) ?? 1;
  const stream = optBool(o, 'stream') ?? false;
  const streamOptions = optObject(o, 'stream_options');
  if (streamOptions && !stream) throw invalidField('stream_options', 'stream_options is only allowed with stream: true');
  const includeUsage = streamOptions ? (optBool(streamOptions, 'include_usage', 'stream_options.include_usage') ?? false) : false;
  let maxTokens: number | undefined;
  for (const key of maxTokensKeys) maxTokens ??= optInt(o, key, 1, Number.MAX_SAFE_INTEGER);
  const temperature = optNumber(o, 'temperature', 0, 2);
  const generate: GenerateOptions = {
    temperature: temperature ?? 0,
    topP: optNumber(o, 'top_p', 0, 1) ?? 1,
    topK: optInt(o, 'top_k', -1, vocab) ?? 0,
    minP: optNumber(o, 'min_p', 0, 1) ?? 0,
    presencePenalty: optNumber(o, 'presence_penalty', -2, 2) ?? 0,
    frequencyPenalty: optNumber(o, 'frequency_penalty', -2, 2) ?? 0,
    repeatPenalty: optNumber(o, 'repetition_penalty', 0.01, 10) ?? 1,
    ignoreEos: optBool(o, 'ignore_eos') ?? false,
  };
  if (generate.topK === -1) generate.topK = 0; // vLLM's "all"
  const seed = optInt(o, 'seed', Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER);
  if (seed !== undefined) generate.seed = seed;
  const stop = stopStrings(o);
  if (stop?.length) generate.stop = stop;
  const bias = logitBias(o, vocab);
  if (bias) generate.logitBias = bias;
  optString(o, 'user');
  return { n, stream, includeUsage, maxTokens, generate };
}
