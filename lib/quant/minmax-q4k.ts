/**
 * The plain Q4_K quantizer quantize-on-load used before the scale search
 * (docs/QUANTIZATION.md): per sub-block of 32, scale = (max − min) / 15 and
 * min = −min(0, smallest), then 6-bit scales against d = max scale / 63,
 * dmin = max min / 63, and each element rounded to 0..15. Kept only as the
 * baseline the searched quantizer is measured against (bench/quant-kl.ts,
 * test/quant/kquant-search.test.ts); it writes ordinary Q4_K blocks.
 */
import { f16BitsToF32, f32ToF16Bits } from '../dtype';
import { BLOCK, packKScales } from './blocks';

const fr = Math.fround;
const clamp = (v: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, v));
const f16Round = (v: number) => f16BitsToF32(f32ToF16Bits(v));

function minMaxBlock(x: Float32Array, o: number, out: DataView, p: number): void {
  const scale = new Float64Array(8);
  const mins = new Float64Array(8);
  for (let j = 0; j < 8; j++) {
    let lo = 0;
    let hi = -Infinity;
    for (let i = 0; i < 32; i++) {
      lo = Math.min(lo, x[o + 32 * j + i]);
      hi = Math.max(hi, x[o + 32 * j + i]);
    }
    scale[j] = (hi - lo) / 15;
    mins[j] = -lo;
  }
  const d = f16Round(Math.max(...scale) / 63);
  const dmin = f16Round(Math.max(...mins) / 63);
  const sc = new Uint8Array(8);
  const m = new Uint8Array(8);
  for (let j = 0; j < 8; j++) {
    sc[j] = d ? clamp(Math.round(scale[j] / d), 0, 63) : 0;
    m[j] = dmin ? clamp(Math.round(mins[j] / dmin), 0, 63) : 0;
  }
  out.setUint16(p, f32ToF16Bits(d), true);
  out.setUint16(p + 2, f32ToF16Bits(dmin), true);
  packKScales(out, p + 4, sc, m);
  const q = new Uint8Array(256);
  for (let j = 0; j < 8; j++) {
    const ds = fr(d * sc[j]);
    const off = fr(dmin * m[j]);
    for (let i = 0; i < 32; i++) q[32 * j + i] = ds ? clamp(Math.round((x[o + 32 * j + i] + off) / ds), 0, 15) : 0;
  }
  for (let i = 0; i < 4; i++)
    for (let l = 0; l < 32; l++) out.setUint8(p + 16 + 32 * i + l, q[64 * i + l] | (q[64 * i + 32 + l] << 4));
}

/** Quantizes x (a multiple of 256 values) into Q4_K blocks at out with plain min/max scales. */
export function quantizeQ4KMinMax(x: Float32Array, out: Uint8Array): void {
  const { elems, bytes } = BLOCK.q4_k;
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
  for (let b = 0; b < x.length / elems; b++) minMaxBlock(x, b * elems, view, b * bytes);
}
