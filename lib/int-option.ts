/**
 * The one check of an optional integer option (load, sampling and server
 * options alike): its default when undefined, otherwise a safe integer in
 * [lo, hi], or an ArgumentError naming the option and the value.
 */
import { ArgumentError } from './errors';

export function intOption(v: unknown, name: string, lo: number, dflt: number, hi = Number.MAX_SAFE_INTEGER): number {
  if (v === undefined) return dflt;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < lo || v > hi) {
    const range = hi === Number.MAX_SAFE_INTEGER ? `>= ${lo}` : `in [${lo}, ${hi}]`;
    throw new ArgumentError(`Expected ${name} to be an integer ${range}, got ${String(v)}`);
  }
  return v;
}
