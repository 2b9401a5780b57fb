/**
 * Sampling and stop strings, pure TS: greedy, seeds, top-k/top-p/min-p,
 * penalties, logit bias, banned ids, logprobs, option validation, and stop
 * strings spanning pieces.
 */
import { ArgumentError } from '../../lib/errors';
import { Rng } from '../../lib/generate/rng';
import { Sampler, argmax, logprobsOf, topIndices } from '../../lib/generate/sampling';
import { StopStringMatcher } from '../../lib/generate/stop';

const V = 64;
/** Logits of a smooth distribution: token i has logit -i/8 (0 most likely). */
const ramp = () => Float32Array.from({ length: V }, (_, i) => -i / 8);
const draws = (s: Sampler, logits: Float32Array, n: number) => Array.from({ length: n }, () => s.sample(logits, []));

test('temperature 0 is argmax (first on ties), whatever the truncation', () => {
  const l = ramp();
  l[17] = 5;
  l[40] = 5;
  expect(new Sampler({}, V).sample(l, [])).toBe(17);
  expect(new Sampler({ temperature: 0, topK: 0, topP: 0.1 }, V).sample(l, [])).toBe(17);
  expect(argmax(l)).toBe(17);
});

test('same seed, same draws; different seeds differ', () => {
  const l = ramp();
  const a = draws(new Sampler({ temperature: 1, seed: 7, topK: 0, topP: 1, minP: 0 }, V), l, 50);
  const b = draws(new Sampler({ temperature: 1, seed: 7, topK: 0, topP: 1, minP: 0 }, V), l, 50);
  const c = draws(new Sampler({ temperature: 1, seed: 8, topK: 0, topP: 1, minP: 0 }, V), l, 50);
  expect(a).toEqual(b);
  expect(a).not.toEqual(c);
  expect(new Set(a).size).toBeGreaterThan(5);
});

test('the generator is deterministic and uniform enough', () => {
  const r = new Rng(123);
  const xs = Array.from({ length: 20000 }, () => r.next());
  expect(xs.every((x) => x >= 0 && x < 1)).toBe(true);
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  expect(Math.abs(mean - 0.5)).toBeLessThan(0.01);
  expect(new Rng(123).next()).toBe(xs[0]);
});

test('top-k, top-p and min-p bound the candidates', () => {
  const l = ramp();
  expect(new Set(draws(new Sampler({ temperature: 5, topK: 3, topP: 1, minP: 0, seed: 1 }, V), l, 300))).toEqual(new Set([0, 1, 2]));
  // min-p 0.5: keep p_i >= 0.5 p_0, i.e. i/8 <= ln 2 -> i <= 5
  const minp = new Set(draws(new Sampler({ temperature: 5, topK: 0, topP: 1, minP: 0.5, seed: 2 }, V), l, 600));
  expect(Math.max(...minp)).toBeLessThanOrEqual(5);
  expect(minp.size).toBeGreaterThan(3);
  // top-p: two tokens of 0.45 each then many small ones; p = 0.9 keeps exactly the first two
  const two = new Float32Array(V).fill(-30);
  two[3] = 0;
  two[9] = 0;
  expect(new Set(draws(new Sampler({ temperature: 1, topK: 0, topP: 0.5, minP: 0, seed: 3 }, V), two, 200))).toEqual(new Set([3, 9]));
});

test('logit bias and banned ids', () => {
  const l = ramp();
  expect(new Sampler({ logitBias: { 0: -Infinity } }, V).sample(l, [])).toBe(1);
  expect(new Sampler({ logitBias: new Map([[30, 100]]) }, V).sample(l, [])).toBe(30);
  const usable = (id: number) => id >= 10;
  expect(new Sampler({}, V, usable).sample(l, [])).toBe(10);
  expect(draws(new Sampler({ temperature: 2, topK: 0, topP: 1, minP: 0, seed: 4 }, V, usable), l, 200).every((t) => t >= 10)).toBe(true);
});

test('repetition, presence and frequency penalties over the last N tokens', () => {
  const l = new Float32Array(V);
  l[0] = 2;
  l[1] = 1.5;
  expect(new Sampler({ repeatPenalty: 2 }, V).sample(l, [0])).toBe(1); // 2/2 = 1 < 1.5
  expect(new Sampler({ repeatPenalty: 2, penaltyLastN: 1 }, V).sample(l, [0, 5])).toBe(0); // 0 is outside the window
  expect(new Sampler({ presencePenalty: 0.6 }, V).sample(l, [0, 0, 0])).toBe(1);
  expect(new Sampler({ frequencyPenalty: 0.2 }, V).sample(l, [0, 0])).toBe(0); // 2 - 0.4 > 1.5
  expect(new Sampler({ frequencyPenalty: 0.2 }, V).sample(l, [0, 0, 0])).toBe(1); // 2 - 0.6 < 1.5
  const neg = new Float32Array(V).fill(-5);
  neg[0] = -1;
  neg[1] = -1.5;
  expect(new Sampler({ repeatPenalty: 2 }, V).sample(neg, [0])).toBe(1); // -1 * 2 = -2 < -1.5
});

test('logprobs are the log-softmax of the raw logits, with the top-n alternatives', () => {
  const l = Float32Array.from([2, 1, 0, -1]);
  const z = Math.log(Math.exp(2) + Math.exp(1) + 1 + Math.exp(-1));
  const r = logprobsOf(l, 1, 2);
  expect(r.logprob).toBeCloseTo(1 - z, 6);
  expect(r.top.map((t) => t.token)).toEqual([0, 1]);
  expect(r.top[0].logprob).toBeCloseTo(2 - z, 6);
  expect(topIndices(Float32Array.from([1, 5, 3, 5, -Infinity]), 3)).toEqual([1, 3, 2]);
});

test('bad options are ArgumentErrors naming the option', () => {
  expect(() => new Sampler({ temperature: -1 }, V)).toThrow(/temperature/);
  expect(() => new Sampler({ topK: 1.5 }, V)).toThrow(/topK/);
  expect(() => new Sampler({ topP: 2 }, V)).toThrow(/topP/);
  expect(() => new Sampler({ minP: NaN }, V)).toThrow(/minP/);
  expect(() => new Sampler({ repeatPenalty: 0 }, V)).toThrow(/repeatPenalty/);
  expect(() => new Sampler({ seed: 1.5 }, V)).toThrow(/seed/);
  expect(() => new Sampler({ logitBias: { 99: 1 } }, V)).toThrow(/logitBias key 99/);
  expect(() => new Sampler({ logitBias: { 3: Infinity } }, V)).toThrow(/logitBias\[3\] must be a finite number or -Infinity/);
  expect(() => new Sampler({}, V).sample(new Float32Array(3), [])).toThrow(ArgumentError);
});

describe('StopStringMatcher', () => {
  const run = (stops: string[], pieces: string[]) => {
    const m = new StopStringMatcher(stops);
    let out = '';
    for (const p of pieces) {
      const r = m.push(p);
      out += r.text;
      if (r.stopped) return { out, stopped: r.stopped };
    }
    return { out: out + m.flush(), stopped: null };
  };

  test('a stop string spanning pieces stops and is not emitted', () => {
    expect(run(['END'], ['abc E', 'N', 'D tail'])).toEqual({ out: 'abc ', stopped: 'END' });
    expect(run(['</s>'], ['x<', '/', 's>'])).toEqual({ out: 'x', stopped: '</s>' });
  });

  test('held text is released when the prefix does not continue', () => {
    const m = new StopStringMatcher(['END']);
    expect(m.push('abc E').text).toBe('abc ');
    expect(m.push('X').text).toBe('EX');
    expect(run(['END'], ['E', 'N'])).toEqual({ out: 'EN', stopped: null });
  });

  test('the earliest of several stop strings wins; no stops passes through', () => {
    expect(run(['bb', 'ab'], ['xaab'])).toEqual({ out: 'xa', stopped: 'ab' });
    expect(run([], ['a', 'b'])).toEqual({ out: 'ab', stopped: null });
    expect(run(['a'], ['bab'])).toEqual({ out: 'b', stopped: 'a' });
  });
});
