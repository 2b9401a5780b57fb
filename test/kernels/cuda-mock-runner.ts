/**
 * Child process of cuda-mock.test.ts: runs every kernel of the kernel API on
 * device 'cpu' and on device 'cuda' with the addon's CUDA bridge loaded over
 * the host mock library (HYBRIDLM_CUDA_LIB), and prints one JSON line with the
 * largest difference per kernel. Run as
 * `node -r test/cli/ts-register.js test/kernels/cuda-mock-runner.ts`.
 */
import { kernels, Tensor } from '../../lib';
import { prng, randn, uniform } from './helpers';

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = a.length === b.length ? 0 : Infinity;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

async function main(): Promise<Record<string, number>> {
  const r = prng(11);
  const [T, d, H, P, N, G, W, E, k, F] = [13, 64, 4, 8, 16, 2, 4, 8, 2, 32];
  const x = randn(r, [T, d]);
  const w = randn(r, [d], 1, 1);
  const convW = randn(r, [d, W]);
  const cases: Record<string, (device: 'cpu' | 'cuda') => Promise<ArrayLike<number>[]>> = {
    rmsNorm: async (device) => [(await kernels.rmsNorm(x, w, { device })).data],
    gatedRmsNorm: async (device) => [(await kernels.gatedRmsNorm(x, x, w, { nGroups: 2, device })).data],
    causalConv1d: async (device) => {
      const o = await kernels.causalConv1d(x, convW, { bias: w, cuSeqlens: [0, 5, 13], device });
      return [o.out.data, o.state.data];
    },
    mamba2Scan: async (device) => {
      const s = prng(5);
      const o = await kernels.mamba2Scan(randn(s, [T, H, P]), randn(s, [T, H]), uniform(s, [H], -2, -0.1),
        randn(s, [T, G, N]), randn(s, [T, G, N]), { chunkSize: 4, cuSeqlens: [0, 6, 13], D: randn(s, [H]), device });
      return [o.y.data, o.state.data];
    },
    mamba2Step: async (device) => {
      const s = prng(6);
      const o = await kernels.mamba2Step(randn(s, [2, H, P]), randn(s, [2, H]), uniform(s, [H], -2, -0.1),
        randn(s, [2, G, N]), randn(s, [2, G, N]), { state: randn(s, [2, H, P, N]), device });
      return [o.y.data, o.state.data];
    },
    attention: async (device) => {
      const s = prng(7);
      return [(await kernels.attention(randn(s, [T, 4, 16]), randn(s, [T, 2, 16]), randn(s, [T, 2, 16]),
        { cuSeqlens: [0, 4, 13], device })).data];
    },
    attentionDecode: async (device) => {
      const s = prng(8);
      return [(await kernels.attentionDecode(randn(s, [4, 16]), randn(s, [40, 2, 16]), randn(s, [40, 2, 16]),
        { pageSize: 16, device })).data];
    },
    matmul: async (device) => {
      const s = prng(9);
      const wq = Tensor.quantize(randn(s, [24, 256]), 'q4_k');
      return [(await kernels.matmul(randn(s, [3, 256]), wq, { device })).data];
    },
    embed: async (device) => [(await kernels.embed([3, 0, 7], Tensor.quantize(randn(prng(10), [8, 64]), 'q8_0'), { scale: 2, device })).data],
    swiglu: async (device) => [(await kernels.swiglu(x, x, { device })).data],
    moe: async (device) => {
      const s = prng(12);
      const route = await kernels.moeRoute(randn(s, [T, E]), k, { device });
      const experts = {
        gate: Tensor.quantize(randn(s, [E, F, d]), 'q8_0'),
        up: Tensor.quantize(randn(s, [E, F, d]), 'q8_0'),
        down: randn(s, [E, d, F]),
      };
      return [route.ids, route.weights.data, (await kernels.moeForward(x, route.ids, route.weights, experts, { device })).data];
    },
  };
  const out: Record<string, number> = {};
  for (const [name, run] of Object.entries(cases)) {
    const [cpu, gpu] = [await run('cpu'), await run('cuda')];
    out[name] = Math.max(...cpu.map((a, i) => maxDiff(a, gpu[i])));
  }
  return out;
}

main().then(
  (r) => process.stdout.write(JSON.stringify(r) + '\n'),
  (e) => {
    process.stdout.write(JSON.stringify({ error: { name: e.name, message: e.message } }) + '\n');
    process.exitCode = 1;
  },
);
