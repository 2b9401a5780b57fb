/**
 * Runs the choices of one prompt on the engine. One choice generates on a
 * fresh sequence (the engine restores the longest cached prefix); n > 1
 * starts from the cached prefix too, prefills the rest of the prompt once,
 * forks the state n - 1 times (copy-on-write KV pages: O(state)) and samples
 * each fork with its own seed (seed + index), so choices differ but stay
 * reproducible. Every
 * sequence made here is disposed before the promise settles, whatever
 * happened (abort, error, end).
 */
import type { ChatOptions, CompletionResult, GenerationPiece } from '../generate/types';
import type { EvalOptions, Sequence } from '../sequence';
import type { ServingEngine } from './engine';

/** What one prompt's choices run with. */
export interface ChoicesJob {
  prompt: readonly number[];
  n: number;
  /** Generation options (maxTokens set); `signal` stops every choice within one step. */
  options: ChatOptions & { signal: AbortSignal };
  /** Each piece of choice `index` as it is made; awaited, so a slow consumer slows only its request. */
  onPiece: (index: number, piece: GenerationPiece) => void | Promise<void>;
}

/** The outcome of one prompt's choices. */
export interface ChoicesResult {
  results: CompletionResult[];
  /** Prompt tokens the engine restored from its prefix cache instead of computing. */
  cachedTokens: number;
}

async function drive(stream: AsyncIterable<GenerationPiece> & { result: Promise<CompletionResult> }, index: number, job: ChoicesJob): Promise<CompletionResult> {
  for await (const piece of stream) await job.onPiece(index, piece);
  return stream.result;
}

/** Runs every choice to its end; when one fails the others are aborted, and the first failure is rethrown once all have settled. */
export async function allOrAbort<T>(runs: Array<(signal: AbortSignal) => Promise<T>>, outer: AbortSignal): Promise<T[]> {
  const inner = new AbortController();
  const signal = AbortSignal.any([outer, inner.signal]);
  const settled = await Promise.allSettled(
    runs.map(async (run) => {
      try {
        return await run(signal);
      } catch (err) {
        inner.abort(err);
        throw err;
      }
    }),
  );
  const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failed) throw failed.reason;
  return settled.map((s) => (s as PromiseFulfilledResult<T>).value);
}

/** Runs `job.n` choices over `job.prompt`. */
export async function runChoices(engine: ServingEngine, job: ChoicesJob): Promise<ChoicesResult> {
  const { signal } = job.options;
  if (job.n === 1) {
    const r = await drive(engine.generate(job.prompt, job.options), 0, job);
    return { results: [r], cachedTokens: cachedOf(r) };
  }
  const seqs: Sequence[] = [];
  try {
    // The prompt but its last token goes into one sequence (from the prefix cache where it can), then forks.
    const { seq: base, restored } = engine.sequenceForPrompt
      ? await engine.sequenceForPrompt(job.prompt)
      : { seq: engine.createSequence(), restored: 0 };
    seqs.push(base);
    const head = job.prompt.slice(restored, -1);
    const last = job.prompt.slice(-1);
    // Engines with atomic evals stop a prefill between chunks on abort.
    const evalOptions: EvalOptions & { signal?: AbortSignal } = { signal };
    if (head.length > 0) await base.eval(head, evalOptions);
    signal.throwIfAborted();
    for (let i = 1; i < job.n; i++) seqs.push(await base.fork());
    const seed = job.options.seed;
    const runs = seqs.map((seq, i) => (choiceSignal: AbortSignal) => {
      const options: ChatOptions = { ...job.options, signal: choiceSignal, sequence: seq };
      // The generator takes its seed mod 2^32; this keeps seed + i an integer for any seed.
      if (seed !== undefined) options.seed = ((seed >>> 0) + i) >>> 0;
      return drive(engine.generate(last, options), i, job);
    });
    return { results: await allOrAbort(runs, signal), cachedTokens: restored };
  } finally {
    for (const s of seqs) s.dispose();
  }
}

/** Prompt tokens the engine restored from its prefix cache (0 for engines without one). */
function cachedOf(r: CompletionResult): number {
  const cached = (r.usage as { cachedPromptTokens?: number }).cachedPromptTokens;
  return typeof cached === 'number' ? cached : 0;
}
