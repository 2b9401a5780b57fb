/**
 * Granite tool calls in model output: `<tool_call>{"name": …, "arguments": …}</tool_call>`
 * blocks (docs/MODEL.md, chat format) become structured calls; the rest is content.
 */
import type { ParsedToolCall } from './types';

const OPEN = '<tool_call>';
const CLOSE = '</tool_call>';

/** What {@link parseToolCalls} returns. */
export interface ToolCallParse {
  /** The text with every parsed tool-call block removed (trimmed). */
  content: string;
  toolCalls: ParsedToolCall[];
}

function asCall(raw: string): ParsedToolCall | null {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    return null;
  }
  if (!value || typeof value !== 'object' || Array.isArray(value)) return null;
  const v = value as { name?: unknown; arguments?: unknown; parameters?: unknown };
  if (typeof v.name !== 'string') return null;
  let args = v.arguments ?? v.parameters ?? {};
  if (typeof args === 'string') {
    try {
      args = JSON.parse(args);
    } catch {
      // keep the string: the model wrote arguments that are not JSON
    }
  }
  return { name: v.name, arguments: args, raw };
}

/**
 * Extracts tool calls from generated text. A block whose JSON does not parse
 * (or lacks a string `name`) stays in `content`; an unterminated final block
 * (generation stopped before `</tool_call>`) is parsed if its JSON is complete.
 */
export function parseToolCalls(text: string): ToolCallParse {
  const toolCalls: ParsedToolCall[] = [];
  let content = '';
  let at = 0;
  while (at < text.length) {
    const open = text.indexOf(OPEN, at);
    if (open < 0) break;
    const close = text.indexOf(CLOSE, open + OPEN.length);
    const end = close < 0 ? text.length : close + CLOSE.length;
    const raw = text.slice(open + OPEN.length, close < 0 ? text.length : close).trim();
    const call = asCall(raw);
    content += text.slice(at, open);
    if (call) toolCalls.push(call);
    else content += text.slice(open, end);
    at = end;
  }
  content += text.slice(at);
  return { content: toolCalls.length ? content.trim() : content, toolCalls };
}
