/**
 * The int8 activation rounding of the block-format matmuls (SimdOps::quantize_act,
 * vectorized per ISA) against a plain reference written here: per block of 32
 * or 256 values d = absmax / 127, q = round_half_even(x * (1 / d)) clamped to
 * [-127, 127], and d times the exact integer sums of q per 16 and per 32. The
 * comparison is bit for bit (q, and the f32 bits of d and of both sums). The
 * lower SIMD paths rerun this file (simd-paths.test.ts).
 */
import { native } from '../../lib/native';
import { prng } from './helpers';

const fr = Math.fround;

interface Quantized {
  q: Int8Array;
  d: Float32Array;
  sum16: Float32Array;
  sum32: Float32Array;
}

function reference(x: Float32Array, block: number): Quantized {
  const n = x.length;
  const out = {
    q: new Int8Array(n),
    d: new Float32Array(n / block),
    sum16: new Float32Array(n / 16),
    sum32: new Float32Array(n / 32),
  };
  for (let b = 0; b < n / block; b++) {
    let amax = 0;
    for (let i = 0; i < block; i++) amax = Math.max(amax, Math.abs(x[b * block + i]));
    const d = fr(amax / 127);
    const id = d !== 0 ? fr(1 / d) : 0;
    out.d[b] = d;
    for (let i = 0; i < block; i++) {
      const scaled = fr(x[b * block + i] * id);
      // round half to even, as the 1.5 * 2^23 addition does in f32
      let v = Math.round(scaled);
      if (Math.abs(scaled % 1) === 0.5 && v % 2 !== 0) v -= 1;
      out.q[b * block + i] = Math.max(-127, Math.min(127, v));
    }
  }
  for (let j = 0; j < n / 16; j++) {
    let s = 0;
    for (let i = 0; i < 16; i++) s += out.q[16 * j + i];
    const d = out.d[Math.floor((16 * j) / block)];
    out.sum16[j] = fr(d * s);
    if (j & 1) {
      let s32 = s;
      for (let i = 0; i < 16; i++) s32 += out.q[16 * (j - 1) + i];
      out.sum32[(j - 1) / 2] = fr(d * s32);
    }
  }
  return out;
}

function bits(a: Float32Array): Uint32Array {
  return new Uint32Array(a.buffer, a.byteOffset, a.length);
}

function expectSameQuantization(got: Quantized, want: Quantized, what: string): void {
  for (const key of ['q', 'd', 'sum16', 'sum32'] as const) {
    const g = key === 'q' ? got.q : bits(got[key]);
    const w = key === 'q' ? want.q : bits(want[key]);
    expect(g.length).toBe(w.length);
    for (let i = 0; i < w.length; i++)
      if (g[i] !== w[i])
        throw new Error(`${what}: ${key}[${i}] got ${key === 'q' ? g[i] : got[key][i]} want ${key === 'q' ? w[i] : want[key][i]}`);
  }
}

// Rows of K values from a per-block generator (blocks of `block` values).
function rowsOf(T: number, K: number, block: number, gen: (blockIndex: number, i: number) => number): Float32Array {
  const x = new Float32Array(T * K);
  for (let b = 0; b < (T * K) / block; b++) for (let i = 0; i < block; i++) x[b * block + i] = gen(b, i);
  return x;
}

describe('quantizeActivations (int8 blocks of the block-format matmuls) vs a plain reference', () => {
  const r = prng(4242);
  const gauss = () => Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());

  const shapes = [
    { block: 32 as const, K: 32 },
    { block: 32 as const, K: 96 },
    { block: 32 as const, K: 1056 },
    { block: 256 as const, K: 256 },
    { block: 256 as const, K: 1280 },
  ];
  const inputs: { name: string; gen: (b: number, i: number) => number }[] = [
    { name: 'gaussian', gen: () => gauss() },
    { name: 'per-block scales 1e-30 .. 1e30', gen: (b) => gauss() * 10 ** (((b * 7) % 61) - 30) },
    { name: 'mixed magnitudes in a block', gen: (_b, i) => (i % 5 === 0 ? 1e20 : 1e-20) * gauss() },
    { name: 'zero and -0 blocks among others', gen: (b, i) => (b % 3 === 0 ? 0 : b % 3 === 1 ? -0 : i === 7 ? -3 : 0) },
    // absmax 127: d = 1, so x * id lands exactly on .5 for every other value (ties to even)
    { name: 'ties at d = 1', gen: (b, i) => (i === 0 ? (b & 1 ? -127 : 127) : ((i * 37) % 250) - 125 + 0.5) },
    // absmax 254: d = 2, odd integers scale to exact .5
    { name: 'ties at d = 2', gen: (b, i) => (i === 3 ? -254 : ((i * 13 + b) % 255) - 127) },
    { name: 'one value per block', gen: (b, i) => (i === b % 32 ? gauss() : 0) },
    { name: 'huge', gen: () => gauss() * 3e37 },
  ];

  for (const { block, K } of shapes)
    test.each(inputs)(`block ${block} K=${K}: $name`, ({ gen }) => {
      const T = 3;
      const x = rowsOf(T, K, block, gen);
      const got = native().quantizeActivations(x, T, K, block);
      expectSameQuantization(got, reference(x, block), `block ${block} K=${K}`);
    });

  test('bad arguments', () => {
    const x = new Float32Array(64);
    expect(() => native().quantizeActivations(x, 2, 32, 64 as 32)).toThrow(/block must be 32 or 256/);
    expect(() => native().quantizeActivations(x, 1, 64, 256)).toThrow(/not a multiple of block/);
    expect(() => native().quantizeActivations(x, 3, 32, 32)).toThrow(/x/);
  });
});
