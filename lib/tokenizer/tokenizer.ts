/**
 * The model's tokenizer: byte-level BPE through @huggingface/tokenizers
 * (identical ids to the Rust tokenizers), built from tokenizer.json or from a
 * GGUF's `tokenizer.ggml.*` metadata, plus the chat template. Special tokens
 * are kept apart from user text: `encode` recognises special-token strings
 * only with `special: true`, and `encodeChat` never turns message content
 * into control tokens.
 */
import { Tokenizer as HfTokenizer } from '@huggingface/tokenizers';
import { ArgumentError, UnsupportedError } from '../errors';
import { byteLevelBytes } from './byte-level';
import { ChatTemplate, type ProtectedRange } from './chat-template';
import { StreamingDetokenizer } from './detokenizer';
import type { ChatMessage, ChatTemplateOptions } from './types';

/** An added token of the vocabulary (matched whole, before BPE). */
export interface AddedTokenInfo {
  id: number;
  content: string;
  /** Special (control) tokens are recognised in text only with `special: true` and dropped by `skipSpecial`. */
  special: boolean;
}

/** Everything a {@link Tokenizer} is built from (see load-tokenizer.ts). */
export interface TokenizerSpec {
  /** A tokenizer.json object. */
  json: Record<string, unknown>;
  /** tokenizer_config.json-like settings (clean_up_tokenization_spaces, …). */
  config: Record<string, unknown>;
  /** The model's Jinja chat template, or null to use the built-in Granite renderer. */
  chatTemplate: string | null;
  bosTokenId: number | null;
  eosTokenId: number | null;
  padTokenId: number | null;
  /** Prepend BOS to raw prompts (tokenizer `add_bos_token`). */
  addBos: boolean;
  /** Ids without a usable token (padding rows): never sampled. */
  unusedIds: readonly number[];
  /** Where it came from, for messages: 'tokenizer.json' or 'gguf'. */
  source: 'tokenizer.json' | 'gguf';
  /** The file, for error messages. */
  origin: string;
}

/** Options of {@link Tokenizer.encode}. */
export interface EncodeOptions {
  /** Recognise special-token strings (`<|end_of_text|>`, …) as control tokens. Default false: they are plain text. */
  special?: boolean;
}

/** Options of {@link Tokenizer.decode}. */
export interface DecodeOptions {
  /** Leave special (control) tokens out of the text. Default false. */
  skipSpecial?: boolean;
}

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

export class Tokenizer {
  /** 'tokenizer.json' or 'gguf'. */
  readonly source: 'tokenizer.json' | 'gguf';
  /** BOS id (Granite: `<|end_of_text|>`), or null. */
  readonly bosTokenId: number | null;
  /** EOS id: generation stops on it by default. */
  readonly eosTokenId: number | null;
  readonly padTokenId: number | null;
  /** Whether raw prompts get BOS prepended (false for Granite). */
  readonly addBos: boolean;
  /** The added tokens (special and not), by id. */
  readonly addedTokens: readonly AddedTokenInfo[];
  /** The chat template (the model's own, or the built-in Granite renderer). */
  readonly chatTemplate: ChatTemplate;
  /** One past the largest id that has a token. */
  readonly tokenCount: number;
  private readonly full: HfTokenizer;
  private plainTokenizer: HfTokenizer | null = null;
  private readonly spec: TokenizerSpec;
  private readonly unused: ReadonlySet<number>;
  private readonly specialPattern: RegExp | null;
  private readonly specialIds: ReadonlyMap<string, number>;

  /** @internal use loadTokenizer() / model.tokenizer */
  constructor(spec: TokenizerSpec) {
    this.spec = spec;
    this.source = spec.source;
    this.bosTokenId = spec.bosTokenId;
    this.eosTokenId = spec.eosTokenId;
    this.padTokenId = spec.padTokenId;
    this.addBos = spec.addBos;
    this.full = new HfTokenizer(withAddedTokens(spec.json, null), spec.config);
    const added = ((spec.json.added_tokens as Array<Record<string, unknown>> | undefined) ?? []).map((t) => ({
      id: Number(t.id),
      content: String(t.content),
      special: t.special === true,
    }));
    this.addedTokens = Object.freeze(added);
    const vocab = this.full.get_vocab(true);
    let max = -1;
    for (const id of vocab.values()) if (id > max) max = id;
    this.tokenCount = max + 1;
    this.unused = new Set(spec.unusedIds);
    const specials = added.filter((t) => t.special).sort((a, b) => b.content.length - a.content.length);
    this.specialPattern = specials.length ? new RegExp(specials.map((t) => escapeRegExp(t.content)).join('|'), 'g') : null;
    this.specialIds = new Map(specials.map((t) => [t.content, t.id]));
    const name = (id: number | null) => (id === null ? undefined : this.full.id_to_token(id));
    this.chatTemplate = new ChatTemplate(
      spec.chatTemplate,
      { bos_token: name(spec.bosTokenId) ?? '', eos_token: name(spec.eosTokenId) ?? '', pad_token: name(spec.padTokenId) ?? '' },
      spec.origin,
    );
  }

  /** Token ids of `text`. Special-token strings are control tokens only with `special: true`; no BOS is added. */
  encode(text: string, options: EncodeOptions = {}): number[] {
    if (typeof text !== 'string') throw new ArgumentError(`Expected text to be a string, got ${typeof text}`);
    if (text === '') return [];
    const tok = options.special === true ? this.full : this.plain();
    return tok.encode(text, { add_special_tokens: false }).ids;
  }

  /** Text of `ids` (`decode(encode(s)) === s`). */
  decode(ids: ArrayLike<number>, options: DecodeOptions = {}): string {
    const list = this.checkIds(ids, 'ids');
    if (list.length === 0) return '';
    return this.full.decode(list, { skip_special_tokens: options.skipSpecial === true, clean_up_tokenization_spaces: false });
  }

  /** The vocabulary string of one id (byte-level form, e.g. 'Ġthe'), or undefined. */
  idToToken(id: number): string | undefined {
    return this.full.id_to_token(id);
  }

  /** The id of a vocabulary string (including added tokens), or undefined. */
  tokenToId(token: string): number | undefined {
    return this.full.token_to_id(token);
  }

  /**
   * The exact bytes of one token (a byte-level token may be part of a UTF-8
   * character, which `decode` would show as U+FFFD). Special tokens give
   * their text.
   */
  tokenBytes(id: number): Uint8Array {
    const [checked] = this.checkIds([id], 'id');
    const added = this.addedTokens.find((t) => t.id === checked);
    const piece = added ? null : this.idToToken(checked);
    const bytes = piece === undefined || piece === null ? null : byteLevelBytes(piece);
    return bytes ?? new TextEncoder().encode(this.decode([checked]));
  }

  /** True when `id` is a real token that generation may produce (not padding past the vocabulary). */
  isUsable(id: number): boolean {
    return Number.isInteger(id) && id >= 0 && id < this.tokenCount && !this.unused.has(id);
  }

  /** True for special (control) tokens such as `<|end_of_text|>`. */
  isSpecial(id: number): boolean {
    return this.addedTokens.some((t) => t.id === id && t.special);
  }

  /** A streaming detokenizer: feed ids one by one, get text that never splits a UTF-8 character. */
  createDetokenizer(options: DecodeOptions = {}): StreamingDetokenizer {
    return new StreamingDetokenizer(this, options);
  }

  /** Renders a conversation with the model's chat template (or the built-in Granite renderer). */
  applyChatTemplate(messages: readonly ChatMessage[], options: ChatTemplateOptions = {}): string {
    checkMessages(messages);
    return this.chatTemplate.render(messages, options);
  }

  /**
   * Token ids of a rendered conversation. The template's own special tokens
   * are control tokens; message content (and tool/document strings) is always
   * plain text, so a user typing `<|end_of_text|>` gets ordinary text tokens.
   */
  encodeChat(messages: readonly ChatMessage[], options: ChatTemplateOptions = {}): number[] {
    return this.encodeChatWith(messages, options, new Map());
  }

  /**
   * @internal encodeChat where the content of some messages is given as
   * token ids (a chat session's own generated tokens), so re-encoding a
   * conversation reproduces exactly what was fed.
   */
  encodeChatWith(
    messages: readonly ChatMessage[],
    options: ChatTemplateOptions,
    contentTokens: ReadonlyMap<number, readonly number[]>,
  ): number[] {
    checkMessages(messages);
    const { text, ranges } = this.chatTemplate.renderWithRanges(messages, options);
    if (ranges === null) {
      const callerText = JSON.stringify([messages, options.tools ?? null, options.documents ?? null]);
      if (this.specialPattern && callerText.match(this.specialPattern)) {
        throw new UnsupportedError(
          'the chat template transforms message content, so special-token text inside it cannot be kept plain; remove the special-token strings from the messages',
        );
      }
      return this.encode(text, { special: true });
    }
    return this.encodeProtected(text, ranges, contentTokens);
  }

  /** Encodes `text` recognising special tokens only outside `ranges`; whole-content ranges listed in `overrides` use the given ids. */
  private encodeProtected(
    text: string,
    ranges: readonly ProtectedRange[],
    overrides: ReadonlyMap<number, readonly number[]>,
  ): number[] {
    const sorted = [...ranges].sort((a, b) => a.start - b.start);
    const specials: Array<{ start: number; end: number; id: number }> = [];
    let free = 0;
    const scan = (from: number, to: number) => {
      if (!this.specialPattern || from >= to) return;
      const region = text.slice(from, to);
      for (const m of region.matchAll(this.specialPattern)) {
        specials.push({ start: from + m.index!, end: from + m.index! + m[0].length, id: this.specialIds.get(m[0])! });
      }
    };
    for (const r of sorted) {
      scan(free, r.start);
      free = Math.max(free, r.end);
    }
    scan(free, text.length);
    const fixed = sorted.filter((r) => r.wholeContent && overrides.has(r.message));
    const out: number[] = [];
    const plainText = (from: number, to: number) => {
      let at = from;
      for (const r of fixed) {
        if (r.start < at || r.end > to) continue;
        out.push(...this.encode(text.slice(at, r.start)), ...overrides.get(r.message)!);
        at = r.end;
      }
      out.push(...this.encode(text.slice(at, to)));
    };
    let at = 0;
    for (const s of specials) {
      plainText(at, s.start);
      out.push(s.id);
      at = s.end;
    }
    plainText(at, text.length);
    return out;
  }

  /** The tokenizer without special added tokens: special-token strings encode as text. */
  private plain(): HfTokenizer {
    if (!this.plainTokenizer) {
      const keep = this.addedTokens.filter((t) => !t.special).map((t) => t.id);
      this.plainTokenizer = new HfTokenizer(withAddedTokens(this.spec.json, new Set(keep)), this.spec.config);
    }
    return this.plainTokenizer;
  }

  private checkIds(ids: ArrayLike<number>, what: string): number[] {
    if (ids === null || typeof ids !== 'object' || typeof ids.length !== 'number') {
      throw new ArgumentError(`Expected ${what} to be an array of token ids, got ${typeof ids}`);
    }
    const out = new Array<number>(ids.length);
    for (let i = 0; i < ids.length; i++) {
      const t = ids[i];
      if (!Number.isInteger(t) || t < 0 || t >= this.tokenCount) {
        throw new ArgumentError(`${what}[${i}] = ${String(t)} is not a token id of this tokenizer: expected an integer in [0, ${this.tokenCount})`);
      }
      out[i] = t;
    }
    return out;
  }
}

/** A shallow copy of a tokenizer.json object keeping only the added tokens whose ids are in `keep` (all when null). */
function withAddedTokens(json: Record<string, unknown>, keep: ReadonlySet<number> | null): Record<string, unknown> {
  const added = (json.added_tokens as Array<Record<string, unknown>> | undefined) ?? [];
  return { ...json, added_tokens: added.filter((t) => keep === null || keep.has(Number(t.id))).map((t) => ({ ...t })) };
}

function checkMessages(messages: readonly ChatMessage[]): void {
  if (!Array.isArray(messages)) throw new ArgumentError(`Expected messages to be an array, got ${typeof messages}`);
  messages.forEach((m, i) => {
    if (!m || typeof m !== 'object' || typeof m.role !== 'string') {
      throw new ArgumentError(`messages[${i}] must be an object with a string role, got ${JSON.stringify(m)}`);
    }
    const c = m.content;
    if (c !== null && c !== undefined && typeof c !== 'string' && !Array.isArray(c)) {
      throw new ArgumentError(`messages[${i}].content must be a string, an array of parts or null, got ${typeof c}`);
    }
  });
}
