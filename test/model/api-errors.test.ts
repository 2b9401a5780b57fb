/** Bad input through the public API: typed errors naming the culprit, never a crash. */
import { ArgumentError, DeviceError, HybridLMError, ModelFormatError, loadModel, type Model } from '../../lib';
import { fixtureGguf } from '../helpers/golden';

describe('public API bad input', () => {
  let model: Model;
  beforeAll(async () => {
    model = await loadModel(fixtureGguf('granite-h-tiny-dense'), { device: 'cpu', threads: 2 });
  });
  afterAll(async () => model?.dispose());

  test.each([
    [[512], /tokens\[0\] = 512/],
    [[1, -1], /tokens\[1\] = -1/],
    [[1.5], /tokens\[0\] = 1.5/],
    [[], /at least one token/],
  ])('token ids %p are rejected with ArgumentError', async (tokens, msg) => {
    const seq = model.createSequence();
    const err = await seq.eval(tokens as number[]).catch((e) => e);
    expect(err).toBeInstanceOf(ArgumentError);
    expect(err.message).toMatch(msg);
    expect(seq.position).toBe(0);
    seq.dispose();
    await expect(model.logits(tokens as number[])).rejects.toBeInstanceOf(ArgumentError);
  });

  test('a bad request on one sequence does not disturb another evaluated at the same time', async () => {
    const good = model.createSequence();
    const bad = model.createSequence();
    const [g, b] = await Promise.allSettled([good.eval([1, 2, 3]), bad.eval([9999])]);
    expect(g.status).toBe('fulfilled');
    expect(b.status).toBe('rejected');
    good.dispose();
    bad.dispose();
  });

  test("device 'cuda' throws DeviceError; 'auto' runs on CPU and says why", async () => {
    await expect(loadModel(fixtureGguf('granite-h-tiny-dense'), { device: 'cuda' })).rejects.toBeInstanceOf(DeviceError);
    const m = await loadModel(fixtureGguf('granite-h-tiny-dense'), { device: 'auto', threads: 1 });
    expect(m.device).toBe('cpu');
    expect(m.deviceReason).toMatch(/CUDA/);
    await m.dispose();
  });

  test('bad options and paths are typed errors', async () => {
    await expect(loadModel(fixtureGguf('granite-h-tiny-dense'), { threads: 0 })).rejects.toBeInstanceOf(ArgumentError);
    await expect(loadModel('/nonexistent/model.gguf')).rejects.toBeInstanceOf(ModelFormatError);
    await expect(loadModel('/nonexistent/model.gguf')).rejects.toThrow(/nonexistent/);
    await expect(loadModel(42 as unknown as string)).rejects.toBeInstanceOf(HybridLMError);
  });
});

test('the JS thread stays responsive while a long eval runs', async () => {
  const model = await loadModel(fixtureGguf('granite-h-tiny-moe'), { threads: 1 });
  const tokens = Array.from({ length: 3000 }, (_, i) => (i * 31) % model.config.vocab_size);
  let ticks = 0;
  const timer = setInterval(() => ticks++, 1);
  const started = Date.now();
  await model.logits(tokens);
  const elapsed = Date.now() - started;
  clearInterval(timer);
  // The eval ran off-thread: the interval kept firing while it was in flight.
  expect(elapsed).toBeGreaterThan(0);
  expect(ticks).toBeGreaterThanOrEqual(1);
  await model.dispose();
});

test('with the CUDA library built but no GPU, auto falls back to CPU and names the reason', async () => {
  const { native } = await import('../../lib/native');
  const status = native().cudaStatus();
  expect(typeof status.reason).toBe('string');
  expect(status.reason.length).toBeGreaterThan(0);
  if (status.available) return; // a GPU machine: covered by npm run test:gpu
  const m = await loadModel(fixtureGguf('granite-h-tiny-dense'), { device: 'auto', threads: 1 });
  expect(m.device).toBe('cpu');
  expect(m.deviceReason).toContain(status.reason);
  await m.dispose();
  await expect(loadModel(fixtureGguf('granite-h-tiny-dense'), { device: 'cuda' })).rejects.toThrow(status.reason);
});
