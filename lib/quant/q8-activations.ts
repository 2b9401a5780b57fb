/**
 * The activation rounding of the native int8 matmul path (Q8_0 weights):
 * per 32 values d = absmax / 127 (f32) and q = round_half_even(x · (1/d)) in
 * [−127, 127]. Exposed so tests can build the float64 reference on the *same*
 * quantized activations (docs/KERNELS.md, Matmul).
 */

const fr = Math.fround;

/**
 * Returns the rounded activations d·q of rows of length K (K a multiple of 32,
 * so blocks never straddle rows), as float64.
 */
export function q8RoundActivations(x: ArrayLike<number>, K: number): Float64Array {
  if (K % 32 !== 0 || x.length % K !== 0)
    throw new RangeError(`Expected rows of a multiple of 32 values, got K = ${K} for ${x.length} values`);
  const out = new Float64Array(x.length);
  for (let b = 0; b < x.length / 32; b++) {
    let amax = 0;
    for (let i = 0; i < 32; i++) amax = Math.max(amax, Math.abs(fr(x[b * 32 + i])));
    const d = fr(amax / 127);
    const id = d !== 0 ? fr(1 / d) : 0;
    for (let i = 0; i < 32; i++) {
      let v = fr(fr(fr(x[b * 32 + i]) * id) + 12582912) - 12582912;
      v = Math.max(-127, Math.min(127, v));
      out[b * 32 + i] = d * v;
    }
  }
  return out;
}
