/** Golden fixtures (test/fixtures/): cases from golden.json, logits from golden.bin. */
import * as fs from 'fs';
import * as path from 'path';

import { FIXTURES, type FixtureName, fixtureDir, fixtureGguf } from './fixtures';

export { fixtureDir, fixtureGguf, type FixtureName };
export const FIXTURE_NAMES = FIXTURES;

export interface GoldenCase {
  name: string;
  kind: 'full' | 'incremental';
  tokens: number[];
  prefill?: number;
  n_rows: number;
  first_position: number;
  offset_floats: number;
}

export interface Golden {
  vocab: number;
  cases: GoldenCase[];
  /** Rows [n_rows * vocab] of a case. */
  logits(c: GoldenCase): Float32Array;
}

export function loadGolden(name: FixtureName): Golden {
  const dir = fixtureDir(name);
  const meta = JSON.parse(fs.readFileSync(path.join(dir, 'golden.json'), 'utf8'));
  const bin = fs.readFileSync(path.join(dir, 'golden.bin'));
  const all = new Float32Array(bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength));
  const vocab: number = meta.vocab_size;
  return {
    vocab,
    cases: meta.cases,
    logits: (c) => all.slice(c.offset_floats, c.offset_floats + c.n_rows * vocab),
  };
}

/** The logits blocks of consecutive evals joined into one array. */
export function concatRows(rows: readonly Float32Array[]): Float32Array {
  const out = new Float32Array(rows.reduce((n, r) => n + r.length, 0));
  let off = 0;
  for (const r of rows) {
    out.set(r, off);
    off += r.length;
  }
  return out;
}

/** Max |a - b| over two equal-length arrays (throws on length mismatch). */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length mismatch: ${a.length} vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    if (!(d <= m)) m = Number.isNaN(d) ? Infinity : d;
  }
  return m;
}

/** Seeded PRNG for reproducible random splits. */
export { prng as rng } from './random';
