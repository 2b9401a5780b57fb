/**
 * The native sampler against the TS reference (lib/generate/sampling.ts):
 * same options + same seed + same logits and history = the same token, step
 * after step, for greedy, top-k/top-p/min-p, full sorts, penalties, logit
 * bias (-Infinity included), banned ids, ties and NaN; logprobs agree; bad
 * input is a typed error.
 */
import { ArgumentError, BusyError } from '../../lib/errors';
import { NativeSampler, sampleBatch } from '../../lib/generate/native-sampler';
import { Sampler, logprobsOf, type SamplingOptions } from '../../lib/generate/sampling';
import { expectRejects } from '../helpers/expect-error';
import { prng } from '../helpers/random';

/** Normal-ish logits with scale `s`; `step` > 0 rounds them to multiples of it (many ties). */
function logitsOf(rand: () => number, vocab: number, s = 3, step = 0): Float32Array {
  const l = new Float32Array(vocab);
  for (let i = 0; i < vocab; i++) {
    const v = (rand() + rand() + rand() - 1.5) * s;
    l[i] = step > 0 ? Math.round(v / step) * step : v;
  }
  return l;
}

interface Case {
  name: string;
  options: SamplingOptions;
  vocab?: number;
  /** Batches to run (default 12; fewer for large vocabularies). */
  steps?: number;
  step?: number;
  usable?: (id: number) => boolean;
  edit?: (l: Float32Array, rand: () => number) => void;
}

const cases: Case[] = [
  { name: 'greedy', options: {} },
  { name: 'greedy with ties', options: {}, step: 1 },
  { name: 'defaults, temperature 0.8', options: { temperature: 0.8 } },
  { name: 'top-k with ties', options: { temperature: 1, topK: 20, topP: 1, minP: 0 }, step: 0.5 },
  { name: 'top-k 1', options: { temperature: 2, topK: 1 } },
  { name: 'top-k beyond the vocabulary', options: { temperature: 1, topK: 5000, topP: 0.9, minP: 0 } },
  { name: 'full sort (top-k 0)', options: { temperature: 1.5, topK: 0, topP: 1, minP: 0 } },
  { name: 'full sort with ties and top-p', options: { temperature: 1, topK: 0, topP: 0.5, minP: 0 }, step: 0.25 },
  { name: 'min-p', options: { temperature: 1.2, topK: 0, topP: 1, minP: 0.2 } },
  { name: 'top-p 0 keeps one', options: { temperature: 1, topK: 100, topP: 0, minP: 0 } },
  { name: 'large vocabulary (SIMD top-k scan)', options: { temperature: 0.7, topK: 40 }, vocab: 20_011, steps: 3 },
  { name: 'large vocabulary greedy', options: {}, vocab: 20_011, steps: 3, step: 2 },
  {
    name: 'penalties',
    options: { temperature: 0.9, repeatPenalty: 1.3, presencePenalty: 0.5, frequencyPenalty: 0.3, penaltyLastN: 16 },
  },
  { name: 'greedy with penalties', options: { repeatPenalty: 1.8, frequencyPenalty: 0.7, penaltyLastN: 1000 } },
  {
    name: 'logit bias incl. -Infinity on the best tokens, banned ids',
    options: { temperature: 0.5, logitBias: { 3: -Infinity, 17: 2.5, 40: -1 } },
    usable: (id) => id % 7 !== 0,
    edit: (l) => {
      l[3] = 50;
      l[14] = 40; // banned (14 % 7 === 0)
    },
  },
  {
    name: 'greedy, the argmax banned by -Infinity bias',
    options: { logitBias: new Map([[5, -Infinity]]) },
    edit: (l) => {
      l[5] = 100;
    },
  },
  {
    name: 'NaN and infinite logits',
    options: { temperature: 1, topK: 8 },
    edit: (l, rand) => {
      for (let i = 0; i < 20; i++) l[Math.floor(rand() * l.length)] = NaN;
      l[1] = -Infinity;
      l[2] = -Infinity;
    },
  },
  {
    name: 'NaN at index 0 (greedy keeps 0)',
    options: {},
    edit: (l) => {
      l[0] = NaN;
    },
  },
];

const STEPS = 12;
const ROWS = 3;

test.each(cases)('same tokens as the TS sampler: $name', async (c) => {
  const vocab = c.vocab ?? 700;
  const rand = prng(vocab + c.name.length * 131);
  // ROWS rows with different seeds share each batch; every row is checked against its own TS twin.
  const rows = Array.from({ length: ROWS }, (_, r) => {
    const options = { ...c.options, seed: 1000 + r * 7919 };
    return {
      ts: new Sampler(options, vocab, c.usable),
      nat: new NativeSampler(options, vocab, c.usable),
      history: Array.from({ length: 40 }, () => Math.floor(rand() * Math.min(vocab, 60))),
    };
  });
  for (let step = 0; step < (c.steps ?? STEPS); step++) {
    const logits = rows.map(() => {
      const l = logitsOf(rand, vocab, 3, c.step ?? 0);
      c.edit?.(l, rand);
      return l;
    });
    const want = rows.map((r, i) => r.ts.sample(logits[i], r.history));
    const got = await sampleBatch(rows.map((r, i) => ({ sampler: r.nat, logits: logits[i], history: r.history })));
    expect(got.map((g) => g.token)).toEqual(want);
    rows.forEach((r, i) => r.history.push(want[i]));
  }
});

test('sampled draws spread over the candidates (the test above is not all-argmax)', async () => {
  const vocab = 300;
  const logits = logitsOf(prng(5), vocab, 0.5);
  const nat = new NativeSampler({ temperature: 1, topK: 0, topP: 1, minP: 0, seed: 9 }, vocab);
  const seen = new Set<number>();
  for (let i = 0; i < 40; i++) seen.add((await sampleBatch([{ sampler: nat, logits, history: [] }]))[0].token);
  expect(seen.size).toBeGreaterThan(20);
});

test('every id banned or -Infinity: both fall back to the argmax of what is left', async () => {
  const vocab = 8;
  const logitBias = Object.fromEntries(Array.from({ length: vocab }, (_, i) => [i, -Infinity]));
  for (const temperature of [0, 1]) {
    const options = { temperature, logitBias, seed: 3 };
    const l = Float32Array.from({ length: vocab }, (_, i) => i);
    const want = new Sampler(options, vocab).sample(l, []);
    const [got] = await sampleBatch([{ sampler: new NativeSampler(options, vocab), logits: l, history: [] }]);
    expect(got.token).toBe(want);
  }
});

test('logprobs: the log-softmax of the raw logits and the top-n alternatives, as logprobsOf computes them', async () => {
  const vocab = 20_011;
  const rand = prng(77);
  const samplers = [0, 1].map((s) => new NativeSampler({ temperature: 1, seed: s, repeatPenalty: 1.5 }, vocab));
  const logits = samplers.map(() => logitsOf(rand, vocab, 4));
  const got = await sampleBatch(
    samplers.map((sampler, i) => ({ sampler, logits: logits[i], history: [1, 2, 3] })),
    { logprobs: 5 },
  );
  got.forEach((g, i) => {
    const ref = logprobsOf(logits[i], g.token, 5);
    expect(g.logprob).toBeCloseTo(ref.logprob, 5);
    expect(g.top!.map((t) => t.token)).toEqual(ref.top.map((t) => t.token));
    g.top!.forEach((t, j) => expect(t.logprob).toBeCloseTo(ref.top[j].logprob, 5));
  });
  const onlyChosen = await sampleBatch([{ sampler: samplers[0], logits: logits[0], history: [] }], { logprobs: true });
  expect(onlyChosen[0].logprob).toBeCloseTo(logprobsOf(logits[0], onlyChosen[0].token, 0).logprob, 5);
  expect(onlyChosen[0].top).toBeUndefined();
});

test('bad input is a typed error naming the problem', async () => {
  const s = new NativeSampler({ temperature: 1, seed: 1 }, 16);
  const l = new Float32Array(16);
  await expectRejects(sampleBatch([{ sampler: s, logits: new Float32Array(15), history: [] }]), ArgumentError, 'expected 16 logits');
  await expectRejects(
    sampleBatch([
      { sampler: s, logits: l, history: [] },
      { sampler: s, logits: l, history: [] },
    ]),
    BusyError,
    'row 1',
  );
  // the refused batch released the sampler
  await expect(sampleBatch([{ sampler: s, logits: l, history: [] }])).resolves.toHaveLength(1);
  await expectRejects(sampleBatch([{ sampler: {} as NativeSampler, logits: l, history: [] }]), ArgumentError, 'NativeSampler');
  await expectRejects(sampleBatch([{ sampler: s, logits: l, history: [] }], { logprobs: -2 }), ArgumentError, 'logprobs');
  expect(() => new NativeSampler({ topP: 2 }, 16)).toThrow(/topP/);
  expect(() => new NativeSampler({ logitBias: { 16: 1 } }, 16)).toThrow(/logitBias key 16/);
  expect(() => new NativeSampler({ logitBias: { 2: Infinity } }, 16)).toThrow(/logitBias\[2\]/);
});
