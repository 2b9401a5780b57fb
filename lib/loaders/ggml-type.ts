/**
 * GGUF tensor type ids (`ggml_type`) and their block layouts, from the GGUF
 * format description. Every id check in the loaders goes through
 * {@link GgmlType}; no bare numbers past this file.
 */
import { TensorType } from './types';

/** Every `ggml_type` id a GGUF file may carry (gaps are ids ggml retired). */
export enum GgmlType {
  F32 = 0,
  F16 = 1,
  Q4_0 = 2,
  Q4_1 = 3,
  Q5_0 = 6,
  Q5_1 = 7,
  Q8_0 = 8,
  Q8_1 = 9,
  Q2_K = 10,
  Q3_K = 11,
  Q4_K = 12,
  Q5_K = 13,
  Q6_K = 14,
  Q8_K = 15,
  IQ2_XXS = 16,
  IQ2_XS = 17,
  IQ3_XXS = 18,
  IQ1_S = 19,
  IQ4_NL = 20,
  IQ3_S = 21,
  IQ2_S = 22,
  IQ4_XS = 23,
  I8 = 24,
  I16 = 25,
  I32 = 26,
  I64 = 27,
  F64 = 28,
  IQ1_M = 29,
  BF16 = 30,
  TQ1_0 = 34,
  TQ2_0 = 35,
  MXFP4 = 39,
}

/** Block layout of one tensor type: `blockSize` elements take `blockBytes` bytes. */
export interface GgmlTypeLayout {
  readonly name: string;
  readonly blockSize: number;
  readonly blockBytes: number;
}

function layout(t: GgmlType): GgmlTypeLayout {
  const l = (blockSize: number, blockBytes: number): GgmlTypeLayout =>
    Object.freeze({ name: GgmlType[t], blockSize, blockBytes });
  switch (t) {
    case GgmlType.F32: return l(1, 4);
    case GgmlType.F16: return l(1, 2);
    case GgmlType.BF16: return l(1, 2);
    case GgmlType.F64: return l(1, 8);
    case GgmlType.I8: return l(1, 1);
    case GgmlType.I16: return l(1, 2);
    case GgmlType.I32: return l(1, 4);
    case GgmlType.I64: return l(1, 8);
    // 32-element blocks: an f16 scale (+ an f16 min or high bits) and packed quants.
    case GgmlType.Q4_0: return l(32, 18);
    case GgmlType.Q4_1: return l(32, 20);
    case GgmlType.Q5_0: return l(32, 22);
    case GgmlType.Q5_1: return l(32, 24);
    case GgmlType.Q8_0: return l(32, 34);
    case GgmlType.Q8_1: return l(32, 36);
    case GgmlType.IQ4_NL: return l(32, 18);
    case GgmlType.MXFP4: return l(32, 17);
    // 256-element super-blocks.
    case GgmlType.Q2_K: return l(256, 84);
    case GgmlType.Q3_K: return l(256, 110);
    case GgmlType.Q4_K: return l(256, 144);
    case GgmlType.Q5_K: return l(256, 176);
    case GgmlType.Q6_K: return l(256, 210);
    case GgmlType.Q8_K: return l(256, 292);
    case GgmlType.IQ2_XXS: return l(256, 66);
    case GgmlType.IQ2_XS: return l(256, 74);
    case GgmlType.IQ3_XXS: return l(256, 98);
    case GgmlType.IQ1_S: return l(256, 50);
    case GgmlType.IQ3_S: return l(256, 110);
    case GgmlType.IQ2_S: return l(256, 82);
    case GgmlType.IQ4_XS: return l(256, 136);
    case GgmlType.IQ1_M: return l(256, 56);
    case GgmlType.TQ1_0: return l(256, 54);
    case GgmlType.TQ2_0: return l(256, 66);
    default:
      t satisfies never;
      throw new Error(`unreachable ggml type ${String(t)}`);
  }
}

const layouts = new Map<number, GgmlTypeLayout>();
for (const value of Object.values(GgmlType)) {
  if (typeof value === 'number') layouts.set(value, layout(value));
}

/** Block layout of a type id, or undefined when the id is not a known `ggml_type`. */
export function ggmlTypeLayout(id: number): GgmlTypeLayout | undefined {
  return layouts.get(id);
}

/** Name of a type id for messages (`Q4_K`, or `#99` when unknown). */
export function ggmlTypeName(id: number): string {
  return layouts.get(id)?.name ?? `#${id}`;
}

/**
 * The {@link TensorType} hybridlm runs for a ggml type, or undefined when the
 * type is known but not run yet (F32, F16, BF16, Q8_0, Q4_0, Q4_K, Q5_K and Q6_K run).
 */
export function runnableTensorType(t: GgmlType): TensorType | undefined {
  switch (t) {
    case GgmlType.F32: return TensorType.F32;
    case GgmlType.F16: return TensorType.F16;
    case GgmlType.BF16: return TensorType.BF16;
    case GgmlType.Q8_0: return TensorType.Q8_0;
    case GgmlType.Q4_0: return TensorType.Q4_0;
    case GgmlType.Q4_K: return TensorType.Q4_K;
    case GgmlType.Q5_K: return TensorType.Q5_K;
    case GgmlType.Q6_K: return TensorType.Q6_K;
    case GgmlType.Q4_1: case GgmlType.Q5_0: case GgmlType.Q5_1:
    case GgmlType.Q8_1: case GgmlType.Q2_K: case GgmlType.Q3_K: case GgmlType.Q8_K: case GgmlType.IQ2_XXS:
    case GgmlType.IQ2_XS: case GgmlType.IQ3_XXS: case GgmlType.IQ1_S: case GgmlType.IQ4_NL:
    case GgmlType.IQ3_S: case GgmlType.IQ2_S: case GgmlType.IQ4_XS: case GgmlType.I8:
    case GgmlType.I16: case GgmlType.I32: case GgmlType.I64: case GgmlType.F64:
    case GgmlType.IQ1_M: case GgmlType.TQ1_0: case GgmlType.TQ2_0: case GgmlType.MXFP4:
      return undefined;
    default:
      t satisfies never;
      return undefined;
  }
}

/** Byte size of `ne0` elements of one row; caller checks divisibility by the block size. */
export function rowByteSize(l: GgmlTypeLayout, ne0: number): number {
  return (ne0 / l.blockSize) * l.blockBytes;
}
