/**
 * The model against the golden fixtures: float64-reference logits for both
 * fixtures, through the HF directory and the GGUF, one-shot, incremental
 * (prefill then one token per step) and in random splits.
 */
import { loadModel, type Model } from '../../lib';
import { FIXTURE_NAMES, concatRows, fixtureDir, fixtureGguf, loadGolden, maxAbsDiff, rng } from '../helpers/golden';

const TOL = 1e-4;

for (const name of FIXTURE_NAMES) {
  const golden = loadGolden(name);
  for (const source of ['safetensors', 'gguf'] as const) {
    describe(`${name} via ${source}`, () => {
      let model: Model;
      beforeAll(async () => {
        model = await loadModel(source === 'gguf' ? fixtureGguf(name) : fixtureDir(name), { device: 'cpu', threads: 2, kvCacheType: 'f32' });
      });
      afterAll(async () => {
        await model?.dispose();
      });

      test('config is the golden model', () => {
        expect(model.config.vocab_size).toBe(golden.vocab);
        expect(model.config.source).toBe(source);
        expect(model.device).toBe('cpu');
      });

      for (const c of golden.cases.filter((c) => c.kind === 'full')) {
        test(`full case ${c.name}: every position within ${TOL}`, async () => {
          const got = await model.logits(c.tokens);
          expect(got.length).toBe(c.n_rows * golden.vocab);
          expect(maxAbsDiff(got, golden.logits(c))).toBeLessThan(TOL);
        });

        test(`full case ${c.name}: 3 random splits give the same logits`, async () => {
          const want = golden.logits(c);
          const rand = rng(c.tokens.length * 7919 + (source === 'gguf' ? 1 : 0));
          for (let trial = 0; trial < 3; trial++) {
            const seq = model.createSequence();
            const rows: Float32Array[] = [];
            let at = 0;
            while (at < c.tokens.length) {
              const n = Math.min(c.tokens.length - at, 1 + Math.floor(rand() * 9));
              rows.push(await seq.eval(c.tokens.slice(at, at + n), { allLogits: true }));
              at += n;
            }
            expect(seq.position).toBe(c.tokens.length);
            expect(maxAbsDiff(concatRows(rows), want)).toBeLessThan(TOL);
            seq.dispose();
          }
        });
      }

      for (const c of golden.cases.filter((c) => c.kind === 'incremental')) {
        test(`incremental case ${c.name}: prefill ${c.prefill} then one token per step`, async () => {
          const want = golden.logits(c);
          const prefill = c.prefill!;
          const seq = model.createSequence();
          const rows: Float32Array[] = [await seq.eval(c.tokens.slice(0, prefill))];
          for (let i = prefill; i < c.tokens.length; i++) rows.push(await seq.eval([c.tokens[i]]));
          expect(rows.length).toBe(c.n_rows);
          for (let r = 0; r < rows.length; r++) {
            expect(maxAbsDiff(rows[r], want.subarray(r * golden.vocab, (r + 1) * golden.vocab))).toBeLessThan(TOL);
          }
          seq.dispose();
        });
      }
    });
  }
}
