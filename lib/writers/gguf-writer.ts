/**
 * Writes GGUF v3 files: metadata, tensor infos, then aligned tensor data,
 * streamed tensor by tensor so multi-GB synthetic models never sit in memory
 * at once. Used for synthetic benchmark models and tests.
 */
import * as fs from 'fs';

/** A metadata value with its GGUF type. */
export type GgufMetaValue =
  | { type: 'u32' | 'i32' | 'f32' | 'u64' | 'i64' | 'f64'; value: number }
  | { type: 'bool'; value: boolean }
  | { type: 'string'; value: string }
  | { type: 'array'; itemType: 'u32' | 'i32' | 'f32' | 'string'; values: readonly (number | string)[] };

/** One tensor: GGUF dimension order (fastest first) and a producer of its bytes. */
export interface GgufTensorSource {
  name: string;
  /** ne, fastest-varying first. */
  ne: readonly number[];
  /** ggml type id. */
  type: number;
  byteLength: number;
  /** Called once, in file order, when the tensor's data is written. */
  data: () => Uint8Array;
}

const VALUE_TYPE = { u32: 4, i32: 5, f32: 6, bool: 7, string: 8, array: 9, u64: 10, i64: 11, f64: 12 } as const;

/** Little-endian GGUF byte builder (also used by tests that craft broken files). */
export class GgufByteSink {
  private chunks: Buffer[] = [];
  length = 0;
  push(b: Buffer): void {
    this.chunks.push(b);
    this.length += b.length;
  }
  u32(v: number): void {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(v >>> 0);
    this.push(b);
  }
  u64(v: number | bigint): void {
    const b = Buffer.alloc(8);
    b.writeBigUInt64LE(BigInt(v));
    this.push(b);
  }
  str(s: string): void {
    const b = Buffer.from(s, 'utf8');
    this.u64(b.length);
    this.push(b);
  }
  /** Zero bytes up to the next multiple of `alignment`. */
  pad(alignment: number): void {
    const n = (alignment - (this.length % alignment)) % alignment;
    if (n) this.push(Buffer.alloc(n));
  }
  scalar(type: string, v: number | string | boolean): void {
    const b = Buffer.alloc(8);
    switch (type) {
      case 'u32': b.writeUInt32LE(v as number); return this.push(b.subarray(0, 4));
      case 'i32': b.writeInt32LE(v as number); return this.push(b.subarray(0, 4));
      case 'f32': b.writeFloatLE(v as number); return this.push(b.subarray(0, 4));
      case 'u64': b.writeBigUInt64LE(BigInt(v as number)); return this.push(b);
      case 'i64': b.writeBigInt64LE(BigInt(v as number)); return this.push(b);
      case 'f64': b.writeDoubleLE(v as number); return this.push(b);
      case 'bool': return this.push(Buffer.from([v ? 1 : 0]));
      case 'string': return this.str(v as string);
      default: throw new Error(`unknown GGUF value type ${type}`);
    }
  }
  concat(): Buffer {
    return Buffer.concat(this.chunks);
  }
}

const align = (n: number, a: number) => Math.ceil(n / a) * a;

/** Writes a GGUF v3 file at `path`. */
export function writeGguf(
  path: string,
  metadata: ReadonlyArray<readonly [string, GgufMetaValue]>,
  tensors: readonly GgufTensorSource[],
  alignment = 32,
): void {
  const head = new GgufByteSink();
  head.push(Buffer.from('GGUF', 'ascii'));
  head.u32(3);
  head.u64(tensors.length);
  head.u64(metadata.length);
  for (const [key, v] of metadata) {
    head.str(key);
    head.u32(VALUE_TYPE[v.type]);
    if (v.type === 'array') {
      head.u32(VALUE_TYPE[v.itemType]);
      head.u64(v.values.length);
      for (const item of v.values) head.scalar(v.itemType, item);
    } else {
      head.scalar(v.type, v.value);
    }
  }
  let offset = 0;
  for (const t of tensors) {
    head.str(t.name);
    head.u32(t.ne.length);
    for (const d of t.ne) head.u64(d);
    head.u32(t.type);
    head.u64(offset);
    offset = align(offset + t.byteLength, alignment);
  }
  const header = head.concat();
  const fd = fs.openSync(path, 'w');
  try {
    fs.writeSync(fd, header);
    fs.writeSync(fd, Buffer.alloc(align(header.length, alignment) - header.length));
    let written = 0;
    for (const t of tensors) {
      const bytes = t.data();
      if (bytes.byteLength !== t.byteLength) {
        throw new Error(`tensor ${t.name}: produced ${bytes.byteLength} bytes, declared ${t.byteLength}`);
      }
      fs.writeSync(fd, bytes);
      written += bytes.byteLength;
      const pad = align(written, alignment) - written;
      if (pad) fs.writeSync(fd, Buffer.alloc(pad));
      written += pad;
    }
  } finally {
    fs.closeSync(fd);
  }
}
