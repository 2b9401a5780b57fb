/**
 * GGUF (v2/v3, little-endian) header reader. It reads the header with bounded
 * reads — a window that starts small and grows only as far as the header
 * really goes — and validates every count, length, type id, offset and size
 * against the file before anything is allocated from it. Tensor data is never
 * read here; the addon memory-maps it at the offsets this returns.
 *
 * Layout: magic `GGUF`, u32 version, u64 tensor count, u64 kv count, the kv
 * pairs (string key, u32 value type, value), the tensor infos (string name,
 * u32 n_dims, u64 ne[n_dims] fastest-varying first, u32 ggml type, u64 offset
 * relative to the data section), then padding to `general.alignment`
 * (default 32) and the data section.
 */
import type { promises as fsp } from 'node:fs';
import { ModelFormatError, UnsupportedError } from '../errors';
import { withModelFile } from './open-file';
import { GgmlType, ggmlTypeLayout, ggmlTypeName, rowByteSize, runnableTensorType } from './ggml-type';

/** GGUF metadata value type ids. */
export enum GgufValueType {
  UINT8 = 0,
  INT8 = 1,
  UINT16 = 2,
  INT16 = 3,
  UINT32 = 4,
  INT32 = 5,
  FLOAT32 = 6,
  BOOL = 7,
  STRING = 8,
  ARRAY = 9,
  UINT64 = 10,
  INT64 = 11,
  FLOAT64 = 12,
}

/**
 * A scalar metadata value. 64-bit integers are numbers when they fit in
 * Number.MAX_SAFE_INTEGER and bigints otherwise. A scalar FLOAT32 is the
 * shortest decimal that rounds to the same f32 (so `1e-5` stays `1e-5`);
 * FLOAT32 array items are the exact f32 values.
 */
export type GgufScalar = number | bigint | boolean | string;

/** An array value with its item type (items of an ARRAY-of-ARRAY are GgufArrays). */
export interface GgufArray {
  readonly itemType: GgufValueType;
  readonly items: readonly GgufValue[];
}

/** Any metadata value. */
export type GgufValue = GgufScalar | GgufArray;

/** One metadata pair, with its on-disk value type. */
export interface GgufKv {
  readonly key: string;
  readonly type: GgufValueType;
  readonly value: GgufValue;
}

/** One tensor of the tensor table, validated against the file. */
export interface GgufTensorInfo {
  readonly name: string;
  /** Dimensions fastest-varying first (GGUF order), 1 to 4 of them. */
  readonly ne: readonly number[];
  readonly type: GgmlType;
  /** Offset relative to the data section, as stored. */
  readonly relativeOffset: number;
  /** Absolute byte offset in the file. */
  readonly offset: number;
  /** Bytes of one row of `ne[0]` elements. */
  readonly rowBytes: number;
  /** Bytes of the whole tensor. */
  readonly byteSize: number;
}

/** A parsed, validated GGUF header. */
export interface GgufFile {
  readonly path: string;
  readonly fileSize: number;
  readonly version: number;
  readonly alignment: number;
  /** Absolute offset of the data section. */
  readonly dataOffset: number;
  /** Metadata in file order. */
  readonly kv: readonly GgufKv[];
  readonly kvByKey: ReadonlyMap<string, GgufKv>;
  /** Tensor infos in file order. */
  readonly tensors: readonly GgufTensorInfo[];
  readonly tensorByName: ReadonlyMap<string, GgufTensorInfo>;
}

/** Options of {@link readGguf}. */
export interface GgufReadOptions {
  /**
   * Accept tensor types hybridlm does not run yet (Q4_K, …) instead of
   * throwing UnsupportedError; for inspection tools and tests. Default false.
   */
  readonly allowUnsupportedTypes?: boolean;
}

/** Default `general.alignment`. */
export const GGUF_DEFAULT_ALIGNMENT = 32;

const MAGIC = 0x46554747; // 'GGUF' read as little-endian u32
const MAX_COUNT = 1 << 24; // tensors, kv pairs
const MAX_ARRAY_ITEMS = 1 << 28;
const MAX_STRING_BYTES = 64 << 20;
const MAX_KEY_BYTES = 1 << 16;
const MAX_ARRAY_DEPTH = 8;
const MAX_ALIGNMENT = 1 << 20;
const MAX_HEADER_BYTES = 1 << 30;
const INITIAL_WINDOW = 256 << 10;

/** Thrown inside the parser when the window is too small but the file has more bytes. */
class NeedMoreBytes {
  constructor(readonly end: number) {}
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

class Cursor {
  pos = 0;
  constructor(
    readonly buf: Buffer,
    readonly fileSize: number,
    readonly path: string,
  ) {}

  need(n: number, what: string): void {
    const end = this.pos + n;
    if (end <= this.buf.length) return;
    if (end <= this.fileSize && this.buf.length < this.fileSize) throw new NeedMoreBytes(end);
    throw new ModelFormatError(
      `${this.path}: file ends inside the GGUF header while reading ${what} ` +
        `(needs bytes up to ${end}, file has ${this.fileSize})`,
    );
  }

  /** Bytes left in the file after the cursor. */
  remaining(): number {
    return this.fileSize - this.pos;
  }

  u32(what: string): number {
    this.need(4, what);
    const v = this.buf.readUInt32LE(this.pos);
    this.pos += 4;
    return v;
  }

  /** u64 that must fit in a safe integer (counts, lengths, dims, offsets). */
  size(what: string): number {
    this.need(8, what);
    const v = this.buf.readBigUInt64LE(this.pos);
    this.pos += 8;
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) {
      throw new ModelFormatError(`${this.path}: ${what} is ${v}, larger than any valid value`);
    }
    return Number(v);
  }

  string(what: string, maxBytes: number): string {
    const len = this.size(`length of ${what}`);
    if (len > maxBytes || len > this.remaining()) {
      throw new ModelFormatError(
        `${this.path}: ${what} has length ${len}, ` +
          (len > this.remaining() ? `past the end of the file (${this.remaining()} bytes left)` : `over the limit of ${maxBytes}`),
      );
    }
    this.need(len, what);
    const bytes = this.buf.subarray(this.pos, this.pos + len);
    this.pos += len;
    try {
      return utf8.decode(bytes);
    } catch {
      throw new ModelFormatError(`${this.path}: ${what} is not valid UTF-8`);
    }
  }
}

/** f32 → the shortest decimal that rounds back to the same f32. */
function shortestF32(x: number): number {
  if (!Number.isFinite(x) || x === 0) return x;
  for (let p = 1; p <= 9; p++) {
    const y = Number(x.toPrecision(p));
    if (Math.fround(y) === x) return y;
  }
  return x;
}

const scalarBytes = (t: GgufValueType): number | undefined => {
  switch (t) {
    case GgufValueType.UINT8: case GgufValueType.INT8: case GgufValueType.BOOL: return 1;
    case GgufValueType.UINT16: case GgufValueType.INT16: return 2;
    case GgufValueType.UINT32: case GgufValueType.INT32: case GgufValueType.FLOAT32: return 4;
    case GgufValueType.UINT64: case GgufValueType.INT64: case GgufValueType.FLOAT64: return 8;
    case GgufValueType.STRING: case GgufValueType.ARRAY: return undefined;
    default:
      t satisfies never;
      return undefined;
  }
};

function isValueType(id: number): id is GgufValueType {
  return Number.isInteger(id) && id >= GgufValueType.UINT8 && id <= GgufValueType.FLOAT64;
}

function int64(v: bigint): number | bigint {
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
}

/** Reads one scalar at `p` (bounds already checked). `exactF32` keeps array floats exact. */
function scalarAt(c: Cursor, t: GgufValueType, p: number, exactF32: boolean, what: string): GgufScalar {
  const b = c.buf;
  switch (t) {
    case GgufValueType.UINT8: return b.readUInt8(p);
    case GgufValueType.INT8: return b.readInt8(p);
    case GgufValueType.UINT16: return b.readUInt16LE(p);
    case GgufValueType.INT16: return b.readInt16LE(p);
    case GgufValueType.UINT32: return b.readUInt32LE(p);
    case GgufValueType.INT32: return b.readInt32LE(p);
    case GgufValueType.FLOAT32: return exactF32 ? b.readFloatLE(p) : shortestF32(b.readFloatLE(p));
    case GgufValueType.BOOL: {
      const v = b.readUInt8(p);
      if (v > 1) throw new ModelFormatError(`${c.path}: ${what} is a bool with byte value ${v}`);
      return v === 1;
    }
    case GgufValueType.UINT64: return int64(b.readBigUInt64LE(p));
    case GgufValueType.INT64: return int64(b.readBigInt64LE(p));
    case GgufValueType.FLOAT64: return b.readDoubleLE(p);
    case GgufValueType.STRING: case GgufValueType.ARRAY:
      throw new Error('unreachable: not a fixed-size scalar');
    default:
      t satisfies never;
      throw new Error('unreachable');
  }
}

function readValue(c: Cursor, t: GgufValueType, what: string, depth: number): GgufValue {
  if (t === GgufValueType.STRING) return c.string(what, MAX_STRING_BYTES);
  if (t !== GgufValueType.ARRAY) {
    const n = scalarBytes(t) as number;
    c.need(n, what);
    const v = scalarAt(c, t, c.pos, false, what);
    c.pos += n;
    return v;
  }
  if (depth >= MAX_ARRAY_DEPTH) {
    throw new ModelFormatError(`${c.path}: ${what} nests arrays deeper than ${MAX_ARRAY_DEPTH} levels`);
  }
  const itemType = c.u32(`item type of ${what}`);
  if (!isValueType(itemType)) {
    throw new ModelFormatError(`${c.path}: ${what} is an array of unknown value type ${itemType}`);
  }
  const count = c.size(`length of ${what}`);
  const itemBytes = scalarBytes(itemType);
  const minItemBytes = itemBytes ?? (itemType === GgufValueType.STRING ? 8 : 12);
  if (count > MAX_ARRAY_ITEMS || count * minItemBytes > c.remaining()) {
    throw new ModelFormatError(
      `${c.path}: ${what} claims ${count} items, more than fit in the rest of the file (${c.remaining()} bytes)`,
    );
  }
  const items: GgufValue[] = new Array(count);
  if (itemBytes !== undefined) {
    c.need(count * itemBytes, what);
    for (let i = 0, p = c.pos; i < count; i++, p += itemBytes) items[i] = scalarAt(c, itemType, p, true, what);
    c.pos += count * itemBytes;
  } else {
    for (let i = 0; i < count; i++) items[i] = readValue(c, itemType, `${what}[${i}]`, depth + 1);
  }
  return Object.freeze({ itemType, items: Object.freeze(items) });
}

/** Converts a metadata value to plain JS (arrays become arrays). */
export function ggufPlainValue(v: GgufValue): unknown {
  if (typeof v === 'object') return Object.freeze(v.items.map(ggufPlainValue));
  return v;
}

function checkVersion(c: Cursor, version: number): void {
  if (version === 2 || version === 3) return;
  if (version === 1) throw new UnsupportedError(`${c.path}: GGUF version 1 is not supported (versions 2 and 3 are)`);
  const swapped = ((version & 0xff) << 24 | (version & 0xff00) << 8 | (version >>> 8) & 0xff00 | version >>> 24) >>> 0;
  if (swapped >= 1 && swapped <= 3) {
    throw new UnsupportedError(`${c.path}: big-endian GGUF files are not supported`);
  }
  throw new ModelFormatError(`${c.path}: unknown GGUF version ${version} (expected 2 or 3)`);
}

function parseWindow(buf: Buffer, fileSize: number, path: string, options: GgufReadOptions): GgufFile {
  const c = new Cursor(buf, fileSize, path);
  if (fileSize < 4) throw new ModelFormatError(`${path}: file is ${fileSize} bytes, too short to be GGUF`);
  const magic = c.u32('magic');
  if (magic !== MAGIC) {
    const shown = JSON.stringify(buf.subarray(0, 4).toString('latin1'));
    throw new ModelFormatError(`${path}: not a GGUF file (magic ${shown}, expected "GGUF")`);
  }
  const version = c.u32('version');
  checkVersion(c, version);
  const tensorCount = c.size('tensor count');
  const kvCount = c.size('metadata count');
  // A kv pair takes at least 8 (key length) + 4 (type) + 1 bytes, a tensor info 8 + 4 + 8 + 4 + 8.
  if (tensorCount > MAX_COUNT || tensorCount * 32 > c.remaining()) {
    throw new ModelFormatError(`${path}: tensor count ${tensorCount} does not fit in the file (${fileSize} bytes)`);
  }
  if (kvCount > MAX_COUNT || kvCount * 13 > c.remaining()) {
    throw new ModelFormatError(`${path}: metadata count ${kvCount} does not fit in the file (${fileSize} bytes)`);
  }

  const kv: GgufKv[] = [];
  const kvByKey = new Map<string, GgufKv>();
  for (let i = 0; i < kvCount; i++) {
    const key = c.string(`metadata key #${i}`, MAX_KEY_BYTES);
    if (kvByKey.has(key)) throw new ModelFormatError(`${path}: metadata key '${key}' appears twice`);
    const type = c.u32(`value type of '${key}'`);
    if (!isValueType(type)) {
      throw new ModelFormatError(`${path}: metadata key '${key}' has unknown value type ${type}`);
    }
    const entry: GgufKv = Object.freeze({ key, type, value: readValue(c, type, `metadata '${key}'`, 0) });
    kv.push(entry);
    kvByKey.set(key, entry);
  }

  let alignment = GGUF_DEFAULT_ALIGNMENT;
  const alignKv = kvByKey.get('general.alignment');
  if (alignKv) {
    const a = alignKv.value;
    if (typeof a !== 'number' || !Number.isInteger(a) || a < 1 || a > MAX_ALIGNMENT || (a & (a - 1)) !== 0) {
      throw new ModelFormatError(
        `${path}: metadata 'general.alignment' is ${String(a)}, expected a power of two up to ${MAX_ALIGNMENT}`,
      );
    }
    alignment = a;
  }

  interface RawInfo { name: string; ne: number[]; typeId: number; relativeOffset: number }
  const raw: RawInfo[] = [];
  const seen = new Set<string>();
  for (let i = 0; i < tensorCount; i++) {
    const name = c.string(`name of tensor #${i}`, MAX_KEY_BYTES);
    if (seen.has(name)) throw new ModelFormatError(`${path}: tensor '${name}' appears twice`);
    seen.add(name);
    const nDims = c.u32(`dimension count of tensor '${name}'`);
    if (nDims < 1 || nDims > 4) {
      throw new ModelFormatError(`${path}: tensor '${name}' has ${nDims} dimensions, expected 1 to 4`);
    }
    const ne: number[] = [];
    for (let d = 0; d < nDims; d++) {
      const n = c.size(`ne[${d}] of tensor '${name}'`);
      if (n < 1) throw new ModelFormatError(`${path}: tensor '${name}' has ne[${d}] = 0`);
      ne.push(n);
    }
    const typeId = c.u32(`type of tensor '${name}'`);
    const relativeOffset = c.size(`offset of tensor '${name}'`);
    raw.push({ name, ne, typeId, relativeOffset });
  }

  const dataOffset = Math.ceil(c.pos / alignment) * alignment;
  if (tensorCount > 0 && dataOffset > fileSize) {
    throw new ModelFormatError(
      `${path}: file ends before the data section (data starts at byte ${dataOffset}, file has ${fileSize})`,
    );
  }

  const tensors: GgufTensorInfo[] = [];
  const tensorByName = new Map<string, GgufTensorInfo>();
  for (const r of raw) {
    const l = ggmlTypeLayout(r.typeId);
    if (!l) throw new ModelFormatError(`${path}: tensor '${r.name}' has unknown type id ${r.typeId}`);
    const type = r.typeId as GgmlType;
    if (r.ne[0] % l.blockSize !== 0) {
      throw new ModelFormatError(
        `${path}: tensor '${r.name}' has rows of ${r.ne[0]} elements, not a multiple of the ${l.name} block size ${l.blockSize}`,
      );
    }
    const rowBytes = rowByteSize(l, r.ne[0]);
    let byteSize = rowBytes;
    for (let d = 1; d < r.ne.length; d++) byteSize *= r.ne[d];
    if (r.relativeOffset % alignment !== 0) {
      throw new ModelFormatError(
        `${path}: tensor '${r.name}' has offset ${r.relativeOffset}, not a multiple of the alignment ${alignment}`,
      );
    }
    const offset = dataOffset + r.relativeOffset;
    if (!Number.isSafeInteger(byteSize) || offset + byteSize > fileSize) {
      throw new ModelFormatError(
        `${path}: tensor '${r.name}' (offset ${offset}, ${byteSize} bytes) ends past the end of the file (${fileSize} bytes)`,
      );
    }
    const info: GgufTensorInfo = Object.freeze({
      name: r.name, ne: Object.freeze(r.ne), type, relativeOffset: r.relativeOffset, offset, rowBytes, byteSize,
    });
    tensors.push(info);
    tensorByName.set(info.name, info);
  }

  const byOffset = [...tensors].sort((a, b) => a.offset - b.offset);
  for (let i = 1; i < byOffset.length; i++) {
    const prev = byOffset[i - 1];
    if (byOffset[i].offset < prev.offset + prev.byteSize) {
      throw new ModelFormatError(`${path}: tensors '${prev.name}' and '${byOffset[i].name}' overlap`);
    }
  }

  if (!options.allowUnsupportedTypes) {
    for (const t of tensors) {
      if (runnableTensorType(t.type) === undefined) {
        throw new UnsupportedError(
          `${path}: tensor '${t.name}' has type ${ggmlTypeName(t.type)}, which hybridlm does not run yet ` +
            `(supported: F32, F16, BF16, Q8_0)`,
        );
      }
    }
  }

  return Object.freeze({
    path, fileSize, version, alignment, dataOffset,
    kv: Object.freeze(kv), kvByKey, tensors: Object.freeze(tensors), tensorByName,
  });
}

/**
 * Parses a GGUF header held entirely in memory (`buf` is the whole file, or at
 * least its whole header when `fileSize` says the file is longer).
 */
export function parseGgufBuffer(buf: Buffer, path: string, options: GgufReadOptions = {}, fileSize = buf.length): GgufFile {
  try {
    return parseWindow(buf, fileSize, path, options);
  } catch (err) {
    if (err instanceof NeedMoreBytes) {
      throw new ModelFormatError(`${path}: the GGUF header runs past the ${buf.length} bytes given`);
    }
    throw err;
  }
}

/**
 * Reads and validates the header of the GGUF file at `path`. Reads only the
 * header (in a window that grows as needed), never the tensor data.
 * Throws ModelFormatError for a malformed, truncated or inconsistent file,
 * UnsupportedError for a version or tensor type hybridlm does not handle.
 */
export async function readGguf(path: string, options: GgufReadOptions = {}): Promise<GgufFile> {
  return withModelFile(path, async (fh, fileSize) => {
    let buf = Buffer.alloc(0);
    let want = Math.min(fileSize, INITIAL_WINDOW);
    for (;;) {
      if (want > buf.length) {
        const next = Buffer.alloc(want);
        buf.copy(next);
        await readFully(fh, next, buf.length, path);
        buf = next;
      }
      try {
        return parseWindow(buf, fileSize, path, options);
      } catch (err) {
        if (!(err instanceof NeedMoreBytes)) throw err;
        if (err.end > MAX_HEADER_BYTES) {
          throw new ModelFormatError(`${path}: GGUF header is larger than ${MAX_HEADER_BYTES} bytes`);
        }
        want = Math.min(fileSize, MAX_HEADER_BYTES, Math.max(buf.length * 2, err.end + INITIAL_WINDOW));
      }
    }
  });
}

async function readFully(fh: fsp.FileHandle, buf: Buffer, from: number, path: string): Promise<void> {
  let pos = from;
  while (pos < buf.length) {
    let bytesRead: number;
    try {
      ({ bytesRead } = await fh.read(buf, pos, buf.length - pos, pos));
    } catch (err) {
      throw new ModelFormatError(`${path}: read failed (${(err as Error).message})`, { cause: err });
    }
    if (bytesRead === 0) throw new ModelFormatError(`${path}: file shrank while being read`);
    pos += bytesRead;
  }
}
