/** Tensor construction and the exact f16 / bf16 / Q8_0 conversions. */
import { ArgumentError, ShapeError } from '../../lib/errors';
import { Tensor, bf16BitsToF32, f16BitsToF32, f32ToBf16Bits, f32ToF16Bits } from '../../lib/tensor';

describe('Tensor', () => {
  test('from / zeros / numel / validation', () => {
    const t = Tensor.from([1, 2, 3, 4, 5, 6], [2, 3]);
    expect(t.dtype).toBe('f32');
    expect(t.shape).toEqual([2, 3]);
    expect(t.numel).toBe(6);
    expect(Tensor.zeros([0, 4]).numel).toBe(0);
    expect(() => Tensor.from([1, 2, 3], [2, 2])).toThrow(ShapeError);
    expect(() => Tensor.zeros([2, -1])).toThrow(ShapeError);
    expect(() => new Tensor('f16', [2], new Uint8Array(3))).toThrow(/Expected 4 bytes/);
    expect(() => new Tensor('f32', [2], new Uint8Array(8))).toThrow(ArgumentError);
  });

  test('f16 round to nearest even, subnormals, overflow', () => {
    const cases: [number, number][] = [
      [0, 0x0000],
      [-0, 0x8000],
      [1, 0x3c00],
      [-2, 0xc000],
      [65504, 0x7bff],
      [65520, 0x7c00], // halfway above max rounds to inf
      [1 + 2 ** -11, 0x3c00], // tie -> even
      [1 + 3 * 2 ** -11, 0x3c02], // tie -> even (up)
      [2 ** -24, 0x0001],
      [2 ** -25, 0x0000], // tie -> even (zero)
      [3 * 2 ** -25, 0x0002],
      [2 ** -14, 0x0400],
      [Infinity, 0x7c00],
    ];
    for (const [v, bits] of cases) expect([v, f32ToF16Bits(v)]).toEqual([v, bits]);
    expect(f32ToF16Bits(NaN) & 0x7c00).toBe(0x7c00);
    for (let h = 0; h < 0x7c00; h += 37) expect(f32ToF16Bits(f16BitsToF32(h))).toBe(h);
  });

  test('bf16 round to nearest even', () => {
    expect(f32ToBf16Bits(1)).toBe(0x3f80);
    expect(f32ToBf16Bits(1 + 2 ** -8)).toBe(0x3f80);
    expect(f32ToBf16Bits(1 + 3 * 2 ** -8)).toBe(0x3f82);
    expect(f32ToBf16Bits(-3.5)).toBe(0xc060);
    expect(Number.isNaN(bf16BitsToF32(f32ToBf16Bits(NaN)))).toBe(true);
  });

  test('q8_0 blocks: d = absmax/127 as f16, |q| <= 127, dequant error <= d/2', () => {
    const x = Tensor.from(Float32Array.from({ length: 64 }, (_, i) => (i < 32 ? i - 10.3 : Math.sin(i) * 1e-3)), [2, 32]);
    const q = Tensor.quantize(x, 'q8_0');
    expect(q.data.byteLength).toBe(68);
    const view = new DataView(q.data.buffer);
    expect(f16BitsToF32(view.getUint16(0, true))).toBeCloseTo(20.7 / 127, 3);
    expect(view.getInt8(2 + 31)).toBe(127);
    const back = q.toFloat32().data;
    for (let b = 0; b < 2; b++) {
      const d = f16BitsToF32(view.getUint16(b * 34, true));
      for (let i = 0; i < 32; i++) expect(Math.abs(back[b * 32 + i] - x.data[b * 32 + i])).toBeLessThanOrEqual(d * 0.5 + d * 2 ** -10 * 127);
    }
    const zeros = Tensor.quantize(Tensor.zeros([1, 32]), 'q8_0').toFloat32();
    expect(Array.from(zeros.data)).toEqual(new Array(32).fill(0));
  });
});
