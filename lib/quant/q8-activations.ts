/**
 * The activation rounding of the native int8 matmul paths: per block of 32
 * values (Q8_0 and Q4_0 weights) or 256 values (Q4_K / Q5_K / Q6_K weights)
 * d = absmax / 127 (f32) and q = round_half_even(x · (1/d)) in [−127, 127].
 * Exposed so tests can build the float64 reference on the *same* quantized
 * activations (docs/KERNELS.md, Matmul).
 */

const fr = Math.fround;

/** The activation block length the native int8 path uses for weights of this format (null: f32 activations). */
export function q8ActivationBlock(weightFormat: string): 32 | 256 | null {
  if (weightFormat === 'q8_0' || weightFormat === 'q4_0') return 32;
  if (weightFormat === 'q4_k' || weightFormat === 'q5_k' || weightFormat === 'q6_k') return 256;
  return null;
}

/**
 * Returns the rounded activations d·q of rows of length K (K a multiple of
 * `block`, so blocks never straddle rows), as float64.
 */
export function q8RoundActivations(x: ArrayLike<number>, K: number, block: 32 | 256 = 32): Float64Array {
  if (K % block !== 0 || x.length % K !== 0)
    throw new RangeError(`Expected rows of a multiple of ${block} values, got K = ${K} for ${x.length} values`);
  const out = new Float64Array(x.length);
  for (let b = 0; b < x.length / block; b++) {
    let amax = 0;
    for (let i = 0; i < block; i++) amax = Math.max(amax, Math.abs(fr(x[b * block + i])));
    const d = fr(amax / 127);
    const id = d !== 0 ? fr(1 / d) : 0;
    for (let i = 0; i < block; i++) {
      let v = fr(fr(fr(x[b * block + i]) * id) + 12582912) - 12582912;
      v = Math.max(-127, Math.min(127, v));
      out[b * block + i] = d * v;
    }
  }
  return out;
}
