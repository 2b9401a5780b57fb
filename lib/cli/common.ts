/**
 * What the `hybridlm` commands share: loading a model with a progress bar
 * (stderr, TTY only), option parsing with clear messages, reading a prompt
 * from arguments or stdin, and byte formatting.
 */
import { SingleBar } from 'cli-progress';
import { InvalidArgumentError, type Command } from 'commander';
import { loadModel } from '../load-model';
import type { Model } from '../model';
import type { GenerateOptions } from '../generate/types';

/** Options every model-loading command takes. */
export interface LoadFlags {
  device?: 'auto' | 'cpu' | 'cuda';
  threads?: number;
  kvCacheType?: 'f16' | 'f32' | 'q8_0';
}

/** commander parser: an integer >= min. */
export function intArg(min: number): (value: string) => number {
  return (value: string) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min) throw new InvalidArgumentError(`expected an integer >= ${min}, got '${value}'`);
    return n;
  };
}

/** commander parser: a finite number. */
export function numArg(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n)) throw new InvalidArgumentError(`expected a number, got '${value}'`);
  return n;
}

/** commander parser: collects a repeatable option into an array. */
export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/** Adds --device and --threads. */
export function addLoadOptions(cmd: Command): Command {
  return cmd
    .option('--device <device>', "device: 'auto', 'cpu' or 'cuda'", 'auto')
    .option('-t, --threads <n>', 'compute threads (default: all cores)', intArg(1))
    .option('--kv-cache-type <type>', "KV cache element type: 'f16' (default), 'f32' or 'q8_0'");
}

/** Adds the sampling and stopping options of run / chat. */
export function addSamplingOptions(cmd: Command): Command {
  return cmd
    .option('-n, --max-tokens <n>', 'most tokens to generate', intArg(1), 256)
    .option('--temperature <t>', 'sampling temperature (0 = greedy)', numArg, 0)
    .option('--top-k <k>', 'keep the k most likely tokens (0 = all)', intArg(0))
    .option('--top-p <p>', 'nucleus sampling threshold', numArg)
    .option('--min-p <p>', 'drop tokens below p x the most likely', numArg)
    .option('--repeat-penalty <x>', 'repetition penalty (1 = off)', numArg)
    .option('--presence-penalty <x>', 'presence penalty', numArg)
    .option('--frequency-penalty <x>', 'frequency penalty', numArg)
    .option('--seed <n>', 'sampling seed', intArg(0))
    .option('--stop <text>', 'stop string (repeatable)', collect)
    .option('--ignore-eos', 'keep generating past the end-of-text token');
}

/** GenerateOptions from the parsed flags of {@link addSamplingOptions}. */
export function generateOptionsOf(o: Record<string, unknown>): GenerateOptions {
  const out: GenerateOptions = {
    maxTokens: o.maxTokens as number,
    temperature: o.temperature as number,
    topK: o.topK as number | undefined,
    topP: o.topP as number | undefined,
    minP: o.minP as number | undefined,
    repeatPenalty: o.repeatPenalty as number | undefined,
    presencePenalty: o.presencePenalty as number | undefined,
    frequencyPenalty: o.frequencyPenalty as number | undefined,
    seed: o.seed as number | undefined,
    stop: o.stop as string[] | undefined,
    ignoreEos: o.ignoreEos === true,
  };
  for (const k of Object.keys(out) as Array<keyof GenerateOptions>) if (out[k] === undefined) delete out[k];
  return out;
}

/** Loads a model, with a progress bar on stderr when it is a terminal. */
export async function openModel(path: string, flags: LoadFlags): Promise<Model> {
  const device = flags.device ?? 'auto';
  if (device !== 'auto' && device !== 'cpu' && device !== 'cuda') {
    throw new InvalidArgumentError(`--device must be 'auto', 'cpu' or 'cuda', got '${String(device)}'`);
  }
  const bar = process.stderr.isTTY
    ? new SingleBar({ stream: process.stderr, format: 'loading {bar} {percentage}% {phase}', hideCursor: true, clearOnComplete: true })
    : null;
  bar?.start(100, 0, { phase: 'validate' });
  try {
    return await loadModel(path, {
      device,
      threads: flags.threads,
      kvCacheType: flags.kvCacheType,
      onProgress: (p) => bar?.update(Math.round(p.fraction * 100), { phase: p.phase }),
    });
  } finally {
    bar?.stop();
  }
}

/** The prompt: the joined arguments, or all of stdin when there are none or the only one is '-'. */
export async function promptText(args: readonly string[]): Promise<string> {
  if (args.length > 0 && !(args.length === 1 && args[0] === '-')) return args.join(' ');
  if (process.stdin.isTTY) throw new InvalidArgumentError('no prompt given (pass it as an argument or pipe it on stdin)');
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** 1536 -> '1.5 KiB'. */
export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${u === 0 ? v : v.toFixed(1)} ${units[u]}`;
}

/** Writes a line to stdout and waits for it to drain (so piped output is complete before exit). */
export function writeOut(text: string): Promise<void> {
  return new Promise((resolve, reject) => process.stdout.write(text, (err) => (err ? reject(err) : resolve())));
}
