/**
 * POST /v1/chat/completions: chat messages through the model's chat template
 * into generation; the reply as a `chat.completion` object or as
 * `chat.completion.chunk` server-sent events. With tools, `<tool_call>`
 * blocks in the reply become `tool_calls` (finish_reason "tool_calls").
 */
import { randomUUID } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { CompletionResult, GenerateOptions } from '../generate/types';
import type { ParsedToolCall } from '../tokenizer/types';
import type { Tokenizer } from '../tokenizer/tokenizer';
import { invalidField } from './api-error';
import { forcedToolPrefix, parseChatRequest } from './chat-request';
import { checkModel } from './common-request';
import { type ServerContext, engineFor, unixNow } from './context';
import { objectBody } from './fields';
import { GenerationRequest, type GenerationOutcome } from './generation-request';
import { chatLogprobs } from './logprobs';
import { finishReasonOf, requireTokenizer, streamGeneration, usageOf } from './respond';
import { ToolCallFilter } from './tool-call-filter';

function toolCallsJson(calls: readonly ParsedToolCall[]) {
  return calls.map((c) => ({
    id: `call_${randomUUID().replace(/-/g, '').slice(0, 24)}`,
    type: 'function' as const,
    function: { name: c.name, arguments: typeof c.arguments === 'string' ? c.arguments : JSON.stringify(c.arguments) },
  }));
}

export async function chatCompletions(ctx: ServerContext, req: FastifyRequest, reply: FastifyReply): Promise<void> {
  const engine = engineFor(ctx);
  const body = objectBody(req.body);
  checkModel(body, ctx.options.modelName);
  const r = parseChatRequest(body, engine.config.vocab_size);
  const tok = requireTokenizer(engine);
  let prompt: number[];
  try {
    prompt = tok.encodeChat(r.messages, { tools: r.tools, addGenerationPrompt: true });
  } catch (err) {
    throw invalidField('messages', `the chat template cannot render these messages: ${(err as Error).message}`);
  }
  const prefix = forcedToolPrefix(r.toolMode);
  if (prefix) prompt = [...prompt, ...tok.encode(prefix)];
  const options: GenerateOptions = { ...r.generate };
  if (r.logprobs) options.logprobs = r.topLogprobs > 0 ? r.topLogprobs : true;
  const withTools = r.toolMode.kind !== 'none';
  const filters = Array.from({ length: r.n }, () => (withTools ? new ToolCallFilter(prefix) : null));
  const id = `chatcmpl-${randomUUID().replace(/-/g, '')}`;
  const created = unixNow();
  const model = ctx.options.modelName;

  /** A choice's final content, tool calls and finish reason. */
  const settle = (i: number, result: CompletionResult) => {
    const filter = filters[i];
    const { content, toolCalls } = filter ? filter.finish() : { content: '', toolCalls: [] };
    return { content, toolCalls, finish: toolCalls.length ? 'tool_calls' : finishReasonOf(result) };
  };

  await streamGeneration(ctx, req, reply, {
    engine,
    stream: r.stream,
    includeUsage: r.includeUsage,
    spec: {
      prompts: [prompt],
      n: r.n,
      maxTokens: r.maxTokens,
      options,
      promptField: 'messages',
      maxTokensField: body.max_completion_tokens != null ? 'max_completion_tokens' : 'max_tokens',
    },
    whole: (outcome: GenerationOutcome) => ({
      id,
      object: 'chat.completion',
      created,
      model,
      system_fingerprint: null,
      choices: outcome.perPrompt[0].map((result, i) => {
        const head = filters[i]?.push(result.text) ?? result.text;
        const s = filters[i] ? settle(i, result) : { content: '', toolCalls: [], finish: finishReasonOf(result) };
        s.content = s.toolCalls.length ? (head + s.content).trim() : head + s.content;
        const message: Record<string, unknown> = { role: 'assistant', content: s.toolCalls.length && s.content === '' ? null : s.content, refusal: null };
        if (s.toolCalls.length) message.tool_calls = toolCallsJson(s.toolCalls);
        return {
          index: i,
          message,
          logprobs: r.logprobs ? chatLogprobs(tok, result.logprobs ?? []) : null,
          finish_reason: s.finish,
        };
      }),
      usage: usageOf(outcome),
    }),
    chunks: chatChunks(tok, r.n, r.logprobs, r.includeUsage, filters, settle, { id, created, model }),
  });
}

/** The chunk builders of a streamed chat reply. */
function chatChunks(
  tok: Tokenizer,
  n: number,
  logprobs: boolean,
  includeUsage: boolean,
  filters: Array<ToolCallFilter | null>,
  settle: (i: number, r: CompletionResult) => { content: string; toolCalls: ParsedToolCall[]; finish: string },
  head: { id: string; created: number; model: string },
) {
  const chunk = (choices: unknown[], extra: Record<string, unknown> = {}) => ({
    id: head.id,
    object: 'chat.completion.chunk',
    created: head.created,
    model: head.model,
    system_fingerprint: null,
    choices,
    ...(includeUsage ? { usage: null } : {}),
    ...extra,
  });
  const choice = (index: number, delta: Record<string, unknown>, finish: string | null = null, lp: unknown = null) => ({
    index,
    delta,
    logprobs: lp,
    finish_reason: finish,
  });
  return {
    first: () => Array.from({ length: n }, (_, i) => chunk([choice(i, { role: 'assistant', content: '' })])),
    piece: (i: number, text: string, entries: Parameters<typeof chatLogprobs>[1] | undefined) => {
      const content = filters[i] ? filters[i]!.push(text) : text;
      const lp = logprobs && entries?.length ? chatLogprobs(tok, entries) : null;
      if (content === '' && lp === null) return null;
      return chunk([choice(i, { content }, null, lp)]);
    },
    last: (i: number, result: CompletionResult) => {
      const s = filters[i] ? settle(i, result) : { content: '', toolCalls: [], finish: finishReasonOf(result) };
      const out: unknown[] = [];
      if (s.content) out.push(chunk([choice(i, { content: s.content })]));
      if (s.toolCalls.length) {
        const calls = toolCallsJson(s.toolCalls).map((c, k) => ({ index: k, ...c }));
        out.push(chunk([choice(i, { tool_calls: calls })]));
      }
      out.push(chunk([choice(i, {}, s.finish)]));
      return out;
    },
    usage: (outcome: GenerationOutcome) => ({ ...chunk([]), usage: usageOf(outcome) }),
  };
}
