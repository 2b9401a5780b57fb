/**
 * The GPT-2 byte-level alphabet byte-level BPE vocabularies are written in:
 * every byte value stands for one printable character (e.g. 'Ġ' for a space),
 * so a vocabulary string maps back to the exact bytes of its token.
 */

/** byte b -> the character that stands for it. */
export function byteLevelChars(): string[] {
  const printable = (b: number) => (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
  let extra = 0;
  return Array.from({ length: 256 }, (_, b) => String.fromCodePoint(printable(b) ? b : 256 + extra++));
}

let inverse: Map<string, number> | null = null;

/** The bytes a byte-level vocabulary string stands for, or null when it has a character outside the alphabet. */
export function byteLevelBytes(token: string): Uint8Array | null {
  inverse ??= new Map(byteLevelChars().map((c, b) => [c, b]));
  const out: number[] = [];
  for (const ch of token) {
    const b = inverse.get(ch);
    if (b === undefined) return null;
    out.push(b);
  }
  return Uint8Array.from(out);
}
