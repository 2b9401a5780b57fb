/**
 * Many long sessions: bytes held and aggregate decode throughput of hybridlm
 * on real Granite 4.0-H shapes (random weights, Q8_0) for context × concurrent
 * sequences, side by side with (a) the attention twin (the same shape with
 * every layer attention but one, see twinOf; written by the synthetic writer) and (b)
 * node-llama-cpp on the same GGUF. Prints markdown tables and the targets,
 * and writes an SVG plot. Measures, asserts nothing.
 *   npm run bench:scale -- [--shapes=h-350m,h-1b] [--contexts=1024,4096,16384,32768] [--seqs=1,8,32,64]
 *     [--threads=2] [--steps=4] [--cell-budget=30] [--runtime-budget=600] [--mem-cap=10]
 *     [--layers=N] [--page=TOKENS] [--no-twin] [--no-peer] [--svg=bench/results/scale.svg]
 *   --layers=N keeps a shape's first N layers (attention layers among them stay
 *   where they are), e.g. the MoE shape h-tiny when 40 layers of experts would
 *   take the run's whole time budget; the shape is then named h-tiny-Nl.
 *
 * Bounded by design (2 shared cores cannot prefill 32K tokens × 64
 * sequences): each runtime runs its cells in one child process, smallest
 * first, under a wall-clock budget; a cell past the budget, or whose state
 * would pass --mem-cap GiB (or the free memory), is recorded as skipped with
 * the reason, never estimated.
 * hybridlm cells: one real prefill of BASE tokens, snapshotted; a cell's
 * sequences are restored from that snapshot grown to the cell's context by
 * repeating its KV pages (the recurrent state is the real one). Every
 * sequence owns its own pages (restore copies), so the bytes held are real;
 * a decode step reads and computes exactly as over a real long prompt (the
 * values differ, the work does not: no layer branches on them). Then one
 * untimed decode step and up to --steps timed steps with all sequences in
 * one batch, each sampling greedily in the addon (Sequence.evalAndSample, the
 * path generation takes). memory() and RSS are read with the cell's sequences alive,
 * before decoding, after a GC (the snapshot buffer freed).
 * node-llama-cpp cells: see bench/peers/llama-cpp-scale-runner.mjs (its KV
 * is allocated for the whole context up front; decode is measured only
 * where a real prefill of every sequence fits the cell budget).
 */
import { execFileSync, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { NativeSampler, loadModel, type LoadModelOptions, type Sequence } from '../lib';
import { LLAMA_VERSION, ensurePeers, peersDir } from './peers/peers';
import { MODEL_SHAPES, type ModelShape } from '../lib/synthetic/shapes';
import { writeSyntheticGguf } from '../lib/synthetic/synthetic-model';
import { chartSvg, type Series } from './scale-plot';

const GiB = 2 ** 30;
/** Tokens of the real prefill every hybridlm cell's state grows from (a multiple of the KV page). */
const BASE = 256;
/** Bytes per KV element of the runtime's cache type. */
const KV_BYTES = { f16: 2, f32: 4, q8_0: 34 / 32 } as const;
type KvType = keyof typeof KV_BYTES;

interface Cell {
  context: number;
  seqs: number;
}
interface CellResult extends Cell {
  status: string;
  /** Recurrent state + KV held (memory() for hybridlm, the buffers llama.cpp logs for its context). */
  stateBytes?: number;
  /** The formula for the tokens held (hybridlm). */
  formulaBytes?: number;
  rss?: number;
  decodeTokS?: number;
  steps?: number;
}
interface ChildSpec {
  gguf: string;
  shape: ModelShape;
  threads: number;
  kvType: KvType;
  cells: Cell[];
  steps: number;
  cellBudgetS: number;
  deadlineMs: number;
  memCapBytes: number;
  /** kvPageTokens for loadModel (0: the default). */
  pageTokens: number;
}

/** Bytes of state + KV for `seqs` sequences of `context` tokens, from the shape alone. */
export function formulaBytes(shape: ModelShape, kv: KvType, context: number, seqs: number): number {
  const attn = shape.attentionLayers.length;
  const mamba = shape.layers - attn;
  const dInner = shape.mambaHeads * shape.mambaHeadDim;
  const convFloats = (shape.dConv - 1) * (dInner + 2 * shape.groups * shape.dState);
  const ssmFloats = shape.mambaHeads * shape.mambaHeadDim * shape.dState;
  const headDim = shape.hidden / shape.heads;
  const perToken = attn * 2 * shape.kvHeads * headDim * KV_BYTES[kv];
  return seqs * (mamba * (convFloats + ssmFloats) * 4 + context * perToken);
}

/**
 * The attention twin: the same shape with every layer attention but one. The
 * loader refuses a granitehybrid file without any Mamba layer, so the first
 * Mamba layer stays; that keeps the twin's KV 1/layers smaller than a pure
 * transformer's, which only makes the reduction measured against it smaller.
 */
/** The shape cut to its first n layers (a shorter model with the same layer mix). */
function firstLayers(shape: ModelShape, n: number): ModelShape {
  const attentionLayers = shape.attentionLayers.filter((i) => i < n);
  if (attentionLayers.length === 0) throw new Error(`--layers=${n} keeps no attention layer of ${shape.name}`);
  return { ...shape, name: `${shape.name}-${n}l`, layers: n, attentionLayers };
}

function twinOf(shape: ModelShape): ModelShape {
  const keep = Array.from({ length: shape.layers }, (_, i) => i).find((i) => !shape.attentionLayers.includes(i));
  return { ...shape, name: `${shape.name}-twin`, attentionLayers: Array.from({ length: shape.layers }, (_, i) => i).filter((i) => i !== keep) };
}

const ids = (n: number, seed: number, V: number) => Array.from({ length: n }, (_, i) => (i * 7919 + seed) % V);

/**
 * A snapshot (state_pool.cpp layout: 'HLSS', version, fingerprint, n_past,
 * conv/ssm/page byte counts, page count, then conv, ssm, pages) grown to
 * `context` tokens by repeating its KV pages.
 */
function growSnapshot(base: Buffer, context: number, pageTokens: number): Buffer {
  // Version 2: magic, u32 version, u64 fingerprint, i64 n_past (16), u64 conv
  // (24), u64 ssm (32), u64 page bytes (40), i32 KV dtype (48), u64 n_pages (52).
  if (base.toString('latin1', 0, 4) !== 'HLSS' || base.readUInt32LE(4) !== 2) {
    throw new Error('bench: unknown snapshot layout (update growSnapshot to the state pool format)');
  }
  const conv = Number(base.readBigUInt64LE(24));
  const ssm = Number(base.readBigUInt64LE(32));
  const pageBytes = Number(base.readBigUInt64LE(40));
  const pages = Number(base.readBigUInt64LE(52));
  const head = 60;
  if (context % pageTokens !== 0 || pages === 0) throw new Error('bench: context must be a multiple of the KV page');
  const want = context / pageTokens;
  const out = Buffer.allocUnsafe(head + conv + ssm + want * pageBytes);
  base.copy(out, 0, 0, head + conv + ssm);
  out.writeBigInt64LE(BigInt(context), 16);
  out.writeBigUInt64LE(BigInt(want), 52);
  const pagesAt = head + conv + ssm;
  for (let p = 0; p < want; p++) base.copy(out, pagesAt + p * pageBytes, pagesAt + (p % pages) * pageBytes, pagesAt + ((p % pages) + 1) * pageBytes);
  return out;
}

/**
 * A full GC, then a pause and another: V8 frees large ArrayBuffer backing
 * stores (the grown snapshot) on a background thread after the collection,
 * so RSS read right after one gc() still counts them.
 */
async function settle(): Promise<void> {
  gc();
  await new Promise((resolve) => setTimeout(resolve, 250));
  gc();
}

function gc(): void {
  (globalThis as { gc?: () => void }).gc?.();
}

async function hybridlmChild(spec: ChildSpec): Promise<void> {
  // The KV type the formula assumes, and a budget above the memory cap (the
  // cap decides which cells run; the budget must not refuse them).
  const options = { threads: spec.threads, device: 'cpu', kvCacheType: spec.kvType, ...(spec.pageTokens ? { kvPageTokens: spec.pageTokens } : {}), memoryBudget: spec.memCapBytes + 6 * GiB, prefixCache: false };
  const model = await loadModel(spec.gguf, options as LoadModelOptions);
  const V = model.config.vocab_size;
  const pageTokens = model.memory().kvPageTokens;
  let base: Buffer;
  {
    // The one real prefill; also the warm-up (pages the weights in).
    const seq = model.createSequence();
    await seq.eval(ids(BASE, 1, V));
    base = await seq.snapshot();
    seq.dispose();
  }
  for (const cell of spec.cells) {
    const r: CellResult = { ...cell, status: 'ok' };
    const need = formulaBytes(spec.shape, spec.kvType, cell.context, cell.seqs);
    r.formulaBytes = need;
    if (Date.now() > spec.deadlineMs) r.status = 'skipped (time: runtime budget spent)';
    else if (need > spec.memCapBytes) r.status = `skipped (memory: needs ${(need / GiB).toFixed(1)} GiB > cap ${(spec.memCapBytes / GiB).toFixed(0)} GiB)`;
    else if (need > os.freemem() - 1.5 * GiB) r.status = `skipped (memory: needs ${(need / GiB).toFixed(1)} GiB, ${(os.freemem() / GiB).toFixed(1)} GiB free)`;
    if (r.status !== 'ok') {
      process.stdout.write(JSON.stringify(r) + '\n');
      continue;
    }
    const seqs: Sequence[] = [];
    try {
      let grown: Buffer | null = growSnapshot(base, cell.context, pageTokens);
      for (let i = 0; i < cell.seqs; i++) seqs.push(await model.restoreSequence(grown));
      grown = null;
      await settle();
      const m = model.memory();
      r.stateBytes = m.recurrentState + m.kvCache;
      r.rss = process.memoryUsage().rss;
      // The generation path: each sequence samples (greedy) in the addon right after the forward pass.
      const samplers = seqs.map(() => new NativeSampler({}, V));
      const step = (tok: number) => Promise.all(seqs.map((s, i) => s.evalAndSample([tok], samplers[i])));
      await step(7); // warm-up (untimed)
      const t = performance.now();
      const budgetEnd = t + spec.cellBudgetS * 1000;
      let steps = 0;
      while (steps < spec.steps && (steps === 0 || performance.now() < budgetEnd)) {
        await step((steps * 31) % V);
        steps++;
      }
      r.steps = steps;
      r.decodeTokS = (steps * cell.seqs) / ((performance.now() - t) / 1000);
    } catch (err) {
      r.status = `failed: ${(err as Error).message.split('\n')[0]}`;
    }
    for (const s of seqs) s.dispose();
    gc();
    process.stdout.write(JSON.stringify(r) + '\n');
  }
  await model.dispose();
}

/** Runs a child that prints one JSON line per cell; cells it never reached are recorded as such. */
function runCells(name: string, argv: string[], cells: Cell[], timeoutMs: number): CellResult[] {
  const t0 = Date.now();
  const r = spawnSync(process.execPath, argv, { encoding: 'utf8', maxBuffer: 1 << 26, timeout: timeoutMs, killSignal: 'SIGKILL' });
  const got = r.stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as CellResult);
  const why =
    r.status === 0 ? 'not run' : r.signal ? `child killed (${r.signal}) after ${((Date.now() - t0) / 1000).toFixed(0)} s` : `child exit ${r.status}: ${r.stderr.trim().split('\n').slice(-2).join(' / ')}`;
  if (r.status !== 0) console.error(`${name}: ${why}`);
  return cells.map((c) => got.find((g) => g.context === c.context && g.seqs === c.seqs) ?? { ...c, status: `skipped (${why})` });
}

function gguf(shape: ModelShape): string {
  const file = path.join(os.tmpdir(), `hybridlm-bench-${shape.name}-q8_0-tok.gguf`);
  if (!fs.existsSync(file)) {
    const t0 = Date.now();
    writeSyntheticGguf(file, shape, { dtype: 'q8_0', withTokenizer: true });
    console.error(`wrote ${file} in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  }
  return file;
}

const mib = (b?: number) => (b === undefined ? '' : `${(b / 2 ** 20).toFixed(0)}`);
const rate = (r: CellResult) => (r.decodeTokS === undefined ? '' : r.decodeTokS.toFixed(1));

function flag(argv: string[], name: string, dflt: string): string {
  return argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? dflt;
}
const list = (s: string) => s.split(',').filter(Boolean).map(Number);

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  if (argv[0] === '--child') return hybridlmChild(JSON.parse(argv[1]) as ChildSpec);
  const shapes = flag(argv, 'shapes', 'h-350m,h-1b').split(',');
  const threads = Number(flag(argv, 'threads', '2'));
  const steps = Number(flag(argv, 'steps', '4'));
  const cellBudgetS = Number(flag(argv, 'cell-budget', '30'));
  const runtimeBudgetS = Number(flag(argv, 'runtime-budget', '600'));
  const memCapBytes = Number(flag(argv, 'mem-cap', '10')) * GiB;
  const seqCounts = list(flag(argv, 'seqs', '1,8,32,64'));
  const svgPath = flag(argv, 'svg', path.join('bench', 'results', 'scale.svg'));
  const kvType = flag(argv, 'kv', 'f16') as KvType;
  const withTwin = !argv.includes('--no-twin');
  const layers = Number(flag(argv, 'layers', '0'));
  const pageTokens = Number(flag(argv, 'page', '0'));
  const withPeer = !argv.includes('--no-peer') && ensurePeers();
  const self = __filename;
  const runner = path.join(__dirname, '..', '..', '..', 'bench', 'peers', 'llama-cpp-scale-runner.mjs');
  const started = new Date();
  const loadStart = os.loadavg()[0];
  const all: Array<{ shape: ModelShape; runtime: string; results: CellResult[] }> = [];

  for (const name of shapes) {
    const full = MODEL_SHAPES[name];
    if (!full) throw new Error(`unknown shape ${name}; one of ${Object.keys(MODEL_SHAPES).join(', ')}`);
    const shape = layers > 0 && layers < full.layers ? firstLayers(full, layers) : full;
    const contexts = list(flag(argv, 'contexts', name === 'h-350m' ? '1024,4096,16384,32768,131072' : '1024,4096,16384,32768'));
    const cells = contexts.flatMap((context) => seqCounts.map((seqs) => ({ context, seqs })));
    // Smallest state first, so the process's RSS high-water mark is the current cell's.
    cells.sort((a, b) => a.context * a.seqs - b.context * b.seqs || a.seqs - b.seqs);
    const variants = [shape, ...(withTwin ? [twinOf(shape)] : [])];
    for (const s of variants) {
      const spec: ChildSpec = {
        gguf: gguf(s), shape: s, threads, kvType, cells, steps, cellBudgetS, memCapBytes, pageTokens,
        deadlineMs: Date.now() + runtimeBudgetS * 1000,
      };
      console.error(`${s.name}: hybridlm ...`);
      const results = runCells(s.name, ['--expose-gc', self, '--child', JSON.stringify(spec)], cells, (runtimeBudgetS + 5 * cellBudgetS) * 1000);
      all.push({ shape: s, runtime: s === shape ? 'hybridlm' : 'hybridlm, attention twin', results });
    }
    if (withPeer) {
      console.error(`${shape.name}: node-llama-cpp ...`);
      const peerCells = cells.filter((c) => formulaBytes(shape, 'f16', c.context, c.seqs) <= memCapBytes);
      const args = { peersDir: peersDir(), gguf: gguf(shape), threads, vocab: shape.vocab, cells: peerCells, steps, cellBudgetS, deadlineMs: Date.now() + runtimeBudgetS * 1000 };
      const got = runCells('node-llama-cpp', [runner, JSON.stringify(args)], peerCells, (runtimeBudgetS + 5 * cellBudgetS) * 1000);
      const results = cells.map(
        (c) => got.find((g) => g.context === c.context && g.seqs === c.seqs) ?? { ...c, status: `skipped (memory: over the ${(memCapBytes / GiB).toFixed(0)} GiB cap)` },
      );
      all.push({ shape, runtime: `node-llama-cpp ${LLAMA_VERSION}`, results });
    }
  }
  report(all, { threads, steps, cellBudgetS, runtimeBudgetS, started, kvType, svgPath, load: [loadStart, os.loadavg()[0]] });
}

function report(
  all: Array<{ shape: ModelShape; runtime: string; results: CellResult[] }>,
  o: { threads: number; steps: number; cellBudgetS: number; runtimeBudgetS: number; started: Date; kvType: KvType; svgPath: string; load: number[] },
): void {
  const sha = (() => {
    try {
      return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
    } catch {
      return '?';
    }
  })();
  console.log(
    `\n${os.cpus()[0].model} (${os.cpus().length} vCPU, ${(os.totalmem() / GiB).toFixed(0)} GiB), ${o.threads} threads, ` +
      `${o.started.toISOString().slice(0, 16)}Z, commit ${sha}; Q8_0 weights, ${o.kvType} KV; up to ${o.steps} timed decode steps per cell, ` +
      `${o.cellBudgetS} s per cell, ${o.runtimeBudgetS} s per runtime; load average ${o.load[0].toFixed(1)} at the start, ${o.load[1].toFixed(1)} at the end ` +
      `(other work shares these cores)`,
  );
  console.log('\nstate = recurrent state + KV held (hybridlm: memory(); llama.cpp: the KV + recurrent buffers it logs allocating); formula = the same from the shape for the tokens held; RSS = process resident set; decode = aggregate tokens/s over all sequences.\n');
  console.log('| shape | runtime | context | seqs | state MiB | memory()/formula | RSS MiB | decode tok/s | note |');
  console.log('|---|---|---:|---:|---:|---:|---:|---:|---|');
  for (const { shape, runtime, results } of all)
    for (const r of results) {
      const ratio = r.formulaBytes && r.stateBytes && runtime.startsWith('hybridlm') ? `${(r.stateBytes / r.formulaBytes).toFixed(3)}` : '';
      const note = r.status === 'ok' ? `${r.steps} steps` : r.status;
      console.log(`| ${shape.name} | ${runtime} | ${r.context} | ${r.seqs} | ${mib(r.stateBytes)} | ${ratio} | ${mib(r.rss)} | ${rate(r)} | ${note} |`);
    }
  targets(all);
  plot(all, o.svgPath);
}

function find(all: Array<{ shape: ModelShape; runtime: string; results: CellResult[] }>, shape: string, runtime: string, context: number, seqs: number) {
  const rt = all.find((a) => a.shape.name === shape && a.runtime === runtime);
  return rt?.results.find((r) => r.context === context && r.seqs === seqs && r.status === 'ok');
}

function targets(all: Array<{ shape: ModelShape; runtime: string; results: CellResult[] }>): void {
  console.log('\nTargets:');
  const line = (what: string, got: string, ok: boolean | null) => console.log(`- ${what}: ${got} — ${ok === null ? 'not measured' : ok ? 'met' : 'missed'}`);
  for (const shape of [...new Set(all.map((a) => a.shape.name))].filter((s) => !s.endsWith('-twin'))) {
    const h = find(all, shape, 'hybridlm', 32768, 8);
    const t = all.find((a) => a.shape.name === `${shape}-twin`)?.results.find((r) => r.context === 32768 && r.seqs === 8 && r.stateBytes);
    if (h?.stateBytes && t?.stateBytes) {
      const cut = 1 - h.stateBytes / t.stateBytes;
      line(`${shape} state+KV at 32K × 8 vs the twin`, `${(100 * cut).toFixed(1)} % less`, cut >= 0.7);
    } else line(`${shape} state+KV at 32K × 8 vs the twin`, 'a cell missing', null);
    const rows = all.find((a) => a.shape.name === shape && a.runtime === 'hybridlm')?.results.filter((r) => r.stateBytes && r.formulaBytes) ?? [];
    const worst = rows.reduce((m, r) => Math.max(m, Math.abs(r.stateBytes! / r.formulaBytes! - 1)), 0);
    line(`${shape} memory() vs the formula`, rows.length ? `worst ${(100 * worst).toFixed(2)} % over ${rows.length} cells` : 'no cell', rows.length ? worst <= 0.05 : null);
    const one = find(all, shape, 'hybridlm', 1024, 1);
    const eight = find(all, shape, 'hybridlm', 1024, 8);
    line(`${shape} decode at 8 seqs vs 1 (1K)`, one && eight ? `${(eight.decodeTokS! / one.decodeTokS!).toFixed(2)}x` : '-', one && eight ? eight.decodeTokS! >= 4 * one.decodeTokS! : null);
    const long = find(all, shape, 'hybridlm', 32768, 1);
    line(`${shape} decode at 32K vs 1K (1 seq)`, one && long ? `${(100 * long.decodeTokS! / one.decodeTokS!).toFixed(0)} %` : '-', one && long ? long.decodeTokS! >= 0.9 * one.decodeTokS! : null);
    const peer = all.find((a) => a.shape.name === shape && a.runtime.startsWith('node-llama-cpp'));
    if (peer) {
      const pairs = peer.results
        .map((p) => ({ p, h: all.find((a) => a.shape.name === shape && a.runtime === 'hybridlm')?.results.find((r) => r.context === p.context && r.seqs === p.seqs) }))
        .filter(({ p, h }) => p.rss && h?.rss);
      const less = pairs.filter(({ p, h }) => h!.rss! < p.rss!).length;
      line(`${shape} RSS below llama.cpp for the same load`, `${less} of ${pairs.length} cells`, pairs.length ? less === pairs.length : null);
    }
  }
}

function plot(all: Array<{ shape: ModelShape; runtime: string; results: CellResult[] }>, svgPath: string): void {
  const colors = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#8c564b'];
  const base = [...new Set(all.map((a) => a.shape.name.replace(/-twin$/, '')))];
  const panels = base.flatMap((shape) => {
    const rts = all.filter((a) => a.shape.name.replace(/-twin$/, '') === shape);
    const series = (pick: (r: CellResult) => number | undefined, filter: (r: CellResult) => boolean, x: (r: CellResult) => number): Series[] =>
      rts.map((a, i) => ({
        name: a.runtime,
        color: colors[i % colors.length],
        dashed: a.runtime.startsWith('node-llama-cpp'),
        points: a.results.filter(filter).map((r) => ({ x: x(r), y: pick(r) ?? null })),
      }));
    return [
      {
        title: `${shape}: state + KV held, 8 sequences`,
        xLabel: 'context (tokens per sequence)',
        yLabel: 'MiB',
        logY: true,
        series: series((r) => (r.stateBytes ? r.stateBytes / 2 ** 20 : undefined), (r) => r.seqs === 8, (r) => r.context),
      },
      {
        title: `${shape}: aggregate decode, 8 sequences`,
        xLabel: 'context (tokens per sequence)',
        yLabel: 'tokens/s',
        series: series((r) => r.decodeTokS, (r) => r.seqs === 8, (r) => r.context),
      },
      {
        title: `${shape}: aggregate decode at 1K context`,
        xLabel: 'concurrent sequences',
        yLabel: 'tokens/s',
        series: series((r) => r.decodeTokS, (r) => r.context === 1024, (r) => r.seqs),
      },
    ];
  });
  fs.mkdirSync(path.dirname(svgPath), { recursive: true });
  fs.writeFileSync(svgPath, chartSvg('hybridlm scale benchmark (npm run bench:scale)', panels));
  console.log(`\nplot: ${svgPath}`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
