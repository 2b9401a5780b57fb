/**
 * Concurrent evals of different sequences share native steps (counted by the
 * executor itself) and give the logits each gives alone.
 */
import { loadModel, type Model } from '../../lib';
import { FIXTURE_NAMES, fixtureGguf, maxAbsDiff, rng } from '../helpers/golden';

function randomTokens(n: number, vocab: number, seed: number): number[] {
  const r = rng(seed);
  return Array.from({ length: n }, () => Math.floor(r() * vocab));
}

for (const name of FIXTURE_NAMES) {
  describe(`batching on ${name}`, () => {
    let model: Model;
    beforeAll(async () => {
      model = await loadModel(fixtureGguf(name), { device: 'cpu', threads: 2, kvCacheType: 'f32' });
    });
    afterAll(async () => model?.dispose());

    test('4 sequences of different lengths evaluated concurrently share one native step and match each alone (<= 1e-5)', async () => {
      const V = model.config.vocab_size;
      const prompts = [5, 17, 1, 33].map((n, i) => randomTokens(n, V, 100 + i));
      const alone: Float32Array[] = [];
      for (const p of prompts) alone.push(await model.logits(p));

      const seqs = prompts.map(() => model.createSequence());
      const before = model.handle.stepCount();
      const together = await Promise.all(seqs.map((s, i) => s.eval(prompts[i], { allLogits: true })));
      // 56 tokens issued in one tick fit one step's token budget: one native step, not four.
      expect(model.handle.stepCount() - before).toBe(1);
      for (let i = 0; i < prompts.length; i++) expect(maxAbsDiff(together[i], alone[i])).toBeLessThanOrEqual(1e-5);

      // Then decode steps where all four advance in one batch each step.
      const next = [3, 7, 11, 13];
      const beforeDecode = model.handle.stepCount();
      const decoded = await Promise.all(seqs.map((s, i) => s.eval([next[i]])));
      expect(model.handle.stepCount() - beforeDecode).toBe(1);
      for (let i = 0; i < prompts.length; i++) {
        const ref = await model.logits([...prompts[i], next[i]]);
        expect(maxAbsDiff(decoded[i], ref.subarray(prompts[i].length * V))).toBeLessThanOrEqual(1e-5);
      }
      seqs.forEach((s) => s.dispose());
    });

    test('two concurrent evals on the same sequence are queued in order, never raced', async () => {
      const V = model.config.vocab_size;
      const a = randomTokens(6, V, 7);
      const b = randomTokens(4, V, 8);
      const seq = model.createSequence();
      const [ra, rb] = await Promise.all([seq.eval(a), seq.eval(b)]);
      expect(seq.position).toBe(10);
      const ref = await model.logits([...a, ...b]);
      expect(maxAbsDiff(ra, ref.subarray(5 * V, 6 * V))).toBeLessThanOrEqual(1e-5);
      expect(maxAbsDiff(rb, ref.subarray(9 * V, 10 * V))).toBeLessThanOrEqual(1e-5);
      seq.dispose();
    });
  });
}
