/**
 * Float64 reference for the causal depthwise conv1d + bias + SiLU over packed
 * sequences. Direct loops: for every output, walk the W taps and fetch the
 * input row, from the sequence or (before its start) from its conv state.
 */
import { siluRef } from './rmsnorm';

export interface Conv1dRefResult {
  /** [T, C] */
  out: Float64Array;
  /** [S, W-1, C]: the last W-1 raw inputs of each sequence (state rows shifted in) */
  states: Float64Array;
}

/**
 * x [T, C]; w [C, W]; bias [C] or null; cu [S+1]; states [S, W-1, C] or null (zeros).
 */
export function conv1dRef(
  x: ArrayLike<number>,
  w: ArrayLike<number>,
  bias: ArrayLike<number> | null,
  C: number,
  W: number,
  cu: ArrayLike<number>,
  states: ArrayLike<number> | null,
): Conv1dRefResult {
  const S = cu.length - 1;
  const T = cu[S];
  const H = W - 1;
  const out = new Float64Array(T * C);
  const newStates = new Float64Array(S * H * C);
  for (let s = 0; s < S; s++) {
    const start = cu[s];
    const len = cu[s + 1] - start;
    // input row r relative to the sequence start; r < 0 reads the state
    const input = (r: number, c: number): number =>
      r >= 0 ? x[(start + r) * C + c] : states ? states[(s * H + (H + r)) * C + c] : 0;
    for (let t = 0; t < len; t++)
      for (let c = 0; c < C; c++) {
        let acc = bias ? bias[c] : 0;
        for (let j = 0; j < W; j++) acc += w[c * W + j] * input(t - H + j, c);
        out[(start + t) * C + c] = siluRef(acc);
      }
    for (let r = 0; r < H; r++)
      for (let c = 0; c < C; c++) newStates[(s * H + r) * C + c] = input(len - H + r, c);
  }
  return { out, states: newStates };
}
