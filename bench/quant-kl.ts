/**
 * Quantization error of quantize-on-load (docs/QUANTIZATION.md): mean KL
 * divergence KL(full ‖ quantized) of the next-token distribution, and how often
 * the two agree on the most likely token, over a fixed token sequence, for:
 *   - q8_0 on load (for scale);
 *   - q4_k with plain min/max scales, every matrix Q4_K (quantize-on-load before
 *     the scale search; written with lib/quant/minmax-q4k.ts);
 *   - q4_k with searched scales, every matrix Q4_K (the search alone, no mix);
 *   - q4_k on load (searched scales + the Q4_K_M mix: what loadModel does);
 *   - llama.cpp's llama-quantize Q4_K_M of the same GGUF, loaded by hybridlm.
 * Matrices whose rows are not a multiple of 256 are Q8_0 in every variant (the
 * llama-quantize run is told so with --tensor-type; it would pick Q5_0, which
 * hybridlm does not read). Every variant runs through the same kernels.
 *
 * Models: granite-h-nano (models/, trained on the KJV: the meaningful one; text
 * below, in its training distribution) and the golden fixtures (random weights,
 * rows of 64/128: every variant there is Q8_0, so they only show the floor).
 * With --synthetic also a synthetic h-350m-shaped model (random weights: its
 * numbers say little about trained models).
 *   npm run bench:kl -- [--synthetic] [--llama-quantize=PATH]
 * PATH defaults to $HYBRIDLM_LLAMA_QUANTIZE, else the variant is skipped. Build
 * it from the llama.cpp sources node-llama-cpp bundles (BENCHMARKS.md).
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { loadModel } from '../lib';
import { quantizeBlocks } from '../lib/quant/blocks';
import { quantizeQ4KMinMax } from '../lib/quant/minmax-q4k';
import { MODEL_SHAPES } from '../lib/synthetic/shapes';
import { writeSyntheticGguf } from '../lib/synthetic/synthetic-model';
import { isQuantizableMatrix, requantizeGguf, type Requantize } from './quant/requantize-gguf';
import { weightErrors } from './quant/weight-error';
import { readGguf } from '../lib/loaders/gguf';
import { q4KMix } from '../lib/quant/q4-k-m-mix';

const ROOT = path.resolve(__dirname, __dirname.includes(`${path.sep}build${path.sep}`) ? '../../..' : '..');

// Genesis 1:1-8 and Psalm 23 (King James Version, public domain).
const PASSAGE =
  'In the beginning God created the heaven and the earth. And the earth was without form, and void; and ' +
  'darkness was upon the face of the deep. And the Spirit of God moved upon the face of the waters. And God ' +
  'said, Let there be light: and there was light. And God saw the light, that it was good: and God divided ' +
  'the light from the darkness. And God called the light Day, and the darkness he called Night. And the ' +
  'evening and the morning were the first day. And God said, Let there be a firmament in the midst of the ' +
  'waters, and let it divide the waters from the waters. And God made the firmament, and divided the waters ' +
  'which were under the firmament from the waters which were above the firmament: and it was so. And God ' +
  'called the firmament Heaven. And the evening and the morning were the second day.\n' +
  'The LORD is my shepherd; I shall not want. He maketh me to lie down in green pastures: he leadeth me ' +
  'beside the still waters. He restoreth my soul: he leadeth me in the paths of righteousness for his ' +
  "name's sake. Yea, though I walk through the valley of the shadow of death, I will fear no evil: for thou " +
  'art with me; thy rod and thy staff they comfort me. Thou preparest a table before me in the presence of ' +
  'mine enemies: thou anointest my head with oil; my cup runneth over. Surely goodness and mercy shall ' +
  'follow me all the days of my life: and I will dwell in the house of the LORD for ever.';

interface Row {
  model: string;
  variant: string;
  /** Per-position KL, for paired comparisons. */
  kls: number[];
  kl: number;
  klP99: number;
  top1: number;
  weightsMB: number;
}

/** Per-position KL(p ‖ q) of softmax(ref) vs softmax(got), and top-1 agreement. */
function compare(ref: Float32Array, got: Float32Array, vocab: number): { kls: number[]; top1: number } {
  const kls: number[] = [];
  let same = 0;
  const logSoftmax = (a: Float32Array, o: number) => {
    let m = -Infinity;
    for (let j = 0; j < vocab; j++) m = Math.max(m, a[o + j]);
    let s = 0;
    for (let j = 0; j < vocab; j++) s += Math.exp(a[o + j] - m);
    const lse = m + Math.log(s);
    return Float64Array.from({ length: vocab }, (_, j) => a[o + j] - lse);
  };
  for (let o = 0; o < ref.length; o += vocab) {
    const lp = logSoftmax(ref, o);
    const lq = logSoftmax(got, o);
    let kl = 0;
    let ip = 0;
    let iq = 0;
    for (let j = 0; j < vocab; j++) {
      kl += Math.exp(lp[j]) * (lp[j] - lq[j]);
      if (lp[j] > lp[ip]) ip = j;
      if (lq[j] > lq[iq]) iq = j;
    }
    kls.push(kl);
    if (ip === iq) same++;
  }
  return { kls, top1: same / kls.length };
}

async function run(file: string, quantize: 'none' | 'q8_0' | 'q4_k', tokens: number[]) {
  const model = await loadModel(file, { quantize });
  try {
    return { logits: await model.logits(tokens), vocab: model.config.vocab_size, weights: model.memory().weights };
  } finally {
    await model.dispose();
  }
}

/** Q4_K (the given quantizer) where rows allow it, else Q8_0, else kept: every matrix, no mix. */
function allQ4K(quantize: (x: Float32Array, out: Uint8Array) => void) {
  return (_name: string, cols: number): Requantize =>
    cols % 256 === 0 ? { format: 'q4_k', quantize } : cols % 32 === 0 ? { format: 'q8_0', quantize: (x, o) => quantizeBlocks('q8_0', x, o) } : null;
}

/** The on-load 'q4_k' blocks written by the TS twins (bit-identical, test/model/quantize-on-load.test.ts). */
async function ourQ4KM(src: string, dst: string): Promise<void> {
  const mix = q4KMix((await readGguf(src)).tensors.map((t) => t.name));
  const q8 = { format: 'q8_0', quantize: (x: Float32Array, o: Uint8Array) => quantizeBlocks('q8_0', x, o) } as const;
  await requantizeGguf(src, dst, (name, cols) => {
    const format = mix(name);
    return cols % 256 === 0 ? { format, quantize: (x, o) => quantizeBlocks(format, x, o) } : cols % 32 === 0 ? q8 : null;
  });
}

/** llama-quantize Q4_K_M of src, with Q8_0 forced where rows are not a multiple of 256 (as on load). */
async function llamaQ4KM(bin: string, src: string, dst: string): Promise<void> {
  const g = await readGguf(src);
  const overrides = g.tensors
    .filter((t) => isQuantizableMatrix(t.name, t.ne, t.type) && t.ne[0] % 256 !== 0 && t.ne[0] % 32 === 0)
    .flatMap((t) => ['--tensor-type', `^${t.name.replace(/\./g, '\\.')}$=q8_0`]);
  execFileSync(bin, [...overrides, src, dst, 'Q4_K_M', String(os.cpus().length)], { stdio: ['ignore', 'ignore', 'inherit'] });
}

const weightNotes: string[] = [];

async function measure(model: string, gguf: string, tokens: number[], llama: string | undefined, dir: string): Promise<Row[]> {
  const ref = await run(gguf, 'none', tokens);
  const rows: Row[] = [];
  const add = (variant: string, r: { logits: Float32Array; weights: number }) => {
    const { kls, top1 } = compare(ref.logits, r.logits, ref.vocab);
    const sorted = [...kls].sort((a, b) => a - b);
    rows.push({
      model, variant, kls, top1, weightsMB: r.weights / 1e6,
      kl: kls.reduce((a, b) => a + b, 0) / kls.length,
      klP99: sorted[Math.min(sorted.length - 1, Math.floor(0.99 * sorted.length))],
    });
    console.error(`  ${model}: ${variant} done`);
  };
  add('f16/f32 as stored (reference)', ref);
  add('q8_0 on load', await run(gguf, 'q8_0', tokens));
  const minmax = path.join(dir, 'minmax.gguf');
  await requantizeGguf(gguf, minmax, allQ4K(quantizeQ4KMinMax));
  add('q4_k min/max scales, no mix (before)', await run(minmax, 'none', tokens));
  const searched = path.join(dir, 'searched.gguf');
  await requantizeGguf(gguf, searched, allQ4K((x, o) => quantizeBlocks('q4_k', x, o)));
  add('q4_k searched scales, no mix', await run(searched, 'none', tokens));
  add('q4_k on load (searched + Q4_K_M mix)', await run(gguf, 'q4_k', tokens));
  if (llama) {
    const out = path.join(dir, 'llama-q4_k_m.gguf');
    await llamaQ4KM(llama, gguf, out);
    add('llama-quantize Q4_K_M', await run(out, 'none', tokens));
    const ours = path.join(dir, 'ours-q4_k_m.gguf');
    await ourQ4KM(gguf, ours);
    for (const [format, [a, b, n]] of await weightErrors(gguf, ours, out)) {
      weightNotes.push(`| ${model} | ${format} | ${n} | ${a.toExponential(4)} | ${b.toExponential(4)} |`);
    }
  }
  for (const f of fs.readdirSync(dir)) fs.rmSync(path.join(dir, f));
  return rows;
}

async function main(): Promise<void> {
  const flags = process.argv.slice(2);
  const llama = flags.find((f) => f.startsWith('--llama-quantize='))?.slice(17) ?? process.env.HYBRIDLM_LLAMA_QUANTIZE;
  if (llama && !fs.existsSync(llama)) throw new Error(`llama-quantize not found at ${llama}`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hybridlm-kl-'));
  const rows: Row[] = [];
  try {
    const nano = path.join(ROOT, 'models/granite-h-nano/granite-h-nano-f16.gguf');
    const tok = await loadModel(nano, { quantize: 'none' });
    const passage = tok.tokenizer.encode(PASSAGE);
    await tok.dispose();
    rows.push(...(await measure(`granite-h-nano (${passage.length} tokens)`, nano, passage, llama, dir)));
    for (const name of ['granite-h-tiny-dense', 'granite-h-tiny-moe']) {
      const fixture = path.join(ROOT, 'test/fixtures', name);
      const golden = JSON.parse(fs.readFileSync(path.join(fixture, 'golden.json'), 'utf8'));
      const tokens: number[] = golden.cases.filter((c: { kind: string }) => c.kind === 'full').flatMap((c: { tokens: number[] }) => c.tokens);
      rows.push(...(await measure(`${name} (fixture prompts, ${tokens.length} tokens)`, path.join(fixture, 'model.gguf'), tokens, llama, dir)));
    }
    if (flags.includes('--synthetic')) {
      const shape = MODEL_SHAPES['h-350m'];
      const f16 = path.join(dir, '..', `hybridlm-kl-${shape.name}-f16.gguf`);
      if (!fs.existsSync(f16)) writeSyntheticGguf(f16, shape, { dtype: 'f16', seed: 1 });
      const tokens = Array.from({ length: 256 }, (_, i) => (i * 7919 + 13) % shape.vocab);
      rows.push(...(await measure(`synthetic ${shape.name} (random weights, 256 tokens)`, f16, tokens, llama, dir)));
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  console.log('| model | variant | mean KL (nats) | p99 KL | top-1 agreement | weights MB |');
  console.log('|---|---|---:|---:|---:|---:|');
  for (const r of rows) {
    console.log(`| ${r.model} | ${r.variant} | ${r.kl.toExponential(3)} | ${r.klP99.toExponential(2)} | ${(100 * r.top1).toFixed(1)} % | ${r.weightsMB.toFixed(2)} |`);
  }
  if (weightNotes.length) {
    console.log('\nWeight error, Σ(x − x̂)² / Σx² over the matrices both files store in a format:\n');
    console.log('| model | format | matrices | q4_k on load | llama-quantize Q4_K_M |');
    console.log('|---|---|---:|---:|---:|');
    for (const l of weightNotes) console.log(l);
    console.log('');
  }
  // Paired: at how many positions the on-load q4_k is closer to the full model than each other 4-bit variant.
  for (const model of new Set(rows.map((r) => r.model))) {
    const ours = rows.find((r) => r.model === model && r.variant.startsWith('q4_k on load'));
    for (const other of rows.filter((r) => r.model === model && /min\/max|no mix|llama/.test(r.variant) && r !== ours)) {
      if (!ours) continue;
      const lower = ours.kls.filter((k, i) => k < other.kls[i]).length;
      const higher = ours.kls.filter((k, i) => k > other.kls[i]).length;
      console.log(`${model}: q4_k on load has lower KL than "${other.variant}" at ${lower} positions, higher at ${higher}`);
    }
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
