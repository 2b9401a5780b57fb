/**
 * Chat template rendering: the Jinja template stored in the model (rendered
 * with @huggingface/jinja) or, when the file carries none, the built-in
 * Granite renderer. {@link ChatTemplate.renderWithRanges} also reports where
 * caller-supplied text (message content, tool and document strings) sits in
 * the output, so encoding can keep it plain text: special-token strings typed
 * by a user never become control tokens (node-llama-cpp's SpecialTokensText idea).
 */
import { Template } from '@huggingface/jinja';
import { ModelFormatError } from '../errors';
import { renderGraniteChat } from './granite-chat-template';
import type { ChatMessage, ChatTemplateOptions } from './types';

/** A span of caller text inside a rendered conversation. */
export interface ProtectedRange {
  start: number;
  end: number;
  /** Index of the message the text came from, or -1 for tools/documents. */
  message: number;
  /** True when the span is a whole message content rendered verbatim. */
  wholeContent: boolean;
}

/** A rendered conversation with its caller-text spans (null when they could not be located). */
export interface RenderedChat {
  text: string;
  ranges: ProtectedRange[] | null;
}

interface Slot {
  text: string;
  message: number;
  wholeContent: boolean;
}

// Private-use code points: never produced by templates, never escaped by tojson.
const OPEN = '\uE000';
const CLOSE = '\uE001';
const SENTINEL = /\uE000(\d+)\uE001/g;

/** Escapes `s` as it appears inside a JSON string literal. */
const jsonInner = (s: string) => JSON.stringify(s).slice(1, -1);

export class ChatTemplate {
  /** 'model' when rendering the model's own Jinja template, 'builtin' for the Granite renderer. */
  readonly source: 'model' | 'builtin';
  /** The Jinja source, or null for the built-in renderer. */
  readonly template: string | null;
  private readonly compiled: Template | null;
  private readonly variables: Record<string, unknown>;
  private readonly origin: string;

  /**
   * `template`: the model's Jinja chat template, or null for the built-in
   * Granite renderer. `variables` (bos_token, eos_token, …) are passed to the
   * Jinja template. `origin` names the file in error messages.
   */
  constructor(template: string | null, variables: Record<string, unknown>, origin: string) {
    this.template = template;
    this.source = template === null ? 'builtin' : 'model';
    this.variables = variables;
    this.origin = origin;
    if (template === null) {
      this.compiled = null;
      return;
    }
    try {
      this.compiled = new Template(template);
    } catch (err) {
      throw new ModelFormatError(`${origin}: the chat template does not parse (${(err as Error).message})`, { cause: err });
    }
  }

  /** Renders a conversation to the prompt string. */
  render(messages: readonly ChatMessage[], options: ChatTemplateOptions = {}): string {
    if (!this.compiled) return renderGraniteChat(messages, options);
    const context: Record<string, unknown> = {
      ...this.variables,
      ...options.templateVariables,
      messages,
      add_generation_prompt: options.addGenerationPrompt ?? false,
    };
    if (options.tools && options.tools.length > 0) context.tools = options.tools;
    if (options.documents && options.documents.length > 0) context.documents = options.documents;
    try {
      return this.compiled.render(context);
    } catch (err) {
      throw new ModelFormatError(`${this.origin}: the chat template failed to render (${(err as Error).message})`, { cause: err });
    }
  }

  /**
   * Renders like {@link render} and locates every caller-supplied string in
   * the output: the conversation is rendered once more with each string
   * replaced by a sentinel, and the sentinel rendering is checked to rebuild
   * the real one exactly (strings may appear verbatim or JSON-escaped by
   * `tojson`). If a template transforms the text so that this fails,
   * `ranges` is null.
   */
  renderWithRanges(messages: readonly ChatMessage[], options: ChatTemplateOptions = {}): RenderedChat {
    const text = this.render(messages, options);
    const slots: Slot[] = [];
    const mark = (s: string, message: number, wholeContent: boolean): string => {
      if (s === '') return s;
      slots.push({ text: s, message, wholeContent });
      return `${OPEN}${slots.length - 1}${CLOSE}`;
    };
    const markDeep = (v: unknown, message: number): unknown => {
      if (typeof v === 'string') return mark(v, message, false);
      if (Array.isArray(v)) return v.map((x) => markDeep(x, message));
      if (v && typeof v === 'object') {
        return Object.fromEntries(Object.entries(v as Record<string, unknown>).map(([k, x]) => [k, markDeep(x, message)]));
      }
      return v;
    };
    const marked = messages.map((m, i): ChatMessage => {
      const out: ChatMessage = { ...m };
      if (typeof m.content === 'string') out.content = mark(m.content, i, true);
      else if (Array.isArray(m.content)) {
        out.content = m.content.map((p) => (p && typeof p.text === 'string' ? { ...p, text: mark(p.text, i, false) } : p));
      }
      if (m.tool_calls) out.tool_calls = markDeep(m.tool_calls, i) as ChatMessage['tool_calls'];
      return out;
    });
    const markedOptions: ChatTemplateOptions = {
      ...options,
      tools: options.tools ? (markDeep(options.tools, -1) as ChatTemplateOptions['tools']) : undefined,
      documents: options.documents ? (markDeep(options.documents, -1) as ChatTemplateOptions['documents']) : undefined,
    };
    let withSentinels: string;
    try {
      withSentinels = this.render(marked, markedOptions);
    } catch {
      return { text, ranges: null };
    }
    return { text, ranges: locate(text, withSentinels, slots) };
  }
}

/** Walks the sentinel rendering along the real one; returns the caller-text spans or null on any mismatch. */
function locate(real: string, marked: string, slots: readonly Slot[]): ProtectedRange[] | null {
  const pieces: Array<string | number> = [];
  let last = 0;
  for (const m of marked.matchAll(SENTINEL)) {
    pieces.push(marked.slice(last, m.index));
    const k = Number(m[1]);
    if (k >= slots.length) return null;
    pieces.push(k);
    last = m.index! + m[0].length;
  }
  pieces.push(marked.slice(last));
  const ranges: ProtectedRange[] = [];
  let pos = 0;
  for (let i = 0; i < pieces.length; i++) {
    const piece = pieces[i];
    if (typeof piece === 'string') {
      if (!real.startsWith(piece, pos)) return null;
      pos += piece.length;
      continue;
    }
    // The slot's text appears verbatim or JSON-escaped (tojson); take the
    // candidate after which the next literal piece matches.
    const slot = slots[piece];
    const next = pieces[i + 1];
    const candidates = [slot.text, jsonInner(slot.text)];
    const c = candidates.find(
      (cand) => real.startsWith(cand, pos) && (typeof next !== 'string' || real.startsWith(next, pos + cand.length)),
    );
    if (c === undefined) return null;
    ranges.push({ start: pos, end: pos + c.length, message: slot.message, wholeContent: slot.wholeContent && c === slot.text });
    pos += c.length;
  }
  return pos === real.length ? ranges : null;
}
