/** ToolCallFilter: content streams until `<tool_call>`, markup is held and parsed at the end. */
import { ToolCallFilter } from '../../lib/server/tool-call-filter';

function feed(f: ToolCallFilter, text: string, step: number): string {
  let out = '';
  for (let i = 0; i < text.length; i += step) out += f.push(text.slice(i, i + step));
  return out;
}

test.each([1, 2, 3, 7, 100])('text split every %i characters: content streams, the call is parsed', (step) => {
  const f = new ToolCallFilter();
  const streamed = feed(f, 'Sure <tool_call>{"name": "f", "arguments": {"a": 1}}</tool_call>', step);
  expect(streamed).toBe('Sure ');
  const end = f.finish();
  expect(end.toolCalls).toEqual([{ name: 'f', arguments: { a: 1 }, raw: '{"name": "f", "arguments": {"a": 1}}' }]);
  expect(end.content).toBe('');
});

test('a partial tag at the end that never completes is released as content', () => {
  const f = new ToolCallFilter();
  expect(f.push('a <tool_')).toBe('a ');
  expect(f.finish()).toEqual({ content: '<tool_', toolCalls: [] });
});

test('markup that does not parse comes back as content', () => {
  const f = new ToolCallFilter();
  expect(f.push('x <tool_call>not json</tool_call>')).toBe('x ');
  expect(f.finish()).toEqual({ content: '<tool_call>not json</tool_call>', toolCalls: [] });
});

test('a forced prefix is held from the start', () => {
  const f = new ToolCallFilter('<tool_call>\n{"name": "g", "arguments": ');
  expect(f.push('{"b": 2}}\n</tool_call>')).toBe('');
  expect(f.finish().toolCalls.map((c) => [c.name, c.arguments])).toEqual([['g', { b: 2 }]]);
});
