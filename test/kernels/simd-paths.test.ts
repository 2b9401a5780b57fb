/**
 * Every SIMD path this CPU can run passes the kernel, block-format and golden
 * tests. This process runs them on the best path; here each lower path
 * (HYBRIDLM_CPU=avx2, scalar) reruns the kernel, block-decoder and golden
 * suites in a child jest, which also asserts (below) that the addon really
 * took the forced path. (The NEON path: test/kernels/native/simd_consistency.cpp.)
 */
import { spawnSync } from 'child_process';
import * as path from 'path';
import { native } from '../../lib/native';

const forced = process.env.HYBRIDLM_CPU;
const ORDER = ['scalar', 'avx2', 'avx512'];

describe('SIMD dispatch', () => {
  test('cpuInfo reports the active path', () => {
    const info = native().cpuInfo();
    expect(['scalar', 'avx2', 'avx512', 'neon']).toContain(info.simd);
    if (forced) expect(info.simd).toBe(forced);
  });
});

const active = native().cpuInfo().simd;
const lower = forced ? [] : ORDER.slice(0, Math.max(0, ORDER.indexOf(active)));
const suites = [
  'test/kernels',
  'test/quant/blocks',
  'test/model/golden.test.ts',
  'test/generate/native-sampler.test.ts',
  'test/model/embedded-golden.test.ts',
];

(lower.length ? describe : describe.skip)('lower SIMD paths rerun the kernel and golden suites', () => {
  test.each(lower)('HYBRIDLM_CPU=%s', (isa) => {
    const root = path.resolve(__dirname, '../..');
    const r = spawnSync(process.execPath, [require.resolve('jest/bin/jest'), '--runInBand', '--silent', ...suites], {
      cwd: root,
      env: { ...process.env, HYBRIDLM_CPU: isa },
      encoding: 'utf8',
    });
    const summary = `${r.stdout}\n${r.stderr}`.split('\n').filter((l) => /Tests:|✕|●/.test(l)).slice(0, 40).join('\n');
    if (r.status !== 0) throw new Error(`jest under HYBRIDLM_CPU=${isa} exited ${r.status}:\n${summary}`);
  }, 600_000);
});
