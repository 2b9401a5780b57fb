/** Validation of token id arrays passed by callers. */
import { ArgumentError } from './errors';

/** Copies `tokens` into an Int32Array, checking every id is an integer in [0, vocab). */
export function toTokenArray(tokens: ArrayLike<number>, vocab: number, what = 'tokens'): Int32Array {
  if (tokens === null || typeof tokens !== 'object' || typeof tokens.length !== 'number') {
    throw new ArgumentError(`Expected ${what} to be an array of token ids, got ${typeof tokens}`);
  }
  if (tokens.length === 0) throw new ArgumentError(`Expected ${what} to hold at least one token id, got an empty array`);
  const out = new Int32Array(tokens.length);
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i];
    if (typeof t !== 'number' || !Number.isInteger(t) || t < 0 || t >= vocab) {
      throw new ArgumentError(
        `${what}[${i}] = ${String(t)} is not a valid token id: expected an integer in [0, ${vocab})`,
      );
    }
    out[i] = t;
  }
  return out;
}
