/**
 * POST /tokenize and POST /detokenize (vLLM's shapes): text or chat messages
 * (with tools, through the chat template) to token ids, and back.
 */
import type { FastifyRequest } from 'fastify';
import { promptTokens } from '../generate/model-generate';
import { invalidField } from './api-error';
import { parseChatRequest } from './chat-request';
import { checkModel } from './common-request';
import { type ServerContext, engineFor } from './context';
import { objectBody, optBool, optString, tokenIds } from './fields';
import { requireTokenizer } from './respond';

export function tokenize(ctx: ServerContext, req: FastifyRequest) {
  const engine = engineFor(ctx);
  const body = objectBody(req.body);
  checkModel(body, ctx.options.modelName);
  const tok = requireTokenizer(engine);
  let tokens: number[];
  if (body.messages !== undefined) {
    const chat = parseChatRequest({ messages: body.messages, tools: body.tools }, engine.config.vocab_size);
    const addGenerationPrompt = optBool(body, 'add_generation_prompt') ?? true;
    try {
      tokens = tok.encodeChat(chat.messages, { tools: chat.tools, addGenerationPrompt });
    } catch (err) {
      throw invalidField('messages', `the chat template cannot render these messages: ${(err as Error).message}`);
    }
  } else {
    const prompt = optString(body, 'prompt');
    if (prompt === undefined) throw invalidField('prompt', 'prompt (a string) or messages is required', 'missing_required_parameter');
    // add_special_tokens (default true): the BOS rule of raw prompts, as /v1/completions applies it.
    tokens = (optBool(body, 'add_special_tokens') ?? true) ? promptTokens(engine, prompt) : tok.encode(prompt, { special: true });
  }
  const out: Record<string, unknown> = { count: tokens.length, max_model_len: ctx.options.contextLength, tokens };
  if (optBool(body, 'return_token_strs')) out.token_strs = tokens.map((t) => tok.idToToken(t) ?? null);
  return out;
}

export function detokenize(ctx: ServerContext, req: FastifyRequest) {
  const engine = engineFor(ctx);
  const body = objectBody(req.body);
  checkModel(body, ctx.options.modelName);
  const tok = requireTokenizer(engine);
  if (body.tokens === undefined) throw invalidField('tokens', 'tokens is required', 'missing_required_parameter');
  const ids = tokenIds(body.tokens, 'tokens', Math.min(engine.config.vocab_size, tok.tokenCount));
  return { prompt: tok.decode(ids) };
}
