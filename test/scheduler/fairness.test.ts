/**
 * Scheduler policy on a fake native handle (no model): the prefill share is
 * kept while a prompt waits, maxBatchSequences and maxStepTokens hold, and
 * decodes beyond the batch cap are served round-robin.
 */
import type { NativeModelHandle } from '../../lib/native-types';
import { StepScheduler } from '../../lib/scheduler/step-scheduler';

interface Step {
  ids: number[];
  counts: number[];
}

function fakeHandle(steps: Step[]): NativeModelHandle {
  return {
    step: async (ids: Int32Array, counts: Int32Array) => {
      steps.push({ ids: [...ids], counts: [...counts] });
      return [...ids].map(() => new Float32Array(4));
    },
  } as unknown as NativeModelHandle;
}

test('decodes never starve a prefill: each step keeps the prefill share while a prompt waits', async () => {
  const steps: Step[] = [];
  const s = new StepScheduler(() => fakeHandle(steps), { maxStepTokens: 16, maxBatchSequences: 64, prefillShare: 0.25 });
  // 40 sequences decoding one token at a time, for 10 rounds each ...
  const decoders = Array.from({ length: 40 }, async (_, seq) => {
    for (let i = 0; i < 10; i++) await s.submit(seq, new Int32Array([1]));
  });
  // ... and a 100-token prompt arriving with them.
  const prefill = s.submit(1000, new Int32Array(100));
  await Promise.all([...decoders, prefill]);
  let prefillTokens = 0;
  for (const st of steps) {
    const total = st.counts.reduce((a, b) => a + b, 0);
    expect(total).toBeLessThanOrEqual(16);
    const at = st.ids.indexOf(1000);
    if (prefillTokens < 100) {
      expect(at).toBeGreaterThanOrEqual(0); // every step until the prompt is done
      expect(st.counts[at]).toBeGreaterThanOrEqual(4); // >= 25% of 16
    }
    if (at >= 0) prefillTokens += st.counts[at];
  }
  expect(prefillTokens).toBe(100);
  // At >= 4 tokens per step the prompt is done within 25 steps, while 400 decode tokens compete.
  const last = steps.findIndex((st, i) => steps.slice(0, i + 1).reduce((n, x) => n + (x.counts[x.ids.indexOf(1000)] ?? 0), 0) === 100);
  expect(last).toBeLessThan(25);
});

test('maxBatchSequences caps a step and decodes beyond it are served round-robin', async () => {
  const steps: Step[] = [];
  const s = new StepScheduler(() => fakeHandle(steps), { maxStepTokens: 512, maxBatchSequences: 4 });
  const served = new Map<number, number[]>();
  await Promise.all(
    Array.from({ length: 10 }, async (_, seq) => {
      for (let i = 0; i < 3; i++) {
        await s.submit(seq, new Int32Array([1]));
        served.set(seq, [...(served.get(seq) ?? []), steps.length]);
      }
    }),
  );
  for (const st of steps) expect(st.ids.length).toBeLessThanOrEqual(4);
  expect(steps.length).toBe(Math.ceil(30 / 4));
  // Round-robin: every sequence gets its first token within the first ceil(10 / 4) steps.
  for (const [, at] of served) expect(at[0]).toBeLessThanOrEqual(3);
});

test('a caching prompt is cut at multiples of the prefix chunk', async () => {
  const steps: Step[] = [];
  const s = new StepScheduler(() => fakeHandle(steps), { maxStepTokens: 100, prefixChunkTokens: 32 });
  await s.submit(7, new Int32Array(90), { cachePrefix: true, startPosition: 10 });
  expect(steps.map((st) => st.counts[0])).toEqual([22, 32, 32, 4]); // ends at positions 32, 64, 96, 100
});
