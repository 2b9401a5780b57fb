/** Continuous batching with chunked prefill: same logits, decodes not stalled behind long prefills. */
import { loadModel, type Model } from '../../lib';
import { fixtureGguf, maxAbsDiff, rng } from '../helpers/golden';

function randomTokens(n: number, vocab: number, seed: number): number[] {
  const r = rng(seed);
  return Array.from({ length: n }, () => Math.floor(r() * vocab));
}

describe('step scheduler', () => {
  let chunked: Model;
  let whole: Model;
  beforeAll(async () => {
    chunked = await loadModel(fixtureGguf('granite-h-tiny-moe'), { threads: 2, maxStepTokens: 7, kvCacheType: 'f32' });
    whole = await loadModel(fixtureGguf('granite-h-tiny-moe'), { threads: 2, kvCacheType: 'f32' });
  });
  afterAll(async () => {
    await chunked?.dispose();
    await whole?.dispose();
  });

  test('a prefill split into 7-token steps gives the logits of one step', async () => {
    const V = whole.config.vocab_size;
    const tokens = randomTokens(45, V, 1);
    expect(maxAbsDiff(await chunked.logits(tokens), await whole.logits(tokens))).toBeLessThanOrEqual(1e-5);
    const a = chunked.createSequence();
    const b = whole.createSequence();
    expect(maxAbsDiff(await a.eval(tokens), await b.eval(tokens))).toBeLessThanOrEqual(1e-5);
    expect(a.position).toBe(45);
    a.dispose();
    b.dispose();
  });

  test('decodes of other sequences finish before a long prefill issued at the same time', async () => {
    const V = chunked.config.vocab_size;
    const decoder = chunked.createSequence();
    await decoder.eval([1, 2, 3]);
    const long = chunked.createSequence();
    const order: string[] = [];
    const prefill = long.eval(randomTokens(70, V, 2)).then(() => order.push('prefill'));
    let d = Promise.resolve();
    for (let i = 0; i < 3; i++) d = d.then(() => decoder.eval([4 + i]).then(() => void order.push(`decode${i}`)));
    await Promise.all([prefill, d]);
    // 70 tokens at 7 per step take 10+ steps; three decodes need three.
    expect(order.indexOf('decode2')).toBeLessThan(order.indexOf('prefill'));
    decoder.dispose();
    long.dispose();
  });

  test('disposing a sequence mid-prefill rejects its eval and leaves others intact', async () => {
    const V = chunked.config.vocab_size;
    const victim = chunked.createSequence();
    const other = chunked.createSequence();
    const p = victim.eval(randomTokens(60, V, 3));
    const q = other.eval([5, 6, 7]);
    await new Promise((r) => setImmediate(r));
    victim.dispose();
    await expect(p).rejects.toThrow(/disposed/);
    const ref = await whole.logits([5, 6, 7]);
    expect(maxAbsDiff(await q, ref.subarray(2 * V))).toBeLessThanOrEqual(1e-5);
    other.dispose();
  });
});
