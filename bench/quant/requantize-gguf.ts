/**
 * Rewrites a float GGUF with its weight matrices stored in block formats the
 * caller picks per tensor (the TS quantizers), everything else copied: the
 * quantize-on-load variants bench/quant-kl.ts compares that loadModel cannot
 * produce itself (the old min/max Q4_K, Q4_K without the mix).
 */
import * as fs from 'fs';
import { f16BitsToF32, bf16BitsToF32 } from '../../lib/dtype';
import { GgufValueType, readGguf, type GgufKv, type GgufValue } from '../../lib/loaders/gguf';
import { BLOCK } from '../../lib/quant/blocks';
import { writeGguf, type GgufMetaValue, type GgufTensorSource } from '../../lib/writers/gguf-writer';

/** How one matrix is stored: a quantizer from f32 values to blocks of `format`, or kept as it is. */
export type Requantize = { format: 'q4_k' | 'q6_k' | 'q8_0'; quantize: (x: Float32Array, out: Uint8Array) => void } | null;

const GGML_ID = { q4_k: 12, q6_k: 14, q8_0: 8 } as const;
const FLOAT_TYPES = new Set([0, 1, 30]); // F32, F16, BF16

/**
 * The matrices quantize-on-load converts (docs/QUANTIZATION.md): float 2-D / 3-D
 * `*.weight` tensors except norms, the MoE router and the conv filter.
 */
export function isQuantizableMatrix(name: string, ne: readonly number[], type: number): boolean {
  return (
    FLOAT_TYPES.has(type) && ne.length >= 2 && name.endsWith('.weight') &&
    !/_norm\.weight$|ffn_gate_inp|ssm_conv1d/.test(name)
  );
}

const WRITER_TYPE: Partial<Record<GgufValueType, GgufMetaValue['type']>> = {
  [GgufValueType.UINT32]: 'u32', [GgufValueType.INT32]: 'i32', [GgufValueType.FLOAT32]: 'f32',
  [GgufValueType.UINT64]: 'u64', [GgufValueType.INT64]: 'i64', [GgufValueType.FLOAT64]: 'f64',
  [GgufValueType.BOOL]: 'bool', [GgufValueType.STRING]: 'string',
};

function metaValue(kv: GgufKv): GgufMetaValue {
  const v: GgufValue = kv.value;
  if (typeof v === 'object' && v !== null && 'items' in v) {
    const itemType = WRITER_TYPE[v.itemType];
    if (itemType !== 'u32' && itemType !== 'i32' && itemType !== 'f32' && itemType !== 'string') {
      throw new Error(`${kv.key}: arrays of ${GgufValueType[v.itemType]} are not copied`);
    }
    return { type: 'array', itemType, values: v.items.map((x) => (typeof x === 'bigint' ? Number(x) : (x as number | string))) };
  }
  const type = WRITER_TYPE[kv.type];
  if (!type || type === 'array') throw new Error(`${kv.key}: values of ${GgufValueType[kv.type]} are not copied`);
  return { type, value: typeof v === 'bigint' ? Number(v) : (v as never) } as GgufMetaValue;
}

/** A tensor's values as f32 (F32 / F16 / BF16 data). */
function readFloats(fd: number, offset: number, count: number, type: number): Float32Array {
  const elt = type === 0 ? 4 : 2;
  const buf = Buffer.alloc(count * elt);
  fs.readSync(fd, buf, 0, buf.length, offset);
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) {
    out[i] = type === 0 ? buf.readFloatLE(4 * i) : type === 1 ? f16BitsToF32(buf.readUInt16LE(2 * i)) : bf16BitsToF32(buf.readUInt16LE(2 * i));
  }
  return out;
}

/** Writes `dst`: `src` with each quantizable matrix stored as `plan(name, rowLength)` says. */
export async function requantizeGguf(src: string, dst: string, plan: (name: string, rowLength: number) => Requantize): Promise<void> {
  const g = await readGguf(src);
  const fd = fs.openSync(src, 'r');
  try {
    const tensors: GgufTensorSource[] = g.tensors.map((t) => {
      const count = t.ne.reduce((a, b) => a * b, 1);
      const how = isQuantizableMatrix(t.name, t.ne, t.type) ? plan(t.name, t.ne[0]) : null;
      if (!how) {
        return {
          name: t.name, ne: t.ne, type: t.type, byteLength: t.byteSize,
          data: () => {
            const b = Buffer.alloc(t.byteSize);
            fs.readSync(fd, b, 0, b.length, t.offset);
            return b;
          },
        };
      }
      const { elems, bytes } = BLOCK[how.format];
      if (t.ne[0] % elems !== 0) throw new Error(`${t.name}: rows of ${t.ne[0]} cannot be ${how.format}`);
      const byteLength = (count / elems) * bytes;
      return {
        name: t.name, ne: t.ne, type: GGML_ID[how.format], byteLength,
        data: () => {
          const out = new Uint8Array(byteLength);
          how.quantize(readFloats(fd, t.offset, count, t.type), out);
          return out;
        },
      };
    });
    writeGguf(dst, g.kv.map((kv) => [kv.key, metaValue(kv)] as const), tensors, g.alignment);
  } finally {
    fs.closeSync(fd);
  }
}
