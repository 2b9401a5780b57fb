#!/usr/bin/env node
// Builds the native addon from source: cmake-js (primary), else node-gyp with
// binding.gyp as fallback. With --if-missing (the install script) it does
// nothing when a prebuild or a build already fits, so installs with a
// prebuild compile nothing (and installs with --ignore-scripts need nothing).
'use strict';
const { spawnSync } = require('child_process');
const fs = require('fs');
const path = require('path');
const { nodeGypEnv, nodeGypScript } = require('./node-gyp-env');

const root = path.resolve(__dirname, '..');
const ifMissing = process.argv.includes('--if-missing');

function haveAddon() {
  try {
    require('node-gyp-build').path(root);
    return true;
  } catch {
    return false;
  }
}

function run(cmd, args) {
  console.error(`[hybridlm] ${cmd} ${args.join(' ')}`);
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit', shell: process.platform === 'win32' });
  return r.status === 0;
}

function bin(pkg, name) {
  const pj = require.resolve(`${pkg}/package.json`, { paths: [root] });
  const meta = JSON.parse(fs.readFileSync(pj, 'utf8'));
  const rel = typeof meta.bin === 'string' ? meta.bin : meta.bin[name || pkg];
  return path.join(path.dirname(pj), rel);
}

if (ifMissing && haveAddon()) {
  console.error('[hybridlm] native addon found; skipping build');
  process.exit(0);
}

const jobs = String(Math.max(1, require('os').cpus().length));
let ok = false;
try {
  ok = run(process.execPath, [bin('cmake-js'), 'compile', '--parallel', jobs]);
} catch (e) {
  console.error(`[hybridlm] cmake-js unavailable: ${e.message}`);
}
if (!ok) {
  console.error('[hybridlm] cmake-js build failed; falling back to node-gyp (binding.gyp, CPU only)');
  Object.assign(process.env, nodeGypEnv());
  const gyp = nodeGypScript(root);
  ok = gyp ? run(process.execPath, [gyp, 'rebuild', `--jobs=${jobs}`]) : run('node-gyp', ['rebuild', `--jobs=${jobs}`]);
}
if (!ok) {
  console.error('[hybridlm] could not build the native addon. Install cmake and a C++17 compiler, then run `npm run build:native`.');
  process.exit(1);
}
// lib/native.ts loads a matching prebuild before a local build.
const prebuilds = path.join(root, 'prebuilds', `${process.platform}-${process.arch}`);
if (!ifMissing && fs.existsSync(prebuilds)) {
  console.error(`[hybridlm] note: ${prebuilds} exists and loads before this build; remove it (or set HYBRIDLM_ADDON) to use this one`);
}
