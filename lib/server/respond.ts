/**
 * The response side both generation endpoints share: admission, then either
 * one JSON object or a stream of chunks (role chunk, pieces, final chunks,
 * usage chunk, `[DONE]`). A failure after the stream started is sent as an
 * `{error}` event before `[DONE]`; a client that disconnects cancels its
 * generation within one step and frees its sequences.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { CompletionResult, GeneratedTokenLogprob } from '../generate/types';
import type { Tokenizer } from '../tokenizer/tokenizer';
import { invalidRequest, toApiError } from './api-error';
import type { ServerContext } from './context';
import type { ServingEngine } from './engine';
import { GenerationRequest, type GenerationOutcome, type GenerationSpec } from './generation-request';
import { InFlight } from './in-flight';
import { SseWriter } from './sse';

/** Builds the chunks of a streamed reply. */
export interface ChunkBuilders {
  /** Chunks sent once admitted, before any token. */
  first(): unknown[];
  /** The chunk for a piece of choice `i`, or null when it carries nothing to send yet. */
  piece(i: number, text: string, logprobs: GeneratedTokenLogprob[] | undefined): unknown | null;
  /** The closing chunks of choice `i`. */
  last(i: number, result: CompletionResult): unknown[];
  /** The include_usage chunk. */
  usage(outcome: GenerationOutcome): unknown;
}

/** What {@link streamGeneration} runs and how it answers. */
export interface GenerationResponse {
  engine: ServingEngine;
  stream: boolean;
  includeUsage: boolean;
  spec: GenerationSpec;
  /** The whole (non-streamed) response body. */
  whole(outcome: GenerationOutcome): unknown;
  chunks: ChunkBuilders;
}

/** OpenAI's finish_reason of a result ('abort' only reaches here when the request was cancelled, which answers an error instead). */
export function finishReasonOf(r: CompletionResult): 'stop' | 'length' {
  return r.finishReason === 'length' ? 'length' : 'stop';
}

/** The `usage` object. */
export function usageOf(o: GenerationOutcome) {
  return {
    prompt_tokens: o.promptTokens,
    completion_tokens: o.completionTokens,
    total_tokens: o.promptTokens + o.completionTokens,
    prompt_tokens_details: { cached_tokens: o.cachedTokens },
  };
}

/** The engine's tokenizer, or 400 for a model that has none. */
export function requireTokenizer(engine: ServingEngine): Tokenizer {
  if (!engine.hasTokenizer) throw invalidRequest('this model has no tokenizer: send token ids to /v1/completions', 'tokenizer_missing');
  return engine.tokenizer;
}

/** Runs the generation and answers it (JSON or SSE). Errors before the stream starts are thrown (the error handler answers them). */
export async function streamGeneration(ctx: ServerContext, req: FastifyRequest, reply: FastifyReply, job: GenerationResponse): Promise<void> {
  const flight = new InFlight(req.raw, reply.raw, ctx.options.requestTimeoutMs, ctx.inflight);
  try {
    const gen = new GenerationRequest(job.engine, ctx.admission, ctx.metrics, flight, job.spec, ctx.options.contextLength);
    await gen.admit();
    try {
      if (!job.stream) {
        const outcome = await gen.run(() => undefined);
        if (flight.reason !== null) throw flight.error();
        await reply.code(200).send(job.whole(outcome));
        return;
      }
      reply.hijack();
      const sse = new SseWriter(reply.raw);
      try {
        for (const c of job.chunks.first()) await sse.send(c);
        const outcome = await gen.run(async (i, piece) => {
          const c = job.chunks.piece(i, piece.text, piece.logprobs);
          if (c !== null && !sse.closed) await sse.send(c);
        });
        if (flight.reason !== null) throw flight.error();
        const results = outcome.perPrompt.flat();
        for (let i = 0; i < results.length; i++) for (const c of job.chunks.last(i, results[i])) await sse.send(c);
        if (job.includeUsage) await sse.send(job.chunks.usage(outcome));
        await sse.done();
      } catch (err) {
        if (!sse.closed) {
          await sse.send(toApiError(err).body());
          await sse.done();
        }
      }
    } finally {
      gen.finish();
    }
  } finally {
    flight.finish();
    ctx.metrics.requestDuration.observe((performance.now() - flight.startedAt) / 1000);
  }
}
