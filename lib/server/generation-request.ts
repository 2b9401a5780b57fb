/**
 * One request's generation, from admission to the last token: checks that
 * it can ever fit (context, sequences, memory budget: 400 at once if not),
 * waits for sequence slots (429 when the queue is full), runs every prompt's
 * choices, and feeds the token counters and latency histograms.
 */
import type { ChatOptions, CompletionResult, GenerationPiece } from '../generate/types';
import type { Admission, Release } from './admission';
import { invalidRequest } from './api-error';
import type { ModelMemory } from '../model';
import type { ServingEngine } from './engine';
import type { InFlight } from './in-flight';
import type { ServerMetrics } from './metrics';
import { allOrAbort, runChoices } from './run-choices';

/** What the request runs: prompts (token ids), choices per prompt, and generation options. */
export interface GenerationSpec {
  prompts: number[][];
  n: number;
  /** Requested max tokens (undefined: up to the context length). */
  maxTokens: number | undefined;
  options: ChatOptions;
  /** Field to name when the prompt is too long ('messages' or 'prompt'). */
  promptField: string;
  /** Field to name when max_tokens is too large. */
  maxTokensField: string;
}

/** Results per prompt (each with its n choices, in order). */
export interface GenerationOutcome {
  perPrompt: CompletionResult[][];
  promptTokens: number;
  cachedTokens: number;
  completionTokens: number;
}

/** Bytes the request's state may take at most: n forks sharing the prompt's KV pages. */
function bytesNeeded(m: ModelMemory, promptTokens: number, maxTokens: number, n: number): number {
  const pages = (t: number) => (m.kvPageTokens > 0 ? Math.ceil(t / m.kvPageTokens) : 0);
  return n * m.recurrentBytesPerSequence + (pages(promptTokens) + n * (pages(maxTokens) + 1)) * m.kvPageBytes;
}

export class GenerationRequest {
  private release: Release | null = null;
  private readonly maxTokens: number[];

  /** Throws a 400 ApiError when the request can never be served here. */
  constructor(
    private readonly engine: ServingEngine,
    private readonly admission: Admission,
    private readonly metrics: ServerMetrics,
    private readonly flight: InFlight,
    private readonly spec: GenerationSpec,
    contextLength: number,
  ) {
    const slots = spec.prompts.length * spec.n;
    if (slots > admission.capacity) {
      throw invalidRequest(
        `this request needs ${slots} sequences (${spec.prompts.length} prompt(s) x n=${spec.n}); the server runs at most ${admission.capacity} at once`,
        'request_too_large',
        'n',
      );
    }
    const memory = engine.memory();
    this.maxTokens = spec.prompts.map((p) => {
      if (p.length === 0) throw invalidRequest(`${spec.promptField} encodes to no tokens`, 'invalid_value', spec.promptField);
      if (p.length >= contextLength) {
        throw invalidRequest(
          `the prompt is ${p.length} tokens; this server's context length is ${contextLength} (prompt + completion)`,
          'context_length_exceeded',
          spec.promptField,
        );
      }
      const max = spec.maxTokens ?? contextLength - p.length;
      if (p.length + max > contextLength) {
        throw invalidRequest(
          `${spec.maxTokensField} = ${max} with a ${p.length}-token prompt passes the context length ${contextLength}; ask for at most ${contextLength - p.length}`,
          'context_length_exceeded',
          spec.maxTokensField,
        );
      }
      // Against the whole budget less what never goes away (weights, step scratch): more than that can never fit.
      const need = bytesNeeded(memory, p.length, max, spec.n);
      const room = memory.budget - memory.weights - memory.scratch;
      if (need > room) {
        throw invalidRequest(
          `this request needs up to ${need} bytes of state (${spec.n} sequence(s), ${p.length} + ${max} tokens); the memory budget leaves ${room} bytes beside the weights`,
          'request_too_large',
          spec.maxTokensField,
        );
      }
      return max;
    });
  }

  /** Waits for sequence slots (429 ApiError when the queue is full; the cancel error when cancelled while waiting). */
  async admit(): Promise<void> {
    this.release = await this.admission.acquire(this.spec.prompts.length * this.spec.n, this.flight.signal);
    if (this.flight.signal.aborted) this.finish();
    this.flight.signal.throwIfAborted();
  }

  /** Runs every choice; `onPiece(choice, piece)` sees choice index = prompt index * n + choice. */
  async run(onPiece: (choice: number, piece: GenerationPiece) => void | Promise<void>): Promise<GenerationOutcome> {
    const { n, prompts } = this.spec;
    const lastTokenAt = new Map<number, number>();
    const observe = (choice: number, piece: GenerationPiece) => {
      const count = piece.tokens.length;
      if (count === 0) return;
      const now = performance.now();
      const last = lastTokenAt.get(choice);
      if (last === undefined) {
        this.metrics.timeToFirstToken.observe((now - this.flight.startedAt) / 1000);
        if (count > 1) for (let i = 1; i < count; i++) this.metrics.interTokenLatency.observe(0);
      } else {
        const gap = (now - last) / 1000 / count;
        for (let i = 0; i < count; i++) this.metrics.interTokenLatency.observe(gap);
      }
      lastTokenAt.set(choice, now);
      this.metrics.generationTokens.inc(count);
    };
    const runs = prompts.map((prompt, p) => (signal: AbortSignal) =>
      runChoices(this.engine, {
        prompt,
        n,
        options: { ...this.spec.options, maxTokens: this.maxTokens[p], signal },
        onPiece: (i, piece) => {
          const choice = p * n + i;
          observe(choice, piece);
          return onPiece(choice, piece);
        },
      }),
    );
    const done = await allOrAbort(runs, this.flight.signal);
    const promptTokens = prompts.reduce((a, p) => a + p.length, 0);
    const cachedTokens = done.reduce((a, d) => a + d.cachedTokens, 0);
    const perPrompt = done.map((d) => d.results);
    const completionTokens = perPrompt.flat().reduce((a, r) => a + r.usage.completionTokens, 0);
    this.metrics.promptTokens.inc(promptTokens);
    this.metrics.cachedPromptTokens.inc(cachedTokens);
    return { perPrompt, promptTokens, cachedTokens, completionTokens };
  }

  /** Frees the slots (idempotent). */
  finish(): void {
    this.release?.();
    this.release = null;
  }
}
