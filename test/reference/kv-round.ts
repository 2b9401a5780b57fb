/**
 * What KV pages store (docs/MEMORY.md): keys / values rounded to the page
 * type, so attention over f16 or q8_0 pages can be checked against the float64
 * reference on the same rounded values. q8_0: per block of up to 32 elements
 * of a row, d = absmax / 127 (f32), q = round_half_even(x · (1/d)), value = d·q in f32.
 */
import { f16BitsToF32, f32ToF16Bits } from '../../lib/dtype';

const fr = Math.fround;

/** Rows of Dh values rounded as `dtype` pages hold them. */
export function roundKv(x: ArrayLike<number>, Dh: number, dtype: 'f32' | 'f16' | 'q8_0'): Float32Array {
  const out = Float32Array.from(x);
  if (dtype === 'f16') return out.map((v) => f16BitsToF32(f32ToF16Bits(v)));
  if (dtype === 'f32') return out;
  for (let r = 0; r < out.length / Dh; r++)
    for (let b0 = 0; b0 < Dh; b0 += 32) {
      const lo = r * Dh + b0, hi = r * Dh + Math.min(Dh, b0 + 32);
      let amax = 0;
      for (let i = lo; i < hi; i++) amax = Math.max(amax, Math.abs(out[i]));
      const d = fr(amax / 127);
      const inv = d > 0 ? fr(1 / d) : 0;
      for (let i = lo; i < hi; i++) {
        const t = fr(out[i] * inv);
        let q = Math.round(t);
        if (Math.abs(t - Math.trunc(t)) === 0.5 && q % 2 !== 0) q -= 1;  // half to even
        out[i] = fr(d * q);
      }
    }
  return out;
}
