/**
 * Test helper: load a safetensors file as (header object, data bytes), edit
 * the header, and write it back — or write raw header bytes to build
 * deliberately broken files.
 */
import * as fs from 'node:fs';

/** One header entry as stored. */
export interface SafetensorsEntry {
  dtype: string;
  shape: number[];
  data_offsets: [number, number];
}

/** A safetensors file in memory. */
export interface EditableSafetensors {
  header: Record<string, SafetensorsEntry | Record<string, string>>;
  /** The data section. */
  data: Buffer;
}

/** Loads a safetensors file. */
export function loadSafetensors(path: string): EditableSafetensors {
  const buf = fs.readFileSync(path);
  const n = Number(buf.readBigUInt64LE(0));
  return {
    header: JSON.parse(buf.subarray(8, 8 + n).toString('utf8')),
    data: Buffer.from(buf.subarray(8 + n)),
  };
}

/** Header entry of tensor `name`; throws when absent (a broken test). */
export function entry(st: EditableSafetensors, name: string): SafetensorsEntry {
  const e = st.header[name] as SafetensorsEntry | undefined;
  if (!e || !('dtype' in e)) throw new Error(`test helper: no tensor '${name}'`);
  return e;
}

/** File bytes from raw header bytes (padded with spaces to 8) and data. */
export function rawSafetensors(headerBytes: Buffer, data: Buffer, claimedLength?: number | bigint): Buffer {
  const pad = (8 - (headerBytes.length % 8)) % 8;
  const header = Buffer.concat([headerBytes, Buffer.alloc(pad, 0x20)]);
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(claimedLength ?? header.length));
  return Buffer.concat([len, header, data]);
}

/** Serialises to safetensors bytes. */
export function serializeSafetensors(st: EditableSafetensors): Buffer {
  return rawSafetensors(Buffer.from(JSON.stringify(st.header), 'utf8'), st.data);
}

/** Serialises and writes to `path`. */
export function writeSafetensors(st: EditableSafetensors, path: string): void {
  fs.writeFileSync(path, serializeSafetensors(st));
}
