/**
 * Float64 reference for the Mamba-2 selective scan: the sequential token
 * recurrence, one sequence, head and token at a time.
 *   dt = softplus(dt_raw + dt_bias); S = exp(dt*A) S + dt x ⊗ B; y = S·C + D x
 */

export interface SsmRefInput {
  x: ArrayLike<number>; // [T, H, P]
  dt: ArrayLike<number>; // [T, H]
  A: ArrayLike<number>; // [H]
  B: ArrayLike<number>; // [T, G, N]
  C: ArrayLike<number>; // [T, G, N]
  D?: ArrayLike<number> | null; // [H]
  dtBias?: ArrayLike<number> | null; // [H]
  H: number;
  P: number;
  N: number;
  G: number;
  cu: ArrayLike<number>; // [S + 1]
  states?: ArrayLike<number> | null; // [S, H, P, N]
}

export function softplusRef(v: number): number {
  return v > 20 ? v : Math.log1p(Math.exp(v));
}

/** Returns y [T, H, P] and the final states [S, H, P, N]. */
export function ssmScanRef(a: SsmRefInput): { y: Float64Array; states: Float64Array } {
  const { H, P, N, G, cu } = a;
  const S = cu.length - 1;
  const T = cu[S];
  const y = new Float64Array(T * H * P);
  const states = new Float64Array(S * H * P * N);
  if (a.states) for (let i = 0; i < states.length; i++) states[i] = a.states[i];
  for (let s = 0; s < S; s++)
    for (let h = 0; h < H; h++) {
      const g = Math.floor(h / (H / G));
      const st = (p: number, n: number) => ((s * H + h) * P + p) * N + n;
      for (let t = cu[s]; t < cu[s + 1]; t++) {
        const d = softplusRef(a.dt[t * H + h] + (a.dtBias ? a.dtBias[h] : 0));
        const decay = Math.exp(d * a.A[h]);
        for (let p = 0; p < P; p++) {
          const xv = a.x[(t * H + h) * P + p];
          let acc = 0;
          for (let n = 0; n < N; n++) {
            const v = decay * states[st(p, n)] + d * xv * a.B[(t * G + g) * N + n];
            states[st(p, n)] = v;
            acc += v * a.C[(t * G + g) * N + n];
          }
          y[(t * H + h) * P + p] = acc + (a.D ? a.D[h] : 0) * xv;
        }
      }
    }
  return { y, states };
}
