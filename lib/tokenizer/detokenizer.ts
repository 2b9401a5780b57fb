/**
 * Streaming detokenization: turns a token stream into text pieces without
 * ever emitting half of a UTF-8 character that spans tokens (an emoji split
 * over byte tokens, say). Tokens are held until they decode to complete
 * characters; `flush()` releases whatever is left at the end.
 */

/** The decoding a {@link StreamingDetokenizer} needs. */
export interface TokenDecoder {
  decode(ids: readonly number[], options?: { skipSpecial?: boolean }): string;
}

// Longest run of tokens held back waiting for a character to complete (a
// UTF-8 character is at most 4 bytes, so 4 byte-tokens); past it, a trailing
// U+FFFD is genuine and is released.
const MAX_PENDING = 8;

export class StreamingDetokenizer {
  private pending: number[] = [];
  private readonly skipSpecial: boolean;

  /** `skipSpecial`: drop special tokens from the text (default false). */
  constructor(
    private readonly decoder: TokenDecoder,
    options: { skipSpecial?: boolean } = {},
  ) {
    this.skipSpecial = options.skipSpecial ?? false;
  }

  /** Adds one token; returns the text that is now complete (possibly ''). */
  push(id: number): string {
    this.pending.push(id);
    const text = this.decoder.decode(this.pending, { skipSpecial: this.skipSpecial });
    if (text.endsWith('\uFFFD') && this.pending.length < MAX_PENDING) return '';
    this.pending = [];
    return text;
  }

  /** Releases held tokens (a trailing incomplete character decodes as U+FFFD). */
  flush(): string {
    if (this.pending.length === 0) return '';
    const text = this.decoder.decode(this.pending, { skipSpecial: this.skipSpecial });
    this.pending = [];
    return text;
  }
}
