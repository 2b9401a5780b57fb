/**
 * A minimal host tensor for the kernel API: a dtype, a shape (outermost first,
 * last dim contiguous) and the data. f32 tensors hold a Float32Array; weight
 * dtypes hold their raw little-endian bytes exactly as the native kernels and
 * GGUF files store them (f16/bf16: 2 bytes per element; q8_0: per 32 elements
 * along the last dim, an f16 scale d then 32 int8 q, w = d * q; q4_0, q4_k,
 * q5_k, q6_k: GGUF blocks along the last dim, see lib/quant/blocks.ts).
 */
import { types } from 'util';
import { ArgumentError, ShapeError } from './errors';
import { bf16BitsToF32, byteSize, dtypeOf, f16BitsToF32, f32ToBf16Bits, f32ToF16Bits, type TensorDType } from './dtype';
import { dequantizeBlocks, quantizeBlocks, type BlockFormat } from './quant/blocks';

export { bf16BitsToF32, f16BitsToF32, f32ToBf16Bits, f32ToF16Bits, type TensorDType } from './dtype';

/** Weight dtypes {@link Tensor.quantize} can produce. */
export type QuantizedDType = Exclude<TensorDType, 'f32'>;

// Q8_0 block: an f16 scale then 32 int8 (docs/KERNELS.md, Weight blocks).
const Q8_0_BLOCK = 32;
const Q8_0_BYTES = 34;

function checkShape(shape: readonly number[], what: string): void {
  if (!Array.isArray(shape) || shape.some((d) => !Number.isInteger(d) || d < 0))
    throw new ShapeError(`Expected ${what} to be an array of non-negative integers, got ${JSON.stringify(shape)}`);
}

function product(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Bytes a tensor of `shape` occupies in `dtype`. */
export function tensorByteLength(dtype: TensorDType, shape: readonly number[]): number {
  const layout = dtypeOf(dtype);
  const last = shape.length ? shape[shape.length - 1] : 1;
  if (last % layout.blockSize !== 0)
    throw new ShapeError(
      `Expected the last dim of a ${dtype} tensor to be a multiple of ${layout.blockSize}, got ${JSON.stringify(shape)}`,
    );
  return byteSize(layout, product(shape));
}

/** A dense tensor on the host (see the module comment for the data layout). */
export class Tensor {
  /** Element type. */
  readonly dtype: TensorDType;
  /** Dimensions, outermost first; the last one is contiguous. */
  readonly shape: readonly number[];
  /** Float32Array for 'f32'; raw little-endian bytes (Uint8Array) for the weight dtypes. */
  readonly data: Float32Array | Uint8Array;

  /**
   * Wraps existing data without copying. Throws ShapeError when the data length
   * does not match the shape and dtype.
   */
  constructor(dtype: TensorDType, shape: readonly number[], data: Float32Array | Uint8Array) {
    checkShape(shape, 'shape');
    if (dtype === 'f32') {
      if (!types.isFloat32Array(data)) throw new ArgumentError('Expected f32 tensor data to be a Float32Array');
      if (data.length !== product(shape))
        throw new ShapeError(`Expected ${product(shape)} elements for shape ${JSON.stringify(shape)}, got ${data.length}`);
    } else {
      if (!types.isUint8Array(data)) throw new ArgumentError(`Expected ${dtype} tensor data to be a Uint8Array`);
      const bytes = tensorByteLength(dtype, shape);
      if (data.byteLength !== bytes)
        throw new ShapeError(
          `Expected ${bytes} bytes for a ${dtype} tensor of shape ${JSON.stringify(shape)}, got ${data.byteLength}`,
        );
    }
    this.dtype = dtype;
    this.shape = Object.freeze([...shape]);
    this.data = data;
  }

  /** An f32 tensor over `data` (a Float32Array is wrapped, not copied; a number[] is copied). */
  static from(data: Float32Array | readonly number[], shape: readonly number[]): Tensor {
    return new Tensor('f32', shape, types.isFloat32Array(data) ? data : Float32Array.from(data as readonly number[]));
  }

  /** An f32 tensor of zeros. */
  static zeros(shape: readonly number[]): Tensor {
    checkShape(shape, 'shape');
    return new Tensor('f32', shape, new Float32Array(product(shape)));
  }

  /**
   * Converts an f32 tensor to a weight dtype: f16 and bf16 round to nearest
   * even; q8_0 takes blocks of 32 along the last dim with d = absmax / 127
   * (stored as f16) and q = round(x / d) (half away from zero, clamped to
   * [-127, 127]), as GGUF does; q4_0 / q4_k / q5_k / q6_k use the block
   * quantizers of lib/quant/blocks.ts.
   */
  static quantize(t: Tensor, dtype: QuantizedDType): Tensor {
    if (t.dtype !== 'f32') throw new ArgumentError(`Expected an f32 tensor to quantize, got ${t.dtype}`);
    const src = t.data as Float32Array;
    const out = new Uint8Array(tensorByteLength(dtype, t.shape));
    const view = new DataView(out.buffer);
    switch (dtype) {
      case 'f16':
        for (let i = 0; i < src.length; i++) view.setUint16(2 * i, f32ToF16Bits(src[i]), true);
        break;
      case 'bf16':
        for (let i = 0; i < src.length; i++) view.setUint16(2 * i, f32ToBf16Bits(src[i]), true);
        break;
      case 'q8_0':
        for (let b = 0; b < src.length / Q8_0_BLOCK; b++) {
          let amax = 0;
          for (let i = 0; i < Q8_0_BLOCK; i++) amax = Math.max(amax, Math.abs(src[b * Q8_0_BLOCK + i]));
          const d = Math.fround(amax / 127);
          const id = d ? Math.fround(1 / d) : 0;
          view.setUint16(b * Q8_0_BYTES, f32ToF16Bits(d), true);
          for (let i = 0; i < Q8_0_BLOCK; i++) {
            const v = Math.fround(src[b * Q8_0_BLOCK + i] * id);
            const q = Math.max(-127, Math.min(127, Math.sign(v) * Math.round(Math.abs(v))));
            view.setInt8(b * Q8_0_BYTES + 2 + i, q);
          }
        }
        break;
      case 'q4_0':
      case 'q4_k':
      case 'q5_k':
      case 'q6_k':
        quantizeBlocks(dtype satisfies BlockFormat, src, out);
        break;
      default:
        dtype satisfies never;
        throw new ArgumentError(`Unknown dtype ${String(dtype)}`);
    }
    return new Tensor(dtype, t.shape, out);
  }

  /** Number of elements. */
  get numel(): number {
    return product(this.shape);
  }

  /** The values as f32 (a copy for weight dtypes, this tensor itself for f32). */
  toFloat32(): Tensor {
    if (this.dtype === 'f32') return this;
    const n = this.numel;
    const out = new Float32Array(n);
    const view = new DataView(this.data.buffer, this.data.byteOffset, this.data.byteLength);
    switch (this.dtype) {
      case 'f16':
        for (let i = 0; i < n; i++) out[i] = f16BitsToF32(view.getUint16(2 * i, true));
        break;
      case 'bf16':
        for (let i = 0; i < n; i++) out[i] = bf16BitsToF32(view.getUint16(2 * i, true));
        break;
      case 'q8_0':
        for (let b = 0; b < n / Q8_0_BLOCK; b++) {
          const d = f16BitsToF32(view.getUint16(b * Q8_0_BYTES, true));
          for (let i = 0; i < Q8_0_BLOCK; i++) out[b * Q8_0_BLOCK + i] = Math.fround(d * view.getInt8(b * Q8_0_BYTES + 2 + i));
        }
        break;
      case 'q4_0':
      case 'q4_k':
      case 'q5_k':
      case 'q6_k':
        dequantizeBlocks(this.dtype, this.data as Uint8Array, out);
        break;
      default:
        this.dtype satisfies never;
    }
    return new Tensor('f32', this.shape, out);
  }
}
