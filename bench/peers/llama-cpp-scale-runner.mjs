// bench/peers/llama-cpp-scale-runner.mjs: node-llama-cpp (ESM-only, installed
// by the bench into its own folder, never a package dependency) under the
// scale benchmark's load: for each cell {context, seqs} one context with
// `seqs` sequences of `context` tokens each (llama.cpp allocates that whole
// KV cache up front), its bytes held (the KV + recurrent buffers llama.cpp
// reports allocating, process RSS), then —
// when prefilling seqs × context tokens fits the cell's time budget at the
// prefill rate measured on the first cell — every sequence prefilled and
// `steps` decode steps with all sequences evaluated together (node-llama-cpp
// batches evaluations issued in the same tick into one llama_decode).
// argv: JSON {peersDir, gguf, threads, vocab, cells: [{context, seqs}], steps, cellBudgetS, deadlineMs}
// Prints one JSON line per cell: {context, seqs, status, stateBytes, rss, decodeTokS, steps, prefillTokS}.
import { createRequire } from 'module';
import * as path from 'path';
import { pathToFileURL } from 'url';

const args = JSON.parse(process.argv[2]);
const require = createRequire(path.join(args.peersDir, 'package.json'));
const { getLlama } = await import(pathToFileURL(require.resolve('node-llama-cpp')).href);

// llama.cpp logs what each context allocates ("llama_kv_cache: size = … MiB",
// "llama_memory_recurrent: size = … MiB"): the state + KV it holds for the load.
let stateMiB = 0;
const llama = await getLlama({
  gpu: false,
  build: 'never',
  logLevel: 'info',
  logger: (_level, message) => {
    const m = /^(llama_kv_cache|llama_memory_recurrent): size =\s*([\d.]+) MiB/.exec(message.trim());
    if (m) stateMiB += Number(m[2]);
  },
});
const model = await llama.loadModel({ modelPath: args.gguf, gpuLayers: 0 });
const ids = (n, seed) => Array.from({ length: n }, (_, i) => (i * 7919 + seed) % args.vocab);
let prefillRate = 0; // tokens/s, measured on the first prefill

for (const cell of args.cells) {
  const out = { context: cell.context, seqs: cell.seqs };
  if (Date.now() > args.deadlineMs) {
    process.stdout.write(JSON.stringify({ ...out, status: 'skipped (time: runtime budget spent)' }) + '\n');
    continue;
  }
  let context;
  stateMiB = 0;
  try {
    context = await model.createContext({
      contextSize: cell.context + args.steps + 8,
      sequences: cell.seqs,
      batchSize: 512,
      threads: args.threads,
      ignoreMemorySafetyChecks: true,
      failedCreationRemedy: false,
    });
  } catch (err) {
    process.stdout.write(JSON.stringify({ ...out, status: `failed: ${String(err.message).split('\n')[0]}` }) + '\n');
    continue;
  }
  out.stateBytes = stateMiB * 2 ** 20;
  out.rss = process.memoryUsage().rss;
  const seqs = Array.from({ length: cell.seqs }, () => context.getSequence());
  const wantPrefill = cell.context * cell.seqs;
  const affordable = prefillRate === 0 ? cell.context <= 4096 && cell.seqs === 1 : wantPrefill / prefillRate <= args.cellBudgetS;
  if (!affordable) {
    out.status = prefillRate === 0
      ? `memory only (prefill ${wantPrefill} tokens: no prefill rate measured yet)`
      : `memory only (prefill ${wantPrefill} tokens > ${args.cellBudgetS} s at ${prefillRate.toFixed(0)} tok/s)`;
  } else {
    // yieldEogToken: random weights may pick the EOS id; the run must not stop there.
    const its = seqs.map((s, i) => s.evaluate(ids(cell.context, 1 + i), { temperature: 0, yieldEogToken: true }));
    let t = performance.now();
    for (const it of its) await it.next();
    const prefillS = (performance.now() - t) / 1000;
    if (prefillRate === 0) prefillRate = wantPrefill / prefillS;
    out.prefillTokS = wantPrefill / prefillS;
    await Promise.all(its.map((it) => it.next(7))); // warm-up step (untimed)
    t = performance.now();
    let steps = 0;
    const budgetEnd = t + args.cellBudgetS * 1000;
    while (steps < args.steps && (steps === 0 || performance.now() < budgetEnd)) {
      await Promise.all(its.map((it) => it.next((steps * 31) % args.vocab)));
      steps++;
    }
    const s = (performance.now() - t) / 1000;
    out.steps = steps;
    out.decodeTokS = (steps * cell.seqs) / s;
    out.rss = Math.max(out.rss, process.memoryUsage().rss);
    out.status = 'ok';
    for (const it of its) await it.return();
  }
  for (const s of seqs) s.dispose();
  await context.dispose();
  process.stdout.write(JSON.stringify(out) + '\n');
}
await model.dispose();
process.exit(0);
