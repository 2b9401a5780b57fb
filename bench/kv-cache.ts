/**
 * Decode speed and KV bytes by KV cache type (f32 / f16 / q8_0) side by side
 * in one run, on a synthetic GGUF with real Granite 4.0-H shapes (random
 * weights). For each context length: prefill it, then time single-token
 * decode steps; the three KV types alternate inside each round and the best
 * round is kept. Prints a markdown table; no assertions.
 *   npm run bench:kv -- [shape=h-350m] [layers=14] [ctx=512,2048] [decode=32] [threads=2] [rounds=2]
 * HYBRIDLM_CPU=avx2 (or scalar) forces a lower SIMD path for the comparison.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { loadModel } from '../lib';
import { native } from '../lib/native';
import { MODEL_SHAPES } from '../lib/synthetic/shapes';
import { writeSyntheticGguf } from '../lib/synthetic/synthetic-model';

type KvType = 'f32' | 'f16' | 'q8_0';
const KV_TYPES: KvType[] = ['f32', 'f16', 'q8_0'];

function arg(name: string, def: string): string {
  const a = process.argv.find((x) => x.startsWith(`${name}=`));
  return a ? a.slice(name.length + 1) : def;
}

async function main(): Promise<void> {
  const shape = MODEL_SHAPES[arg('shape', 'h-350m')];
  const layers = Number(arg('layers', '14'));
  const contexts = arg('ctx', '512,2048').split(',').map(Number);
  const decode = Number(arg('decode', '32'));
  const threads = Number(arg('threads', String(os.availableParallelism?.() ?? os.cpus().length)));
  const rounds = Number(arg('rounds', '2'));
  const file = path.join(os.tmpdir(), `hybridlm-bench-kv-${shape.name}-${layers}.gguf`);
  if (!fs.existsSync(file)) writeSyntheticGguf(file, shape, { dtype: 'q8_0', layers });

  const models = new Map<KvType, Awaited<ReturnType<typeof loadModel>>>();
  for (const kv of KV_TYPES) models.set(kv, await loadModel(file, { threads, kvCacheType: kv, prefixCache: false }));
  const V = models.get('f32')!.config.vocab_size;
  const ids = (n: number) => Array.from({ length: n }, (_, i) => (i * 7919 + 13) % V);

  const best = new Map<string, { tokS: number; kvBytes: number }>();
  for (let round = 0; round < rounds; round++) {
    for (const ctx of contexts) {
      const order = round % 2 ? [...KV_TYPES].reverse() : KV_TYPES;
      for (const kv of order) {
        const model = models.get(kv)!;
        const seq = model.createSequence();
        await seq.eval(ids(ctx));
        const kvBytes = model.memory().kvCache;
        const t0 = performance.now();
        for (let i = 0; i < decode; i++) await seq.eval([7 + i]);
        const tokS = (decode * 1000) / (performance.now() - t0);
        seq.dispose();
        const key = `${ctx}/${kv}`;
        if (!best.has(key) || best.get(key)!.tokS < tokS) best.set(key, { tokS, kvBytes });
      }
    }
  }

  const cpu = native().cpuInfo();
  console.log(`\n${shape.name}, first ${layers} layers, Q8_0 weights, ${threads} threads, SIMD ${cpu.simd}, best of ${rounds}\n`);
  console.log('| context | KV type | KV bytes | decode tok/s | vs f32 |');
  console.log('|---:|---|---:|---:|---:|');
  for (const ctx of contexts) {
    const base = best.get(`${ctx}/f32`)!.tokS;
    for (const kv of KV_TYPES) {
      const r = best.get(`${ctx}/${kv}`)!;
      console.log(`| ${ctx} | ${kv} | ${(r.kvBytes / 1e6).toFixed(2)} MB | ${r.tokS.toFixed(2)} | ${((r.tokS / base) * 100).toFixed(0)}% |`);
    }
  }
  for (const m of models.values()) await m.dispose();
}

void main();
