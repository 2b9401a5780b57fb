#!/usr/bin/env node
// npm run test:gpu: on a machine with a CUDA device, runs the CUDA kernel test
// binary (CUDA vs the CPU twins; the one beside $HYBRIDLM_CUDA_LIB, else
// build-cuda/) and the jest GPU suites (golden fixtures on device 'cuda').
// HYBRIDLM_GPU_SKIP_KERNEL_BINARY=1 skips the binary (scripts/gpu-check.sh
// has run it already). Without a device it says why, visibly, and exits 0.
'use strict';
const { spawnSync } = require('child_process');
const fs = require('fs');
const path = require('path');

const root = path.resolve(__dirname, '..');
let status = { available: false, reason: 'the native addon did not load' };
try {
  status = require('node-gyp-build')(root).cudaStatus();
} catch (e) {
  status.reason = `the native addon did not load: ${e.message.split('\n')[0]}`;
}
if (!status.available) {
  console.log(`[hybridlm] GPU tests SKIPPED: ${status.reason}`);
  console.log('0 passed, 0 failed, 1 skipped');
  process.exit(0);
}
console.log(`[hybridlm] CUDA device: ${status.reason} (${status.library})`);
let failed = false;
const libDir = process.env.HYBRIDLM_CUDA_LIB ? path.dirname(process.env.HYBRIDLM_CUDA_LIB) : path.join(root, 'build-cuda');
const bin = path.join(libDir, 'hybridlm_cuda_test');
if (process.env.HYBRIDLM_GPU_SKIP_KERNEL_BINARY === '1') {
  console.log('[hybridlm] kernel test binary skipped (HYBRIDLM_GPU_SKIP_KERNEL_BINARY=1)');
} else if (fs.existsSync(bin)) {
  failed = spawnSync(bin, [], { stdio: 'inherit' }).status !== 0 || failed;
} else {
  console.log(`[hybridlm] ${bin} missing: run \`npm run build:cuda\` first`);
  failed = true;
}
const jest = require.resolve('jest/bin/jest', { paths: [root] });
failed = spawnSync(process.execPath, [jest, 'test/gpu'], { cwd: root, stdio: 'inherit' }).status !== 0 || failed;
process.exit(failed ? 1 : 0);
