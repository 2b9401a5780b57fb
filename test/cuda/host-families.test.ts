/**
 * The host-only families of the CUDA kernel test binary (cuda/test/cuda_test.cpp):
 * the tensor-core policy table, the integer GEMV's unit arithmetic, the decode
 * graph's plan rules, the tensor-core GEMM tiles (fragment layouts vs the PTX
 * ISA's, whole tile GEMMs through the kernels' own tile code with an emulated
 * mma) and the MoE decode GEMV's lane arithmetic (moe_decode.h with 32 emulated
 * lanes) — the only proof of that code without a GPU (docs/cuda/README.md). Each
 * family runs as its own process, filtered by name, so on a machine with a GPU
 * no device case runs here. Skipped, visibly, where `npm run build:cuda` has not
 * built build-cuda/hybridlm_cuda_test.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';

const ROOT = path.join(__dirname, '..', '..');
const BIN = path.join(ROOT, 'build-cuda', 'hybridlm_cuda_test');
const built = fs.existsSync(BIN);
if (!built) console.log(`[hybridlm] CUDA host-only test families skipped: ${BIN} is not built (npm run build:cuda)`);

describe('CUDA kernel test binary, host-only families', () => {
  for (const family of ['policy', 'int_units', 'graph_plan', 'mma_tiles', 'moe_decode_host']) {
    (built ? test : test.skip)(family, () => {
      const r = spawnSync(BIN, [family], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
      const lines = r.stdout.split('\n');
      const failed = lines.filter((l) => l.startsWith('FAIL'));
      expect({ status: r.status, failed }).toEqual({ status: 0, failed: [] });
      expect(lines.filter((l) => l.startsWith('PASS ') && l.includes(family)).length).toBeGreaterThan(0);
      expect(lines.some((l) => /^\d+ passed, 0 failed/.test(l))).toBe(true);
    }, 90_000);
  }
});
