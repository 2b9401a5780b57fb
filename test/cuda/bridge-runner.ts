/**
 * Child process of bridge-mock.test.ts: runs one scenario on device 'cuda'
 * with the addon's CUDA bridge loaded over the host mock library
 * (HYBRIDLM_CUDA_LIB), and prints one JSON line. Run as
 * `node -r test/cli/ts-register.js test/cuda/bridge-runner.ts <scenario> <model> [n]`.
 */
import { loadModel, type Model } from '../../lib';

const ids = (n: number, seed: number, vocab: number) => Array.from({ length: n }, (_, i) => (i * 7919 + seed) % vocab);

function maxDiff(a: Float32Array, b: Float32Array): number {
  let m = a.length === b.length ? 0 : Infinity;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

async function decode(model: Model, prompt: number[], steps: number): Promise<Float32Array[]> {
  const seq = model.createSequence();
  const rows = [await seq.eval(prompt)];
  for (let i = 0; i < steps; i++) rows.push(await seq.eval([(i * 31 + 5) % model.config.vocab_size]));
  seq.dispose();
  return rows;
}

async function main(): Promise<unknown> {
  const [scenario, model, n] = process.argv.slice(2);
  const steps = Number(n ?? 8);
  if (scenario === 'compare') {
    // CPU and (mock) CUDA logits over a prefill and `steps` decode steps.
    // f32 KV on both: rounded KV types may round a key differently on either side.
    const cpu = await loadModel(model, { device: 'cpu', kvCacheType: 'f32' });
    const gpu = await loadModel(model, { device: 'cuda', kvCacheType: 'f32' });
    const V = cpu.config.vocab_size;
    const a = await decode(cpu, ids(21, 3, V), steps), b = await decode(gpu, ids(21, 3, V), steps);
    const diff = Math.max(...a.map((r, i) => maxDiff(r, b[i])));
    return { device: gpu.device, deviceReason: gpu.deviceReason, diff, rows: b.length, cudaWeights: gpu.memory().weights };
  }
  if (scenario === 'kv') {
    // KV types on the bridge: f16 pages on the device (the default), q8_0 falls back to f32 with a note.
    const cpu = await loadModel(model, { device: 'cpu' });
    const gpu = await loadModel(model, { device: 'cuda' });
    const q8 = await loadModel(model, { device: 'cuda', kvCacheType: 'q8_0' });
    const V = cpu.config.vocab_size;
    const a = await decode(cpu, ids(21, 3, V), steps), b = await decode(gpu, ids(21, 3, V), steps);
    const diff = Math.max(...a.map((r, i) => maxDiff(r, b[i])));
    return { f16: gpu.memory().kvCacheType, diff, q8: q8.memory().kvCacheType, q8Reason: q8.deviceReason };
  }
  if (scenario === 'decode') {
    const gpu = await loadModel(model, { device: 'cuda' });
    await decode(gpu, ids(8, 1, gpu.config.vocab_size), steps);
    return { device: gpu.device };
  }
  if (scenario === 'lost') {
    // A fault injected into the second step: that call and every later one
    // reject with DeviceError; nothing crashes.
    const gpu = await loadModel(model, { device: 'cuda' });
    const seq = gpu.createSequence();
    const errors: { name: string; message: string }[] = [];
    const attempt = async (f: () => Promise<unknown>) => {
      try {
        await f();
        errors.push({ name: 'ok', message: '' });
      } catch (e) {
        errors.push({ name: (e as Error).name, message: (e as Error).message });
      }
    };
    await attempt(() => seq.eval([1, 2, 3]));
    await attempt(() => seq.eval([4]));
    await attempt(() => seq.eval([5]));
    await attempt(() => gpu.createSequence().eval([6]));
    await gpu.dispose();
    return { errors };
  }
  throw new Error(`unknown scenario ${scenario}`);
}

main().then(
  (r) => process.stdout.write(JSON.stringify(r) + '\n'),
  (e) => {
    process.stdout.write(JSON.stringify({ error: { name: e.name, message: e.message } }) + '\n');
    process.exitCode = 1;
  },
);
