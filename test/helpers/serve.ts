/**
 * Test helper: a real server on 127.0.0.1 (a free port) over the dense golden
 * fixture, raw HTTP helpers, /metrics reading, and a scripted engine whose
 * replies are fixed text (for tool calls and timeouts, which a random-weight
 * model cannot be made to produce).
 */
import { GenerationStream } from '../../lib/generate/generate';
import type { ChatOptions, CompletionResult, GenerationPiece } from '../../lib/generate/types';
import { loadModel, type LoadModelOptions } from '../../lib/load-model';
import type { Model } from '../../lib/model';
import type { ServingEngine } from '../../lib/server/engine';
import type { ServerOptions } from '../../lib/server/options';
import { createServer, type HybridLMServer } from '../../lib/server/server';
import { fixtureGguf } from './fixtures';

/** The fixture model (one thread: tests share 2 cores); `engine` options (memoryBudget, prefixCache, …) pass through to loadModel. */
export function loadTestModel(engine: Record<string, unknown> = {}): Promise<Model> {
  return loadModel(fixtureGguf('granite-h-tiny-dense'), { threads: 1, ...engine } as LoadModelOptions);
}

export interface RunningServer {
  url: string;
  server: HybridLMServer;
  close(): Promise<void>;
}

/** Starts a server over `engine` on 127.0.0.1:0. */
export async function startServer(engine: ServingEngine | Promise<ServingEngine>, options: ServerOptions = {}): Promise<RunningServer> {
  const server = createServer(engine, { modelName: 'tiny', ...options });
  const url = await server.listen({ host: '127.0.0.1', port: 0 });
  return { url, server, close: () => server.drain() };
}

/** A raw HTTP call: status, headers and the parsed JSON body (or the text when it is not JSON). */
export async function http(
  url: string,
  init: { method?: string; body?: unknown; raw?: string; headers?: Record<string, string> } = {},
): Promise<{ status: number; headers: Headers; json: any; text: string }> {
  const body = init.raw ?? (init.body === undefined ? undefined : JSON.stringify(init.body));
  const res = await fetch(url, {
    method: init.method ?? (body === undefined ? 'GET' : 'POST'),
    headers: { ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...init.headers },
    body,
  });
  const text = await res.text();
  let json: any = null;
  try {
    json = JSON.parse(text);
  } catch {
    // not JSON (metrics, SSE)
  }
  return { status: res.status, headers: res.headers, json, text };
}

/** One sample of a /metrics series (labels as written, e.g. '{kind="weights"}'), or undefined. */
export async function metric(url: string, name: string, headers: Record<string, string> = {}): Promise<number | undefined> {
  const { text } = await http(`${url}/metrics`, { headers });
  for (const line of text.split('\n')) {
    if (line.startsWith(`${name} `)) return Number(line.slice(name.length + 1));
  }
  return undefined;
}

/** Polls `read` until `done(value)` (at most `tries` times, 20 ms apart); returns the last value. */
export async function waitFor<T>(read: () => Promise<T>, done: (v: T) => boolean, tries = 250): Promise<T> {
  let v = await read();
  for (let i = 0; i < tries && !done(v); i++) {
    await new Promise((r) => setTimeout(r, 20));
    v = await read();
  }
  return v;
}

/**
 * An engine over `model` (its tokenizer, sequences, memory) whose generate()
 * replies with `reply(prompt)` as text, one token per piece; 'hang' waits for
 * the abort signal (a request that never finishes by itself).
 */
export function scriptedEngine(model: Model, reply: (prompt: readonly number[]) => string | 'hang'): ServingEngine {
  const tok = model.tokenizer;
  return {
    config: model.config,
    files: model.files,
    hasTokenizer: true,
    tokenizer: tok,
    get isDisposed() {
      return model.isDisposed;
    },
    createSequence: () => model.createSequence(),
    memory: () => model.memory(),
    dispose: () => model.dispose(),
    generate(prompt: readonly number[], options: ChatOptions): GenerationStream {
      const script = reply(prompt);
      const tokens: number[] = [];
      let finish: CompletionResult['finishReason'] = 'stop';
      const result = (): CompletionResult => ({
        text: tok.decode(tokens),
        tokens: [...tokens],
        finishReason: finish,
        usage: { promptTokens: prompt.length, cachedPromptTokens: 0, completionTokens: tokens.length, totalTokens: prompt.length + tokens.length } as CompletionResult['usage'],
        timings: { prefillMs: 0, decodeMs: 0, prefillTokensPerSecond: 0, decodeTokensPerSecond: 0 },
      });
      async function* source(): AsyncGenerator<GenerationPiece, CompletionResult> {
        if (script === 'hang') {
          await new Promise<void>((resolve) => {
            if (options.signal?.aborted) resolve();
            options.signal?.addEventListener('abort', () => resolve(), { once: true });
          });
          finish = 'abort';
          return result();
        }
        for (const id of tok.encode(script)) {
          if (options.signal?.aborted) {
            finish = 'abort';
            break;
          }
          tokens.push(id);
          yield { text: tok.decode([id]), tokens: [id] };
        }
        return result();
      }
      return new GenerationStream(source(), (r) => r ?? result());
    },
  };
}
