/** The native model handle re-validates what guards memory: hostile calls get typed errors, never a crash. */
import { loadModel, type Model } from '../../lib';
import { native } from '../../lib/native';
import { fixtureGguf } from '../helpers/golden';

type AnyHandle = Record<string, (...args: unknown[]) => unknown>;

describe('native model handle under hostile arguments', () => {
  let model: Model;
  let h: AnyHandle;
  beforeAll(async () => {
    model = await loadModel(fixtureGguf('granite-h-tiny-dense'), { threads: 1 });
    h = model.handle as unknown as AnyHandle;
  });
  afterAll(async () => model?.dispose());

  const i32 = (...v: number[]) => new Int32Array(v);
  const cases: Array<[string, () => unknown, RegExp]> = [
    ['no arguments', () => h.step(), /four typed arrays/],
    ['numbers instead of arrays', () => h.step(1, 2, 3, 4), /four typed arrays/],
    ['unknown sequence', () => h.step(i32(999), i32(1), i32(1), new Uint8Array(1)), /disposed/],
    ['count past the tokens', () => h.step(i32(1), i32(5), i32(1), new Uint8Array(1)), /out of range/],
    ['negative count', () => h.step(i32(1), i32(-1), i32(1), new Uint8Array(1)), /out of range/],
    ['float ids', () => h.step(new Float32Array(1), i32(1), i32(1), new Uint8Array(1)), /typed array types/],
    ['empty snapshot', () => h.restoreSequence(Buffer.alloc(0)), /snapshot/],
    ['string snapshot', () => h.restoreSequence('x'), /Buffer/],
    ['truncated snapshot', () => h.restoreSequence(Buffer.from('HLSS\x02\x00\x00\x00', 'binary')), /truncated/],
    ['unknown fork', () => h.forkSequence(12345), /disposed/],
    ['non-numeric id', () => h.sequencePosition({}), /sequence id/],
  ];
  test.each(cases)('%s', async (_name, call, message) => {
    let err: unknown;
    try {
      await call();
    } catch (e) {
      err = e;
    }
    expect(err).toBeDefined();
    expect((err as { code?: string }).code).toMatch(/^ERR_HYBRIDLM_/);
    expect((err as Error).message).toMatch(message);
  });

  test('a token id past the vocabulary is caught natively too: that sequence fails, the step does not', async () => {
    const id = h.createSequence() as number;
    const other = h.createSequence() as number;
    const out = (await h.step(i32(id, other), i32(1, 1), i32(512, 7), new Uint8Array(2))) as unknown[];
    expect((out[0] as Error).message).toMatch(/token id 512 is out of range \[0, 512\)/);
    expect((out[0] as { code?: string }).code).toBe('ERR_HYBRIDLM_ARGUMENT');
    expect(ArrayBuffer.isView(out[1])).toBe(true);
    expect(h.sequencePosition(id)).toBe(0);
    expect(h.sequencePosition(other)).toBe(1);
    h.disposeSequence(other);
    h.disposeSequence(id);
    h.disposeSequence(id); // twice is harmless
  });

  test('loadModel spec validation names the field', async () => {
    const load = native().loadModel as unknown as (spec: unknown) => Promise<unknown>;
    await expect(Promise.resolve().then(() => load({}))).rejects.toThrow(/spec\.files/);
    const spec = { files: ['/etc/hostname'], fileSizes: [1], dims: {}, tensors: [], threads: 1, pageSize: 1, device: 'cpu' };
    await expect(Promise.resolve().then(() => load(spec))).rejects.toThrow(/dims\.vocab/);
  });
});
