/**
 * Chunked SSD scan vs the sequential recurrence at one Mamba-2 layer's shape,
 * for the prefill lengths the executor sees: the measurement behind the
 * executor's scan choice (docs/KERNELS.md, Mamba-2 scan). One sequence of T
 * tokens per call, on this process's SIMD path (set HYBRIDLM_CPU to compare
 * paths). Each cell is the median of >= 10 timed calls after warm-up, in
 * microseconds per call; recurrence and chunk sizes alternate per repetition.
 * Prints a markdown table; no assertions.
 *   npm run build:bench && node build/ts/bench/ssm-scan-chunk.js [shape=h-350m] [--lengths=16,64,128,512,2048] [--chunks=64,128,256]
 */
import { execFileSync } from 'child_process';
import * as os from 'os';
import { kernels } from '../lib/kernels';
import { native } from '../lib/native';
import { MODEL_SHAPES } from '../lib/synthetic/shapes';
import { Tensor } from '../lib/tensor';

function randn(n: number, std = 1, seed = 1): Float32Array {
  let s = seed >>> 0;
  const r = () => (s = (s * 1664525 + 1013904223) >>> 0) / 4294967296;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = std * Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());
  return out;
}

function listArg(name: string, dflt: number[]): number[] {
  const a = process.argv.find((v) => v.startsWith(`--${name}=`));
  return a ? a.slice(name.length + 3).split(',').map(Number) : dflt;
}

async function main(): Promise<void> {
  const shapeName = process.argv.slice(2).find((a) => !a.startsWith('--')) ?? 'h-350m';
  const shape = MODEL_SHAPES[shapeName];
  if (!shape) throw new Error(`unknown shape ${shapeName}`);
  const [H, P, N, G] = [shape.mambaHeads, shape.mambaHeadDim, shape.dState, shape.groups];
  const lengths = listArg('lengths', [16, 64, 128, 256, 512, 2048]);
  const chunks = listArg('chunks', [64, 128, 256]);
  const variants = [0, ...chunks];
  const A = Tensor.from(randn(H, 1, 5).map((v) => -Math.exp(0.5 * v)), [H]);
  const dtBias = Tensor.from(randn(H, 0.5, 6), [H]);
  const rows: string[] = [];
  for (const T of lengths) {
    const x = Tensor.from(randn(T * H * P, 1, 1), [T, H, P]);
    const dt = Tensor.from(randn(T * H, 1, 2), [T, H]);
    const B = Tensor.from(randn(T * G * N, 1, 3), [T, G, N]);
    const C = Tensor.from(randn(T * G * N, 1, 4), [T, G, N]);
    const run = (chunkSize: number) => kernels.mamba2Scan(x, dt, A, B, C, { chunkSize, dtBias });
    for (const v of variants) await run(v);
    const times = variants.map(() => [] as number[]);
    const t0 = performance.now();
    for (let rep = 0; rep < 10 || (performance.now() - t0 < 3000 && rep < 200); rep++)
      for (let i = 0; i < variants.length; i++) {
        const t = performance.now();
        await run(variants[i]);
        times[i].push((performance.now() - t) * 1000);
      }
    const med = times.map((ts) => ts.sort((a, b) => a - b)[ts.length >> 1]);
    const best = Math.min(...med);
    rows.push(`| ${T} | ${med.map((m) => (m === best ? `**${m.toFixed(0)}**` : m.toFixed(0))).join(' | ')} | ${(med[0] / Math.min(...med.slice(1))).toFixed(2)}x |`);
  }
  const sha = (() => {
    try {
      return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
    } catch {
      return '?';
    }
  })();
  const info = native().cpuInfo();
  console.log(`${os.cpus()[0].model}, ${info.threads} threads, ${info.simd}, ${new Date().toISOString().slice(0, 16)}Z, commit ${sha}`);
  console.log(`${shapeName} scan shape H=${H} P=${P} N=${N} G=${G}; µs per call (median), one sequence of T tokens\n`);
  console.log(`| T | recurrence | ${chunks.map((c) => `chunked Q=${c}`).join(' | ')} | recurrence / best chunked |`);
  console.log(`|---:|---:|${chunks.map(() => '---:').join('|')}|---:|`);
  for (const r of rows) console.log(r);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
