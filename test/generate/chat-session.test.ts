/**
 * ChatSession: turn 2 prefills only its new tokens and answers exactly like a
 * fresh sequence fed the whole conversation; a stop-string turn resumes from
 * the checkpoint; save/load and reset; one turn at a time.
 */
import { loadModel, type Model } from '../../lib';
import { BusyError } from '../../lib/errors';
import { fixtureGguf } from '../helpers/fixtures';

const TURN = { maxTokens: 6, ignoreEos: true };

let model: Model;
beforeAll(async () => {
  model = await loadModel(fixtureGguf('granite-h-tiny-dense'), { device: 'cpu', threads: 2 });
});
afterAll(async () => {
  await model?.dispose();
});

/** The tokens a turn adds after a reply that ended by length: the reply's last token, then the template's text. */
function nextTurnTokens(user: string): number[] {
  const tok = model.tokenizer;
  return tok.encode(`<|end_of_text|>\n<|start_of_role|>user<|end_of_role|>${user}<|end_of_text|>\n<|start_of_role|>assistant<|end_of_role|>`, { special: true });
}

test('turn 2 prefills only its new tokens and equals a fresh sequence over the whole conversation', async () => {
  const session = model.createChatSession({ system: 'Be brief.' });
  const r1 = await session.prompt('What does the state space model keep?', TURN);
  const prompt1 = model.tokenizer.encodeChat(
    [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'What does the state space model keep?' }],
    { addGenerationPrompt: true },
  );
  expect(r1.usage.promptTokens).toBe(prompt1.length);
  expect(r1.finishReason).toBe('length');
  // the last sampled token of a length-limited reply has not been fed yet
  expect(session.tokens).toEqual([...prompt1, ...r1.tokens.slice(0, -1)]);

  const r2 = await session.prompt('And the attention layers?', TURN);
  const whole = [...prompt1, ...r1.tokens, ...nextTurnTokens('And the attention layers?')];
  expect(r2.usage.promptTokens).toBe(whole.length - (prompt1.length + r1.tokens.length - 1));
  expect(r2.usage.promptTokens).toBeLessThan(whole.length / 2);
  expect(session.tokens.slice(0, whole.length)).toEqual(whole);

  const fresh = await model.complete(whole, TURN);
  expect(r2.tokens).toEqual(fresh.tokens);
  expect(r2.text).toBe(fresh.text);
  expect(session.messages.map((m) => m.role)).toEqual(['system', 'user', 'assistant', 'user', 'assistant']);
  session.dispose();
  expect(model.memory().sequences).toBe(0);
});

test('after a stop-string turn the next turn resumes from the checkpoint, still matching a fresh sequence', async () => {
  const session = model.createChatSession();
  const sampling = { maxTokens: 8, temperature: 1, topK: 0, topP: 1, minP: 0, ignoreEos: true };
  const r1 = await session.prompt('Hello', { ...sampling, seed: 1 });
  const afterTurn1 = [...session.tokens];
  // turn 2 stops on a string built from its own (seeded, reproducible) output
  const probe = model.createChatSession();
  await probe.prompt('Hello', { ...sampling, seed: 1 });
  const free = await probe.prompt('Go on', { ...sampling, seed: 2 });
  probe.dispose();
  const stop = free.text.slice(3, 5);
  expect(stop.length).toBe(2);
  const r2 = await session.prompt('Go on', { ...sampling, seed: 2, stop });
  expect(r2.finishReason).toBe('stop');
  expect(r2.text).toBe(free.text.slice(0, free.text.indexOf(stop)));

  const r3 = await session.prompt('Thanks', TURN);
  const tok = model.tokenizer;
  // the state went back to the end of turn 1: everything after it was prefilled again
  expect(session.tokens.slice(0, afterTurn1.length)).toEqual(afterTurn1);
  expect(r3.usage.promptTokens).toBe(session.tokens.length - afterTurn1.length - (r3.tokens.length - 1));
  const fresh = await model.complete(session.tokens.slice(0, session.tokens.length - (r3.tokens.length - 1)), TURN);
  expect(r3.tokens).toEqual(fresh.tokens);
  expect(tok.decode(session.tokens.slice(afterTurn1.length - (r1.tokens.length - 1)))).toContain('Thanks');
  expect(r3.usage.promptTokens).toBeLessThan(session.tokens.length - afterTurn1.length + 1);
  session.dispose();
});

test('save / load continues the same conversation; reset starts over', async () => {
  const a = model.createChatSession();
  await a.prompt('One', TURN);
  await a.prompt('Two', TURN);
  const saved = await a.save();
  const { ChatSession } = await import('../../lib/generate/chat-session');
  const loaded = await ChatSession.load(model, saved);
  expect(loaded.tokens).toEqual(a.tokens);
  expect(loaded.messages).toEqual(a.messages);
  const ra = await a.prompt('Three', TURN);
  const rb = await loaded.prompt('Three', TURN);
  expect(rb.tokens).toEqual(ra.tokens);
  expect(rb.usage.promptTokens).toBe(ra.usage.promptTokens);

  a.reset();
  expect(a.tokens).toEqual([]);
  const r = await a.prompt('One', TURN);
  expect(r.usage.promptTokens).toBe(model.tokenizer.encodeChat([{ role: 'user', content: 'One' }], { addGenerationPrompt: true }).length);
  await expect(ChatSession.load(model, Buffer.from('nope'))).rejects.toThrow(/bad magic/);
  a.dispose();
  loaded.dispose();
});

test('one turn at a time', async () => {
  const s = model.createChatSession();
  const first = s.send('a', TURN);
  expect(() => s.send('b', TURN)).toThrow(BusyError);
  await first.result;
  expect(() => s.send('b', { maxTokens: -1 })).toThrow(/maxTokens/);
  const before = [...s.tokens];
  // breaking out of a streamed reply keeps the session consistent for the next turn
  for await (const _ of s.send('b', { ...TURN, maxTokens: 50 })) break;
  expect(s.tokens.slice(0, before.length)).toEqual(before);
  const r = await s.prompt('c', TURN);
  expect(r.usage.promptTokens).toBeLessThan(s.tokens.length - before.length);
  s.dispose();
});
