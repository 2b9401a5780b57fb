/**
 * A real server on 127.0.0.1 driven by the official `openai` client:
 * chat and completions, streamed and not, include_usage, n=2 (forks),
 * stop strings, seeds, logprobs, tools reaching the prompt, and 16
 * concurrent streaming clients. Expected texts come from the library's own
 * generation (tested against the golden fixtures elsewhere), so the server
 * must reproduce exactly what the engine makes.
 */
import OpenAI from 'openai';
import type { Model } from '../../lib/model';
import type { ChatMessage } from '../../lib/tokenizer/types';
import { type RunningServer, http, loadTestModel, metric, startServer } from '../helpers/serve';

const KEY = 'test-key';
let model: Model;
let srv: RunningServer;
let client: OpenAI;

beforeAll(async () => {
  model = await loadTestModel();
  srv = await startServer(model, { apiKey: KEY, maxSequences: 4, maxQueue: 32 });
  client = new OpenAI({ baseURL: `${srv.url}/v1`, apiKey: KEY, maxRetries: 0 });
});

afterAll(async () => {
  await srv.close();
  await model.dispose();
});

const user = (content: string): ChatMessage[] => [{ role: 'user', content }];
// The sampling the server uses for OpenAI's fields when a request sets only temperature.
const openaiSampling = { topP: 1, topK: 0, minP: 0 };

test('chat completion: OpenAI shape, the engine text, usage', async () => {
  const r = await client.chat.completions.create({ model: 'tiny', messages: [{ role: 'user', content: 'Hello there' }], max_tokens: 8 });
  const expected = await model.chat(user('Hello there'), { maxTokens: 8, ...openaiSampling });
  expect(r.object).toBe('chat.completion');
  expect(r.id).toMatch(/^chatcmpl-/);
  expect(r.model).toBe('tiny');
  expect(r.choices).toHaveLength(1);
  expect(r.choices[0].message.role).toBe('assistant');
  expect(r.choices[0].message.content).toBe(expected.text);
  expect(r.choices[0].finish_reason).toBe(expected.finishReason === 'length' ? 'length' : 'stop');
  const promptLen = model.tokenizer.encodeChat(user('Hello there'), { addGenerationPrompt: true }).length;
  expect(r.usage).toEqual({
    prompt_tokens: promptLen,
    completion_tokens: expected.tokens.length,
    total_tokens: promptLen + expected.tokens.length,
    prompt_tokens_details: { cached_tokens: expect.any(Number) },
  });
});

test('streamed chat: same id throughout, role first, deltas join to the whole text, include_usage last', async () => {
  const whole = await client.chat.completions.create({ model: 'tiny', messages: [{ role: 'user', content: 'Stream me' }], max_tokens: 10 });
  const stream = await client.chat.completions.create({
    model: 'tiny',
    messages: [{ role: 'user', content: 'Stream me' }],
    max_tokens: 10,
    stream: true,
    stream_options: { include_usage: true },
  });
  const chunks = [];
  for await (const c of stream) chunks.push(c);
  expect(new Set(chunks.map((c) => c.id)).size).toBe(1);
  expect(chunks.every((c) => c.object === 'chat.completion.chunk')).toBe(true);
  expect(chunks[0].choices[0].delta.role).toBe('assistant');
  const text = chunks.flatMap((c) => c.choices.map((ch) => ch.delta.content ?? '')).join('');
  expect(text).toBe(whole.choices[0].message.content);
  const finishes = chunks.flatMap((c) => c.choices.filter((ch) => ch.finish_reason !== null));
  expect(finishes).toHaveLength(1);
  expect(finishes[0].finish_reason).toBe(whole.choices[0].finish_reason);
  const last = chunks[chunks.length - 1];
  expect(last.choices).toEqual([]);
  expect(last.usage).toEqual(whole.usage);
  // Every chunk before the last carries usage: null.
  expect(chunks.slice(0, -1).every((c) => c.usage === null)).toBe(true);
});

test('n=2 greedy: both forks reproduce the single-choice text; sampled forks follow seed + index', async () => {
  const one = await client.chat.completions.create({ model: 'tiny', messages: [{ role: 'user', content: 'Fork me' }], max_tokens: 12 });
  const two = await client.chat.completions.create({ model: 'tiny', messages: [{ role: 'user', content: 'Fork me' }], max_tokens: 12, n: 2 });
  expect(two.choices.map((c) => c.index)).toEqual([0, 1]);
  for (const c of two.choices) expect(c.message.content).toBe(one.choices[0].message.content);
  expect(two.usage!.prompt_tokens).toBe(one.usage!.prompt_tokens);
  expect(two.usage!.completion_tokens).toBe(2 * one.usage!.completion_tokens);

  const sampled = (n: number, seed: number) =>
    client.chat.completions.create({ model: 'tiny', messages: [{ role: 'user', content: 'Fork me' }], max_tokens: 12, n, seed, temperature: 1 });
  const [pair, first, second] = await Promise.all([sampled(2, 40), sampled(1, 40), sampled(1, 41)]);
  expect(pair.choices[0].message.content).toBe(first.choices[0].message.content);
  expect(pair.choices[1].message.content).toBe(second.choices[0].message.content);
});

test('seed determinism: the same seed gives the same sampled text', async () => {
  const ask = () => client.chat.completions.create({ model: 'tiny', messages: [{ role: 'user', content: 'Roll' }], max_tokens: 16, temperature: 1.2, seed: 1234 });
  const [a, b] = await Promise.all([ask(), ask()]);
  expect(a.choices[0].message.content).toBe(b.choices[0].message.content);
  const direct = await model.chat(user('Roll'), { maxTokens: 16, temperature: 1.2, seed: 1234, ...openaiSampling });
  expect(a.choices[0].message.content).toBe(direct.text);
});

test('stop: generation ends before the stop string with finish_reason stop', async () => {
  const plain = await client.completions.create({ model: 'tiny', prompt: 'Once upon a time', max_tokens: 24 });
  const text = plain.choices[0].text;
  expect(text.length).toBeGreaterThan(4);
  const stopAt = text.slice(3, 5);
  const cut = text.slice(0, text.indexOf(stopAt));
  const stopped = await client.completions.create({ model: 'tiny', prompt: 'Once upon a time', max_tokens: 24, stop: [stopAt] });
  expect(stopped.choices[0].text).toBe(cut);
  expect(stopped.choices[0].finish_reason).toBe('stop');
});

test('completions: string, strings and token ids; streamed text equals the whole', async () => {
  const ids = model.tokenizer.encode('Token ids work');
  const r = await client.completions.create({ model: 'tiny', prompt: ['First prompt', 'Second prompt'], max_tokens: 6, n: 2 });
  expect(r.object).toBe('text_completion');
  expect(r.choices.map((c) => c.index)).toEqual([0, 1, 2, 3]);
  const single = await client.completions.create({ model: 'tiny', prompt: 'Second prompt', max_tokens: 6 });
  expect(r.choices[2].text).toBe(single.choices[0].text);
  expect(r.choices[3].text).toBe(single.choices[0].text);
  const byIds = await client.completions.create({ model: 'tiny', prompt: ids, max_tokens: 6 });
  const byText = await client.completions.create({ model: 'tiny', prompt: 'Token ids work', max_tokens: 6 });
  expect(byIds.choices[0].text).toBe(byText.choices[0].text);
  expect(byIds.usage!.prompt_tokens).toBe(ids.length);

  const stream = await client.completions.create({ model: 'tiny', prompt: 'Token ids work', max_tokens: 6, stream: true, stream_options: { include_usage: true } });
  let text = '';
  let usage = null;
  for await (const c of stream) {
    text += c.choices.map((ch) => ch.text).join('');
    if (c.usage) usage = c.usage;
  }
  expect(text).toBe(byText.choices[0].text);
  expect(usage).toEqual(byText.usage);
});

test('logprobs: one entry per token, top alternatives sorted, the greedy choice on top', async () => {
  const r = await client.chat.completions.create({ model: 'tiny', messages: [{ role: 'user', content: 'Probabilities' }], max_tokens: 5, logprobs: true, top_logprobs: 3 });
  const content = r.choices[0].logprobs!.content!;
  expect(content).toHaveLength(r.usage!.completion_tokens);
  for (const t of content) {
    expect(t.logprob).toBeLessThanOrEqual(0);
    expect(t.top_logprobs).toHaveLength(3);
    const lps = t.top_logprobs.map((x) => x.logprob);
    expect([...lps].sort((a, b) => b - a)).toEqual(lps);
    // Greedy: the chosen token is the most likely one.
    expect(t.top_logprobs[0].token).toBe(t.token);
    expect(t.top_logprobs[0].logprob).toBeCloseTo(t.logprob, 10);
    expect(Buffer.from(t.bytes!).toString('utf8')).toBe(t.token);
  }
  const c = await client.completions.create({ model: 'tiny', prompt: 'Probabilities', max_tokens: 4, logprobs: 2 });
  const lp = c.choices[0].logprobs!;
  expect(lp.tokens).toHaveLength(4);
  expect(lp.token_logprobs).toHaveLength(4);
  expect(lp.top_logprobs!.every((t) => Object.keys(t).length >= 1)).toBe(true);
  expect(lp.text_offset![0]).toBe(0);
});

test('tools reach the prompt through the chat template', async () => {
  const tools = [
    { type: 'function' as const, function: { name: 'get_weather', description: 'Weather in a city', parameters: { type: 'object', properties: { city: { type: 'string' } } } } },
  ];
  const messages = [{ role: 'user' as const, content: 'Weather in Paris?' }];
  const withTools = await client.chat.completions.create({ model: 'tiny', messages, tools, max_tokens: 2 });
  const without = await client.chat.completions.create({ model: 'tiny', messages, max_tokens: 2 });
  const tokenized = await http(`${srv.url}/tokenize`, { body: { messages, tools }, headers: { authorization: `Bearer ${KEY}` } });
  expect(tokenized.status).toBe(200);
  expect(withTools.usage!.prompt_tokens).toBe(tokenized.json.count);
  expect(tokenized.json.count).toBeGreaterThan(without.usage!.prompt_tokens);
  const text = await http(`${srv.url}/detokenize`, { body: { tokens: tokenized.json.tokens }, headers: { authorization: `Bearer ${KEY}` } });
  expect(text.json.prompt).toContain('"name": "get_weather"');
  expect(text.json.prompt).toContain('Weather in a city');
  // tool_choice 'none' leaves them out.
  const none = await client.chat.completions.create({ model: 'tiny', messages, tools, tool_choice: 'none', max_tokens: 2 });
  expect(none.usage!.prompt_tokens).toBe(without.usage!.prompt_tokens);
});

test('a second turn of a conversation reports cached_tokens from the prefix cache, and the same reply as a cold prefill', async () => {
  const turn1 = [
    { role: 'system' as const, content: 'You answer in one short sentence.' },
    { role: 'user' as const, content: 'What is a state space model?' },
  ];
  const first = await client.chat.completions.create({ model: 'tiny', messages: turn1, max_tokens: 6 });
  const turn2 = [...turn1, { role: 'assistant' as const, content: first.choices[0].message.content ?? '' }, { role: 'user' as const, content: 'And a transformer?' }];
  const hitsBefore = (await metric(srv.url, 'hybridlm_prefix_cache_hits_total', { authorization: `Bearer ${KEY}` }))!;
  const second = await client.chat.completions.create({ model: 'tiny', messages: turn2, max_tokens: 6 });
  const cached = second.usage!.prompt_tokens_details!.cached_tokens!;
  // At least the whole first-turn prompt was restored instead of recomputed.
  expect(cached).toBeGreaterThanOrEqual(first.usage!.prompt_tokens - 1);
  expect(cached).toBeLessThan(second.usage!.prompt_tokens);
  expect(await metric(srv.url, 'hybridlm_prefix_cache_hits_total', { authorization: `Bearer ${KEY}` })).toBeGreaterThan(hitsBefore);
  const cold = await loadTestModel({ prefixCache: false });
  try {
    const expected = await cold.chat(turn2, { maxTokens: 6, ...openaiSampling });
    expect(second.choices[0].message.content).toBe(expected.text);
    expect((expected.usage as { cachedPromptTokens?: number }).cachedPromptTokens).toBe(0);
  } finally {
    await cold.dispose();
  }
  // n = 2 starts its forks from the cache too.
  const pair = await client.chat.completions.create({ model: 'tiny', messages: turn2, max_tokens: 6, n: 2 });
  expect(pair.usage!.prompt_tokens_details!.cached_tokens).toBeGreaterThan(0);
  for (const c of pair.choices) expect(c.message.content).toBe(second.choices[0].message.content);
});

test('/v1/models lists the served model', async () => {
  const list = await client.models.list();
  expect(list.data.map((m) => m.id)).toEqual(['tiny']);
  expect((await client.models.retrieve('tiny')).id).toBe('tiny');
});

test('16 concurrent streaming clients all complete with correct framing', async () => {
  const prompts = Array.from({ length: 16 }, (_, i) => `Client number ${i} says hello`);
  const expected = await Promise.all(prompts.map((p) => model.chat(user(p), { maxTokens: 12, ...openaiSampling })));
  const runs = prompts.map(async (p) => {
    const stream = await client.chat.completions.create({ model: 'tiny', messages: [{ role: 'user', content: p }], max_tokens: 12, stream: true });
    const ids = new Set<string>();
    let text = '';
    let finishes = 0;
    for await (const c of stream) {
      ids.add(c.id);
      for (const ch of c.choices) {
        text += ch.delta.content ?? '';
        if (ch.finish_reason) finishes++;
      }
    }
    return { ids: ids.size, text, finishes };
  });
  const got = await Promise.all(runs);
  got.forEach((g, i) => {
    expect(g.ids).toBe(1);
    expect(g.finishes).toBe(1);
    expect(g.text).toBe(expected[i].text);
  });
  const auth = { authorization: `Bearer ${KEY}` };
  expect(await metric(srv.url, 'hybridlm_requests_running', auth)).toBe(0);
  expect(await metric(srv.url, 'hybridlm_sequences_live', auth)).toBe(0);
});

test('/metrics: Prometheus text with the hybridlm series and the vllm: aliases the endpoint picker reads', async () => {
  const auth = { authorization: `Bearer ${KEY}` };
  await client.completions.create({ model: 'tiny', prompt: 'Metrics', max_tokens: 3 });
  const { text, headers } = await http(`${srv.url}/metrics`, { headers: auth });
  expect(headers.get('content-type')).toMatch(/^text\/plain/);
  for (const name of [
    'vllm:num_requests_running',
    'vllm:num_requests_waiting',
    'vllm:kv_cache_usage_perc',
    'hybridlm_kv_pages_in_use',
    'hybridlm_kv_pages_capacity',
    'hybridlm_state_slots_capacity',
    'hybridlm_prefix_cache_hits_total',
    'hybridlm_prefix_cache_misses_total',
    'hybridlm_prefix_cache_bytes',
  ]) {
    expect(text).toMatch(new RegExp(`^# TYPE ${name} (gauge|counter)$`, 'm'));
  }
  expect(text).toMatch(/^hybridlm_time_to_first_token_seconds_count [1-9]/m);
  expect(text).toMatch(/^hybridlm_inter_token_latency_seconds_count [1-9]/m);
  expect(await metric(srv.url, 'hybridlm_state_slots_capacity', auth)).toBe(4);
  const usage = (await metric(srv.url, 'vllm:kv_cache_usage_perc', auth))!;
  expect(usage).toBeGreaterThanOrEqual(0);
  expect(usage).toBeLessThanOrEqual(1);
  const prompt = (await metric(srv.url, 'hybridlm_prompt_tokens_total', auth))!;
  await client.completions.create({ model: 'tiny', prompt: [1, 2, 3, 4, 5], max_tokens: 2 });
  expect(await metric(srv.url, 'hybridlm_prompt_tokens_total', auth)).toBe(prompt + 5);
});
