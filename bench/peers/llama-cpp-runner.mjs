// bench/peers/llama-cpp-runner.mjs: drives node-llama-cpp (ESM-only, installed
// by bench/e2e-synthetic.ts into its own folder, never a package dependency)
// in a child process, on the same GGUF and the same token ids as hybridlm.
// argv: JSON {peersDir, build: 'prebuilt'|'lastBuild', gguf, threads, plan}
// plan: [{prefill: n, decode: steps}] — each item starts a fresh sequence,
// evaluates n prompt ids (timed: prompt + the last position's logits), then
// feeds `steps` fixed ids one at a time through sequence.evaluate (timed).
// Prints one JSON line: {ok, results: [{prefill, prefillS, decode, decodeS}], info}.
import { createRequire } from 'module';
import * as path from 'path';
import { pathToFileURL } from 'url';

const args = JSON.parse(process.argv[2]);
const require = createRequire(path.join(args.peersDir, 'package.json'));
const { getLlama } = await import(pathToFileURL(require.resolve('node-llama-cpp')).href);

const llama = args.build === 'lastBuild'
  ? await getLlama('lastBuild', { logLevel: 'error' })
  : await getLlama({ gpu: false, build: 'never', logLevel: 'error' });
const model = await llama.loadModel({ modelPath: args.gguf, gpuLayers: 0 });
const maxCtx = Math.max(...args.plan.map((p) => p.prefill + p.decode)) + 8;
const context = await model.createContext({ contextSize: maxCtx, batchSize: 512, threads: args.threads, sequences: 1 });
const vocab = args.vocab;
const ids = (n, seed) => Array.from({ length: n }, (_, i) => (i * 7919 + seed) % vocab);
const results = [];
{ // warm-up (untimed): page in the mapped weights, first-call allocations
  const seq = context.getSequence();
  const it = seq.evaluate(ids(32, 3), { temperature: 0, yieldEogToken: true });
  await it.next();
  await it.next(7);
  await it.return();
  seq.dispose();
}
for (const item of args.plan) {
  const seq = context.getSequence();
  // yieldEogToken: random weights may pick the EOS id; the run must not stop there.
  const it = seq.evaluate(ids(item.prefill, 1), { temperature: 0, yieldEogToken: true });
  let t = performance.now();
  await it.next();
  const prefillS = (performance.now() - t) / 1000;
  t = performance.now();
  for (let i = 0; i < item.decode; i++) await it.next((i * 31) % vocab);
  const decodeS = (performance.now() - t) / 1000;
  await it.return();
  seq.dispose();
  results.push({ prefill: item.prefill, prefillS, decode: item.decode, decodeS });
}
const rss = process.memoryUsage().rss;
process.stdout.write(JSON.stringify({ ok: true, results, rss, build: args.build, gpu: llama.gpu }) + '\n');
await context.dispose();
await model.dispose();
process.exit(0);
