/**
 * End-to-end prefill/decode throughput of hybridlm vs node-llama-cpp on the
 * same synthetic GGUF (real Granite 4.0-H shapes, random weights) and the same
 * token ids. Prints a markdown table; no assertions.
 *   npm run bench:e2e -- [shape=h-350m] [dtype=f16|q8_0|q4_k_m|…] [threads=2] [--quick] [--rounds=N] [--build-source]
 *
 * Peers: node-llama-cpp 3.21.1 from npm ("prebuilt": its bundled CPU
 * binary) and, when present, the same release built from source on this
 * machine ("source": getLlama('lastBuild'); made once with --build-source, which
 * runs `npx node-llama-cpp source download --gpu false` in the peers folder —
 * the npm package bundles the llama.cpp sources). node-llama-cpp is ESM-only and
 * ~700 MB, so it is never a dependency of this package: this script installs
 * it into its own folder ($HYBRIDLM_BENCH_PEERS, default
 * ~/.cache/hybridlm-bench/peers) and drives it in a child process
 * (bench/peers/llama-cpp-runner.mjs). hybridlm runs in a child process too, so
 * peak RSS is per runtime. Runtimes alternate inside each round (order
 * reversed every other round) and the best round is kept, because these VMs
 * drift 15-30 % over minutes.
 * After an untimed warm-up (pages in the mapped weights), each plan item starts
 * a fresh sequence: prefill n ids (timed, including the last position's
 * logits), then decode one fixed id per step (timed).
 * Decode roofline: (weights + 2 x SSM/conv state + KV read at that context)
 * bytes per token over the read bandwidth the probe measures in the same run.
 */
import { execFileSync, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { loadModel } from '../lib';
import { LLAMA_VERSION, ensurePeers, peersDir } from './peers/peers';
import { MODEL_SHAPES } from '../lib/synthetic/shapes';
import { writeSyntheticGguf, type SyntheticDType } from '../lib/synthetic/synthetic-model';


interface PlanItem {
  prefill: number;
  decode: number;
}
interface ItemResult extends PlanItem {
  prefillS: number;
  decodeS: number;
}
interface RunResult {
  results: ItemResult[];
  rss: number;
  extra?: { weights: number; state: number };
}

const ids = (n: number, seed: number, V: number) => Array.from({ length: n }, (_, i) => (i * 7919 + seed) % V);

async function hybridlmChild(gguf: string, threads: number, plan: PlanItem[]): Promise<void> {
  const model = await loadModel(gguf, { threads });
  const V = model.config.vocab_size;
  const results: ItemResult[] = [];
  {
    // warm-up (untimed): page in the mapped weights, first-call allocations
    const seq = model.createSequence();
    await seq.eval(ids(32, 3, V));
    await seq.eval([7]);
    seq.dispose();
  }
  for (const item of plan) {
    const seq = model.createSequence();
    let t = performance.now();
    await seq.eval(ids(item.prefill, 1, V));
    const prefillS = (performance.now() - t) / 1000;
    t = performance.now();
    for (let i = 0; i < item.decode; i++) await seq.eval([(i * 31) % V]);
    const decodeS = (performance.now() - t) / 1000;
    seq.dispose();
    results.push({ ...item, prefillS, decodeS });
  }
  const m = model.memory();
  const out: RunResult = { results, rss: process.memoryUsage().rss, extra: { weights: m.weights, state: m.recurrentBytesPerSequence } };
  process.stdout.write(JSON.stringify(out) + '\n');
  await model.dispose();
}

/** Whether a source build exists (npx node-llama-cpp source download --gpu false, run in the peers folder). */
function hasSourceBuild(): boolean {
  const d = path.join(peersDir(), 'node_modules', 'node-llama-cpp', 'llama', 'localBuilds');
  return fs.existsSync(d) && fs.readdirSync(d).length > 0;
}

function runChild(cmd: string[], env: NodeJS.ProcessEnv = process.env): RunResult | string {
  const r = spawnSync(process.execPath, cmd, { env, encoding: 'utf8', maxBuffer: 1 << 26 });
  const last = r.stdout.trim().split('\n').pop() ?? '';
  if (r.status !== 0 || !last.startsWith('{')) return `exit ${r.status}: ${r.stderr.trim().split('\n').slice(-3).join(' / ')}`;
  return JSON.parse(last) as RunResult;
}

function probe(threads: number): { read_gbs: number } | null {
  const exe = path.join(os.tmpdir(), 'hybridlm-peak');
  const src = path.join(__dirname, '..', '..', '..', 'bench', 'probe', 'peak.cpp');
  try {
    execFileSync('c++', ['-O2', '-march=native', '-pthread', src, '-o', exe]);
    return JSON.parse(execFileSync(exe, [String(threads)], { encoding: 'utf8' }));
  } catch {
    return null;
  }
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  if (argv[0] === '--child') return hybridlmChild(argv[1], Number(argv[2]), JSON.parse(argv[3]));
  const flags = argv.filter((a) => a.startsWith('--'));
  const [shapeName = 'h-350m', dtype = 'f16', threadsArg = '2'] = argv.filter((a) => !a.startsWith('--'));
  const quick = flags.includes('--quick');
  const rounds = Number(flags.find((f) => f.startsWith('--rounds='))?.slice(9) ?? 2);
  const shape = MODEL_SHAPES[shapeName];
  if (!shape) throw new Error(`unknown shape ${shapeName}; one of ${Object.keys(MODEL_SHAPES).join(', ')}`);
  const threads = Number(threadsArg);
  const file = path.join(os.tmpdir(), `hybridlm-bench-${shapeName}-${dtype}-tok.gguf`);
  if (!fs.existsSync(file)) {
    const t0 = Date.now();
    writeSyntheticGguf(file, shape, { dtype: dtype as SyntheticDType, withTokenizer: true });
    console.error(`wrote ${file} in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  }
  const plan: PlanItem[] = quick
    ? [{ prefill: 128, decode: 24 }, { prefill: 512, decode: 0 }]
    : [{ prefill: 128, decode: 32 }, { prefill: 512, decode: 0 }, { prefill: 4096, decode: 16 }];

  const runtimes: Array<{ name: string; run: () => RunResult | string }> = [
    { name: 'hybridlm', run: () => runChild([__filename, '--child', file, String(threads), JSON.stringify(plan)]) },
  ];
  if (ensurePeers()) {
    if (flags.includes('--build-source') && !hasSourceBuild()) {
      // llama.cpp from the sources node-llama-cpp bundles, native flags (minutes, once).
      console.error('building llama.cpp from source (npx node-llama-cpp source download --gpu false) ...');
      spawnSync('npx', ['--no-install', 'node-llama-cpp', 'source', 'download', '--gpu', 'false'], { cwd: peersDir(), stdio: 'inherit' });
    }
    const runner = path.join(__dirname, '..', '..', '..', 'bench', 'peers', 'llama-cpp-runner.mjs');
    const args = (build: string) => JSON.stringify({ peersDir: peersDir(), build, gguf: file, threads, vocab: shape.vocab, plan });
    runtimes.push({ name: `node-llama-cpp ${LLAMA_VERSION} prebuilt`, run: () => runChild([runner, args('prebuilt')]) });
    if (hasSourceBuild()) runtimes.push({ name: `llama.cpp source build`, run: () => runChild([runner, args('lastBuild')]) });
  }
  const best = new Map<string, RunResult>();
  const errors = new Map<string, string>();
  for (let round = 0; round < rounds; round++)
    for (const rt of round % 2 ? [...runtimes].reverse() : runtimes) {
      const r = rt.run();
      if (typeof r === 'string') {
        errors.set(rt.name, r);
        continue;
      }
      const prev = best.get(rt.name);
      if (!prev) best.set(rt.name, r);
      else
        prev.results.forEach((p, i) => {
          p.prefillS = Math.min(p.prefillS, r.results[i].prefillS);
          p.decodeS = Math.min(p.decodeS, r.results[i].decodeS);
        });
      if (prev) prev.rss = Math.max(prev.rss, r.rss);
    }
  const peak = probe(threads);
  const sha = (() => { try { return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim(); } catch { return '?'; } })();
  console.log(`\n${shapeName} ${dtype}, ${threads} threads, ${os.cpus()[0].model} (${os.cpus().length} vCPU), ${new Date().toISOString().slice(0, 16)}Z, commit ${sha} + working tree, best of ${rounds} alternating rounds`);
  if (peak) console.log(`read bandwidth (same run): ${peak.read_gbs.toFixed(1)} GB/s`);
  const cols = plan.flatMap((p) => [`prefill ${p.prefill}`, ...(p.decode ? [`decode @${p.prefill}`] : [])]);
  console.log(`\n| runtime | ${cols.join(' | ')} | peak RSS |`);
  console.log(`|---|${cols.map(() => '---:').join('|')}|---:|`);
  const tps = (r: RunResult) => r.results.flatMap((p) => [p.prefill / p.prefillS, ...(p.decode ? [p.decode / p.decodeS] : [])]);
  for (const rt of runtimes) {
    const r = best.get(rt.name);
    if (!r) {
      console.log(`| ${rt.name} | ${errors.get(rt.name)} |`);
      continue;
    }
    console.log(`| ${rt.name} | ${tps(r).map((v) => `${v.toFixed(1)}`).join(' | ')} | ${(r.rss / 2 ** 20).toFixed(0)} MiB |`);
  }
  const ours = best.get('hybridlm');
  const peers = runtimes.slice(1).map((rt) => best.get(rt.name)).filter((r): r is RunResult => !!r);
  if (ours && peers.length) {
    const o = tps(ours);
    const p = peers.map(tps);
    const ratio = o.map((v, i) => v / Math.max(...p.map((x) => x[i])));
    console.log(`| hybridlm / best peer | ${ratio.map((v) => `${v.toFixed(2)}x`).join(' | ')} | |`);
  }
  if (ours?.extra && peak) {
    const attnLayers = shape.attentionLayers.length;
    const dh = shape.hidden / shape.heads;
    const roof = ours.results.flatMap((item) => {
      if (!item.decode) return [];
      const kv = attnLayers * (item.prefill + item.decode / 2) * 2 * shape.kvHeads * dh * 4;
      const bytes = ours.extra!.weights + 2 * ours.extra!.state + kv;
      return [`decode @${item.prefill}: roofline ${((peak.read_gbs * 1e9) / bytes).toFixed(1)} tok/s, hybridlm at ${((100 * (item.decode / item.decodeS) * bytes) / (peak.read_gbs * 1e9)).toFixed(0)} %`];
    });
    console.log(`\n${roof.join('; ')} (weights ${(ours.extra.weights / 2 ** 20).toFixed(0)} MiB, state ${(ours.extra.state / 2 ** 20).toFixed(1)} MiB / seq)`);
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
