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

interface StepStats {
  launches: number;
  copies: number;
  graph_captures: number;
  graph_replays: number;
  graph_refused: number;
}

/**
 * A serving-like schedule on `model`: four sequences of different prompt
 * lengths decode together; one finishes and two join later (their prompts
 * prefilled in the same steps as the others' decodes); contexts cross KV page
 * boundaries (16-token pages); then three greedy completions side by side.
 * Returns every logits row (and the completions' tokens) in a fixed order.
 */
async function schedule(model: Model, steps: number, failAt = -1): Promise<Float32Array[]> {
  const V = model.config.vocab_size;
  const rows: Float32Array[] = [];
  const start = async (len: number, seed: number) => {
    const seq = model.createSequence();
    rows.push(await seq.eval(ids(len, seed, V)));
    return seq;
  };
  let live: ReturnType<Model['createSequence']>[] = await Promise.all([start(5, 1), start(13, 2), start(20, 3), start(3, 4)]);
  for (let i = 0; i < steps; i++) {
    const evals: Promise<Float32Array>[] = live.map((seq, s) => seq.eval([(i * 31 + s * 7 + 5) % V]));
    if (i === Math.floor(steps / 3) || i === Math.floor((2 * steps) / 3)) {
      // A prompt joins: prefilled in the same step as the others' decodes.
      const seq = model.createSequence();
      evals.push(seq.eval(ids(7 + i % 5, 10 + i, V)));
      live = [...live, seq];
    }
    // failAt: that step fails before its first layer (every eval of it rejects, no state changed).
    if (i === failAt) model.handle.failNextStep(0);
    for (const r of await Promise.allSettled(evals))
      rows.push(r.status === 'fulfilled' ? r.value : new Float32Array([r.reason.message.includes('injected') ? -1 : -2]));
    if (i === Math.floor(steps / 4)) live.shift()!.dispose(); // a sequence finishes
  }
  for (const seq of live) seq.dispose();
  // Greedy completions: the step picks the tokens on the device (argmax inside the graph).
  const done = await Promise.all([9, 10, 11].map((k) => model.complete(ids(4 + (k % 3), k, V), { maxTokens: 8 })));
  rows.push(...done.map((r) => Float32Array.from(r.tokens)));
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
  if (scenario === 'graph') {
    // The same schedule with HYBRIDLM_CUDA_GRAPH off, then on (the backend
    // reads it when the model loads); the second model's per-step counters
    // come from HYBRIDLM_CUDA_STATS (argv[5]).
    const statsFile = process.argv[5];
    const opts = { device: 'cuda' as const, kvPageTokens: 16 };
    process.env.HYBRIDLM_CUDA_GRAPH = '0';
    const eager = await loadModel(model, opts);
    const failAt = Number(process.argv[6] ?? -1);
    const a = await schedule(eager, steps, failAt);
    await eager.dispose();
    process.env.HYBRIDLM_CUDA_GRAPH = '1';
    process.env.HYBRIDLM_CUDA_STATS = statsFile;
    const graph = await loadModel(model, opts);
    const b = await schedule(graph, steps, failAt);
    await graph.dispose();
    delete process.env.HYBRIDLM_CUDA_STATS;
    const diff = Math.max(...a.map((r, i) => maxDiff(r, b[i])));
    const fs = await import('fs');
    const stats = fs
      .readFileSync(statsFile, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as StepStats);
    return { diff, rows: b.length, failed: b.filter((r) => r.length === 1 && r[0] === -1).length, stats };
  }
  if (scenario === 'oom') {
    // Device memory runs out for the scratch of a step that shares a decode
    // token of `a` with a long all-logits prompt of `b` (HLC_MOCK_MALLOC_FAIL_SIZE
    // is the arena block of that step's logits, the buffer allocated last):
    // `b` fails alone with OutOfMemory before any state is touched, and `a`
    // continues exactly like `c`, which never shared a step with it.
    const gpu = await loadModel(model, { device: 'cuda', kvCacheType: 'f32' });
    const V = gpu.config.vocab_size;
    const a = gpu.createSequence(), b = gpu.createSequence(), c = gpu.createSequence();
    await a.eval(ids(21, 3, V));
    await c.eval(ids(21, 3, V));
    const [ra, rb] = await Promise.allSettled([a.eval([7]), b.eval(ids(300, 5, V), { allLogits: true })]);
    const rc = await c.eval([7]);
    const next = [await a.eval([9]), await c.eval([9])];
    const why = (r: PromiseSettledResult<unknown>) => (r.status === 'rejected' ? (r.reason as Error).name : 'ok');
    return {
      a: why(ra),
      b: why(rb),
      bMessage: rb.status === 'rejected' ? (rb.reason as Error).message : '',
      diff: ra.status === 'fulfilled' ? maxDiff(ra.value, rc) : null,
      nextDiff: maxDiff(next[0], next[1]),
      positions: [a.position, c.position],
    };
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
