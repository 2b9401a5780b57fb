/**
 * Separates streamed reply text from tool-call markup: text before the first
 * `<tool_call>` streams as content; from there on it is held, and at the end
 * it is parsed into tool calls (or released as content when it does not
 * parse). A reply forced to be a tool call starts out holding its prefix.
 */
import { parseToolCalls } from '../tokenizer/tool-calls';
import type { ParsedToolCall } from '../tokenizer/types';

const OPEN = '<tool_call>';

export class ToolCallFilter {
  private pending = '';
  private held: string | null;

  /** `forcedPrefix`: text the reply was forced to start with ('' if none). */
  constructor(forcedPrefix = '') {
    this.held = forcedPrefix === '' ? null : forcedPrefix;
  }

  /** Adds reply text; returns the part that is content for sure. */
  push(text: string): string {
    if (this.held !== null) {
      this.held += text;
      return '';
    }
    const t = this.pending + text;
    const at = t.indexOf(OPEN);
    if (at >= 0) {
      this.pending = '';
      this.held = t.slice(at);
      return t.slice(0, at);
    }
    // Keep a tail that may be the start of the tag.
    let keep = Math.min(OPEN.length - 1, t.length);
    while (keep > 0 && !OPEN.startsWith(t.slice(t.length - keep))) keep--;
    this.pending = t.slice(t.length - keep);
    return t.slice(0, t.length - keep);
  }

  /** Ends the reply: the content still to emit and the tool calls found. */
  finish(): { content: string; toolCalls: ParsedToolCall[] } {
    if (this.held === null) {
      const content = this.pending;
      this.pending = '';
      return { content, toolCalls: [] };
    }
    const held = this.held;
    this.held = '';
    const parsed = parseToolCalls(held);
    return parsed.toolCalls.length ? parsed : { content: held, toolCalls: [] };
  }
}
