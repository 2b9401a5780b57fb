/**
 * GGUF block quantizers and decoders (docs/KERNELS.md, Weight blocks): the TS copy of
 * the C++ block codec (native/cpu/block_codec.h, the definition), kept because the
 * public API needs it (Tensor.quantize, toFloat32). Tested against the C++ codec:
 * decoders through kernels.embed (test/kernels/matmul.test.ts, test/quant/blocks.test.ts),
 * the Q8_0 / Q4_K quantizers through quantize-on-load (test/model/quantize-on-load.test.ts).
 * Every decoded product is rounded to f32 in the same order, so the values agree bit for bit.
 *
 *   q4_0  per 32: f16 d, 16 bytes; byte j low nibble = element j, high = j + 16; w = d·(q − 8)
 *   q4_k  per 256: f16 d, f16 dmin, 12 bytes of eight 6-bit scales + eight 6-bit mins,
 *         128 bytes of nibbles (64-element group i: low nibbles = sub-block 2i, high = 2i+1);
 *         w = (d·sc)·q − dmin·m
 *   q5_k  as q4_k plus qh[32]: bit 2i / 2i+1 of qh[l] is the fifth bit of element l of
 *         sub-block 2i / 2i+1
 *   q6_k  per 256: ql[128], qh[64], sixteen int8 scales (one per 16 elements), f16 d;
 *         w = (d·sc)·(q − 32), q = 4 low bits | 2 high bits << 4
 *
 * The K-quant quantizers choose their scales by search (kquant-search.ts,
 * docs/QUANTIZATION.md), exactly as the native quantize-on-load encoders do.
 */
import { f16BitsToF32, f32ToF16Bits } from '../dtype';
import { affineSearch, importance, pickScale, pickScaleMin, symmetricSearch } from './kquant-search';

/** Elements and bytes per block of each block format. */
export const BLOCK = Object.freeze({
  q4_0: { elems: 32, bytes: 18 },
  q8_0: { elems: 32, bytes: 34 },
  q4_k: { elems: 256, bytes: 144 },
  q5_k: { elems: 256, bytes: 176 },
  q6_k: { elems: 256, bytes: 210 },
});

/** The block formats this module handles. */
export type BlockFormat = keyof typeof BLOCK;

const fr = Math.fround;
/** Round half away from zero (the usual quantizer rounding). */
const rnd = (v: number) => Math.sign(v) * Math.round(Math.abs(v));
const clamp = (v: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, v));

/** f16-rounded value of v (what a stored f16 scale decodes to). */
function h(v: number): number {
  return f16BitsToF32(f32ToF16Bits(v));
}

// ---- Q4_0

function quantQ4_0(x: Float32Array, o: number, out: DataView, p: number): void {
  let max = 0;
  for (let i = 0; i < 32; i++) if (Math.abs(x[o + i]) > Math.abs(max)) max = x[o + i];
  const d = fr(max / -8);
  const id = d ? fr(1 / d) : 0;
  out.setUint16(p, f32ToF16Bits(d), true);
  for (let j = 0; j < 16; j++) {
    const q0 = clamp(Math.floor(fr(x[o + j] * id) + 8.5), 0, 15);
    const q1 = clamp(Math.floor(fr(x[o + j + 16] * id) + 8.5), 0, 15);
    out.setUint8(p + 2 + j, q0 | (q1 << 4));
  }
}

function decodeQ4_0(v: DataView, p: number, y: Float32Array, o: number): void {
  const d = f16BitsToF32(v.getUint16(p, true));
  for (let j = 0; j < 16; j++) {
    const b = v.getUint8(p + 2 + j);
    y[o + j] = fr(d * ((b & 15) - 8));
    y[o + j + 16] = fr(d * ((b >> 4) - 8));
  }
}

// ---- Q8_0 (weights; activations for int8 dots are in q8-activations.ts)

function quantQ8_0(x: Float32Array, o: number, out: DataView, p: number): void {
  let amax = 0;
  for (let i = 0; i < 32; i++) amax = Math.max(amax, Math.abs(x[o + i]));
  const d = fr(amax / 127);
  const id = d ? fr(1 / d) : 0;
  out.setUint16(p, f32ToF16Bits(d), true);
  for (let i = 0; i < 32; i++) out.setInt8(p + 2 + i, clamp(rnd(fr(x[o + i] * id)), -127, 127));
}

function decodeQ8_0(v: DataView, p: number, y: Float32Array, o: number): void {
  const d = f16BitsToF32(v.getUint16(p, true));
  for (let i = 0; i < 32; i++) y[o + i] = fr(d * v.getInt8(p + 2 + i));
}

// ---- K-quant 6-bit scale field

/** Sub-block j's (scale, min) from the 12-byte field at p. */
export function kScaleMin(v: DataView, p: number, j: number): [number, number] {
  const q = (i: number) => v.getUint8(p + i);
  if (j < 4) return [q(j) & 63, q(j + 4) & 63];
  return [(q(j + 4) & 15) | ((q(j - 4) >> 6) << 4), (q(j + 4) >> 4) | ((q(j) >> 6) << 4)];
}

/** Packs eight 6-bit scales and mins into the 12-byte field at p. */
export function packKScales(out: DataView, p: number, sc: ArrayLike<number>, m: ArrayLike<number>): void {
  for (let j = 0; j < 4; j++) {
    out.setUint8(p + j, (sc[j] & 63) | ((sc[j + 4] >> 4) << 6));
    out.setUint8(p + j + 4, (m[j] & 63) | ((m[j + 4] >> 4) << 6));
    out.setUint8(p + j + 8, (sc[j + 4] & 15) | ((m[j + 4] & 15) << 4));
  }
}

/**
 * Q4_K / Q5_K: per sub-block of 32 a searched scale and min
 * (kquant-search.ts), quantized to 6 bits against d = max scale / 63,
 * dmin = max min / 63 (each 6-bit pair then chosen within one step).
 * Returns the per-element codes in q[256].
 */
function quantKAffine(x: Float32Array, o: number, levels: number, out: DataView, p: number, q: Uint8Array): void {
  const w = new Float64Array(256);
  const subs = Array.from({ length: 8 }, (_, j) => ({ x, o: o + 32 * j, w, wo: 32 * j, n: 32 }));
  let maxScale = 0;
  let maxMin = 0;
  const fits = subs.map((sub) => {
    importance(x, sub.o, 32, w, sub.wo);
    const a = affineSearch(sub, levels);
    if (a.scale > maxScale) maxScale = a.scale;
    if (a.min > maxMin) maxMin = a.min;
    return a;
  });
  const d = h(maxScale / 63);
  const dmin = h(maxMin / 63);
  const sc = new Uint8Array(8);
  const m = new Uint8Array(8);
  subs.forEach((sub, j) => ([sc[j], m[j]] = pickScaleMin(sub, levels, d, dmin, fits[j], q, 32 * j)));
  out.setUint16(p, f32ToF16Bits(d), true);
  out.setUint16(p + 2, f32ToF16Bits(dmin), true);
  packKScales(out, p + 4, sc, m);
}

function quantQ4_K(x: Float32Array, o: number, out: DataView, p: number): void {
  const q = new Uint8Array(256);
  quantKAffine(x, o, 15, out, p, q);
  for (let i = 0; i < 4; i++)
    for (let l = 0; l < 32; l++) out.setUint8(p + 16 + 32 * i + l, q[64 * i + l] | (q[64 * i + 32 + l] << 4));
}

function quantQ5_K(x: Float32Array, o: number, out: DataView, p: number): void {
  const q = new Uint8Array(256);
  quantKAffine(x, o, 31, out, p, q);
  for (let l = 0; l < 32; l++) {
    let hb = 0;
    for (let i = 0; i < 4; i++) {
      const a = q[64 * i + l];
      const b = q[64 * i + 32 + l];
      out.setUint8(p + 48 + 32 * i + l, (a & 15) | ((b & 15) << 4));
      if (a & 16) hb |= 1 << (2 * i);
      if (b & 16) hb |= 2 << (2 * i);
    }
    out.setUint8(p + 16 + l, hb);
  }
}

function decodeK(v: DataView, p: number, y: Float32Array, o: number, five: boolean): void {
  const d = f16BitsToF32(v.getUint16(p, true));
  const dmin = f16BitsToF32(v.getUint16(p + 2, true));
  const qs = p + (five ? 48 : 16);
  for (let i = 0; i < 4; i++) {
    const [sc0, m0] = kScaleMin(v, p + 4, 2 * i);
    const [sc1, m1] = kScaleMin(v, p + 4, 2 * i + 1);
    const d0 = fr(d * sc0);
    const o0 = fr(dmin * m0);
    const d1 = fr(d * sc1);
    const o1 = fr(dmin * m1);
    for (let l = 0; l < 32; l++) {
      const b = v.getUint8(qs + 32 * i + l);
      let lo = b & 15;
      let hi = b >> 4;
      if (five) {
        const hb = v.getUint8(p + 16 + l);
        if (hb & (1 << (2 * i))) lo += 16;
        if (hb & (2 << (2 * i))) hi += 16;
      }
      y[o + 64 * i + l] = fr(fr(d0 * lo) - o0);
      y[o + 64 * i + 32 + l] = fr(fr(d1 * hi) - o1);
    }
  }
}

// ---- Q6_K

function quantQ6_K(x: Float32Array, o: number, out: DataView, p: number): void {
  const w = new Float64Array(256);
  const subs = Array.from({ length: 16 }, (_, j) => ({ x, o: o + 16 * j, w, wo: 16 * j, n: 16 }));
  let smax = 0;
  const ideal = subs.map((sub) => {
    importance(x, sub.o, 16, w, sub.wo);
    const s = symmetricSearch(sub);
    if (Math.abs(s) > Math.abs(smax)) smax = s;
    return s;
  });
  const d = h(-smax / 128);
  out.setUint16(p + 208, f32ToF16Bits(d), true);
  const q = new Uint8Array(256);
  subs.forEach((sub, j) => out.setInt8(p + 192 + j, pickScale(sub, d, ideal[j], q, 16 * j)));
  for (let half = 0; half < 2; half++) {
    const e = 128 * half;
    for (let l = 0; l < 32; l++) {
      out.setUint8(p + 64 * half + l, (q[e + l] & 15) | ((q[e + 64 + l] & 15) << 4));
      out.setUint8(p + 64 * half + 32 + l, (q[e + 32 + l] & 15) | ((q[e + 96 + l] & 15) << 4));
      out.setUint8(
        p + 128 + 32 * half + l,
        (q[e + l] >> 4) | ((q[e + 32 + l] >> 4) << 2) | ((q[e + 64 + l] >> 4) << 4) | ((q[e + 96 + l] >> 4) << 6),
      );
    }
  }
}

function decodeQ6_K(v: DataView, p: number, y: Float32Array, o: number): void {
  const d = f16BitsToF32(v.getUint16(p + 208, true));
  for (let half = 0; half < 2; half++) {
    const ql = p + 64 * half;
    const qh = p + 128 + 32 * half;
    const sc = p + 192 + 8 * half;
    for (let l = 0; l < 32; l++) {
      const is = l >> 4;
      const a = v.getUint8(ql + l);
      const b = v.getUint8(ql + l + 32);
      const hb = v.getUint8(qh + l);
      const q1 = ((a & 15) | ((hb & 3) << 4)) - 32;
      const q2 = ((b & 15) | (((hb >> 2) & 3) << 4)) - 32;
      const q3 = ((a >> 4) | (((hb >> 4) & 3) << 4)) - 32;
      const q4 = ((b >> 4) | (((hb >> 6) & 3) << 4)) - 32;
      const e = o + 128 * half;
      y[e + l] = fr(fr(d * v.getInt8(sc + is)) * q1);
      y[e + l + 32] = fr(fr(d * v.getInt8(sc + is + 2)) * q2);
      y[e + l + 64] = fr(fr(d * v.getInt8(sc + is + 4)) * q3);
      y[e + l + 96] = fr(fr(d * v.getInt8(sc + is + 6)) * q4);
    }
  }
}

// ---- row API

const QUANT: Record<BlockFormat, (x: Float32Array, o: number, out: DataView, p: number) => void> = {
  q4_0: quantQ4_0,
  q8_0: quantQ8_0,
  q4_k: quantQ4_K,
  q5_k: quantQ5_K,
  q6_k: quantQ6_K,
};
const DECODE: Record<BlockFormat, (v: DataView, p: number, y: Float32Array, o: number) => void> = {
  q4_0: decodeQ4_0,
  q8_0: decodeQ8_0,
  q4_k: (v, p, y, o) => decodeK(v, p, y, o, false),
  q5_k: (v, p, y, o) => decodeK(v, p, y, o, true),
  q6_k: decodeQ6_K,
};

/** Quantizes n values (a multiple of the block size) into out (n / elems · bytes bytes). */
export function quantizeBlocks(fmt: BlockFormat, x: Float32Array, out: Uint8Array): void {
  const { elems, bytes } = BLOCK[fmt];
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
  const f = QUANT[fmt];
  for (let b = 0; b < x.length / elems; b++) f(x, b * elems, view, b * bytes);
}

/** Decodes blocks into out (out.length elements), rounding exactly as the native decoders do. */
export function dequantizeBlocks(fmt: BlockFormat, data: Uint8Array, out: Float32Array): void {
  const { elems, bytes } = BLOCK[fmt];
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const f = DECODE[fmt];
  for (let b = 0; b < out.length / elems; b++) f(view, b * bytes, out, b * elems);
}
