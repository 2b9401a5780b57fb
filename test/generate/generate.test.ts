/**
 * Generation on the golden fixtures: greedy tokens are the argmax of
 * model.logits over prompt + generated; seeded sampling is reproducible;
 * abort stops within one step; a stop string spanning two tokens stops and
 * is not emitted; streaming pieces add up to the result; raw prompts
 * recognise special tokens; chat() parses tool calls; bad options throw.
 */
import { loadModel, type Model } from '../../lib';
import { ArgumentError, UnsupportedError } from '../../lib/errors';
import { FIXTURES, fixtureDir, fixtureGguf } from '../helpers/fixtures';

const PROMPT = 'What does the state space model keep?';

/** Largest value and its index in row r of [rows, V] logits. */
function rowMax(all: Float32Array, V: number, r: number): { max: number; at: number } {
  let at = 0;
  for (let i = 1; i < V; i++) if (all[r * V + i] > all[r * V + at]) at = i;
  return { max: all[r * V + at], at };
}

for (const name of FIXTURES) {
  describe(name, () => {
    let model: Model;
    beforeAll(async () => {
      model = await loadModel(fixtureGguf(name), { device: 'cpu', threads: 2 });
    });
    afterAll(async () => {
      await model?.dispose();
    });

    test('greedy: every generated token is the argmax of logits(prompt + generated so far)', async () => {
      const V = model.config.vocab_size;
      for (const prompt of [PROMPT, '<|start_of_role|>user<|end_of_role|>Hi<|end_of_text|>']) {
        const ids = model.tokenizer.encode(prompt, { special: true });
        const r = await model.complete(prompt, { maxTokens: 12, ignoreEos: true });
        expect(r.tokens.length).toBe(12);
        const all = await model.logits([...ids, ...r.tokens.slice(0, -1)]);
        r.tokens.forEach((t, k) => {
          const row = ids.length - 1 + k;
          const { max, at } = rowMax(all, V, row);
          // equal to the argmax, or within float noise of it (incremental vs one-shot evaluation)
          if (t !== at) expect(max - all[row * V + t]).toBeLessThan(1e-4);
        });
        expect(r.usage).toEqual({ promptTokens: ids.length, cachedPromptTokens: 0, completionTokens: 12, totalTokens: ids.length + 12 });
        expect(r.finishReason).toBe('length');
      }
    });

    test('seeded sampling is reproducible; different seeds differ', async () => {
      const opts = { maxTokens: 24, temperature: 1, topK: 0, topP: 1, minP: 0, ignoreEos: true };
      const a = await model.complete(PROMPT, { ...opts, seed: 11 });
      const b = await model.complete(PROMPT, { ...opts, seed: 11 });
      const c = await model.complete(PROMPT, { ...opts, seed: 12 });
      expect(b.tokens).toEqual(a.tokens);
      expect(b.text).toBe(a.text);
      expect(c.tokens).not.toEqual(a.tokens);
    });

    test('streamed pieces add up to the result text and tokens', async () => {
      const stream = model.generate([{ role: 'user', content: PROMPT }], { maxTokens: 16, temperature: 0.9, seed: 5, ignoreEos: true, logprobs: 3 });
      let text = '';
      const tokens: number[] = [];
      for await (const piece of stream) {
        text += piece.text;
        tokens.push(...piece.tokens);
        expect(piece.logprobs?.length).toBe(piece.tokens.length);
      }
      const r = await stream.result;
      expect(text).toBe(r.text);
      expect(tokens).toEqual(r.tokens);
      expect(r.logprobs?.length).toBe(16);
      for (const lp of r.logprobs!) {
        expect(lp.logprob).toBeLessThanOrEqual(0);
        expect(lp.top?.length).toBe(3);
        expect(lp.top![0].logprob).toBeGreaterThanOrEqual(lp.logprob - 1e-9);
      }
      expect(r.timings.prefillTokensPerSecond).toBeGreaterThan(0);
      expect(r.timings.decodeTokensPerSecond).toBeGreaterThan(0);
    });

    test('abort stops within one step', async () => {
      const controller = new AbortController();
      const stream = model.generate(PROMPT, { maxTokens: 200, ignoreEos: true, signal: controller.signal });
      let seen = 0;
      for await (const piece of stream) {
        seen += piece.tokens.length;
        if (seen >= 3) controller.abort();
      }
      const r = await stream.result;
      expect(r.finishReason).toBe('abort');
      expect(r.tokens.length).toBeLessThanOrEqual(seen + 1);
      expect(r.tokens.length).toBeLessThan(200);
      const pre = new AbortController();
      pre.abort();
      const none = await model.complete(PROMPT, { signal: pre.signal });
      expect(none.tokens).toEqual([]);
      expect(none.finishReason).toBe('abort');
    });

    test('breaking out of the stream stops generation; result reports what was made', async () => {
      const stream = model.generate(PROMPT, { maxTokens: 100, ignoreEos: true, temperature: 1, seed: 2 });
      for await (const _ of stream) break;
      const r = await stream.result;
      expect(r.finishReason).toBe('abort');
      expect(r.tokens.length).toBeLessThan(100);
      expect(model.memory().sequences).toBe(0);
    });

    test('a stop string spanning two tokens stops generation and is not emitted', async () => {
      const opts = { maxTokens: 40, temperature: 1, topK: 0, topP: 1, minP: 0, seed: 21, ignoreEos: true };
      const free = await model.complete(PROMPT, opts);
      const pieces = free.tokens.map((t) => model.tokenizer.decode([t]));
      const printable = (s: string) => /^[\x21-\x7e]+$/.test(s);
      // two adjacent tokens with printable text; the stop string takes the end of one and the start of the next
      let k = -1;
      let stop = '';
      for (let i = 1; i + 1 < pieces.length && k < 0; i++) {
        const cand = pieces[i].slice(-1) + pieces[i + 1].slice(0, 1);
        if (printable(pieces[i]) && printable(pieces[i + 1]) && !free.text.slice(0, pieces.slice(0, i + 1).join('').length - 1).includes(cand)) {
          k = i;
          stop = cand;
        }
      }
      expect(k).toBeGreaterThan(0);
      const before = pieces.slice(0, k + 1).join('').slice(0, -1);
      const stream = model.generate(PROMPT, { ...opts, stop: ['\u0000never', stop] });
      let streamed = '';
      for await (const piece of stream) streamed += piece.text;
      const r = await stream.result;
      expect(r.finishReason).toBe('stop');
      expect(r.stoppedBy).toEqual({ string: stop });
      expect(r.text).toBe(before);
      expect(streamed).toBe(before);
      expect(r.text).not.toContain(stop);
      expect(r.tokens).toEqual(free.tokens.slice(0, k + 2));
    });

    test('stops on EOS by default, and on given stop tokens', async () => {
      const eos = model.tokenizer.eosTokenId!;
      const r = await model.complete(PROMPT, { maxTokens: 30, logitBias: { [eos]: 1000 } });
      expect(r.finishReason).toBe('stop');
      expect(r.stoppedBy).toEqual({ token: eos });
      expect(r.tokens).toEqual([]);
      const first = (await model.complete(PROMPT, { maxTokens: 1 })).tokens[0];
      const s = await model.complete(PROMPT, { maxTokens: 5, stopTokens: [first] });
      expect(s.stoppedBy).toEqual({ token: first });
    });

    test('raw prompts recognise special-token text; token-id prompts work without text', async () => {
      const special = '<|start_of_role|>user<|end_of_role|>';
      const r = await model.complete(special, { maxTokens: 1 });
      expect(r.usage.promptTokens).toBe(model.tokenizer.encode(special, { special: true }).length);
      expect(r.usage.promptTokens).toBeLessThan(model.tokenizer.encode(special).length);
      const ids = model.tokenizer.encode(PROMPT);
      const a = await model.complete(ids, { maxTokens: 4, ignoreEos: true });
      const b = await model.complete(PROMPT, { maxTokens: 4, ignoreEos: true });
      expect(a.tokens).toEqual(b.tokens);
    });

    test('chat() renders the template, parses tool calls, and continues a given sequence', async () => {
      const messages = [{ role: 'user' as const, content: PROMPT }];
      const r = await model.chat(messages, { maxTokens: 8 });
      expect(r.usage.promptTokens).toBe(model.tokenizer.encodeChat(messages, { addGenerationPrompt: true }).length);
      expect(r.message.role).toBe('assistant');
      expect(Array.isArray(r.toolCalls)).toBe(true);
      const seq = model.createSequence();
      const first = await model.complete(PROMPT, { sequence: seq, maxTokens: 3, ignoreEos: true });
      expect(seq.position).toBe(first.usage.promptTokens + 2);
      seq.dispose();
    });

    test('bad options and prompts are ArgumentErrors naming the culprit', async () => {
      await expect(model.complete(PROMPT, { maxTokens: 0 })).rejects.toThrow(/maxTokens/);
      await expect(model.complete(PROMPT, { temperature: -2 })).rejects.toThrow(/temperature/);
      await expect(model.complete(PROMPT, { stop: [3 as unknown as string] })).rejects.toThrow(/stop/);
      await expect(model.complete('', {})).rejects.toThrow(ArgumentError);
      await expect(model.complete([1, 99999], {})).rejects.toThrow(/prompt\[1\] = 99999/);
      await expect(model.chat([], {})).rejects.toThrow(ArgumentError);
      expect(model.memory().sequences).toBe(0);
    });
  });
}

test('a model without a tokenizer generates tokens only and says why it has no tokenizer', async () => {
  const { makeTmpDir, removeTmpDir } = await import('../helpers/fixtures');
  const fs = await import('node:fs');
  const path = await import('node:path');
  const dir = makeTmpDir('notok');
  try {
    for (const f of ['config.json', 'model.safetensors']) fs.copyFileSync(path.join(fixtureDir('granite-h-tiny-dense'), f), path.join(dir, f));
    const model = await loadModel(dir, { device: 'cpu', threads: 1 });
    try {
      expect(model.hasTokenizer).toBe(false);
      expect(() => model.tokenizer).toThrow(UnsupportedError);
      expect(() => model.tokenizer).toThrow(/tokenizer\.json/);
      const r = await model.complete([1, 2, 3], { maxTokens: 3, ignoreEos: true });
      expect(r.tokens.length).toBe(3);
      expect(r.text).toBe('');
      await expect(model.complete('text')).rejects.toThrow(UnsupportedError);
    } finally {
      await model.dispose();
    }
  } finally {
    removeTmpDir(dir);
  }
});
