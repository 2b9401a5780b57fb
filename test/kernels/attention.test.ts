/**
 * Causal GQA attention: prefill over packed sequences and decode against a
 * contiguous or paged KV cache (context 1, page-1, page, page+1, long context
 * through split-KV) vs the float64 full-score-matrix reference; bad inputs.
 */
import { callNative, ArgumentError, ShapeError, UnsupportedError } from '../../lib/errors';
import { kernels } from '../../lib/kernels';
import { native } from '../../lib/native';
import { Tensor } from '../../lib/tensor';
import { attentionRef } from '../reference/attention';
import { roundKv } from '../reference/kv-round';
import { cuFrom, expectClose, prng, randn, describeEachDevice } from './helpers';
import { SAME_MATH, TOL } from './tolerances';

const prefillCases = [
  { lengths: [1], Hq: 1, Hkv: 1, Dh: 16, scale: 0.25, seed: 1 },
  { lengths: [31], Hq: 4, Hkv: 2, Dh: 64, scale: 0.125, seed: 2 },
  { lengths: [33], Hq: 4, Hkv: 1, Dh: 128, scale: 1 / 128, seed: 3 },
  { lengths: [65], Hq: 2, Hkv: 2, Dh: 40, scale: 0.2, seed: 4 },
  { lengths: [3, 17, 1, 40], Hq: 6, Hkv: 2, Dh: 32, scale: 0.18, seed: 5 },
  { lengths: [130], Hq: 8, Hkv: 2, Dh: 64, scale: 1, seed: 6 },
  { lengths: [1025], Hq: 2, Hkv: 1, Dh: 32, scale: 0.1, seed: 7 },
];

describeEachDevice('attention prefill vs reference', (kn) => {
  test.each(prefillCases)('lengths=$lengths Hq=$Hq Hkv=$Hkv Dh=$Dh', async ({ lengths, Hq, Hkv, Dh, scale, seed }) => {
    const r = prng(seed);
    const cu = cuFrom(lengths);
    const T = cu[lengths.length];
    const q = randn(r, [T, Hq, Dh]);
    const k = randn(r, [T, Hkv, Dh]);
    const v = randn(r, [T, Hkv, Dh]);
    const out = await kn.attention(q, k, v, { scale, causal: true, cuSeqlens: cu });
    const ref = attentionRef(q.data, k.data, v.data, cu, cu, Hq, Hkv, Dh, scale);
    expectClose('attention', out.data, ref, TOL.attention, out.shape);
  });
});

const page = 16;
const decodeCases = [
  { L: 1, n: 1, Hq: 4, Hkv: 4, Dh: 64, seed: 11 },
  { L: page - 1, n: 1, Hq: 4, Hkv: 2, Dh: 64, seed: 12 },
  { L: page, n: 1, Hq: 8, Hkv: 2, Dh: 128, seed: 13 },
  { L: page + 1, n: 1, Hq: 3, Hkv: 1, Dh: 32, seed: 14 },
  { L: 5 * page + 3, n: 4, Hq: 4, Hkv: 1, Dh: 64, seed: 15 },
  { L: 1000, n: 1, Hq: 4, Hkv: 1, Dh: 64, seed: 16 },
  { L: 1000, n: 1, Hq: 1, Hkv: 1, Dh: 128, seed: 17 },
];

describeEachDevice('attentionDecode vs reference (contiguous and paged)', (kn) => {
  test.each(decodeCases)('L=$L n=$n Hq=$Hq Hkv=$Hkv Dh=$Dh', async ({ L, n, Hq, Hkv, Dh, seed }) => {
    const r = prng(seed);
    const q = n === 1 ? randn(r, [Hq, Dh]) : randn(r, [n, Hq, Dh]);
    const k = randn(r, [L, Hkv, Dh]);
    const v = randn(r, [L, Hkv, Dh]);
    const scale = 1 / Math.sqrt(Dh);
    const ref = attentionRef(q.data, k.data, v.data, [0, n], [0, L], Hq, Hkv, Dh, scale);
    const flat = await kn.attentionDecode(q, k, v, { scale });
    expect(flat.shape).toEqual(q.shape);
    expectClose('contiguous', flat.data, ref, TOL.attention, [n, Hq, Dh]);
    for (const pageSize of [page, 32]) {
      const paged = await kn.attentionDecode(q, k, v, { scale, pageSize });
      expectClose(`paged ${pageSize}`, paged.data, ref, TOL.attention, [n, Hq, Dh]);
      expectClose(`paged ${pageSize} vs contiguous`, paged.data, flat.data, SAME_MATH);
    }
  });

  test.each([
    { S: 3, L: 40, lens: [1, 17, 40], Hq: 4, Hkv: 2, Dh: 64, seed: 21 },
    { S: 2, L: 600, lens: [600, 33], Hq: 2, Hkv: 1, Dh: 32, seed: 22 },
  ])('batched S=$S contexts=$lens', async ({ S, L, lens, Hq, Hkv, Dh, seed }) => {
    const r = prng(seed);
    const q = randn(r, [S, Hq, Dh]);
    const kc = randn(r, [S, L, Hkv, Dh]);
    const vc = randn(r, [S, L, Hkv, Dh]);
    // packed reference inputs: each sequence's first lens[s] cache rows
    const row = Hkv * Dh;
    const kvCu = cuFrom(lens);
    const k = new Float32Array(kvCu[S] * row);
    const v = new Float32Array(kvCu[S] * row);
    lens.forEach((len, s) => {
      k.set((kc.data as Float32Array).subarray(s * L * row, (s * L + len) * row), kvCu[s] * row);
      v.set((vc.data as Float32Array).subarray(s * L * row, (s * L + len) * row), kvCu[s] * row);
    });
    const ref = attentionRef(q.data, k, v, cuFrom(new Array(S).fill(1)), kvCu, Hq, Hkv, Dh, 0.125);
    const flat = await kn.attentionDecode(q, kc, vc, { scale: 0.125, contextLengths: lens });
    const paged = await kn.attentionDecode(q, kc, vc, { scale: 0.125, contextLengths: lens, pageSize: page });
    expectClose('batched', flat.data, ref, TOL.attention, q.shape);
    expectClose('batched paged', paged.data, ref, TOL.attention, q.shape);
  });

  test('peaky softmax (large scores) stays accurate', async () => {
    const r = prng(31);
    const q = randn(r, [2, 64], 4);
    const k = randn(r, [300, 1, 64], 4);
    const v = randn(r, [300, 1, 64]);
    const out = await kn.attentionDecode(q, k, v, { scale: 1 });
    expectClose('peaky', out.data, attentionRef(q.data, k.data, v.data, [0, 1], [0, 300], 2, 1, 64, 1), TOL.attention);
  });
});

// Long paged contexts in every page type (partial last pages; G = Hq / Hkv of
// 1, 3, 4; odd Dh): decode and short queries take the fused page-run path for
// the keys all their rows see, queries with many rows the key-tile path; a
// single kv head splits its keys across threads (merged partials).
const typedCases = [
  { L: 1000, n: 1, Hq: 3, Hkv: 1, Dh: 64, pageSize: 16, seed: 41 },
  { L: 777, n: 1, Hq: 8, Hkv: 2, Dh: 128, pageSize: 32, seed: 42 },
  { L: 301, n: 1, Hq: 4, Hkv: 4, Dh: 40, pageSize: 16, seed: 43 },
  { L: 517, n: 2, Hq: 6, Hkv: 2, Dh: 40, pageSize: 16, seed: 44 },
  { L: 200, n: 5, Hq: 2, Hkv: 2, Dh: 64, pageSize: 64, seed: 45 },
  { L: 150, n: 4, Hq: 8, Hkv: 2, Dh: 64, pageSize: 16, seed: 46 },
];

describe('attentionDecode over f32 / f16 / q8_0 KV pages vs reference on the rounded keys and values', () => {
  test.each(typedCases)('L=$L n=$n Hq=$Hq Hkv=$Hkv Dh=$Dh page=$pageSize', async ({ L, n, Hq, Hkv, Dh, pageSize, seed }) => {
    const r = prng(seed);
    const q = randn(r, [n, Hq, Dh]);
    const k = randn(r, [L, Hkv, Dh]);
    const v = randn(r, [L, Hkv, Dh]);
    const scale = 1 / Math.sqrt(Dh);
    for (const kvDtype of ['f32', 'f16', 'q8_0'] as const) {
      const kr = roundKv(k.data as Float32Array, Dh, kvDtype), vr = roundKv(v.data as Float32Array, Dh, kvDtype);
      const ref = attentionRef(q.data, kr, vr, [0, n], [0, L], Hq, Hkv, Dh, scale);
      const out = await kernels.attentionDecode(q, k, v, { scale, pageSize, kvDtype });
      expectClose(kvDtype, out.data, ref, TOL.attention, [n, Hq, Dh]);
    }
  });
});

describe('attention bad input', () => {
  const q = Tensor.zeros([4, 4, 8]);
  const kv = Tensor.zeros([4, 2, 8]);
  test('TS checks', async () => {
    await expect(kernels.attention(q, Tensor.zeros([4, 3, 8]), Tensor.zeros([4, 3, 8]))).rejects.toThrow(/divisible by Hkv/);
    await expect(kernels.attention(q, kv, Tensor.zeros([4, 2, 9]))).rejects.toThrow(/v dim 2 to be 8/);
    await expect(kernels.attention(q, kv, kv, { causal: false })).rejects.toBeInstanceOf(UnsupportedError);
    await expect(kernels.attention(Tensor.zeros([4, 4]), kv, kv)).rejects.toThrow('Expected q to have 3 dims [T, Hq, Dh], got [4, 4]');
    await expect(kernels.attentionDecode(Tensor.zeros([5, 4, 8]), kv, kv)).rejects.toThrow(/at most L = 4 queries/);
    await expect(kernels.attentionDecode(Tensor.zeros([4, 8]), kv, kv, { pageSize: 0 })).rejects.toBeInstanceOf(ArgumentError);
    await expect(kernels.attentionDecode(Tensor.zeros([4, 8]), kv, kv, { kvDtype: 'f16' })).rejects.toThrow(/needs a pageSize/);
    await expect(
      kernels.attentionDecode(Tensor.zeros([2, 4, 8]), Tensor.zeros([2, 4, 2, 8]), Tensor.zeros([2, 4, 2, 8]), { contextLengths: [1, 5] }),
    ).rejects.toBeInstanceOf(ArgumentError);
  });
  test('native layer re-validates', async () => {
    const f = (n: number) => new Float32Array(n);
    const n = native();
    const cu = Int32Array.of(0, 4);
    await expect(callNative(() => n.attention(f(128), f(64), f(64), cu, cu, 4, 3, 8))).rejects.toThrow(/nHeads 4 is not divisible by nKvHeads 3/);
    await expect(callNative(() => n.attention(f(128), f(63), f(64), cu, cu, 4, 2, 8))).rejects.toThrow(/k has 63 elements, expected 64/);
    await expect(callNative(() => n.attention(f(128), f(48), f(48), cu, Int32Array.of(0, 3), 4, 2, 8))).rejects.toThrow(
      /4 queries but only 3 keys/,
    );
    await expect(callNative(() => n.attention(f(128), f(64), f(64), cu, Int32Array.of(0, 2, 4), 4, 2, 8))).rejects.toBeInstanceOf(ShapeError);
    await expect(callNative(() => n.attention(f(128), f(64), f(64), cu, cu, 4, 2, 8, { pageSize: -1 }))).rejects.toBeInstanceOf(ArgumentError);
    const bf16 = { pageSize: 4, kvDtype: 'bf16' } as unknown as { kvDtype: 'f16' };
    await expect(callNative(() => n.attention(f(128), f(64), f(64), cu, cu, 4, 2, 8, bf16))).rejects.toThrow(/kvDtype must be/);
    await expect(callNative(() => n.attention(f(128), f(64), f(64), cu, cu, 4, 2, 8, { kvDtype: 'q8_0' }))).rejects.toThrow(
      /needs pageSize > 0/,
    );
  });
});
