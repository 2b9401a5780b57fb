/** The golden fixtures on device 'cuda' (skipped visibly without a GPU). */
import { loadModel, type Model } from '../../lib';
import { describeGpu } from '../helpers/describe-gpu';
import { FIXTURE_NAMES, fixtureGguf, loadGolden, maxAbsDiff } from '../helpers/golden';

for (const name of FIXTURE_NAMES) {
  describeGpu(`golden ${name} on CUDA`, () => {
    const golden = loadGolden(name);
    let model: Model;
    beforeAll(async () => {
      model = await loadModel(fixtureGguf(name), { device: 'cuda' });
    });
    afterAll(async () => model?.dispose());

    test('runs on cuda', () => expect(model.device).toBe('cuda'));
    for (const c of golden.cases.filter((c) => c.kind === 'full')) {
      test(`full case ${c.name} within 1e-4`, async () => {
        expect(maxAbsDiff(await model.logits(c.tokens), golden.logits(c))).toBeLessThan(1e-4);
      });
    }
    for (const c of golden.cases.filter((c) => c.kind === 'incremental')) {
      test(`incremental case ${c.name}`, async () => {
        const want = golden.logits(c);
        const seq = model.createSequence();
        const rows = [await seq.eval(c.tokens.slice(0, c.prefill))];
        for (let i = c.prefill!; i < c.tokens.length; i++) rows.push(await seq.eval([c.tokens[i]]));
        rows.forEach((r, k) => expect(maxAbsDiff(r, want.subarray(k * golden.vocab, (k + 1) * golden.vocab))).toBeLessThan(1e-4));
        seq.dispose();
      });
    }
  });
}
