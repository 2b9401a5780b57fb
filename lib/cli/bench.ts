/**
 * `hybridlm bench [MODEL]`: load time, prefill tokens/s over 512 tokens,
 * decode tokens/s over 64 steps, `model.memory()` and peak RSS. With no
 * model it writes a random-weight GGUF with the real shapes of a released
 * Granite 4.0-H model (default h-350m) to a temporary file first — the thing
 * to run right after install, no download needed.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as nodePath from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import { MODEL_SHAPES, TEST_TINY_SHAPE, type ModelShape } from '../synthetic/shapes';
import { writeSyntheticGguf } from '../synthetic/synthetic-model';
import type { TensorDType } from '../tensor';
import { addLoadOptions, formatBytes, intArg, openModel, writeOut } from './common';

const SHAPES: Readonly<Record<string, ModelShape>> = { ...MODEL_SHAPES, [TEST_TINY_SHAPE.name]: TEST_TINY_SHAPE };
const DTYPES: readonly TensorDType[] = ['f32', 'f16', 'q8_0'];

/** Peak resident set size of this process in bytes. */
function peakRss(): number {
  return process.resourceUsage().maxRSS * 1024;
}

/** The `bench` command. */
export function benchCommand(): Command {
  const cmd = new Command('bench')
    .description('prefill/decode speed and memory of a model, or of a synthetic model of a real shape')
    .argument('[model]', "a .gguf file, a Hugging Face directory or 'embedded' (default: a synthetic model of --shape)")
    .option('-m, --model <model>', "the model (same as the argument); 'embedded' is the small model shipped in the package")
    .option('--shape <name>', `synthetic shape: ${Object.keys(SHAPES).join(', ')}`, 'h-350m')
    .option('--dtype <dtype>', `synthetic weight type: ${DTYPES.join(', ')}`, 'f16')
    .option('--layers <n>', 'synthetic: keep only the first n layers', intArg(1))
    .option('--prefill <n>', 'prompt tokens to prefill', intArg(1), 512)
    .option('--decode <n>', 'tokens to decode one by one', intArg(1), 64)
    .option('--keep <file>', 'synthetic: write the model to this file and keep it')
    .option('--json', 'print JSON');
  addLoadOptions(cmd);
  return cmd.action(async (modelArg: string | undefined, o: Record<string, unknown>) => {
    const userModel = modelArg ?? (o.model as string | undefined);
    let path = userModel;
    let synthesisMs = 0;
    let temp: string | null = null;
    const shape = SHAPES[o.shape as string];
    if (!path) {
      if (!shape) throw new InvalidArgumentError(`unknown --shape '${String(o.shape)}'; one of ${Object.keys(SHAPES).join(', ')}`);
      const dtype = o.dtype as TensorDType;
      if (!DTYPES.includes(dtype)) throw new InvalidArgumentError(`--dtype must be one of ${DTYPES.join(', ')}, got '${String(dtype)}'`);
      if (typeof o.keep === 'string') path = o.keep;
      else {
        temp = fs.mkdtempSync(nodePath.join(os.tmpdir(), 'hybridlm-bench-'));
        path = nodePath.join(temp, `${shape.name}-${dtype}.gguf`);
      }
      const t = performance.now();
      if (process.stderr.isTTY) process.stderr.write(`writing a synthetic ${shape.name} (${dtype}) to ${path}...\n`);
      writeSyntheticGguf(path, shape, { dtype, layers: o.layers as number | undefined });
      synthesisMs = performance.now() - t;
    }
    try {
      const t0 = performance.now();
      const model = await openModel(path, o);
      const loadMs = performance.now() - t0;
      try {
        const V = model.config.vocab_size;
        const nPrefill = o.prefill as number;
        const nDecode = o.decode as number;
        const prompt = Array.from({ length: nPrefill }, (_, i) => (i * 7919 + 13) % V);
        const seq = model.createSequence();
        const tp = performance.now();
        await seq.eval(prompt);
        const prefillMs = performance.now() - tp;
        const td = performance.now();
        for (let i = 0; i < nDecode; i++) await seq.eval([(i * 31 + 7) % V]);
        const decodeMs = performance.now() - td;
        const memory = model.memory();
        seq.dispose();
        const report = {
          model: userModel ?? `synthetic ${shape.name} ${String(o.dtype)}${o.layers ? `, ${String(o.layers)} layers` : ''}`,
          device: model.device,
          layers: model.config.num_hidden_layers,
          synthesisMs,
          loadMs,
          prefill: { tokens: nPrefill, ms: prefillMs, tokensPerSecond: (nPrefill * 1000) / prefillMs },
          decode: { tokens: nDecode, ms: decodeMs, tokensPerSecond: (nDecode * 1000) / decodeMs },
          memory,
          peakRssBytes: peakRss(),
          cpu: os.cpus()[0]?.model ?? 'unknown',
        };
        if (o.json) {
          await writeOut(JSON.stringify(report, null, 2) + '\n');
          return;
        }
        const row = (k: string, v: string) => `| ${k.padEnd(18)} | ${v.padStart(18)} |`;
        await writeOut(
          [
            `hybridlm bench: ${report.model} on ${report.device} (${report.cpu})`,
            ...(synthesisMs > 0 ? [row('write synthetic', `${(synthesisMs / 1000).toFixed(1)} s`)] : []),
            row('load', `${loadMs.toFixed(0)} ms`),
            row(`prefill ${nPrefill}`, `${report.prefill.tokensPerSecond.toFixed(1)} tok/s`),
            row(`decode ${nDecode}`, `${report.decode.tokensPerSecond.toFixed(1)} tok/s`),
            row('weights', formatBytes(memory.weights)),
            row('recurrent / seq', formatBytes(memory.recurrentBytesPerSequence)),
            row(`KV after ${nPrefill + nDecode}`, formatBytes(memory.kvCache)),
            row('peak RSS', formatBytes(report.peakRssBytes)),
          ].join('\n') + '\n',
        );
      } finally {
        await model.dispose();
      }
    } finally {
      if (temp) fs.rmSync(temp, { recursive: true, force: true });
    }
  });
}
