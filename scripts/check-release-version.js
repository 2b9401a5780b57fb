#!/usr/bin/env node
// Release guard: hybridlm, its optionalDependencies pin of each CUDA package
// and that package's own version must all equal the tag (v1.2.3), because the
// addon only uses a CUDA package of exactly its own version
// (lib/device/cuda-library.ts). Usage: node scripts/check-release-version.js v0.1.0
'use strict';
const fs = require('fs');
const path = require('path');

const root = path.resolve(__dirname, '..');
const read = (p) => JSON.parse(fs.readFileSync(path.join(root, p), 'utf8'));
const tag = process.argv[2] || '';
const want = tag.replace(/^v/, '');
const pkg = read('package.json');
const problems = [];
if (!/^\d+\.\d+\.\d+(-[\w.]+)?$/.test(want)) problems.push(`tag '${tag}' is not vX.Y.Z`);
if (pkg.version !== want) problems.push(`package.json version ${pkg.version} != tag ${want}`);
for (const [name, range] of Object.entries(pkg.optionalDependencies || {})) {
  if (range !== pkg.version) problems.push(`optionalDependencies ${name} is '${range}', not exactly ${pkg.version}`);
  const dir = path.join('packages', name.replace(/^@hybridlm\//, ''));
  const own = read(path.join(dir, 'package.json'));
  if (own.name !== name) problems.push(`${dir}/package.json is named ${own.name}, not ${name}`);
  if (own.version !== pkg.version) problems.push(`${dir}/package.json version ${own.version} != ${pkg.version}`);
}
if (problems.length) {
  for (const p of problems) console.error(`[release] ${p}`);
  process.exit(1);
}
console.log(`[release] hybridlm ${want} and its CUDA packages agree`);
