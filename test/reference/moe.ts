/**
 * Float64 references for MoE: top-k routing (sort by logit, ties to the lower
 * expert id, softmax over the chosen logits) and the dense per-token expert
 * loop over dequantized weights.
 */
import { siluRef } from './rmsnorm';

/** logits [T, E] -> ids, weights [T, k] */
export function moeRouteRef(logits: ArrayLike<number>, T: number, E: number, k: number) {
  const ids = new Int32Array(T * k);
  const weights = new Float64Array(T * k);
  for (let t = 0; t < T; t++) {
    const order = Array.from({ length: E }, (_, e) => e);
    order.sort((a, b) => logits[t * E + b] - logits[t * E + a] || a - b);
    const top = order.slice(0, k);
    const m = logits[t * E + top[0]];
    const ex = top.map((e) => Math.exp(logits[t * E + e] - m));
    const sum = ex.reduce((a, b) => a + b, 0);
    top.forEach((e, j) => {
      ids[t * k + j] = e;
      weights[t * k + j] = ex[j] / sum;
    });
  }
  return { ids, weights };
}

/**
 * x [T, D]; ids, weights [T, k]; gate, up [E, F, D], down [E, D, F] (f32 values).
 * out[t] = sum_j weights[t, j] * down_e (silu(gate_e x) * up_e x)
 */
export function moeForwardRef(
  x: ArrayLike<number>,
  ids: ArrayLike<number>,
  weights: ArrayLike<number>,
  gate: ArrayLike<number>,
  up: ArrayLike<number>,
  down: ArrayLike<number>,
  T: number,
  k: number,
  D: number,
  F: number,
): Float64Array {
  const out = new Float64Array(T * D);
  for (let t = 0; t < T; t++)
    for (let j = 0; j < k; j++) {
      const e = ids[t * k + j];
      const h = new Float64Array(F);
      for (let f = 0; f < F; f++) {
        let g = 0;
        let u = 0;
        for (let d = 0; d < D; d++) {
          g += gate[(e * F + f) * D + d] * x[t * D + d];
          u += up[(e * F + f) * D + d] * x[t * D + d];
        }
        h[f] = siluRef(g) * u;
      }
      for (let d = 0; d < D; d++) {
        let acc = 0;
        for (let f = 0; f < F; f++) acc += down[(e * D + d) * F + f] * h[f];
        out[t * D + d] += weights[t * k + j] * acc;
      }
    }
  return out;
}
