/**
 * Runs test/kernels/native/simd_consistency.cpp against the addon build's own
 * SIMD objects: every SIMD table this CPU runs vs the scalar table, and the
 * int8 GEMM's direct repack vs its row-by-row reference, byte for byte, per
 * table. It checks every table itself, so the HYBRIDLM_CPU reruns skip it;
 * skipped too where the build's objects or a C++ compiler are absent (an
 * installed prebuild).
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const ROOT = path.join(__dirname, '..', '..', '..');
const OBJ = path.join(ROOT, 'build', 'CMakeFiles', 'hybridlm.dir', 'native', 'cpu');
const objects = [
  ...['scalar', 'avx2', 'avx512', 'neon'].map((isa) => path.join(OBJ, 'simd', `isa_${isa}.cpp.o`)),
  path.join(OBJ, 'simd_dispatch.cpp.o'),
  path.join(OBJ, 'cpu_features.cpp.o'),
];
const cxx = process.env.CXX || 'g++';
const runnable =
  !process.env.HYBRIDLM_CPU && objects.every((o) => fs.existsSync(o)) && spawnSync(cxx, ['--version']).status === 0;

(runnable ? test : test.skip)('every SIMD table matches scalar; igemm_pack equals its reference bytes', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hybridlm-simd-'));
  try {
    const exe = path.join(dir, 'simd_consistency');
    const src = path.join(ROOT, 'test', 'kernels', 'native', 'simd_consistency.cpp');
    const cc = spawnSync(cxx, ['-std=c++17', '-O2', '-ffp-contract=off', `-I${ROOT}`, src, ...objects, '-o', exe], {
      encoding: 'utf8',
    });
    if (cc.status !== 0) throw new Error(`${cxx} failed:\n${cc.stderr}`);
    const r = spawnSync(exe, [], { encoding: 'utf8' });
    expect(r.stdout).toMatch(/\d+ table\(s\) checked, 0 failure\(s\)/);
    expect(r.status).toBe(0);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}, 120_000);
