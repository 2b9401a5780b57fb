#!/usr/bin/env node
// npm run build:cuda: builds libhybridlm_cuda.so (cuda/CMakeLists.txt) with
// nvcc and puts it into the CUDA package folder (packages/cuda-linux-x64, what
// the release publishes and what an npm install of this repo links) and beside
// the addon (build/Release), the two places lib/device/cuda-library.ts looks.
// HYBRIDLM_CUDA_ARCHS=86 limits it to one architecture.
// Without nvcc it says so and exits 1 (CPU-only installs never need it).
'use strict';
const { spawnSync } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');

const root = path.resolve(__dirname, '..');
const out = path.join(root, 'build-cuda');
const archs = process.env.HYBRIDLM_CUDA_ARCHS || '75;80;86;89;90';
const jobs = String(Math.max(1, Math.min(os.cpus().length, 8)));

function run(cmd, args) {
  console.error(`[hybridlm] ${cmd} ${args.join(' ')}`);
  return spawnSync(cmd, args, { cwd: root, stdio: 'inherit' }).status === 0;
}

if (spawnSync('nvcc', ['--version'], { stdio: 'ignore' }).status !== 0) {
  console.error('[hybridlm] nvcc not found: the CUDA library needs the CUDA toolkit to build.');
  process.exit(1);
}
const ok =
  run('cmake', ['-S', 'cuda', '-B', out, `-DHYBRIDLM_CUDA_ARCHS=${archs}`, '-DCMAKE_BUILD_TYPE=Release', '-DHYBRIDLM_CUDA_MOCK_TEST=ON']) &&
  run('cmake', ['--build', out, '-j', jobs]);
if (!ok) {
  console.error('[hybridlm] the CUDA build failed');
  process.exit(1);
}
const lib = path.join(out, 'libhybridlm_cuda.so');
const pkg = path.join(root, 'packages', `cuda-${process.platform}-${process.arch}`);
for (const dest of [pkg, path.join(root, 'build', 'Release')]) {
  if (dest === pkg && !fs.existsSync(path.join(pkg, 'package.json'))) continue;
  fs.mkdirSync(dest, { recursive: true });
  fs.copyFileSync(lib, path.join(dest, 'libhybridlm_cuda.so'));
  console.error(`[hybridlm] CUDA library ready: ${path.join(dest, 'libhybridlm_cuda.so')}`);
}
