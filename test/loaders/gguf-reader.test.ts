/**
 * The GGUF reader on its own: every metadata value type, the growing read
 * window, and bounded reads (a multi-GiB sparse file is opened by reading
 * its header only).
 */
import { promises as fsp } from 'node:fs';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ModelFormatError } from '../../lib/errors';
import { openModelFiles } from '../../lib/loaders';
import { GgmlType } from '../../lib/loaders/ggml-type';
import { GgufArray, GgufValueType, ggufPlainValue, readGguf } from '../../lib/loaders/gguf';
import { expectRejects } from '../helpers/expect-error';
import { fixtureGguf, makeTmpDir, removeTmpDir } from '../helpers/fixtures';
import { EditableGguf, loadGguf, serializeGguf, setKv } from '../helpers/gguf-edit';

let tmp: string;
let counter = 0;
beforeAll(() => {
  tmp = makeTmpDir('gguf-reader');
});
afterAll(() => removeTmpDir(tmp));

function edited(edit: (g: EditableGguf) => void): string {
  const g = loadGguf(fixtureGguf('granite-h-tiny-dense'));
  edit(g);
  const p = path.join(tmp, `r-${counter++}.gguf`);
  fs.writeFileSync(p, serializeGguf(g));
  return p;
}

const arr = (itemType: GgufValueType, items: GgufArray['items']): GgufArray => ({ itemType, items });

test('every value type, nested arrays and 64-bit integers', async () => {
  const p = edited((g) => {
    setKv(g, 't.u8', GgufValueType.UINT8, 255);
    setKv(g, 't.i8', GgufValueType.INT8, -128);
    setKv(g, 't.u16', GgufValueType.UINT16, 65535);
    setKv(g, 't.i16', GgufValueType.INT16, -32768);
    setKv(g, 't.u32', GgufValueType.UINT32, 4294967295);
    setKv(g, 't.i32', GgufValueType.INT32, -2147483648);
    setKv(g, 't.f32', GgufValueType.FLOAT32, 0.22);
    setKv(g, 't.bool', GgufValueType.BOOL, true);
    setKv(g, 't.str', GgufValueType.STRING, 'héllo ✓');
    setKv(g, 't.u64.small', GgufValueType.UINT64, 2 ** 40);
    setKv(g, 't.u64.big', GgufValueType.UINT64, 0xffffffffffffffffn);
    setKv(g, 't.i64', GgufValueType.INT64, -(2n ** 62n));
    setKv(g, 't.f64', GgufValueType.FLOAT64, Math.PI);
    setKv(g, 't.nested', GgufValueType.ARRAY, arr(GgufValueType.ARRAY, [
      arr(GgufValueType.STRING, ['a', 'b']),
      arr(GgufValueType.FLOAT32, [0.1, 2]),
    ]));
  });
  const g = await readGguf(p);
  const v = (k: string) => g.kvByKey.get(k)?.value;
  expect([v('t.u8'), v('t.i8'), v('t.u16'), v('t.i16'), v('t.u32'), v('t.i32')]).toEqual([255, -128, 65535, -32768, 4294967295, -2147483648]);
  expect(v('t.f32')).toBe(0.22); // shortest decimal of the f32, not 0.2199999988079071
  expect(v('t.bool')).toBe(true);
  expect(v('t.str')).toBe('héllo ✓');
  expect(v('t.u64.small')).toBe(2 ** 40);
  expect(v('t.u64.big')).toBe(0xffffffffffffffffn);
  expect(v('t.i64')).toBe(-(2n ** 62n));
  expect(v('t.f64')).toBe(Math.PI);
  expect(ggufPlainValue(v('t.nested') as GgufArray)).toEqual([['a', 'b'], [Math.fround(0.1), 2]]);
  expect(g.kvByKey.get('t.nested')?.type).toBe(GgufValueType.ARRAY);
});

test('bool bytes other than 0/1 and over-deep nesting are malformed', async () => {
  const p = edited((g) => setKv(g, 't.bool', GgufValueType.BOOL, true));
  const b = fs.readFileSync(p);
  b[b.indexOf('t.bool') + 't.bool'.length + 4] = 2;
  fs.writeFileSync(p, b);
  await expectRejects(readGguf(p), ModelFormatError, "metadata 't.bool'", 'bool');
  let deep: GgufArray = arr(GgufValueType.UINT8, [1]);
  for (let i = 0; i < 9; i++) deep = arr(GgufValueType.ARRAY, [deep]);
  const d = edited((g) => setKv(g, 't.deep', GgufValueType.ARRAY, deep));
  await expectRejects(readGguf(d), ModelFormatError, "'t.deep'", 'deeper');
});

test('invalid UTF-8 in a key or tensor name is malformed', async () => {
  const p = edited(() => undefined);
  const b = fs.readFileSync(p);
  b[b.indexOf('blk.0.ssm_in.weight')] = 0xff;
  fs.writeFileSync(p, b);
  await expectRejects(readGguf(p), ModelFormatError, 'not valid UTF-8');
});

test('a header larger than the first read window is read by growing the window', async () => {
  const tokens = Array.from({ length: 120_000 }, (_, i) => `token-${i}-${'x'.repeat(i % 17)}`);
  const p = edited((g) => setKv(g, 't.big', GgufValueType.ARRAY, arr(GgufValueType.STRING, tokens)));
  const g = await readGguf(p);
  expect(g.dataOffset).toBeGreaterThan(2 << 20);
  expect(ggufPlainValue(g.kvByKey.get('t.big')!.value)).toEqual(tokens);
  const m = await openModelFiles(p);
  expect(m.tensors.length).toBe(63);
});

test('a multi-GiB file is opened by reading its header only', async () => {
  const g = loadGguf(fixtureGguf('granite-h-tiny-dense'));
  const big = 3 * 2 ** 30; // 3 GiB of F32 data
  g.tensors.push({ name: 'huge.weight', ne: [1024, big / 4096], type: GgmlType.F32, data: Buffer.alloc(0) });
  // The serialiser lays huge.weight out last with no bytes: the file ends where its data begins.
  const bytes = serializeGguf(g);
  const sparse = path.join(tmp, 'sparse.gguf');
  fs.writeFileSync(sparse, bytes);
  await expectRejects(readGguf(sparse), ModelFormatError, "tensor 'huge.weight'", 'past the end of the file');
  // Extend to the full size without writing data (sparse where the file system allows).
  fs.truncateSync(sparse, bytes.length + big);

  const proto = Object.getPrototypeOf(await fsp.open(sparse, 'r').then(async (fh) => (await fh.close(), fh)));
  const read = jest.spyOn(proto, 'read');
  try {
    const parsed = await readGguf(sparse);
    expect(parsed.fileSize).toBe(bytes.length + big);
    expect(parsed.tensorByName.get('huge.weight')).toMatchObject({ offset: bytes.length, byteSize: big });
    const requested = read.mock.calls.reduce((s, c) => s + (c[2] as number), 0);
    expect(requested).toBeLessThan(1 << 20);
  } finally {
    read.mockRestore();
  }
});
