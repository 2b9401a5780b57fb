/**
 * Token logprobs in OpenAI's two shapes: chat (`{content: [{token, logprob,
 * bytes, top_logprobs}]}`) and legacy completions (`{tokens, token_logprobs,
 * top_logprobs, text_offset}`). A token's string is its bytes read as UTF-8,
 * so a token holding part of a character shows U+FFFD and `bytes` keeps the
 * exact value.
 */
import type { GeneratedTokenLogprob } from '../generate/types';
import type { Tokenizer } from '../tokenizer/tokenizer';

/** One token of chat logprobs. */
export interface ChatTokenLogprob {
  token: string;
  logprob: number;
  bytes: number[];
  top_logprobs: Array<{ token: string; logprob: number; bytes: number[] }>;
}

/** Legacy completions logprobs. */
export interface CompletionLogprobs {
  tokens: string[];
  token_logprobs: number[];
  top_logprobs: Array<Record<string, number>> | null;
  text_offset: number[];
}

const utf8 = new TextDecoder('utf-8');

/** A token's text and bytes (tokenizer-less models: the id in angle brackets). */
function tokenText(tok: Tokenizer | null, id: number): { token: string; bytes: number[] } {
  if (!tok) {
    const token = `<${id}>`;
    return { token, bytes: [...Buffer.from(token)] };
  }
  const bytes = tok.tokenBytes(id);
  return { token: utf8.decode(bytes), bytes: [...bytes] };
}

// OpenAI reports -9999 where a probability underflows; JSON has no -Infinity.
const finite = (x: number) => (Number.isFinite(x) ? x : -9999);

/** Chat shape of `entries`. */
export function chatLogprobs(tok: Tokenizer | null, entries: readonly GeneratedTokenLogprob[]): { content: ChatTokenLogprob[] } {
  return {
    content: entries.map((e) => ({
      ...tokenText(tok, e.token),
      logprob: finite(e.logprob),
      top_logprobs: (e.top ?? []).map((t) => ({ ...tokenText(tok, t.token), logprob: finite(t.logprob) })),
    })),
  };
}

/** Completions shape of `entries`; offsets count from `startOffset` (characters of text before them). */
export function completionLogprobs(tok: Tokenizer | null, entries: readonly GeneratedTokenLogprob[], startOffset: number, withTop: boolean): CompletionLogprobs {
  const out: CompletionLogprobs = { tokens: [], token_logprobs: [], top_logprobs: withTop ? [] : null, text_offset: [] };
  let offset = startOffset;
  for (const e of entries) {
    const { token } = tokenText(tok, e.token);
    out.tokens.push(token);
    out.token_logprobs.push(finite(e.logprob));
    out.text_offset.push(offset);
    offset += token.length;
    if (out.top_logprobs) {
      const top: Record<string, number> = {};
      for (const t of e.top ?? []) top[tokenText(tok, t.token).token] = finite(t.logprob);
      out.top_logprobs.push(top);
    }
  }
  return out;
}
