/**
 * The embedded trained model (models/granite-h-nano) against torch: the
 * golden file (test/fixtures/granite-h-nano, written by
 * scripts/train-tiny/export.py) holds a float64 torch forward of exactly the
 * shipped F16 weights. Logits on held-out text within 1e-4 through the F16
 * GGUF and the Hugging Face directory, held-out perplexity to 4 digits, the
 * greedy continuation token for token, the tokenizer id for id; Q8_0 within
 * its quantization error. simd-paths.test.ts reruns this file on every lower
 * SIMD path.
 */
import * as fs from 'fs';
import * as path from 'path';
import { EMBEDDED_MODEL_DIR, EMBEDDED_MODEL_PATH, loadModel, type Model } from '../../lib';
import { maxAbsDiff } from '../helpers/golden';

const FIXTURE = path.join(__dirname, '..', 'fixtures', 'granite-h-nano');
const golden = JSON.parse(fs.readFileSync(path.join(FIXTURE, 'golden.json'), 'utf8'));
const bin = fs.readFileSync(path.join(FIXTURE, 'golden.bin'));
const goldenRows = new Float32Array(bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength));
const V: number = golden.vocab_size;

/** Rows `rows` of an all-positions logits array. */
function pickRows(all: Float32Array, rows: readonly number[]): Float32Array {
  const out = new Float32Array(rows.length * V);
  rows.forEach((r, i) => out.set(all.subarray(r * V, (r + 1) * V), i * V));
  return out;
}

/** Mean negative log-likelihood of tokens[1..] under all-positions logits (float64 accumulation). */
function meanNll(logits: Float32Array, tokens: readonly number[]): number {
  let total = 0;
  for (let t = 0; t + 1 < tokens.length; t++) {
    const row = logits.subarray(t * V, (t + 1) * V);
    let max = -Infinity;
    for (let v = 0; v < V; v++) max = Math.max(max, row[v]);
    let sum = 0;
    for (let v = 0; v < V; v++) sum += Math.exp(row[v] - max);
    total += max + Math.log(sum) - row[tokens[t + 1]];
  }
  return total / (tokens.length - 1);
}

function argmax(row: Float32Array): number {
  let best = 0;
  for (let v = 1; v < row.length; v++) if (row[v] > row[best]) best = v;
  return best;
}

const SOURCES = [
  { name: 'F16 GGUF', path: EMBEDDED_MODEL_PATH, logitsTol: 1e-4, pplRelTol: 1e-4 },
  { name: 'HF directory (F16 safetensors)', path: EMBEDDED_MODEL_DIR, logitsTol: 1e-4, pplRelTol: 1e-4 },
  // Q8_0 weights (and Q8 activations in its matmuls): quantization error, not a bug bound.
  { name: 'Q8_0 GGUF', path: path.join(EMBEDDED_MODEL_DIR, 'granite-h-nano-q8_0.gguf'), logitsTol: 0.5, pplRelTol: 0.005 },
];

test('the golden was made from the trained model, and its greedy path has no near ties', () => {
  expect(golden.trained_steps).toBeGreaterThan(0);
  expect(golden.greedy.min_top2_gap).toBeGreaterThan(1e-3);
});

for (const source of SOURCES) {
  describe(`embedded model via ${source.name}`, () => {
    let model: Model;
    beforeAll(async () => {
      model = await loadModel(source.path, { device: 'cpu', threads: 2 });
    });
    afterAll(async () => model?.dispose());

    test(`held-out logits (${golden.logits.rows.length} positions of ${golden.logits.tokens.length}) within ${source.logitsTol}`, async () => {
      const all = await model.logits(golden.logits.tokens);
      expect(maxAbsDiff(pickRows(all, golden.logits.rows), goldenRows)).toBeLessThan(source.logitsTol);
    });

    test(`held-out perplexity over ${golden.perplexity.tokens.length} tokens equals torch's`, async () => {
      const ppl = Math.exp(meanNll(await model.logits(golden.perplexity.tokens), golden.perplexity.tokens));
      expect(Math.abs(ppl - golden.perplexity.perplexity) / golden.perplexity.perplexity).toBeLessThan(source.pplRelTol);
    });

    if (source.logitsTol <= 1e-4) {
      test(`greedy continuation of "${golden.greedy.prompt}" is torch's, token for token`, async () => {
        const want: number[] = golden.greedy.tokens;
        const seq = model.createSequence();
        let last = await seq.eval(want.slice(0, golden.greedy.prompt_tokens));
        for (let i = golden.greedy.prompt_tokens; i < want.length; i++) {
          expect(argmax(last)).toBe(want[i]);
          last = await seq.eval([want[i]]);
        }
        seq.dispose();
        expect(model.tokenizer.decode(want)).toBe(golden.greedy.text);
      });
    }

    test('the tokenizer encodes like the Python BPE that trained the model', () => {
      expect(model.tokenizer.encode(golden.tokenizer_case.text)).toEqual(golden.tokenizer_case.ids);
    });
  });
}
