/**
 * End-to-end prefill/decode throughput of hybridlm on synthetic models with
 * real Granite 4.0-H shapes. Prints a table; no assertions.
 *   npx ts-node bench/e2e-synthetic.ts [shape=h-350m] [dtype=f16] [threads=2]
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { loadModel } from '../lib';
import { MODEL_SHAPES } from '../lib/synthetic/shapes';
import { writeSyntheticGguf } from '../lib/synthetic/synthetic-model';
import type { TensorDType } from '../lib/tensor';

async function main(): Promise<void> {
  const [shapeName = 'h-350m', dtype = 'f16', threadsArg = '2'] = process.argv.slice(2);
  const shape = MODEL_SHAPES[shapeName];
  if (!shape) throw new Error(`unknown shape ${shapeName}; one of ${Object.keys(MODEL_SHAPES).join(', ')}`);
  const threads = Number(threadsArg);
  const file = path.join(os.tmpdir(), `hybridlm-bench-${shapeName}-${dtype}.gguf`);
  if (!fs.existsSync(file)) {
    const t0 = Date.now();
    writeSyntheticGguf(file, shape, { dtype: dtype as TensorDType });
    console.error(`wrote ${file} in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  }
  const t0 = performance.now();
  const model = await loadModel(file, { threads });
  const loadMs = performance.now() - t0;
  const V = model.config.vocab_size;
  const tokens = (n: number, seed: number) => Array.from({ length: n }, (_, i) => (i * 7919 + seed) % V);
  const rows: Array<[string, string]> = [['load', `${loadMs.toFixed(0)} ms`]];
  for (const n of [512]) {
    const seq = model.createSequence();
    const t = performance.now();
    await seq.eval(tokens(n, 1));
    const s = (performance.now() - t) / 1000;
    rows.push([`prefill ${n}`, `${(n / s).toFixed(1)} tok/s`]);
    const steps = 32;
    const td = performance.now();
    for (let i = 0; i < steps; i++) await seq.eval([(i * 31) % V]);
    const sd = (performance.now() - td) / 1000;
    rows.push([`decode @${n}`, `${(steps / sd).toFixed(1)} tok/s`]);
    seq.dispose();
  }
  const m = model.memory();
  rows.push(['weights', `${(m.weights / 2 ** 20).toFixed(0)} MiB`]);
  rows.push(['state / seq', `${(m.recurrentBytesPerSequence / 2 ** 20).toFixed(1)} MiB`]);
  rows.push(['peak RSS', `${(process.memoryUsage().rss / 2 ** 20).toFixed(0)} MiB`]);
  console.log(`\nhybridlm ${shapeName} ${dtype}, ${threads} threads, ${os.cpus()[0].model}`);
  for (const [k, v] of rows) console.log(`| ${k.padEnd(14)} | ${v.padStart(14)} |`);
  await model.dispose();
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
