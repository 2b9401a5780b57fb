/**
 * Float64 reference attention: for each sequence and query head, the full
 * score matrix scale·q·kᵀ with the causal mask (query i of n_q sits at
 * position n_ctx - n_q + i), a softmax per row, then the weighted sum of v.
 */

/**
 * q [nQ, Hq, Dh] packed by qCu; k, v [nKv, Hkv, Dh] packed by kvCu. Returns [nQ, Hq, Dh].
 */
export function attentionRef(
  q: ArrayLike<number>,
  k: ArrayLike<number>,
  v: ArrayLike<number>,
  qCu: ArrayLike<number>,
  kvCu: ArrayLike<number>,
  Hq: number,
  Hkv: number,
  Dh: number,
  scale: number,
): Float64Array {
  const S = qCu.length - 1;
  const out = new Float64Array(qCu[S] * Hq * Dh);
  const group = Hq / Hkv;
  for (let s = 0; s < S; s++) {
    const nq = qCu[s + 1] - qCu[s];
    const nk = kvCu[s + 1] - kvCu[s];
    for (let h = 0; h < Hq; h++) {
      const kh = Math.floor(h / group);
      for (let i = 0; i < nq; i++) {
        const pos = nk - nq + i;
        const scores = new Float64Array(nk).fill(-Infinity);
        for (let j = 0; j <= pos; j++) {
          let dot = 0;
          for (let e = 0; e < Dh; e++) dot += q[((qCu[s] + i) * Hq + h) * Dh + e] * k[((kvCu[s] + j) * Hkv + kh) * Dh + e];
          scores[j] = scale * dot;
        }
        const m = Math.max(...scores);
        let sum = 0;
        const p = scores.map((sc) => {
          const e = Math.exp(sc - m);
          sum += e;
          return e;
        });
        for (let e = 0; e < Dh; e++) {
          let acc = 0;
          for (let j = 0; j <= pos; j++) acc += p[j] * v[((kvCu[s] + j) * Hkv + kh) * Dh + e];
          out[((qCu[s] + i) * Hq + h) * Dh + e] = acc / sum;
        }
      }
    }
  }
  return out;
}
