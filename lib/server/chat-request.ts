/**
 * POST /v1/chat/completions request body -> what the engine runs: chat
 * messages (OpenAI shapes mapped onto the chat template's), tools, the tool
 * choice, logprobs, and the shared sampling fields.
 */
import type { ChatMessage, ChatTool } from '../tokenizer/types';
import { invalidField } from './api-error';
import { type CommonRequest, parseCommon } from './common-request';
import { type JsonObject, isObject, optArray, optBool, optInt, optObject, optString } from './fields';

const ROLES = new Set(['system', 'developer', 'user', 'assistant', 'tool']);

/** How tools are used: not at all, when the model wants, always, or one named function always. */
export type ToolMode = { kind: 'none' } | { kind: 'auto' } | { kind: 'required' } | { kind: 'function'; name: string };

/** A validated chat request. */
export interface ChatRequest extends CommonRequest {
  messages: ChatMessage[];
  /** Tools rendered into the prompt (absent with tool_choice 'none'). */
  tools: ChatTool[] | undefined;
  toolMode: ToolMode;
  /** logprobs: true -> per-token logprobs with top_logprobs alternatives. */
  logprobs: boolean;
  topLogprobs: number;
}

function content(m: JsonObject, path: string, allowNull: boolean): ChatMessage['content'] {
  const c = m.content;
  if (typeof c === 'string') return c;
  if ((c === null || c === undefined) && allowNull) return null;
  if (!Array.isArray(c)) throw invalidField(`${path}.content`, `${path}.content must be a string or an array of text parts`, 'invalid_type');
  return c.map((part, j) => {
    const p = `${path}.content[${j}]`;
    if (!isObject(part)) throw invalidField(p, `${p} must be an object`, 'invalid_type');
    if (part.type !== 'text') throw invalidField(`${p}.type`, `${p}.type '${String(part.type)}' is not supported: this model reads text parts only`);
    if (typeof part.text !== 'string') throw invalidField(`${p}.text`, `${p}.text must be a string`, 'invalid_type');
    return { type: 'text', text: part.text };
  });
}

function toolCalls(m: JsonObject, path: string): ChatMessage['tool_calls'] {
  const calls = optArray(m, 'tool_calls', `${path}.tool_calls`);
  if (!calls) return undefined;
  return calls.map((c, k) => {
    const p = `${path}.tool_calls[${k}]`;
    if (!isObject(c) || !isObject(c.function)) throw invalidField(p, `${p} must be {type: 'function', function: {name, arguments}}`, 'invalid_type');
    const name = optString(c.function, 'name', `${p}.function.name`);
    if (!name) throw invalidField(`${p}.function.name`, `${p}.function.name is required`);
    const args = c.function.arguments;
    if (args !== undefined && typeof args !== 'string' && !isObject(args)) {
      throw invalidField(`${p}.function.arguments`, `${p}.function.arguments must be a JSON string`, 'invalid_type');
    }
    const id = optString(c, 'id', `${p}.id`);
    return { ...(id ? { id } : {}), type: 'function' as const, function: { name, arguments: args ?? '{}' } };
  });
}

function messages(o: JsonObject): ChatMessage[] {
  const list = optArray(o, 'messages');
  if (!list || list.length === 0) throw invalidField('messages', 'messages must be a non-empty array', list ? 'invalid_value' : 'missing_required_parameter');
  return list.map((m, i) => {
    const path = `messages[${i}]`;
    if (!isObject(m)) throw invalidField(path, `${path} must be an object`, 'invalid_type');
    const role = m.role;
    if (typeof role !== 'string' || !ROLES.has(role)) {
      throw invalidField(`${path}.role`, `${path}.role must be one of system, developer, user, assistant, tool; got ${JSON.stringify(role)}`);
    }
    const out: ChatMessage = { role: role === 'developer' ? 'system' : role, content: content(m, path, role === 'assistant') };
    if (role === 'assistant') {
      const calls = toolCalls(m, path);
      if (calls?.length) out.tool_calls = calls;
    }
    if (role === 'tool') {
      const id = optString(m, 'tool_call_id', `${path}.tool_call_id`);
      if (id !== undefined) out.tool_call_id = id;
    }
    const name = optString(m, 'name', `${path}.name`);
    if (name !== undefined) out.name = name;
    return out;
  });
}

function tools(o: JsonObject): ChatTool[] | undefined {
  const list = optArray(o, 'tools');
  if (!list || list.length === 0) return undefined;
  return list.map((t, i) => {
    const path = `tools[${i}]`;
    if (!isObject(t) || t.type !== 'function' || !isObject(t.function)) {
      throw invalidField(path, `${path} must be {type: 'function', function: {name, description, parameters}}`, 'invalid_type');
    }
    const name = optString(t.function, 'name', `${path}.function.name`);
    if (!name) throw invalidField(`${path}.function.name`, `${path}.function.name is required`);
    optString(t.function, 'description', `${path}.function.description`);
    optObject(t.function, 'parameters', `${path}.function.parameters`);
    return t;
  });
}

function toolMode(o: JsonObject, offered: ChatTool[] | undefined): ToolMode {
  const c = o.tool_choice;
  if (c === undefined || c === null) return offered ? { kind: 'auto' } : { kind: 'none' };
  if (c === 'none') return { kind: 'none' };
  if (c === 'auto' || c === 'required') {
    if (!offered) throw invalidField('tool_choice', `tool_choice '${c}' needs tools`);
    return { kind: c };
  }
  if (isObject(c) && c.type === 'function' && isObject(c.function) && typeof c.function.name === 'string') {
    const name = c.function.name;
    const known = offered?.some((t) => (t.function as JsonObject).name === name);
    if (!known) throw invalidField('tool_choice', `tool_choice names '${name}', which is not in tools`);
    return { kind: 'function', name };
  }
  throw invalidField('tool_choice', "tool_choice must be 'none', 'auto', 'required' or {type: 'function', function: {name}}");
}

/** Validates a chat completion body. */
export function parseChatRequest(o: JsonObject, vocab: number): ChatRequest {
  const msgs = messages(o);
  const offered = tools(o);
  const mode = toolMode(o, offered);
  const logprobs = optBool(o, 'logprobs') ?? false;
  const topLogprobs = optInt(o, 'top_logprobs', 0, 20) ?? 0;
  if (topLogprobs > 0 && !logprobs) throw invalidField('top_logprobs', 'top_logprobs needs logprobs: true');
  const format = optObject(o, 'response_format');
  if (format && format.type !== 'text') {
    throw invalidField('response_format', `response_format type '${String(format.type)}' is not supported (only 'text')`);
  }
  optBool(o, 'parallel_tool_calls');
  const common = parseCommon(o, vocab, ['max_completion_tokens', 'max_tokens']);
  // Only the named function is offered when the request forces it.
  const rendered = mode.kind === 'none' ? undefined : mode.kind === 'function' ? offered!.filter((t) => (t.function as JsonObject).name === mode.name) : offered;
  return { ...common, messages: msgs, tools: rendered, toolMode: mode, logprobs, topLogprobs };
}

/** Text appended after the generation prompt so the reply must be a tool call ('' when not forced). */
export function forcedToolPrefix(mode: ToolMode): string {
  switch (mode.kind) {
    case 'none':
    case 'auto':
      return '';
    case 'required':
      return '<tool_call>\n';
    case 'function':
      return `<tool_call>\n{"name": ${JSON.stringify(mode.name)}, "arguments": `;
    default:
      return mode satisfies never;
  }
}
