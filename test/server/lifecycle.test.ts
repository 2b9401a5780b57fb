/**
 * Requests over their whole life against a real server: a client that aborts
 * mid-stream leaves no running request and no live sequence (read from
 * /metrics), a drain lets in-flight requests finish while new ones get 503,
 * and tool calls in a reply come back as OpenAI `tool_calls`, whole and
 * streamed (a scripted engine writes the reply: random weights cannot).
 */
import OpenAI from 'openai';
import type { Model } from '../../lib/model';
import { http, loadTestModel, metric, scriptedEngine, startServer, waitFor } from '../helpers/serve';

let model: Model;
// Special tokens are dropped from the text; banning them (EOS included) makes every token stream and nothing but an abort stop early.
const banSpecials = Object.fromEntries(Array.from({ length: 16 }, (_, i) => [496 + i, -100]));

beforeAll(async () => {
  model = await loadTestModel();
});

afterAll(async () => {
  await model.dispose();
});

test('a client aborting mid-stream frees its request and sequences within a step', async () => {
  const srv = await startServer(model, { maxSequences: 4 });
  try {
    const client = new OpenAI({ baseURL: `${srv.url}/v1`, apiKey: 'none', maxRetries: 0 });
    const before = (await metric(srv.url, 'hybridlm_generation_tokens_total')) ?? 0;
    const maxTokens = 4000;
    for (const n of [1, 2]) {
      const controller = new AbortController();
      const stream = await client.chat.completions.create(
        { model: 'tiny', messages: [{ role: 'user', content: 'Talk for a long time' }], max_tokens: maxTokens, n, stream: true, logprobs: true, logit_bias: banSpecials },
        { signal: controller.signal },
      );
      let pieces = 0;
      let finished = false;
      // The openai client ends the iteration quietly on abort.
      for await (const c of stream) {
        // With logprobs every token makes a chunk, so the third arrives mid-generation.
        if (c.choices[0]?.logprobs && ++pieces === 3) controller.abort();
        if (c.choices[0]?.finish_reason) finished = true;
      }
      expect(pieces).toBeGreaterThanOrEqual(3);
      expect(finished).toBe(false);
      const running = await waitFor(() => metric(srv.url, 'hybridlm_requests_running'), (v) => v === 0);
      expect(running).toBe(0);
      expect(await metric(srv.url, 'hybridlm_sequences_live')).toBe(0);
      expect(model.memory().sequences).toBe(0);
    }
    // Generation stopped long before max_tokens (EOS banned: only the abort could stop it).
    const generated = (await metric(srv.url, 'hybridlm_generation_tokens_total'))! - before;
    expect(generated).toBeLessThan(maxTokens);
    // The server still answers.
    expect((await http(`${srv.url}/health`)).status).toBe(200);
  } finally {
    await srv.close();
  }
});

test('drain: in-flight requests finish, new ones and /health get 503, then the listener closes', async () => {
  const srv = await startServer(model, { drainTimeoutMs: 60_000 });
  const inflight = http(`${srv.url}/v1/completions`, { body: { prompt: 'Long enough', max_tokens: 200, logit_bias: { 496: -100 } } });
  await waitFor(() => metric(srv.url, 'hybridlm_requests_running'), (v) => v === 1);
  const draining = srv.server.drain();
  const health = await http(`${srv.url}/health`);
  expect(health.status).toBe(503);
  expect(health.json).toEqual({ status: 'draining' });
  const refused = await http(`${srv.url}/v1/completions`, { body: { prompt: 'x', max_tokens: 2 } });
  expect(refused.status).toBe(503);
  expect(refused.json.error.code).toBe('service_unavailable');
  const done = await inflight;
  expect(done.status).toBe(200);
  expect(done.json.usage.completion_tokens).toBe(200);
  await draining;
  await expect(fetch(`${srv.url}/health`)).rejects.toThrow();
  expect(model.memory().sequences).toBe(0);
});

test('drain past its timeout cancels what is left with 503', async () => {
  const srv = await startServer(scriptedEngine(model, () => 'hang'), { drainTimeoutMs: 0 });
  const inflight = http(`${srv.url}/v1/chat/completions`, { body: { messages: [{ role: 'user', content: 'x' }] } });
  await waitFor(() => metric(srv.url, 'hybridlm_requests_running'), (v) => v === 1);
  await srv.server.drain();
  const r = await inflight;
  expect(r.status).toBe(503);
});

describe('tool calls', () => {
  const tools = [{ type: 'function' as const, function: { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } } }];
  const call = '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n</tool_call>';

  test('a tool-call reply answers tool_calls with finish_reason tool_calls, whole and streamed', async () => {
    const srv = await startServer(scriptedEngine(model, () => `Let me check. ${call}`));
    try {
      const client = new OpenAI({ baseURL: `${srv.url}/v1`, apiKey: 'none', maxRetries: 0 });
      const r = await client.chat.completions.create({ model: 'tiny', messages: [{ role: 'user', content: 'Weather?' }], tools });
      const choice = r.choices[0];
      expect(choice.finish_reason).toBe('tool_calls');
      expect(choice.message.content).toBe('Let me check.');
      expect(choice.message.tool_calls).toHaveLength(1);
      const tc = choice.message.tool_calls![0] as { id: string; type: string; function: { name: string; arguments: string } };
      expect(tc.type).toBe('function');
      expect(tc.id).toMatch(/^call_/);
      expect(tc.function.name).toBe('get_weather');
      expect(JSON.parse(tc.function.arguments)).toEqual({ city: 'Paris' });

      const stream = await client.chat.completions.create({ model: 'tiny', messages: [{ role: 'user', content: 'Weather?' }], tools, stream: true });
      let content = '';
      const calls: Array<{ index: number; name?: string; args: string }> = [];
      let finish: string | null = null;
      for await (const c of stream) {
        for (const ch of c.choices) {
          content += ch.delta.content ?? '';
          for (const d of ch.delta.tool_calls ?? []) {
            calls[d.index] ??= { index: d.index, args: '' };
            if (d.function?.name) calls[d.index].name = d.function.name;
            calls[d.index].args += d.function?.arguments ?? '';
          }
          finish = ch.finish_reason ?? finish;
        }
      }
      // The markup never streams as content.
      expect(content).not.toContain('<tool_call');
      expect(content.trim()).toBe('Let me check.');
      expect(calls).toHaveLength(1);
      expect(calls[0].name).toBe('get_weather');
      expect(JSON.parse(calls[0].args)).toEqual({ city: 'Paris' });
      expect(finish).toBe('tool_calls');
    } finally {
      await srv.close();
    }
  });

  test('tool_choice forcing a function primes the reply with the call and keeps text without tools plain', async () => {
    let seen: readonly number[] = [];
    const srv = await startServer(
      scriptedEngine(model, (prompt) => {
        seen = prompt;
        return '{"city": "Oslo"}}\n</tool_call>';
      }),
    );
    try {
      const client = new OpenAI({ baseURL: `${srv.url}/v1`, apiKey: 'none', maxRetries: 0 });
      const r = await client.chat.completions.create({
        model: 'tiny',
        messages: [{ role: 'user', content: 'Weather?' }],
        tools,
        tool_choice: { type: 'function', function: { name: 'get_weather' } },
      });
      expect(model.tokenizer.decode(seen)).toMatch(/<tool_call>\n\{"name": "get_weather", "arguments": $/);
      expect(r.choices[0].finish_reason).toBe('tool_calls');
      const tc = r.choices[0].message.tool_calls![0] as { function: { name: string; arguments: string } };
      expect(JSON.parse(tc.function.arguments)).toEqual({ city: 'Oslo' });
      // Without tools the same markup is plain content.
      const plain = await client.chat.completions.create({ model: 'tiny', messages: [{ role: 'user', content: 'Weather?' }] });
      expect(plain.choices[0].message.tool_calls).toBeUndefined();
      expect(plain.choices[0].finish_reason).toBe('stop');
    } finally {
      await srv.close();
    }
  });
});
