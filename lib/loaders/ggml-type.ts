/**
 * GGUF tensor type ids (`ggml_type`) as the format names them, and their block
 * layouts: those hybridlm runs from the addon's table (lib/dtype.ts), the rest
 * from the GGUF format description. Every id check in the loaders goes through
 * {@link GgmlType}; no bare numbers past this file.
 */
import { byteSize, dtypeById } from '../dtype';

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

/**
 * The GGUF ids hybridlm runs, under their GGUF names. Which ids these are, and
 * their layouts, come from the addon's dtype table (lib/dtype.ts); a test
 * checks this enum names exactly those ids.
 */
export enum TensorType {
  F32 = GgmlType.F32,
  F16 = GgmlType.F16,
  Q4_0 = GgmlType.Q4_0,
  Q8_0 = GgmlType.Q8_0,
  Q4_K = GgmlType.Q4_K,
  Q5_K = GgmlType.Q5_K,
  Q6_K = GgmlType.Q6_K,
  BF16 = GgmlType.BF16,
}

// Layouts of the types a GGUF may carry that hybridlm does not run (it still
// needs their sizes to validate a file's tensor table and name them in errors).
const OTHER_LAYOUTS: ReadonlyMap<number, readonly [number, number]> = new Map([
  [GgmlType.F64, [1, 8]], [GgmlType.I8, [1, 1]], [GgmlType.I16, [1, 2]], [GgmlType.I32, [1, 4]], [GgmlType.I64, [1, 8]],
  // 32-element blocks: an f16 scale (+ an f16 min or high bits) and packed quants.
  [GgmlType.Q4_1, [32, 20]], [GgmlType.Q5_0, [32, 22]], [GgmlType.Q5_1, [32, 24]], [GgmlType.Q8_1, [32, 36]],
  [GgmlType.IQ4_NL, [32, 18]], [GgmlType.MXFP4, [32, 17]],
  // 256-element super-blocks.
  [GgmlType.Q2_K, [256, 84]], [GgmlType.Q3_K, [256, 110]], [GgmlType.Q8_K, [256, 292]], [GgmlType.IQ2_XXS, [256, 66]],
  [GgmlType.IQ2_XS, [256, 74]], [GgmlType.IQ3_XXS, [256, 98]], [GgmlType.IQ1_S, [256, 50]], [GgmlType.IQ3_S, [256, 110]],
  [GgmlType.IQ2_S, [256, 82]], [GgmlType.IQ4_XS, [256, 136]], [GgmlType.IQ1_M, [256, 56]], [GgmlType.TQ1_0, [256, 54]],
  [GgmlType.TQ2_0, [256, 66]],
]);

/** Block layout of a type id, or undefined when the id is not a known `ggml_type`. */
export function ggmlTypeLayout(id: number): GgmlTypeLayout | undefined {
  const runnable = dtypeById(id);
  if (runnable) return runnable;
  const other = OTHER_LAYOUTS.get(id);
  return other && Object.freeze({ name: GgmlType[id], blockSize: other[0], blockBytes: other[1] });
}

/** Name of a type id for messages (`Q4_K`, or `#99` when unknown). */
export function ggmlTypeName(id: number): string {
  return ggmlTypeLayout(id)?.name ?? `#${id}`;
}

/** The {@link TensorType} hybridlm runs for a ggml type, or undefined when the type is known but not run. */
export function runnableTensorType(t: GgmlType): TensorType | undefined {
  return dtypeById(t) ? (t as number as TensorType) : undefined;
}

/** Byte size of `ne0` elements of one row; caller checks divisibility by the block size. */
export function rowByteSize(l: GgmlTypeLayout, ne0: number): number {
  return byteSize(l, ne0);
}
