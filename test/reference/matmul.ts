/**
 * Float64 reference matmul y = x · Wᵀ over already dequantized weights, plus
 * the per-output sum of |x·w| terms the quantized-matmul tolerance is scaled by.
 */

/** x [T, K], w [N, K] -> { y [T, N], absSum [T, N] = sum_k |x[t,k] * w[n,k]| } */
export function matmulRef(x: ArrayLike<number>, w: ArrayLike<number>, T: number, N: number, K: number) {
  const y = new Float64Array(T * N);
  const absSum = new Float64Array(T * N);
  for (let t = 0; t < T; t++)
    for (let n = 0; n < N; n++) {
      let acc = 0;
      let abs = 0;
      for (let k = 0; k < K; k++) {
        const p = x[t * K + k] * w[n * K + k];
        acc += p;
        abs += Math.abs(p);
      }
      y[t * N + n] = acc;
      absSum[t * N + n] = abs;
    }
  return { y, absSum };
}
