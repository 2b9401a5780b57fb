/**
 * Test helper: load a GGUF file into an editable structure, change metadata
 * or tensors, and serialise it back into a valid (or deliberately broken)
 * GGUF. Used to build bad-input cases without poking fragile byte offsets.
 */
import * as fs from 'node:fs';
import { GgmlType, ggmlTypeLayout } from '../../lib/loaders/ggml-type';
import { GgufArray, GgufValue, GgufValueType, parseGgufBuffer } from '../../lib/loaders/gguf';
import { GgufByteSink } from '../../lib/writers/gguf-writer';

/** One tensor: its info and its bytes. */
export interface EditableTensor {
  name: string;
  /** Dimensions, fastest-varying first. */
  ne: number[];
  /** Raw ggml type id (may be an unknown id on purpose). */
  type: number;
  data: Buffer;
  /** Force this relative offset instead of laying tensors out in order. */
  forceOffset?: number | bigint;
}

/** One metadata pair. */
export interface EditableKv {
  key: string;
  type: GgufValueType;
  value: GgufValue;
}

/** A whole GGUF file in memory. */
export interface EditableGguf {
  version: number;
  kv: EditableKv[];
  tensors: EditableTensor[];
}

/** Loads a GGUF file (tensor types not run by hybridlm are accepted). */
export function loadGguf(path: string): EditableGguf {
  const buf = fs.readFileSync(path);
  const g = parseGgufBuffer(buf, path, { allowUnsupportedTypes: true });
  return {
    version: g.version,
    kv: g.kv.map((kv) => ({ key: kv.key, type: kv.type, value: kv.value })),
    tensors: g.tensors.map((t) => ({
      name: t.name,
      ne: [...t.ne],
      type: t.type,
      data: Buffer.from(buf.subarray(t.offset, t.offset + t.byteSize)),
    })),
  };
}

/** Sets (or adds) a metadata pair. */
export function setKv(g: EditableGguf, key: string, type: GgufValueType, value: GgufValue): void {
  const kv = g.kv.find((k) => k.key === key);
  if (kv) {
    kv.type = type;
    kv.value = value;
  } else {
    g.kv.push({ key, type, value });
  }
}

/** Removes a metadata pair (no-op when absent). */
export function removeKv(g: EditableGguf, key: string): void {
  g.kv = g.kv.filter((k) => k.key !== key);
}

/** The tensor called `name`; throws when absent (a broken test, not a broken file). */
export function tensor(g: EditableGguf, name: string): EditableTensor {
  const t = g.tensors.find((x) => x.name === name);
  if (!t) throw new Error(`test helper: no tensor '${name}'`);
  return t;
}

/** Removes a tensor. */
export function dropTensor(g: EditableGguf, name: string): void {
  tensor(g, name);
  g.tensors = g.tensors.filter((t) => t.name !== name);
}

/** Byte size of a tensor of `type` with dims `ne`, or undefined for an unknown type id. */
export function tensorBytes(type: number, ne: readonly number[]): number | undefined {
  const l = ggmlTypeLayout(type);
  if (!l) return undefined;
  return (ne[0] / l.blockSize) * l.blockBytes * ne.slice(1).reduce((a, b) => a * b, 1);
}

/** Changes a tensor's type id, resizing its data (zeros) when the type is known. */
export function setTensorType(g: EditableGguf, name: string, type: GgmlType | number): void {
  const t = tensor(g, name);
  t.type = type;
  const n = tensorBytes(type, t.ne);
  if (n !== undefined) t.data = Buffer.alloc(n);
}

/** Changes a tensor's dims, resizing its data (zeros). */
export function setTensorShape(g: EditableGguf, name: string, ne: number[]): void {
  const t = tensor(g, name);
  t.ne = ne;
  const n = tensorBytes(t.type, ne);
  if (n !== undefined) t.data = Buffer.alloc(n);
}

class Writer extends GgufByteSink {
  value(t: GgufValueType, v: GgufValue): void {
    const b8 = Buffer.alloc(8);
    switch (t) {
      case GgufValueType.UINT8: b8.writeUInt8(Number(v)); this.push(b8.subarray(0, 1)); return;
      case GgufValueType.INT8: b8.writeInt8(Number(v)); this.push(b8.subarray(0, 1)); return;
      case GgufValueType.UINT16: b8.writeUInt16LE(Number(v)); this.push(b8.subarray(0, 2)); return;
      case GgufValueType.INT16: b8.writeInt16LE(Number(v)); this.push(b8.subarray(0, 2)); return;
      case GgufValueType.UINT32: b8.writeUInt32LE(Number(v)); this.push(b8.subarray(0, 4)); return;
      case GgufValueType.INT32: b8.writeInt32LE(Number(v)); this.push(b8.subarray(0, 4)); return;
      case GgufValueType.FLOAT32: b8.writeFloatLE(Number(v)); this.push(b8.subarray(0, 4)); return;
      case GgufValueType.BOOL: b8.writeUInt8(v ? 1 : 0); this.push(b8.subarray(0, 1)); return;
      case GgufValueType.UINT64: b8.writeBigUInt64LE(BigInt(v as number | bigint)); this.push(b8); return;
      case GgufValueType.INT64: b8.writeBigInt64LE(BigInt(v as number | bigint)); this.push(b8); return;
      case GgufValueType.FLOAT64: b8.writeDoubleLE(Number(v)); this.push(b8); return;
      case GgufValueType.STRING: this.str(String(v)); return;
      case GgufValueType.ARRAY: {
        const a = v as GgufArray;
        this.u32(a.itemType);
        this.u64(a.items.length);
        for (const item of a.items) this.value(a.itemType, item);
        return;
      }
      default:
        t satisfies never;
    }
  }
}

/** Serialises to GGUF bytes: tensors laid out in order at aligned offsets unless forced. */
export function serializeGguf(g: EditableGguf): Buffer {
  const alignKv = g.kv.find((k) => k.key === 'general.alignment');
  const alignment = typeof alignKv?.value === 'number' && alignKv.value > 0 ? alignKv.value : 32;
  const w = new Writer();
  w.push(Buffer.from('GGUF', 'latin1'));
  w.u32(g.version);
  w.u64(g.tensors.length);
  w.u64(g.kv.length);
  for (const kv of g.kv) {
    w.str(kv.key);
    w.u32(kv.type);
    w.value(kv.type, kv.value);
  }
  const offsets: number[] = [];
  let next = 0;
  for (const t of g.tensors) {
    offsets.push(next);
    next += Math.ceil(t.data.length / alignment) * alignment;
  }
  g.tensors.forEach((t, i) => {
    w.str(t.name);
    w.u32(t.ne.length);
    for (const n of t.ne) w.u64(n);
    w.u32(t.type);
    w.u64(t.forceOffset ?? offsets[i]);
  });
  w.pad(alignment);
  const dataStart = w.length;
  g.tensors.forEach((t, i) => {
    const want = dataStart + offsets[i];
    if (w.length < want) w.push(Buffer.alloc(want - w.length));
    w.push(t.data);
  });
  w.pad(alignment);
  return w.concat();
}

/** Serialises and writes to `path`. */
export function writeGguf(g: EditableGguf, path: string): void {
  fs.writeFileSync(path, serializeGguf(g));
}
