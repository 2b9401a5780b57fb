/**
 * The prefix-state cache: a fresh generation restores the longest cached
 * prefix of its prompt and prefills only the rest; the output equals a cold
 * prefill's (same greedy tokens; logits within 1e-5 with f32 KV), stats count
 * it, the cache stays under its byte share (LRU), and memory pressure evicts
 * it before anything fails.
 */
import { OutOfMemoryError, loadModel, type Model } from '../../lib';
import { fixtureGguf, maxAbsDiff, rng } from '../helpers/golden';

const FIXTURE = fixtureGguf('granite-h-tiny-dense');
const GREEDY = { maxTokens: 8, ignoreEos: true };

function randomTokens(n: number, vocab: number, seed: number): number[] {
  const r = rng(seed);
  return Array.from({ length: n }, () => Math.floor(r() * vocab));
}

describe('prefix cache', () => {
  let cached: Model;
  let cold: Model;
  let V: number;
  beforeAll(async () => {
    // Checkpoints every 16 tokens so short prompts exercise the aligned boundaries.
    cached = await loadModel(FIXTURE, { threads: 2, kvCacheType: 'f32', prefixCache: { chunkTokens: 16 } });
    cold = await loadModel(FIXTURE, { threads: 2, kvCacheType: 'f32', prefixCache: false });
    V = cached.config.vocab_size;
  });
  afterAll(async () => {
    await cached?.dispose();
    await cold?.dispose();
  });

  test('a longer prompt restores the earlier one and generates what a cold prefill generates', async () => {
    const p1 = randomTokens(50, V, 1);
    const r1 = await cached.complete(p1, GREEDY);
    expect(r1.usage.cachedPromptTokens).toBe(0);
    expect(r1.usage.promptTokens).toBe(50);
    let st = cached.prefixCache.stats();
    expect(st).toMatchObject({ entries: 4, hits: 0, misses: 1, tokensReused: 0 }); // at 16, 32, 48 and the end (50)
    expect(st.bytes).toBeGreaterThan(0);

    const p2 = [...p1, ...randomTokens(12, V, 2)];
    const r2 = await cached.complete(p2, GREEDY);
    expect(r2.usage.cachedPromptTokens).toBe(50);
    expect(r2.usage.promptTokens).toBe(62);
    expect(r2.tokens).toEqual((await cold.complete(p2, GREEDY)).tokens);
    st = cached.prefixCache.stats();
    expect(st).toMatchObject({ hits: 1, misses: 1, tokensReused: 50 });

    // A prompt that leaves p1 at token 40 restores the aligned checkpoint at 32.
    const p3 = [...p1.slice(0, 40), ...randomTokens(5, V, 3)];
    const r3 = await cached.complete(p3, GREEDY);
    expect(r3.usage.cachedPromptTokens).toBe(32);
    expect(r3.tokens).toEqual((await cold.complete(p3, GREEDY)).tokens);
    expect(cached.prefixCache.stats().tokensReused).toBe(82);
  });

  test('logits after a hit are within 1e-5 of a cold prefill', async () => {
    const p = randomTokens(37, V, 4);
    await cached.complete(p, { maxTokens: 1 });
    const next = [...p, 9, 10, 11];
    const { seq, restored } = await cached.sequenceForPrompt(next);
    expect(restored).toBe(37);
    const got = await seq.eval(next.slice(restored), { allLogits: true });
    const want = (await cold.logits(next)).subarray(restored * V);
    expect(maxAbsDiff(got, want)).toBeLessThanOrEqual(1e-5);
    seq.dispose();
  });

  test('an explicit sequence neither reads nor feeds the cache', async () => {
    const before = cached.prefixCache.stats();
    const seq = cached.createSequence();
    const r = await cached.complete(randomTokens(40, V, 5), { ...GREEDY, sequence: seq });
    expect(r.usage.cachedPromptTokens).toBe(0);
    expect(cached.prefixCache.stats()).toEqual(before);
    seq.dispose();
  });

  test('prefixCache: false never caches', async () => {
    const p = randomTokens(30, V, 6);
    await cold.complete(p, GREEDY);
    const r = await cold.complete([...p, 1], GREEDY);
    expect(r.usage.cachedPromptTokens).toBe(0);
    expect(cold.prefixCache.enabled).toBe(false);
    expect(cold.prefixCache.stats()).toEqual({ entries: 0, bytes: 0, hits: 0, misses: 0, tokensReused: 0 });
  });
});

describe('prefix cache under its byte share and the memory budget', () => {
  test('LRU keeps the cache under maxBytes and the most recent prompt still hits', async () => {
    const probe = await loadModel(FIXTURE, { threads: 1, prefixCache: { chunkTokens: 16 } });
    await probe.complete(randomTokens(20, probe.config.vocab_size, 7), { maxTokens: 1 });
    const oneEntry = probe.prefixCache.stats().bytes; // the checkpoints of one 20-token prompt
    await probe.dispose();
    const maxBytes = Math.floor(oneEntry * 2.5);
    const model = await loadModel(FIXTURE, { threads: 1, prefixCache: { chunkTokens: 16, maxBytes } });
    const V = model.config.vocab_size;
    const prompts = Array.from({ length: 6 }, (_, i) => randomTokens(20, V, 100 + i));
    for (const p of prompts) {
      await model.complete(p, { maxTokens: 1 });
      expect(model.prefixCache.stats().bytes).toBeLessThanOrEqual(maxBytes);
    }
    const st = model.prefixCache.stats();
    expect(st.entries).toBeGreaterThan(0);
    expect(st.entries).toBeLessThan(2 * prompts.length); // older ones were evicted
    expect((await model.complete([...prompts[5], 3], { maxTokens: 1 })).usage.cachedPromptTokens).toBe(20);
    expect((await model.complete([...prompts[0], 3], { maxTokens: 1 })).usage.cachedPromptTokens).toBe(0);
    model.prefixCache.clear();
    expect(model.prefixCache.stats().entries).toBe(0);
    await model.dispose();
  });

  test('memory pressure evicts cache entries before OutOfMemoryError', async () => {
    const probe = await loadModel(FIXTURE, { threads: 1, prefixCache: false });
    const s = probe.createSequence();
    await s.eval(randomTokens(40, probe.config.vocab_size, 8));
    const m = probe.memory();
    await probe.dispose();
    const budget = m.weights + m.scratch + 12 * m.recurrentBytesPerSequence;
    const model = await loadModel(FIXTURE, { threads: 1, memoryBudget: budget, prefixCache: { chunkTokens: 8, maxBytes: budget } });
    const V = model.config.vocab_size;
    await model.complete(randomTokens(40, V, 9), { maxTokens: 1 }); // 5 entries, each with a state copy
    const cachedEntries = model.prefixCache.stats().entries;
    expect(cachedEntries).toBeGreaterThanOrEqual(3);
    const seqs = [];
    let err: unknown;
    for (let i = 0; i < 50 && err === undefined; i++) {
      try {
        seqs.push(model.createSequence());
      } catch (e) {
        err = e;
      }
    }
    expect(err).toBeInstanceOf(OutOfMemoryError);
    expect(model.prefixCache.stats().entries).toBe(0); // all evicted before giving up
    expect(seqs.length).toBeGreaterThan(cachedEntries);
    seqs.forEach((q) => q.dispose());
    await model.dispose();
  });
});
