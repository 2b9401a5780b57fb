/**
 * safetensors reader: u64 little-endian header length N, N bytes of JSON
 * (`{ name: { dtype, shape, data_offsets: [begin, end] }, __metadata__? }`),
 * then the data section; `data_offsets` are relative to its start (8 + N).
 * Also reads sharded checkpoints (`model.safetensors.index.json`). Only the
 * header is read; every offset, size and overlap is checked against the file.
 */
import type { promises as fsp } from 'node:fs';
import * as nodePath from 'node:path';
import { ModelFormatError, UnsupportedError } from '../errors';
import { withModelFile } from './open-file';
import { readJsonFile } from './read-json';
import { TensorType } from './types';

/** One tensor of a safetensors header. */
export interface SafetensorsTensorInfo {
  readonly name: string;
  /** dtype string as stored (`BF16`, `F32`, …). */
  readonly dtype: string;
  /** The runnable type, or undefined when hybridlm does not run this dtype. */
  readonly tensorType: TensorType | undefined;
  /** Shape, outermost first. */
  readonly shape: readonly number[];
  /** Absolute byte offset in the file. */
  readonly offset: number;
  readonly byteSize: number;
}

/** A parsed, validated safetensors header. */
export interface SafetensorsFile {
  readonly path: string;
  readonly fileSize: number;
  /** Absolute offset of the data section (8 + header length). */
  readonly dataOffset: number;
  readonly tensors: readonly SafetensorsTensorInfo[];
  readonly tensorByName: ReadonlyMap<string, SafetensorsTensorInfo>;
  /** The `__metadata__` object, or an empty one. */
  readonly metadata: Readonly<Record<string, unknown>>;
}

/** Options of {@link readSafetensors}. */
export interface SafetensorsReadOptions {
  /** Accept dtypes hybridlm does not run (I64, F8_E4M3, …). Default false. */
  readonly allowUnsupportedTypes?: boolean;
}

/** Several shard files, and which one holds each tensor. */
export interface SafetensorsSet {
  readonly files: readonly SafetensorsFile[];
  /** Tensor name → index into `files`. */
  readonly fileOfTensor: ReadonlyMap<string, number>;
}

/** Bits per element of every dtype the safetensors format defines. */
const DTYPE_BITS: Readonly<Record<string, number>> = {
  BOOL: 8, U8: 8, I8: 8, F8_E5M2: 8, F8_E4M3: 8, F8_E8M0: 8, F4: 4, F6_E2M3: 6, F6_E3M2: 6,
  I16: 16, U16: 16, F16: 16, BF16: 16,
  I32: 32, U32: 32, F32: 32,
  I64: 64, U64: 64, F64: 64, C64: 64,
};

const RUNNABLE: Readonly<Record<string, TensorType>> = { F32: TensorType.F32, F16: TensorType.F16, BF16: TensorType.BF16 };

/** safetensors' own header limit. */
const MAX_HEADER_BYTES = 100_000_000;
const MAX_RANK = 8;

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

const isSize = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

/** Validates a parsed header object against a file of `fileSize` bytes. */
export function parseSafetensorsHeader(
  header: unknown,
  path: string,
  fileSize: number,
  dataOffset: number,
  options: SafetensorsReadOptions = {},
): SafetensorsFile {
  if (!isPlainObject(header)) throw new ModelFormatError(`${path}: safetensors header is not a JSON object`);
  const dataBytes = fileSize - dataOffset;
  const tensors: SafetensorsTensorInfo[] = [];
  let metadata: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(header)) {
    if (name === '__metadata__') {
      if (!isPlainObject(value)) throw new ModelFormatError(`${path}: '__metadata__' is not an object`);
      metadata = value;
      continue;
    }
    const where = `${path}: tensor '${name}'`;
    if (!isPlainObject(value)) throw new ModelFormatError(`${where} has no header object`);
    const { dtype, shape, data_offsets: offsets } = value;
    if (typeof dtype !== 'string') throw new ModelFormatError(`${where} has no 'dtype' string`);
    const bits = Object.hasOwn(DTYPE_BITS, dtype) ? DTYPE_BITS[dtype] : undefined;
    if (bits === undefined) throw new ModelFormatError(`${where} has unknown dtype '${dtype}'`);
    if (!Array.isArray(shape) || shape.length > MAX_RANK || !shape.every(isSize)) {
      throw new ModelFormatError(`${where} has an invalid 'shape' (expected up to ${MAX_RANK} non-negative integers)`);
    }
    if (!Array.isArray(offsets) || offsets.length !== 2 || !isSize(offsets[0]) || !isSize(offsets[1]) || offsets[0] > offsets[1]) {
      throw new ModelFormatError(`${where} has invalid 'data_offsets' (expected [begin, end] with begin <= end)`);
    }
    const [begin, end] = offsets as [number, number];
    if (end > dataBytes) {
      throw new ModelFormatError(
        `${where} (data_offsets [${begin}, ${end}]) ends past the end of the file (data section holds ${dataBytes} bytes)`,
      );
    }
    let numel = 1;
    for (const d of shape as number[]) numel *= d;
    const expectedBytes = (numel * bits) / 8;
    if (!Number.isSafeInteger(expectedBytes) || expectedBytes !== end - begin) {
      throw new ModelFormatError(
        `${where} has ${end - begin} bytes of data, expected ${expectedBytes} for ${dtype} [${(shape as number[]).join(', ')}]`,
      );
    }
    const tensorType = Object.hasOwn(RUNNABLE, dtype) ? RUNNABLE[dtype] : undefined;
    if (tensorType === undefined && !options.allowUnsupportedTypes) {
      throw new UnsupportedError(`${where} has dtype ${dtype}, which hybridlm does not run (supported: F32, F16, BF16)`);
    }
    tensors.push(Object.freeze({
      name, dtype, tensorType, shape: Object.freeze([...(shape as number[])]), offset: dataOffset + begin, byteSize: end - begin,
    }));
  }
  const byOffset = tensors.filter((t) => t.byteSize > 0).sort((a, b) => a.offset - b.offset);
  for (let i = 1; i < byOffset.length; i++) {
    const prev = byOffset[i - 1];
    if (byOffset[i].offset < prev.offset + prev.byteSize) {
      throw new ModelFormatError(`${path}: tensors '${prev.name}' and '${byOffset[i].name}' overlap`);
    }
  }
  return Object.freeze({
    path, fileSize, dataOffset,
    tensors: Object.freeze(tensors),
    tensorByName: new Map(tensors.map((t) => [t.name, t])),
    metadata: Object.freeze(metadata),
  });
}

/**
 * Reads and validates the header of one safetensors file. Throws
 * ModelFormatError for a malformed or truncated file, UnsupportedError for a
 * dtype hybridlm does not run (unless allowed).
 */
export async function readSafetensors(path: string, options: SafetensorsReadOptions = {}): Promise<SafetensorsFile> {
  return withModelFile(path, async (fh, fileSize) => {
    if (fileSize < 8) throw new ModelFormatError(`${path}: file is ${fileSize} bytes, too short to be safetensors`);
    const lenBuf = await readAt(fh, 0, 8, path);
    const len = lenBuf.readBigUInt64LE(0);
    if (len > BigInt(fileSize - 8)) {
      throw new ModelFormatError(`${path}: header length ${len} is past the end of the file (${fileSize} bytes)`);
    }
    const n = Number(len);
    if (n > MAX_HEADER_BYTES) throw new ModelFormatError(`${path}: header length ${n} is over the limit of ${MAX_HEADER_BYTES}`);
    if (n < 2) throw new ModelFormatError(`${path}: header length ${n} is too short for a JSON object`);
    const headerBytes = await readAt(fh, 8, n, path);
    let header: unknown;
    try {
      header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(headerBytes));
    } catch (err) {
      throw new ModelFormatError(`${path}: safetensors header is not valid JSON (${(err as Error).message})`, { cause: err });
    }
    return parseSafetensorsHeader(header, path, fileSize, 8 + n, options);
  });
}

async function readAt(fh: fsp.FileHandle, pos: number, length: number, path: string): Promise<Buffer> {
  const buf = Buffer.alloc(length);
  let done = 0;
  while (done < length) {
    let bytesRead: number;
    try {
      ({ bytesRead } = await fh.read(buf, done, length - done, pos + done));
    } catch (err) {
      throw new ModelFormatError(`${path}: read failed (${(err as Error).message})`, { cause: err });
    }
    if (bytesRead === 0) throw new ModelFormatError(`${path}: file shrank while being read`);
    done += bytesRead;
  }
  return buf;
}

/**
 * Reads a sharded checkpoint from its `model.safetensors.index.json`
 * (`{ weight_map: { tensor: "model-00001-of-00002.safetensors", … } }`). Shard
 * names must be plain file names in the same directory. Every tensor the
 * weight map names must be in the shard it names; tensors a shard holds but
 * the map omits are kept (a name in two shards is an error).
 */
export async function readSafetensorsIndex(indexPath: string, options: SafetensorsReadOptions = {}): Promise<SafetensorsSet> {
  const index = await readJsonFile(indexPath);
  if (!isPlainObject(index) || !isPlainObject(index.weight_map)) {
    throw new ModelFormatError(`${indexPath}: missing 'weight_map' object`);
  }
  const dir = nodePath.dirname(indexPath);
  const shardNames: string[] = [];
  const wanted = new Map<string, string>();
  for (const [tensor, shard] of Object.entries(index.weight_map)) {
    if (typeof shard !== 'string' || shard === '' || shard !== nodePath.basename(shard) || shard === '.' || shard === '..') {
      throw new ModelFormatError(`${indexPath}: weight_map entry '${tensor}' names an invalid shard file ${JSON.stringify(shard)}`);
    }
    if (!shardNames.includes(shard)) shardNames.push(shard);
    wanted.set(tensor, shard);
  }
  if (shardNames.length === 0) throw new ModelFormatError(`${indexPath}: 'weight_map' is empty`);
  const files: SafetensorsFile[] = [];
  for (const shard of shardNames) files.push(await readSafetensors(nodePath.join(dir, shard), options));
  return assembleSet(files, wanted, shardNames, indexPath);
}

/** A single-file checkpoint as a one-shard set. */
export async function readSafetensorsSingle(path: string, options: SafetensorsReadOptions = {}): Promise<SafetensorsSet> {
  const file = await readSafetensors(path, options);
  return assembleSet([file], new Map(), [nodePath.basename(path)], path);
}

function assembleSet(
  files: SafetensorsFile[],
  wanted: ReadonlyMap<string, string>,
  shardNames: readonly string[],
  where: string,
): SafetensorsSet {
  const fileOfTensor = new Map<string, number>();
  files.forEach((f, i) => {
    for (const t of f.tensors) {
      const other = fileOfTensor.get(t.name);
      if (other !== undefined) {
        throw new ModelFormatError(`${f.path}: tensor '${t.name}' is also in ${files[other].path}`);
      }
      fileOfTensor.set(t.name, i);
    }
  });
  for (const [tensor, shard] of wanted) {
    const i = fileOfTensor.get(tensor);
    if (i === undefined || shardNames[i] !== shard) {
      throw new ModelFormatError(`${where}: tensor '${tensor}' is mapped to ${shard} but that file does not hold it`);
    }
  }
  return Object.freeze({ files: Object.freeze(files), fileOfTensor });
}
