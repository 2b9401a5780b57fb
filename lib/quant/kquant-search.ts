/**
 * Scale search of the K-quant encoders (docs/QUANTIZATION.md): the TS twin of
 * native/model/block_encode.cpp, operation for operation in the same f64 / f32
 * order, so Tensor.quantize and quantize-on-load write the same bytes
 * (test/model/quantize-on-load.test.ts).
 */

const fr = Math.fround;

/** Nearest integer (halves up) clamped to [lo, hi]; NaN → 0 (the native encoders' arithmetic). */
export function code(v: number, lo: number, hi: number): number {
  const t = v - lo + 0.5;
  if (t !== t) return 0;
  if (t < 1) return lo;
  if (t >= hi - lo + 1) return hi;
  return lo + (t | 0); // 1 <= t < 2^31: truncation
}

/**
 * How much each element's squared error counts: its magnitude plus the
 * sub-block's root mean square (so small elements still count). Writes w[wo .. wo + n).
 */
export function importance(x: Float32Array, o: number, n: number, w: Float64Array, wo: number): void {
  let ss = 0;
  for (let i = 0; i < n; i++) ss += x[o + i] * x[o + i];
  const rms = Math.sqrt(ss / n);
  for (let i = 0; i < n; i++) w[wo + i] = rms + Math.abs(x[o + i]);
}

/** One sub-block: x[o ..], w[wo ..], n elements. */
interface Sub {
  x: Float32Array;
  o: number;
  w: Float64Array;
  wo: number;
  n: number;
}

// ---- affine sub-blocks (Q4_K / Q5_K): x ≈ scale·q − min, q in [0, nmax], min ≥ 0

/** A sub-block's real-valued scale and min before 6-bit quantization. */
export interface Affine {
  scale: number;
  min: number;
}

interface CodeSums {
  wl: number;
  wll: number;
  wxl: number;
}

function assignAffine({ x, o, w, wo, n }: Sub, nmax: number, inv: number, base: number): CodeSums {
  const s = { wl: 0, wll: 0, wxl: 0 };
  for (let i = 0; i < n; i++) {
    const l = code(inv * (x[o + i] - base), 0, nmax);
    s.wl += w[wo + i] * l;
    s.wll += w[wo + i] * l * l;
    s.wxl += w[wo + i] * x[o + i] * l;
  }
  return s;
}

/** Least-squares [error, scale, offset ≤ 0] of x ≈ s·q + o for fixed codes; error +inf when all codes are equal. */
function fitAffine(sw: number, swx: number, swxx: number, c: CodeSums): [number, number, number] {
  const det = sw * c.wll - c.wl * c.wl;
  if (!(det > 0)) return [Infinity, 0, 0];
  let s = (sw * c.wxl - swx * c.wl) / det;
  let o = (c.wll * swx - c.wl * c.wxl) / det;
  if (o > 0) {
    o = 0;
    s = c.wxl / c.wll;
  }
  return [s * s * c.wll + 2 * s * o * c.wl + o * o * sw - 2 * s * c.wxl - 2 * o * swx + swxx, s, o];
}

/**
 * Tries inverse scales from (nmax − 1) to (nmax + 1) over the range (and the
 * plain nmax / range), fits (scale, min) to each one's codes and keeps the
 * least weighted error; then re-assigns codes to the kept fit while that helps.
 */
export function affineSearch(sub: Sub, nmax: number): Affine {
  const { x, o, w, wo, n } = sub;
  let lo = x[o];
  let hi = x[o];
  for (let i = 1; i < n; i++) {
    if (x[o + i] < lo) lo = x[o + i];
    if (x[o + i] > hi) hi = x[o + i];
  }
  if (lo > 0) lo = 0;
  const best: Affine = { scale: 0, min: -lo };
  if (!(hi > lo)) return best; // constant sub-block: every element decodes to -min
  let sw = 0;
  let swx = 0;
  let swxx = 0;
  for (let i = 0; i < n; i++) {
    sw += w[wo + i];
    swx += w[wo + i] * x[o + i];
    swxx += w[wo + i] * x[o + i] * x[o + i];
  }
  let bestErr = Infinity;
  for (let k = -1; k <= 20; k++) {
    const inv = (k < 0 ? nmax : nmax - 1 + 0.1 * k) / (hi - lo);
    const [err, s, off] = fitAffine(sw, swx, swxx, assignAffine(sub, nmax, inv, lo));
    if (err < bestErr) [bestErr, best.scale, best.min] = [err, s, -off];
  }
  for (let step = 0; step < 2 && best.scale > 0; step++) {
    const [err, s, off] = fitAffine(sw, swx, swxx, assignAffine(sub, nmax, 1 / best.scale, -best.min));
    if (!(err < bestErr)) break;
    [bestErr, best.scale, best.min] = [err, s, -off];
  }
  return best;
}

/**
 * The 6-bit [sc, m] within one step of the rounded ideal ones whose codes give
 * the least weighted error under the block's f16 d / dmin; writes the codes to q[qo ..].
 */
export function pickScaleMin(
  { x, o, w, wo, n }: Sub, nmax: number, d: number, dmin: number, a: Affine, q: Uint8Array, qo: number,
): [number, number] {
  const sc0 = d > 0 ? code(a.scale / d, 0, 63) : 0;
  const m0 = dmin > 0 ? code(a.min / dmin, 0, 63) : 0;
  let out: [number, number] = [0, 0];
  q.fill(0, qo, qo + n);
  let best = Infinity;
  const t = new Uint8Array(n);
  for (let sc = Math.max(0, sc0 - 1); sc <= Math.min(63, sc0 + 1); sc++) {
    for (let m = Math.max(0, m0 - 1); m <= Math.min(63, m0 + 1); m++) {
      const ds = fr(d * sc);
      const off = fr(dmin * m);
      let err = 0;
      for (let i = 0; i < n; i++) {
        const l = ds > 0 ? code((x[o + i] + off) / ds, 0, nmax) : 0;
        t[i] = l;
        const e = ds * l - off - x[o + i];
        err += w[wo + i] * e * e;
      }
      if (err < best) {
        best = err;
        out = [sc, m];
        q.set(t, qo);
      }
    }
  }
  return out;
}

// ---- symmetric sub-blocks (Q6_K): x ≈ scale·q, q in [-32, 31]

function symmetricErr({ x, o, w, wo, n }: Sub, inv: number, swxx: number): [number, number] {
  let wll = 0;
  let wxl = 0;
  for (let i = 0; i < n; i++) {
    const l = code(inv * x[o + i], -32, 31);
    wll += w[wo + i] * l * l;
    wxl += w[wo + i] * x[o + i] * l;
  }
  if (!(wll > 0)) return [Infinity, 0];
  return [swxx - (wxl * wxl) / wll, wxl / wll];
}

/**
 * Inverse scales that put the largest-magnitude element at −(31.1 … 32.9)
 * (−32 is the level with the larger magnitude), each with its least-squares
 * scale; keeps the least error, then re-assigns codes while that helps.
 */
export function symmetricSearch(sub: Sub): number {
  const { x, o, w, wo, n } = sub;
  let amax = 0;
  let vmax = 0;
  for (let i = 0; i < n; i++) {
    const a = Math.abs(x[o + i]);
    if (a > amax) [amax, vmax] = [a, x[o + i]];
  }
  if (!(amax > 0)) return 0;
  let swxx = 0;
  for (let i = 0; i < n; i++) swxx += w[wo + i] * x[o + i] * x[o + i];
  let bestErr = Infinity;
  let best = 0;
  for (let k = -9; k <= 9; k++) {
    const [err, s] = symmetricErr(sub, -(32 + 0.1 * k) / vmax, swxx);
    if (err < bestErr) [bestErr, best] = [err, s];
  }
  for (let step = 0; step < 2 && best !== 0; step++) {
    const [err, s] = symmetricErr(sub, 1 / best, swxx);
    if (!(err < bestErr)) break;
    [bestErr, best] = [err, s];
  }
  return best;
}

/**
 * The int8 scale within one step of the rounded ideal one whose codes give the
 * least weighted error under the block's f16 d; writes codes + 32 to q[qo ..].
 */
export function pickScale({ x, o, w, wo, n }: Sub, d: number, ideal: number, q: Uint8Array, qo: number): number {
  const sc0 = d !== 0 ? code(ideal / d, -128, 127) : 0;
  let out = 0;
  q.fill(32, qo, qo + n);
  let best = Infinity;
  const t = new Uint8Array(n);
  for (let sc = Math.max(-128, sc0 - 1); sc <= Math.min(127, sc0 + 1); sc++) {
    const ds = fr(d * sc);
    let err = 0;
    for (let i = 0; i < n; i++) {
      const l = ds !== 0 ? code(x[o + i] / ds, -32, 31) : 0;
      t[i] = l + 32;
      const e = ds * l - x[o + i];
      err += w[wo + i] * e * e;
    }
    if (err < best) {
      best = err;
      out = sc;
      q.set(t, qo);
    }
  }
  return out;
}
