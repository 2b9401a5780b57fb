/**
 * The executor's chunked SSD scan (docs/KERNELS.md, Mamba-2 scan) against the
 * golden fixtures and against its own recurrence. Real prompts never reach the
 * default threshold here, so the test hook setScanPolicy(minTokens, chunk)
 * forces the chunked form on every prefill of at least minTokens tokens, with
 * short chunks so that every case crosses chunk boundaries:
 *  - golden full cases through the chunked path, one-shot, within the golden tolerance;
 *  - prefill (chunked) then decode equals one-shot;
 *  - a ragged batch (lengths below, at and across chunk multiples, and 1-token
 *    rows that stay on the recurrence-equivalent single chunk) equals each
 *    sequence alone through the recurrence.
 */
import { loadModel, type Model } from '../../lib';
import { FIXTURE_NAMES, concatRows, fixtureGguf, loadGolden, maxAbsDiff, rng } from '../helpers/golden';

const GOLDEN_TOL = 1e-4;
const SAME_MATH = 2e-5; // chunked vs recurrence: the same sums, associated differently

function randomTokens(n: number, vocab: number, seed: number): number[] {
  const r = rng(seed);
  return Array.from({ length: n }, () => Math.floor(r() * vocab));
}

for (const name of FIXTURE_NAMES) {
  const golden = loadGolden(name);
  describe(`chunked scan on ${name}`, () => {
    let model: Model;
    beforeAll(async () => {
      model = await loadModel(fixtureGguf(name), { device: 'cpu', threads: 2, kvCacheType: 'f32' });
    });
    afterAll(async () => model?.dispose());

    test.each([3, 8])('golden full cases through chunks of %i tokens', async (chunk) => {
      model.handle.setScanPolicy(2, chunk);
      try {
        for (const c of golden.cases.filter((g) => g.kind === 'full' && g.tokens.length > chunk)) {
          const got = await model.logits(c.tokens);
          expect(maxAbsDiff(got, golden.logits(c))).toBeLessThan(GOLDEN_TOL);
        }
      } finally {
        model.handle.setScanPolicy(1 << 30, 64);
      }
    });

    test('chunked prefill then decode equals one-shot', async () => {
      const V = model.config.vocab_size;
      const prompt = randomTokens(30, V, 5);
      model.handle.setScanPolicy(1 << 30, 64); // one-shot through the recurrence
      const want = await model.logits(prompt);
      model.handle.setScanPolicy(4, 5);
      try {
        const seq = model.createSequence();
        const rows = [await seq.eval(prompt.slice(0, 26), { allLogits: true })];
        for (let i = 26; i < 30; i++) rows.push(await seq.eval([prompt[i]]));
        expect(maxAbsDiff(concatRows(rows), want)).toBeLessThanOrEqual(SAME_MATH);
        seq.dispose();
      } finally {
        model.handle.setScanPolicy(1 << 30, 64);
      }
    });

    test('a ragged batch through chunks of 4 equals each sequence alone through the recurrence', async () => {
      const V = model.config.vocab_size;
      const lengths = [1, 3, 4, 5, 9, 16, 23];
      const prompts = lengths.map((n, i) => randomTokens(n, V, 40 + i));
      model.handle.setScanPolicy(1 << 30, 64);
      const alone: Float32Array[] = [];
      for (const p of prompts) alone.push(await model.logits(p));
      model.handle.setScanPolicy(2, 4);
      try {
        const seqs = prompts.map(() => model.createSequence());
        const before = model.handle.stepCount();
        const together = await Promise.all(seqs.map((s, i) => s.eval(prompts[i], { allLogits: true })));
        expect(model.handle.stepCount() - before).toBe(1); // one ragged step
        for (let i = 0; i < prompts.length; i++)
          expect({ len: lengths[i], diff: maxAbsDiff(together[i], alone[i]) <= SAME_MATH }).toEqual({ len: lengths[i], diff: true });
        seqs.forEach((s) => s.dispose());
      } finally {
        model.handle.setScanPolicy(1 << 30, 64);
      }
    });
  });
}
