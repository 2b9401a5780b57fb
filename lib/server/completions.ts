/**
 * POST /v1/completions: raw prompts (text with special-token strings
 * recognised, or token ids) into generation; the reply as a
 * `text_completion` object or as streamed `text_completion` chunks.
 * Choice index = prompt index * n + choice.
 */
import { randomUUID } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { promptTokens } from '../generate/model-generate';
import type { GenerateOptions } from '../generate/types';
import { invalidField } from './api-error';
import { checkModel } from './common-request';
import { parseCompletionRequest } from './completion-request';
import { type ServerContext, engineFor, unixNow } from './context';
import { objectBody } from './fields';
import { completionLogprobs } from './logprobs';
import { finishReasonOf, requireTokenizer, streamGeneration, usageOf } from './respond';

export async function completions(ctx: ServerContext, req: FastifyRequest, reply: FastifyReply): Promise<void> {
  const engine = engineFor(ctx);
  const body = objectBody(req.body);
  checkModel(body, ctx.options.modelName);
  const r = parseCompletionRequest(body, engine.config.vocab_size);
  const tok = engine.hasTokenizer ? engine.tokenizer : null;
  const prompts = r.prompts.map((p, i) => {
    if ('ids' in p) return p.ids;
    requireTokenizer(engine);
    const ids = promptTokens(engine, p.text);
    if (ids.length === 0) throw invalidField(r.prompts.length > 1 ? `prompt[${i}]` : 'prompt', 'the prompt encodes to no tokens');
    return ids;
  });
  // Echo needs the prompt's text: the string given, or the ids decoded.
  const promptText = r.prompts.map((p) => ('text' in p ? p.text : (tok?.decode(p.ids) ?? '')));
  const options: GenerateOptions = { ...r.generate };
  if (r.logprobs !== null) options.logprobs = r.logprobs > 0 ? r.logprobs : true;
  const id = `cmpl-${randomUUID().replace(/-/g, '')}`;
  const created = unixNow();
  const model = ctx.options.modelName;
  const chunk = (choices: unknown[]) => ({ id, object: 'text_completion', created, model, system_fingerprint: null, choices, ...(r.includeUsage ? { usage: null } : {}) });
  const choice = (index: number, text: string, finish: string | null, logprobs: unknown) => ({ index, text, logprobs, finish_reason: finish });
  const prefixOf = (i: number) => (r.echo ? promptText[Math.floor(i / r.n)] : '');
  const offsets = new Map<number, number>();
  const lp = (i: number, entries: Parameters<typeof completionLogprobs>[1] | undefined) => {
    if (r.logprobs === null) return null;
    const start = offsets.get(i) ?? prefixOf(i).length;
    const out = completionLogprobs(tok, entries ?? [], start, r.logprobs > 0);
    offsets.set(i, start + out.tokens.reduce((a, t) => a + t.length, 0));
    return out;
  };

  await streamGeneration(ctx, req, reply, {
    engine,
    stream: r.stream,
    includeUsage: r.includeUsage,
    spec: { prompts, n: r.n, maxTokens: r.maxTokens, options, promptField: 'prompt', maxTokensField: 'max_tokens' },
    whole: (outcome) => ({
      id,
      object: 'text_completion',
      created,
      model,
      system_fingerprint: null,
      choices: outcome.perPrompt.flat().map((res, i) => choice(i, prefixOf(i) + res.text, finishReasonOf(res), lp(i, res.logprobs))),
      usage: usageOf(outcome),
    }),
    chunks: {
      first: () => (r.echo ? Array.from({ length: prompts.length * r.n }, (_, i) => chunk([choice(i, prefixOf(i), null, null)])) : []),
      piece: (i, text, entries) => (text === '' && r.logprobs === null ? null : chunk([choice(i, text, null, lp(i, entries))])),
      last: (i, res) => [chunk([choice(i, '', finishReasonOf(res), null)])],
      usage: (outcome) => ({ ...chunk([]), usage: usageOf(outcome) }),
    },
  });
}
