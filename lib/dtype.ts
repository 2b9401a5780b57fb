/**
 * Weight element types: the one table of ids, names and block layouts, read
 * from the addon (native/core/dtype.h defines it), plus exact f16 / bf16 bit
 * conversions. A leaf module: tensors, block codecs and loaders import it, it
 * imports none of them.
 */
import { native } from './native';

/** Element types a Tensor can hold (the lower-case names of the native table). */
export type TensorDType = 'f32' | 'f16' | 'bf16' | 'q8_0' | 'q4_0' | 'q4_k' | 'q5_k' | 'q6_k';

/** One weight type: GGUF `ggml_type` id, name and block layout (`blockSize` elements in `blockBytes` bytes). */
export interface DTypeLayout {
  readonly id: number;
  /** Upper-case GGUF name, e.g. `Q4_K`. */
  readonly name: string;
  readonly blockSize: number;
  readonly blockBytes: number;
}

let table: ReadonlyMap<number, DTypeLayout> | undefined;

function layouts(): ReadonlyMap<number, DTypeLayout> {
  if (!table) table = new Map(native().dtypes().map((d) => [d.id, Object.freeze({ ...d })] as const));
  return table;
}

/** Every weight type hybridlm runs. */
export function dtypeLayouts(): readonly DTypeLayout[] {
  return [...layouts().values()];
}

/** The layout of a GGUF type id hybridlm runs, or undefined. */
export function dtypeById(id: number): DTypeLayout | undefined {
  return layouts().get(id);
}

/** The layout of a tensor dtype (always present: TensorDType lists only runnable types). */
export function dtypeOf(dtype: TensorDType): DTypeLayout {
  const upper = dtype.toUpperCase();
  for (const d of layouts().values()) if (d.name === upper) return d;
  throw new Error(`dtype table of the addon has no ${upper}`);
}

/** GGUF `ggml_type` id of a tensor dtype, as the native addon expects it. */
export function ggmlTypeId(dtype: TensorDType): number {
  return dtypeOf(dtype).id;
}

/** Bytes of `n` elements in a layout; `n` must be a multiple of its block size. */
export function byteSize(l: DTypeLayout | { blockSize: number; blockBytes: number }, n: number): number {
  return (n / l.blockSize) * l.blockBytes;
}

// ---- exact 16-bit float conversions

const f32buf = new Float32Array(1);
const u32buf = new Uint32Array(f32buf.buffer);

/** f32 -> IEEE half bits, round to nearest even (exact for every f32 input). */
export function f32ToF16Bits(value: number): number {
  f32buf[0] = value;
  const x = u32buf[0];
  const sign = (x >>> 16) & 0x8000;
  const rawExp = (x >>> 23) & 0xff;
  let man = x & 0x7fffff;
  if (rawExp === 0xff) return sign | 0x7c00 | (man ? 0x200 : 0);
  const exp = rawExp - 127 + 15;
  if (exp >= 31) return sign | 0x7c00;
  if (exp <= 0) {
    if (exp < -10) return sign;
    man |= 0x800000;
    const shift = 14 - exp;
    let half = man >>> shift;
    const rem = man & ((1 << shift) - 1);
    const mid = 1 << (shift - 1);
    if (rem > mid || (rem === mid && (half & 1))) half++;
    return sign | half;
  }
  let h = sign | (exp << 10) | (man >>> 13);
  const rem = man & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && (h & 1))) h++;
  return h;
}

/** IEEE half bits -> number (exact). */
export function f16BitsToF32(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >>> 10) & 0x1f;
  const man = h & 0x3ff;
  if (exp === 0) return sign * man * 2 ** -24;
  if (exp === 31) return man ? NaN : sign * Infinity;
  return sign * (1 + man / 1024) * 2 ** (exp - 15);
}

/** f32 -> bfloat16 bits, round to nearest even (NaN stays NaN). */
export function f32ToBf16Bits(value: number): number {
  f32buf[0] = value;
  const x = u32buf[0];
  if ((x & 0x7fffffff) > 0x7f800000) return ((x >>> 16) | 0x40) & 0xffff;
  return ((x + 0x7fff + ((x >>> 16) & 1)) >>> 16) & 0xffff;
}

/** bfloat16 bits -> number (exact). */
export function bf16BitsToF32(b: number): number {
  u32buf[0] = (b & 0xffff) << 16;
  return f32buf[0];
}
