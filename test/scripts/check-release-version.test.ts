/** hybridlm and its CUDA package must be released at one version (the addon refuses any other). */
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';

const ROOT = path.join(__dirname, '..', '..');
const check = (tag: string) => spawnSync(process.execPath, [path.join(ROOT, 'scripts', 'check-release-version.js'), tag], { encoding: 'utf8' });

test('package.json, the optionalDependencies pin and packages/cuda-linux-x64 agree', () => {
  const version = require('../../package.json').version as string;
  const r = check(`v${version}`);
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
});

test('a tag of another version is refused', () => {
  const r = check('v999.0.0');
  expect(r.status).toBe(1);
  expect(r.stderr).toContain('!= tag 999.0.0');
});
