#!/usr/bin/env node
// npm run prebuild: the CPU addon for this platform as a prebuild
// (prebuilds/<platform>-<arch>/hybridlm.napi[.glibc].node, N-API: one binary
// for every Node >= 20), built by prebuildify with node-gyp (binding.gyp) in
// build-prebuild/ so that a developer's build/ is left alone. On Linux it
// prints the newest glibc symbol version the binary needs (objdump -T); with
// HYBRIDLM_MAX_GLIBC=2.28 it fails when the binary needs a newer one.
'use strict';
const { spawnSync } = require('child_process');
const fs = require('fs');
const path = require('path');
const { nodeGypScript, nodeGypEnv } = require('./node-gyp-env');

const root = path.resolve(__dirname, '..');
const staging = path.join(root, 'build-prebuild');

function fail(message) {
  console.error(`[hybridlm] prebuild: ${message}`);
  process.exit(1);
}

// The sources node-gyp needs, seen from a folder of their own.
fs.rmSync(staging, { recursive: true, force: true });
fs.mkdirSync(staging, { recursive: true });
for (const f of ['binding.gyp', 'package.json']) fs.copyFileSync(path.join(root, f), path.join(staging, f));
for (const d of ['native', 'cuda']) fs.symlinkSync(path.join(root, d), path.join(staging, d), 'dir');

const gyp = nodeGypScript(root);
if (!gyp) fail('node-gyp not found (run it through `npm run prebuild`, or install node-gyp)');
const prebuildify = require.resolve('prebuildify/bin.js', { paths: [root] });
// N-API: the headers of the running Node serve every later Node (no download).
const args = [prebuildify, '--napi', '--strip', '--target', `node@${process.versions.node}`, '--cwd', staging, '--out', root];
if (process.platform === 'linux') args.push('--tag-libc');
console.error(`[hybridlm] ${process.execPath} ${args.join(' ')}`);
const r = spawnSync(process.execPath, args, {
  cwd: root,
  stdio: 'inherit',
  env: { ...process.env, ...nodeGypEnv(), JOBS: process.env.JOBS || String(require('os').cpus().length), PREBUILD_NODE_GYP: `"${process.execPath}" "${gyp}"`, PREBUILD_SHELL: process.platform === 'win32' ? '' : '/bin/sh' },
});
if (r.status !== 0) fail('prebuildify failed');

const dir = path.join(root, 'prebuilds', `${process.platform}-${process.arch}`);
for (const f of fs.readdirSync(dir).filter((n) => n.endsWith('.node'))) {
  const file = path.join(dir, f);
  console.log(`[hybridlm] prebuild: ${path.relative(root, file)} (${(fs.statSync(file).size / 1e6).toFixed(2)} MB)`);
  if (process.platform !== 'linux') continue;
  const dump = spawnSync('objdump', ['-T', file], { encoding: 'utf8' });
  if (dump.status !== 0) {
    console.log('[hybridlm] prebuild: objdump not found; glibc requirement not checked');
    continue;
  }
  const newest = (lib) =>
    [...new Set(dump.stdout.match(new RegExp(`\\b${lib}_[0-9.]+`, 'g')) || [])]
      .map((v) => v.slice(lib.length + 1))
      .sort((a, b) => a.localeCompare(b, undefined, { numeric: true }))
      .pop();
  const glibc = newest('GLIBC');
  const glibcxx = newest('GLIBCXX');
  console.log(`[hybridlm] prebuild: needs glibc >= ${glibc ?? '?'}; libstdc++ ${glibcxx ? `>= GLIBCXX_${glibcxx}` : 'linked statically'}`);
  const max = process.env.HYBRIDLM_MAX_GLIBC;
  if (max && glibc && glibc.localeCompare(max, undefined, { numeric: true }) > 0) {
    fail(`${f} needs glibc ${glibc}, newer than HYBRIDLM_MAX_GLIBC=${max}: build it on an older distribution`);
  }
}
