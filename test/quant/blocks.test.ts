/**
 * GGUF block decoders vs hand-built blocks (docs/KERNELS.md, Weight blocks): each block is
 * packed here bit by bit from chosen codes, scales and d / dmin (edge nibbles
 * 0/15, 6-bit scales at 0 and 63, negative d, nonzero dmin, int8 scales at
 * -128/127), and its values are computed from those parameters with the
 * spec's formula. Both the native decoder (through embed, which widens rows
 * exactly) and the TS decoder (Tensor.toFloat32) must match bit for bit.
 * Then quantizer round trips on random data.
 */
import { kernels } from '../../lib/kernels';
import { Tensor, f32ToF16Bits, f16BitsToF32, type TensorDType } from '../../lib/tensor';
import { expectEqualArrays, prng, randn } from '../kernels/helpers';

const fr = Math.fround;

function f16(v: number): number {
  return f16BitsToF32(f32ToF16Bits(v));
}

interface Built {
  dtype: TensorDType;
  bytes: Uint8Array;
  want: Float32Array;
}

function q8_0(): Built {
  const b = new Uint8Array(34);
  const v = new DataView(b.buffer);
  const d = f16(-0.375);
  v.setUint16(0, f32ToF16Bits(d), true);
  const q = Array.from({ length: 32 }, (_, i) => [-128, 127, -127, 0, 1, -1][i % 6] + (i >= 6 ? (i % 5) - 2 : 0));
  q.forEach((x, i) => v.setInt8(2 + i, Math.max(-128, Math.min(127, x))));
  const want = Float32Array.from({ length: 32 }, (_, i) => fr(d * v.getInt8(2 + i)));
  return { dtype: 'q8_0', bytes: b, want };
}

function q4_0(): Built {
  const b = new Uint8Array(18);
  const v = new DataView(b.buffer);
  const d = f16(-0.5);
  v.setUint16(0, f32ToF16Bits(d), true);
  const q = Array.from({ length: 32 }, (_, e) => (e === 0 ? 0 : e === 31 ? 15 : (e * 7) % 16));
  for (let j = 0; j < 16; j++) b[2 + j] = q[j] | (q[j + 16] << 4);
  return { dtype: 'q4_0', bytes: b, want: Float32Array.from(q, (x) => fr(d * (x - 8))) };
}

/** Q4_K (bits = 4) or Q5_K (bits = 5). */
function kQuant(bits: 4 | 5): Built {
  const size = bits === 4 ? 144 : 176;
  const b = new Uint8Array(size);
  const v = new DataView(b.buffer);
  const d = f16(0.25);
  const dmin = f16(-0.125);
  v.setUint16(0, f32ToF16Bits(d), true);
  v.setUint16(2, f32ToF16Bits(dmin), true);
  const sc = [63, 0, 1, 62, 32, 63, 17, 48];
  const m = [0, 63, 5, 63, 63, 0, 33, 1];
  // scale field: bytes 0-3 = sc[0..3] | top bits of sc[4..7]; 4-7 = m[0..3] | top bits of m[4..7];
  // 8-11 = low nibble sc[4..7] | low nibble m[4..7] << 4
  for (let j = 0; j < 4; j++) {
    b[4 + j] = sc[j] | ((sc[j + 4] >> 4) << 6);
    b[8 + j] = m[j] | ((m[j + 4] >> 4) << 6);
    b[12 + j] = (sc[j + 4] & 15) | ((m[j + 4] & 15) << 4);
  }
  const top = (1 << bits) - 1;
  const q = Array.from({ length: 256 }, (_, e) => (e === 0 ? 0 : e === 255 ? top : e === 128 ? 15 : (e * 11) % (top + 1)));
  const qs = bits === 4 ? 16 : 48;
  for (let e = 0; e < 256; e++) {
    const byte = qs + 32 * Math.floor(e / 64) + (e % 32);
    b[byte] |= (e % 64 < 32 ? q[e] & 15 : (q[e] & 15) << 4);
    if (bits === 5 && q[e] & 16) b[16 + (e % 32)] |= 1 << Math.floor(e / 32);
  }
  const want = Float32Array.from(q, (x, e) => {
    const j = Math.floor(e / 32);
    return fr(fr(fr(d * sc[j]) * x) - fr(dmin * m[j]));
  });
  return { dtype: bits === 4 ? 'q4_k' : 'q5_k', bytes: b, want };
}

function q6_k(): Built {
  const b = new Uint8Array(210);
  const v = new DataView(b.buffer);
  const d = f16(-0.0625);
  v.setUint16(208, f32ToF16Bits(d), true);
  const sc = [-128, 127, -1, 0, 1, 64, -64, 5, -128, 127, 2, -3, 100, -100, 7, 9];
  sc.forEach((s, j) => v.setInt8(192 + j, s));
  const q = Array.from({ length: 256 }, (_, e) => (e === 0 ? 0 : e === 255 ? 63 : e === 100 ? 63 : (e * 13) % 64));
  for (let e = 0; e < 256; e++) {
    const half = Math.floor(e / 128);
    const quarter = Math.floor((e % 128) / 32);
    const l = e % 32;
    const ql = 64 * half + (quarter % 2 === 0 ? l : 32 + l);
    b[ql] |= quarter < 2 ? q[e] & 15 : (q[e] & 15) << 4;
    b[128 + 32 * half + l] |= (q[e] >> 4) << (2 * quarter);
  }
  const want = Float32Array.from(q, (x, e) => fr(fr(d * sc[Math.floor(e / 16)]) * (x - 32)));
  return { dtype: 'q6_k', bytes: b, want };
}

describe('hand-built blocks decode bit for bit', () => {
  test.each([
    ['q8_0', q8_0],
    ['q4_0', q4_0],
    ['q4_k', () => kQuant(4)],
    ['q5_k', () => kQuant(5)],
    ['q6_k', q6_k],
  ] as const)('%s', async (_name, build) => {
    const { dtype, bytes, want } = build();
    const t = new Tensor(dtype, [1, want.length], bytes);
    expectEqualArrays(`${dtype} TS decoder`, t.toFloat32().data, want);
    const native = await kernels.embed([0, 0], t);
    expectEqualArrays(`${dtype} native decoder`, native.data.subarray(0, want.length), want);
    // Two rows: the second is the first block again (row addressing).
    const two = new Uint8Array(bytes.length * 2);
    two.set(bytes, 0);
    two.set(bytes, bytes.length);
    const got = await kernels.embed([1], new Tensor(dtype, [2, want.length], two));
    expectEqualArrays(`${dtype} native decoder, row 1`, got.data, want);
  });
});

describe('quantizer round trips', () => {
  test.each([
    { dtype: 'q8_0' as const, nmse: 1e-4 },
    { dtype: 'q6_k' as const, nmse: 2e-3 },
    { dtype: 'q5_k' as const, nmse: 5e-3 },
    { dtype: 'q4_k' as const, nmse: 2e-2 },
    { dtype: 'q4_0' as const, nmse: 2e-2 },
  ])('$dtype', async ({ dtype, nmse }) => {
    const r = prng(7);
    const x = randn(r, [4, 512], 0.7, 0.1);
    x.data[3] = 9; // an outlier
    x.data[700] = -6;
    const q = Tensor.quantize(x, dtype);
    const back = q.toFloat32().data;
    let se = 0;
    let sr = 0;
    for (let i = 0; i < back.length; i++) {
      se += (back[i] - x.data[i]) ** 2;
      sr += x.data[i] ** 2;
    }
    expect(se / sr).toBeLessThan(nmse);
    const native = await kernels.embed([0, 1, 2, 3], q);
    expectEqualArrays(`${dtype} native == TS`, native.data, back);
  });
  test('zero and constant blocks', () => {
    for (const dtype of ['q8_0', 'q4_0', 'q4_k', 'q5_k', 'q6_k'] as const) {
      const z = Tensor.quantize(Tensor.zeros([1, 256]), dtype).toFloat32().data;
      expect(Array.from(z).every((v) => v === 0)).toBe(true);
    }
  });
});
