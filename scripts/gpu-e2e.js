#!/usr/bin/env node
// scripts/gpu-e2e.js: end-to-end CUDA checks and benchmarks on synthetic
// Granite 4.0-H models (the real shapes of lib/synthetic/shapes.ts, random
// weights), run by scripts/gpu-check.sh. Plain Node over the compiled package
// (dist/, `npm run build:ts`) and the addon, so the GPU machine needs no
// TypeScript or jest. The CUDA library is the one HYBRIDLM_CUDA_LIB names.
//   node scripts/gpu-e2e.js prepare <dir>   write the synthetic models (CPU only: run it while the library builds)
//   node scripts/gpu-e2e.js check <dir> [--only=name]   CUDA vs CPU logits, prefill + decode, every model x weight type
//   node scripts/gpu-e2e.js bench <dir> [--bw=GB/s]   decode/prefill tok/s, % of the DRAM roofline, launches per token
//   node scripts/gpu-e2e.js graph <dir>   decode with HYBRIDLM_CUDA_GRAPH=1 vs off: logits, launches per step, tok/s
// Every step prints a markdown table; `check` exits 1 when a row fails.
// Models: h-350m and h-1b with all their layers, F16, also run with
// quantize-on-load Q8_0 and Q4_K (C++ quantizers: seconds, where the TS
// writer would take minutes); a small MoE (h-tiny's structure scaled down:
// 8 layers, 32 experts top-6) written as F16 and as Q4_K_M (Q4_K + Q6_K mix).
// Tolerance: max |cuda - cpu| / max |cpu| <= 1e-3 for F16 / F32 (the CUDA
// target); quantized weights run Q8-quantized activations on both sides, where
// one rounding flip moves a logit by a step, so 1e-2 there (the number is printed either way).
'use strict';
const fs = require('fs');
const path = require('path');

const root = path.resolve(__dirname, '..');
const statsFile = path.join(require('os').tmpdir(), `hybridlm-cuda-stats-${process.pid}.jsonl`);
process.env.HYBRIDLM_CUDA_STATS = statsFile; // read by the CUDA backend when a model is created

function lib() {
  try {
    return {
      ...require(path.join(root, 'dist')),
      ...require(path.join(root, 'dist', 'synthetic', 'shapes')),
      ...require(path.join(root, 'dist', 'synthetic', 'synthetic-model')),
    };
  } catch (e) {
    console.log(`SKIPPED: the compiled package is missing (${e.message.split('\n')[0]}); run \`npm run build:ts\``);
    process.exit(2);
  }
}

const MOE_SMALL = (shapes) => ({
  ...shapes['h-tiny'],
  name: 'moe-small',
  vocab: 32768,
  hidden: 768,
  layers: 8,
  attentionLayers: [5],
  heads: 6,
  kvHeads: 2,
  mambaHeads: 24,
  mambaHeadDim: 64,
  experts: 32,
  topK: 6,
  expertFf: 256,
  sharedFf: 512,
});

// [name, shape key, writer dtype, quantize-on-load options]
function models(shapes) {
  return [
    { file: 'h-350m-f16.gguf', shape: shapes['h-350m'], dtype: 'f16', loads: ['none', 'q8_0', 'q4_k'] },
    { file: 'h-1b-f16.gguf', shape: shapes['h-1b'], dtype: 'f16', loads: ['none', 'q8_0', 'q4_k'] },
    { file: 'moe-small-f16.gguf', shape: MOE_SMALL(shapes), dtype: 'f16', loads: ['none'] },
    { file: 'moe-small-q4_k_m.gguf', shape: MOE_SMALL(shapes), dtype: 'q4_k_m', loads: ['none'] },
  ];
}

const ids = (n, seed, V) => Array.from({ length: n }, (_, i) => (i * 7919 + seed) % V);
const secs = (t0) => (performance.now() - t0) / 1000;

function prepare(dir) {
  const L = lib();
  fs.mkdirSync(dir, { recursive: true });
  for (const m of models(L.MODEL_SHAPES)) {
    const file = path.join(dir, m.file);
    if (fs.existsSync(file)) continue;
    const t0 = performance.now();
    // HLC_E2E_LAYERS=n keeps the first n layers (a quick dry run of this script; never on a GPU run).
    const layers = Number(process.env.HLC_E2E_LAYERS) || undefined;
    L.writeSyntheticGguf(file + '.tmp', m.shape, { dtype: m.dtype, seed: 7, layers });
    fs.renameSync(file + '.tmp', file);
    console.log(`wrote ${m.file} (${(fs.statSync(file).size / 1e9).toFixed(2)} GB) in ${secs(t0).toFixed(1)} s`);
  }
}

function waitFor(file, timeoutS) {
  const t0 = performance.now();
  while (!fs.existsSync(file)) {
    if (secs(t0) > timeoutS) throw new Error(`${file} did not appear within ${timeoutS} s (prepare still running?)`);
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 500);
  }
}

function relDiff(a, b) {
  let d = 0, m = 0;
  for (let i = 0; i < b.length; i++) {
    const e = Math.abs(a[i] - b[i]);
    d = Number.isNaN(e) ? Infinity : Math.max(d, e);
    m = Math.max(m, Math.abs(b[i]));
  }
  return a.length === b.length ? d / Math.max(m, 1e-6) : Infinity;
}

// Prefill (all positions' logits), then `steps` decode steps; rows of logits.
async function run(model, prompt, steps) {
  const V = model.config.vocab_size;
  const rows = [];
  const all = await model.logits(prompt);
  for (let t = 0; t < prompt.length; t++) rows.push(all.subarray(t * V, (t + 1) * V));
  const seq = model.createSequence();
  await seq.eval(prompt);
  for (let i = 0; i < steps; i++) rows.push(await seq.eval([(i * 31 + 5) % V]));
  seq.dispose();
  return rows;
}

async function check(dir, only) {
  const L = lib();
  const list = [
    { name: 'fixture tiny-dense', file: path.join(root, 'test/fixtures/granite-h-tiny-dense/model.gguf'), loads: ['none'] },
    { name: 'fixture tiny-moe (HF)', file: path.join(root, 'test/fixtures/granite-h-tiny-moe'), loads: ['none'] },
    ...models(L.MODEL_SHAPES).map((m) => ({ name: m.file.replace('.gguf', ''), file: path.join(dir, m.file), loads: m.loads })),
  ];
  console.log('| model | weights | prefill rel | decode rel | limit | result | seconds |');
  console.log('|---|---|---|---|---|---|---|');
  let failed = 0;
  for (const m of list.filter((x) => !only || x.name.includes(only))) {
    waitFor(m.file, 300);
    for (const q of m.loads) {
      const t0 = performance.now();
      let row;
      try {
        const cpu = await L.loadModel(m.file, { device: 'cpu', quantize: q });
        const gpu = await L.loadModel(m.file, { device: 'cuda', quantize: q });
        const prompt = ids(24, 3, cpu.config.vocab_size);
        const a = await run(cpu, prompt, 4);
        const b = await run(gpu, prompt, 4);
        const pre = Math.max(...b.slice(0, 24).map((r, i) => relDiff(r, a[i])));
        const dec = Math.max(...b.slice(24).map((r, i) => relDiff(r, a[24 + i])));
        const quantized = q !== 'none' || /q4_k_m/.test(m.name);
        const limit = quantized ? 1e-2 : 1e-3;
        const ok = pre <= limit && dec <= limit;
        if (!ok) failed++;
        row = `${pre.toExponential(2)} | ${dec.toExponential(2)} | ${limit} | ${ok ? 'ok' : 'FAIL'}`;
        await cpu.dispose();
        await gpu.dispose();
      } catch (e) {
        failed++;
        row = `- | - | - | FAIL: ${e.name}: ${e.message.split('\n')[0]}`;
      }
      console.log(`| ${m.name} | ${q === 'none' ? 'as stored' : q} | ${row} | ${secs(t0).toFixed(1)} |`);
    }
  }
  console.log(failed ? `check: ${failed} FAILED` : 'check: all ok');
  return failed ? 1 : 0;
}

function readStats() {
  try {
    return fs.readFileSync(statsFile, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  } catch {
    return [];
  }
}

async function bench(dir, bw) {
  const L = lib();
  const cases = [
    ['h-1b-f16.gguf', 'none'], ['h-1b-f16.gguf', 'q8_0'], ['h-1b-f16.gguf', 'q4_k'],
    ['h-350m-f16.gguf', 'q8_0'], ['moe-small-q4_k_m.gguf', 'none'],
  ];
  console.log(`DRAM bandwidth for the roofline: ${bw ? bw + ' GB/s' : 'unknown (pass --bw)'}`);
  console.log('| model | weights | weight GB | prefill 512 tok/s | decode b=1 tok/s | % roofline | launches/token | ops/token | decode b=32 tok/s | b=32 / b=1 |');
  console.log('|---|---|---|---|---|---|---|---|---|---|');
  for (const [file, q] of cases) {
    const f = path.join(dir, file);
    waitFor(f, 300);
    let model;
    try {
      model = await L.loadModel(f, { device: 'cuda', quantize: q });
      const V = model.config.vocab_size;
      { // warm-up: weight upload, first allocations
        const s = model.createSequence();
        await s.eval(ids(16, 2, V));
        await s.eval([1]);
        s.dispose();
      }
      const seq = model.createSequence();
      let t0 = performance.now();
      await seq.eval(ids(512, 1, V));
      const prefill = 512 / secs(t0);
      const before = readStats().length;
      const steps = 48;
      t0 = performance.now();
      for (let i = 0; i < steps; i++) await seq.eval([(i * 31) % V]);
      const decode = steps / secs(t0);
      const st = readStats().slice(before);
      const per = (k) => (st.length > 1 ? (st[st.length - 1][k] - st[0][k]) / (st.length - 1) : NaN);
      const mem = model.memory();
      // Bytes a decode step reads: every weight once, the recurrent state read
      // and written, the KV cache of this context once.
      const bytes = mem.weights + 2 * mem.recurrentBytesPerSequence + mem.kvCache;
      const roof = bw ? (100 * decode * bytes) / (bw * 1e9) : NaN;
      seq.dispose();
      // Aggregate decode over 32 sequences (the scheduler batches concurrent evals).
      const seqs = Array.from({ length: 32 }, () => model.createSequence());
      await Promise.all(seqs.map((s, k) => s.eval(ids(16, k, V))));
      t0 = performance.now();
      const rounds = 12;
      for (let r = 0; r < rounds; r++) await Promise.all(seqs.map((s, k) => s.eval([(r * 7 + k) % V])));
      const agg = (32 * rounds) / secs(t0);
      seqs.forEach((s) => s.dispose());
      console.log(
        `| ${file.replace('.gguf', '')} | ${q === 'none' ? 'as stored' : q} | ${(mem.weights / 1e9).toFixed(2)} | ${prefill.toFixed(0)} | ` +
          `${decode.toFixed(1)} | ${Number.isNaN(roof) ? '-' : roof.toFixed(1) + '%'} | ${per('launches').toFixed(0)} | ` +
          `${per('ops').toFixed(0)} | ${agg.toFixed(0)} | ${(agg / decode).toFixed(1)}x |`,
      );
    } catch (e) {
      console.log(`| ${file} | ${q} | FAILED: ${e.name}: ${e.message.split('\n')[0]} |`);
    } finally {
      if (model) await model.dispose();
    }
  }
}

// Decode as CUDA graphs (HYBRIDLM_CUDA_GRAPH=1) against the same steps eager:
// one sequence (prompt, then decode steps crossing KV pages) and a batch of 8
// (prompts of different lengths; one finishes midway, the batch shrinks to 7).
// Logits must agree to 1e-4 of max |logit| (the graph's attention splits the
// keys in fixed parts, so sums may round differently); launches per decode
// step and tok/s are printed both ways.
async function graphSchedule(model) {
  const V = model.config.vocab_size;
  const rows = [];
  const one = model.createSequence();
  rows.push(await one.eval(ids(20, 4, V)));
  let t0 = performance.now();
  const steps1 = 40;
  for (let i = 0; i < steps1; i++) rows.push(await one.eval([(i * 31 + 5) % V]));
  const tps1 = steps1 / secs(t0);
  one.dispose();
  let seqs = Array.from({ length: 8 }, () => model.createSequence());
  rows.push(...(await Promise.all(seqs.map((s, k) => s.eval(ids(5 + 3 * k, k, V))))));
  const rounds = 24;
  t0 = performance.now();
  let tokens = 0;
  for (let r = 0; r < rounds; r++) {
    rows.push(...(await Promise.all(seqs.map((s, k) => s.eval([(r * 7 + k) % V])))));
    tokens += seqs.length;
    if (r === rounds / 2) seqs.shift().dispose();
  }
  const tps8 = tokens / secs(t0);
  seqs.forEach((s) => s.dispose());
  return { rows, tps1, tps8 };
}

async function graph(dir) {
  const L = lib();
  const cases = [['h-350m-f16.gguf', 'q8_0'], ['moe-small-q4_k_m.gguf', 'none']]; // small models: launch-bound, quick to load
  console.log('| model | weights | max rel diff | result | launches/step eager | launches/step graph | graph captures / replays / refused | b=1 tok/s eager | b=1 tok/s graph | b=8 tok/s eager | b=8 tok/s graph |');
  console.log('|---|---|---|---|---|---|---|---|---|---|---|');
  let failed = 0;
  for (const [file, q] of cases) {
    const f = path.join(dir, file);
    waitFor(f, 300);
    const runs = {};
    try {
      for (const mode of ['0', '1']) {
        process.env.HYBRIDLM_CUDA_GRAPH = mode;
        const model = await L.loadModel(f, { device: 'cuda', quantize: q });
        try {
          await graphSchedule(model); // warm-up: weight upload, scratch, the graphs' captures
          const before = readStats();
          const r = await graphSchedule(model);
          const st = readStats().slice(before.length - 1);
          // Decode steps only: the lines whose step replayed (graph) or, eager, the batch-of-8 rounds.
          const steps = [];
          for (let i = 1; i < st.length; i++) {
            const d = (k) => (st[i][k] ?? 0) - (st[i - 1][k] ?? 0);
            if (mode === '1' ? d('graph_replays') === 1 : d('ops') > 0) steps.push(d('launches'));
          }
          steps.sort((a, b) => a - b);
          r.launches = steps.length ? steps[Math.floor(steps.length / 2)] : NaN; // median
          const last = st[st.length - 1], first = st[0];
          r.graph = `${last.graph_captures - first.graph_captures} / ${last.graph_replays - first.graph_replays} / ${last.graph_refused - first.graph_refused}`;
          runs[mode] = r;
        } finally {
          await model.dispose();
        }
      }
      const a = runs['0'], b = runs['1'];
      const diff = Math.max(...b.rows.map((row, i) => relDiff(row, a.rows[i])));
      const ok = diff <= 1e-4 && a.rows.length === b.rows.length;
      if (!ok) failed++;
      console.log(
        `| ${file.replace('.gguf', '')} | ${q === 'none' ? 'as stored' : q} | ${diff.toExponential(2)} | ${ok ? 'ok' : 'FAIL'} | ` +
          `${a.launches} | ${b.launches} | ${b.graph} | ${a.tps1.toFixed(1)} | ${b.tps1.toFixed(1)} | ${a.tps8.toFixed(0)} | ${b.tps8.toFixed(0)} |`,
      );
    } catch (e) {
      failed++;
      console.log(`| ${file} | ${q} | FAIL: ${e.name}: ${e.message.split('\n')[0]} |`);
    }
  }
  delete process.env.HYBRIDLM_CUDA_GRAPH;
  console.log(failed ? `graph: ${failed} FAILED` : 'graph: all ok');
  return failed ? 1 : 0;
}

async function main() {
  const [cmd, dir = path.join(require('os').tmpdir(), 'hybridlm-gpu-models'), ...rest] = process.argv.slice(2);
  const bwArg = rest.find((a) => a.startsWith('--bw='));
  const bw = bwArg ? Number(bwArg.slice(5)) : 0;
  const only = (rest.find((a) => a.startsWith('--only=')) || '').slice(7); // e.g. --only=fixture (a dry run)
  if (cmd === 'prepare') return prepare(dir);
  const L = lib();
  const st = require(path.join(root, 'dist', 'native')).native().cudaStatus();
  if (!st.available) {
    console.log(`SKIPPED: no CUDA device (${st.reason})`);
    return 0;
  }
  console.log(`CUDA: ${st.reason}`);
  if (cmd === 'check') return check(dir, only);
  if (cmd === 'bench') return bench(dir, bw);
  if (cmd === 'graph') return graph(dir);
  console.log('usage: gpu-e2e.js prepare|check|bench [dir] [--bw=GB/s]');
  return 2;
}

main().then(
  (code) => process.exit(code ?? 0),
  (e) => {
    console.log(`FAILED: ${e.stack || e}`);
    process.exit(1);
  },
);
