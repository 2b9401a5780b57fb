/**
 * Test helper: read a tensor's logical values back through a TensorEntry
 * (offset / rowBytes / matrixBytes), widening F32/F16/BF16 to float32. This is
 * how the addon will address the weights, so agreement between formats
 * proves the offsets.
 */
import * as fs from 'node:fs';
import { ModelFiles, TensorEntry, TensorType } from '../../lib/loaders/types';

/** IEEE half → float (subnormals included). */
export function f16ToF32(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

const bf16Scratch = new DataView(new ArrayBuffer(4));
/** bfloat16 → float (the top half of an f32). */
export function bf16ToF32(b: number): number {
  bf16Scratch.setUint32(0, b << 16, true);
  return bf16Scratch.getFloat32(0, true);
}

function elementBytes(t: TensorType): number {
  switch (t) {
    case TensorType.F32: return 4;
    case TensorType.F16: case TensorType.BF16: return 2;
    default: throw new Error(`test helper: cannot widen ${TensorType[t]}`);
  }
}

function decode(buf: Buffer, t: TensorType, out: Float32Array, at: number, n: number): void {
  for (let i = 0; i < n; i++) {
    switch (t) {
      case TensorType.F32: out[at + i] = buf.readFloatLE(4 * i); break;
      case TensorType.F16: out[at + i] = f16ToF32(buf.readUInt16LE(2 * i)); break;
      case TensorType.BF16: out[at + i] = bf16ToF32(buf.readUInt16LE(2 * i)); break;
      default: throw new Error(`test helper: cannot widen ${TensorType[t]}`);
    }
  }
}

/** The entry's values in logical order (outermost first), widened to float32. */
export function readEntry(model: ModelFiles, entry: TensorEntry): Float32Array {
  const fd = fs.openSync(model.files[entry.file], 'r');
  try {
    const shape = entry.shape;
    const cols = shape[shape.length - 1];
    const rows = shape.length >= 2 ? shape[shape.length - 2] : 1;
    const mats = shape.length === 3 ? shape[0] : 1;
    const size = elementBytes(entry.dtype);
    if (entry.rowBytes !== cols * size) throw new Error(`${entry.name}: rowBytes ${entry.rowBytes} != ${cols} × ${size}`);
    const out = new Float32Array(mats * rows * cols);
    const row = Buffer.alloc(entry.rowBytes);
    for (let m = 0; m < mats; m++) {
      for (let r = 0; r < rows; r++) {
        const pos = entry.offset + m * entry.matrixBytes + r * entry.rowBytes;
        if (fs.readSync(fd, row, 0, row.length, pos) !== row.length) throw new Error(`${entry.name}: short read`);
        decode(row, entry.dtype, out, (m * rows + r) * cols, cols);
      }
    }
    return out;
  } finally {
    fs.closeSync(fd);
  }
}
