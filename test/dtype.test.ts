/**
 * The weight-type table TS reads from the addon (native/core/dtype.h): the
 * GGUF layouts written out by hand here, the public TensorType enum naming
 * exactly the ids it lists, and the loaders' layouts agreeing with it.
 */
import { dtypeById, dtypeLayouts, dtypeOf, ggmlTypeId } from '../lib/dtype';
import { TensorType } from '../lib';
import { GgmlType, ggmlTypeLayout, runnableTensorType } from '../lib/loaders/ggml-type';
import { tensorByteLength } from '../lib/tensor';

// From the GGUF format description: [id, elements per block, bytes per block].
const GGUF_LAYOUTS: Record<string, [number, number, number]> = {
  F32: [0, 1, 4],
  F16: [1, 1, 2],
  Q4_0: [2, 32, 18],
  Q8_0: [8, 32, 34],
  Q4_K: [12, 256, 144],
  Q5_K: [13, 256, 176],
  Q6_K: [14, 256, 210],
  BF16: [30, 1, 2],
};

test('the addon lists the GGUF layouts of every type hybridlm runs', () => {
  const got = Object.fromEntries(dtypeLayouts().map((d) => [d.name, [d.id, d.blockSize, d.blockBytes]]));
  expect(got).toEqual(GGUF_LAYOUTS);
});

test('TensorType names exactly the ids of the table, under their GGUF names', () => {
  const members = Object.entries(TensorType).filter(([, v]) => typeof v === 'number');
  expect(Object.fromEntries(members)).toEqual(Object.fromEntries(dtypeLayouts().map((d) => [d.name, d.id])));
  for (const [name, id] of members) expect(GgmlType[id as number]).toBe(name);
});

test('loader layouts and lower-case tensor dtypes come from the same table', () => {
  for (const d of dtypeLayouts()) {
    expect(ggmlTypeLayout(d.id)).toBe(d);
    expect(runnableTensorType(d.id)).toBe(d.id);
    expect(dtypeOf(d.name.toLowerCase() as 'f32')).toBe(d);
    expect(ggmlTypeId(d.name.toLowerCase() as 'f32')).toBe(d.id);
  }
  // Known GGUF types hybridlm does not run keep their layout (for validation and messages).
  expect(ggmlTypeLayout(GgmlType.Q4_1)).toEqual({ name: 'Q4_1', blockSize: 32, blockBytes: 20 });
  expect(runnableTensorType(GgmlType.Q4_1)).toBeUndefined();
  expect(dtypeById(GgmlType.Q4_1)).toBeUndefined();
  expect(tensorByteLength('q5_k', [3, 512])).toBe(3 * 2 * 176);
  expect(() => tensorByteLength('q8_0', [3, 33])).toThrow(/multiple of 32/);
});
