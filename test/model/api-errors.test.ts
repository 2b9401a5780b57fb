/** Bad input through the public API: typed errors naming the culprit, never a crash. */
import { ArgumentError, DeviceError, HybridLMError, ModelFormatError, loadModel, type Model } from '../../lib';
import { cudaReport } from '../../lib/device/select-device';
import { native } from '../../lib/native';
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

  test('bad options and paths are typed errors', async () => {
    await expect(loadModel(fixtureGguf('granite-h-tiny-dense'), { threads: 0 })).rejects.toBeInstanceOf(ArgumentError);
    await expect(loadModel('/nonexistent/model.gguf')).rejects.toBeInstanceOf(ModelFormatError);
    await expect(loadModel('/nonexistent/model.gguf')).rejects.toThrow(/nonexistent/);
    await expect(loadModel(42 as unknown as string)).rejects.toBeInstanceOf(HybridLMError);
  });
});

test('the JS thread stays responsive while a long eval runs (longest event-loop stall bounded)', async () => {
  const model = await loadModel(fixtureGguf('granite-h-tiny-moe'), { threads: 1 });
  const tokens = Array.from({ length: 3000 }, (_, i) => (i * 31) % model.config.vocab_size);
  // A 2 ms timer records the longest gap between its ticks while the eval is in flight.
  let last = performance.now();
  let longestStall = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    longestStall = Math.max(longestStall, now - last);
    last = now;
  }, 2);
  const started = performance.now();
  await model.logits(tokens);
  const elapsed = performance.now() - started;
  clearInterval(timer);
  await model.dispose();
  // Run on the JS thread, the eval would stall the loop for about its whole
  // duration; off-thread, only scheduling noise remains. The bound is generous
  // (half the eval, at least 250 ms) so a loaded machine does not fail it.
  expect(longestStall).toBeLessThan(Math.max(250, elapsed / 2));
});

describe('device selection follows the CUDA probe', () => {
  const dense = fixtureGguf('granite-h-tiny-dense');
  const status = native().cudaStatus();
  // Each half runs where its condition holds and shows as skipped elsewhere.
  const withoutGpu = status.available ? test.skip : test;
  const withGpu = status.available ? test : test.skip;

  test('the probe always gives a reason', () => {
    expect(typeof status.reason).toBe('string');
    expect(status.reason.length).toBeGreaterThan(0);
  });

  withoutGpu("without a usable GPU: 'cuda' is a DeviceError naming the reason, 'auto' falls back to CPU and says why", async () => {
    // The reason loadModel gives: library search + child-process probe (lib/device/).
    const { reason } = await cudaReport();
    expect(reason.length).toBeGreaterThan(0);
    const err = await loadModel(dense, { device: 'cuda' }).catch((e) => e);
    expect(err).toBeInstanceOf(DeviceError);
    expect(err.message).toContain(reason);
    const m = await loadModel(dense, { device: 'auto', threads: 1 });
    expect(m.device).toBe('cpu');
    expect(m.deviceReason).toContain(reason);
    await m.dispose();
  });

  withGpu("with a usable GPU: 'auto' and 'cuda' both run on it", async () => {
    for (const device of ['auto', 'cuda'] as const) {
      const m = await loadModel(dense, { device, threads: 1 });
      expect(m.device).toBe('cuda');
      await m.dispose();
    }
  });
});
