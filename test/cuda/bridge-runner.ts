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
    // CUDA keeps f32 KV pages (deviceReason says so): compare with f32 KV on the CPU.
    const cpu = await loadModel(model, { device: 'cpu', kvCacheType: 'f32' });
    const gpu = await loadModel(model, { device: 'cuda' });
    if (!/KV cache kept in F32/.test(gpu.deviceReason)) throw new Error(`deviceReason lacks the KV note: ${gpu.deviceReason}`);
    const V = cpu.config.vocab_size;
    const a = await decode(cpu, ids(21, 3, V), steps), b = await decode(gpu, ids(21, 3, V), steps);
    const diff = Math.max(...a.map((r, i) => maxDiff(r, b[i])));
    return { device: gpu.device, deviceReason: gpu.deviceReason, diff, rows: b.length, cudaWeights: gpu.memory().weights };
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
