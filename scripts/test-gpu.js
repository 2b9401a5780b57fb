#!/usr/bin/env node
// npm run test:gpu: the GPU test entry point. Until the CUDA backend lands
// (cuda/README.md) there is nothing to run on a GPU; say so visibly and exit 0.
'use strict';
let cuda = false;
let reason = 'this build has no CUDA backend yet';
try {
  cuda = require('node-gyp-build')(require('path').resolve(__dirname, '..')).cudaAvailable();
} catch (e) {
  reason = `the native addon did not load: ${e.message.split('\n')[0]}`;
}
if (!cuda) {
  console.log(`[hybridlm] GPU tests SKIPPED: ${reason}.`);
  console.log('0 passed, 0 failed, 1 skipped');
  process.exit(0);
}
