/**
 * Long runs on the embedded trained model, whose recurrent state and
 * activations are those of real weights: 8192 held-out tokens fed one per
 * decode step give the logits of one 8192-token prefill, and 10^4 decode
 * steps (those 8192, then greedy generation) never produce a non-finite
 * logit, so the Mamba state stays finite.
 */
import * as fs from 'fs';
import * as path from 'path';
import { EMBEDDED_MODEL_PATH, loadModel, type Model } from '../../lib';
import { maxAbsDiff } from '../helpers/golden';

const golden = JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'fixtures', 'granite-h-nano', 'golden.json'), 'utf8'));
const CONTEXT = 8192;
const DECODE_STEPS = 10_000;
const CHECKED = [0, 511, 1023, 4095, 6000, CONTEXT - 1];
const TOL = 1e-4;

/** 8192 real tokens: the held-out perplexity text, repeated. */
const heldout: number[] = golden.perplexity.tokens;
const tokens = Array.from({ length: CONTEXT }, (_, i) => heldout[i % heldout.length]);

function argmax(row: Float32Array): number {
  let best = 0;
  for (let v = 1; v < row.length; v++) if (row[v] > row[best]) best = v;
  return best;
}

describe('embedded model over long contexts', () => {
  let model: Model;
  beforeAll(async () => {
    // One native step for the whole prefill: the chunked SSD scan over 8192 tokens.
    model = await loadModel(EMBEDDED_MODEL_PATH, { device: 'cpu', threads: 2, maxStepTokens: CONTEXT });
  });
  afterAll(async () => model?.dispose());

  test(`prefill of ${CONTEXT} tokens = one token per step; ${DECODE_STEPS} decode steps stay finite`, async () => {
    const V = model.config.vocab_size;
    const prefilled = model.createSequence();
    const oneShot = await prefilled.eval(tokens, { allLogits: true });
    prefilled.dispose();
    expect(oneShot.length).toBe(CONTEXT * V);

    const seq = model.createSequence();
    let worst = 0;
    let nonFinite = 0;
    let last: Float32Array = new Float32Array(V);
    for (let step = 0; step < DECODE_STEPS; step++) {
      const next = step < CONTEXT ? tokens[step] : argmax(last);
      last = await seq.eval([next]);
      for (let v = 0; v < V; v++) if (!Number.isFinite(last[v])) nonFinite++;
      if (CHECKED.includes(step)) worst = Math.max(worst, maxAbsDiff(last, oneShot.subarray(step * V, (step + 1) * V)));
    }
    expect(seq.position).toBe(DECODE_STEPS);
    expect(nonFinite).toBe(0);
    expect(worst).toBeLessThan(TOL);
    seq.dispose();
  }, 120_000);
});
