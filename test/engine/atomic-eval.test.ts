/**
 * Atomic evals: a failed or aborted eval leaves its sequence exactly as
 * before — position, recurrent state and KV — so the next logits are those a
 * fresh sequence computes; other sequences in the same steps are unaffected.
 */
import { AbortError, HybridLMError, loadModel, type Model } from '../../lib';
import { fixtureGguf, maxAbsDiff, rng } from '../helpers/golden';

function randomTokens(n: number, vocab: number, seed: number): number[] {
  const r = rng(seed);
  return Array.from({ length: n }, () => Math.floor(r() * vocab));
}

describe('atomic evals', () => {
  let model: Model;
  let V: number;
  beforeAll(async () => {
    // 8-token steps: a 40-token prompt takes five chunks.
    model = await loadModel(fixtureGguf('granite-h-tiny-moe'), { threads: 2, kvCacheType: 'f32', maxStepTokens: 8 });
    V = model.config.vocab_size;
  });
  afterAll(async () => model?.dispose());

  /** Runs `hook(n)` as native step n (1-based) of the model starts, until the returned restore() is called. */
  function onStep(hook: (n: number) => void): () => void {
    const h = model.handle as unknown as { step: (...a: unknown[]) => unknown };
    const original = h.step;
    let n = 0;
    // An own property shadows the (read-only) prototype method.
    Object.defineProperty(h, 'step', {
      configurable: true,
      value: (...args: unknown[]) => {
        hook(++n);
        return original.apply(h, args);
      },
    });
    return () => {
      delete (h as { step?: unknown }).step;
    };
  }

  /** The sequence continues like a fresh one fed `history` then `next`. */
  async function expectLike(seq: ReturnType<Model['createSequence']>, history: number[], next: number[]) {
    expect(seq.position).toBe(history.length);
    const got = await seq.eval(next);
    const want = (await model.logits([...history, ...next])).subarray((history.length + next.length - 1) * V);
    expect(maxAbsDiff(got, want)).toBeLessThanOrEqual(1e-5);
  }

  test('a native failure in the third chunk of a prefill puts the sequence back where the eval started', async () => {
    const seq = model.createSequence();
    const head = randomTokens(11, V, 1);
    await seq.eval(head);
    const other = model.createSequence();
    await other.eval([9, 8, 7]);
    // Two chunks run, the third fails midway through its layers.
    const restore = onStep((n) => n === 3 && model.handle.failNextStep(2));
    const p = seq.eval(randomTokens(40, V, 2));
    await expect(p).rejects.toBeInstanceOf(HybridLMError);
    restore();
    await expect(p).rejects.toThrow(/injected step failure/);
    await expectLike(seq, head, [5, 6]);
    await expectLike(other, [9, 8, 7], [4]);
    seq.dispose();
    other.dispose();
  });

  test('a failure in the first chunk of a fresh sequence leaves it empty', async () => {
    const seq = model.createSequence();
    model.handle.failNextStep(1);
    await expect(seq.eval(randomTokens(5, V, 3))).rejects.toThrow(/injected/);
    await expectLike(seq, [], [1, 2, 3]);
    seq.dispose();
  });

  test('an abort mid-prefill rejects with AbortError within a chunk and leaves the sequence as before', async () => {
    const seq = model.createSequence();
    const head = randomTokens(13, V, 4);
    await seq.eval(head);
    const ac = new AbortController();
    let started = 0;
    const restore = onStep((n) => {
      started = n;
      if (n === 3) ac.abort(); // while chunk 3 runs: it finishes, then the eval stops
    });
    const p = seq.eval(randomTokens(64, V, 5), { signal: ac.signal });
    await expect(p).rejects.toBeInstanceOf(AbortError);
    restore();
    expect(started).toBe(3); // no chunk started after the abort
    await expectLike(seq, head, [7]);
    seq.dispose();
  });

  test('an already aborted signal rejects before anything runs', async () => {
    const seq = model.createSequence();
    const ac = new AbortController();
    ac.abort();
    await expect(seq.eval([1, 2], { signal: ac.signal })).rejects.toBeInstanceOf(AbortError);
    expect(seq.position).toBe(0);
    seq.dispose();
  });

  test("one sequence's bad token does not fail the others in its step", async () => {
    const a = model.createSequence();
    const b = model.createSequence();
    await a.eval([1, 2]);
    await b.eval([3, 4]);
    const { id } = b;
    // Bypass the TS range check: the native step validates too.
    const out = await model.handle.step(
      new Int32Array([a.id, id]),
      new Int32Array([1, 1]),
      new Int32Array([5, V + 3]),
      new Uint8Array(2),
    );
    expect(ArrayBuffer.isView(out[0])).toBe(true);
    expect((out[1] as Error).message).toMatch(/out of range/);
    expect(model.handle.sequencePosition(id)).toBe(2);
    a.dispose();
    b.dispose();
  });
});
