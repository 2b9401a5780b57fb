/**
 * The budgeted state pool: memory() accounting over create/dispose cycles,
 * OutOfMemoryError past the budget or maxSequences (process alive, recovers
 * after dispose), and fork sharing KV pages copy-on-write.
 */
import { OutOfMemoryError, loadModel, type Model } from '../../lib';
import { fixtureGguf, maxAbsDiff, rng } from '../helpers/golden';

const FIXTURE = fixtureGguf('granite-h-tiny-moe');

function randomTokens(n: number, vocab: number, seed: number): number[] {
  const r = rng(seed);
  return Array.from({ length: n }, () => Math.floor(r() * vocab));
}

describe('state pool', () => {
  let model: Model;
  beforeAll(async () => {
    model = await loadModel(FIXTURE, { threads: 2, kvCacheType: 'f32', prefixCache: false });
  });
  afterAll(async () => model?.dispose());

  test('memory() returns to the same value after create / eval / dispose cycles', async () => {
    const V = model.config.vocab_size;
    const cycle = async () => {
      const seqs = [model.createSequence(), model.createSequence(), model.createSequence()];
      await Promise.all(seqs.map((s, i) => s.eval(randomTokens(20 + 13 * i, V, i))));
      const held = model.memory();
      seqs.forEach((s) => s.dispose());
      return held;
    };
    await cycle(); // warms the free lists and the scratch buffers
    const before = model.memory();
    const during = await cycle();
    const after = model.memory();
    expect(after).toEqual(before);
    expect(during.sequences - before.sequences).toBe(3);
    // The KV bytes held are exactly the formula for the tokens held: ceil(tokens / page) pages each.
    const pages = [20, 33, 46].reduce((n, t) => n + Math.ceil(t / during.kvPageTokens), 0);
    expect(during.kvCache - before.kvCache).toBe(pages * during.kvPageBytes);
    expect(during.recurrentState - before.recurrentState).toBe(3 * during.recurrentBytesPerSequence);
    expect(during.total).toBe(
      during.weights + during.scratch + during.recurrentState + during.kvCache + during.prefixCache + during.pooled,
    );
  });

  test('free blocks past the slack go back after a burst of sequences', async () => {
    const V = model.config.vocab_size;
    const burst = async (n: number) => {
      const seqs = Array.from({ length: n }, () => model.createSequence());
      await Promise.all(seqs.map((s, i) => s.eval(randomTokens(5 + i, V, 40 + i))));
      const held = model.memory();
      seqs.forEach((s) => s.dispose());
      return held;
    };
    await burst(1);
    const before = model.memory();
    const during = await burst(12);
    const after = model.memory();
    expect(during.recurrentState - before.recurrentState).toBe(12 * during.recurrentBytesPerSequence);
    // Nothing is in use afterwards, so at most one chunk per arena stays pooled
    // (state slots are one per chunk): the eleven extra slots were given back.
    expect(after.pooled).toBe(before.pooled);
    expect(after.total - after.scratch).toBe(before.total - before.scratch); // the 12-sequence step grew the scratch
  });

  test('fork shares pages: kvCache grows by at most one page, and both continue correctly', async () => {
    const V = model.config.vocab_size;
    const prefix = randomTokens(40, V, 7); // 2.5 pages of 16
    const a = model.createSequence();
    await a.eval(prefix);
    const m0 = model.memory();
    const b = await a.fork();
    const m1 = model.memory();
    expect(m1.kvCache).toBe(m0.kvCache); // nothing copied yet
    expect(m1.recurrentState - m0.recurrentState).toBe(m0.recurrentBytesPerSequence);
    const la = await a.eval([11, 12]);
    const lb = await b.eval([21, 22, 23]);
    const m2 = model.memory();
    // The shared partial last page is copied once (by whichever wrote first); full pages stay shared.
    expect(m2.kvCache - m1.kvCache).toBeLessThanOrEqual(m1.kvPageBytes);
    expect(maxAbsDiff(la, (await model.logits([...prefix, 11, 12])).subarray(41 * V))).toBeLessThanOrEqual(1e-5);
    expect(maxAbsDiff(lb, (await model.logits([...prefix, 21, 22, 23])).subarray(42 * V))).toBeLessThanOrEqual(1e-5);
    a.dispose();
    b.dispose();
  });
});

describe('memory budget', () => {
  test('OutOfMemoryError past the budget names what was asked and what is left; dispose recovers', async () => {
    const probe = await loadModel(FIXTURE, { threads: 1, kvCacheType: 'f32', prefixCache: false });
    const V = probe.config.vocab_size;
    const s = probe.createSequence();
    await s.eval(randomTokens(30, V, 1));
    const m = probe.memory();
    await probe.dispose();
    // Room for the weights, the scratch of a 30-token step and about 20 sequences.
    const budget = m.weights + m.scratch + 20 * m.recurrentBytesPerSequence;
    const model = await loadModel(FIXTURE, { threads: 1, kvCacheType: 'f32', prefixCache: false, memoryBudget: budget });
    expect(model.memory().budget).toBe(budget);
    const first = model.createSequence();
    await first.eval(randomTokens(30, V, 1));
    const seqs = [first];
    let err: unknown;
    for (let i = 0; i < 100 && err === undefined; i++) {
      try {
        seqs.push(model.createSequence());
      } catch (e) {
        err = e;
      }
    }
    expect(err).toBeInstanceOf(OutOfMemoryError);
    expect((err as OutOfMemoryError).code).toBe('ERR_HYBRIDLM_OOM');
    expect((err as Error).message).toMatch(/recurrent state needs [\d.]+ kB more but only [\d.]+ kB of the [\d.]+ MB budget is left/);
    expect(seqs.length).toBeGreaterThan(5);
    expect(seqs.length).toBeLessThanOrEqual(21);
    expect(model.memory().total).toBeLessThanOrEqual(budget);
    // KV growth past the budget fails that eval only, leaving the sequence as it was.
    const ok = seqs[1].eval([1, 2, 3]);
    const tooLong = seqs[2].eval(randomTokens(400, V, 2));
    await expect(tooLong).rejects.toBeInstanceOf(OutOfMemoryError);
    await ok;
    expect(seqs[1].position).toBe(3);
    expect(seqs[2].position).toBe(0);
    expect(model.memory().total).toBeLessThanOrEqual(budget);
    // Recovers after dispose: the process is alive and the freed room is reusable.
    seqs.pop()!.dispose();
    const again = model.createSequence();
    await again.eval([4, 5]);
    expect(again.position).toBe(2);
    seqs.forEach((q) => q.dispose());
    again.dispose();
    await model.dispose();
  });

  test('maxSequences caps live sequences', async () => {
    const model = await loadModel(FIXTURE, { threads: 1, maxSequences: 2 });
    const a = model.createSequence();
    const b = model.createSequence();
    expect(() => model.createSequence()).toThrow(/maxSequences \(2\)/);
    a.dispose();
    model.createSequence().dispose();
    b.dispose();
    await model.dispose();
  });

  test('bad options are typed errors', async () => {
    await expect(loadModel(FIXTURE, { memoryBudget: 'lots' })).rejects.toThrow(/memoryBudget/);
    await expect(loadModel(FIXTURE, { kvCacheType: 'f8' as never })).rejects.toThrow(/kvCacheType/);
    await expect(loadModel(FIXTURE, { memoryBudget: 1000 })).rejects.toBeInstanceOf(OutOfMemoryError);
  });
});
