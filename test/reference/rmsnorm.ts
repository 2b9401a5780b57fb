/**
 * Float64 references for RMSNorm and gated RMSNorm (Mamba-2, gate first):
 * two passes per row, written for clarity, not speed.
 */

/** y[t, :] = x[t, :] / sqrt(mean(x[t, :]^2) + eps) * w. x: [T, dim]. */
export function rmsnormRef(x: ArrayLike<number>, w: ArrayLike<number>, T: number, dim: number, eps: number): Float64Array {
  const y = new Float64Array(T * dim);
  for (let t = 0; t < T; t++) {
    let ss = 0;
    for (let i = 0; i < dim; i++) ss += x[t * dim + i] ** 2;
    const r = 1 / Math.sqrt(ss / dim + eps);
    for (let i = 0; i < dim; i++) y[t * dim + i] = x[t * dim + i] * r * w[i];
  }
  return y;
}

/** silu(v) = v * sigmoid(v) */
export function siluRef(v: number): number {
  return v / (1 + Math.exp(-v));
}

/** u = x * silu(z); each group of dim / nGroups channels is RMS-normalised, then scaled by w. */
export function gatedRmsnormRef(
  x: ArrayLike<number>,
  z: ArrayLike<number>,
  w: ArrayLike<number>,
  T: number,
  dim: number,
  nGroups: number,
  eps: number,
): Float64Array {
  const gs = dim / nGroups;
  const y = new Float64Array(T * dim);
  for (let t = 0; t < T; t++) {
    const u = new Float64Array(dim);
    for (let i = 0; i < dim; i++) u[i] = x[t * dim + i] * siluRef(z[t * dim + i]);
    for (let g = 0; g < nGroups; g++) {
      let ss = 0;
      for (let i = g * gs; i < (g + 1) * gs; i++) ss += u[i] ** 2;
      const r = 1 / Math.sqrt(ss / gs + eps);
      for (let i = g * gs; i < (g + 1) * gs; i++) y[t * dim + i] = u[i] * r * w[i];
    }
  }
  return y;
}
