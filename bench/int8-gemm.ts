/**
 * Block-format matmul above the GEMV range: the int8 GEMM (native/cpu/simd/igemm_simd.h)
 * against the previous path (activations widened back to f32, weights dequantized into
 * f32 scratch, f32 GEMM; HYBRIDLM_INT8_GEMM=off) on Granite shapes, side by side in one
 * run. Each path runs in its own child process, alternating for --rounds rounds (best
 * of the rounds per cell, median of the timed calls within a round). Prints a markdown
 * table of ms per call and GFLOP/s; no assertions.
 *   npm run bench:int8-gemm [-- --quick] [--rounds=2] [--isa=avx2]
 */
import { execFileSync, spawnSync } from 'child_process';
import * as os from 'os';
import { kernels } from '../lib/kernels';
import { native } from '../lib/native';
import { Tensor, type QuantizedDType } from '../lib/tensor';

const DTYPES: QuantizedDType[] = ['q8_0', 'q4_0', 'q4_k', 'q6_k'];
const TOKENS = [1, 4, 5, 8, 16, 32, 64, 128, 512];
// h-350m / h-1b: ffn up [4096, 1536], in_proj [6448, 1536], ffn down [1536, 4096]
const SHAPES: [number, number][] = [[4096, 1536], [6448, 1536], [1536, 4096]];

function randn(n: number, std: number, seed: number): Float32Array {
  let s = seed >>> 0;
  const r = () => ((s = (s * 1664525 + 1013904223) >>> 0) / 4294967296);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = std * Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());
  return out;
}

interface Case { dtype: QuantizedDType; N: number; K: number; T: number }

function cases(quick: boolean): Case[] {
  const out: Case[] = [];
  for (const [N, K] of quick ? SHAPES.slice(0, 1) : SHAPES)
    for (const dtype of DTYPES) for (const T of TOKENS) out.push({ dtype, N, K, T });
  return out;
}

const key = (c: Case) => `${c.dtype}|${c.N}|${c.K}|${c.T}`;

async function child(quick: boolean): Promise<void> {
  const res: Record<string, number> = {};
  const weights = new Map<string, Tensor>();
  for (const c of cases(quick)) {
    const wk = `${c.dtype}|${c.N}|${c.K}`;
    if (!weights.has(wk)) weights.set(wk, Tensor.quantize(Tensor.from(randn(c.N * c.K, 0.05, c.N + c.K), [c.N, c.K]), c.dtype));
    const w = weights.get(wk) as Tensor;
    const x = Tensor.from(randn(c.T * c.K, 1, c.T), [c.T, c.K]);
    for (let i = 0; i < 2; i++) await kernels.matmul(x, w);
    const times: number[] = [];
    const t0 = performance.now();
    while (times.length < 5 || (performance.now() - t0 < 300 && times.length < 100)) {
      const t = performance.now();
      await kernels.matmul(x, w);
      times.push(performance.now() - t);
    }
    times.sort((a, b) => a - b);
    res[key(c)] = times[times.length >> 1];
  }
  process.stdout.write(JSON.stringify(res) + '\n');
}

async function main(): Promise<void> {
  const quick = process.argv.includes('--quick');
  if (process.argv.includes('--child')) return child(quick);
  const rounds = Number(process.argv.find((a) => a.startsWith('--rounds='))?.slice(9) ?? 2);
  const isa = process.argv.find((a) => a.startsWith('--isa='))?.slice(6);
  const paths = [
    { name: 'f32 GEMM (old)', env: 'off' },
    { name: 'int8 GEMM (new)', env: 'on' },
  ];
  const best: Record<string, number>[] = paths.map(() => ({}));
  for (let round = 0; round < rounds; round++)
    for (const i of round % 2 ? [1, 0] : [0, 1]) {
      const env = { ...process.env, HYBRIDLM_INT8_GEMM: paths[i].env, ...(isa ? { HYBRIDLM_CPU: isa } : {}) };
      const r = spawnSync(process.execPath, [__filename, '--child', ...(quick ? ['--quick'] : [])], { env, encoding: 'utf8', maxBuffer: 1 << 24 });
      if (r.status !== 0) throw new Error(`child ${paths[i].name} failed: ${r.stderr}`);
      const res = JSON.parse(r.stdout.trim().split('\n').pop() as string) as Record<string, number>;
      for (const [k, v] of Object.entries(res)) best[i][k] = Math.min(best[i][k] ?? Infinity, v);
    }
  const sha = (() => { try { return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim(); } catch { return '?'; } })();
  const info = native().cpuInfo();
  console.log(`\n${os.cpus()[0].model}, ${os.cpus().length} vCPU, ${info.threads} threads, SIMD ${isa ?? info.simd}, ` +
    `${new Date().toISOString().slice(0, 16)}Z, commit ${sha}; best of ${rounds} alternating rounds`);
  console.log('\n| dtype | N × K | T | old ms | new ms | old GFLOP/s | new GFLOP/s | new / old speed |');
  console.log('|---|---|---:|---:|---:|---:|---:|---:|');
  for (const c of cases(quick)) {
    const [o, n] = [best[0][key(c)], best[1][key(c)]];
    const gf = (ms: number) => ((2 * c.T * c.N * c.K) / ms / 1e6).toFixed(0);
    console.log(`| ${c.dtype} | ${c.N} × ${c.K} | ${c.T} | ${o.toFixed(3)} | ${n.toFixed(3)} | ${gf(o)} | ${gf(n)} | ${(o / n).toFixed(2)}× |`);
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
