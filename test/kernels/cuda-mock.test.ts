/**
 * The kernel API's CUDA route without a GPU: a child process loads the addon
 * with HYBRIDLM_CUDA_LIB = the host mock library (cuda/test/mock_hlc.cpp,
 * built by `npm run build:cuda` as build-cuda/libhybridlm_cuda_mock.so), whose
 * ops are the CPU kernels and which rejects any op argument that is not memory
 * from its own allocator. Every kernel run with { device: 'cuda' } must stage
 * all its inputs and outputs in backend memory and give the CPU's results.
 * Skipped, visibly, where the mock is not built.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

const ROOT = path.join(__dirname, '..', '..');
const MOCK = path.join(ROOT, 'build-cuda', 'libhybridlm_cuda_mock.so');
const built = fs.existsSync(MOCK);
if (!built) console.log(`[hybridlm] kernel API over the CUDA mock skipped: ${MOCK} is not built (npm run build:cuda)`);

(built ? test : test.skip)('every kernel on the (mock) CUDA backend equals the CPU backend', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hlc-kernels-'));
  const statsFile = path.join(dir, 'stats.json');
  const r = spawnSync(process.execPath, ['-r', path.join(ROOT, 'test', 'cli', 'ts-register.js'), path.join(__dirname, 'cuda-mock-runner.ts')], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 90_000,
    env: { ...process.env, HYBRIDLM_CUDA_LIB: MOCK, HLC_MOCK_STATS: statsFile },
  });
  expect(r.status).toBe(0); // no crash at exit either
  const line = r.stdout.trim().split('\n').pop() ?? '';
  const out = JSON.parse(line || `{"error":{"message":${JSON.stringify(r.stderr)}}}`);
  expect(out.error).toBeUndefined();
  const names = ['rmsNorm', 'gatedRmsNorm', 'causalConv1d', 'mamba2Scan', 'mamba2Step', 'attention', 'attentionDecode',
    'matmul', 'embed', 'swiglu', 'moe'];
  expect(Object.keys(out).sort()).toEqual([...names].sort());
  for (const name of names) expect({ name, diff: out[name] }).toEqual({ name, diff: expect.any(Number) });
  for (const name of names) expect(out[name]).toBeLessThanOrEqual(1e-5);
  // The ops really ran in the mock, on memory it allocated (it rejects any other pointer).
  const stats = JSON.parse(fs.readFileSync(statsFile, 'utf8')) as { ops: number; mallocs: number };
  fs.rmSync(dir, { recursive: true, force: true });
  expect(stats.ops).toBeGreaterThanOrEqual(names.length);
  expect(stats.mallocs).toBeGreaterThan(0);
}, 120_000);
