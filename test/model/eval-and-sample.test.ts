/**
 * Sampling right after the forward pass (Sequence.evalAndSample): the token
 * the TS sampler picks from eval's logits, step after step and for sequences
 * sharing a step; logprobs as logprobsOf computes them; chunked prefills
 * sample once at the end; misuse is a typed error.
 */
import { ArgumentError, BusyError, loadModel, type Model } from '../../lib';
import { NativeSampler } from '../../lib/generate/native-sampler';
import { Sampler, logprobsOf, type SamplingOptions } from '../../lib/generate/sampling';
import { expectRejects } from '../helpers/expect-error';
import { fixtureGguf, maxAbsDiff, rng } from '../helpers/golden';

const tokensOf = (n: number, vocab: number, seed: number) => {
  const r = rng(seed);
  return Array.from({ length: n }, () => Math.floor(r() * vocab));
};

describe('evalAndSample', () => {
  let model: Model;
  beforeAll(async () => {
    model = await loadModel(fixtureGguf('granite-h-tiny-moe'), { threads: 2, maxStepTokens: 8 });
  });
  afterAll(async () => {
    await model?.dispose();
  });

  test.each<[string, SamplingOptions]>([
    ['greedy', {}],
    ['temperature with penalties', { temperature: 1.3, topK: 0, topP: 0.9, minP: 0, repeatPenalty: 1.2, seed: 11 }],
    ['defaults at temperature 0.7', { temperature: 0.7, seed: 5 }],
  ])('same tokens as eval + the TS sampler, sequences sharing steps: %s', async (_name, options) => {
    const V = model.config.vocab_size;
    const runs = [0, 1, 2].map((i) => {
      const o = { ...options, seed: (options.seed ?? 0) + i };
      return {
        ref: model.createSequence(),
        nat: model.createSequence(),
        ts: new Sampler(o, V),
        sampler: new NativeSampler(o, V),
        history: tokensOf(5 + 9 * i, V, 40 + i), // 23 tokens: a chunked prefill at 8 per step
      };
    });
    let feed = runs.map((r) => r.history.slice());
    for (let step = 0; step < 6; step++) {
      const logits = await Promise.all(runs.map((r, i) => r.ref.eval(feed[i])));
      const got = await Promise.all(runs.map((r, i) => r.nat.evalAndSample(feed[i], r.sampler, { history: r.history, logprobs: 3 })));
      runs.forEach((r, i) => {
        const want = r.ts.sample(logits[i], r.history);
        expect(got[i].token).toBe(want);
        const lp = logprobsOf(logits[i], want, 3);
        expect(got[i].logprob).toBeCloseTo(lp.logprob, 5);
        expect(got[i].top!.map((t) => t.token)).toEqual(lp.top.map((t) => t.token));
        expect(r.nat.position).toBe(r.ref.position);
        r.history.push(want);
      });
      feed = got.map((g) => [g.token]);
    }
    for (const r of runs) {
      r.ref.dispose();
      r.nat.dispose();
    }
  });

  test('plain greedy rows (no logprobs) are picked by the backend: same tokens, in steps shared with rows that return logits', async () => {
    const V = model.config.vocab_size;
    const options: SamplingOptions[] = [{}, { logitBias: { 7: 3 } }, {}, { temperature: 0.8, seed: 3 }];
    const runs = options.map((o, i) => ({
      ref: model.createSequence(),
      nat: model.createSequence(),
      plain: model.createSequence(), // an eval sharing the step: its logits must still come back whole
      ts: new Sampler(o, V),
      sampler: new NativeSampler(o, V),
      history: tokensOf(3 + 4 * i, V, 70 + i),
    }));
    let feed = runs.map((r) => r.history.slice());
    for (let step = 0; step < 5; step++) {
      const logits = await Promise.all(runs.map((r, i) => r.ref.eval(feed[i])));
      const [got, plain] = await Promise.all([
        Promise.all(runs.map((r, i) => r.nat.evalAndSample(feed[i], r.sampler, { history: r.history }))),
        Promise.all(runs.map((r, i) => r.plain.eval(feed[i]))),
      ]);
      runs.forEach((r, i) => {
        const want = r.ts.sample(logits[i], r.history);
        expect(got[i].token).toBe(want);
        expect(got[i].logprob).toBeUndefined();
        expect(maxAbsDiff(plain[i], logits[i])).toBeLessThanOrEqual(1e-4); // batched with other rows: not bit-equal
        r.history.push(want);
      });
      feed = got.map((g) => [g.token]);
    }
    for (const r of runs) {
      r.ref.dispose();
      r.nat.dispose();
      r.plain.dispose();
    }
  });

  test('the sequence continues exactly as after eval (logits of the next step match)', async () => {
    const V = model.config.vocab_size;
    const prompt = tokensOf(19, V, 3);
    const a = model.createSequence();
    const b = model.createSequence();
    const t = await a.evalAndSample(prompt, new NativeSampler({}, V));
    await b.eval(prompt);
    expect(maxAbsDiff(await a.eval([t.token]), await b.eval([t.token]))).toBeLessThanOrEqual(1e-5);
    expect(t.logprob).toBeUndefined();
    a.dispose();
    b.dispose();
  });

  test('misuse is a typed error', async () => {
    const V = model.config.vocab_size;
    const a = model.createSequence();
    const b = model.createSequence();
    await expectRejects(a.evalAndSample([1], new NativeSampler({}, V + 1)), ArgumentError, 'NativeSampler over');
    const shared = new NativeSampler({ temperature: 1, seed: 1 }, V);
    const first = a.evalAndSample([1, 2, 3], shared);
    await expectRejects(b.evalAndSample([1], shared), BusyError, 'give each sequence its own');
    await first;
    // once a's calls settled, b may use it
    await expect(b.evalAndSample([4], shared)).resolves.toHaveProperty('token');
    a.dispose();
    b.dispose();
  });
});
